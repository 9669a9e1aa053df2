//! How devenv runs the cluster tools (`kind`, `k3d`, `kubectl`, `docker`,
//! `kubernetes-validate`): one small [`Runner`] trait, so every command line
//! devenv builds can be recorded and every failure scripted in tests.
//!
//! [`SystemRunner`] is the real one (std::process). The test double
//! (`double::ScriptedRunner`, tests only) runs nothing: it records each
//! invocation and answers from a script.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// One command line: a program, its arguments, and what to feed its stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub stdin: Option<String>,
}

impl Invocation {
    pub fn new<S: AsRef<str>>(program: &str, args: &[S]) -> Self {
        Invocation { program: program.to_string(), args: args.iter().map(|a| a.as_ref().to_string()).collect(), stdin: None }
    }

    pub fn with_stdin(mut self, input: String) -> Self {
        self.stdin = Some(input);
        self
    }

    /// The command line as a user would type it (arguments quoted where a shell needs it).
    pub fn display(&self) -> String {
        std::iter::once(&self.program).chain(&self.args).map(|a| quote(a)).collect::<Vec<_>>().join(" ")
    }
}

/// `a` as is when a shell would take it literally, else single-quoted.
fn quote(a: &str) -> String {
    let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c));
    if plain { a.to_string() } else { shell_words::quote(a).into_owned() }
}

/// What a finished command printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(stdout: &str) -> Self {
        Output { code: Some(0), stdout: stdout.to_string(), stderr: String::new() }
    }

    pub fn failed(code: i32, stderr: &str) -> Self {
        Output { code: Some(code), stdout: String::new(), stderr: stderr.to_string() }
    }

    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Non-empty lines of stdout then stderr, for error details.
    pub fn lines(&self) -> Vec<String> {
        self.stdout.lines().chain(self.stderr.lines()).map(|l| crate::docker::strip_ansi(l).trim_end().to_string()).filter(|l| !l.trim().is_empty()).collect()
    }

    /// `exit 1`, or `killed by a signal`.
    pub fn describe_exit(&self) -> String {
        match self.code {
            Some(c) => format!("exit {c}"),
            None => "killed by a signal".to_string(),
        }
    }
}

/// Why a command could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The program is not installed (not on PATH).
    NotFound { program: String },
    /// It exists but could not be started or read.
    Io { program: String, message: String },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NotFound { program } => write!(f, "`{program}` is not installed (not found on PATH)"),
            RunError::Io { program, message } => write!(f, "cannot run `{program}`: {message}"),
        }
    }
}

/// A long-running command (a `kubectl port-forward`).
pub trait Background: Send {
    /// `Some(output)` once it has exited; `None` while it runs.
    fn try_wait(&mut self) -> Option<Output>;
    /// Stop it (and reap it).
    fn kill(&mut self);
}

/// Runs external commands.
pub trait Runner: Send + Sync {
    /// Run to completion; `on_line` sees each output line (stdout and stderr) as it arrives.
    fn run(&self, inv: &Invocation, on_line: &mut dyn FnMut(&str)) -> Result<Output, RunError>;

    /// Start without waiting.
    fn spawn(&self, inv: &Invocation) -> Result<Box<dyn Background>, RunError>;

    /// Run to completion, quietly.
    fn output(&self, inv: &Invocation) -> Result<Output, RunError> {
        self.run(inv, &mut |_| {})
    }
}

/// The real runner: std::process, output read line by line as it comes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRunner;

fn start(inv: &Invocation, stdin: Stdio, out: Stdio, err: Stdio) -> Result<Child, RunError> {
    Command::new(&inv.program).args(&inv.args).stdin(stdin).stdout(out).stderr(err).spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RunError::NotFound { program: inv.program.clone() }
        } else {
            RunError::Io { program: inv.program.clone(), message: e.to_string() }
        }
    })
}

impl Runner for SystemRunner {
    fn run(&self, inv: &Invocation, on_line: &mut dyn FnMut(&str)) -> Result<Output, RunError> {
        let stdin = if inv.stdin.is_some() { Stdio::piped() } else { Stdio::null() };
        let mut child = start(inv, stdin, Stdio::piped(), Stdio::piped())?;
        if let (Some(input), Some(mut pipe)) = (inv.stdin.clone(), child.stdin.take()) {
            // A writer thread: a large manifest must not deadlock against a full stdout pipe.
            std::thread::spawn(move || {
                let _ = pipe.write_all(input.as_bytes());
            });
        }
        let (tx, rx) = mpsc::channel::<(bool, String)>();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(forward_lines(out, false, tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(forward_lines(err, true, tx.clone()));
        }
        drop(tx);
        let mut output = Output::default();
        for (is_err, line) in rx {
            on_line(&line);
            let buf = if is_err { &mut output.stderr } else { &mut output.stdout };
            buf.push_str(&line);
            buf.push('\n');
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait().map_err(|e| RunError::Io { program: inv.program.clone(), message: e.to_string() })?;
        output.code = status.code();
        Ok(output)
    }

    fn spawn(&self, inv: &Invocation) -> Result<Box<dyn Background>, RunError> {
        let child = start(inv, Stdio::null(), Stdio::piped(), Stdio::piped())?;
        Ok(Box::new(SystemChild { child: Some(child) }))
    }
}

fn forward_lines<R: std::io::Read + Send + 'static>(r: R, is_err: bool, tx: mpsc::Sender<(bool, String)>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send((is_err, line)).is_err() {
                break;
            }
        }
    })
}

