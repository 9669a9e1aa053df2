//! The page's actions on one service: restart, stop, start its container;
//! re-seed it, reset it to its seeded snapshot, rebuild it. The last three are
//! what `devenv seed --reset S`, `devenv reset S` and `devenv up --build S`
//! do, through the same engine functions, under the project's lock (taken
//! without waiting: when another devenv changes the project, the answer says
//! so and nothing is done). A reset answers once the data is back; what
//! makes the next one fast (`NextReady`) is then made in the background,
//! still under the lock, as `devenv reset`'s detached child makes it (the
//! page's next action waits for it). Each runs in a task of its own, so a
//! page closed meanwhile does not cut it short. The container's readiness
//! is forgotten, so it is probed again once running.
//! Must not: print (the actions' own events go to a `Ui` of their own, whose
//! warnings come back with the answer), or decide anything the CLI would not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::http::Action;
use super::live::Live;
use crate::diff::StepKind;
use crate::engine::seeding::{self, Mode};
use crate::engine::snapshot::NextReady;
use crate::engine::{ProjectLock, Session, UpOptions};
use crate::error::Error;
use crate::observe::ContainerState;
use crate::plan::ResolvedService;
use crate::ui::{mask::Secrets, Event, ProgressMode, Ui};

/// How the actions' own events are shown: like the command's (`devenv ui`
/// prints them in its terminal), never as bars, masked with its secrets.
/// And the preparation of the next reset, while one runs in the background.
#[derive(Clone)]
pub struct ActionUi {
    pub mode: ProgressMode,
    pub secrets: Secrets,
    pub preparing: Arc<tokio::sync::Mutex<()>>,
}

impl ActionUi {
    pub fn new(mode: ProgressMode, secrets: Secrets) -> ActionUi {
        ActionUi { mode, secrets, preparing: Arc::default() }
    }

    /// A fresh `Ui` recording this action's events.
    fn ui(&self) -> Ui {
        let mode = match self.mode {
            ProgressMode::Auto | ProgressMode::Tty => ProgressMode::Plain,
            m => m,
        };
        let ui = Ui::new(mode, false).recording();
        ui.set_secrets(self.secrets.clone());
        ui
    }
}

/// Do `action` on `service`; `Ok` says what was done, `Err` why not (with the hint).
pub async fn act(live: &Arc<Live>, service: &str, action: Action, ui: &ActionUi) -> Result<String, String> {
    let done = match action {
        Action::Restart | Action::Stop | Action::Start => container_action(live, service, action).await,
        Action::Reseed | Action::Reset | Action::Rebuild => {
            let (live, service, ui) = (live.clone(), service.to_string(), ui.clone());
            // A task of its own: finished even when the page goes away meanwhile (never half a reset).
            let task = tokio::spawn(async move {
                // After the background work of this page's last reset.
                drop(ui.preparing.lock().await);
                let action_ui = ui.ui();
                let done = locked_action(&live, &service, action, &action_ui, &ui).await.map_err(|e| error_text(&e));
                done.map(|m| with_warnings(m, &action_ui))
            });
            task.await.unwrap_or_else(|e| Err(format!("the action stopped: {e}")))
        }
    };
    if let Some(c) = live.container_of(service) {
        live.forget_probe(&c.id);
    }
    live.refresh_soon();
    done
}

async fn container_action(live: &Live, service: &str, action: Action) -> Result<String, String> {
    let Some(c) = live.container_of(service) else { return Err(not_created(live, service)) };
    let docker = &live.docker;
    live.forget_probe(&c.id);
    let done = match action {
        Action::Stop => docker.stop(&c.id, None).await.map(|()| format!("stopped {service}")),
        Action::Start => docker.start(&c.id, service).await.map(|()| format!("started {service}")),
        _ => match docker.stop(&c.id, None).await {
            Ok(()) => docker.start(&c.id, service).await.map(|()| format!("restarted {service}")),
            Err(e) => Err(e),
        },
    };
    done.map_err(|e| e.to_string())
}

fn not_created(live: &Live, service: &str) -> String {
    format!("service `{service}` has no container in project `{}` (start it with `devenv up -d {service}`)", live.project)
}

/// Re-seed, reset or rebuild, under the project's lock.
async fn locked_action(live: &Live, service: &str, action: Action, ui: &Ui, actions: &ActionUi) -> Result<String, Error> {
    let Some(plan) = live.plan.as_ref() else {
        return Err(usage("this needs the environment file, and `devenv ui` was started where none loads", "run `devenv ui` in the project's directory (or with -f FILE)"));
    };
    let Some(svc) = plan.services.get(service) else { return Err(usage(&format!("no service `{service}` in {}", plan.file.display()), "")) };
    let Some(lock) = crate::engine::try_lock_project(&plan.project)? else {
        return Err(usage(
            &format!("another devenv is changing project `{}` right now (an `up`, `seed`, `reset`…): nothing was done", plan.project),
            "try again when it has finished",
        ));
    };
    let opts = UpOptions { remove_orphans: false, build: action == Action::Rebuild, ready_timeout: crate::plan::resolve::DEFAULT_READY_TIMEOUT, owner: None };
    let session = Session::new(live.docker.clone(), Arc::new(plan.clone()), ui.clone(), opts);
    let t0 = Instant::now();
    match action {
        Action::Reseed => reseed(live, &session, svc, ui).await,
        Action::Reset => {
            let (_, next) = session.reset_deferred(&[service.to_string()]).await?;
            let back = took(t0.elapsed());
            prepare_next(lock, next, ui.clone(), actions.preparing.clone().lock_owned().await);
            Ok(format!("reset {service} to its seeded snapshot: data back in {back}"))
        }
        _ => rebuild(&session, svc).await,
    }
}

