//! docker: the only module that imports bollard.
//!
//! Owns: connecting (with API version negotiation, so engines from 20.10 on
//! work), and every Docker call devenv makes, each wrapped so its error names
//! the operation ("create container `api`: …") and failing with a typed
//! `DockerError` (classified in `error.rs`, nowhere else). Takes and returns
//! plain data (`ContainerSpec`, `Observed*`, `ContainerInfo`), never bollard types.
//! Must not: print, decide anything about the plan, or import any crate
//! module but the rank-0 ones (`labels`).

mod context;
mod create;
mod engine_info;
mod error;
mod files;
mod networks;
mod observed;
mod registry;
mod snapshot;
mod sync;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters as qp;
use futures_util::{Stream, StreamExt};

pub use context::{build_context_tar, build_context_tar_with, ignored as dockerignored};
pub use create::{create_request, whole_seconds, ContainerSpec, CreateRequest, EndpointSpec, HealthSpec, MountKind, MountSpec, PortSpec, RestartKind, RestartSpec};
pub use engine_info::{EngineResources, RegistryAnswer};
pub use error::{BuildFailure, DockerError};
use error::{classify, op};
pub use networks::EnsuredNetwork;
pub use observed::{ContainerState, ObservedContainer, ObservedObject, ObservedPort};
pub use snapshot::{LabelledVolume, VolumeCopy};
pub use registry::{credentials_for, registry_host, CredentialSource, PushProgress, RegistryCredentials, RegistryError};
pub use snapshot::{SnapshotHelper, IO_HELPER_MOUNT};
pub use sync::ExecPipe;

use crate::labels;
use crate::values::split_reference;

/// A connected Docker client.
#[derive(Clone)]
pub struct Docker {
    api: bollard::Docker,
}

/// Docker's version, for `doctor` and diagnostics.
#[derive(Debug, Clone)]
pub struct EngineVersion {
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub root_dir: Option<String>,
}

/// What `inspect` tells about one container.
#[derive(Debug, Clone, Default)]
pub struct ContainerInfo {
    pub running: bool,
    pub status: String,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub health: Option<String>,
    /// IP address on the project network.
    pub ip: Option<String>,
    /// container port/proto → host port.
    pub published: Vec<ObservedPort>,
    /// The image has a HEALTHCHECK (and it is not disabled).
    pub has_healthcheck: bool,
    pub started_at: Option<String>,
    /// Exited and waiting to be restarted by its restart policy.
    pub restarting: bool,
    /// How often Docker restarted it (restart policy).
    pub restart_count: i64,
}

/// One line of a container's output.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub stderr: bool,
    pub text: String,
}

/// Progress of a pull, per layer.
#[derive(Debug, Clone)]
pub struct PullProgress {
    pub layer: String,
    pub status: String,
    pub current: u64,
    pub total: u64,
}

/// Whether `ensure_*` found the object or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Created,
    /// It exists and carries the project's label.
    Exists,
    /// An object of that name exists without the project's label: devenv does not touch it.
    Foreign,
}

/// The driver of a volume to create (`Docker::ensure_volume`); default: the engine's `local`.
#[derive(Debug, Clone, Default)]
pub struct VolumeDriver {
    pub driver: Option<String>,
    pub options: HashMap<String, String>,
}

/// A network to create for a project (`Docker::ensure_project_network`).
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    pub name: String,
    pub driver: Option<String>,
    pub internal: bool,
    pub labels: Vec<(String, String)>,
}

fn label_filter(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut f = HashMap::new();
    f.insert("label".to_string(), pairs.iter().map(|(k, v)| format!("{k}={v}")).collect());
    f
}

