//! After the files are merged: defaults, relative paths made absolute,
//! variables of `environment` / `build.args` without a value looked up, the
//! implicit `default` network, resource names (`<project>_<key>`) — compose-go
//! `transform/defaults.go`, `paths/`, `loader/environment.go`,
//! `loader/normalize.go`.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::tree::{keys, s};
use super::values::go_scalar_string;
use crate::values::volumes::normalize as clean;

type TResult<T> = Result<T, (String, String)>;

/// The variables interpolation and `environment` resolution read.
pub type Env = IndexMap<String, String>;

/// compose-go `SetDefaultValues`: `build.context: .`, ports `protocol: tcp`, `mode: ingress`.
pub fn set_defaults(dict: &mut Mapping) {
    for_each_service(dict, |_, svc| {
        if let Some(Value::Mapping(b)) = svc.get_mut("build")
            && !b.contains_key("context")
        {
            b.insert(s("context"), s("."));
        }
        if let Some(Value::Sequence(ports)) = svc.get_mut("ports") {
            for p in ports.iter_mut() {
                if let Value::Mapping(m) = p {
                    if !m.contains_key("protocol") {
                        m.insert(s("protocol"), s("tcp"));
                    }
                    if !m.contains_key("mode") {
                        m.insert(s("mode"), s("ingress"));
                    }
                }
            }
        }
    });
}

fn for_each_service(dict: &mut Mapping, mut f: impl FnMut(&str, &mut Mapping)) {
    if let Some(Value::Mapping(services)) = dict.get_mut("services") {
        for name in keys(services) {
            if let Some(Value::Mapping(svc)) = services.get_mut(name.as_str()) {
                f(&name, svc);
            }
        }
    }
}

/// compose-go's loader: `scale` and `deploy.replicas` may both be written,
/// with the same value.
fn distinct_scale(name: &str, svc: &Value) -> TResult<()> {
    let int = |v: Option<&Value>| v.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())));
    let scale = int(svc.get("scale"));
    let replicas = int(svc.get("deploy").and_then(|d| d.get("replicas")));
    match (scale, replicas) {
        (Some(a), Some(b)) if a != b => {
            // The path is printed in front of the message.
            Err((format!("services.{name}.scale"), "can't set distinct values on 'scale' and 'deploy.replicas'".to_string()))
        }
        _ => Ok(()),
    }
}

/// compose-go `validation.Validate` (the parts that apply here).
pub fn validate(dict: &Mapping) -> TResult<()> {
    if let Some(Value::Mapping(vols)) = dict.get("volumes") {
        for (k, v) in vols {
            let name = k.as_str().unwrap_or_default();
            if let Value::Mapping(m) = v
                && m.get("external") == Some(&Value::Bool(true))
                && let Some(other) = keys(m).into_iter().find(|k| !matches!(k.as_str(), "name" | "external") && !k.starts_with("x-"))
            {
                return Err((
                    format!("volumes.{name}.{other}"),
                    format!("volumes.{name}: conflicting parameters \"external\" and {other:?} specified"),
                ));
            }
        }
    }
    if let Some(Value::Mapping(services)) = dict.get("services") {
        for (k, svc) in services {
            let name = k.as_str().unwrap_or_default();
            distinct_scale(name, svc)?;
            let Some(Value::Sequence(watch)) = svc.get("develop").and_then(|d| d.get("watch")) else { continue };
            for (i, w) in watch.iter().enumerate() {
                if w.get("path").and_then(Value::as_str) == Some("") {
                    let p = format!("services.{name}.develop.watch[{i}].path");
                    return Err((p.clone(), format!("{p}: value can't be blank")));
                }
            }
        }
    }
    Ok(())
}

/// Where relative paths resolve and what `~` means.
#[derive(Debug, Clone, Copy)]
pub struct PathCtx<'a> {
    pub dir: &'a Path,
    pub home: Option<&'a Path>,
}

