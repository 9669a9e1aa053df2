//! Pushing images to a registry through the engine (`devenv k8s up --registry`):
//! tag, ask the registry for a tag's manifest digest (the engine's
//! distribution API — a HEAD of the manifest, made by the daemon with its own
//! TLS and insecure-registry settings), push with progress.
//!
//! Credentials come from the user's Docker config (`$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`), as the docker CLI finds them: the credential
//! helper of `credHelpers[host]`, else the one of `credsStore` (Docker Desktop,
//! ECR, GCR: `docker-credential-<name> get`, the registry host on stdin,
//! `{"Username","Secret"}` JSON out, Username `<token>` = an identity token);
//! when there is no helper, or it has nothing for the host, the inline `auths`
//! entry (`auth` = base64 `user:password`, or `username`/`password`, or an
//! `identitytoken`). Running the helper is the only process this module starts.
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
    /// The `auths` key they were found under (the host, for a helper's).
    pub server: String,
    /// Where they came from, for messages.
    pub from: CredentialSource,
}

/// Where a registry's credentials were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The inline `auths` entry of the Docker config.
    Config,
    /// A credential helper: `docker-credential-<name>`.
    Helper(String),
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Config => write!(f, "the `auths` entry of your Docker config"),
            CredentialSource::Helper(name) => write!(f, "credential helper `docker-credential-{name}`"),
        }
    }
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RegistryCredentials {{ server: {:?}, username: {:?}, secret: <redacted>, from: {:?} }}", self.server, self.username, self.from)
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

/// A push's progress: one status line of the engine's (`Preparing`, `Pushing` with a
/// layer's bytes so far and size, `Pushed`, `Layer already exists`, the digest).
/// bollard does not pass on which layer a line is about.
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
/// (or there is no config). An unreadable or invalid config, or a helper that fails, is an error naming it.
pub fn credentials_for(host: &str) -> Result<Option<RegistryCredentials>, String> {
    let Some(dir) = docker_config_dir() else { return Ok(None) };
    let file = dir.join("config.json");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    credentials_in(&text, host, &run_helper).map_err(|e| format!("{}: {e}", file.display()))
}

/// What a credential helper answered for a host: `(Username, Secret)`.
pub type HelperAnswer = Result<Option<(String, String)>, String>;

/// `credentials_for` on the config's text; `helper(name, server)` runs `docker-credential-<name> get`.
pub fn credentials_in(config_json: &str, host: &str, helper: &dyn Fn(&str, &str) -> HelperAnswer) -> Result<Option<RegistryCredentials>, String> {
    let v: serde_json::Value = serde_json::from_str(config_json).map_err(|e| format!("not valid JSON: {e}"))?;
    let wanted = normalize_server(host);
    if let Some(name) = helper_for(&v, &wanted) {
        let server = if wanted == "docker.io" { DOCKER_HUB_SERVER.to_string() } else { host.to_string() };
        if let Some((user, secret)) = helper(&name, &server)? {
            return Ok(Some(from_helper(&name, &server, user, secret)));
        }
    }
    inline_credentials(&v, &wanted)
}

/// The server a helper stores Docker Hub's credentials under (as `docker login` does).
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// The helper the docker CLI would use for this host: `credHelpers[host]`, else `credsStore`.
fn helper_for(config: &serde_json::Value, wanted: &str) -> Option<String> {
    let per_host = config.get("credHelpers").and_then(|h| h.as_object()).and_then(|h| h.iter().find(|(k, _)| normalize_server(k) == wanted)).and_then(|(_, n)| n.as_str());
    per_host.or_else(|| config.get("credsStore").and_then(|s| s.as_str())).map(str::trim).filter(|n| !n.is_empty()).map(str::to_string)
}

/// A helper's answer: the username `<token>` means the secret is an identity token.
fn from_helper(name: &str, server: &str, user: String, secret: String) -> RegistryCredentials {
    let from = CredentialSource::Helper(name.to_string());
    if user == "<token>" {
        return RegistryCredentials { username: None, password: None, identity_token: Some(secret), server: server.to_string(), from };
    }
    RegistryCredentials { username: Some(user), password: Some(secret), identity_token: None, server: server.to_string(), from }
}

/// The inline `auths` entry for the host, if it holds credentials.
fn inline_credentials(config: &serde_json::Value, wanted: &str) -> Result<Option<RegistryCredentials>, String> {
    let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else { return Ok(None) };
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
    Ok(Some(RegistryCredentials { username, password, identity_token, server: server.clone(), from: CredentialSource::Config }))
}

/// Run `docker-credential-<name> get` with `server` on stdin (the helper protocol of
/// docker-credential-helpers). "credentials not found" is `None`; anything else that
/// fails is an error with the helper's message (a helper never prints a secret there).
pub fn run_helper(name: &str, server: &str) -> HelperAnswer {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{name}");
    let child = Command::new(&program).arg("get").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = child.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("the credential helper `{program}` (credsStore/credHelpers) is not installed (not found on PATH)"),
        _ => format!("cannot run the credential helper `{program}`: {e}"),
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is reported by its exit status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| format!("cannot run the credential helper `{program}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let says = format!("{} {}", stdout.trim(), String::from_utf8_lossy(&out.stderr).trim()).trim().to_string();
        if says.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!("the credential helper `{program} get` failed for `{server}` ({}): {says}", out.status));
    }
    parse_helper_answer(&stdout).map_err(|e| format!("the credential helper `{program} get` answered for `{server}` with {e}"))
}

