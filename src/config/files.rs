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
        // Build secrets are given by BuildKit only (see `engine::images`), but must be defined, as in
        // compose (whose loader checked a compose file's).
        for (i, id) in svc.build.iter().flat_map(|b| &b.secrets).enumerate() {
            if !ctx.compose && !secrets.contains_key(id) {
                let message = format!("service \"{name}\" refers to undefined build secret {id}");
                return Err(ctx.error(&format!("services.{name}.build.secrets[{i}]"), message, Some(format!("define it under the top-level `secrets:` (e.g. `secrets: {{{id}: {{file: ./{id}.txt}}}}`)"))));
            }
        }
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

#[cfg(test)]
mod tests {
    use crate::config::LoadOptions;
    use crate::values::VolumeSpec;

    fn load(yaml: &str, environ: &[(&str, &str)]) -> Result<crate::config::LoadedEnv, crate::yaml::ConfigError> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("devenv.yaml"), yaml).expect("write");
        std::fs::write(dir.join("pw.txt"), "pw").expect("write");
        let opts = LoadOptions {
            file: Some(dir.join("devenv.yaml")),
            cwd: dir.clone(),
            environ: environ.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        crate::config::load(&opts)
    }

    const FILE: &str = "services:\n  a:\n    image: x\n    secrets: [pw, {source: tok, target: t, uid: 7, mode: 0400}]\n    configs: [{source: c, target: etc/c.conf}]\nsecrets:\n  pw: {file: ./pw.txt}\n  tok: {environment: TOK}\nconfigs:\n  c: {content: hi}\n";

    #[test]
    fn secrets_and_configs_become_binds_and_files_where_compose_puts_them() {
        let env = load(FILE, &[("TOK", "v")]).unwrap_or_else(|e| panic!("{e}"));
        let a = &env.spec.services["a"];
        let bind = a.parsed.volumes.iter().find(|v| v.target() == "/run/secrets/pw").expect("the file secret's bind");
        assert!(matches!(bind, VolumeSpec::Bind { read_only: true, source, .. } if source.ends_with("pw.txt")), "{bind:?}");
        assert!(a.volumes.is_empty(), "the file's own `volumes` are left as written");
        let files: Vec<_> = a.files.iter().map(|f| (f.target.as_str(), f.content.as_str(), f.uid, f.mode, f.secret)).collect();
        assert_eq!(files, [("/run/secrets/t", "v", Some(7), 0o400, true), ("/etc/c.conf", "hi", None, 0o444, false)]);
    }

    #[test]
    fn a_missing_source_is_an_error_at_its_key() {
        let e = load(FILE, &[]).unwrap_err();
        assert_eq!(e.yaml_path, "secrets.tok.environment", "{e}");
        let e = load(&FILE.replace("./pw.txt", "./nope.txt"), &[("TOK", "v")]).unwrap_err();
        assert_eq!(e.yaml_path, "secrets.pw.file", "{e}");
        let e = load(&FILE.replace("secrets: [pw,", "secrets: [other,"), &[("TOK", "v")]).unwrap_err();
        assert_eq!(e.yaml_path, "services.a.secrets[0]", "{e}");
        let e = load(&FILE.replace("{content: hi}", "{content: hi, file: ./pw.txt}"), &[("TOK", "v")]).unwrap_err();
        assert_eq!(e.yaml_path, "configs.c", "{e}");
        let e = load(&FILE.replace("image: x\n", "image: x\n    build: {context: ., dockerfile_inline: x, secrets: [npm]}\n"), &[("TOK", "v")]).unwrap_err();
        assert_eq!(e.yaml_path, "services.a.build.secrets[0]", "{e}");
        let e = load(&FILE.replace("mode: 0400", "mode: 0900"), &[("TOK", "v")]).unwrap_err();
        assert!(e.to_string().contains("octal"), "{e}");
    }
}
