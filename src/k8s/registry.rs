//! Images through a registry (`k8s.registry`, `--registry`): the names devenv
//! pushes built images under, and pointing the rendered manifests at them.
//!
//! A built service's image becomes `<registry>/<project>-<service>:<tag>`,
//! where the tag is the content hash of the image (the first 12 hex digits of
//! its id, the sha256 of its configuration — which names every layer), never
//! `latest`: an unchanged image has an unchanged tag, so it is not pushed
//! again, and a changed one gets a new tag, so pods roll. The manifests
//! reference `<repo>:<tag>@<digest>` once the registry reported the digest.
//! Also: the owner label a shared cluster's objects carry (`with_label`).
//! Pure: the pushing itself is the Docker layer's (`docker::Docker::push_image`).

use serde_json::Value;

use super::render::Rendered;
use super::spec::default_namespace;

/// The repository a service's image is pushed to: `<registry>/<project>-<service>`
/// (the last component a lowercase DNS-ish name).
pub fn repository(registry: &str, project: &str, service: &str) -> String {
    format!("{registry}/{}", default_namespace(&format!("{project}-{service}")))
}

/// The content tag of an image id (`sha256:0123…` → `0123456789ab`).
pub fn content_tag(image_id: &str) -> String {
    let hex = image_id.strip_prefix("sha256:").unwrap_or(image_id);
    hex.chars().filter(char::is_ascii_hexdigit).take(12).collect()
}

/// The reference the manifests use: `repo:tag@digest` (the tag for people, the digest for the kubelet).
pub fn pinned(repo: &str, tag: &str, digest: Option<&str>) -> String {
    match digest {
        Some(d) => format!("{repo}:{tag}@{d}"),
        None => format!("{repo}:{tag}"),
    }
}

impl Rendered {
    /// A copy whose every object (seed Jobs' too, not the namespace) carries the label
    /// `key: value` in its metadata; selectors and pod templates are left as rendered.
    pub fn with_label(&self, key: &str, value: &str) -> Rendered {
        let mut r = self.clone();
        let objects = r.services.iter_mut().flat_map(|s| s.objects.iter_mut().chain(s.seed.iter_mut().flat_map(|j| j.objects.iter_mut())));
        for o in objects {
            if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = meta.entry("labels").or_insert_with(|| Value::Object(Default::default()));
                if let Some(l) = labels.as_object_mut() {
                    l.insert(key.to_string(), Value::String(value.to_string()));
                }
            }
        }
        r
    }

    /// Point every container (and init container) whose image is `from` at `to`;
    /// returns how many were changed.
    pub fn use_image(&mut self, from: &str, to: &str) -> usize {
        let mut n = 0;
        for s in &mut self.services {
            for o in &mut s.objects {
                n += replace_images(o, from, to);
            }
            if let Some(job) = &mut s.seed {
                for o in &mut job.objects {
                    n += replace_images(o, from, to);
                }
            }
            if s.built_image.as_deref() == Some(from) {
                s.built_image = Some(to.to_string());
            }
        }
        n
    }
}

fn replace_images(v: &mut Value, from: &str, to: &str) -> usize {
    match v {
        Value::Object(m) => {
            let mut n = 0;
            for (k, x) in m.iter_mut() {
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(cs) = x
                {
                    for c in cs.iter_mut() {
                        if c.get("image").and_then(Value::as_str) == Some(from)
                            && let Some(o) = c.as_object_mut()
                        {
                            o.insert("image".into(), Value::String(to.to_string()));
                            n += 1;
                        }
                    }
                } else {
                    n += replace_images(x, from, to);
                }
            }
            n
        }
        Value::Array(a) => a.iter_mut().map(|x| replace_images(x, from, to)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags() {
        assert_eq!(repository("127.0.0.1:5000/team", "Shop_App", "api"), "127.0.0.1:5000/team/shop-app-api");
        assert_eq!(content_tag("sha256:b7505235ec0f1064d044168b3748a4cc5e1ecee69bdd1957878ad5da892f470a"), "b7505235ec0f");
        assert_eq!(pinned("r/x", "abc", Some("sha256:d")), "r/x:abc@sha256:d");
        assert_eq!(pinned("r/x", "abc", None), "r/x:abc");
    }

    #[test]
    fn only_the_matching_containers_change() {
        let mut v = serde_json::json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "p-api"}],
            "containers": [{"name": "a", "image": "p-api"}, {"name": "b", "image": "redis:7"}]}}}});
        assert_eq!(replace_images(&mut v, "p-api", "r/p-api:1@sha256:d"), 2);
        assert_eq!(v.pointer("/spec/template/spec/containers/0/image").and_then(Value::as_str), Some("r/p-api:1@sha256:d"));
        assert_eq!(v.pointer("/spec/template/spec/containers/1/image").and_then(Value::as_str), Some("redis:7"));
    }
}