impl PathCtx<'_> {
    /// compose `ExpandUser`: a leading `~` is the home directory (`~x` too, as compose does).
    fn expand_user(&self, p: &str) -> String {
        match (p.strip_prefix('~'), self.home) {
            (Some(rest), Some(home)) => clean(&home.join(rest.trim_start_matches('/'))).to_string_lossy().into_owned(),
            _ => p.to_string(),
        }
    }

    /// compose `absPath`: `~` expanded, absolute kept as written, relative joined and cleaned.
    pub fn abs(&self, p: &str) -> String {
        let p = self.expand_user(p);
        if p.is_empty() || Path::new(&p).is_absolute() {
            return p;
        }
        clean(&self.dir.join(&p)).to_string_lossy().into_owned()
    }

    /// A build context: URLs, git references and `service:` contexts are kept.
    fn context(&self, p: &str) -> String {
        let remote = ["https://", "http://", "git://", "ssh://", "github.com/", "git@"];
        if p.contains("://") || p.starts_with("service:") || remote.iter().any(|r| p.starts_with(r)) {
            return p.to_string();
        }
        self.abs(p)
    }
}

/// compose-go `ResolveRelativePaths`.
pub fn resolve_paths(dict: &mut Mapping, ctx: PathCtx) {
    for_each_service(dict, |_, svc| resolve_service_paths(svc, ctx));
    for top in ["configs", "secrets"] {
        if let Some(Value::Mapping(items)) = dict.get_mut(top) {
            for (_, v) in items.iter_mut() {
                if let Some(Value::String(f)) = v.get_mut("file") {
                    *f = ctx.abs(f);
                }
            }
        }
    }
    if let Some(Value::Mapping(vols)) = dict.get_mut("volumes") {
        for (_, v) in vols.iter_mut() {
            let Value::Mapping(m) = v else { continue };
            if m.get("driver").and_then(Value::as_str) != Some("local") {
                continue;
            }
            if let Some(Value::Mapping(opts)) = m.get_mut("driver_opts")
                && opts.get("o").and_then(Value::as_str) == Some("bind")
                && let Some(Value::String(dev)) = opts.get_mut("device")
            {
                *dev = ctx.abs(dev);
            }
        }
    }
}

