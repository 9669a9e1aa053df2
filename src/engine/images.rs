//! Images: pulled or built once per reference per run (shared by the services
//! that use it), the `--build` phase, image builds streamed as UI events
//! (each image labelled with its project), and `down --rmi`'s removal.
//! Must not: print (it emits `ui` events).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::docker::{build_context_tar_with, Docker};
use crate::error::Error;
use crate::plan::{Plan, ResolvedBuild, ResolvedService};
use crate::ui::{Status, Ui};
use crate::values::dockerfile;
use crate::values::platform::Platform;

/// The result of one pull/build, awaited by every service that uses the image.
type Once = Arc<OnceCell<Result<(), Error>>>;

/// One pull/build per image reference, shared by the services that use it.
#[derive(Debug, Default, Clone)]
pub(super) struct Images {
    cells: Arc<Mutex<HashMap<String, Once>>>,
}

impl Images {
    /// Make `svc`'s image present: build it (a `build` service) or pull it, unless it is there.
    pub(super) async fn ensure(&self, docker: &Docker, project: &str, svc: &ResolvedService, ui: &Ui) -> Result<(), Error> {
        let cell = {
            let mut map = self.cells.lock().map_err(|_| Error::Other("image lock poisoned".into()))?;
            map.entry(svc.image.clone()).or_default().clone()
        };
        cell.get_or_init(|| prepare(docker, project, svc, ui)).await.clone()
    }
}

/// (`--build` rebuilt the `build` images before the snapshot: here a present image is used as it is.)
async fn prepare(docker: &Docker, project: &str, svc: &ResolvedService, ui: &Ui) -> Result<(), Error> {
    if docker.image_id(&svc.image).await?.is_some() {
        return Ok(());
    }
    if let Some(build) = &svc.build {
        build_image(docker, project, svc, build, ui).await?;
        ui.service(&svc.name, Status::Built);
        return Ok(());
    }
    pull(docker, svc, ui).await
}

/// Pull `svc`'s image, reporting the progress summed over its layers.
async fn pull(docker: &Docker, svc: &ResolvedService, ui: &Ui) -> Result<(), Error> {
    let name = &svc.name;
    let mut layers: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    ui.service(name, Status::Pulling { current: 0, total: 0 });
    docker
        .pull_for(&svc.image, svc.platform.as_deref(), |p| {
            if p.total > 0 {
                layers.insert(p.layer.clone(), (p.current, p.total));
            } else if (p.status.starts_with("Pull complete") || p.status.starts_with("Already exists"))
                && let Some(l) = layers.get_mut(&p.layer)
            {
                l.0 = l.1;
            }
            let (cur, tot) = layers.values().fold((0, 0), |a, l| (a.0 + l.0, a.1 + l.1));
            ui.service(name, Status::Pulling { current: cur, total: tot });
        })
        .await
        .map_err(|e| pull_error(Error::from(e.for_service(name)), svc))?;
    ui.service(name, Status::Pulled);
    Ok(())
}

/// A failed pull; when the file's image came from variables
/// (`${REDIS_IMAGE:-redis:7-alpine}`), the hint names them first; a preset's
/// image, the tag forms its repository publishes.
pub(super) fn pull_error(err: Error, svc: &ResolvedService) -> Error {
    let tags = svc.preset.map(|k| format!("the {} tags upstream: {}", k.name(), k.preset().tag_forms()));
    let Some(first) = svc.image_vars.first() else {
        let Some(tags) = tags else { return err };
        let hint = format!("{tags}; {}", err.hint().unwrap_or_default());
        return Error::Image { message: err.to_string(), detail: err.detail().to_vec(), hint: Some(hint) };
    };
    let names = svc.image_vars.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
    let hint = format!(
        "`{}` comes from {names} in the file: set it to an image you have or can pull (`{first}=IMAGE devenv up`){}",
        svc.image,
        err.hint().map(|h| format!("; or {h}")).unwrap_or_default()
    );
    Error::Image { message: err.to_string(), detail: err.detail().to_vec(), hint: Some(hint) }
}

