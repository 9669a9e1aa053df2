//! The testcontainers adapter (cargo feature `testcontainers`): one devenv
//! preset as a [testcontainers](https://docs.rs/testcontainers) image, ready
//! when devenv's own protocol probe says so (Postgres `SELECT 1` with the
//! credentials, Redis `PING`, Kafka metadata, ClickHouse `/ping` + `SELECT 1`,
//! Elasticsearch cluster health) instead of when a log line appears.
//!
//! ```no_run
//! # async fn t() -> Result<(), devenv::error::Error> {
//! use devenv::testcontainers::{Preset, StartReady};
//! let db = Preset::postgres().with_version("16").with_env("POSTGRES_DB", "orders").start_ready().await?;
//! let url = db.url(); // postgres://devenv:devenv@127.0.0.1:<port>/orders, as `devenv env` prints it
//! // ... the container is removed when `db` is dropped
//! # Ok(()) }
//! ```
//!
//! A preset brings what `preset:` brings in a devenv.yaml: the official image
//! (through the image map: `DEVENV_IMAGE_MAP`, `~/.config/devenv/images.yaml`),
//! the env contract and the ports. Not brought: the data volume (these
//! containers are throwaway), ulimits (not every engine lets a container raise
//! them; add them with testcontainers' `with_ulimit` where yours does), seeds.
//!
//! Ports are published on 127.0.0.1 at free host ports chosen before the
//! container is created (Kafka advertises its host listener with it), as
//! `devenv --ports random` does. The container carries devenv's labels with
//! this process as owner, so one left behind by a killed test run is removed
//! by `devenv gc`. Plain testcontainers `start()` works too but skips the
//! probe and the port choice: use [`StartReady::start_ready`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use ::testcontainers::core::{ContainerPort, WaitFor};
use ::testcontainers::runners::AsyncRunner;
use ::testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt};
use ::testcontainers::bollard::models::{HostConfig, PortBinding};
use indexmap::IndexMap;

use crate::docker::Docker;
use crate::values::split_reference;
use crate::engine::{self, health};
use crate::error::Error;
use crate::plan::resolve::{DEFAULT_INTERVAL, DEFAULT_READY_TIMEOUT};
use crate::labels;
use crate::plan::{ImageMap, Probe, ResolvedHealth};
use crate::preset::{self, Connection, Context, Defaults, Kind};
use crate::ui::{ProgressMode, Ui};

/// The project name in the containers' labels and the preset's defaults
/// (e.g. the Postgres database is `devenv`).
const PROJECT: &str = "devenv";
/// Container log lines in a "not ready" error.
const LOG_LINES: usize = 30;

/// One devenv preset as a testcontainers [`Image`].
#[derive(Debug, Clone)]
pub struct Preset {
    kind: Kind,
    version: Option<String>,
    /// `with_env` values; they win over the preset's defaults.
    overrides: IndexMap<String, String>,
    /// `with_image`: used as is, not mapped.
    explicit_image: Option<(String, String)>,
    /// The image map, or why it could not be read (reported by `start_ready`).
    images: Result<ImageMap, Error>,
    timeout: Duration,
    // Derived from the above by `refresh`.
    defaults: Defaults,
    name: String,
    tag: String,
    container_ports: Vec<ContainerPort>,
    /// (container port, host port), chosen by `start_ready`.
    host_ports: OnceLock<Vec<(u16, u16)>>,
}

impl Preset {
    /// A preset with its default version, the image map from
    /// `DEVENV_IMAGE_MAP` and the user-level file, as the CLI reads it.
    pub fn new(kind: Kind) -> Preset {
        let images = ImageMap::load(std::env::var("DEVENV_IMAGE_MAP").ok().as_deref(), ImageMap::user_file());
        let mut p = Preset {
            kind,
            version: None,
            overrides: IndexMap::new(),
            explicit_image: None,
            images,
            timeout: DEFAULT_READY_TIMEOUT,
            defaults: preset::defaults(kind, &context(kind, None)),
            name: String::new(),
            tag: String::new(),
            container_ports: vec![],
            host_ports: OnceLock::new(),
        };
        p.refresh();
        p
    }

