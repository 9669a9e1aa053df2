//! `devenv k8s up|render` with a registry (`--registry`, `k8s.registry`): the
//! services' built images under their content-hash tags in the registry, and
//! the manifests pointed at them.
//!
//! `up` builds what is missing (everything with `--build`), tags, pushes (unless the registry already has
//! the tag) with progress as the service's `Transferring` status (bars on a
//! terminal, lines in CI, JSON events), and pins `repo:tag@digest`. `render`
//! neither builds nor pushes: it needs the image built locally (its id is the
//! tag), asks the registry (read-only) for the tag's digest, and pins it when
//! the registry has it, else prints `repo:tag` with a warning.
//! Credentials come from the Docker layer (`docker::credentials_for`); their
//! secrets are added to the UI's mask, and no message prints them.

use std::collections::BTreeMap;
use std::time::Instant;

use super::Setup;
use crate::docker::{Docker, PushProgress, RegistryCredentials, RegistryError};
use crate::error::Error;
use crate::k8s::registry::{content_tag, pinned, repository};
use crate::ui::{Status, Ui};

/// Why a push (or a registry lookup) failed, with what to do.
fn registry_error(service: &str, e: RegistryError, creds: Option<&RegistryCredentials>) -> Error {
    match e {
        RegistryError::Unreachable { registry, message } => Error::Image {
            message: format!("cannot push the image of `{service}`: registry `{registry}` is not reachable"),
            detail: vec![message],
            hint: Some(format!("is the registry running, and is `{registry}` its address? A plain-HTTP registry outside 127.0.0.0/8 must be in the Docker engine's `insecure-registries`")),
        },
        RegistryError::Unauthorized { registry, operation, message, had_credentials } => Error::Image {
            message: format!("cannot push the image of `{service}`: registry `{registry}` refused {operation} (unauthorized)"),
            detail: vec![message],
            hint: Some(match creds.filter(|_| had_credentials) {
                Some(c) => format!("the credentials for `{registry}` from {} were refused: `docker login {registry}` again", c.from),
                None => format!(
                    "log in first: `docker login {registry}` (devenv reads ~/.docker/config.json as docker does: the credential helper of `credHelpers`/`credsStore`, else the `auths` entry)"
                ),
            }),
        },
        RegistryError::Docker(d) => d.into(),
    }
}

/// The registry's credentials from the Docker config; their secrets are masked in all output from now on.
fn credentials(registry: &str, ui: &Ui) -> Result<Option<RegistryCredentials>, Error> {
    let host = crate::docker::registry_host(&format!("{registry}/x"));
    let creds = crate::docker::credentials_for(&host).map_err(|e| Error::Usage { message: format!("cannot get the credentials for registry `{host}`: {e}"), hint: None })?;
    if let Some(c) = &creds {
        let mut secrets = ui.secrets();
        for v in [&c.password, &c.identity_token].into_iter().flatten() {
            secrets.add(v);
        }
        ui.set_secrets(secrets);
    }
    Ok(creds)
}

/// (service, its built image) for each rendered service that builds one.
fn built(s: &Setup) -> Vec<(String, String)> {
    s.rendered.services.iter().filter_map(|r| r.built_image.clone().map(|i| (r.name.clone(), i))).collect()
}

/// Build (when missing, or every one with `--build`), tag with the content hash, and push each service's built
/// image to `registry` — unless the registry already has that tag — then point the
/// manifests at `repo:tag@digest`.
pub(super) async fn push_built(s: &mut Setup, registry: &str, rebuild: bool, ui: &Ui) -> Result<(), Error> {
    let docker = Docker::connect().await?;
    let creds = credentials(registry, ui)?;
    for (name, image) in built(s) {
        let Some(svc) = s.plan.services.get(&name) else { continue };
        if let Some(build) = &svc.build
            && (rebuild || docker.image_id(&image).await?.is_none())
        {
            crate::engine::build_image(&docker, &s.plan.project, svc, build, ui).await?;
        }
        let id = docker.image_id(&image).await?.ok_or_else(|| Error::Other(format!("`{name}`: image `{image}` is not there after building it")))?;
        let (repo, tag) = (repository(registry, &s.plan.project, &name), content_tag(&id));
        let reference = format!("{repo}:{tag}");
        let digest = match docker.remote_digest(&reference, creds.as_ref()).await.map_err(|e| registry_error(&name, e, creds.as_ref()))? {
            Some(d) => {
                ui.info(format!("{name}: {reference} is already in the registry ({d}): not pushed"));
                d
            }
            None => push_one(&docker, &name, &image, (&repo, &tag), creds.as_ref(), ui).await?,
        };
        s.rendered.use_image(&image, &pinned(&repo, &tag, Some(&digest)));
    }
    Ok(())
}

