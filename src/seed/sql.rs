//! sql: split a seed file into statements, for Postgres and ClickHouse.
//!
//! A `;` ends a statement unless it is inside a single-quoted string
//! (`''` escapes; `E'…'` also backslash escapes), a double-quoted or
//! backtick-quoted identifier, a dollar-quoted string (`$$…$$`,
//! `$tag$…$tag$`), a `--` line comment or a (nested) `/* */` block comment.
//! `#` does not start a comment (it is an operator in Postgres).
//!
//! Leading comments are not part of a statement: its text starts at its
//! first token (so `line` is where the statement itself starts and a server's
//! error position maps back to a file line exactly), and a piece holding only
//! comments and whitespace is no statement at all.

/// One statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement without its `;`, trimmed (leading comments removed).
    pub text: String,
    /// 1-based line where the statement starts.
    pub line: usize,
    /// 1-based position among the file's statements.
    pub number: usize,
}

/// Quoting rules that differ between the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Backslash escapes only in `E'…'` strings (standard_conforming_strings).
    Postgres,
    /// Backslash escapes in every quoted string and identifier (`'it\'s'`).
    ClickHouse,
}

/// Split `sql` with Postgres' quoting rules (see the module docs).
pub fn split(sql: &str) -> Vec<Statement> {
    split_dialect(sql, Dialect::Postgres)
}

/// Split `sql` into statements with the quoting rules of `dialect`.
pub fn split_dialect(sql: &str, dialect: Dialect) -> Vec<Statement> {
    let b = sql.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    // Start (byte offset, line) of the current statement's first token.
    let mut start: Option<(usize, usize)> = None;
    let push = |start: &mut Option<(usize, usize)>, end: usize, out: &mut Vec<Statement>| {
        if let Some((s, l)) = start.take() {
            let text = sql[s..end].trim_end();
            if !text.is_empty() {
                let number = out.len() + 1;
                out.push(Statement { text: text.to_string(), line: l, number });
            }
        }
    };
    while i < n {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b';' => {
                push(&mut start, i, &mut out);
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        if b[i] == b'\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                if start.is_none() {
                    start = Some((i, line));
                }
                match c {
                    b'\'' => {
                        let backslash = dialect == Dialect::ClickHouse || is_e_prefix(b, i);
                        i = skip_quoted(b, i, b'\'', backslash, &mut line);
                    }
                    b'"' | b'`' => i = skip_quoted(b, i, c, dialect == Dialect::ClickHouse, &mut line),
                    b'$' => match dollar_tag(b, i) {
                        Some(tag_len) => {
                            let tag = &b[i..i + tag_len];
                            let mut j = i + tag_len;
                            i = n;
                            while j < n {
                                if b[j] == b'$' && b[j..].starts_with(tag) {
                                    i = j + tag_len;
                                    break;
                                }
                                if b[j] == b'\n' {
                                    line += 1;
                                }
                                j += 1;
                            }
                        }
                        None => i += 1,
                    },
                    _ => i += 1,
                }
            }
        }
    }
    push(&mut start, n, &mut out);
    out
}

/// Skip a quoted string or identifier starting at `b[i] == q`; a doubled
/// quote is an escaped quote, and with `backslash` so is `\q` (and `\\`).
/// Returns the offset after the closing quote (or the end of input).
fn skip_quoted(b: &[u8], mut i: usize, q: u8, backslash: bool, line: &mut usize) -> usize {
    i += 1;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            *line += 1;
        }
        if backslash && c == b'\\' {
            if b.get(i + 1) == Some(&b'\n') {
                *line += 1;
            }
            i += 2;
            continue;
        }
        if c == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// `E'…'`/`e'…'` (and not the end of an identifier like `the'`).
