//! Pushing images to a registry through the engine (`devenv k8s up --registry`):
//! tag, ask the registry for a tag's manifest digest (the engine's
//! distribution API — a HEAD of the manifest, made by the daemon with its own
//! TLS and insecure-registry settings), push with progress.
//!
//! Credentials come from the user's Docker config (`$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`): the `auths` entry for the registry's host
//! (`auth` = base64 `user:password`, or `username`/`password`, or an
//! `identitytoken`). Credential helpers (`credsStore`, `credHelpers`) are not
//! run: with one configured and no inline entry, pushes go unauthenticated and
//! a registry that needs a login answers "unauthorized" (the error says so).
//! Credentials are never printed: `Debug` redacts them.
//!
//! Registry failures are told apart by the daemon's message (it reports them
//! as a plain 500 or as an error in the push stream): `RegistryError`.

use std::path::{Path, PathBuf};

use bollard::auth::DockerCredentials;
use bollard::query_parameters as qp;
use futures_util::StreamExt;

use super::{classify, op, Docker, DockerError};

/// Credentials for one registry host. `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    pub username: Option<String>,
    pub password: Option<String>,
    pub identity_token: Option<String>,
    /// The `auths` key they were found under.
    pub server: String,
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RegistryCredentials {{ server: {:?}, username: {:?}, secret: <redacted> }}", self.server, self.username)
    }
}

impl RegistryCredentials {
    fn to_bollard(&self) -> DockerCredentials {
        DockerCredentials {
            username: self.username.clone(),
            password: self.password.clone(),
            identitytoken: self.identity_token.clone(),
            serveraddress: Some(self.server.clone()),
            ..Default::default()
        }
    }
}

/// Why a registry operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// Nothing answered at the registry's address (refused, DNS, timeout, TLS).
    #[error("registry `{registry}` is not reachable: {message}")]
    Unreachable { registry: String, message: String },
    /// The registry answered 401/403: no credentials, or wrong ones.
    #[error("registry `{registry}` refused {operation}: {message}")]
    Unauthorized { registry: String, operation: String, message: String, had_credentials: bool },
    /// Any other failure (the push stream's error, a Docker failure).
    #[error("{0}")]
    Docker(#[from] DockerError),
}

/// A push's progress: one status line, per layer when the engine names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushProgress {
    pub status: String,
    pub current: u64,
    pub total: u64,
}

/// The registry host of a reference (`127.0.0.1:5000/team/app:1` → `127.0.0.1:5000`);
/// `docker.io` when the first component is not a host.
pub fn registry_host(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// Sort a daemon message about a registry into unreachable / unauthorised / other.
fn classify_registry(registry: &str, operation: &str, had_credentials: bool, message: &str, status: Option<u16>) -> Option<RegistryError> {
    let m = message.to_ascii_lowercase();
    let unauthorized = ["unauthorized", "no basic auth credentials", "authentication required", "denied", "forbidden"];
    if matches!(status, Some(401 | 403)) || unauthorized.iter().any(|u| m.contains(u)) {
        return Some(RegistryError::Unauthorized { registry: registry.into(), operation: operation.into(), message: message.trim().into(), had_credentials });
    }
    let unreachable = ["connection refused", "no such host", "i/o timeout", "dial tcp", "server gave http response to https client", "certificate", "connection reset"];
    if unreachable.iter().any(|u| m.contains(u)) {
        return Some(RegistryError::Unreachable { registry: registry.into(), message: message.trim().into() });
    }
    None
}

fn docker_config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker"))
}

/// The credentials for `host` in the user's Docker config; `Ok(None)` when it has none
/// (or there is no config). An unreadable or invalid config is an error naming the file.
pub fn credentials_for(host: &str) -> Result<Option<RegistryCredentials>, String> {
    let Some(dir) = docker_config_dir() else { return Ok(None) };
    let file = dir.join("config.json");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    credentials_in(&text, host).map_err(|e| format!("{}: {e}", file.display()))
}

