//! What a shared cluster's refusals mean, and what to do: kubectl's and the
//! API server's texts (as `kubectl apply` prints them, or as pod/claim events
//! carry them) for an RBAC denial, an exhausted or unmet ResourceQuota, a
//! missing StorageClass, and an image the cluster may not pull (no pull
//! secret) → one sentence naming the object, and the fix. Pure: text in,
//! explanation out; `cluster` calls it on failures.

use std::sync::OnceLock;

use regex::Regex;

/// A recognised failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// What happened, naming the object.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

/// Where the failure happened, for the commands in the fix.
pub struct Place<'a> {
    pub context: &'a str,
    pub namespace: &'a str,
}

fn re(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

/// The first recognised failure in `text` (kubectl's output, events, pod reasons).
pub fn explain(text: &str, at: &Place) -> Option<Explanation> {
    rbac(text, at).or_else(|| quota(text, at)).or_else(|| storage(text, at)).or_else(|| pull_secret(text, at))
}

/// `deployments.apps is forbidden: User "alice@example.com" cannot create resource "deployments" in API group "apps" in the namespace "shop-alice"`,
/// `namespaces is forbidden: User "alice@example.com" cannot create resource "namespaces" in API group "" at the cluster scope`
fn rbac(text: &str, at: &Place) -> Option<Explanation> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let c = re(&RE, r#"(\S+?)(?: "([^"]+)")? is forbidden: User "([^"]+)" cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| (at the cluster scope))?"#)?.captures(text)?;
    let g = |i: usize| c.get(i).map(|m| m.as_str()).unwrap_or("");
    let (object, user, verb, resource, group) = (g(1), g(3), g(4), g(5), g(6));
    let named = if g(2).is_empty() { String::new() } else { format!(" `{}`", g(2)) };
    let group = if group.is_empty() { "core".to_string() } else { group.to_string() };
    if c.get(8).is_some() {
        return Some(cluster_scope_denial(at, user, verb, resource, &group, &format!("{object}{named}")));
    }
    let ns = c.get(7).map(|m| m.as_str()).unwrap_or(at.namespace);
    Some(Explanation {
        problem: format!("RBAC: user `{user}` may not {verb} {resource} (API group {group}) in namespace `{ns}` ({object}{named} was refused)"),
        fix: format!(
            "ask a cluster admin for a Role + RoleBinding that grants `{verb}` on `{resource}` in `{ns}` (check with `kubectl --context {} auth can-i {verb} {resource} -n {ns}`), or use a namespace you may write: --namespace NAME",
            at.context
        ),
    })
}

/// A denial at the cluster scope: on a shared cluster, most often creating the namespace itself.
fn cluster_scope_denial(at: &Place, user: &str, verb: &str, resource: &str, group: &str, refused: &str) -> Explanation {
    let problem = format!("RBAC: user `{user}` may not {verb} {resource} (API group {group}) at the cluster scope ({refused} was refused)");
    let fix = if resource == "namespaces" {
        format!(
            "ask a cluster admin to create namespace `{ns}` for you and grant you a Role in it (devenv then uses it as it is), or pass --namespace NAME for one you were given (check with `kubectl --context {c} auth can-i create namespaces`)",
            ns = at.namespace,
            c = at.context
        )
    } else {
        format!("only a cluster admin can grant `{verb}` on `{resource}` at the cluster scope; cluster-wide objects do not belong in a developer's environment")
    };
    Explanation { problem, fix }
}

/// `pods "api-7d9c-x" is forbidden: exceeded quota: compute-resources, requested: limits.memory=2Gi, used: limits.memory=3Gi, limited: limits.memory=4Gi`
/// and `... is forbidden: failed quota: compute-resources: must specify limits.cpu,limits.memory`
fn quota(text: &str, at: &Place) -> Option<Explanation> {
    static EXCEEDED: OnceLock<Option<Regex>> = OnceLock::new();
    static UNMET: OnceLock<Option<Regex>> = OnceLock::new();
    let ns = at.namespace;
    if let Some(c) = re(&EXCEEDED, r#"(\S+) "([^"]+)" is forbidden: exceeded quota: ([^,]+), requested: (\S+), used: (\S+), limited: ([^\s"]+)"#)?.captures(text) {
        let (kind, name, q, req, used, lim) = (&c[1], &c[2], &c[3], &c[4], &c[5], &c[6]);
        return Some(Explanation {
            problem: format!("quota `{q}` of namespace `{ns}` is exhausted: {kind} `{name}` asks for {req}, {used} is in use, the limit is {lim}"),
            fix: format!(
                "lower the service's `k8s.resources` (or `k8s.replicas`) in devenv.yaml, remove what else runs in `{ns}`, or ask for a larger quota (`kubectl --context {} -n {ns} describe resourcequota {q}`)",
                at.context
            ),
        });
    }
    let c = re(&UNMET, r#"(\S+) "([^"]+)" is forbidden: failed quota: ([^:]+): must specify ([^\s"]+)"#)?.captures(text)?;
    let (kind, name, q, what) = (&c[1], &c[2], &c[3], &c[4]);
    Some(Explanation {
        problem: format!("quota `{q}` of namespace `{ns}` requires {what} on every container, and {kind} `{name}` sets none"),
        fix: format!("set them in devenv.yaml: `services.<name>.k8s.resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{cpu: 500m, memory: 256Mi}}}}` (the quota: `kubectl --context {} -n {ns} describe resourcequota {q}`)", at.context),
    })
}

/// `storageclass.storage.k8s.io "fast-ssd" not found`, `no persistent volumes available for this claim and no storage class is set`,
/// `pod has unbound immediate PersistentVolumeClaims`
fn storage(text: &str, at: &Place) -> Option<Explanation> {
    static MISSING: OnceLock<Option<Regex>> = OnceLock::new();
    let list = format!("`kubectl --context {} get storageclass`", at.context);
    if let Some(c) = re(&MISSING, r#"storageclass\.storage\.k8s\.io "([^"]+)" not found"#)?.captures(text) {
        return Some(Explanation {
            problem: format!("the volume claims of namespace `{}` name StorageClass `{}`, which this cluster does not have", at.namespace, &c[1]),
            fix: format!("use one the cluster has ({list}) in the claims, or ask a cluster admin to create `{}`", &c[1]),
        });
    }
    if text.contains("no storage class is set") || text.contains("unbound immediate PersistentVolumeClaims") {
        return Some(Explanation {
            problem: format!("a volume claim in namespace `{}` stays unbound: the cluster has no default StorageClass (and no volume matches)", at.namespace),
            fix: format!("ask a cluster admin to mark one StorageClass default (annotation storageclass.kubernetes.io/is-default-class=\"true\"; {list}); `devenv doctor --k8s` checks this"),
        });
    }
    None
}

/// `Failed to pull image "r.example.com/team/shop-api:1a2b": ... 401 Unauthorized` / `pull access denied` / `no basic auth credentials`
fn pull_secret(text: &str, at: &Place) -> Option<Explanation> {
    static IMAGE: OnceLock<Option<Regex>> = OnceLock::new();
    let pulling = ["ErrImagePull", "ImagePullBackOff", "Failed to pull image"].iter().any(|p| text.contains(p));
    let denied = ["401 Unauthorized", "403 Forbidden", "pull access denied", "no basic auth credentials", "authentication required", "authorization failed"];
    if !pulling || !denied.iter().any(|d| text.contains(d)) {
        return None;
    }
    let image = re(&IMAGE, r#"(?:Failed to pull image|Back-off pulling image) "([^"]+)""#).and_then(|r| r.captures(text)).map(|c| c[1].to_string());
    let shown = image.as_deref().map(|i| format!("image `{i}`")).unwrap_or_else(|| "an image".into());
    let host = image.as_deref().and_then(|i| i.split_once('/')).map(|(h, _)| h.to_string()).unwrap_or_else(|| "REGISTRY".into());
    let ns = at.namespace;
    Some(Explanation {
        problem: format!("the cluster may not pull {shown}: the registry wants credentials and namespace `{ns}` has no pull secret for it"),
        fix: format!(
            "create one and give it to the namespace's default ServiceAccount: `kubectl --context {c} -n {ns} create secret docker-registry devenv-pull --docker-server={host} --docker-username=USER --docker-password=TOKEN` then `kubectl --context {c} -n {ns} patch serviceaccount default -p '{{\"imagePullSecrets\":[{{\"name\":\"devenv-pull\"}}]}}'`",
            c = at.context
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Place = Place { context: "dev-eks", namespace: "shop-alice" };

    // The texts below are as kubectl and the API server print them (from public bug reports).
    #[test]
    fn an_rbac_denial_names_the_user_verb_resource_and_namespace() {
        let t = r#"Error from server (Forbidden): error when creating "STDIN": services is forbidden: User "sso:Administrator@vsphere.local" cannot create resource "services" in API group "" in the namespace "yelb""#;
        let e = explain(t, &AT).expect("rbac");
        assert_eq!(e.problem, "RBAC: user `sso:Administrator@vsphere.local` may not create services (API group core) in namespace `yelb` (services was refused)");
        assert!(e.fix.contains("kubectl --context dev-eks auth can-i create services -n yelb"), "{}", e.fix);
        let t = r#"Error from server (Forbidden): error when retrieving current configuration of: ... deployments.apps "myapp" is forbidden: User "system:serviceaccount:tekton-pipelines:tekton-dashboard" cannot get resource "deployments" in API group "apps" in the namespace "tekton-pipelines""#;
        let e = explain(t, &AT).expect("rbac");
        assert!(e.problem.contains("may not get deployments (API group apps) in namespace `tekton-pipelines` (deployments.apps `myapp` was refused)"), "{}", e.problem);
    }

    #[test]
    fn a_namespace_the_user_may_not_create() {
        // The API server's text for a cluster-scoped denial (as in kubernetes/kubernetes issues about RBAC).
        let t = r#"Error from server (Forbidden): error when creating "STDIN": namespaces is forbidden: User "alice@example.com" cannot create resource "namespaces" in API group "" at the cluster scope"#;
        let e = explain(t, &AT).expect("rbac");
        assert_eq!(e.problem, "RBAC: user `alice@example.com` may not create namespaces (API group core) at the cluster scope (namespaces was refused)");
        assert!(e.fix.starts_with("ask a cluster admin to create namespace `shop-alice` for you"), "{}", e.fix);
        let t = r#"clusterroles.rbac.authorization.k8s.io is forbidden: User "bob" cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope"#;
        assert!(explain(t, &AT).is_some_and(|e| e.problem.contains("at the cluster scope") && e.fix.starts_with("only a cluster admin")));
    }

    #[test]
    fn quota_exhaustion_and_unmet_quota_requirements() {
        let t = r#"Error from server (Forbidden): error when creating "test.yaml": pods "test-pod" is forbidden: exceeded quota: money-claims-quota, requested: requests.cpu=20,requests.memory=60Gi, used: requests.cpu=32575m,requests.memory=90368Mi, limited: requests.cpu=50,requests.memory=140Gi"#;
        let e = explain(t, &AT).expect("quota");
        assert_eq!(e.problem, "quota `money-claims-quota` of namespace `shop-alice` is exhausted: pods `test-pod` asks for requests.cpu=20,requests.memory=60Gi, requests.cpu=32575m,requests.memory=90368Mi is in use, the limit is requests.cpu=50,requests.memory=140Gi");
        assert!(e.fix.contains("describe resourcequota money-claims-quota"), "{}", e.fix);
        // As a ReplicaSet's FailedCreate event carries it (the Deployment's pods are never created).
        let t = r#"FailedCreate: Error creating: pods "core-documentation-46sh5" is forbidden: exceeded quota: kyma-default, requested: limits.memory=1056Mi, used: limits.memory=9742552Ki, limited: limits.memory=10Gi"#;
        assert!(explain(t, &AT).is_some_and(|e| e.problem.contains("pods `core-documentation-46sh5` asks for limits.memory=1056Mi")));
        let t = r#"Error from server (Forbidden): error when creating "pod.yaml": pods "nginx-pod" is forbidden: failed quota: quota: must specify memory"#;
        let e = explain(t, &AT).expect("unmet");
        assert_eq!(e.problem, "quota `quota` of namespace `shop-alice` requires memory on every container, and pods `nginx-pod` sets none");
        assert!(e.fix.contains("k8s.resources"));
    }

    #[test]
    fn a_missing_storage_class_and_no_default_one() {
        let e = explain(r#"ProvisioningFailed: storageclass.storage.k8s.io "fast-ssd" not found"#, &AT).expect("sc");
        assert!(e.problem.contains("StorageClass `fast-ssd`, which this cluster does not have"), "{}", e.problem);
        let e = explain("FailedBinding: no persistent volumes available for this claim and no storage class is set", &AT).expect("default sc");
        assert!(e.problem.contains("no default StorageClass"), "{}", e.problem);
        assert!(e.fix.contains("storageclass.kubernetes.io/is-default-class"));
        let e = explain("Pending: 0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.", &AT).expect("unbound");
        assert!(e.problem.contains("stays unbound"));
    }

    #[test]
    fn an_image_the_cluster_may_not_pull_needs_a_pull_secret() {
        let t = r#"ErrImagePull: Failed to pull image "registry.app.xxx.net/spm2fog/partsgo42:GitActionsNew-2e7e78f": rpc error: code = Unknown desc = failed to pull and unpack image: failed to resolve reference: pulling from host registry.app.xxx.net failed with status code [manifests GitActionsNew-2e7e78f]: 401 Unauthorized"#;
        let e = explain(t, &AT).expect("pull");
        assert_eq!(e.problem, "the cluster may not pull image `registry.app.xxx.net/spm2fog/partsgo42:GitActionsNew-2e7e78f`: the registry wants credentials and namespace `shop-alice` has no pull secret for it");
        assert!(e.fix.contains("create secret docker-registry devenv-pull --docker-server=registry.app.xxx.net"), "{}", e.fix);
        assert!(e.fix.contains("patch serviceaccount default"));
        // A pull failure that is not about credentials is not this.
        assert_eq!(explain(r#"ErrImagePull: Failed to pull image "x/y:1": not found"#, &AT), None);
        assert_eq!(explain("CrashLoopBackOff: back-off 10s restarting failed container", &AT), None);
    }
}
