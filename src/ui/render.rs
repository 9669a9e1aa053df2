//! The three renderers behind `Ui`.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use console::{style, Style};
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::mask::Secrets;
use super::{Event, ProgressMode, Status};
use crate::error::Error;

pub struct Renderer {
    mode: ProgressMode,
    color: bool,
    multi: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
    started: Instant,
    /// Masked in every line rendered.
    pub secrets: Secrets,
}

const PALETTE: [u8; 6] = [6, 3, 2, 5, 4, 1];

/// A stable colour per service name.
fn service_style(name: &str) -> Style {
    let h = name.bytes().fold(5381u32, |h, b| h.wrapping_mul(33) ^ b as u32);
    Style::new().color256(PALETTE[(h as usize) % PALETTE.len()])
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// Human text for a status (plain and TTY).
pub fn describe(status: &Status) -> String {
    match status {
        Status::Waiting { on } => format!("waiting for {}", on.join(", ")),
        Status::Pulling { current, total } if *total > 0 => format!("pulling {} / {}", HumanBytes(*current), HumanBytes(*total)),
        Status::Pulling { .. } => "pulling".into(),
        Status::Pulled => "pulled".into(),
        Status::Building { line } => format!("building: {line}"),
        Status::Built => "built".into(),
        Status::Creating => "creating".into(),
        Status::Recreating { cause } => format!("recreating ({cause})"),
        Status::Starting => "starting".into(),
        Status::Probing { probe } => format!("waiting until ready ({probe})"),
        Status::Ready { elapsed_ms } => format!("ready in {}", secs(*elapsed_ms)),
        Status::Probed { probes, first_answer_ms, answered_by } => {
            format!("ready after {probes} check(s), the first answered in {first_answer_ms} ms; ready said by the {answered_by}")
        }
        Status::Unchanged => "running, unchanged".into(),
        Status::CompletedUnchanged => "completed earlier, unchanged (not run again)".into(),
        Status::Seeding { entry, done, unit, per_second } if *done > 0 => format!("seeding {entry}: {done} {unit} ({per_second} {unit}/s)"),
        Status::Seeding { entry, .. } => format!("seeding {entry}"),
        Status::SeedApplied { entry, count, unit, elapsed_ms, per_second } => {
            format!("seeded {entry}: {count} {unit} in {} ({per_second} {unit}/s)", secs(*elapsed_ms))
        }
        Status::Seeded { entries, summary, elapsed_ms } => {
            format!("seeded {entries} entr{} ({summary}) in {}", if *entries == 1 { "y" } else { "ies" }, secs(*elapsed_ms))
        }
        Status::Completed { elapsed_ms } => format!("completed in {}", secs(*elapsed_ms)),
        Status::Stopping => "stopping".into(),
        Status::Stopped => "stopped".into(),
        Status::Removed => "removed".into(),
        Status::Orphan { removed: true } => "removed (no longer in the file)".into(),
        Status::Orphan { removed: false } => "not in the file any more (remove with --remove-orphans)".into(),
        Status::Failed { error } => format!("failed: {error}"),
        Status::Skipped { reason } => format!("not started: {reason}"),
        Status::Transferring { what, bytes, total } if *total > 0 => format!("{what}: {} of ~{}", HumanBytes(*bytes), HumanBytes(*total)),
        Status::Transferring { what, bytes, .. } => format!("{what}: {}", HumanBytes(*bytes)),
        Status::Transferred { what, bytes, elapsed_ms } => format!("{what}: {} in {}", HumanBytes(*bytes), secs(*elapsed_ms)),
    }
}

fn is_final(status: &Status) -> bool {
    matches!(
        status,
        Status::Ready { .. }
            | Status::Unchanged
            | Status::CompletedUnchanged
            | Status::Completed { .. }
            | Status::Seeded { .. }
            | Status::Stopped
            | Status::Removed
            | Status::Orphan { .. }
            | Status::Failed { .. }
            | Status::Skipped { .. }
            | Status::Transferred { .. }
    )
}

/// The mode to render in: `auto` and `tty` are bars on a terminal, plain lines without one.
fn effective_mode(mode: ProgressMode, term: bool) -> ProgressMode {
    match mode {
        ProgressMode::Auto | ProgressMode::Tty if term => ProgressMode::Tty,
        ProgressMode::Auto | ProgressMode::Tty => ProgressMode::Plain,
        m => m,
    }
}

impl Renderer {
    pub fn new(mode: ProgressMode, color: bool) -> Self {
        let term = console::Term::stderr().is_term();
        if mode == ProgressMode::Tty && !term {
            // Bars need a terminal: indicatif would draw nothing at all.
            eprintln!("note: stderr is not a terminal: `--progress tty` falls back to plain lines");
        }
        let mode = effective_mode(mode, term);
        let multi = (mode == ProgressMode::Tty).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(12)));
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color);
        Renderer { mode, color, multi, bars: HashMap::new(), started: Instant::now(), secrets: Secrets::default() }
    }

    pub fn mode(&self) -> ProgressMode {
        self.mode
    }

    pub fn render(&mut self, ev: &Event) {
        match self.mode {
            ProgressMode::Json => {
                let mut v = serde_json::to_value(ev).unwrap_or_default();
                self.secrets.mask_json(&mut v);
                if let Some(o) = v.as_object_mut() {
                    o.insert("ts".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into());
                }
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{v}");
                let _ = out.flush();
            }
            ProgressMode::Quiet => {}
            ProgressMode::Plain | ProgressMode::Auto => self.plain(ev),
            ProgressMode::Tty => self.tty(ev),
        }
    }

    fn plain(&mut self, ev: &Event) {
        let ts = chrono::Local::now().format("%H:%M:%S%.3f");
        let line = match ev {
            Event::Service { service, status } => {
                // Build output and pull byte counts are too chatty for CI logs, except build lines.
                if let Status::Probed { .. } = status {
                    return;
                }
                if let Status::Pulling { current, total } = status
                    && *total > 0 && *current < *total {
                        return;
                    }
                if let Status::Seeding { done, .. } = status
                    && *done > 0 {
                        return;
                    }
                if let Status::Transferring { bytes, .. } = status
                    && *bytes > 0 {
                        return;
                    }
                format!("{ts} {} {}", service_style(service).apply_to(service), describe(status))
            }
            Event::Info { message } => format!("{ts} {message}"),
            Event::Warn { message } => format!("{ts} {} {message}", style("warning:").yellow().bold()),
            Event::Done { message, elapsed_ms } => format!("{ts} {message} ({})", secs(*elapsed_ms)),
        };
        eprintln!("{}", self.secrets.mask(&line));
    }

    fn tty(&mut self, ev: &Event) {
        let Some(multi) = self.multi.clone() else { return };
        match ev {
            Event::Service { status: Status::Probed { .. }, .. } => {}
            Event::Service { service, status } => {
                let bar = self.bars.entry(service.clone()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(spinner_style());
                    b.set_prefix(format!("{}", service_style(service).bold().apply_to(service)));
                    b.enable_steady_tick(Duration::from_millis(100));
                    b
                });
                if bar.is_finished() {
                    // A service can move on again after a final state (e.g. recreated during watch).
                    bar.reset();
                    bar.set_style(spinner_style());
                    bar.enable_steady_tick(Duration::from_millis(100));
                }
                match status {
                    Status::Pulling { current, total } if *total > 0 => {
                        bar.set_style(bytes_style());
                        bar.set_length(*total);
                        bar.set_position(*current);
                        bar.set_message("pulling");
                    }
                    Status::Transferring { what, bytes, total } if *total > 0 => {
                        bar.set_style(bytes_style());
                        bar.set_length((*total).max(*bytes));
                        bar.set_position(*bytes);
                        bar.set_message(what.clone());
                    }
                    s if is_final(s) => {
                        let mark = match s {
                            Status::Failed { .. } | Status::Skipped { .. } => style("✗").red().bold(),
                            Status::Orphan { .. } => style("!").yellow().bold(),
                            _ => style("✓").green().bold(),
                        };
                        bar.set_style(done_style());
                        bar.finish_with_message(format!("{mark} {}", self.secrets.mask(&describe(s))));
                    }
                    s => {
                        bar.set_style(spinner_style());
                        bar.set_message(self.secrets.mask(&describe(s)));
                    }
                }
            }
            Event::Info { message } => {
                let _ = multi.println(self.secrets.mask(message));
            }
            Event::Warn { message } => {
                let _ = multi.println(format!("{} {}", style("warning:").yellow().bold(), self.secrets.mask(message)));
            }
            Event::Done { message, elapsed_ms } => {
                let message = self.secrets.mask(message);
                let _ = multi.println(format!("{} {message} {}", style("✓").green().bold(), style(format!("({})", secs(*elapsed_ms))).dim()));
            }
        }
    }

    pub fn log_line(&mut self, service: &str, width: usize, line: &str) {
        let prefix = format!("{:width$} |", service, width = width);
        let text = format!("{} {}", service_style(service).apply_to(prefix), self.secrets.mask(line));
        match &self.multi {
            Some(m) if !m.is_hidden() && !self.bars.is_empty() => {
                let _ = m.println(text);
            }
            _ => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
            }
        }
    }

    pub fn error(&mut self, err: &Error) {
        self.clear();
        if self.mode == ProgressMode::Json {
            let mut v = serde_json::json!({
                "event": "error",
                "message": err.to_string(),
                "detail": err.detail(),
                "hint": err.hint(),
                "see": err.docs(),
                "exit_code": err.exit_code(),
            });
            self.secrets.mask_json(&mut v);
            println!("{v}");
        }
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{} {}", style("error:").red().bold(), self.secrets.mask(&err.to_string()));
        let detail = err.detail();
        if !detail.is_empty() {
            for l in detail {
                let _ = writeln!(e, "  {} {}", style("│").dim(), self.secrets.mask(l));
            }
        }
        if let Some(h) = err.hint() {
            let _ = writeln!(e, "{} {}", style("hint:").cyan().bold(), self.secrets.mask(&h));
        }
        if let Some(docs) = err.docs() {
            let _ = writeln!(e, "{} {docs}", style("see:").dim());
        }
        let _ = self.color;
    }

    pub fn report(&mut self, text: &str) {
        self.clear();
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{}", self.secrets.mask(text));
    }

    pub fn clear(&mut self) {
        for (_, b) in self.bars.drain() {
            if !b.is_finished() {
                b.abandon();
            }
        }
        let _ = self.started;
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:<16} {msg} {elapsed:.dim}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:<16} {msg} [{bar:24.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn done_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix:<16} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    #[test]
    fn tty_without_a_terminal_falls_back_to_plain() {
        assert_eq!(effective_mode(ProgressMode::Tty, false), ProgressMode::Plain);
        assert_eq!(effective_mode(ProgressMode::Tty, true), ProgressMode::Tty);
        assert_eq!(effective_mode(ProgressMode::Auto, false), ProgressMode::Plain);
        assert_eq!(effective_mode(ProgressMode::Json, false), ProgressMode::Json);
        assert_eq!(effective_mode(ProgressMode::Quiet, true), ProgressMode::Quiet);
    }
}
