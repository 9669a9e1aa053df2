//! What `devenv doctor` asks the engine beyond its version: resources, and
//! whether a registry answers for an image; and the engine's platform (builds
//! check it).

use std::time::Duration;

use super::{op, Docker, DockerError};

/// The engine's resources, as `docker info` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineResources {
    /// Memory available to containers (the VM's on Docker Desktop), bytes.
    pub mem_total: Option<u64>,
    pub cpus: Option<u64>,
}

/// What a registry said about an image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// The registry knows the image: a pull should work.
    Found,
    /// The registry answered, but not with the image (unknown, or needs a login).
    Refused(String),
    /// No registry answered (offline, DNS, proxy, timeout).
    Unreachable(String),
}

impl Docker {
    pub async fn resources(&self) -> Result<EngineResources, DockerError> {
        let info = self.api.info().await.map_err(op("read engine info"))?;
        Ok(EngineResources {
            mem_total: info.mem_total.and_then(|m| u64::try_from(m).ok()).filter(|m| *m > 0),
            cpus: info.ncpu.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0),
        })
    }

    /// The engine's `OSType` and `Architecture` (`linux`, `x86_64`), as `docker info` reports them.
    pub async fn os_arch(&self) -> Result<(String, String), DockerError> {
        let info = self.api.info().await.map_err(op("read engine info"))?;
        Ok((info.os_type.unwrap_or_default(), info.architecture.unwrap_or_default()))
    }

    /// Ask the engine to look `reference` up in its registry (no layers are pulled).
    pub async fn registry_lookup(&self, reference: &str, timeout: Duration) -> RegistryAnswer {
        match tokio::time::timeout(timeout, self.api.inspect_registry_image(reference, None)).await {
            Err(_) => RegistryAnswer::Unreachable(format!("no answer within {} s", timeout.as_secs())),
            Ok(Ok(_)) => RegistryAnswer::Found,
            Ok(Err(e)) => {
                let text = match &e {
                    bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                if is_network_failure(&text) { RegistryAnswer::Unreachable(text) } else { RegistryAnswer::Refused(text) }
            }
        }
    }
}

/// Does a daemon error say the registry could not be reached at all?
fn is_network_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["dial tcp", "no such host", "i/o timeout", "connection refused", "network is unreachable", "tls handshake timeout", "proxyconnect", "context deadline exceeded"]
        .iter()
        .any(|s| m.contains(s))
}

#[cfg(test)]
mod tests {
    #[test]
    fn offline_errors_are_told_apart_from_refusals() {
        assert!(super::is_network_failure(
            r#"Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host"#
        ));
        assert!(!super::is_network_failure("errors: denied: requested access to the resource is denied; unauthorized: authentication required"));
    }
}
