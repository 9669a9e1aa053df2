//! The project's networks and volumes before any container is created:
//! `external` networks must exist (a pre-flight failure otherwise, with nothing
//! created yet); the others, and the named volumes the services use, are
//! created with the project's labels (`down` removes them). An object of the
//! same name without those labels is never reused.

use crate::docker::{Docker, Ensured, NetworkSpec};
use crate::error::Error;
use crate::plan::Plan;
use crate::plan::resolve::ResolvedNetwork;

/// The networks the `wanted` services join, each once, in first-use order.
pub fn used<'p>(plan: &'p Plan, wanted: &[String]) -> Vec<(&'p str, &'p ResolvedNetwork)> {
    let mut out: Vec<(&str, &ResolvedNetwork)> = Vec::new();
    for svc in wanted.iter().filter_map(|s| plan.services.get(s)) {
        for a in &svc.networks {
            if out.iter().any(|(k, _)| *k == a.name) {
                continue;
            }
            if let Some((key, net)) = plan.networks.get_key_value(&a.name) {
                out.push((key.as_str(), net));
            }
        }
    }
    out
}

/// Check the external networks, then create the project's own.
pub async fn prepare(docker: &Docker, plan: &Plan, wanted: &[String]) -> Result<(), Error> {
    let nets = used(plan, wanted);
    for (key, net) in nets.iter().filter(|(_, n)| n.external) {
        if !docker.network_exists(&net.name).await? {
            return Err(Error::Preflight {
                message: format!("network `{key}` is declared `external: true`, but no Docker network named `{}` exists", net.name),
                hint: Some(format!(
                    "create it first (`docker network create {}`), or remove `external: true` from `networks.{key}` to let devenv create and remove it",
                    net.name
                )),
            });
        }
    }
    for (_, net) in nets.iter().filter(|(_, n)| !n.external) {
        let spec = NetworkSpec { name: net.name.clone(), driver: net.driver.clone(), internal: net.internal, labels: net.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect() };
        if docker.ensure_project_network(&spec, &plan.project).await? == Ensured::Foreign {
            let (name, project) = (&net.name, &plan.project);
            return Err(Error::Preflight {
                message: format!("a network named `{name}` exists but was not created by devenv for project `{project}`"),
                hint: Some("devenv never touches objects without its labels: remove or rename that network, pick another project name with -p, or declare it `external: true` to use it as it is".into()),
            });
        }
    }
    Ok(())
}

/// Create the named volumes the `wanted` services mount.
pub async fn prepare_volumes(docker: &Docker, plan: &Plan, wanted: &[String]) -> Result<(), Error> {
    for (name, docker_name) in &plan.volumes {
        let used = wanted.iter().filter_map(|s| plan.services.get(s)).any(|s| {
            s.volumes.iter().any(|v| matches!(v, crate::config::VolumeSpec::Named { name: n, .. } if n == name))
        });
        if used && docker.ensure_volume(docker_name, &plan.project, name).await? == Ensured::Foreign {
            let project = &plan.project;
            return Err(Error::Preflight {
                message: format!("a volume named `{docker_name}` exists but does not belong to devenv project `{project}`"),
                hint: Some("devenv will not reuse data it did not create: remove that volume yourself, or choose another project name with -p".into()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load};
    use crate::plan::{ImageMap, resolve};

    #[test]
    fn used_networks_in_first_use_order_each_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = "name: p\nnetworks:\n  front:\n  back: {name: shared-back}\n  ext: {external: true}\n  unused:\nservices:\n  web:\n    image: x\n    networks: [front, back]\n  db:\n    image: x\n    networks: [back, default]\n  lone:\n    image: x\n    networks: [ext]\n";
        std::fs::write(dir.path().join("devenv.yaml"), yaml).expect("write");
        let env = load(&LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() }).expect("load");
        let plan = resolve(&env, &ImageMap::default()).expect("resolve");
        let names = |wanted: &[&str]| -> Vec<String> {
            let w: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
            used(&plan, &w).into_iter().map(|(_, n)| n.name.clone()).collect()
        };
        assert_eq!(names(&["web", "db"]), vec!["p_front", "shared-back", "p_default"]);
        assert_eq!(names(&["db"]), vec!["shared-back", "p_default"]);
        let ext = used(&plan, &["lone".to_string()]);
        assert_eq!(ext.len(), 1);
        assert!(ext[0].1.external);
        assert_eq!(ext[0].1.name, "ext", "an external network is found by its key");
    }
}