    /// The image tag, as `version:` in a devenv.yaml (`"16"` → `postgres:16-alpine`).
    pub fn with_version(mut self, version: impl Into<String>) -> Preset {
        self.version = Some(version.into());
        self.refresh();
        self
    }

    /// An environment variable; wins over the preset's default (and the
    /// connection URL follows, e.g. `POSTGRES_PASSWORD`, `POSTGRES_DB`).
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Preset {
        self.overrides.insert(key.into(), value.into());
        self
    }

    /// Use this image (e.g. one built or mirrored locally) instead of the
    /// preset's; the image map is not applied to it.
    pub fn with_image(mut self, name: impl Into<String>, tag: impl Into<String>) -> Preset {
        self.explicit_image = Some((name.into(), tag.into()));
        self.refresh();
        self
    }

    /// Map images with this file instead of `DEVENV_IMAGE_MAP` / the user-level
    /// file (README "Image map"). A file that cannot be read makes `start_ready` fail.
    pub fn with_image_map_file(mut self, path: impl AsRef<Path>) -> Preset {
        self.images = ImageMap::load(Some(&path.as_ref().display().to_string()), None);
        self.refresh();
        self
    }

    /// How long `start_ready` waits for the probe (default 120 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Preset {
        self.timeout = timeout;
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The image reference that will be started (after the image map).
    pub fn image_reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }

    /// The environment the container gets: defaults, then `with_env` values.
    pub fn env(&self) -> IndexMap<String, String> {
        let mut env = self.defaults.env.clone();
        env.extend(self.overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }

    /// What the probe and the URL need (credentials, database, port).
    pub fn connection(&self) -> Connection {
        preset::connection(self.kind, &self.env(), self.defaults.command.as_deref().unwrap_or_default())
    }

    /// Recompute the defaults and the image after a change.
    fn refresh(&mut self) {
        self.defaults = preset::defaults(self.kind, &context(self.kind, self.version.as_deref()));
        self.container_ports = self.defaults.ports.iter().filter(|p| p.protocol == "tcp").map(|p| ContainerPort::Tcp(p.container_port)).collect();
        let (name, tag) = match (&self.explicit_image, &self.images) {
            (Some(explicit), _) => explicit.clone(),
            (None, Ok(map)) => name_and_tag(&map.apply(&self.defaults.image)),
            (None, Err(_)) => name_and_tag(&self.defaults.image),
        };
        self.name = name;
        self.tag = tag;
    }
}

/// `Preset::postgres()`, `Preset::redis()`, …: one constructor per registered preset.
macro_rules! constructors {
    ($($module:ident $Variant:ident),* $(,)?) => {
        impl Preset {
            $(
                #[doc = concat!("The `", stringify!($module), "` preset (`Preset::new` of its kind).")]
                pub fn $module() -> Preset {
                    Self::new(Kind::$Variant)
                }
            )*
        }
    };
}
preset::for_each_preset!(constructors);

fn context(kind: Kind, version: Option<&str>) -> Context<'_> {
    // No data volume: a testcontainers container is throwaway.
    Context { project: PROJECT, service: kind.name(), version, persist: Some(false), image: None, image_config: None }
}

/// testcontainers joins name and tag with `:`; a digest reference
/// (`repo@sha256:…`) is split so that the join gives it back.
fn name_and_tag(reference: &str) -> (String, String) {
    match reference.split_once("@sha256:") {
        Some((repo, hex)) => (format!("{repo}@sha256"), hex.to_string()),
        None => split_reference(reference),
    }
}