/// The `--build` phase: build every image of `wanted` that has a `build:`
/// (each image once, in parallel).
pub(super) async fn rebuild(docker: &Docker, plan: &Plan, wanted: &[String], ui: &Ui) -> Result<(), Error> {
    let mut seen = std::collections::BTreeSet::new();
    let builds = wanted
        .iter()
        .filter_map(|n| plan.services.get(n))
        .filter_map(|svc| Some((svc, svc.build.as_ref()?)))
        .filter(|(svc, _)| seen.insert(svc.image.clone()))
        .map(|(svc, b)| async move {
            build_image(docker, &plan.project, svc, b, ui).await?;
            ui.service(&svc.name, Status::Built);
            Ok::<(), Error>(())
        });
    futures_util::future::try_join_all(builds).await.map(|_| ())
}

/// Build `svc`'s image from its `build` spec through the Docker API, streaming
/// the build output as UI events. Errors name the service.
pub async fn build_image(docker: &Docker, project: &str, svc: &ResolvedService, build: &ResolvedBuild, ui: &Ui) -> Result<(), Error> {
    let name = &svc.name;
    let platform = buildable(docker, project, svc, build).await?;
    ui.service(name, Status::Building { line: format!("context {}", build.context.display()) });
    let ctx = build.context.clone();
    let dockerfile = build.dockerfile.clone();
    let inline = build.dockerfile_inline.clone();
    let tar = tokio::task::spawn_blocking(move || build_context_tar_with(&ctx, &dockerfile, inline.as_deref()))
        .await
        .map_err(|e| Error::Other(format!("build context task: {e}")))??;
    let mut labels = HashMap::new();
    labels.insert(crate::labels::PROJECT.to_string(), project.to_string());
    let args: HashMap<String, String> = build.args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let line_ui = ui.clone();
    let svc_name = name.clone();
    docker
        .build(&svc.image, &build.dockerfile, &args, build.target.as_deref(), platform.as_deref(), &labels, tar, move |line| {
            line_ui.service(&svc_name, Status::Building { line: line.to_string() })
        })
        .await
        .map_err(|e| e.for_service(name).into())
}

/// Whether the engine can build `build` (its inputs exist; see
/// [`classic_build`]), and the platform to pass. Run before anything is
/// created ([`check_builds`]) and again when building.
async fn buildable(docker: &Docker, project: &str, svc: &ResolvedService, build: &ResolvedBuild) -> Result<Option<String>, Error> {
    check_build_inputs(&svc.name, build)?;
    let dockerfile_text = match &build.dockerfile_inline {
        Some(text) => text.clone(),
        None => std::fs::read_to_string(build.context.join(&build.dockerfile)).unwrap_or_default(),
    };
    let (os, arch) = docker.os_arch().await.map_err(|e| Error::from(e.for_service(&svc.name)))?;
    let engine = Platform::of_engine(&os, &arch).unwrap_or(Platform { os, arch, variant: None });
    classic_build(project, svc, build, &dockerfile_text, &engine)
}

/// Pre-flight: every image a step will build (a `build` service whose image is
/// missing) can be built by this engine, checked before anything is created.
pub(super) async fn check_builds(docker: &Docker, plan: &Plan, steps: &[crate::diff::Step]) -> Result<(), Error> {
    use crate::diff::StepKind;
    for step in steps.iter().filter(|s| matches!(s.kind, StepKind::Create | StepKind::Recreate { .. })) {
        let Some(svc) = plan.services.get(&step.service) else { continue };
        let Some(build) = &svc.build else { continue };
        if docker.image_id(&svc.image).await?.is_none() {
            buildable(docker, &plan.project, svc, build).await?;
        }
    }
    Ok(())
}

/// The build context and its Dockerfile must exist by the time the image is
/// built: compose files may name a Dockerfile a script writes later, so (like
/// compose) they are only checked here, not when the file is loaded.
fn check_build_inputs(name: &str, build: &ResolvedBuild) -> Result<(), Error> {
    let ctx = &build.context;
    let (message, hint) = if !ctx.is_dir() {
        let what = if ctx.exists() { "is not a directory" } else { "does not exist" };
        (format!("`{name}`: build context {} {what}", ctx.display()), "fix `build.context` (relative to the file's directory), or create it".to_string())
    } else if build.dockerfile_inline.is_none() && !ctx.join(&build.dockerfile).is_file() {
        let df = crate::values::volumes::normalize(&ctx.join(&build.dockerfile));
        (
            format!("`{name}`: Dockerfile {} not found", df.display()),
            format!("add it, or set `build.dockerfile` (relative to the build context {})", ctx.display()),
        )
    } else {
        return Ok(());
    };
    Err(Error::Image { message, detail: Vec::new(), hint: Some(hint) })
}

