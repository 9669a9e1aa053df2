use super::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex")).collect()
}

/// A backend message: type, length, body.
fn pg_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend(((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn pg_error(fields: &[(u8, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (code, value) in fields {
        body.push(*code);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    pg_message(b'E', &body)
}

#[test]
fn the_startup_message_is_protocol_3_with_user_and_database() {
    let m = pg_startup("app", Some("shop"));
    assert_eq!(i32::from_be_bytes(m[..4].try_into().unwrap()) as usize, m.len());
    assert_eq!(&m[4..8], &[0, 3, 0, 0]);
    assert_eq!(&m[8..], b"user\0app\0database\0shop\0application_name\0devenv-probe\0\0");
    assert!(!pg_startup("app", None).windows(8).any(|w| w == b"database"));
}

#[test]
fn pg_isready_counts_any_authentication_request_or_error_but_57p03_as_accepting() {
    // AuthenticationMD5Password (R, 12, 5, salt) and AuthenticationSASL: the server is up.
    assert_eq!(pg_answer(&hex("52 00 00 00 0c 00 00 00 05 01 02 03 04")), Some(Ok(())));
    assert_eq!(pg_answer(&pg_message(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0\0")), Some(Ok(())));
    // Wrong user, missing database, no pg_hba line: still accepting connections.
    assert_eq!(pg_answer(&pg_error(&[(b'S', "FATAL"), (b'C', "28000"), (b'M', "no pg_hba.conf entry")])), Some(Ok(())));
    assert_eq!(pg_answer(&pg_error(&[(b'S', "FATAL"), (b'C', "3D000"), (b'M', "database \"x\" does not exist")])), Some(Ok(())));
    // Starting up / shutting down: rejecting (pg_isready exits 1).
    let starting = pg_error(&[(b'S', "FATAL"), (b'V', "FATAL"), (b'C', "57P03"), (b'M', "the database system is starting up")]);
    assert_eq!(pg_answer(&starting), Some(Err("rejecting connections: the database system is starting up".into())));
    // An error without a SQLSTATE: no response (pg_isready exits 2).
    assert!(matches!(pg_answer(&pg_error(&[(b'M', "old server")])), Some(Err(e)) if e.starts_with("no response")));
    assert!(matches!(pg_answer(b"N"), Some(Err(_))));
}

#[test]
fn a_partial_pg_error_waits_for_the_rest() {
    let whole = pg_error(&[(b'C', "57P03"), (b'M', "starting up")]);
    assert_eq!(pg_answer(&[]), None);
    assert_eq!(pg_answer(&whole[..6]), None);
    assert_eq!(pg_answer(&whole[..whole.len() - 1]), None);
    assert!(pg_answer(&whole).is_some());
}

#[test]
fn resp_replies_of_every_redis_2_type_are_read_whole() {
    assert_eq!(resp_reply(b"+PONG\r\n"), Some(Ok((7, "PONG".into()))));
    assert_eq!(resp_reply(b"-NOAUTH Authentication required.\r\n"), Some(Ok((34, "NOAUTH Authentication required.".into()))));
    assert_eq!(resp_reply(b":42\r\n+OK"), Some(Ok((5, "42".into()))));
    assert_eq!(resp_reply(b"$5\r\nhello\r\n"), Some(Ok((11, "hello".into()))));
    assert_eq!(resp_reply(b"$-1\r\n"), Some(Ok((5, String::new()))));
    assert_eq!(resp_reply(b"*2\r\n$1\r\na\r\n:1\r\n"), Some(Ok((15, "a\n1".into()))));
    for partial in [&b""[..], b"+PON", b"$5\r\nhel", b"*2\r\n$1\r\na\r\n"] {
        assert_eq!(resp_reply(partial), None, "{}", partial.escape_ascii());
    }
    assert!(matches!(resp_reply(b"HTTP/1.1 400\r\n"), Some(Err(_))));
}

#[test]
fn the_last_of_the_pipelined_replies_is_the_commands() {
    let auth_failed_then_noauth = b"-WRONGPASS invalid username-password pair\r\n-NOAUTH Authentication required.\r\n";
    assert_eq!(nth_reply(auth_failed_then_noauth, 2), Some(Ok("NOAUTH Authentication required.".into())));
    assert_eq!(nth_reply(b"+OK\r\n", 2), None);
    assert_eq!(resp_command(&["AUTH", "pw"]), b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n");
}

#[test]
fn the_mysql_greeting_from_the_protocol_docs_is_alive() {
    // Protocol::HandshakeV10 as the MySQL client/server protocol documentation shows it (server 5.5.2-m2).
    let greeting = hex(
        "36 00 00 00 0a 35 2e 35 2e 32 2d 6d 32 00 0b 00
         00 00 64 76 48 40 49 2d 43 4a 00 ff f7 08 02 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 2a 34 64
         7c 63 5a 77 6b 34 5e 5d 3a 00",
    );
    assert_eq!(mysql_greeting(&greeting), Some(Ok("5.5.2-m2".into())));
    // Not yet whole: wait for the rest.
    assert_eq!(mysql_greeting(&greeting[..20]), None);
    assert_eq!(mysql_greeting(&greeting[..3]), None);
}

#[test]
fn a_mysql_error_packet_instead_of_a_greeting_is_not_alive() {
    // ERR_Packet as the protocol documentation shows it (with a SQLSTATE marker).
    let err = hex("17 00 00 01 ff 48 04 23 48 59 30 30 30 4e 6f 20 74 61 62 6c 65 73 20 75 73 65 64");
    assert_eq!(mysql_greeting(&err), Some(Err("error 1096: No tables used".into())));
    // Before the handshake the server sends no SQLSTATE: 1130, host not allowed.
    let mut host = vec![0x16, 0, 0, 0, 0xff, 0x6a, 0x04];
    host.extend_from_slice(b"Host 'x' is not allowed");
    host[0] = (host.len() - 4) as u8;
    assert_eq!(mysql_greeting(&host), Some(Err("error 1130: Host 'x' is not allowed".into())));
    assert!(matches!(mysql_greeting(&hex("01 00 00 00 09")), Some(Err(e)) if e.contains("protocol byte 9")));
}

#[test]
fn the_clickhouse_hello_carries_the_credentials_as_length_prefixed_strings() {
    let hello = clickhouse_hello("app", "pw", "db");
    let mut expected = vec![0, 12];
    expected.extend_from_slice(b"devenv-probe");
    expected.extend([1, 0, 0xc5, 0xa7, 0x03]); // 54213 as a varuint
    expected.extend([2, b'd', b'b', 3, b'a', b'p', b'p', 2, b'p', b'w']);
    assert_eq!(hello, expected);
}

#[test]
fn the_clickhouse_servers_hello_is_ready_and_its_exception_is_not() {
    let mut server_hello = vec![0, 10];
    server_hello.extend_from_slice(b"ClickHouse");
    assert_eq!(clickhouse_answer(&server_hello), Some(Ok(())));
    let mut exception = vec![2];
    exception.extend(516i32.to_le_bytes());
    for s in ["DB::Exception", "app: Authentication failed: password is incorrect\nmore", "stack"] {
        exception.push(s.len() as u8);
        exception.extend_from_slice(s.as_bytes());
    }
    exception.push(0);
    assert_eq!(clickhouse_answer(&exception), Some(Err("DB::Exception (code 516): app: Authentication failed: password is incorrect".into())));
    assert_eq!(clickhouse_answer(&exception[..8]), None);
    assert_eq!(clickhouse_answer(&[]), None);
}
