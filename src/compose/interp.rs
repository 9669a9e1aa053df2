//! Interpolation of a compose document: every string value (not keys), with
//! compose's grammar (`yaml::interpolate`, [`Dialect::Compose`]), then the
//! type casts compose-go applies at known paths (`init: "${INIT:-true}"` is a
//! boolean, `retries: "3"` a number).

use serde_yaml::{Mapping, Number, Value};

use super::tree::YPath;
use crate::yaml::interpolate::{Dialect, Lookup, Warnings, interpolate_str_with};

/// How a string at a path is converted after interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cast {
    Int,
    Float,
    Bool,
    /// A file mode: `0440` (a leading zero) is octal, as compose's YAML 1.1
    /// parser reads it unquoted (serde_yaml keeps it a string); else decimal.
    Mode,
}

/// compose-go `loader/interpolate.go` `interpolateTypeCastMapping`.
const CASTS: &[(&str, Cast)] = &[
    ("services.*.configs.[].mode", Cast::Mode),
    ("services.*.cpu_count", Cast::Int),
    ("services.*.cpu_percent", Cast::Float),
    ("services.*.cpu_period", Cast::Int),
    ("services.*.cpu_quota", Cast::Int),
    ("services.*.cpu_rt_period", Cast::Int),
    ("services.*.cpu_rt_runtime", Cast::Int),
    ("services.*.cpus", Cast::Float),
    ("services.*.cpu_shares", Cast::Int),
    ("services.*.init", Cast::Bool),
    ("services.*.deploy.replicas", Cast::Int),
    ("services.*.deploy.update_config.parallelism", Cast::Int),
    ("services.*.deploy.update_config.max_failure_ratio", Cast::Float),
    ("services.*.deploy.rollback_config.parallelism", Cast::Int),
    ("services.*.deploy.rollback_config.max_failure_ratio", Cast::Float),
    ("services.*.deploy.restart_policy.max_attempts", Cast::Int),
    ("services.*.deploy.placement.max_replicas_per_node", Cast::Int),
    ("services.*.healthcheck.retries", Cast::Int),
    ("services.*.healthcheck.disable", Cast::Bool),
    ("services.*.oom_kill_disable", Cast::Bool),
    ("services.*.oom_score_adj", Cast::Int),
    ("services.*.pids_limit", Cast::Int),
    ("services.*.ports.[].target", Cast::Int),
    ("services.*.privileged", Cast::Bool),
    ("services.*.read_only", Cast::Bool),
    ("services.*.scale", Cast::Int),
    ("services.*.secrets.[].mode", Cast::Mode),
    ("services.*.build.secrets.[].mode", Cast::Mode),
    ("services.*.stdin_open", Cast::Bool),
    ("services.*.tty", Cast::Bool),
    ("services.*.ulimits.*", Cast::Int),
    ("services.*.ulimits.*.hard", Cast::Int),
    ("services.*.ulimits.*.soft", Cast::Int),
    ("services.*.volumes.[].read_only", Cast::Bool),
    ("services.*.volumes.[].volume.nocopy", Cast::Bool),
    ("networks.*.external", Cast::Bool),
    ("networks.*.internal", Cast::Bool),
    ("networks.*.attachable", Cast::Bool),
    ("networks.*.enable_ipv6", Cast::Bool),
    ("volumes.*.external", Cast::Bool),
    ("secrets.*.external", Cast::Bool),
    ("configs.*.external", Cast::Bool),
];

/// A failed interpolation or cast: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpError {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Interpolates `doc` in place. Collects "variable is not set" and YAML 1.1
/// boolean warnings.
pub fn interpolate_doc(doc: &mut Mapping, vars: &dyn Lookup, unset: &mut Warnings, warnings: &mut Vec<String>) -> Result<(), InterpError> {
    for (k, v) in doc.iter_mut() {
        if let Some(k) = k.as_str() {
            walk(v, &YPath::root().key(k), vars, unset, warnings)?;
        }
    }
    Ok(())
}

fn walk(v: &mut Value, path: &YPath, vars: &dyn Lookup, unset: &mut Warnings, warnings: &mut Vec<String>) -> Result<(), InterpError> {
    match v {
        Value::String(s) => {
            let out = if s.contains('$') {
                interpolate_str_with(s, vars, unset, Dialect::Compose).map_err(|(message, hint)| {
                    let hint = if message.starts_with("invalid interpolation") {
                        Some("compose reads `${NAME}`, `${NAME:-default}`, `${NAME?error}`…; write `$$` for a literal `$`".into())
                    } else {
                        hint.map(|_| "set it in the shell or in the .env file of the project directory".to_string())
                    };
                    InterpError { path: path.to_string(), message, hint }
                })?
            } else {
                s.clone()
            };
            *v = match cast_for(path) {
                Some(c) => cast(&out, c, path, warnings)?,
                None => Value::String(out),
            };
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &path.index(i), vars, unset, warnings)?;
            }
        }
        Value::Mapping(m) => {
            for (k, item) in m.iter_mut() {
                if let Some(k) = k.as_str() {
                    walk(item, &path.key(k), vars, unset, warnings)?;
                }
            }
        }
        Value::Tagged(t) => walk(&mut t.value, path, vars, unset, warnings)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