impl Docker {
    /// Connect using DOCKER_HOST or the platform default, negotiate the API version, ping.
    pub async fn connect() -> Result<Self, DockerError> {
        // Any failure here means the engine is not reachable, whatever bollard calls it.
        let unavailable = |e: bollard::errors::Error| DockerError::Unavailable { cause: e.to_string(), source: Some(Arc::new(e)) };
        let silent = |cause: &str| DockerError::Unavailable { cause: cause.into(), source: None };
        let api = bollard::Docker::connect_with_defaults().map_err(unavailable)?.with_timeout(Duration::from_secs(600));
        let api = tokio::time::timeout(Duration::from_secs(10), api.negotiate_version())
            .await
            .map_err(|_| silent("no answer within 10 s"))?
            .map_err(unavailable)?;
        tokio::time::timeout(Duration::from_secs(10), api.ping())
            .await
            .map_err(|_| silent("no answer to ping within 10 s"))?
            .map_err(unavailable)?;
        Ok(Docker { api })
    }

    pub async fn version(&self) -> Result<EngineVersion, DockerError> {
        let v = self.api.version().await.map_err(op("read engine version"))?;
        let info = self.api.info().await.ok();
        Ok(EngineVersion {
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            root_dir: info.and_then(|i| i.docker_root_dir),
        })
    }

    /// Every container of `project` (running or not).
    pub async fn project_containers(&self, project: &str) -> Result<Vec<ObservedContainer>, DockerError> {
        self.containers_by_label(&format!("{}={project}", labels::PROJECT)).await
    }