fn is_e_prefix(b: &[u8], quote: usize) -> bool {
    quote >= 1 && matches!(b[quote - 1], b'E' | b'e') && (quote < 2 || !is_ident_byte(b[quote - 2]))
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// At `b[i] == '$'`: the length of a dollar-quote opener (`$$` → 2,
/// `$tag$` → 5), or None (a parameter `$1`, or `$` inside an identifier).
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_ident_byte(b[i - 1]) {
        return None;
    }
    let mut j = i + 1;
    if let Some(&c) = b.get(j)
        && (c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
    {
        j += 1;
        while let Some(&c) = b.get(j) {
            if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
                j += 1;
            } else {
                break;
            }
        }
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

/// The line (1-based, in the file) of a 0-based byte `offset` inside `stmt`.
pub fn line_at_byte(stmt: &Statement, offset: usize) -> usize {
    let end = offset.min(stmt.text.len());
    stmt.line + stmt.text.as_bytes()[..end].iter().filter(|&&c| c == b'\n').count()
}

/// The line (1-based, in the file) of a 1-based *character* position inside
/// `stmt` (Postgres' `ErrorPosition::Original`).
pub fn line_at_char(stmt: &Statement, position: usize) -> usize {
    stmt.line + stmt.text.chars().take(position.saturating_sub(1)).filter(|&c| c == '\n').count()
}

/// The fields of a CSV header line (RFC 4180 quoting; a leading BOM and the
/// line ending are dropped).
pub fn csv_header(line: &str) -> Vec<String> {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let line = line.trim_end_matches(['\n', '\r']);
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            ',' if !quoted => fields.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    fields.push(cur.trim().to_string());
    fields
}

/// Counts CSV records (quote-aware: a newline inside `"…"` does not end one)
/// and remembers the line each record starts on.
#[derive(Debug, Default)]
pub struct CsvRecords {
    quoted: bool,
    line: usize,
    /// Inside a record (false = at a record boundary).
    pending: bool,
    /// Start line of each record (1-based), when `track` is on.
    pub starts: Vec<usize>,
    pub count: u64,
    track: bool,
}

impl CsvRecords {
    /// `track`: also keep every record's start line (for error mapping).
    pub fn new(track: bool) -> Self {
        CsvRecords { line: 1, track, ..Default::default() }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        for &c in chunk {
            if !self.pending && c != b'\n' && c != b'\r' {
                self.pending = true;
                if self.track {
                    self.starts.push(self.line);
                }
            }
            match c {
                b'"' => self.quoted = !self.quoted,
                b'\n' => {
                    self.line += 1;
                    if !self.quoted && self.pending {
                        self.pending = false;
                        self.count += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// Records, counting an unterminated last one.
    pub fn finish(&self) -> u64 {
        self.count + u64::from(self.pending)
    }
}

/// Split a possibly qualified name (`schema.table`) on dots outside `quote`
/// characters. Quoted parts are kept as written (quotes included); every
/// part must be non-empty.
pub fn split_qualified(name: &str, quote: char) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in name.chars() {
        match c {
            c if c == quote => {
                quoted = !quoted;
                cur.push(c);
            }
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    if quoted {
        let what = match quote {
            '"' => "double quote",
            '`' => "backtick",
            _ => "quote",
        };
        return Err(format!("table name `{name}` has an unbalanced {what}"));
    }
    parts
        .into_iter()
        .map(|p| {
            let p = p.trim().to_string();
            if p.is_empty() {
                Err(if name.trim().is_empty() { "the table name is empty".to_string() } else { format!("table name `{name}` has an empty part") })
            } else {
                Ok(p)
            }
        })
        .collect()
}

/// Quote each part of a qualified name with `quote_ident`, keeping parts already quoted with `quote`.
pub fn quote_qualified_with(name: &str, quote: char, quote_ident: fn(&str) -> String) -> Result<String, String> {
    let parts = split_qualified(name, quote)?;
    Ok(parts
        .iter()
        .map(|p| if p.len() >= 2 && p.starts_with(quote) && p.ends_with(quote) { p.clone() } else { quote_ident(p) })
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn plain_statements() {
        assert_eq!(texts("SELECT 1; SELECT 2;"), vec!["SELECT 1", "SELECT 2"]);
        assert_eq!(texts("  SELECT 1  ;\n\n  SELECT 2  "), vec!["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn final_statement_without_semicolon() {
        let s = split("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1)");
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].text, "INSERT INTO a VALUES (1)");
        assert_eq!((s[1].line, s[1].number), (2, 2));
    }

    #[test]
    fn empty_and_comment_only_pieces_are_skipped() {
        assert!(split("").is_empty());
        assert!(split(" ;;\n; -- just a comment\n/* and a block */ ;").is_empty());
        let s = split(";;SELECT 1;;;SELECT 2;-- end");
        assert_eq!(s.iter().map(|s| (s.text.as_str(), s.number)).collect::<Vec<_>>(), vec![("SELECT 1", 1), ("SELECT 2", 2)]);
    }

    #[test]
    fn semicolon_in_single_quotes() {
        assert_eq!(texts("INSERT INTO t VALUES ('a;b'); SELECT 1"), vec!["INSERT INTO t VALUES ('a;b')", "SELECT 1"]);
        assert_eq!(texts("SELECT 'it''s; fine'; SELECT 2"), vec!["SELECT 'it''s; fine'", "SELECT 2"]);
        // Postgres: a backslash is an ordinary character in a '…' string.
        assert_eq!(texts(r"SELECT 'C:\'; SELECT 2"), vec![r"SELECT 'C:\'", "SELECT 2"]);
    }

    #[test]
    fn e_strings_have_backslash_escapes() {
        assert_eq!(texts(r"SELECT E'a\';b'; SELECT 2"), vec![r"SELECT E'a\';b'", "SELECT 2"]);
        assert_eq!(texts(r"SELECT e'a\\'; SELECT 2"), vec![r"SELECT e'a\\'", "SELECT 2"]);
        // `the'` is not an E-string: the identifier ends in e.
        assert_eq!(texts(r"SELECT 1 AS the'x\'; SELECT 2"), vec![r"SELECT 1 AS the'x\'", "SELECT 2"]);
    }

    #[test]
    fn clickhouse_strings_have_backslash_escapes() {
        let s = split_dialect(r"INSERT INTO t VALUES ('it\'s; ok'); SELECT `a\`;b`; SELECT 3", Dialect::ClickHouse);
        assert_eq!(s.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(), vec![r"INSERT INTO t VALUES ('it\'s; ok')", r"SELECT `a\`;b`", "SELECT 3"]);
    }

    #[test]
    fn semicolon_in_identifiers() {
        assert_eq!(texts(r#"CREATE TABLE "a;b" (x int); SELECT 1"#), vec![r#"CREATE TABLE "a;b" (x int)"#, "SELECT 1"]);
        assert_eq!(texts(r#"SELECT "x"";y" FROM t; SELECT 1"#), vec![r#"SELECT "x"";y" FROM t"#, "SELECT 1"]);
        assert_eq!(texts("SELECT `a;b` FROM t; SELECT 1"), vec!["SELECT `a;b` FROM t", "SELECT 1"]);
    }

    #[test]
    fn dollar_quotes() {
        let f = "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT f();";
        let s = split(f);
        assert_eq!(s.len(), 2);
        assert!(s[0].text.ends_with("$$ LANGUAGE plpgsql"));
        assert_eq!((s[1].text.as_str(), s[1].line), ("SELECT f()", 6));
        let tagged = "DO $body$ BEGIN PERFORM 1; PERFORM '$$;'; END $body$; SELECT 2";
        assert_eq!(texts(tagged), vec!["DO $body$ BEGIN PERFORM 1; PERFORM '$$;'; END $body$", "SELECT 2"]);
        // Parameters and `$` inside identifiers are no quotes.
        assert_eq!(texts("PREPARE p AS SELECT $1; SELECT a$b$c FROM t; SELECT 3"), vec!["PREPARE p AS SELECT $1", "SELECT a$b$c FROM t", "SELECT 3"]);
    }

    #[test]
    fn comments() {
        assert_eq!(texts("SELECT 1 -- a; b\n; SELECT 2"), vec!["SELECT 1 -- a; b", "SELECT 2"]);
        assert_eq!(texts("SELECT /* a; /* nested; */ still; */ 1; SELECT 2"), vec!["SELECT /* a; /* nested; */ still; */ 1", "SELECT 2"]);
        // `#` is an operator in Postgres, not a comment.
        assert_eq!(texts("SELECT 1 # 2; SELECT 3"), vec!["SELECT 1 # 2", "SELECT 3"]);
        // A quote inside a comment does not open a string.
        assert_eq!(texts("-- don't\nSELECT 1; /* it's */ SELECT 2"), vec!["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn leading_comments_are_dropped_and_lines_point_at_the_statement() {
        let s = split("-- users\n-- more\n\nCREATE TABLE users (id int);\n/* x\n y */ INSERT INTO users VALUES (1);");
        assert_eq!((s[0].text.as_str(), s[0].line), ("CREATE TABLE users (id int)", 4));
        assert_eq!((s[1].text.as_str(), s[1].line), ("INSERT INTO users VALUES (1)", 6));
    }

    #[test]
    fn line_numbers_count_newlines_inside_quotes_and_comments() {
        let sql = "SELECT 'a\nb';\nSELECT \"x\ny\";\n/* c\nd */\nSELECT $$\n$$;\nSELECT 4;";
        let s = split(sql);
        assert_eq!(s.iter().map(|s| (s.number, s.line)).collect::<Vec<_>>(), vec![(1, 1), (2, 3), (3, 7), (4, 9)]);
    }

    #[test]
    fn crlf() {
        let s = split("SELECT 1;\r\n\r\nSELECT\r\n  2;\r\nSELECT 3\r\n");
        assert_eq!(s.iter().map(|s| (s.text.as_str(), s.line)).collect::<Vec<_>>(), vec![("SELECT 1", 1), ("SELECT\r\n  2", 3), ("SELECT 3", 5)]);
    }

    #[test]
    fn unterminated_quotes_run_to_the_end() {
        assert_eq!(texts("SELECT 'abc; SELECT 2"), vec!["SELECT 'abc; SELECT 2"]);
        assert_eq!(texts("SELECT $$abc; SELECT 2"), vec!["SELECT $$abc; SELECT 2"]);
        assert_eq!(texts("SELECT 1 /* abc; SELECT 2"), vec!["SELECT 1 /* abc; SELECT 2"]);
    }

    #[test]
    fn non_ascii_text() {
        assert_eq!(texts("SELECT 'é;ü'; SELECT 'ß'"), vec!["SELECT 'é;ü'", "SELECT 'ß'"]);
    }

    #[test]
    fn error_positions_map_to_file_lines() {
        let s = split("\n\nSELECT 1,\n  é,\n  nope FROM t;");
        let st = &s[0];
        assert_eq!(st.line, 3);
        let pos = st.text.find("nope").unwrap();
        assert_eq!(line_at_byte(st, pos), 5);
        let char_pos = st.text[..pos].chars().count() + 1;
        assert_eq!(line_at_char(st, char_pos), 5);
        assert_eq!(line_at_char(st, 1), 3);
        assert_eq!(line_at_char(st, 10_000), 5);
    }

    #[test]
    fn csv_headers() {
        assert_eq!(csv_header("id,name,email\n"), vec!["id", "name", "email"]);
        assert_eq!(csv_header("\u{feff}\"id\", \"full \"\"name\"\"\",x\r\n"), vec!["id", "full \"name\"", "x"]);
        assert_eq!(csv_header("\"a,b\",c"), vec!["a,b", "c"]);
    }

    #[test]
    fn csv_record_counting() {
        let data = b"id,t\n1,\"a\nb\"\n2,c\n\n3,d";
        let mut r = CsvRecords::new(true);
        r.feed(&data[..7]);
        r.feed(&data[7..]);
        assert_eq!(r.finish(), 4);
        assert_eq!(r.starts, vec![1, 2, 4, 6]);
    }
}