/// `{"ServerURL": "…", "Username": "…", "Secret": "…"}`; an empty Secret is no credentials.
fn parse_helper_answer(stdout: &str) -> HelperAnswer {
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|_| "something that is not its JSON answer".to_string())?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let (user, secret) = (field("Username"), field("Secret"));
    Ok((!secret.is_empty()).then_some((user, secret)))
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

    fn no_helper(name: &str, _: &str) -> HelperAnswer {
        panic!("no helper should run, asked for {name}")
    }

    #[test]
    fn credentials_come_from_the_auths_entry_of_the_host() {
        // "alice:s3cret" in base64
        let cfg = r#"{"auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"}, "https://index.docker.io/v1/": {"username": "bob", "password": "pw"}}}"#;
        let c = credentials_in(cfg, "127.0.0.1:5000", &no_helper).expect("valid").expect("found");
        assert_eq!((c.username.as_deref(), c.password.as_deref(), &c.from), (Some("alice"), Some("s3cret"), &CredentialSource::Config));
        let d = credentials_in(cfg, "docker.io", &no_helper).expect("valid").expect("found");
        assert_eq!(d.username.as_deref(), Some("bob"));
        assert_eq!(credentials_in(cfg, "registry.example.com", &no_helper).expect("valid"), None);
        assert!(!format!("{c:?}").contains("s3cret"), "Debug never shows the secret");
        assert!(credentials_in(r#"{"auths": {"h": {"auth": "!!"}}}"#, "h", &no_helper).is_err());
        assert!(credentials_in("{", "h", &no_helper).is_err());
    }

    #[test]
    fn credential_helpers_come_first_as_the_docker_cli_chooses_them() {
        let asked = std::sync::Mutex::new(Vec::new());
        let helper = |name: &str, server: &str| -> HelperAnswer {
            asked.lock().expect("lock").push(format!("{name} {server}"));
            Ok(match (name, server) {
                ("ecr-login", "123.dkr.ecr.eu-west-1.amazonaws.com") => Some(("AWS".into(), "ecr-token".into())),
                ("gcloud", _) => Some(("<token>".into(), "ya29.identity".into())),
                ("desktop", "https://index.docker.io/v1/") => Some(("carol".into(), "hub-pw".into())),
                _ => None,
            })
        };
        // Docker Desktop: credsStore for everything, `auths` entries empty; credHelpers per host win over it.
        let cfg = r#"{"auths": {"https://index.docker.io/v1/": {}, "r.example.com": {"auth": "YWxpY2U6czNjcmV0"}},
                      "credsStore": "desktop", "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login", "https://gcr.io": "gcloud"}}"#;
        let ecr = credentials_in(cfg, "123.dkr.ecr.eu-west-1.amazonaws.com", &helper).expect("ok").expect("found");
        assert_eq!((ecr.username.as_deref(), ecr.password.as_deref(), &ecr.from), (Some("AWS"), Some("ecr-token"), &CredentialSource::Helper("ecr-login".into())));
        let gcr = credentials_in(cfg, "gcr.io", &helper).expect("ok").expect("found");
        assert_eq!((gcr.username.as_deref(), gcr.identity_token.as_deref()), (None, Some("ya29.identity")), "`<token>` is an identity token");
        let hub = credentials_in(cfg, "docker.io", &helper).expect("ok").expect("found");
        assert_eq!((hub.username.as_deref(), hub.server.as_str()), (Some("carol"), "https://index.docker.io/v1/"));
        // The store has nothing for this host: the inline entry is used.
        let inline = credentials_in(cfg, "r.example.com", &helper).expect("ok").expect("found");
        assert_eq!((inline.username.as_deref(), &inline.from), (Some("alice"), &CredentialSource::Config));
        assert_eq!(credentials_in(cfg, "nothing.example.com", &helper).expect("ok"), None);
        assert_eq!(
            *asked.lock().expect("lock"),
            ["ecr-login 123.dkr.ecr.eu-west-1.amazonaws.com", "gcloud gcr.io", "desktop https://index.docker.io/v1/", "desktop r.example.com", "desktop nothing.example.com"]
        );
        // A failing helper is an error, not "no credentials".
        let broken = |_: &str, _: &str| -> HelperAnswer { Err("the credential helper `docker-credential-desktop` is not installed (not found on PATH)".into()) };
        assert!(credentials_in(cfg, "docker.io", &broken).expect_err("fails").contains("not installed"));
    }

    #[test]
    fn a_helpers_answer() {
        assert_eq!(parse_helper_answer(r#"{"ServerURL":"h","Username":"u","Secret":"s"}"#), Ok(Some(("u".into(), "s".into()))));
        assert_eq!(parse_helper_answer(r#"{"ServerURL":"h","Username":"","Secret":""}"#), Ok(None));
        assert!(parse_helper_answer("credentials not found in native keychain").is_err());
        assert!(run_helper("devenv-test-no-such-helper", "h").expect_err("missing").contains("`docker-credential-devenv-test-no-such-helper` (credsStore/credHelpers) is not installed"));
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
