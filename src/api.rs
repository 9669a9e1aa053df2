//! The library API for Rust test suites: load an environment file, bring it
//! up, read connection info, tear it down (explicitly or on drop).
//!
//! Brings environments up through the same `engine::Session` as the CLI.
//! Must not: import `cli` (the host-side variables come from `engine::vars`), or print.
//!
//! ```no_run
//! # async fn t() -> Result<(), devenv::error::Error> {
//! let env = devenv::api::Environment::load("devenv.yaml")?.project("it-users-1")?;
//! let running = env.up().await?;
//! let db_url = running.url("db").expect("db is a preset");
//! let port = running.host_port("db", 5432);
//! // ... run tests against db_url ...
//! running.down().await?; // or just drop it
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use crate::config::{self, LoadOptions, LoadedEnv};
use crate::docker::Docker;
use crate::engine::{self, Session, UpOptions};
use crate::error::Error;
use crate::observe::ObservedContainer;
use crate::plan::{self, ImageMap, Plan};
use crate::ui::{ProgressMode, Ui};

/// A loaded, planned environment file.
pub struct Environment {
    file: PathBuf,
    project: Option<String>,
    images: ImageMap,
    env: LoadedEnv,
    plan: Arc<Plan>,
    ui: Ui,
    ready_timeout: Duration,
}

impl Environment {
    /// Load `path` (a `devenv.yaml`). The image map comes from `DEVENV_IMAGE_MAP`
    /// and the user-level file, as for the CLI.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let images = ImageMap::load(std::env::var("DEVENV_IMAGE_MAP").ok().as_deref(), ImageMap::user_file())?;
        Self::build(path.as_ref().to_path_buf(), None, images)
    }

    fn build(file: PathBuf, project: Option<String>, images: ImageMap) -> Result<Self, Error> {
        let cwd = std::env::current_dir().map_err(|e| Error::Other(format!("current directory: {e}")))?;
        let opts = LoadOptions { file: Some(file.clone()), project: project.clone(), cwd, environ: std::env::vars().collect(), ..Default::default() };
        let env = config::load(&opts)?;
        let plan = plan::resolve(&env, &images)?;
        Ok(Environment { file, project, images, env, plan: Arc::new(plan), ui: Ui::new(ProgressMode::Quiet, false), ready_timeout: plan::resolve::DEFAULT_READY_TIMEOUT })
    }

    /// Use this project name (unique names let parallel test runs share one engine).
    pub fn project(self, name: &str) -> Result<Self, Error> {
        Self::build(self.file, Some(name.to_string()), self.images).map(|e| Environment { ready_timeout: self.ready_timeout, ..e })
    }

    /// Replace images per this image map file (see README "Image map").
    pub fn image_map_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let images = ImageMap::load(Some(&path.as_ref().display().to_string()), None)?;
        Self::build(self.file, self.project, images)
    }

    /// Show progress (plain lines on stderr) instead of staying quiet.
    pub fn verbose(mut self) -> Self {
        self.ui = Ui::new(ProgressMode::Plain, false);
        self
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Bring every service up; returns once all are ready and seeded.
    pub async fn up(&self) -> Result<Running, Error> {
        let docker = Docker::connect().await?;
        let opts = UpOptions { remove_orphans: false, build: false, ready_timeout: self.ready_timeout, owner: Some(std::process::id()) };
        let session = Session::new(docker, self.plan.clone(), self.ui.clone(), opts);
        let mut running = Running { session, env: None, ui: self.ui.clone(), observed: vec![], vars: IndexMap::new(), snapshots: vec![], preparing: None, done: false };
        // On failure `running` is dropped here, which tears down what was started.
        running.session.up(&[]).await?;
        running.env = Some(Arc::new(self.env.clone()));
        running.refresh().await?;
        Ok(running)
    }
}

/// A running environment. Dropping it tears it down (containers, network, volumes).
pub struct Running {
    session: Session,
    env: Option<Arc<LoadedEnv>>,
    ui: Ui,
    observed: Vec<ObservedContainer>,
    vars: IndexMap<String, String>,
    /// Snapshots taken through this value: removed with the environment.
    snapshots: Vec<String>,
    /// What gets the next `reset` ready, running beside the caller's tests.
    preparing: Option<tokio::task::JoinHandle<Result<(), Error>>>,
    done: bool,
}