/// What the engine's classic build API (no BuildKit session) can build of
/// `build`, checked before anything is sent: the platform to pass (`platform`
/// query parameter), or why it cannot. Secrets, SSH and named contexts are
/// BuildKit's; they stop the build only when the Dockerfile uses them. The
/// classic builder builds from the base image the engine has, for the
/// engine's platform: another platform is refused, as a wrong-platform image
/// would be the result.
fn classic_build(project: &str, svc: &ResolvedService, build: &ResolvedBuild, dockerfile_text: &str, engine: &Platform) -> Result<Option<String>, Error> {
    let name = &svc.name;
    let key = |k: &str| format!("services.{name}.{k}");
    let fail = |message: String, hint: String| Err(Error::Image { message, detail: Vec::new(), hint: Some(hint) });
    let uses = dockerfile::uses(dockerfile_text);
    let why = "the engine's classic build API has no BuildKit session";
    let checks = [
        (!build.secrets.is_empty(), uses.secret_mounts.first(), "build.secrets", "build secrets"),
        (!build.ssh.is_empty(), uses.ssh_mounts.first(), "build.ssh", "SSH forwarding"),
    ];
    for (wanted, used, k, what) in checks {
        if let (true, Some(u)) = (wanted, used) {
            return fail(
                format!("`{name}`: {}: {what} cannot be given to this build ({why}), and the Dockerfile uses them: line {}: `{}`", key(k), u.line, u.instruction),
                buildkit_hint(project, svc),
            );
        }
    }
    if let Some(u) = uses.references.iter().find(|u| build.additional_contexts.contains_key(&u.name)) {
        return fail(
            format!(
                "`{name}`: {}.{}: named build contexts cannot be given to this build ({why}: one context only), and the Dockerfile uses `{}`: line {}: `{}`",
                key("build.additional_contexts"),
                u.name,
                u.name,
                u.line,
                u.instruction
            ),
            buildkit_hint(project, svc),
        );
    }
    build_platform(svc, build, engine)
}

/// The platform a build is for (`None`: the engine's, nothing written): the
/// service's `platform`, else `build.platforms` (of several, the engine's: a
/// local image store holds one platform per tag).
fn build_platform(svc: &ResolvedService, build: &ResolvedBuild, engine: &Platform) -> Result<Option<String>, Error> {
    let name = &svc.name;
    let image_err = |message: String, hint: String| Error::Image { message, detail: Vec::new(), hint: Some(hint) };
    let parse = |p: &str| Platform::parse(p).ok_or_else(|| image_err(format!("`{name}`: invalid platform {p:?}"), "write `os/arch[/variant]`, e.g. `linux/amd64`".into()));
    let listed = build.platforms.iter().map(|p| parse(p)).collect::<Result<Vec<_>, _>>()?;
    let (text, at) = match (&svc.platform, build.platforms.as_slice()) {
        (Some(p), _) => {
            let wanted = parse(p)?;
            if !listed.is_empty() && !listed.contains(&wanted) {
                let message = format!("`{name}`: services.{name}.build.platforms MUST include service.platform {p:?}");
                return Err(image_err(message, format!("add {p} to `build.platforms`, or remove `platform`")));
            }
            (p.clone(), "platform")
        }
        (None, []) => return Ok(None),
        (None, [one]) => (one.clone(), "build.platforms"),
        (None, all) => match all.iter().zip(&listed).find(|(_, p)| p.runs_on(engine)) {
            Some((text, _)) => return Ok(Some(text.clone())),
            None => (all.join(", "), "build.platforms"),
        },
    };
    // (Several platforms, none the engine's: `text` lists them and parses as none.)
    if Platform::parse(&text).is_some_and(|p| p.runs_on(engine)) {
        return Ok(Some(text));
    }
    Err(image_err(
        format!(
            "`{name}`: services.{name}.{at}: cannot build for {text} on this engine ({engine}): the engine's classic builder builds from the base image it has, for its own platform, so the image would not be {text}"
        ),
        format!(
            "build `{}` for {text} once with BuildKit (`docker buildx build --platform {text} --load -t {} {}`; its RUN steps need binfmt/QEMU emulation), and devenv uses it as it is; or remove `{at}`",
            svc.image,
            svc.image,
            build.context.display()
        ),
    ))
}