/// Bytes pushed, summed over the layers. The engine names each line's layer, but
/// bollard does not pass the name on, so a layer is known by its size (two layers
/// of exactly one size count as one: the bar is a little short, nothing else).
#[derive(Default)]
struct Layers {
    /// layer size → bytes pushed
    bytes: BTreeMap<u64, u64>,
    already: usize,
}

impl Layers {
    /// Take one status line; `true` when the byte count moved.
    fn take(&mut self, p: &PushProgress) -> bool {
        match p.status.as_str() {
            "Pushing" if p.total > 0 => {
                self.bytes.insert(p.total, p.current.min(p.total));
                true
            }
            "Layer already exists" => {
                self.already += 1;
                false
            }
            _ => false,
        }
    }

    fn pushed(&self) -> u64 {
        self.bytes.values().sum()
    }

    fn total(&self) -> u64 {
        self.bytes.keys().sum()
    }
}

/// Tag and push one image with progress; the digest the registry then reports.
async fn push_one(docker: &Docker, name: &str, image: &str, (repo, tag): (&str, &str), creds: Option<&RegistryCredentials>, ui: &Ui) -> Result<String, Error> {
    let reference = format!("{repo}:{tag}");
    docker.tag_image(image, repo, tag).await?;
    let what = format!("pushing {reference}");
    ui.service(name, Status::Transferring { what: what.clone(), bytes: 0, total: 0 });
    let started = Instant::now();
    let mut layers = Layers::default();
    let pushed = docker.push_image(repo, tag, creds, |p| {
        if layers.take(&p) {
            ui.service(name, Status::Transferring { what: what.clone(), bytes: layers.pushed(), total: layers.total() });
        }
    });
    pushed.await.map_err(|e| registry_error(name, e, creds))?;
    let digest = docker.remote_digest(&reference, creds).await.map_err(|e| registry_error(name, e, creds))?;
    let digest = digest.ok_or_else(|| Error::Other(format!("`{name}`: pushed {reference}, but the registry does not list it")))?;
    let already = if layers.already > 0 { format!(", {} layer(s) already there", layers.already) } else { String::new() };
    let what = format!("pushed {reference} ({digest}{already})");
    ui.service(name, Status::Transferred { what, bytes: layers.total(), elapsed_ms: started.elapsed().as_millis() as u64 });
    Ok(digest)
}

/// `render` with a registry: each built image's reference under its content tag, pinned
/// when the registry has it. Nothing is built or pushed; an image not built is an error.
pub(super) async fn reference_built(s: &mut Setup, registry: &str, ui: &Ui) -> Result<(), Error> {
    let docker = Docker::connect().await?;
    let creds = credentials(registry, ui)?;
    for (name, image) in built(s) {
        let Some(id) = docker.image_id(&image).await? else {
            return Err(Error::Image {
                message: format!("`{name}` builds its image `{image}`, which is not built yet: with a registry, the rendered tag is the image's content hash"),
                detail: vec![],
                hint: Some(format!("`devenv k8s render` does not build; build it first (`devenv k8s up --registry {registry}` builds and pushes it, `devenv up {name}` builds it)")),
            });
        };
        let (repo, tag) = (repository(registry, &s.plan.project, &name), content_tag(&id));
        let reference = format!("{repo}:{tag}");
        let digest = match docker.remote_digest(&reference, creds.as_ref()).await {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                ui.warn(format!("{name}: {reference} is not in the registry yet (`devenv k8s up --registry {registry}` pushes it): rendered without a digest"));
                None
            }
            Err(e) => {
                ui.warn(format!("{name}: cannot ask the registry for {reference} ({e}): rendered without a digest"));
                None
            }
        };
        s.rendered.use_image(&image, &pinned(&repo, &tag, digest.as_deref()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(status: &str, current: u64, total: u64) -> PushProgress {
        PushProgress { status: status.into(), current, total }
    }

    #[test]
    fn push_progress_adds_up_the_layers() {
        let mut l = Layers::default();
        assert!(!l.take(&p("Preparing", 0, 0)));
        assert!(!l.take(&p("Layer already exists", 0, 0)));
        assert!(l.take(&p("Pushing", 512, 2048)));
        assert!(l.take(&p("Pushing", 100, 300)));
        assert!(l.take(&p("Pushing", 2048, 2048)));
        assert_eq!((l.pushed(), l.total(), l.already), (2148, 2348, 1));
        assert!(!l.take(&p("Pushed", 0, 0)));
        assert!(!l.take(&p("probe: digest: sha256:abc size: 528", 0, 0)));
    }
}