    /// Docker's events about `project`'s containers changing state (created,
    /// started, died, destroyed, health changed…; not the execs and archive
    /// reads probes and seeds make): one item per event, its action. Ends when
    /// the engine closes the stream.
    pub fn container_events(&self, project: &str) -> impl Stream<Item = Result<String, DockerError>> + Send + 'static {
        let mut filters: HashMap<&str, Vec<String>> = HashMap::new();
        filters.insert("type", vec!["container".into()]);
        filters.insert("label", vec![format!("{}={project}", labels::PROJECT)]);
        let actions = ["create", "start", "restart", "die", "kill", "stop", "destroy", "pause", "unpause", "oom", "rename", "health_status"];
        filters.insert("event", actions.iter().map(|a| a.to_string()).collect());
        let opts = qp::EventsOptionsBuilder::new().filters(&filters).build();
        self.api.events(Some(opts)).map(|e| e.map(|m| m.action.unwrap_or_default()).map_err(op("follow container events")))
    }

    /// Every container of every devenv project on this engine.
    pub async fn all_devenv_containers(&self) -> Result<Vec<ObservedContainer>, DockerError> {
        self.containers_by_label(labels::PROJECT).await
    }

    async fn containers_by_label(&self, label: &str) -> Result<Vec<ObservedContainer>, DockerError> {
        let mut filters = HashMap::new();
        filters.insert("label".to_string(), vec![label.to_string()]);
        let opts = qp::ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
        let list = self.api.list_containers(Some(opts)).await.map_err(op("list containers"))?;
        let mut out: Vec<ObservedContainer> = list
            .into_iter()
            .map(|c| {
                let lbl = c.labels.unwrap_or_default();
                let status = c.status.unwrap_or_default();
                let health = if status.contains("(healthy)") {
                    Some("healthy".to_string())
                } else if status.contains("(unhealthy)") {
                    Some("unhealthy".to_string())
                } else if status.contains("(health: starting)") {
                    Some("starting".to_string())
                } else {
                    None
                };
                ObservedContainer {
                    id: c.id.unwrap_or_default(),
                    name: c.names.unwrap_or_default().first().map(|n| n.trim_start_matches('/').to_string()).unwrap_or_default(),
                    service: lbl.get(labels::SERVICE).cloned(),
                    replica: lbl.get(labels::REPLICA).and_then(|n| n.parse().ok()),
                    config_hash: lbl.get(labels::CONFIG_HASH).cloned(),
                    image: c.image.unwrap_or_default(),
                    image_id: c.image_id.unwrap_or_default(),
                    state: ContainerState::parse(&c.state.map(|s| s.to_string()).unwrap_or_default()),
                    status,
                    health,
                    ports: c
                        .ports
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|p| {
                            Some(ObservedPort {
                                host_ip: p.ip.unwrap_or_default(),
                                host_port: p.public_port?,
                                container_port: p.private_port,
                                protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
                            })
                        })
                        .collect(),
                    created: c.created.unwrap_or_default(),
                    oneshot: lbl.get(labels::ONESHOT).is_some_and(|v| v == "true"),
                    owner: lbl
                        .get(labels::OWNER_PID)
                        .and_then(|p| p.parse().ok())
                        .map(|pid| (pid, lbl.get(labels::OWNER_HOST).cloned().unwrap_or_default())),
                    project: lbl.get(labels::PROJECT).cloned().unwrap_or_default(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The containers named exactly one of `names` (any owner): name → (id,
    /// its project label if any). One list call whatever the number of names.
    pub async fn containers_named(&self, names: &[&str]) -> Result<HashMap<String, (String, Option<String>)>, DockerError> {
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let mut filters = HashMap::new();
        // The name filter matches substrings (any of the values): keep the exact matches.
        filters.insert("name".to_string(), names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        let opts = qp::ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
        let list = self.api.list_containers(Some(opts)).await.map_err(op("list containers by name"))?;
        let mut out = HashMap::new();
        for c in list {
            let Some(name) = c.names.iter().flatten().map(|n| n.trim_start_matches('/')).find(|n| names.contains(n)).map(str::to_string) else { continue };
            out.insert(name, (c.id.unwrap_or_default(), c.labels.and_then(|mut l| l.remove(labels::PROJECT))));
        }
        Ok(out)
    }

    /// The local image id for `reference`, or None when the image is not present.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, DockerError> {
        match self.api.inspect_image(reference).await {
            Ok(i) => Ok(i.id),
            Err(e) => match classify(format!("inspect image `{reference}`"), e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// The paths the image declares as `VOLUME`s (none when it is not present).
    pub async fn image_volumes(&self, reference: &str) -> Result<Vec<String>, DockerError> {
        match self.api.inspect_image(reference).await {
            Ok(i) => Ok(i.config.and_then(|c| c.volumes).unwrap_or_default()),
            Err(e) => match classify(format!("inspect image `{reference}`"), e) {
                e if e.is_not_found() => Ok(Vec::new()),
                e => Err(e),
            },
        }
    }

    /// What the local image `reference` declares (env, `VOLUME`s); None when it is not present.
    pub async fn image_config(&self, reference: &str) -> Result<Option<crate::values::ImageConfig>, DockerError> {
        match self.api.inspect_image(reference).await {
            Ok(i) => {
                let config = i.config.unwrap_or_default();
                let env = config.env.unwrap_or_default().into_iter().map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv, String::new()),
                });
                Ok(Some(crate::values::ImageConfig { env: env.collect(), volumes: config.volumes.unwrap_or_default() }))
            }
            Err(e) => match classify(format!("inspect image `{reference}`"), e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// Pull `reference`, reporting per-layer progress.
    pub async fn pull(&self, reference: &str, progress: impl FnMut(PullProgress)) -> Result<(), DockerError> {
        self.pull_for(reference, None, progress).await
    }

    /// Pull `reference` for `platform` (`linux/arm64`; `None`: the engine's), reporting per-layer progress.
    pub async fn pull_for(&self, reference: &str, platform: Option<&str>, mut progress: impl FnMut(PullProgress)) -> Result<(), DockerError> {
        let (repo, tag) = split_reference(reference);
        let opts = qp::CreateImageOptionsBuilder::new().from_image(&repo).tag(&tag).platform(platform.unwrap_or_default()).build();
        let mut stream = self.api.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(err) = info.error_detail.and_then(|d| d.message) {
                        return Err(DockerError::Pull { service: None, reference: reference.into(), message: err, source: None });
                    }
                    let pd = info.progress_detail.unwrap_or_default();
                    progress(PullProgress {
                        layer: info.id.unwrap_or_default(),
                        status: info.status.unwrap_or_default(),
                        current: pd.current.unwrap_or(0).max(0) as u64,
                        total: pd.total.unwrap_or(0).max(0) as u64,
                    });
                }
                Err(e @ bollard::errors::Error::DockerResponseServerError { .. }) | Err(e @ bollard::errors::Error::DockerStreamError { .. }) => {
                    let message = match &e {
                        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
                        bollard::errors::Error::DockerStreamError { error } => error.clone(),
                        other => other.to_string(),
                    };
                    return Err(DockerError::Pull { service: None, reference: reference.into(), message, source: Some(Arc::new(e)) });
                }
                Err(e) => return Err(op(format!("pull `{reference}`"))(e)),
            }
        }
        Ok(())
    }

    /// Build an image from a tar'd context, streaming output lines.
    /// On failure the error carries the last lines of output (the failing step).
    #[allow(clippy::too_many_arguments)] // one parameter per field of Docker's build call, plus the output callback
    pub async fn build(
        &self,
        tag: &str,
        dockerfile: &str,
        args: &HashMap<String, String>,
        target: Option<&str>,
        platform: Option<&str>,
        labels_: &HashMap<String, String>,
        context_tar: Vec<u8>,
        mut line: impl FnMut(&str),
    ) -> Result<(), DockerError> {
        let opts = qp::BuildImageOptions {
            dockerfile: dockerfile.to_string(),
            t: Some(tag.to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(args.clone()),
            labels: Some(labels_.clone()),
            target: target.unwrap_or_default().to_string(),
            platform: platform.unwrap_or_default().to_string(),
            ..Default::default()
        };
        let mut tail: Vec<String> = Vec::new();
        let mut push = |s: &str, tail: &mut Vec<String>| {
            for l in s.lines() {
                // Keep what a terminal would show: the last carriage-return segment, no escape codes.
                let l = l.rsplit('\r').find(|seg| !seg.trim().is_empty()).unwrap_or("");
                let cleaned = strip_ansi(l);
                let l = cleaned.trim_end();
                if l.is_empty() {
                    continue;
                }
                line(l);
                tail.push(l.to_string());
                if tail.len() > 40 {
                    tail.remove(0);
                }
            }
        };
        let body = bollard::body_full(bytes::Bytes::from(context_tar));
        let mut stream = self.api.build_image(opts, None, Some(body));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(s) = &info.stream {
                        push(s, &mut tail);
                    }
                    if let Some(err) = info.error_detail.and_then(|d| d.message) {
                        push(&err, &mut tail);
                        let failure = BuildFailure { service: None, tag: tag.into(), dockerfile: dockerfile.into(), message: err, detail: tail, step_failed: true };
                        return Err(DockerError::Build { failure: Box::new(failure), source: None });
                    }
                }
                Err(e @ bollard::errors::Error::DockerStreamError { .. }) | Err(e @ bollard::errors::Error::DockerResponseServerError { .. }) => {
                    let error = match &e {
                        bollard::errors::Error::DockerStreamError { error } => error.clone(),
                        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    push(&error, &mut tail);
                    let failure = BuildFailure { service: None, tag: tag.into(), dockerfile: dockerfile.into(), message: error, detail: tail, step_failed: false };
                    return Err(DockerError::Build { failure: Box::new(failure), source: Some(Arc::new(e)) });
                }
                Err(e) => return Err(op(format!("build `{tag}`"))(e)),
            }
        }
        Ok(())
    }

    /// Whether a network named `name` exists (any owner).
    pub async fn network_exists(&self, name: &str) -> Result<bool, DockerError> {
        match self.api.inspect_network(name, None::<qp::InspectNetworkOptions>).await {
            Ok(_) => Ok(true),
            Err(e) => match classify(format!("inspect network `{name}`"), e) {
                e if e.is_not_found() => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Create a named volume with the project's labels (and `extra` ones: the
    /// owner's, the file's) and `driver`, unless it exists. `Foreign`: one of
    /// that name exists without the project's label.
    pub async fn ensure_volume(
        &self,
        docker_name: &str,
        project: &str,
        volume: &str,
        extra: &[(String, String)],
        driver: &VolumeDriver,
    ) -> Result<Ensured, DockerError> {
        match self.api.inspect_volume(docker_name).await {
            Ok(v) => Ok(if v.labels.get(labels::PROJECT).is_some_and(|p| p == project) { Ensured::Exists } else { Ensured::Foreign }),
            Err(e) => match classify(format!("inspect volume `{docker_name}`"), e) {
                e if e.is_not_found() => {
                    let mut l: HashMap<String, String> = extra.iter().cloned().collect();
                    l.insert(labels::PROJECT.to_string(), project.to_string());
                    l.insert(labels::VOLUME.to_string(), volume.to_string());
                    l.insert(labels::VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string());
                    let req = bollard::models::VolumeCreateRequest {
                        name: Some(docker_name.to_string()),
                        labels: Some(l),
                        driver: driver.driver.clone(),
                        driver_opts: (!driver.options.is_empty()).then(|| driver.options.clone()),
                        ..Default::default()
                    };
                    self.api.create_volume(req).await.map_err(op(format!("create volume `{docker_name}`")))?;
                    Ok(Ensured::Created)
                }
                e => Err(e),
            },
        }
    }

    pub async fn start(&self, id: &str, service: &str) -> Result<(), DockerError> {
        match self.api.start_container(id, None::<qp::StartContainerOptions>).await {
            Ok(()) => Ok(()),
            // 304: already started.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => Err(match classify(format!("start container for `{service}`"), e) {
                DockerError::PortAllocated { message, source, .. } => DockerError::PortAllocated { operation: format!("cannot start `{service}`"), message, source },
                e => e,
            }),
        }
    }

    /// Graceful stop (the stop signal, then SIGKILL after `timeout`; `None`:
    /// the container's own stop timeout — its `stop_grace_period` — else Docker's 10 s).
    pub async fn stop(&self, id: &str, timeout: impl Into<Option<Duration>>) -> Result<(), DockerError> {
        let mut b = qp::StopContainerOptionsBuilder::new();
        if let Some(t) = timeout.into() {
            b = b.t(t.as_secs().min(i32::MAX as u64) as i32);
        }
        let opts = b.build();
        match self.api.stop_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => match classify(format!("stop container {}", short(id)), e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }

    pub async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
        let opts = qp::RemoveContainerOptionsBuilder::new().force(true).v(true).build();
        match self.api.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) => match classify(format!("remove container {}", short(id)), e) {
                // Gone, or its removal is already in progress.
                e if e.is_not_found() || e.is_conflict() => Ok(()),
                e => Err(e),
            },
        }
    }

    pub async fn inspect(&self, id: &str) -> Result<ContainerInfo, DockerError> {
        let c = self
            .api
            .inspect_container(id, None::<qp::InspectContainerOptions>)
            .await
            .map_err(op(format!("inspect container {}", short(id))))?;
        let state = c.state.unwrap_or_default();
        let ns = c.network_settings.unwrap_or_default();
        let ip = ns.networks.unwrap_or_default().into_values().find_map(|n| n.ip_address.filter(|s| !s.is_empty()));
        let mut published = Vec::new();
        for (key, bindings) in ns.ports.unwrap_or_default() {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(cport) = port.parse::<u16>() else { continue };
            for b in bindings.unwrap_or_default() {
                if let Some(hp) = b.host_port.as_deref().and_then(|p| p.parse::<u16>().ok()) {
                    published.push(ObservedPort {
                        host_ip: b.host_ip.unwrap_or_default(),
                        host_port: hp,
                        container_port: cport,
                        protocol: proto.to_string(),
                    });
                }
            }
        }
        let has_healthcheck = c
            .config
            .and_then(|cfg| cfg.healthcheck)
            .and_then(|h| h.test)
            .is_some_and(|t| !t.is_empty() && t.first().map(String::as_str) != Some("NONE"));
        Ok(ContainerInfo {
            running: state.running.unwrap_or(false),
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            exit_code: state.exit_code,
            oom_killed: state.oom_killed.unwrap_or(false),
            health: state.health.and_then(|h| h.status).map(|s| s.to_string()),
            ip,
            published,
            has_healthcheck,
            started_at: state.started_at,
            restarting: state.restarting.unwrap_or(false),
            restart_count: c.restart_count.unwrap_or(0),
        })
    }

    /// The host ports a container is configured to publish (its port
    /// bindings, whatever its state: a container Docker is still starting
    /// holds them before it is listed as running).
    pub async fn configured_host_ports(&self, id: &str) -> Result<Vec<u16>, DockerError> {
        let c = match self.api.inspect_container(id, None::<qp::InspectContainerOptions>).await {
            Ok(c) => c,
            Err(e) => match classify(format!("inspect container {}", short(id)), e) {
                e if e.is_not_found() => return Ok(Vec::new()),
                e => return Err(e),
            },
        };
        let bindings = c.host_config.and_then(|h| h.port_bindings).unwrap_or_default();
        Ok(bindings.into_values().flatten().flatten().filter_map(|b| b.host_port?.parse().ok()).collect())
    }

    /// The last `n` lines of a container's output.
    pub async fn tail_logs(&self, id: &str, n: usize) -> Vec<String> {
        let opts = qp::LogsOptionsBuilder::new().stdout(true).stderr(true).tail(&n.to_string()).build();
        let mut s = self.api.logs(id, Some(opts));
        let mut out = Vec::new();
        while let Some(Ok(chunk)) = s.next().await {
            let text = String::from_utf8_lossy(&chunk.into_bytes()).to_string();
            out.extend(text.lines().map(str::to_string));
        }
        let skip = out.len().saturating_sub(n);
        out.split_off(skip)
    }

    /// A stream of log lines.
    pub fn logs(&self, id: &str, follow: bool, tail: Option<usize>, since: Option<i64>) -> impl Stream<Item = Result<LogLine, DockerError>> + Send + 'static {
        let mut b = qp::LogsOptionsBuilder::new().stdout(true).stderr(true).follow(follow);
        b = b.tail(&tail.map(|n| n.to_string()).unwrap_or_else(|| "all".into()));
        if let Some(s) = since {
            b = b.since(s.clamp(0, i32::MAX as i64) as i32);
        }
        let id_owned = id.to_string();
        let mut pending = String::new();
        self.api.logs(id, Some(b.build())).flat_map(move |item| {
            let lines: Vec<Result<LogLine, DockerError>> = match item {
                Ok(out) => {
                    let stderr = matches!(out, bollard::container::LogOutput::StdErr { .. });
                    pending.push_str(&String::from_utf8_lossy(&out.into_bytes()));
                    let mut v = Vec::new();
                    while let Some(pos) = pending.find('\n') {
                        let line: String = pending.drain(..=pos).collect();
                        v.push(Ok(LogLine { stderr, text: line.trim_end_matches(['\n', '\r']).to_string() }));
                    }
                    v
                }
                Err(e) => vec![Err(op(format!("read logs of {}", short(&id_owned)))(e))],
            };
            futures_util::stream::iter(lines)
        })
    }

    /// Run a command in a container, capturing output; returns (exit code, output).
    pub async fn exec_capture(&self, id: &str, cmd: &[String]) -> Result<(i64, String), DockerError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let exec = self
            .api
            .create_exec(
                id,
                CreateExecOptions { attach_stdout: Some(true), attach_stderr: Some(true), cmd: Some(cmd.to_vec()), ..Default::default() },
            )
            .await
            .map_err(op("create exec"))?;
        let mut output = String::new();
        if let StartExecResults::Attached { output: mut o, .. } = self.api.start_exec(&exec.id, None).await.map_err(op("start exec"))? {
            while let Some(Ok(chunk)) = o.next().await {
                if output.len() < 64 * 1024 {
                    output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
                }
            }
        }
        let info = self.api.inspect_exec(&exec.id).await.map_err(op("inspect exec"))?;
        Ok((info.exit_code.unwrap_or(-1), output))
    }

    /// Interactive exec: the caller's streams passed through (TTY when asked); returns the exit code.
    pub async fn exec_interactive(&self, id: &str, cmd: &[String], tty: bool, env: Vec<String>, workdir: Option<String>, user: Option<String>, io: ExecIo) -> Result<i64, DockerError> {
        use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let ExecIo { mut stdin, mut stdout, mut stderr, size } = io;
        let exec = self
            .api
            .create_exec(
                id,
                CreateExecOptions {
                    attach_stdin: Some(true),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(tty),
                    cmd: Some(cmd.to_vec()),
                    env: if env.is_empty() { None } else { Some(env) },
                    working_dir: workdir,
                    user,
                    ..Default::default()
                },
            )
            .await
            .map_err(op("create exec"))?;
        let started = self
            .api
            .start_exec(&exec.id, Some(StartExecOptions { detach: false, tty, output_capacity: None }))
            .await
            .map_err(op("start exec"))?;
        if let StartExecResults::Attached { mut output, mut input } = started {
            if tty
                && let Some((rows, cols)) = size {
                    let _ = self
                        .api
                        .resize_exec(&exec.id, bollard::exec::ResizeExecOptions { height: rows, width: cols })
                        .await;
                }
            let stdin_task = tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match stdin.read(&mut buf).await {
                        Ok(0) | Err(_) => {
                            let _ = input.shutdown().await;
                            break;
                        }
                        Ok(n) => {
                            if input.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            let _ = input.flush().await;
                        }
                    }
                }
            });
            while let Some(item) = output.next().await {
                match item {
                    Ok(bollard::container::LogOutput::StdErr { message }) => {
                        let _ = stderr.write_all(&message).await;
                        let _ = stderr.flush().await;
                    }
                    Ok(other) => {
                        let _ = stdout.write_all(&other.into_bytes()).await;
                        let _ = stdout.flush().await;
                    }
                    Err(_) => break,
                }
            }
            stdin_task.abort();
        }
        let info = self.api.inspect_exec(&exec.id).await.map_err(op("inspect exec"))?;
        Ok(info.exit_code.unwrap_or(-1))
    }

    /// Names of the project's volumes.
    pub async fn project_volumes(&self, project: &str) -> Result<Vec<String>, DockerError> {
        let opts = qp::ListVolumesOptionsBuilder::new().filters(&label_filter(&[(labels::PROJECT, project)])).build();
        let res = self.api.list_volumes(Some(opts)).await.map_err(op("list volumes"))?;
        Ok(res.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect())
    }

    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        match self.api.remove_volume(name, None::<qp::RemoveVolumeOptions>).await {
            Ok(()) => Ok(()),
            Err(e) => match classify(format!("remove volume `{name}`"), e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Ids of the images carrying the project's label (the images devenv built for it).
    pub async fn project_images(&self, project: &str) -> Result<Vec<String>, DockerError> {
        let opts = qp::ListImagesOptionsBuilder::new().filters(&label_filter(&[(labels::PROJECT, project)])).build();
        let res = self.api.list_images(Some(opts)).await.map_err(op("list images"))?;
        Ok(res.into_iter().map(|i| i.id).collect())
    }

    /// Remove an image (`force`: with all its tags). `Ok(false)` when it is
    /// gone already or a container still uses it.
    pub async fn remove_image(&self, image: &str, force: bool) -> Result<bool, DockerError> {
        let opts = qp::RemoveImageOptionsBuilder::new().force(force).build();
        match self.api.remove_image(image, Some(opts), None).await {
            Ok(_) => Ok(true),
            Err(e) => match classify(format!("remove image `{image}`"), e) {
                e if e.is_not_found() || e.is_conflict() => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Remove a network by id (or by a name no other network has).
    pub async fn remove_network(&self, id: &str) -> Result<(), DockerError> {
        match self.api.remove_network(id).await {
            Ok(()) => Ok(()),
            Err(e) => match classify(format!("remove network {}", short(id)), e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Wait until a container exits; returns its exit code.
    pub async fn wait_exit(&self, id: &str) -> Result<i64, DockerError> {
        let mut s = self.api.wait_container(id, None::<qp::WaitContainerOptions>);
        match s.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(op(format!("wait for container {}", short(id)))(e)),
            None => Ok(-1),
        }
    }
}

/// The streams of an interactive exec (the CLI passes the terminal's).
pub struct ExecIo {
    pub stdin: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    pub stdout: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    pub stderr: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    /// The terminal's (rows, columns), for a TTY exec.
    pub size: Option<(u16, u16)>,
}

/// Remove ANSI escape sequences (build output carries colour codes).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
