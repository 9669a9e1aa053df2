//! web: `devenv ui`, the environment in the browser.
//!
//! Owns: a small HTTP/1.1 server (hyper) bound to 127.0.0.1 by default, on a
//! random free port, that serves one embedded page (`page.html`, no front-end
//! build) and its API: the live view of the project (`live.rs`, as JSON and
//! server-sent events), each service's logs (followed, masked), its URL with
//! the password, and actions (`act.rs`: restart, stop, start, re-seed, reset
//! to the seeded snapshot, rebuild). Every request needs the random token
//! the URL carries (`http.rs`); without it: 403 and nothing happens.
//! Must not: print (the command prints the URL), or decide anything about the
//! environment beyond what the page asks.

mod act;
pub mod http;
pub mod live;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use crate::docker::Docker;
use crate::plan::Plan;
use crate::ui::{mask::Secrets, Event, ProgressMode};
use http::{Route, COOKIE_NAME};
use live::Live;

/// The page, embedded.
const PAGE: &str = include_str!("page.html");

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Where to listen.
#[derive(Debug, Clone)]
pub struct Options {
    pub host: IpAddr,
    /// 0: a free port.
    pub port: u16,
}

/// The server, bound and not yet serving.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    app: Arc<App>,
}

struct App {
    token: String,
    live: Arc<Live>,
    secrets: Secrets,
    actions: act::ActionUi,
    /// `up`'s events so far (masked JSON) and their live feed, when run by `up --ui`.
    events: Mutex<Vec<String>>,
    feed: broadcast::Sender<String>,
}

/// A random 128-bit token, hex.
pub fn new_token() -> Result<String, std::io::Error> {
    let mut buf = [0u8; 16];
    getrandom::getrandom(&mut buf).map_err(std::io::Error::other)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

impl Server {
    /// Bind `opts` for `project` (its plan, when the file loaded, adds
    /// dependencies, probes, URLs, seeds and the re-seed, reset and rebuild
    /// actions). The actions show their own progress in `mode`.
    pub async fn bind(opts: &Options, project: String, plan: Option<Plan>, docker: Docker, secrets: Secrets, mode: ProgressMode) -> Result<Server, std::io::Error> {
        let listener = TcpListener::bind((opts.host, opts.port)).await?;
        let addr = listener.local_addr()?;
        let (feed, _) = broadcast::channel(1024);
        let live = Live::new(project, plan, docker, secrets.clone());
        let actions = act::ActionUi::new(mode, secrets.clone());
        let app = App { token: new_token()?, live, secrets, actions, events: Mutex::default(), feed };
        Ok(Server { listener, addr, app: Arc::new(app) })
    }

    /// The page's address, token included.
    pub fn url(&self) -> String {
        let host = match self.addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        format!("http://{host}:{}/?token={}", self.addr.port(), self.app.token)
    }

    /// A function that forwards `up`'s events to the page (masked), for `up --ui`.
    pub fn event_sink(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let app = self.app.clone();
        let start = std::time::Instant::now();
        move |ev: &Event| {
            let line = encode_up_event(start.elapsed().as_millis() as u64, ev, &app.secrets);
            if let Ok(mut v) = app.events.lock() {
                v.push(line.clone());
            }
            let _ = app.feed.send(line);
        }
    }

    /// Serve until `stop` resolves.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let poller = tokio::spawn(self.app.live.clone().run());
        tokio::pin!(stop);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let app = self.app.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            let app = app.clone();
                            async move { Ok::<_, Infallible>(app.handle(req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                    });
                }
                _ = &mut stop => break,
            }
        }
        poller.abort();
    }
}

/// One of `up`'s events as the page reads it: `{"t_ms": …, "event": {…}}`, masked.
pub fn encode_up_event(t_ms: u64, ev: &Event, secrets: &Secrets) -> String {
    secrets.mask(&serde_json::json!({ "t_ms": t_ms, "event": ev }).to_string())
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed_unsync());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    full(status, "application/json", serde_json::to_string(value).unwrap_or_else(|_| "null".into()))
}

