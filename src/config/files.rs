//! devenv.yaml's `secrets` and `configs`, put where compose puts them (see
//! `from_compose::file_mounts`, the same for compose files): a `file:` one
//! bind-mounted read-only at its target, one from `environment:` or
//! `content:` written into the container before it starts (mode 0444 unless
//! set, owned by `uid`/`gid`). Secrets go to `/run/secrets/<name>`, configs
//! to `/<name>`; a relative `target` under those. Secret values are never
//! printed (`InjectedFile`'s `Serialize`).
//!
//! Must not: touch Docker. Reads the disk only to check a `file:` exists.

use std::path::Path;

use indexmap::IndexMap;

use super::model::{EnvSpec, FileSource, FileUse, InjectedFile};
use super::validate::Ctx;
use crate::values::VolumeSpec;
use crate::values::volumes::normalize;
use crate::yaml::ConfigError;
use crate::yaml::interpolate::Lookup;

/// Turns every service's `secrets` / `configs` into its files (`files`) and
/// returns its read-only bind mounts (for `parsed.volumes`: the file's own
/// `volumes` are not changed, so `devenv config` shows the file as written).
pub fn mount(spec: &mut EnvSpec, ctx: &Ctx, vars: &dyn Lookup) -> Result<IndexMap<String, Vec<VolumeSpec>>, ConfigError> {
    let (secrets, configs) = (spec.secrets.clone(), spec.configs.clone());
    check_sources("secrets", &secrets, ctx)?;
    check_sources("configs", &configs, ctx)?;
    let mut binds: IndexMap<String, Vec<VolumeSpec>> = IndexMap::new();
    for (name, svc) in spec.services.iter_mut() {
        let uses = [("secrets", "/run/secrets/", std::mem::take(&mut svc.secrets), &secrets), ("configs", "/", std::mem::take(&mut svc.configs), &configs)];
        for (top, dir, refs, defined) in uses {
            for (i, r) in refs.iter().enumerate() {
                let at = format!("services.{name}.{top}[{i}]");
                let Some(src) = defined.get(&r.source) else {
                    let hint = format!("define it under the top-level `{top}:` (e.g. `{top}: {{{}: {{file: ./{}.txt}}}}`)", r.source, r.source);
                    return Err(ctx.error(&at, format!("`{}` is not defined under the top-level `{top}`", r.source), Some(hint)));
                };
                let target = r.target_in(dir);
                match (&src.file, &src.environment, &src.content) {
                    (Some(file), _, _) => {
                        let source = normalize(&ctx.dir.join(file));
                        binds.entry(name.clone()).or_default().push(VolumeSpec::Bind { source, target, read_only: true });
                    }
                    (None, Some(var), _) => {
                        let content = vars.lookup(var).ok_or_else(|| {
                            let message = format!("environment variable {var:?} required by {} {:?} is not set", &top[..top.len() - 1], r.source);
                            ctx.error(&format!("{top}.{}.environment", r.source), message, Some(format!("set {var} in the shell or in .env")))
                        })?;
                        svc.files.push(file(r, target, content, top == "secrets"));
                    }
                    (None, None, content) => svc.files.push(file(r, target, content.clone().unwrap_or_default(), top == "secrets")),
                }
            }
            match top {
                "secrets" => svc.secrets = refs,
                _ => svc.configs = refs,
            }
        }
    }
    Ok(binds)
}

fn file(r: &FileUse, target: String, content: String, secret: bool) -> InjectedFile {
    InjectedFile { target, content, uid: r.uid, gid: r.gid, mode: r.mode.unwrap_or(0o444), secret }
}

/// Exactly one source each; a `file:` must exist.
fn check_sources(top: &str, sources: &IndexMap<String, FileSource>, ctx: &Ctx) -> Result<(), ConfigError> {
    for (name, s) in sources {
        let at = format!("{top}.{name}");
        let given = [s.file.is_some(), s.environment.is_some(), s.content.is_some()].iter().filter(|b| **b).count();
        if given != 1 {
            return Err(ctx.error(&at, format!("`{name}` needs exactly one of `file`, `environment` or `content`"), Some("e.g. `file: ./db_password.txt`".into())));
        }
        if let Some(f) = &s.file
            && !Path::new(&ctx.dir.join(f)).is_file()
        {
            let message = format!("{} `{name}`: file {} does not exist", &top[..top.len() - 1], ctx.dir.join(f).display());
            return Err(ctx.error(&format!("{at}.file"), message, Some(format!("create it, or fix `{at}.file` (relative to the environment file)"))));
        }
    }
    Ok(())
}