/// `credentials_for` on the config's text.
pub fn credentials_in(config_json: &str, host: &str) -> Result<Option<RegistryCredentials>, String> {
    let v: serde_json::Value = serde_json::from_str(config_json).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(auths) = v.get("auths").and_then(|a| a.as_object()) else { return Ok(None) };
    let wanted = normalize_server(host);
    let Some((server, entry)) = auths.iter().find(|(k, _)| normalize_server(k) == wanted) else { return Ok(None) };
    let s = |k: &str| entry.get(k).and_then(|x| x.as_str()).filter(|x| !x.is_empty()).map(str::to_string);
    let (mut username, mut password) = (s("username"), s("password"));
    if let Some(auth) = s("auth") {
        let decoded = decode_base64(&auth).ok_or_else(|| format!("auths.{server}.auth is not base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| format!("auths.{server}.auth is not UTF-8 `user:password`"))?;
        let (u, p) = text.split_once(':').ok_or_else(|| format!("auths.{server}.auth is not `user:password`"))?;
        username = Some(u.to_string());
        password = Some(p.to_string());
    }
    let identity_token = s("identitytoken");
    if username.is_none() && identity_token.is_none() {
        return Ok(None);
    }
    Ok(Some(RegistryCredentials { username, password, identity_token, server: server.clone() }))
}

/// `https://index.docker.io/v1/` and `docker.io` are one registry; a scheme and a path are dropped.
fn normalize_server(s: &str) -> String {
    let s = s.trim_start_matches("https://").trim_start_matches("http://");
    let host = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        _ => host,
    }
}

/// Standard base64 (padding optional).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.trim().trim_end_matches('=').bytes().collect();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..chunk.len()]);
    }
    Some(out)
}

impl Docker {
    /// Tag the local image `image` as `repo:tag`.
    pub async fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), DockerError> {
        let opts = qp::TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
        self.api.tag_image(image, Some(opts)).await.map_err(op(format!("tag `{image}` as `{repo}:{tag}`")))
    }

    /// The digest of the manifest the registry holds for `reference` (`repo:tag`);
    /// `None` when it has none (HTTP 404, "manifest unknown").
    pub async fn remote_digest(&self, reference: &str, creds: Option<&RegistryCredentials>) -> Result<Option<String>, RegistryError> {
        let registry = registry_host(reference);
        match self.api.inspect_registry_image(reference, creds.map(RegistryCredentials::to_bollard)).await {
            Ok(d) => Ok(d.descriptor.digest),
            Err(e) => {
                let status = match &e {
                    bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
                    _ => None,
                };
                let e = classify(format!("look up `{reference}` in registry `{registry}`"), e);
                if e.is_not_found() {
                    return Ok(None);
                }
                let message = match &e {
                    DockerError::Other { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                Err(classify_registry(&registry, "to read the image", creds.is_some(), &message, status).unwrap_or(RegistryError::Docker(e)))
            }
        }
    }

    /// Push `repo:tag` (already tagged locally), reporting each status line.
    pub async fn push_image(&self, repo: &str, tag: &str, creds: Option<&RegistryCredentials>, mut progress: impl FnMut(PushProgress)) -> Result<(), RegistryError> {
        let registry = registry_host(repo);
        let reference = format!("{repo}:{tag}");
        let opts = qp::PushImageOptionsBuilder::new().tag(tag).build();
        // The engine wants an X-Registry-Auth header even for anonymous pushes.
        let creds = Some(creds.map(RegistryCredentials::to_bollard).unwrap_or_default());
        let had = creds.as_ref().is_some_and(|c| c.username.is_some() || c.identitytoken.is_some());
        let mut stream = self.api.push_image(repo, Some(opts), creds);
        while let Some(item) = stream.next().await {
            let message = match item {
                Ok(info) => match info.error_detail.and_then(|d| d.message) {
                    Some(m) => m,
                    None => {
                        let pd = info.progress_detail.unwrap_or_default();
                        let (current, total) = (pd.current.unwrap_or(0).max(0) as u64, pd.total.unwrap_or(0).max(0) as u64);
                        progress(PushProgress { status: info.status.unwrap_or_default(), current, total });
                        continue;
                    }
                },
                Err(bollard::errors::Error::DockerStreamError { error }) => error,
                Err(e) => return Err(RegistryError::Docker(op(format!("push `{reference}`"))(e))),
            };
            return Err(classify_registry(&registry, "the push", had, &message, None).unwrap_or_else(|| {
                RegistryError::Docker(DockerError::Other { operation: format!("push `{reference}`"), message, source: None })
            }));
        }
        Ok(())
    }
}

/// The repository `registry_writable` pushes its probe to.
pub const PROBE_REPO: &str = "devenv-doctor-probe";

/// A build context of two small files: FROM scratch, one 1-byte-ish layer.
fn probe_context() -> Result<Vec<u8>, std::io::Error> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("Dockerfile", "FROM scratch\nCOPY probe /devenv-probe\n"), ("probe", "devenv doctor --k8s: registry write check\n")] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_bytes())?;
    }
    b.into_inner()
}

