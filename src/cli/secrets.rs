//! The secret values a loaded file knows, collected once per command so the
//! ui masks them wherever they occur (see `ui::mask`).
//!
//! What the user's file (and its env files) sets: values of secret-looking
//! keys and URL passwords in `env`, `build.args` and `export`; a key the file
//! names without a value (taken from the shell) with its value from the plan.
//! A preset's own documented defaults, and `${svc.url}` references to them,
//! are not secrets (they are in the README); nor is a value the file shows
//! openly anyway — the project name, a service name, the value of a key that
//! is not secret (`POSTGRES_USER: shop` with `POSTGRES_PASSWORD: shop`).

use crate::config::LoadedEnv;
use crate::plan::Plan;
use crate::ui::mask::{is_secret_key, Secrets};

/// The secrets of `env` (as written) and of the keys it names without a value, resolved in `plan`.
pub fn known(env: &LoadedEnv, plan: Option<&Plan>) -> Secrets {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for (name, svc) in &env.spec.services {
        let build_args = svc.build.iter().flat_map(|b| b.args.0.iter());
        for (k, v) in svc.env.0.iter().chain(build_args) {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        let Some(resolved) = plan.and_then(|p| p.services.get(name)) else { continue };
        for (k, v) in &resolved.env {
            if svc.env.0.get(k).is_some_and(Option::is_none) {
                pairs.push((k, v));
            }
        }
        for (k, v) in resolved.build.iter().flat_map(|b| b.args.iter()) {
            if svc.build.as_ref().is_some_and(|b| b.args.0.get(k).is_some_and(Option::is_none)) {
                pairs.push((k, v));
            }
        }
    }
    for (k, v) in env.spec.export.iter().flatten() {
        pairs.push((k, v));
    }
    let mut secrets = Secrets::from_pairs(pairs.iter().copied());
    secrets.forget(public(env, plan));
    secrets
}

/// Values shown openly: the project and service names, values of keys that are not secret.
fn public<'a>(env: &'a LoadedEnv, plan: Option<&'a Plan>) -> Vec<&'a str> {
    let mut out: Vec<&str> = vec![env.project.as_str()];
    out.extend(env.spec.services.keys().map(String::as_str));
    let written = env.spec.services.values().flat_map(|s| s.env.0.iter().filter_map(|(k, v)| Some((k, v.as_deref()?))));
    let resolved = plan.into_iter().flat_map(|p| p.services.values()).flat_map(|s| s.env.iter().map(|(k, v)| (k, v.as_str())));
    out.extend(written.chain(resolved).filter(|(k, _)| !is_secret_key(k)).map(|(_, v)| v));
    out
}

#[cfg(test)]
mod tests {
    use super::known;

    #[test]
    fn what_the_file_sets_is_secret_what_it_shows_openly_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = "name: shop\nservices:\n  db:\n    preset: postgres\n    env:\n      POSTGRES_PASSWORD: devenv\n  api:\n    image: x\n    env:\n      DB_PASSWORD: s3cret-1\n      API_TOKEN:\n      DATABASE_URL: postgres://app:url-pw-9@db/shop\n      LINK: ${db.url}\n    build:\n      context: .\n      args: {NPM_TOKEN: npm-tok-1}\nexport:\n  SENTRY_SECRET: sentry-9\n";
        std::fs::write(dir.path().join("devenv.yaml"), yaml).expect("write");
        std::fs::write(dir.path().join("Dockerfile"), "FROM x\n").expect("write");
        let environ = [("API_TOKEN".to_string(), "from-the-shell".to_string())].into_iter().collect();
        let opts = crate::config::LoadOptions { file: Some(dir.path().join("devenv.yaml")), cwd: dir.path().to_path_buf(), environ, ..Default::default() };
        let env = crate::config::load(&opts).unwrap_or_else(|e| panic!("{e}"));
        let plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default()).unwrap_or_else(|e| panic!("{e}"));
        let s = known(&env, Some(&plan));
        let text = "s3cret-1 from-the-shell url-pw-9 npm-tok-1 sentry-9 | user devenv, project shop";
        assert_eq!(s.mask(text), "*** *** *** *** *** | user devenv, project shop");
        let before_plan = known(&env, None);
        assert_eq!(before_plan.mask("s3cret-1 from-the-shell"), "*** from-the-shell", "a shell value is known once planned");
    }
}
