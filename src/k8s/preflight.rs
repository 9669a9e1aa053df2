//! `devenv doctor --k8s`: is the chosen context ready for the environment?
//! Through the runner (so every command line is tested):
//! - reachable, and the server's version within the schemas devenv knows
//!   (`kubectl --context CTX version -o json`);
//! - may this user create each kind devenv applies in the namespace
//!   (`kubectl --context CTX auth can-i create KIND -n NS`: kubectl prints
//!   `yes`, or `no` — sometimes `no - <reason>` — and exits 1 for no);
//! - the namespace exists, or this user may create it (`get namespace NS`,
//!   else `auth can-i create namespaces`);
//! - a default StorageClass for the volume claims (`get storageclass -o json`,
//!   annotation `storageclass.kubernetes.io/is-default-class`).
//!
//! The registry check is the Docker layer's (`cli::doctor`).

use serde_json::Value;

use super::lint::schema::{NEWEST, OLDEST};
use super::runner::{Invocation, RunError, Runner};

/// How a check came out (the doctor's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Warn,
    Fail,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    pub message: String,
    pub fix: Option<String>,
}

fn check(name: &'static str, outcome: Outcome, message: String, fix: Option<String>) -> Check {
    Check { name, outcome, message, fix }
}

/// The kinds devenv applies, as `auth can-i` takes them.
pub const KINDS: &[&str] = &["deployments.apps", "statefulsets.apps", "jobs.batch", "services", "configmaps", "secrets", "persistentvolumeclaims"];

/// `(major, minor)` of kubectl's `version -o json` `serverVersion` (`"minor": "27+"` on EKS/GKE).
pub fn server_version(json: &str) -> Option<(u32, u32)> {
    let v: Value = serde_json::from_str(json).ok()?;
    let sv = v.get("serverVersion")?;
    let num = |k: &str| sv.get(k)?.as_str()?.trim_end_matches('+').parse::<u32>().ok();
    Some((num("major")?, num("minor")?))
}

/// `auth can-i`'s answer: true for `yes`.
pub fn can_i(stdout: &str) -> bool {
    stdout.trim_start().split(|c: char| c.is_whitespace()).next() == Some("yes")
}

