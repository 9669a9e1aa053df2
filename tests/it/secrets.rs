//! Secret values the file knows are masked wherever output leaves devenv
//! (issue 14 item 10): a failing service's own log lines in the error and the
//! JUnit report, `devenv config` when the value also appears in `command`,
//! and `devenv logs`. `devenv env` still prints connection values.

use crate::harness::*;

const SECRET: &str = "Zq8-vault-77";

fn yaml(command: &str) -> String {
    format!("name: {{project}}\nservices:\n  api:\n    image: devenv-test/app:1\n    env:\n      DB_PASSWORD: {SECRET}\n      GREETING: hello\n    command: {command}\n")
}

#[track_caller]
fn hides_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret value:\n{text}");
}

#[test]
fn a_failing_service_printing_its_password_is_masked_in_the_error_and_junit() {
    if !docker_ready() {
        return;
    }
    let command = r#"["sh", "-c", "echo connecting with $$DB_PASSWORD; echo DB_PASSWORD=$$DB_PASSWORD; exit 1"]
    health: {tcp: 9999}"#;
    let p = Project::new("secret-up", &yaml(command));
    let junit = p.dir.path().join("junit.xml");
    let r = p.run(&["up", "-d", "--junit", junit.to_str().expect("utf-8 path")]);
    r.code(6);
    hides_secret("stderr of up", &r.stderr);
    hides_secret("stdout of up", &r.stdout);
    r.stderr_has("connecting with ***").stderr_has("DB_PASSWORD=***");
    let xml = std::fs::read_to_string(&junit).expect("junit report written");
    hides_secret("the JUnit report", &xml);
    assert!(xml.contains("api | connecting with ***"), "the log line is in the report, masked:\n{xml}");

    let json = p.run(&["--progress", "json", "up", "-d"]);
    json.code(6);
    hides_secret("JSON events and error", &json.stdout);
    hides_secret("stderr with --progress json", &json.stderr);
}

#[test]
fn config_masks_a_secret_value_that_also_appears_in_command() {
    let p = Project::new("secret-config", &yaml(&format!(r#"["sh", "-c", "mysql --password={SECRET} -e 'select 1'"]"#)));
    for format in ["yaml", "json"] {
        let r = p.run(&["config", "--format", format]);
        r.ok();
        hides_secret(&format!("config --format {format}"), &r.stdout);
        r.stdout_has("--password=***").stdout_has("hello");
    }
    let r = p.run(&["config", "--plan"]);
    r.ok();
    hides_secret("config --plan", &r.stdout);
    // The masked output is still valid YAML.
    let r = p.run(&["config"]);
    serde_yaml::from_str::<serde_yaml::Value>(&r.stdout).expect("config prints YAML");
}

#[test]
fn logs_mask_a_secret_value_the_service_prints() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("secret-logs", &yaml(r#"["sh", "-c", "echo token is $$DB_PASSWORD; echo hello world; sleep 300"]"#));
    p.run(&["up", "-d"]).ok();
    let mut r = p.run(&["logs", "api"]);
    for _ in 0..50 {
        if r.stdout.contains("hello world") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        r = p.run(&["logs", "api"]);
    }
    r.ok().stdout_has("token is ***").stdout_has("hello world");
    hides_secret("logs", &r.stdout);
    // `docker logs` has it: devenv masked it.
    let container = p.docker_objects("container").into_iter().next().expect("the api container");
    let raw = std::process::Command::new("docker").args(["logs", &container]).output().expect("docker logs");
    assert!(String::from_utf8_lossy(&raw.stdout).contains(SECRET), "the service did print the value");
}

#[test]
fn an_empty_url_password_is_shown_as_written() {
    let p = Project::new(
        "secret-empty",
        "services:\n  api:\n    image: devenv-test/app:1\n    env:\n      REDIS_URL: \"redis://:@redis:6379/0\"\n      DB_PASSWORD: \"\"\n",
    );
    let r = p.run(&["config"]);
    r.ok().stdout_has("redis://:@redis:6379/0");
    assert!(!r.stdout.contains("redis://:***@"), "{}", r.stdout);
}

/// `devenv env` exists to print connection values: it still prints the secret
/// (stdout), while `config` masks the same value.
#[test]
fn env_still_prints_the_values_it_exists_to_print() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("secret-env", &format!("services:\n  api:\n    image: devenv-test/app:1\nexport:\n  API_TOKEN: {SECRET}\n  GREETING_COPY: {SECRET}-and-more\n"));
    let r = p.run(&["env", "--format", "json"]);
    r.ok();
    let vars: std::collections::HashMap<String, String> = serde_json::from_str(&r.stdout).expect("env --format json");
    assert_eq!(vars.get("API_TOKEN").map(String::as_str), Some(SECRET), "{}", r.stdout);
    assert_eq!(vars.get("GREETING_COPY").map(String::as_str), Some(format!("{SECRET}-and-more").as_str()));
    hides_secret("stderr of env", &r.stderr);
    let c = p.run(&["config"]);
    c.ok().stdout_has("GREETING_COPY: '***-and-more'");
    hides_secret("config", &c.stdout);
}