/// A server-sent events response from a stream of frames.
fn sse(frames: impl futures_util::Stream<Item = String> + Send + 'static) -> Response<Body> {
    let body = StreamBody::new(frames.map(|f| Ok::<_, Infallible>(Frame::data(Bytes::from(f)))));
    let mut r = Response::new(BodyExt::boxed_unsync(body));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl App {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let query = req.uri().query().map(str::to_string);
        let route = http::route(req.method(), req.uri().path(), query.as_deref());
        if !http::authorized(&self.token, &route, query.as_deref(), req.headers()) {
            return full(StatusCode::FORBIDDEN, "text/plain; charset=utf-8", "403 forbidden: this needs the token printed by `devenv ui`\n");
        }
        match route {
            Route::Page => {
                let mut r = full(StatusCode::OK, "text/html; charset=utf-8", PAGE);
                let cookie = format!("{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Strict", self.token);
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    r.headers_mut().insert(SET_COOKIE, v);
                }
                r
            }
            Route::State => json(StatusCode::OK, &*self.live.view.borrow().clone()),
            Route::Events => self.events(),
            Route::Logs { service, tail } => self.logs(service, tail).await,
            Route::RevealUrl { service } => {
                let observed = self.live.containers.lock().map(|c| c.clone()).unwrap_or_default();
                match live::url_of(self.live.plan.as_ref(), &service, &observed) {
                    Some(url) => json(StatusCode::OK, &serde_json::json!({ "url": url })),
                    None => json(StatusCode::NOT_FOUND, &serde_json::json!({ "error": format!("`{service}` has no URL (not running, or publishes no port)") })),
                }
            }
            Route::Act { service, action } => match act::act(&self.live, &service, action, &self.actions).await {
                Ok(message) => json(StatusCode::OK, &serde_json::json!({ "ok": true, "message": self.secrets.mask(&message) })),
                Err(error) => json(StatusCode::CONFLICT, &serde_json::json!({ "ok": false, "error": self.secrets.mask(&error) })),
            },
            Route::MethodNotAllowed => full(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "405 method not allowed\n"),
            Route::NotFound => full(StatusCode::NOT_FOUND, "text/plain", "404 not found\n"),
        }
    }

    /// `state` on every change of the view; `up` events (history first, then live).
    fn events(&self) -> Response<Body> {
        let mut view = self.live.view.subscribe();
        view.mark_changed();
        let history: Vec<String> = self.events.lock().map(|v| v.clone()).unwrap_or_default();
        let mut feed = self.feed.subscribe();
        let stream = async_stream(move |tx| async move {
            let _ = tx.send("retry: 1000\n\n".to_string()).await;
            for h in history {
                if tx.send(http::sse_frame("up", &h)).await.is_err() {
                    return;
                }
            }
            loop {
                let frame = tokio::select! {
                    changed = view.changed() => match changed {
                        Ok(()) => http::sse_frame("state", &serde_json::to_string(&*view.borrow_and_update().clone()).unwrap_or_default()),
                        Err(_) => return,
                    },
                    ev = feed.recv() => match ev {
                        Ok(line) => http::sse_frame("up", &line),
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    },
                };
                if tx.send(frame).await.is_err() {
                    return;
                }
            }
        });
        sse(stream)
    }

    /// One service's output (or every service's), the last `tail` lines then followed; masked.
    async fn logs(&self, service: Option<String>, tail: usize) -> Response<Body> {
        let containers = match self.live.docker.project_containers(&self.live.project).await {
            Ok(c) => c,
            Err(e) => return json(StatusCode::BAD_GATEWAY, &serde_json::json!({ "error": e.to_string() })),
        };
        let chosen: Vec<_> = containers.into_iter().filter(|c| service.is_none() || c.service == service).collect();
        let mut streams = futures_util::stream::SelectAll::new();
        for c in &chosen {
            let svc = c.service.clone().unwrap_or_else(|| c.name.clone());
            streams.push(Box::pin(self.live.docker.logs(&c.id, true, Some(tail), None).map(move |l| (svc.clone(), l))));
        }
        let secrets = self.secrets.clone();
        let frames = streams.filter_map(move |(svc, line)| {
            let frame = line.ok().map(|l| {
                let text = secrets.mask(&crate::docker::strip_ansi(&l.text));
                http::sse_frame("log", &serde_json::json!({ "service": svc, "stderr": l.stderr, "text": text }).to_string())
            });
            std::future::ready(frame)
        });
        let head = futures_util::stream::iter(vec!["retry: 1000\n\n".to_string(), http::sse_frame("open", &chosen.len().to_string())]);
        // When every followed container has stopped: `end` (the page resumes when one runs again).
        let end = futures_util::stream::iter(vec![http::sse_frame("end", "")]);
        sse(head.chain(frames).chain(end))
    }
}

/// A stream fed by a task (`f` gets the sending half); it ends when the task returns.
fn async_stream<F, Fut>(f: F) -> impl futures_util::Stream<Item = String> + Send + 'static
where
    F: FnOnce(tokio::sync::mpsc::Sender<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Status;

    #[test]
    fn up_events_are_encoded_with_their_time_and_masked() {
        let secrets = Secrets::from_pairs([("DB_PASSWORD", "hunter2-hunter2")]);
        let ev = Event::Service { service: "db".into(), status: Status::Failed { error: "auth failed for hunter2-hunter2".into() } };
        let line = encode_up_event(1234, &ev, &secrets);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["t_ms"], 1234);
        assert_eq!(v["event"]["event"], "service");
        assert_eq!(v["event"]["service"], "db");
        assert_eq!(v["event"]["status"], "failed");
        assert!(!line.contains("hunter2"), "{line}");
        let ready = encode_up_event(5, &Event::Service { service: "db".into(), status: Status::Ready { elapsed_ms: 900 } }, &secrets);
        assert_eq!(ready, r#"{"event":{"elapsed_ms":900,"event":"service","service":"db","status":"ready"},"t_ms":5}"#);
    }

    #[test]
    fn an_encoded_event_is_one_sse_frame() {
        let line = encode_up_event(0, &Event::Info { message: "two\nlines".into() }, &Secrets::default());
        let frame = http::sse_frame("up", &line);
        assert!(frame.starts_with("event: up\ndata: {") && frame.ends_with("}\n\n"), "{frame}");
        assert_eq!(frame.matches("\n\n").count(), 1, "{frame}");
    }

    #[test]
    fn tokens_are_random_128_bit_hex() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
