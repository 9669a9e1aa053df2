use super::*;
use crate::plan::plan_of;

#[test]
fn snapshot_names_are_volume_safe() {
    for ok in ["seeded", "before-migration", "v1.2", "0_base"] {
        assert!(check_name(ok).is_ok(), "{ok}");
    }
    for bad in ["", "Seeded", "-x", "a/b", "a b", &"x".repeat(41)] {
        assert!(check_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn majors_come_from_the_tag() {
    assert_eq!(tag_major("postgres:16-alpine"), Some(16));
    assert_eq!(tag_major("clickhouse/clickhouse-server:24.8"), Some(24));
    assert_eq!(tag_major("registry:5000/pg:17.2"), Some(17));
    assert_eq!(tag_major("postgres"), None);
    assert_eq!(tag_major("postgres:latest"), None);
    assert_eq!(tag_major("postgres@sha256:abc"), None);
}

#[test]
fn a_restore_across_majors_is_refused_with_what_to_do() {
    assert!(check_version("db", "postgres:16-alpine", "postgres:16.4").is_ok());
    assert!(check_version("db", "postgres:16-alpine", "postgres:latest").is_ok(), "unknown: not refused");
    assert!(check_version("db", "postgres:16-alpine", "mirror/pg:17").is_ok(), "another repository: not comparable");
    let e = check_version("db", "postgres:16-alpine", "postgres:17-alpine").unwrap_err();
    let text = e.to_string();
    assert!(text.contains("major version 16") && text.contains("17"), "{text}");
}

#[test]
fn the_manifest_round_trips_through_its_labels() {
    let info = SnapshotInfo {
        name: "seeded".into(),
        created_at: "2026-12-03T12:00:00Z".into(),
        services: [("db".to_string(), "postgres:16-alpine".to_string()), ("cache".to_string(), "redis:7".to_string())].into_iter().collect(),
        size_kib: 4242,
        devenv_version: env!("CARGO_PKG_VERSION").into(),
    };
    let v = LabelledVolume { name: "p_snapshot_seeded".into(), labels: manifest_labels("p", &info) };
    assert_eq!(info_of(&v), info);
    assert_eq!(v.labels.get(labels::SNAPSHOT_OF).map(String::as_str), Some("p"));
    assert!(v.labels.get(labels::PROJECT).is_none(), "`down -v` removes by the project label: snapshots must not carry it");
}

#[test]
fn a_snapshot_holds_every_named_volume_and_nothing_else() {
    let plan = plan_of(
        "name: shop\nservices:\n  db:\n    preset: postgres\n    version: \"16\"\n  cache:\n    preset: redis\n    persist: false\n  api:\n    image: app:1\n    volumes: [\"uploads:/srv/uploads\", \"/etc/hostname:/h:ro\", \"/tmp/anon\"]\nvolumes:\n  uploads:\n",
    );
    let all = parts(&plan, &[]).expect("parts");
    let got: Vec<(&str, &str)> = all.iter().map(|p| (p.service.as_str(), p.target.as_str())).collect();
    assert_eq!(got, [("db", "/var/lib/postgresql/data"), ("api", "/srv/uploads")]);
    assert!(all.iter().all(|p| p.volume.starts_with("shop_")), "{all:?}");
    assert_eq!(parts(&plan, &["api".into()]).expect("api").len(), 1);
    assert!(parts(&plan, &["cache".into()]).unwrap_err().to_string().contains("nothing to snapshot"));
    assert!(parts(&plan, &["nope".into()]).unwrap_err().to_string().contains("no service `nope`"));
}

fn manifest(of: &str, project: &str, name: &str, id: &str) -> LabelledVolume {
    let mut labels: HashMap<String, String> = base_labels(project, name, "manifest");
    labels.remove(of_label(name));
    labels.insert(of.to_string(), project.to_string());
    labels.insert(SNAPSHOT_ID.to_string(), id.to_string());
    labels.insert(labels::CREATED_AT.to_string(), format!("2026-12-03T10:00:0{}Z", id.len() % 10));
    LabelledVolume { name: manifest_volume(project, name), labels }
}

#[test]
fn seeded_snapshots_have_their_own_label_and_their_templates_are_kept() {
    assert_eq!(of_label("base"), labels::SNAPSHOT_OF);
    assert_eq!(of_label(&seeded_name("db")), SEEDED_OF);
    let all = vec![
        manifest(labels::SNAPSHOT_OF, "p", "base", "base@1"),
        manifest(SEEDED_OF, "p", &seeded_name("db"), "_seeded.db@2"),
        manifest(labels::SNAPSHOT_OF, "other", "base", "base@3"),
    ];
    // In-server copies of both kinds survive a prune; another project's do not count.
    assert_eq!(ids_in(&all, "p"), vec!["base@1".to_string(), "_seeded.db@2".to_string()]);
    let (info, labels) = find_in(&all, "p", &seeded_name("db")).expect("the seeded one is found by its name");
    assert_eq!(info.name, "_seeded.db");
    assert_eq!(labels.get(SNAPSHOT_ID).map(String::as_str), Some("_seeded.db@2"));
    // An unknown name lists the user's snapshots, not the seeded ones.
    let err = find_in(&all, "p", "nope").expect_err("unknown").to_string();
    assert!(err.contains("no snapshot `nope` of project `p`"), "{err}");
    let Error::Usage { hint: Some(hint), .. } = find_in(&all, "p", "nope").expect_err("unknown") else { panic!("a usage error with a hint") };
    assert_eq!(hint, "snapshots: base");
}