impl Docker {
    /// Can we write to `registry` (`host[:port][/path]`)? Builds a tiny image (FROM scratch)
    /// and pushes it as `<registry>/devenv-doctor-probe:probe`; the local tag is removed
    /// again, the registry keeps the (few-hundred-byte) probe. Returns the pushed reference.
    pub async fn registry_writable(&self, registry: &str, creds: Option<&RegistryCredentials>) -> Result<String, RegistryError> {
        let repo = format!("{registry}/{PROBE_REPO}");
        let reference = format!("{repo}:probe");
        let tar = probe_context().map_err(|e| DockerError::Archive { operation: "make the registry probe's build context".into(), source: std::sync::Arc::new(e) })?;
        let mut labels = std::collections::HashMap::new();
        labels.insert("dev.devenv.doctor".to_string(), "registry-probe".to_string());
        self.build(&reference, "Dockerfile", &Default::default(), None, None, &labels, tar, |_| {}).await?;
        let pushed = self.push_image(&repo, "probe", creds, |_| {}).await;
        let _ = self.remove_image(&reference, false).await;
        pushed.map(|()| reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_auths_entry_of_the_host() {
        // "alice:s3cret" in base64
        let cfg = r#"{"auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"}, "https://index.docker.io/v1/": {"username": "bob", "password": "pw"}}, "credsStore": "desktop"}"#;
        let c = credentials_in(cfg, "127.0.0.1:5000").expect("valid").expect("found");
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("alice"), Some("s3cret")));
        let d = credentials_in(cfg, "docker.io").expect("valid").expect("found");
        assert_eq!(d.username.as_deref(), Some("bob"));
        assert_eq!(credentials_in(cfg, "registry.example.com").expect("valid"), None);
        assert!(!format!("{c:?}").contains("s3cret"), "Debug never shows the secret");
        assert!(credentials_in(r#"{"auths": {"h": {"auth": "!!"}}}"#, "h").is_err());
        assert!(credentials_in("{", "h").is_err());
    }

    #[test]
    fn base64_and_hosts() {
        assert_eq!(decode_base64("YWxpY2U6czNjcmV0"), Some(b"alice:s3cret".to_vec()));
        assert_eq!(decode_base64("YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode_base64("YWI="), Some(b"ab".to_vec()));
        assert_eq!(registry_host("127.0.0.1:5000/team/app"), "127.0.0.1:5000");
        assert_eq!(registry_host("registry.example.com/team/app"), "registry.example.com");
        assert_eq!(registry_host("team/app"), "docker.io");
    }

    #[test]
    fn daemon_messages_are_sorted_into_registry_failures() {
        let down = "Get \"http://127.0.0.1:5932/v2/\": dial tcp 127.0.0.1:5932: connect: connection refused";
        assert!(matches!(classify_registry("r", "x", false, down, Some(500)), Some(RegistryError::Unreachable { .. })));
        let noauth = "Head \"http://127.0.0.1:5933/v2/team/p-api/manifests/nope\": no basic auth credentials";
        assert!(matches!(classify_registry("r", "x", false, noauth, Some(500)), Some(RegistryError::Unauthorized { had_credentials: false, .. })));
        assert!(matches!(classify_registry("r", "x", true, "unauthorized: authentication required", Some(401)), Some(RegistryError::Unauthorized { had_credentials: true, .. })));
        assert!(classify_registry("r", "x", false, "blob upload invalid", None).is_none());
    }
}