fn cast_for(path: &YPath) -> Option<Cast> {
    CASTS.iter().find(|(p, _)| path.matches(p)).map(|(_, c)| *c)
}

fn cast(s: &str, c: Cast, path: &YPath, warnings: &mut Vec<String>) -> Result<Value, InterpError> {
    let fail =
        |what: &str| InterpError { path: path.to_string(), message: format!("failed to cast to expected type: {what} {s:?}"), hint: None };
    match c {
        Cast::Int => s.parse::<i64>().map(|n| Value::Number(n.into())).map_err(|_| fail("not an integer:")),
        Cast::Mode if s.len() > 1 && s.starts_with('0') && !s.starts_with("0o") => {
            i64::from_str_radix(&s[1..], 8).map(|n| Value::Number(n.into())).map_err(|_| fail("not an octal file mode:"))
        }
        Cast::Mode => s.parse::<i64>().map(|n| Value::Number(n.into())).map_err(|_| fail("not an integer:")),
        Cast::Float => s.parse::<f64>().map(|f| Value::Number(Number::from(f))).map_err(|_| fail("not a number:")),
        Cast::Bool => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "y" | "yes" | "on" => {
                warnings.push(format!("{path}: {s:?} for boolean is not supported by YAML 1.2, please use `true`"));
                Ok(Value::Bool(true))
            }
            "n" | "no" | "off" => {
                warnings.push(format!("{path}: {s:?} for boolean is not supported by YAML 1.2, please use `false`"));
                Ok(Value::Bool(false))
            }
            _ => Err(InterpError {
                path: path.to_string(),
                message: format!("failed to cast to expected type: invalid boolean: {s}"),
                hint: Some("write true or false".into()),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn run(yaml: &str, env: &[(&str, &str)]) -> Result<(Mapping, Vec<String>), InterpError> {
        let mut doc: Mapping = serde_yaml::from_str(yaml).unwrap();
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = |n: &str| env.get(n).cloned();
        let mut unset = Warnings::default();
        let mut w = Vec::new();
        interpolate_doc(&mut doc, &lookup, &mut unset, &mut w)?;
        w.extend(unset.into_messages());
        Ok((doc, w))
    }

    #[test]
    fn casts_at_compose_paths() {
        let (d, w) = run(
            "services:\n  a:\n    init: ${INIT:-true}\n    tty: \"yes\"\n    healthcheck: {retries: \"${R}\"}\n    ports: [{target: \"80\"}]\n    ulimits: {nproc: \"10\", nofile: {soft: \"1\"}}\n    image: \"${R}\"\n",
            &[("R", "3")],
        )
        .unwrap();
        let a = &d["services"]["a"];
        assert_eq!(a["init"], Value::Bool(true));
        assert_eq!(a["tty"], Value::Bool(true));
        assert_eq!(a["healthcheck"]["retries"], Value::Number(3.into()));
        assert_eq!(a["ports"][0]["target"], Value::Number(80.into()));
        assert_eq!(a["ulimits"]["nproc"], Value::Number(10.into()));
        assert_eq!(a["ulimits"]["nofile"]["soft"], Value::Number(1.into()));
        assert_eq!(a["image"], Value::String("3".into()), "no cast outside the known paths");
        assert!(w.iter().any(|m| m.contains("services.a.tty") && m.contains("YAML 1.2")), "{w:?}");
    }

    #[test]
    fn errors_name_the_path() {
        let e = run("services:\n  a:\n    environment:\n      P: ${DB_PASS:?set the password}\n", &[]).unwrap_err();
        assert_eq!(e.path, "services.a.environment.P");
        assert_eq!(e.message, "required variable DB_PASS is missing a value: set the password");
        let e = run("services:\n  a:\n    ports: [\"1\", \"${db.url}\"]\n", &[]).unwrap_err();
        assert_eq!(e.path, "services.a.ports[1]");
        assert!(e.message.contains("invalid interpolation"), "{}", e.message);
        let e = run("services:\n  a:\n    privileged: maybe\n", &[]).unwrap_err();
        assert!(e.message.contains("invalid boolean"), "{}", e.message);
        let e = run("services:\n  a:\n    healthcheck: {retries: x}\n", &[]).unwrap_err();
        assert!(e.message.contains("failed to cast"), "{}", e.message);
    }

    #[test]
    fn keys_are_not_interpolated_and_unset_warns() {
        let (d, w) = run("services:\n  a:\n    environment:\n      $K: ${NOPE}\n", &[]).unwrap();
        assert_eq!(d["services"]["a"]["environment"]["$K"], Value::String(String::new()));
        assert!(w.iter().any(|m| m.contains("NOPE")), "{w:?}");
    }
}