impl Running {
    /// The host-side connection URL of a preset service (`postgres://…@127.0.0.1:…`).
    pub fn url(&self, service: &str) -> Option<&str> {
        self.vars.get(&format!("DEVENV_{}_URL", engine::vars::env_name(service))).map(String::as_str)
    }

    /// The host port publishing `container_port` of `service`.
    pub fn host_port(&self, service: &str, container_port: u16) -> Option<u16> {
        self.observed
            .iter()
            .find(|c| c.service.as_deref() == Some(service))?
            .ports
            .iter()
            .find(|p| p.container_port == container_port && p.protocol == "tcp")
            .map(|p| p.host_port)
    }

    /// Every `DEVENV_*` variable and `export:` name, as `devenv run` passes them.
    pub fn env(&self) -> &IndexMap<String, String> {
        &self.vars
    }

    pub fn project(&self) -> &str {
        &self.session.plan().project
    }

    /// Save the data of every service with a named volume as snapshot `name`
    /// (as `devenv snapshot save`: each service stopped for the copy, then
    /// started and probed again). Removed when this environment is torn down.
    pub async fn snapshot(&mut self, name: &str) -> Result<(), Error> {
        self.prepared().await?;
        self.session.snapshot_save(name, &[]).await?;
        self.snapshots.push(name.to_string());
        self.refresh().await
    }

    /// Put snapshot `name` back into every service it holds, e.g. between tests.
    /// Host ports Docker chose may change with the restart: read `url` again.
    pub async fn restore(&mut self, name: &str) -> Result<(), Error> {
        self.prepared().await?;
        self.session.snapshot_restore(name, &[]).await?;
        self.refresh().await
    }

    /// Every service with seed entries back to its seeded state (the seeded
    /// snapshot devenv keeps after the first seeding; Postgres inside the
    /// server, no restart), e.g. between tests. Fails when a service has none.
    ///
    /// Returns once the data is back; the spare copies that make the next
    /// reset renames only are made while the caller's next test runs.
    pub async fn reset(&mut self) -> Result<(), Error> {
        self.prepared().await?;
        let (_, next) = self.session.reset_deferred(&[]).await?;
        self.preparing = Some(tokio::spawn(async move {
            for n in next {
                n.run().await?;
            }
            Ok(())
        }));
        self.refresh().await
    }

    /// Wait for the preparation of the next reset, if one runs.
    async fn prepared(&mut self) -> Result<(), Error> {
        match self.preparing.take() {
            Some(h) => h.await.map_err(|e| Error::Other(format!("preparing the next reset: {e}")))?,
            None => Ok(()),
        }
    }

    /// Observed containers and the variables derived from them, again.
    async fn refresh(&mut self) -> Result<(), Error> {
        self.observed = self.session.docker().project_containers(&self.session.plan().project).await?;
        if let Some(env) = &self.env {
            let (vars, notes) = engine::vars::env_vars(env, self.session.plan(), &self.observed);
            for n in notes {
                self.ui.warn(n);
            }
            self.vars = vars;
        }
        Ok(())
    }

    /// Tear down now (containers, network, volumes, this value's snapshots
    /// and the seeded ones).
    pub async fn down(mut self) -> Result<(), Error> {
        self.done = true;
        let _ = self.prepared().await;
        let torn = self.session.teardown(engine::Ending::Discard, true).await.map(|_| ());
        remove_snapshots(&self.session, &self.snapshots).await;
        torn
    }
}

async fn remove_snapshots(session: &Session, names: &[String]) {
    // The seeded snapshots too: a library environment is made for one test run.
    let seeded = session.plan().services.values().filter(|s| !s.seeds.is_empty()).map(|s| engine::snapshot::seeded_name(&s.name));
    for n in names.iter().cloned().chain(seeded) {
        let _ = engine::snapshot::remove_volumes(session.docker(), &session.plan().project, &n).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(h) = self.preparing.take() {
            h.abort();
        }
        let session = self.session.clone();
        let snapshots = std::mem::take(&mut self.snapshots);
        // Drop cannot await: tear down on a runtime of its own, on another thread
        // (this may be inside a runtime already).
        let handle = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(session.teardown(engine::Ending::Discard, true));
                rt.block_on(remove_snapshots(&session, &snapshots));
            }
        });
        let _ = handle.join();
    }
}