/// Relative paths of one service (also used for services taken from another file by `extends`).
pub fn resolve_service_paths(svc: &mut Mapping, ctx: PathCtx) {
    if let Some(Value::Mapping(b)) = svc.get_mut("build") {
        if let Some(Value::String(c)) = b.get_mut("context") {
            *c = ctx.context(c);
        }
        match b.get_mut("additional_contexts") {
            Some(Value::Mapping(extra)) => {
                for (_, v) in extra.iter_mut() {
                    if let Value::String(c) = v {
                        *c = ctx.context(c);
                    }
                }
            }
            // `- name=path`: the path after the first `=`.
            Some(Value::Sequence(extra)) => {
                for v in extra.iter_mut() {
                    if let Value::String(entry) = v
                        && let Some((name, c)) = entry.split_once('=')
                    {
                        *entry = format!("{name}={}", ctx.context(c));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(Value::Sequence(files)) = svc.get_mut("env_file") {
        for f in files.iter_mut() {
            if let Some(Value::String(p)) = f.get_mut("path") {
                *p = ctx.abs(p);
            }
        }
    }
    if let Some(Value::Sequence(files)) = svc.get_mut("label_file") {
        for f in files.iter_mut() {
            if let Value::String(p) = f {
                *p = ctx.abs(p);
            }
        }
    }
    if let Some(Value::Mapping(ext)) = svc.get_mut("extends")
        && let Some(Value::String(f)) = ext.get_mut("file")
    {
        *f = ctx.abs(f);
    }
    if let Some(Value::Sequence(watch)) = svc.get_mut("develop").and_then(|d| d.get_mut("watch")) {
        for w in watch.iter_mut() {
            if let Some(Value::String(p)) = w.get_mut("path") {
                *p = resolve_symlink(&ctx.abs(p));
            }
        }
    }
    if let Some(Value::Sequence(vols)) = svc.get_mut("volumes") {
        for v in vols.iter_mut() {
            if let Value::Mapping(m) = v
                && m.get("type").and_then(Value::as_str) == Some("bind")
                && let Some(Value::String(src)) = m.get_mut("source")
            {
                *src = ctx.abs(src);
            }
        }
    }
}

/// compose `ResolveSymbolicLink`: the first path component that is a symlink is
/// replaced by its target.
fn resolve_symlink(p: &str) -> String {
    let path = PathBuf::from(p);
    let mut current = PathBuf::new();
    for c in path.components() {
        current.push(c);
        let is_link = std::fs::symlink_metadata(&current).map(|m| m.file_type().is_symlink()).unwrap_or(false);
        if is_link {
            if let Ok(target) = std::fs::canonicalize(&current) {
                let cur = current.to_string_lossy().into_owned();
                return p.replacen(&cur, &target.to_string_lossy(), 1);
            }
            return p.to_string();
        }
    }
    p.to_string()
}

/// compose-go `resolveServicesEnvironment`: a bare `NAME` in a list-form
/// `environment` becomes `NAME=value` when the project environment has it.
pub fn resolve_environment(dict: &mut Mapping, env: &Env) {
    for_each_service(dict, |_, svc| {
        if let Some(Value::Sequence(items)) = svc.get_mut("environment") {
            let resolved: Vec<Value> = items
                .iter()
                .filter_map(|e| match e {
                    Value::String(name) => Some(match env.get(name) {
                        Some(v) => Value::String(format!("{name}={v}")),
                        None => e.clone(),
                    }),
                    _ => None,
                })
                .collect();
            *items = resolved;
        }
    });
}

/// compose-go `Normalize`: implicit `default` network, build defaults, variables
/// without a value looked up, `depends_on` entries implied by `links` /
/// `network_mode: service:` / `volumes_from`, resource names.
pub fn normalize(dict: &mut Mapping, env: &Env, project: &str) {
    normalize_networks(dict);
    for_each_service(dict, |_, svc| {
        if svc.get("pull_policy").and_then(Value::as_str) == Some("if_not_present") {
            svc.insert(s("pull_policy"), s("missing"));
        }
        if let Some(Value::Mapping(b)) = svc.get_mut("build") {
            if b.get("context").is_none_or(Value::is_null) {
                b.insert(s("context"), s("."));
            }
            if b.get("dockerfile").is_none_or(Value::is_null) && b.get("dockerfile_inline").is_none_or(Value::is_null) {
                b.insert(s("dockerfile"), s("Dockerfile"));
            } else if b.get("dockerfile").and_then(Value::as_str) == Some("") {
                // compose-go keeps the key but prints nothing for it (`omitempty`),
                // and builds the default `Dockerfile`.
                b.remove("dockerfile");
            }
            if let Some(args) = b.get_mut("args") {
                *args = resolve_values(std::mem::take(args), env, false);
            }
        }
        if let Some(e) = svc.get_mut("environment") {
            *e = resolve_values(std::mem::take(e), env, true);
        }
        implied_dependencies(svc);
    });
    name_resources(dict, project);
}

fn normalize_networks(dict: &mut Mapping) {
    let mut uses_default = false;
    for_each_service(dict, |_, svc| {
        if svc.contains_key("network_mode") {
            return;
        }
        match svc.get("networks") {
            None | Some(Value::Null) => {
                svc.insert(s("networks"), default_network());
                uses_default = true;
            }
            Some(Value::Mapping(m)) if m.is_empty() => {
                svc.insert(s("networks"), default_network());
                uses_default = true;
            }
            Some(Value::Mapping(m)) => uses_default |= m.contains_key("default"),
            Some(_) => {}
        }
    });
    if uses_default {
        let nets = dict.entry(s("networks")).or_insert_with(|| Value::Mapping(Mapping::new()));
        if let Value::Mapping(m) = nets
            && !m.contains_key("default")
        {
            m.insert(s("default"), Value::Null);
        }
    }
}

fn default_network() -> Value {
    let mut m = Mapping::new();
    m.insert(s("default"), Value::Null);
    Value::Mapping(m)
}

/// compose-go `resolve`: values without `=` / null looked up in `env`; kept as
/// "no value" (`keep_empty`) or dropped when unset.
fn resolve_values(v: Value, env: &Env, keep_empty: bool) -> Value {
    match v {
        Value::Sequence(items) => Value::Sequence(
            items
                .into_iter()
                .filter_map(|item| match item {
                    Value::String(entry) if !entry.contains('=') => match env.get(&entry) {
                        Some(val) => Some(Value::String(format!("{entry}={val}"))),
                        None if keep_empty => Some(Value::String(entry)),
                        None => None,
                    },
                    Value::String(entry) => Some(Value::String(entry)),
                    _ => None,
                })
                .collect(),
        ),
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, val) in m {
                if !val.is_null() {
                    out.insert(k, val);
                    continue;
                }
                match k.as_str().and_then(|name| env.get(name)) {
                    Some(found) => {
                        out.insert(k, Value::String(found.clone()));
                    }
                    None if keep_empty => {
                        out.insert(k, Value::Null);
                    }
                    None => {}
                }
            }
            Value::Mapping(out)
        }
        other => other,
    }
}

fn implied_dependencies(svc: &mut Mapping) {
    let mut deps = match svc.get("depends_on") {
        Some(Value::Mapping(m)) => m.clone(),
        _ => Mapping::new(),
    };
    let dep = |restart: bool| {
        let mut m = Mapping::new();
        m.insert(s("condition"), s("service_started"));
        m.insert(s("restart"), Value::Bool(restart));
        m.insert(s("required"), Value::Bool(true));
        Value::Mapping(m)
    };
    if let Some(Value::Sequence(links)) = svc.get("links") {
        for l in links {
            let Some(link) = go_scalar_string(l) else { continue };
            let parts: Vec<&str> = link.split(':').collect();
            let name = if parts.len() == 2 { parts[0].to_string() } else { link.clone() };
            if !deps.contains_key(name.as_str()) {
                deps.insert(Value::String(name), dep(true));
            }
        }
    }
    for ns in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
        if let Some(shared) = svc.get(ns).and_then(Value::as_str).and_then(|r| r.strip_prefix("service:"))
            && !deps.contains_key(shared)
        {
            deps.insert(s(shared), dep(true));
        }
    }
    if let Some(Value::Sequence(from)) = svc.get("volumes_from") {
        for v in from {
            let Some(spec) = v.as_str() else { continue };
            if spec.starts_with("container:") {
                continue;
            }
            let name = spec.split(':').next().unwrap_or(spec);
            if !deps.contains_key(name) {
                deps.insert(s(name), dep(false));
            }
        }
    }
    if !deps.is_empty() {
        svc.insert(s("depends_on"), Value::Mapping(deps));
    }
}

/// compose-go `setNameFromKey`: `<project>_<key>`, or the key for external resources.
fn name_resources(dict: &mut Mapping, project: &str) {
    for top in ["networks", "volumes", "configs", "secrets"] {
        let Some(Value::Mapping(items)) = dict.get_mut(top) else { continue };
        for (k, v) in items.iter_mut() {
            let key = k.as_str().unwrap_or_default().to_string();
            if !matches!(v, Value::Mapping(_)) {
                *v = Value::Mapping(Mapping::new());
            }
            let Value::Mapping(m) = v else { continue };
            if m.get("name").is_none_or(Value::is_null) {
                let external = m
                    .get("external")
                    .and_then(go_scalar_string)
                    .is_some_and(|x| matches!(x.as_str(), "true" | "1" | "t" | "T" | "TRUE" | "True"));
                let name = if external { key } else { format!("{project}_{key}") };
                m.insert(s("name"), Value::String(name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Mapping {
        serde_yaml::from_str(s).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn paths_resolve_against_the_project_dir() {
        let mut d = y(
            "services:\n  a:\n    build: {context: ./app}\n    env_file: [{path: a.env, required: true}]\n    volumes:\n      - {type: bind, source: ./src, target: /src}\n      - {type: bind, source: ~/cache, target: /c}\n      - {type: volume, source: data, target: /d}\n    develop: {watch: [{path: ./app/../lib, action: sync, target: /lib}]}\n  b:\n    build: {context: https://github.com/x/y.git}\n",
        );
        resolve_paths(&mut d, PathCtx { dir: Path::new("/proj"), home: Some(Path::new("/home/u")) });
        let a = &d["services"]["a"];
        assert_eq!(a["build"]["context"], s("/proj/app"));
        assert_eq!(a["env_file"][0]["path"], s("/proj/a.env"));
        assert_eq!(a["volumes"][0]["source"], s("/proj/src"));
        assert_eq!(a["volumes"][1]["source"], s("/home/u/cache"));
        assert_eq!(a["volumes"][2]["source"], s("data"));
        assert_eq!(a["develop"]["watch"][0]["path"], s("/proj/lib"));
        assert_eq!(d["services"]["b"]["build"]["context"], s("https://github.com/x/y.git"));
    }

    #[test]
    fn environment_resolution_like_compose() {
        let e = env(&[("SET", "v"), ("ARG", "a")]);
        let mut d = y(
            "services:\n  a:\n    environment: [SET, UNSET, \"X=1\"]\n    build: {args: [ARG, NOARG, \"B=2\"]}\n  b:\n    environment: {SET: null, UNSET: null, Y: 2}\n",
        );
        resolve_environment(&mut d, &e);
        normalize(&mut d, &e, "proj");
        let a = &d["services"]["a"];
        assert_eq!(a["environment"], serde_yaml::from_str::<Value>("[SET=v, UNSET, X=1]").unwrap());
        assert_eq!(a["build"]["args"], serde_yaml::from_str::<Value>("[ARG=a, B=2]").unwrap());
        assert_eq!(a["build"]["dockerfile"], s("Dockerfile"));
        let mut empty = y("services:\n  a:\n    build: {context: ., dockerfile: \"\"}\n");
        normalize(&mut empty, &e, "proj");
        assert_eq!(empty["services"]["a"]["build"].get("dockerfile"), None, "an empty dockerfile is the default, printed as nothing");
        let b = &d["services"]["b"]["environment"];
        assert_eq!(b["SET"], s("v"));
        assert!(b["UNSET"].is_null());
        assert_eq!(b["Y"], Value::Number(2.into()));
    }

    #[test]
    fn default_network_and_names() {
        let mut d = y(
            "services:\n  a: {image: x}\n  b: {image: x, networks: [front]}\n  c: {image: x, network_mode: host}\nnetworks:\n  front:\n  ext: {external: true}\nvolumes:\n  data:\n  named: {name: real}\n",
        );
        crate::compose::canonical::canonical(&mut d, &mut Vec::new()).unwrap();
        normalize(&mut d, &Env::new(), "proj");
        assert_eq!(d["services"]["a"]["networks"], default_network());
        assert!(d["services"]["c"].get("networks").is_none());
        assert_eq!(d["networks"]["default"]["name"], s("proj_default"));
        assert_eq!(d["networks"]["front"]["name"], s("proj_front"));
        assert_eq!(d["networks"]["ext"]["name"], s("ext"));
        assert_eq!(d["volumes"]["data"]["name"], s("proj_data"));
        assert_eq!(d["volumes"]["named"]["name"], s("real"));
    }

    #[test]
    fn links_and_volumes_from_imply_dependencies() {
        let mut d = y(
            "services:\n  a:\n    links: [\"db:database\", cache]\n    volumes_from: [\"data:ro\", \"container:x\"]\n    depends_on: {cache: {condition: service_healthy, required: true}}\n",
        );
        normalize(&mut d, &Env::new(), "p");
        let deps = &d["services"]["a"]["depends_on"];
        assert_eq!(deps["db"]["restart"], Value::Bool(true));
        assert_eq!(deps["cache"]["condition"], s("service_healthy"));
        assert_eq!(deps["data"]["restart"], Value::Bool(false));
        assert!(deps.get("x").is_none() && deps.get("container").is_none());
    }

    #[test]
    fn validation() {
        let d = y("volumes:\n  v: {external: true, driver: local}\n");
        assert!(validate(&d).unwrap_err().1.contains("conflicting parameters"));
        let d = y("services:\n  a:\n    develop: {watch: [{path: '', action: sync}]}\n");
        assert!(validate(&d).unwrap_err().1.contains("can't be blank"));
    }
}