struct SystemChild {
    child: Option<Child>,
}

impl Background for SystemChild {
    fn try_wait(&mut self) -> Option<Output> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut out = Output { code: status.code(), ..Output::default() };
                if let Some(mut s) = child.stdout.take() {
                    let _ = std::io::Read::read_to_string(&mut s, &mut out.stdout);
                }
                if let Some(mut s) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut s, &mut out.stderr);
                }
                self.child = None;
                Some(out)
            }
            Ok(None) => None,
            Err(e) => {
                self.child = None;
                Some(Output { code: None, stdout: String::new(), stderr: e.to_string() })
            }
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SystemChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Test double for [`Runner`]: runs nothing. Records every invocation and
/// answers from a script (the longest matching command-line prefix wins;
/// unscripted commands succeed with no output; `missing` programs are "not installed").
#[cfg(test)]
pub mod double {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::{Background, Invocation, Output, RunError, Runner};

    /// A command-line prefix and its answers in order (the last one repeats).
    type Rule = (String, VecDeque<Output>);

    #[derive(Default, Clone)]
    pub struct ScriptedRunner {
        calls: Arc<Mutex<Vec<Invocation>>>,
        /// (command-line prefix, answers in order; the last one repeats)
        script: Arc<Mutex<Vec<Rule>>>,
        missing: Arc<Mutex<Vec<String>>>,
        killed: Arc<Mutex<Vec<String>>>,
    }

    impl ScriptedRunner {
        pub fn new() -> Self {
            Self::default()
        }

        /// Answer commands starting with `prefix` with `out` (queue several to answer successive calls).
        pub fn on(&self, prefix: &str, out: Output) -> &Self {
            if let Ok(mut s) = self.script.lock() {
                match s.iter_mut().find(|(p, _)| p == prefix) {
                    Some((_, q)) => q.push_back(out),
                    None => s.push((prefix.to_string(), VecDeque::from([out]))),
                }
            }
            self
        }

        /// Pretend `program` is not installed.
        pub fn missing(&self, program: &str) -> &Self {
            if let Ok(mut m) = self.missing.lock() {
                m.push(program.to_string());
            }
            self
        }

        /// Every command line run or spawned so far, in order.
        pub fn calls(&self) -> Vec<String> {
            self.calls.lock().map(|c| c.iter().map(Invocation::display).collect()).unwrap_or_default()
        }

        /// The invocations themselves (with stdin).
        pub fn invocations(&self) -> Vec<Invocation> {
            self.calls.lock().map(|c| c.clone()).unwrap_or_default()
        }

        /// Background commands that were killed.
        pub fn killed(&self) -> Vec<String> {
            self.killed.lock().map(|k| k.clone()).unwrap_or_default()
        }

        fn answer(&self, inv: &Invocation) -> Result<Output, RunError> {
            if let Ok(mut c) = self.calls.lock() {
                c.push(inv.clone());
            }
            if self.missing.lock().is_ok_and(|m| m.contains(&inv.program)) {
                return Err(RunError::NotFound { program: inv.program.clone() });
            }
            let line = inv.display();
            let Ok(mut script) = self.script.lock() else { return Ok(Output::ok("")) };
            let best = script.iter_mut().filter(|(p, _)| line.starts_with(p.as_str())).max_by_key(|(p, _)| p.len());
            Ok(match best {
                Some((_, q)) if q.len() > 1 => q.pop_front().unwrap_or_default(),
                Some((_, q)) => q.front().cloned().unwrap_or_default(),
                None => Output::ok(""),
            })
        }
    }

    impl Runner for ScriptedRunner {
        fn run(&self, inv: &Invocation, on_line: &mut dyn FnMut(&str)) -> Result<Output, RunError> {
            let out = self.answer(inv)?;
            for l in out.stdout.lines().chain(out.stderr.lines()) {
                on_line(l);
            }
            Ok(out)
        }

        fn spawn(&self, inv: &Invocation) -> Result<Box<dyn Background>, RunError> {
            let out = self.answer(inv)?;
            Ok(Box::new(ScriptedChild { line: inv.display(), exit: (!out.success()).then_some(out), killed: self.killed.clone() }))
        }
    }

    struct ScriptedChild {
        line: String,
        /// A scripted failure is reported as an immediate exit.
        exit: Option<Output>,
        killed: Arc<Mutex<Vec<String>>>,
    }

    impl Background for ScriptedChild {
        fn try_wait(&mut self) -> Option<Output> {
            self.exit.clone()
        }
        fn kill(&mut self) {
            if let Ok(mut k) = self.killed.lock() {
                k.push(self.line.clone());
            }
        }
    }
}
