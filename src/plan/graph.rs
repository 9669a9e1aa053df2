//! The dependency graph: validation (cycles), start order and stop order.
//!
//! Pure: no Docker, no I/O.

use std::collections::{BTreeMap, BTreeSet};

/// A cycle in `depends_on`, as the path that closes it (`["api", "db", "api"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<String>);

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" -> "))
    }
}

/// Services and the services each depends on. Deterministic (sorted).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    deps: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    pub fn new<'a>(edges: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Self {
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (svc, ds) in edges {
            let entry = deps.entry(svc.to_string()).or_default();
            for d in ds {
                entry.insert(d.to_string());
            }
        }
        // Make sure every dependency is a node too.
        let all: Vec<String> = deps.values().flatten().cloned().collect();
        for d in all {
            deps.entry(d).or_default();
        }
        Graph { deps }
    }

    pub fn dependencies(&self, svc: &str) -> impl Iterator<Item = &str> {
        self.deps.get(svc).into_iter().flatten().map(String::as_str)
    }

    pub fn dependents<'a>(&'a self, svc: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.deps.iter().filter(move |(_, ds)| ds.contains(svc)).map(|(s, _)| s.as_str())
    }

    /// The first cycle found, in a stable order.
    pub fn find_cycle(&self) -> Option<Cycle> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut mark: BTreeMap<&str, Mark> = self.deps.keys().map(|k| (k.as_str(), Mark::New)).collect();
        let mut stack: Vec<&str> = Vec::new();

        fn visit<'a>(
            g: &'a Graph,
            n: &'a str,
            mark: &mut BTreeMap<&'a str, Mark>,
            stack: &mut Vec<&'a str>,
        ) -> Option<Cycle> {
            mark.insert(n, Mark::Active);
            stack.push(n);
            for d in g.dependencies(n) {
                match mark.get(d).copied().unwrap_or(Mark::New) {
                    Mark::Active => {
                        let start = stack.iter().position(|s| *s == d).unwrap_or(0);
                        let mut path: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                        path.push(d.to_string());
                        return Some(Cycle(path));
                    }
                    Mark::New => {
                        if let Some(c) = visit(g, d, mark, stack) {
                            return Some(c);
                        }
                    }
                    Mark::Done => {}
                }
            }
            stack.pop();
            mark.insert(n, Mark::Done);
            None
        }

        let keys: Vec<&str> = self.deps.keys().map(String::as_str).collect();
        for k in keys {
            if mark.get(k) == Some(&Mark::New)
                && let Some(c) = visit(self, k, &mut mark, &mut stack) {
                    return Some(c);
                }
        }
        None
    }

    /// Dependencies before dependents (leaves first). Requires an acyclic graph.
    pub fn start_order(&self) -> Result<Vec<String>, Cycle> {
        if let Some(c) = self.find_cycle() {
            return Err(c);
        }
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::new();
        while order.len() < self.deps.len() {
            let ready: Vec<&str> = self
                .deps
                .iter()
                .filter(|(svc, ds)| !done.contains(svc.as_str()) && ds.iter().all(|d| done.contains(d.as_str())))
                .map(|(svc, _)| svc.as_str())
                .collect();
            if ready.is_empty() {
                break;
            }
            for s in ready {
                done.insert(s);
                order.push(s.to_string());
            }
        }
        Ok(order)
    }

    /// Everything that depends on `roots`, directly or transitively (the roots
    /// themselves only when one depends on another).
    pub fn dependents_closure(&self, roots: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = roots.to_vec();
        while let Some(s) = todo.pop() {
            for d in self.dependents(&s) {
                if out.insert(d.to_string()) {
                    todo.push(d.to_string());
                }
            }
        }
        out
    }

    /// `roots` plus everything they transitively depend on.
    pub fn closure(&self, roots: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = roots.to_vec();
        while let Some(s) = todo.pop() {
            if out.insert(s.clone()) {
                todo.extend(self.dependencies(&s).map(str::to_string));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_is_printed_as_a_path() {
        let g = Graph::new([("api", vec!["db"]), ("db", vec!["api"]), ("web", vec!["api"])]);
        assert_eq!(g.find_cycle().map(|c| c.to_string()), Some("api -> db -> api".to_string()));
        assert!(g.start_order().is_err());
    }

    #[test]
    fn self_cycle() {
        let g = Graph::new([("a", vec!["a"])]);
        assert_eq!(g.find_cycle().map(|c| c.to_string()).as_deref(), Some("a -> a"));
    }

    #[test]
    fn longer_cycle_found() {
        let g = Graph::new([("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec![])]);
        assert_eq!(g.find_cycle().map(|c| c.to_string()).as_deref(), Some("a -> b -> c -> a"));
    }

    #[test]
    fn start_order_puts_dependencies_first() {
        let g = Graph::new([("api", vec!["db", "cache"]), ("db", vec![]), ("cache", vec![]), ("web", vec!["api"])]);
        let order = g.start_order().unwrap_or_default();
        let pos = |s: &str| order.iter().position(|x| x == s).unwrap_or(usize::MAX);
        assert!(pos("db") < pos("api"));
        assert!(pos("cache") < pos("api"));
        assert!(pos("api") < pos("web"));
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn closure_follows_dependencies() {
        let g = Graph::new([("api", vec!["db"]), ("db", vec![]), ("web", vec!["api"]), ("other", vec![])]);
        let c = g.closure(&["web".to_string()]);
        assert_eq!(c.into_iter().collect::<Vec<_>>(), vec!["api", "db", "web"]);
        assert_eq!(g.dependents("db").collect::<Vec<_>>(), vec!["api"]);
    }

    #[test]
    fn dependents_closure_follows_dependents_transitively() {
        let g = Graph::new([("api", vec!["migrate"]), ("migrate", vec!["db"]), ("db", vec![]), ("web", vec!["api"]), ("other", vec!["cache"])]);
        let d = g.dependents_closure(&["db".to_string()]);
        assert_eq!(d.into_iter().collect::<Vec<_>>(), vec!["api", "migrate", "web"]);
        assert!(g.dependents_closure(&["web".to_string()]).is_empty());
    }
}
