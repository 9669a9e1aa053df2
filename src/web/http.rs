//! The page's HTTP surface as pure functions: which route a request is, whether
//! it carries the token, and how an event is framed for server-sent events.
//! Must not: do I/O (the server in `web/mod.rs` does).

use hyper::header::{HeaderMap, COOKIE};
use hyper::Method;

/// The cookie the page's own requests carry after it was opened with `?token=`.
pub const COOKIE_NAME: &str = "devenv_ui_token";
/// The header every state-changing request must carry.
pub const TOKEN_HEADER: &str = "x-devenv-token";

/// An action on one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Restart,
    Stop,
    Start,
    /// `devenv seed --reset SERVICE`: empty what the seeds made, apply them again.
    Reseed,
    /// `devenv reset SERVICE`: back to the seeded snapshot.
    Reset,
    /// `devenv up --build SERVICE`: rebuild its image, recreate its container.
    Rebuild,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        match s {
            "restart" => Some(Action::Restart),
            "stop" => Some(Action::Stop),
            "start" => Some(Action::Start),
            "reseed" => Some(Action::Reseed),
            "reset" => Some(Action::Reset),
            "rebuild" => Some(Action::Rebuild),
            _ => None,
        }
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: the page.
    Page,
    /// `GET /api/state`: the current state, once, as JSON.
    State,
    /// `GET /api/events`: the state (and `up`'s events) as server-sent events.
    Events,
    /// `GET /api/logs?service=S&tail=N`: one service's output (all when `service` is absent), followed.
    Logs { service: Option<String>, tail: usize },
    /// `GET /api/url?service=S`: a service's connection URL with its password.
    RevealUrl { service: String },
    /// `POST /api/services/S/ACTION`.
    Act { service: String, action: Action },
    /// A known path with the wrong method.
    MethodNotAllowed,
    NotFound,
}

impl Route {
    /// Whether the request changes something (then the token must come in the header).
    pub fn changes_state(&self) -> bool {
        matches!(self, Route::Act { .. })
    }
}

/// The lines of log history a log stream starts with, unless `tail=` says otherwise.
pub const DEFAULT_TAIL: usize = 200;

/// The route of `method` `path`?`query`.
pub fn route(method: &Method, path: &str, query: Option<&str>) -> Route {
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let want = |ok: bool, r: Route| if ok { r } else { Route::MethodNotAllowed };
    match path {
        "/" | "/index.html" => want(get, Route::Page),
        "/api/state" => want(get, Route::State),
        "/api/events" => want(get, Route::Events),
        "/api/logs" => {
            let service = query_param(query, "service").filter(|s| !s.is_empty());
            let tail = query_param(query, "tail").and_then(|t| t.parse().ok()).unwrap_or(DEFAULT_TAIL);
            want(get, Route::Logs { service, tail })
        }
        "/api/url" => match query_param(query, "service") {
            Some(service) => want(get, Route::RevealUrl { service }),
            None => Route::NotFound,
        },
        _ => {
            let Some(rest) = path.strip_prefix("/api/services/") else { return Route::NotFound };
            let Some((service, action)) = rest.split_once('/') else { return Route::NotFound };
            match Action::parse(action) {
                Some(action) if !service.is_empty() => want(post, Route::Act { service: percent_decode(service), action }),
                _ => Route::NotFound,
            }
        }
    }
}

/// Whether the request proves it knows `token`. A state-changing request must
/// send it in the `X-Devenv-Token` header (a cookie alone could be sent by another
/// site's form); reads may also use `?token=` (how the page is opened, and how
/// `EventSource` connects) or the cookie the page got.
pub fn authorized(token: &str, route: &Route, query: Option<&str>, headers: &HeaderMap) -> bool {
    let header = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
    if route.changes_state() {
        return header.is_some_and(|h| same(h, token));
    }
    let from_query = query_param(query, "token");
    let from_cookie = headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE_NAME).then(|| v.to_string())
    });
    [header.map(str::to_string), from_query, from_cookie].into_iter().flatten().any(|t| same(&t, token))
}