impl Image for Preset {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    /// None: readiness is devenv's probe, run by `start_ready`.
    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![]
    }

    fn env_vars(&self) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        let ports = self.host_ports.get().cloned().unwrap_or_default();
        self.env().into_iter().map(move |(k, v)| (k, preset::fill_host_ports(&v, &ports)))
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        self.defaults.command.clone().unwrap_or_default()
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &self.container_ports
    }
}

/// A preset container that devenv's probe found ready. Dropping it removes
/// the container (testcontainers' drop); it dereferences to the
/// [`ContainerAsync`] for everything else.
pub struct ReadyContainer {
    container: ContainerAsync<Preset>,
    url: String,
    host_port: u16,
}

impl ReadyContainer {
    /// The host-side connection URL, in `devenv env`'s format
    /// (`postgres://devenv:devenv@127.0.0.1:49153/devenv`, `redis://127.0.0.1:49154/0`, …).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The host port of the preset's client port (5432, 6379, 9092, 8123, 9200).
    pub fn host_port(&self) -> u16 {
        self.host_port
    }

    /// The host port publishing `container_port` (e.g. ClickHouse's native 9000).
    pub fn host_port_of(&self, container_port: u16) -> Option<u16> {
        self.container.image().host_ports.get()?.iter().find(|(c, _)| *c == container_port).map(|(_, h)| *h)
    }

    pub fn container(&self) -> &ContainerAsync<Preset> {
        &self.container
    }

    pub fn into_container(self) -> ContainerAsync<Preset> {
        self.container
    }
}

impl std::ops::Deref for ReadyContainer {
    type Target = ContainerAsync<Preset>;

    fn deref(&self) -> &Self::Target {
        &self.container
    }
}

/// Start with testcontainers, then wait for devenv's probe.
pub trait StartReady {
    /// Start the container (free host ports on 127.0.0.1, devenv's labels) and
    /// poll the preset's protocol probe against the published port until it
    /// answers or the timeout passes. On failure the container is removed and
    /// the error carries the probe's last error and the container's last log lines.
    fn start_ready(self) -> impl Future<Output = Result<ReadyContainer, Error>> + Send;
}

impl StartReady for Preset {
    fn start_ready(self) -> impl Future<Output = Result<ReadyContainer, Error>> + Send {
        start_ready(ContainerRequest::from(self))
    }
}

/// For a request refined with testcontainers' [`ImageExt`] (`with_network`,
/// `with_label`, …). Its host-config modifier is replaced by the port bindings.
impl StartReady for ContainerRequest<Preset> {
    fn start_ready(self) -> impl Future<Output = Result<ReadyContainer, Error>> + Send {
        start_ready(self)
    }
}

async fn start_ready(req: ContainerRequest<Preset>) -> Result<ReadyContainer, Error> {
    let preset = req.image();
    let (kind, timeout, conn) = (preset.kind, preset.timeout, preset.connection());
    if let Err(e) = &preset.images {
        return Err(e.clone());
    }
    let ports = choose_host_ports(preset)?;
    let Some(host_port) = ports.iter().find(|(c, _)| *c == conn.port).map(|(_, h)| *h) else {
        return Err(Error::Other(format!("the `{}` preset publishes no port {}", kind.name(), conn.port)));
    };
    let docker = Docker::connect().await?;
    let project = unique_project(kind);
    let descriptor = req.descriptor();
    let req = req.with_labels(devenv_labels(&project, kind)).with_host_config_modifier(move |hc| bind_loopback(hc, &ports));
    let container = match req.start().await {
        Ok(c) => c,
        Err(e) => {
            // A container created but not started is not removed by testcontainers.
            remove_project(&docker, &project).await;
            return Err(start_error(kind, &descriptor, e));
        }
    };
    let health = ResolvedHealth { probe: Probe::Preset(conn.clone()), interval: DEFAULT_INTERVAL, timeout, retries: None, start_period: None };
    match health::wait_ready(&docker, container.id(), Some(&health), timeout).await {
        Ok(()) => Ok(ReadyContainer { url: conn.url("127.0.0.1", host_port), host_port, container }),
        Err(not_ready) => {
            let logs = docker.tail_logs(container.id(), LOG_LINES).await;
            let _ = container.rm().await;
            Err(not_ready_error(kind, &descriptor, not_ready, logs))
        }
    }
}