/// The default StorageClass's name, from `get storageclass -o json`.
pub fn default_storage_class(json: &str) -> Option<String> {
    let v: Value = serde_json::from_str(json).ok()?;
    v.get("items")?.as_array()?.iter().find_map(|sc| {
        let a = sc.pointer("/metadata/annotations")?;
        let is_default = ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"].iter().any(|k| a.get(*k).and_then(Value::as_str) == Some("true"));
        is_default.then(|| sc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?").to_string())
    })
}

fn minor_of(v: &str) -> u32 {
    v.split('.').nth(1).and_then(|m| m.parse().ok()).unwrap_or(0)
}

/// Every check for `context` and `namespace`; stops after reachability when the server does not answer.
pub fn run(runner: &dyn Runner, context: &str, namespace: &str) -> Vec<Check> {
    let mut out = Vec::new();
    let kubectl = |args: &[&str]| {
        let mut all = vec!["--context", context];
        all.extend_from_slice(args);
        Invocation::new("kubectl", &all)
    };
    let inv = kubectl(&["version", "-o", "json"]);
    let answer = match runner.output(&inv) {
        Err(RunError::NotFound { .. }) => {
            out.push(check("kubectl", Outcome::Fail, "`kubectl` is not installed (not found on PATH)".into(), Some(super::cluster::KUBECTL_HINT.into())));
            return out;
        }
        Err(e) => {
            out.push(check("k8s context", Outcome::Fail, e.to_string(), None));
            return out;
        }
        Ok(o) => o,
    };
    let Some((major, minor)) = answer.success().then(|| server_version(&answer.stdout)).flatten() else {
        let why = answer.lines().into_iter().rev().take(3).collect::<Vec<_>>().join(" / ");
        out.push(check("k8s context", Outcome::Fail, format!("context `{context}`: the API server does not answer (`{}`: {why})", inv.display()), Some(format!("check the context: `kubectl --context {context} cluster-info` (VPN? expired login?)"))));
        return out;
    };
    let (lo, hi) = (minor_of(OLDEST), minor_of(NEWEST));
    let version = format!("{major}.{minor}");
    out.push(if major == 1 && (lo..=hi).contains(&minor) {
        check("k8s version", Outcome::Ok, format!("context `{context}`: Kubernetes {version}"), None)
    } else {
        check("k8s version", Outcome::Warn, format!("context `{context}`: Kubernetes {version}, outside the versions devenv checks manifests against (1.{lo}–1.{hi})"), Some(format!("`devenv k8s lint --kube-version 1.{lo}` checks against the nearest one")))
    });
    out.push(namespace_check(runner, &kubectl, context, namespace));
    let mut denied = Vec::new();
    for kind in KINDS {
        let o = runner.output(&kubectl(&["auth", "can-i", "create", kind, "-n", namespace]));
        if !o.is_ok_and(|o| can_i(&o.stdout)) {
            denied.push(*kind);
        }
    }
    out.push(if denied.is_empty() {
        check("k8s permissions", Outcome::Ok, format!("may create {} in namespace `{namespace}`", KINDS.join(", ")), None)
    } else {
        check(
            "k8s permissions",
            Outcome::Fail,
            format!("may not create {} in namespace `{namespace}`", denied.join(", ")),
            Some(format!("ask a cluster admin for a Role + RoleBinding in `{namespace}` granting create, get, list, patch and delete on them (check: `kubectl --context {context} auth can-i create {} -n {namespace}`)", denied[0])),
        )
    });
    let sc = runner.output(&kubectl(&["get", "storageclass", "-o", "json"])).ok().filter(|o| o.success());
    out.push(match sc.as_ref().and_then(|o| default_storage_class(&o.stdout)) {
        Some(name) => check("k8s storage", Outcome::Ok, format!("default StorageClass `{name}`"), None),
        None => check(
            "k8s storage",
            Outcome::Warn,
            if sc.is_some() { "no default StorageClass: volume claims (databases' data) stay Pending".into() } else { "cannot list StorageClasses".into() },
            Some(format!("ask a cluster admin to mark one default (`kubectl --context {context} get storageclass`; annotation storageclass.kubernetes.io/is-default-class=\"true\")")),
        ),
    });
    out
}

/// Does the namespace exist, or may this user create it (`up` does)? Developers on a
/// shared cluster often may not: then an admin must.
fn namespace_check(runner: &dyn Runner, kubectl: &dyn Fn(&[&str]) -> Invocation, context: &str, namespace: &str) -> Check {
    let got = runner.output(&kubectl(&["get", "namespace", namespace, "-o", "name"]));
    match got {
        Ok(o) if o.success() => return check("k8s namespace", Outcome::Ok, format!("namespace `{namespace}` exists"), None),
        Ok(o) if o.stderr.contains("NotFound") => {}
        Ok(o) => {
            let why = o.lines().into_iter().last().unwrap_or_default();
            return check("k8s namespace", Outcome::Warn, format!("cannot read namespace `{namespace}`: {why}"), Some(format!("check: `kubectl --context {context} get namespace {namespace}`")));
        }
        Err(e) => return check("k8s namespace", Outcome::Warn, e.to_string(), None),
    }
    let may = runner.output(&kubectl(&["auth", "can-i", "create", "namespaces"])).is_ok_and(|o| can_i(&o.stdout));
    if may {
        return check("k8s namespace", Outcome::Ok, format!("namespace `{namespace}` does not exist yet; you may create it (`devenv k8s up` does)"), None);
    }
    check(
        "k8s namespace",
        Outcome::Fail,
        format!("namespace `{namespace}` does not exist, and you may not create namespaces"),
        Some(format!("ask a cluster admin to create `{namespace}` for you and grant you a Role in it, or pass --namespace NAME for one you were given")),
    )
}

#[cfg(test)]
mod tests {
    use super::super::runner::double::ScriptedRunner;
    use super::super::runner::Output;
    use super::*;

    // `kubectl version -o json` of an EKS server.
    const VERSION: &str = r#"{"clientVersion": {"major": "1", "minor": "32", "gitVersion": "v1.32.2"}, "kustomizeVersion": "v5.5.0", "serverVersion": {"major": "1", "minor": "30+", "gitVersion": "v1.30.4-eks-a737599"}}"#;
    const SC: &str = r#"{"items": [{"metadata": {"name": "gp2", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}, {"metadata": {"name": "io2"}}]}"#;

    #[test]
    fn parsing() {
        assert_eq!(server_version(VERSION), Some((1, 30)));
        assert_eq!(server_version(r#"{"clientVersion": {}}"#), None);
        assert!(can_i("yes\n") && !can_i("no\n") && !can_i("no - RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found\n") && !can_i(""));
        assert_eq!(default_storage_class(SC).as_deref(), Some("gp2"));
        assert_eq!(default_storage_class(r#"{"items": [{"metadata": {"name": "io2"}}]}"#), None);
    }

    #[test]
    fn a_ready_context_and_one_that_is_not() {
        let r = ScriptedRunner::new();
        r.on("kubectl --context dev version -o json", Output::ok(VERSION));
        r.on("kubectl --context dev auth can-i", Output::ok("yes\n"));
        r.on("kubectl --context dev get storageclass -o json", Output::ok(SC));
        let checks = run(&r, "dev", "shop-alice");
        assert!(checks.iter().all(|c| c.outcome == Outcome::Ok), "{checks:#?}");
        assert_eq!(r.calls()[1], "kubectl --context dev get namespace shop-alice -o name");
        assert_eq!(r.calls()[2], "kubectl --context dev auth can-i create deployments.apps -n shop-alice");
        assert_eq!(r.calls().len(), 3 + KINDS.len());

        let r = ScriptedRunner::new();
        r.on("kubectl --context dev version -o json", Output::ok(VERSION));
        r.on("kubectl --context dev auth can-i", Output::ok("yes\n"));
        r.on("kubectl --context dev auth can-i create secrets", Output { code: Some(1), stdout: "no\n".into(), stderr: String::new() });
        r.on("kubectl --context dev get storageclass -o json", Output::ok(r#"{"items": []}"#));
        let checks = run(&r, "dev", "shop-alice");
        let perm = checks.iter().find(|c| c.name == "k8s permissions").expect("perm");
        assert_eq!((perm.outcome, perm.message.as_str()), (Outcome::Fail, "may not create secrets in namespace `shop-alice`"));
        let sc = checks.iter().find(|c| c.name == "k8s storage").expect("sc");
        assert_eq!(sc.outcome, Outcome::Warn);

        // A namespace that does not exist, and no right to create one.
        let r = ScriptedRunner::new();
        r.on("kubectl --context dev version -o json", Output::ok(VERSION));
        r.on("kubectl --context dev get namespace", Output::failed(1, "Error from server (NotFound): namespaces \"shop-alice\" not found"));
        r.on("kubectl --context dev auth can-i", Output::ok("yes\n"));
        r.on("kubectl --context dev auth can-i create namespaces", Output { code: Some(1), stdout: "no\n".into(), stderr: String::new() });
        let checks = run(&r, "dev", "shop-alice");
        let ns = checks.iter().find(|c| c.name == "k8s namespace").expect("ns");
        assert_eq!((ns.outcome, ns.message.as_str()), (Outcome::Fail, "namespace `shop-alice` does not exist, and you may not create namespaces"));
        assert!(ns.fix.as_deref().is_some_and(|f| f.contains("ask a cluster admin to create `shop-alice`")));

        let r = ScriptedRunner::new();
        r.on("kubectl --context dev version", Output { code: Some(1), stdout: "Client Version: v1.32.2\n".into(), stderr: "The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?\n".into() });
        let checks = run(&r, "dev", "ns");
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].outcome, Outcome::Fail);
        assert!(checks[0].message.contains("was refused"), "{}", checks[0].message);
    }
}