/// Constant-time comparison (the token must not leak through timing).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The decoded value of `name` in a query string (the first one).
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// `a%20b+c` → `a b c` (invalid escapes are kept as written).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One server-sent event: `event: NAME`, then `data:` lines (a newline in the
/// payload starts another `data:` line, as the format requires), then a blank line.
pub fn sse_frame(event: &str, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + event.len() + 16);
    out.push_str("event: ");
    out.push_str(event);
    out.push('\n');
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    const T: &str = "0123456789abcdef0123456789abcdef";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn routes() {
        assert_eq!(route(&Method::GET, "/", Some("token=x")), Route::Page);
        assert_eq!(route(&Method::GET, "/api/state", None), Route::State);
        assert_eq!(route(&Method::GET, "/api/events", None), Route::Events);
        assert_eq!(route(&Method::GET, "/api/logs", Some("service=db&tail=5")), Route::Logs { service: Some("db".into()), tail: 5 });
        assert_eq!(route(&Method::GET, "/api/logs", None), Route::Logs { service: None, tail: DEFAULT_TAIL });
        assert_eq!(route(&Method::GET, "/api/logs", Some("service=&tail=x")), Route::Logs { service: None, tail: DEFAULT_TAIL });
        assert_eq!(route(&Method::GET, "/api/url", Some("service=db")), Route::RevealUrl { service: "db".into() });
        assert_eq!(route(&Method::POST, "/api/services/db-main/restart", None), Route::Act { service: "db-main".into(), action: Action::Restart });
        assert_eq!(route(&Method::POST, "/api/services/db/stop", None), Route::Act { service: "db".into(), action: Action::Stop });
        assert_eq!(route(&Method::POST, "/api/services/db/start", None), Route::Act { service: "db".into(), action: Action::Start });
        assert_eq!(route(&Method::POST, "/api/services/db/reseed", None), Route::Act { service: "db".into(), action: Action::Reseed });
        assert_eq!(route(&Method::POST, "/api/services/db/reset", None), Route::Act { service: "db".into(), action: Action::Reset });
        assert_eq!(route(&Method::POST, "/api/services/my%20api/rebuild", None), Route::Act { service: "my api".into(), action: Action::Rebuild });
    }

    #[test]
    fn wrong_method_and_unknown_paths() {
        assert_eq!(route(&Method::GET, "/api/services/db/restart", None), Route::MethodNotAllowed);
        for a in ["reseed", "reset", "rebuild"] {
            assert_eq!(route(&Method::GET, &format!("/api/services/db/{a}"), None), Route::MethodNotAllowed, "{a}");
            assert_eq!(route(&Method::PUT, &format!("/api/services/db/{a}"), None), Route::MethodNotAllowed, "{a}");
        }
        assert_eq!(route(&Method::POST, "/api/services/db/seed", None), Route::NotFound);
        assert_eq!(route(&Method::POST, "/", None), Route::MethodNotAllowed);
        assert_eq!(route(&Method::POST, "/api/services/db/explode", None), Route::NotFound);
        assert_eq!(route(&Method::POST, "/api/services//restart", None), Route::NotFound);
        assert_eq!(route(&Method::GET, "/etc/passwd", None), Route::NotFound);
        assert_eq!(route(&Method::GET, "/api/url", None), Route::NotFound);
    }

    #[test]
    fn reads_accept_query_header_or_cookie() {
        let r = Route::State;
        assert!(authorized(T, &r, Some(&format!("token={T}")), &HeaderMap::new()));
        assert!(authorized(T, &r, None, &headers(&[("x-devenv-token", T)])));
        assert!(authorized(T, &r, None, &headers(&[("cookie", &format!("a=b; {COOKIE_NAME}={T}"))])));
        assert!(!authorized(T, &r, None, &HeaderMap::new()));
        assert!(!authorized(T, &r, Some("token="), &HeaderMap::new()));
        assert!(!authorized(T, &r, Some("token=0123456789abcdef0123456789abcdeX"), &HeaderMap::new()));
        assert!(!authorized(T, &r, Some(&format!("token={T}0")), &HeaderMap::new()));
        assert!(!authorized(T, &r, None, &headers(&[("cookie", "devenv_ui_token=nope")])));
    }

    #[test]
    fn actions_need_the_header_not_a_cookie_or_query() {
        for action in [Action::Reseed, Action::Reset, Action::Rebuild] {
            let r = Route::Act { service: "db".into(), action };
            assert!(r.changes_state());
            assert!(authorized(T, &r, None, &headers(&[("x-devenv-token", T)])));
            assert!(!authorized(T, &r, Some(&format!("token={T}")), &headers(&[("cookie", &format!("{COOKIE_NAME}={T}"))])));
        }
        let r = Route::Act { service: "db".into(), action: Action::Restart };
        assert!(authorized(T, &r, None, &headers(&[("x-devenv-token", T)])));
        assert!(!authorized(T, &r, Some(&format!("token={T}")), &HeaderMap::new()));
        assert!(!authorized(T, &r, None, &headers(&[("cookie", &format!("{COOKIE_NAME}={T}"))])));
        assert!(!authorized(T, &r, None, &headers(&[("x-devenv-token", "wrong")])));
    }

    #[test]
    fn query_decoding() {
        assert_eq!(query_param(Some("a=1&service=my%2Dsvc&b"), "service").as_deref(), Some("my-svc"));
        assert_eq!(query_param(Some("b&a=x+y"), "a").as_deref(), Some("x y"));
        assert_eq!(query_param(Some("b"), "b").as_deref(), Some(""));
        assert_eq!(query_param(None, "a"), None);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    #[test]
    fn sse_frames() {
        assert_eq!(sse_frame("state", "{\"a\":1}"), "event: state\ndata: {\"a\":1}\n\n");
        assert_eq!(sse_frame("log", "one\r\ntwo"), "event: log\ndata: one\ndata: two\n\n");
        assert_eq!(sse_frame("log", ""), "event: log\ndata: \n\n");
    }
}