/// A free host port on 127.0.0.1 per container port, chosen once per preset
/// (Kafka's advertised listener is filled with it).
fn choose_host_ports(preset: &Preset) -> Result<Vec<(u16, u16)>, Error> {
    let mut ports = Vec::new();
    for p in &preset.container_ports {
        ports.push((p.as_u16(), engine::free_port("127.0.0.1")?));
    }
    if preset.host_ports.set(ports.clone()).is_err() {
        return Err(Error::Usage {
            message: format!("this `{}` preset was started already", preset.kind.name()),
            hint: Some("clone the Preset before starting it to get a second container".into()),
        });
    }
    Ok(ports)
}

fn start_error(kind: Kind, image: &str, e: ::testcontainers::TestcontainersError) -> Error {
    use ::testcontainers::core::client::ClientError;
    match e {
        ::testcontainers::TestcontainersError::Client(ClientError::PullImage { err, .. }) => Error::Image {
            message: format!("the `{}` preset's image {image} is not here and cannot be pulled: {err}", kind.name()),
            detail: vec![],
            hint: Some("map it to an image you have (DEVENV_IMAGE_MAP, ~/.config/devenv/images.yaml, `with_image_map_file`) or name one with `with_image`".into()),
        },
        other => Error::Other(format!("start the `{}` preset ({image}) with testcontainers: {other}", kind.name())),
    }
}

