//! ui: the one place that prints.
//!
//! Owns: the event type every stage emits, and three renderers chosen by a
//! printer policy: progress bars on a terminal, timestamped plain lines for
//! CI (non-TTY or `--progress plain`), JSON lines (`--progress json`).
//! Every line is masked with the secrets it knows (`mask::Secrets`).
//! A tap (`Ui::tap`) gets every event too (`up --ui` forwards them to the page).
//! Must not: make decisions about the environment.

mod render;
pub mod junit;
pub mod mask;
pub mod trace;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

pub use render::Renderer;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Bars on a terminal, plain lines otherwise.
    Auto,
    /// Progress bars (needs a terminal).
    Tty,
    /// Timestamped lines.
    Plain,
    /// One JSON object per line on stdout.
    Json,
    /// Errors only.
    Quiet,
}

/// What happened to one service.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Waiting for dependencies to reach their condition.
    Waiting { on: Vec<String> },
    Pulling { current: u64, total: u64 },
    Pulled,
    Building { line: String },
    Built,
    Creating,
    Recreating { cause: String },
    Starting,
    /// Started; devenv is probing readiness.
    Probing { probe: String },
    Ready { elapsed_ms: u64 },
    /// How readiness was reached, just before `Ready` (JSON timing events
    /// only; plain lines and bars do not show it): checks made, when the
    /// first one answered (ms after probing began, whatever it said), and
    /// what said ready (`native`: a recognised command asked natively;
    /// `command`: the command as written; `probe`: any other probe).
    Probed { probes: u32, first_answer_ms: u64, answered_by: String },
    /// Already running and unchanged.
    Unchanged,
    /// A `run: once` job that already completed, unchanged: not run again.
    CompletedUnchanged,
    /// Applying one seed entry.
    Seeding { entry: String, done: u64, unit: String, per_second: u64 },
    /// One seed entry applied.
    SeedApplied { entry: String, count: u64, unit: String, elapsed_ms: u64, per_second: u64 },
    /// All pending seed entries applied.
    Seeded { entries: usize, summary: String, elapsed_ms: u64 },
    /// A one-shot job exited 0.
    Completed { elapsed_ms: u64 },
    Stopping,
    Stopped,
    Removed,
    /// A container whose service is gone from the file.
    Orphan { removed: bool },
    Failed { error: String },
    /// Not started because a dependency failed.
    Skipped { reason: String },
    /// Moving data (a snapshot export or import): `what` ("exporting seeded"),
    /// content bytes so far of about `total`.
    Transferring { what: String, bytes: u64, total: u64 },
    /// The transfer finished.
    Transferred { what: String, bytes: u64, elapsed_ms: u64 },
}

/// An event from any stage.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Service { service: String, #[serde(flatten)] status: Status },
    Info { message: String },
    Warn { message: String },
    /// The run's summary line.
    Done { message: String, elapsed_ms: u64 },
}

/// A cheap, cloneable handle to the renderer.
#[derive(Clone)]
pub struct Ui {
    inner: Arc<Mutex<Renderer>>,
    /// Every event, kept when a report (e.g. `--junit`) needs them.
    recorded: Option<Arc<Mutex<Vec<(std::time::Instant, Event)>>>>,
    /// Also given every event (e.g. `up --ui` forwards them to the page).
    taps: Arc<Mutex<Vec<Tap>>>,
}

type Tap = Box<dyn Fn(&Event) + Send + Sync>;

impl Ui {
    pub fn new(mode: ProgressMode, color: bool) -> Self {
        Ui { inner: Arc::new(Mutex::new(Renderer::new(mode, color))), recorded: None, taps: Arc::default() }
    }

    pub fn emit(&self, ev: Event) {
        if let Some(rec) = &self.recorded {
            if let Ok(mut v) = rec.lock() {
                v.push((std::time::Instant::now(), ev.clone()));
            }
        }
        if let Ok(taps) = self.taps.lock() {
            for tap in taps.iter() {
                tap(&ev);
            }
        }
        if let Ok(mut r) = self.inner.lock() {
            r.render(&ev);
        }
    }

    /// Give every event from now on to `f` as well (on every clone of this handle).
    pub fn tap(&self, f: impl Fn(&Event) + Send + Sync + 'static) {
        if let Ok(mut taps) = self.taps.lock() {
            taps.push(Box::new(f));
        }
    }

    /// Keep every event from now on (for `events()`).
    pub fn recording(mut self) -> Self {
        self.recorded = Some(Arc::default());
        self
    }

    /// The events recorded so far, with when they happened.
    pub fn events(&self) -> Vec<(std::time::Instant, Event)> {
        self.recorded.as_ref().and_then(|r| r.lock().ok().map(|v| v.clone())).unwrap_or_default()
    }

    pub fn service(&self, service: &str, status: Status) {
        self.emit(Event::Service { service: service.to_string(), status });
    }

    pub fn info(&self, message: impl Into<String>) {
        self.emit(Event::Info { message: message.into() });
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.emit(Event::Warn { message: message.into() });
    }

    pub fn done(&self, message: impl Into<String>, elapsed: Duration) {
        self.emit(Event::Done { message: message.into(), elapsed_ms: elapsed.as_millis() as u64 });
    }

    /// Print a line of a container's output with a coloured `service |` prefix.
    pub fn log_line(&self, service: &str, width: usize, line: &str) {
        if let Ok(mut r) = self.inner.lock() {
            r.log_line(service, width, line);
        }
    }

    /// Print a finished error (stderr): `error: …`, detail lines, `hint: …`.
    pub fn error(&self, err: &crate::error::Error) {
        if let Ok(mut r) = self.inner.lock() {
            r.error(err);
        }
    }

    /// Mask these secret values in everything shown from now on (and in `secrets()`),
    /// instead of the ones set before.
    pub fn set_secrets(&self, secrets: mask::Secrets) {
        if let Ok(mut r) = self.inner.lock() {
            r.secrets = secrets;
        }
    }

    /// The secret values masked in output (for reports written to files, e.g. JUnit).
    pub fn secrets(&self) -> mask::Secrets {
        self.inner.lock().map(|r| r.secrets.clone()).unwrap_or_default()
    }

    /// Print a finished block of text (a report such as `--trace`) on standard error.
    pub fn report(&self, text: &str) {
        if let Ok(mut r) = self.inner.lock() {
            r.report(text);
        }
    }

    /// Stop drawing bars (before handing the terminal to something else).
    pub fn clear(&self) {
        if let Ok(mut r) = self.inner.lock() {
            r.clear();
        }
    }

    pub fn mode(&self) -> ProgressMode {
        self.inner.lock().map(|r| r.mode()).unwrap_or(ProgressMode::Plain)
    }
}

/// Whether colour should be used: `--no-color`, `NO_COLOR` (any value) and non-terminals turn it off.
pub fn color_wanted(no_color_flag: bool) -> bool {
    !no_color_flag && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && console::Term::stderr().is_term()
}
