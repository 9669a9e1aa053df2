//! Label keys devenv puts on every Docker object it creates — the only place they are spelled.
//!
//! devenv touches nothing that lacks `PROJECT`. Rank 0: imports nothing from
//! the crate.

/// Every label devenv writes starts with this; a file may not set one (a
/// forged `owner-pid` would let `devenv gc` delete an environment).
pub const RESERVED_PREFIX: &str = "dev.devenv.";

/// The project an object belongs to (every container, network and volume).
pub const PROJECT: &str = "dev.devenv.project";
/// The service a container belongs to.
pub const SERVICE: &str = "dev.devenv.service";
/// The replica's number (1, 2, …) on a service with `replicas`/`scale`
/// (compose's `com.docker.compose.container-number`); absent on a service
/// that runs one container without them.
pub const REPLICA: &str = "dev.devenv.replica";
/// Hash of the service's container-affecting configuration.
pub const CONFIG_HASH: &str = "dev.devenv.config-hash";
/// The environment file the object was created from.
pub const CONFIG_FILE: &str = "dev.devenv.config-file";
/// Name of a volume as written in the environment file.
pub const VOLUME: &str = "dev.devenv.volume";
/// `true` on `run: once` jobs.
pub const ONESHOT: &str = "dev.devenv.oneshot";
/// devenv version that created the object.
pub const VERSION: &str = "dev.devenv.version";
/// PID and host of the process that will tear the environment down (`devenv
/// run`, the library API); absent on environments meant to stay up. `devenv gc`
/// removes projects whose owner is gone.
pub const OWNER_PID: &str = "dev.devenv.owner-pid";
pub const OWNER_HOST: &str = "dev.devenv.owner-host";
/// When the container was created (RFC 3339).
pub const CREATED_AT: &str = "dev.devenv.created-at";

/// Snapshot volumes (`devenv snapshot`) carry `SNAPSHOT_OF` instead of
/// `PROJECT`, so `down -v` keeps them; `SNAPSHOT` is the snapshot's name and
/// `SNAPSHOT_PART` says whether the volume holds data (`data`) or is the
/// manifest created last (`manifest`: the snapshot is complete).
pub const SNAPSHOT_OF: &str = "dev.devenv.snapshot-of";
pub const SNAPSHOT: &str = "dev.devenv.snapshot";
pub const SNAPSHOT_PART: &str = "dev.devenv.snapshot-part";
/// On a data volume: the project volume it was copied from, the path it is
/// mounted at, and the image of the service at the time.
pub const SNAPSHOT_SOURCE: &str = "dev.devenv.snapshot-source";
pub const SNAPSHOT_TARGET: &str = "dev.devenv.snapshot-target";
pub const SNAPSHOT_IMAGE: &str = "dev.devenv.snapshot-image";
/// On a helper container of the project (snapshot copies): what it does.
pub const ROLE: &str = "dev.devenv.role";

/// This machine's name, for `OWNER_HOST`.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}