/// A project name no other container uses: `tc-<preset>-<pid>-<n>`.
fn unique_project(kind: Kind) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("tc-{}-{}-{}", kind.name(), std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// The labels devenv puts on containers it owns (so `ps -p`, `down -p` and
/// `gc` see this one; this process is its owner).
fn devenv_labels(project: &str, kind: Kind) -> HashMap<String, String> {
    [
        (labels::PROJECT, project.to_string()),
        (labels::SERVICE, kind.name().to_string()),
        (labels::VERSION, env!("CARGO_PKG_VERSION").to_string()),
        (labels::OWNER_PID, std::process::id().to_string()),
        (labels::OWNER_HOST, labels::hostname()),
        (labels::CREATED_AT, chrono::Utc::now().to_rfc3339()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Publish exactly the chosen ports, on 127.0.0.1 (testcontainers would
/// publish every exposed port on all interfaces).
fn bind_loopback(hc: &mut HostConfig, ports: &[(u16, u16)]) {
    hc.publish_all_ports = Some(false);
    hc.port_bindings = Some(
        ports
            .iter()
            .map(|(c, h)| (format!("{c}/tcp"), Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(h.to_string()) }])))
            .collect(),
    );
}

async fn remove_project(docker: &Docker, project: &str) {
    let _ = engine::teardown(docker, project, &HashMap::new(), engine::Ending::Discard, true, &Ui::new(ProgressMode::Quiet, false)).await;
}

fn not_ready_error(kind: Kind, image: &str, not_ready: health::NotReady, logs: Vec<String>) -> Error {
    let name = kind.name();
    let (message, hint) = match not_ready {
        health::NotReady::Docker(e) => return e,
        health::NotReady::Exited { code, oom } => {
            let how = match (code, oom) {
                (_, true) => "was killed: out of memory".to_string(),
                (Some(c), _) => format!("exited with code {c}"),
                (None, _) => "stopped".to_string(),
            };
            (format!("the `{name}` preset ({image}) {how} while starting"), "its last log lines are above".to_string())
        }
        health::NotReady::Fatal { error } => {
            (format!("the `{name}` preset ({image}) cannot become ready: {error}"), "check the credentials given with `with_env`".to_string())
        }
        health::NotReady::Timeout { last_error, after } => (
            format!("the `{name}` preset ({image}) was not ready after {}: {last_error}", crate::config::format_duration(after)),
            "raise it with `Preset::with_timeout` if the service is just slow; its last log lines are above".to_string(),
        ),
    };
    Error::Service { message, logs, hint: Some(hint) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A preset with this image map, whatever DEVENV_IMAGE_MAP or the user's file say.
    fn mapped(p: Preset, entries: &[(&str, &str)]) -> Preset {
        let mut p = Preset { images: Ok(ImageMap::from_entries(entries.iter().map(|(k, v)| (k.to_string(), v.to_string())))), ..p };
        p.refresh();
        p
    }

    #[test]
    fn image_follows_version_map_and_explicit_image() {
        assert_eq!(mapped(Preset::redis(), &[]).with_version("7.2").image_reference(), "redis:7.2-alpine");
        let p = mapped(Preset::postgres(), &[("postgres", "devenv-test/postgres:15")]).with_version("18");
        assert_eq!((p.name(), p.tag()), ("devenv-test/postgres", "15"));
        let p = mapped(Preset::kafka(), &[("apache/kafka", "mirror.local/kafka")]);
        assert_eq!(p.image_reference(), "mirror.local/kafka:3.9.0");
        let p = p.with_image("registry.local/pg", "18");
        assert_eq!(p.image_reference(), "registry.local/pg:18");
        let digest = Preset::redis().with_image("mirror/redis@sha256", "abc");
        assert_eq!(digest.image_reference(), "mirror/redis@sha256:abc");
        assert_eq!(name_and_tag("mirror/redis@sha256:abc"), ("mirror/redis@sha256".to_string(), "abc".to_string()));
    }

    #[test]
    fn env_overrides_win_and_reach_the_connection() {
        let p = Preset::postgres().with_env("POSTGRES_PASSWORD", "s3cret").with_env("POSTGRES_DB", "orders");
        let env = p.env();
        assert_eq!(env.get("POSTGRES_USER").map(String::as_str), Some("devenv"));
        assert_eq!(env.get("POSTGRES_PASSWORD").map(String::as_str), Some("s3cret"));
        assert_eq!(p.connection().url("127.0.0.1", 5555), "postgres://devenv:s3cret@127.0.0.1:5555/orders");
        assert_eq!(p.expose_ports(), &[ContainerPort::Tcp(5432)]);
    }

    #[test]
    fn kafka_advertises_the_chosen_host_port() {
        let p = Preset::kafka();
        let _ = p.host_ports.set(vec![(9092, 41234)]);
        let env: HashMap<String, String> = p.env_vars().into_iter().map(|(k, v)| (k.into().into_owned(), v.into().into_owned())).collect();
        assert_eq!(env.get("KAFKA_ADVERTISED_LISTENERS").map(String::as_str), Some("HOST://127.0.0.1:41234,INTERNAL://kafka:19092"));
    }

    #[test]
    fn an_unreadable_image_map_is_reported_not_ignored() {
        let p = Preset::postgres().with_image_map_file("/nonexistent/map.yaml");
        assert!(matches!(&p.images, Err(Error::Usage { message, .. }) if message.contains("/nonexistent/map.yaml")));
        assert_eq!(p.image_reference(), "postgres:16-alpine");
    }

    #[test]
    fn port_bindings_are_loopback_only() {
        let mut hc = HostConfig::default();
        bind_loopback(&mut hc, &[(6379, 40001)]);
        assert_eq!(hc.publish_all_ports, Some(false));
        let b = hc.port_bindings.unwrap_or_default();
        let binding = b.get("6379/tcp").cloned().flatten().unwrap_or_default();
        assert_eq!(binding, vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some("40001".into()) }]);
    }
}