/// How to get an image the classic builder cannot build: BuildKit, once.
fn buildkit_hint(project: &str, svc: &ResolvedService) -> String {
    let name = &svc.name;
    let tag = if svc.image == format!("{project}-{name}:devenv") { format!(" && docker tag {project}-{name} {}", svc.image) } else { String::new() };
    format!(
        "build `{}` once with BuildKit, e.g. `docker compose build {name}{tag}` (compose drives the engine's BuildKit); devenv then uses the image as it is, since it builds only a missing one (`up --build` would build it here again)",
        svc.image
    )
}

/// `down --rmi`: remove the images devenv built for `project` (they carry its
/// label, older builds of a tag included) and the images `also` names (`--rmi
/// all`: every image the services use). An image a container still uses is
/// left. Returns how many were removed.
pub async fn remove_project_images(docker: &Docker, project: &str, also: &[String]) -> Result<usize, Error> {
    let mut removed = 0;
    for id in docker.project_images(project).await? {
        removed += usize::from(docker.remove_image(&id, true).await?);
    }
    for reference in also {
        removed += usize::from(docker.remove_image(reference, false).await?);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use crate::docker::DockerError;
    use crate::error::{exit, Error};

    fn service(yaml: &str, environ: &[(&str, &str)]) -> crate::plan::ResolvedService {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("devenv.yaml"), yaml).expect("write");
        let opts = crate::config::LoadOptions {
            file: Some(dir.path().join("devenv.yaml")),
            cwd: dir.path().to_path_buf(),
            environ: environ.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        let env = crate::config::load(&opts).unwrap_or_else(|e| panic!("{e}"));
        let plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default()).unwrap_or_else(|e| panic!("{e}"));
        plan.services["cache"].clone()
    }

    fn pull_failed(reference: &str) -> Error {
        Error::from(DockerError::Pull { service: Some("cache".into()), reference: reference.into(), message: "not found".into(), source: None })
    }

    #[test]
    fn a_pull_failure_names_the_variable_the_image_came_from() {
        let svc = service("services:\n  cache:\n    image: ${REDIS_IMAGE:-redis:7-alpine}\n", &[]);
        assert_eq!(svc.image_vars, vec!["REDIS_IMAGE".to_string()]);
        let e = super::pull_error(pull_failed("redis:7-alpine"), &svc);
        assert_eq!(e.exit_code(), exit::IMAGE);
        let hint = e.hint().unwrap_or_default();
        assert!(hint.contains("`REDIS_IMAGE`") && hint.contains("REDIS_IMAGE=IMAGE devenv up") && hint.contains("docker login"), "{hint}");
        assert!(e.to_string().contains("redis:7-alpine"), "{e}");
        // Set or not, the value came from the variable.
        let svc = service("services:\n  cache:\n    image: ${REDIS_IMAGE:-redis:7-alpine}\n", &[("REDIS_IMAGE", "mirror/redis:7")]);
        assert!(super::pull_error(pull_failed("mirror/redis:7"), &svc).hint().is_some_and(|h| h.contains("REDIS_IMAGE")));
        // A literal image: the hint is the pull error's own.
        let svc = service("services:\n  cache:\n    image: redis:7-alpine\n", &[]);
        assert!(svc.image_vars.is_empty());
        let e = super::pull_error(pull_failed("redis:7-alpine"), &svc);
        assert!(matches!(e, Error::Docker(_)) && !e.hint().unwrap_or_default().contains("comes from"));
        // A preset's image: which tag forms exist upstream.
        let svc = service("services:\n  cache:\n    preset: redis\n    version: '7.9'\n", &[]);
        let e = super::pull_error(pull_failed("redis:7.9-alpine"), &svc);
        assert_eq!(e.exit_code(), exit::IMAGE);
        let hint = e.hint().unwrap_or_default();
        assert!(hint.contains("the redis tags upstream: `7-alpine`, `7`") && hint.contains("docker login"), "{hint}");
    }

    #[test]
    fn a_missing_context_or_dockerfile_is_an_error_when_building() {
        let dir = tempfile::tempdir().expect("tempdir");
        let build = |context: std::path::PathBuf, dockerfile: &str| crate::plan::ResolvedBuild {
            context,
            dockerfile: dockerfile.into(),
            dockerfile_inline: None,
            ..Default::default()
        };
        let e = super::check_build_inputs("api", &build(dir.path().join("nope"), "Dockerfile")).unwrap_err();
        assert_eq!(e.exit_code(), exit::IMAGE);
        assert!(e.to_string().contains("`api`: build context") && e.to_string().contains("does not exist"), "{e}");
        let e = super::check_build_inputs("api", &build(dir.path().to_path_buf(), "Dev.Dockerfile")).unwrap_err();
        assert!(e.to_string().contains("Dev.Dockerfile not found"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains("build.dockerfile")));
        std::fs::write(dir.path().join("Dev.Dockerfile"), "FROM scratch\n").expect("write");
        super::check_build_inputs("api", &build(dir.path().to_path_buf(), "Dev.Dockerfile")).unwrap();
    }

    #[test]
    fn buildkit_keys_stop_a_classic_build_only_when_the_dockerfile_uses_them() {
        use crate::values::platform::Platform;
        let amd64 = Platform::of_engine("linux", "x86_64").expect("platform");
        let svc = service(
            "name: shop\nservices:\n  cache:\n    build: {context: ., dockerfile_inline: \"FROM x\", secrets: [npmrc], ssh: [default], additional_contexts: {base: service:base}}\nsecrets:\n  npmrc: {content: x}\n",
            &[],
        );
        let b = svc.build.clone().expect("build");
        let check = |text: &str| super::classic_build("shop", &svc, &b, text, &amd64);
        assert_eq!(check("FROM debian:bookworm-slim\nRUN echo hi\n").expect("plain Dockerfile"), None);
        let e = check("FROM debian\nRUN --mount=type=secret,id=npmrc \\\n  npm ci\n").unwrap_err();
        assert_eq!(e.exit_code(), exit::IMAGE);
        assert!(e.to_string().contains("services.cache.build.secrets") && e.to_string().contains("line 2: `RUN --mount=type=secret,id=npmrc npm ci`"), "{e}");
        let hint = e.hint().unwrap_or_default();
        assert!(hint.contains("docker compose build cache && docker tag shop-cache shop-cache:devenv"), "{hint}");
        let e = check("FROM debian\nRUN --mount=type=ssh git clone x\n").unwrap_err();
        assert!(e.to_string().contains("services.cache.build.ssh"), "{e}");
        let e = check("FROM base\nRUN true\n").unwrap_err();
        assert!(e.to_string().contains("services.cache.build.additional_contexts.base") && e.to_string().contains("line 1: `FROM base`"), "{e}");
        // A stage of the same name is the file's own.
        assert!(check("FROM debian AS base\nFROM base\n").is_ok());
    }

    #[test]
    fn a_build_is_for_the_engine_platform_only() {
        use crate::values::platform::Platform;
        let amd64 = Platform::of_engine("linux", "x86_64").expect("platform");
        let arm64 = Platform::of_engine("linux", "aarch64").expect("platform");
        let platform_of = |yaml: &str, engine: &Platform| {
            let svc = service(&format!("services:\n  cache:\n{yaml}"), &[]);
            let b = svc.build.clone().expect("build");
            super::build_platform(&svc, &b, engine)
        };
        assert_eq!(platform_of("    build: {context: ., dockerfile_inline: x}\n", &amd64).expect("no platform"), None);
        assert_eq!(platform_of("    build: {context: ., dockerfile_inline: x}\n    platform: linux/amd64\n", &amd64).expect("own"), Some("linux/amd64".into()));
        let several = "    build: {context: ., dockerfile_inline: x, platforms: [linux/amd64, linux/arm64]}\n";
        assert_eq!(platform_of(several, &amd64).expect("amd64 listed"), Some("linux/amd64".into()));
        assert_eq!(platform_of(several, &arm64).expect("arm64 listed"), Some("linux/arm64".into()));
        let e = platform_of("    build: {context: ., dockerfile_inline: x}\n    platform: linux/arm64\n", &amd64).unwrap_err();
        assert!(e.to_string().contains("services.cache.platform: cannot build for linux/arm64 on this engine (linux/amd64)"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains("docker buildx build --platform linux/arm64 --load")), "{e:?}");
        let e = platform_of("    build: {context: ., dockerfile_inline: x, platforms: [linux/arm64, linux/arm/v7]}\n", &amd64).unwrap_err();
        assert!(e.to_string().contains("services.cache.build.platforms: cannot build for linux/arm64, linux/arm/v7"), "{e}");
        let e = platform_of("    build: {context: ., dockerfile_inline: x, platforms: [linux/arm64]}\n    platform: linux/amd64\n", &amd64).unwrap_err();
        assert!(e.to_string().contains("MUST include service.platform"), "{e}");
    }
}
