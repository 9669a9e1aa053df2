//! Missing bind-mount sources, created before containers are (as compose does
//! for short-syntax binds and `bind.create_host_path`).
//!
//! Loading accepts such a missing source and never writes (`devenv config` is
//! read-only); a devenv.yaml bind source must exist at load, so only compose
//! binds reach here missing. Must not: talk to Docker.

use std::path::Path;

use crate::error::Error;
use crate::plan::Plan;
use crate::values::VolumeSpec;

/// Creates every missing bind-mount source of the plan as an empty directory.
pub fn ensure_bind_sources(plan: &Plan) -> Result<(), Error> {
    for (name, svc) in &plan.services {
        for v in &svc.volumes {
            let VolumeSpec::Bind { source, .. } = v else { continue };
            create_missing(source).map_err(|e| Error::Preflight {
                message: format!("service `{name}`: cannot create the bind-mount source {}: {e}", source.display()),
                hint: Some("create the directory yourself, or fix the volume's source path".into()),
            })?;
        }
    }
    Ok(())
}

fn create_missing(source: &Path) -> std::io::Result<()> {
    if source.exists() { Ok(()) } else { std::fs::create_dir_all(source) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_missing_bind_source_and_keeps_an_existing_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("data/nested");
        let file = dir.path().join("present.txt");
        std::fs::write(&file, "x").expect("write");
        let yaml = "services:\n  app:\n    image: x\n    volumes: [\"./present.txt:/p\"]\n";
        std::fs::write(dir.path().join("devenv.yaml"), yaml).expect("write");
        let opts = crate::config::LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() };
        let env = crate::config::load(&opts).expect("load");
        let mut plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default()).expect("resolve");
        let svc = plan.services.get_mut("app").expect("app");
        svc.volumes.push(VolumeSpec::Bind { source: missing.clone(), target: "/d".into(), read_only: false });
        ensure_bind_sources(&plan).expect("ensure");
        assert!(missing.is_dir());
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "x", "an existing source is left alone");
    }
}