/// What makes the next reset fast, made in the background, holding the
/// project's lock and the page's `preparing` guard until done.
fn prepare_next(lock: ProjectLock, next: Vec<NextReady>, ui: Ui, guard: tokio::sync::OwnedMutexGuard<()>) {
    tokio::spawn(async move {
        for n in next {
            if let Err(e) = n.run().await {
                ui.warn(format!("preparing the next reset failed: {e}"));
            }
        }
        drop((lock, guard));
    });
}

/// `devenv seed --reset S --yes`: empty what the seeds created, apply every
/// entry again, run the `run: once` jobs built on it again.
async fn reseed(live: &Live, session: &Session, svc: &ResolvedService, ui: &Ui) -> Result<String, Error> {
    let name = &svc.name;
    if svc.seeds.is_empty() {
        return Err(usage(&format!("service `{name}` has no `seed:` entries"), ""));
    }
    let running = live.container_of(name).filter(|c| c.state == ContainerState::Running);
    let Some(c) = running else { return Err(usage(&format!("service `{name}` is not running"), &format!("start it first (`devenv up -d {name}`)"))) };
    let t0 = Instant::now();
    seeding::reset(&live.docker, &c.id, svc).await?;
    let applied = seeding::run(&live.docker, &c.id, svc, Mode::All, ui).await?.applied;
    let jobs: Vec<String> = seeding::dependent_jobs(session.plan(), std::slice::from_ref(name)).into_iter().filter(|j| live.container_of(j).is_some()).collect();
    session.rerun_jobs_on(std::slice::from_ref(name)).await?;
    let jobs = if jobs.is_empty() { String::new() } else { format!("; ran {} again", jobs.join(", ")) };
    Ok(format!("re-seeded {name}: emptied, {applied} seed entr{} applied in {}{jobs}", if applied == 1 { "y" } else { "ies" }, took(t0.elapsed())))
}

/// `devenv up --build S`: its image (and those of the dependencies it starts)
/// rebuilt, then whatever changed recreated.
async fn rebuild(session: &Session, svc: &ResolvedService) -> Result<String, Error> {
    let name = &svc.name;
    if svc.build.is_none() {
        return Err(usage(&format!("service `{name}` has no `build:`: its image is pulled, there is nothing to rebuild"), "restart it instead"));
    }
    let t0 = Instant::now();
    let report = session.up(std::slice::from_ref(name)).await?;
    let kept = report.steps.iter().filter(|s| &s.service == name).all(|s| s.kind == StepKind::Keep);
    let what = if kept { "the image is unchanged, the container kept" } else { "recreated with the new image" };
    Ok(format!("rebuilt {name}: {what} ({})", took(t0.elapsed())))
}

fn usage(message: &str, hint: &str) -> Error {
    Error::Usage { message: message.to_string(), hint: (!hint.is_empty()).then(|| hint.to_string()) }
}

/// An error as the card shows it: the message, then the hint.
fn error_text(e: &Error) -> String {
    match e.hint() {
        Some(h) => format!("{e} — hint: {h}"),
        None => e.to_string(),
    }
}

/// The answer, with the warnings the action emitted.
fn with_warnings(message: String, ui: &Ui) -> String {
    let warnings: Vec<String> = ui.events().into_iter().filter_map(|(_, e)| if let Event::Warn { message } = e { Some(message) } else { None }).collect();
    if warnings.is_empty() {
        return message;
    }
    format!("{message} (warning: {})", warnings.join("; "))
}

fn took(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_their_hint_and_answers_their_warnings() {
        assert_eq!(error_text(&usage("no seeded snapshot of `db`", "re-seed it")), "no seeded snapshot of `db` — hint: re-seed it");
        assert_eq!(error_text(&usage("busy", "")), "busy");
        let ui = ActionUi::new(ProgressMode::Quiet, Secrets::from_pairs([("PW", "hunter2-hunter2")])).ui();
        assert_eq!(with_warnings("done".into(), &ui), "done");
        ui.warn("seed entry `sql a.sql` changed");
        assert_eq!(with_warnings("done".into(), &ui), "done (warning: seed entry `sql a.sql` changed)");
        assert_eq!(took(Duration::from_millis(250)), "250 ms");
        assert_eq!(took(Duration::from_millis(2345)), "2.3 s");
    }
}
