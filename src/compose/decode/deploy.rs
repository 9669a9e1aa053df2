//! Decoding of the resource keys (`cpus`, `pids_limit`) and of the `deploy`
//! parts devenv applies (`resources`, `restart_policy`); the other `deploy`
//! keys stay in the raw tree, where `unsupported` reports them.

use serde_yaml::Value;

use super::super::model::{Deploy, DeployResources, DeployRestartPolicy, ResourceAmounts};
use super::super::tree::YPath;
use super::{Decoder, R};

impl Decoder<'_> {
    /// A float written as a number or a string (`cpus: '0.5'`).
    pub(super) fn float(&self, v: &Value, p: &YPath) -> R<Option<f64>> {
        let n = match v {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        n.filter(|f| f.is_finite()).map(Some).ok_or_else(|| self.type_err(p, "a number", v))
    }

    /// A whole number written as a number or a string.
    pub(super) fn int(&self, v: &Value, p: &YPath) -> R<Option<i64>> {
        let n = match v {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        n.map(Some).ok_or_else(|| self.type_err(p, "a whole number", v))
    }

    pub(super) fn deploy(&self, v: &Value, p: &YPath) -> R<Option<Deploy>> {
        let Some(m) = self.map(v, p)? else { return Ok(None) };
        let mut d = Deploy::default();
        if let Some(r) = m.get("resources") {
            let rp = p.key("resources");
            if let Some(rm) = self.map(r, &rp)? {
                let limits = rm.get("limits").map(|l| self.amounts(l, &rp.key("limits"))).transpose()?.flatten();
                let reservations = rm.get("reservations").map(|l| self.amounts(l, &rp.key("reservations"))).transpose()?.flatten();
                d.resources = (limits.is_some() || reservations.is_some()).then_some(DeployResources { limits, reservations });
            }
        }
        if let Some(r) = m.get("restart_policy") {
            let rp = p.key("restart_policy");
            if let Some(rm) = self.map(r, &rp)? {
                let get = |k: &str| rm.get(k).unwrap_or(&Value::Null);
                d.restart_policy = Some(DeployRestartPolicy {
                    condition: self.string(get("condition"), &rp.key("condition"))?,
                    delay: self.duration(get("delay"), &rp.key("delay"))?,
                    max_attempts: self.int(get("max_attempts"), &rp.key("max_attempts"))?,
                    window: self.duration(get("window"), &rp.key("window"))?,
                });
            }
        }
        if let Some(r) = m.get("replicas") {
            d.replicas = self.int(r, &p.key("replicas"))?;
        }
        Ok((d != Deploy::default()).then_some(d))
    }

    fn amounts(&self, v: &Value, p: &YPath) -> R<Option<ResourceAmounts>> {
        let Some(m) = self.map(v, p)? else { return Ok(None) };
        let get = |k: &str| m.get(k).unwrap_or(&Value::Null);
        let a = ResourceAmounts {
            cpus: self.float(get("cpus"), &p.key("cpus"))?,
            memory: self.bytes(get("memory"), &p.key("memory"))?,
            pids: self.int(get("pids"), &p.key("pids"))?,
        };
        Ok((a != ResourceAmounts::default()).then_some(a))
    }
}
