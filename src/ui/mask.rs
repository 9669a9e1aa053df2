//! Masking secrets before anything is shown: values of secret-looking keys,
//! passwords in URLs, and — like CI systems mask their secrets — every
//! occurrence of a secret value the loaded file knows, in every line devenv
//! emits (progress, JSON events, errors, logs, JUnit, `config`).
//!
//! An empty value is never masked (there is nothing to hide), and a value
//! shorter than [`MIN_VALUE_LEN`] characters is not masked by value (it would
//! hide every `1` or `on` in the output); its key is still masked.

/// Values shorter than this (in characters) are not masked where they occur in text.
pub const MIN_VALUE_LEN: usize = 4;

const MASK: &str = "***";

/// Keys whose values are secrets.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"]
        .iter()
        .any(|s| k.contains(s))
}

/// The byte ranges of the non-empty passwords of every `scheme://user:password@host` in `s`.
fn url_password_ranges(s: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("://") {
        let start = from + i + 3;
        let after = &s[start..];
        let end = after.find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'').unwrap_or(after.len());
        let authority = &after[..end];
        if let (Some(at), Some(colon)) = (authority.rfind('@'), authority.find(':'))
            && colon + 1 < at
        {
            out.push(start + colon + 1..start + at);
        }
        from = start + end;
    }
    out
}

/// `scheme://user:password@host` → `scheme://user:***@host`, anywhere in `s`
/// (an empty password, `redis://:@host`, stays as written).
pub fn mask_url_passwords(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for r in url_password_ranges(s) {
        out.push_str(&s[last..r.start]);
        out.push_str(MASK);
        last = r.end;
    }
    out.push_str(&s[last..]);
    out
}

/// The value to show for `key=value`.
pub fn mask_env_value(key: &str, value: &str) -> String {
    if is_secret_key(key) && !value.is_empty() {
        MASK.to_string()
    } else {
        mask_url_passwords(value)
    }
}

/// The secret values known to one run, masked wherever they occur in output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Longest first, so a secret that contains another is masked whole.
    values: Vec<String>,
}

impl Secrets {
    /// The secrets among `key=value` pairs: the value of a secret-looking key,
    /// and the password of every URL in any value.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut s = Secrets::default();
        for (key, value) in pairs {
            if is_secret_key(key) {
                s.add(value);
            }
            for r in url_password_ranges(value) {
                s.add(&value[r]);
            }
        }
        s
    }

    /// Know `value` as a secret (ignored when empty or shorter than [`MIN_VALUE_LEN`]).
    pub fn add(&mut self, value: &str) {
        if value.chars().count() < MIN_VALUE_LEN || value == MASK || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_string());
        self.values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Forget the secrets among `public`: values shown openly anyway (a project or
    /// service name, a user name, the value of a key that is not secret).
    pub fn forget<'a>(&mut self, public: impl IntoIterator<Item = &'a str>) {
        for p in public {
            self.values.retain(|v| v != p);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with URL passwords and every known secret value replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = mask_url_passwords(text);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    /// Every string in a JSON value masked (keys too).
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = self.mask(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.mask_json(&mut v);
                    map.insert(self.mask(&k), v);
                }
            }
            _ => {}
        }
    }

    /// Every string in a YAML value masked (mapping keys too), in order.
    pub fn mask_yaml(&self, value: &mut serde_yaml::Value) {
        use serde_yaml::Value;
        match value {
            Value::String(s) => *s = self.mask(s),
            Value::Sequence(items) => items.iter_mut().for_each(|v| self.mask_yaml(v)),
            Value::Mapping(map) => {
                let entries = std::mem::take(map);
                for (mut k, mut v) in entries {
                    self.mask_yaml(&mut k);
                    self.mask_yaml(&mut v);
                    map.insert(k, v);
                }
            }
            Value::Tagged(t) => self.mask_yaml(&mut t.value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_urls() {
        assert_eq!(mask_url_passwords("postgres://app:s3cr3t@db:5432/app"), "postgres://app:***@db:5432/app");
        assert_eq!(mask_url_passwords("x redis://:pw@cache:6379 y"), "x redis://:***@cache:6379 y");
        assert_eq!(mask_url_passwords("http://host:8080/path"), "http://host:8080/path");
        assert_eq!(mask_url_passwords("no url"), "no url");
    }

    #[test]
    fn an_empty_url_password_is_not_masked() {
        assert_eq!(mask_url_passwords("redis://:@redis:6379/0"), "redis://:@redis:6379/0");
        assert_eq!(mask_url_passwords("postgres://u:@db/x and http://a:b@c"), "postgres://u:@db/x and http://a:***@c");
        assert_eq!(mask_env_value("REDIS_URL", "redis://:@redis:6379/0"), "redis://:@redis:6379/0");
        assert_eq!(Secrets::from_pairs([("REDIS_URL", "redis://:@redis:6379/0")]), Secrets::default());
    }

    #[test]
    fn masks_secret_keys() {
        assert_eq!(mask_env_value("POSTGRES_PASSWORD", "hunter2"), "***");
        assert_eq!(mask_env_value("API_KEY", "k"), "***");
        assert_eq!(mask_env_value("GREETING", "hi"), "hi");
        assert_eq!(mask_env_value("DATABASE_URL", "postgres://u:p@h/d"), "postgres://u:***@h/d");
        assert_eq!(mask_env_value("DB_PASSWORD", ""), "", "an empty value stays empty");
    }

    #[test]
    fn known_secret_values_are_masked_wherever_they_occur() {
        let s = Secrets::from_pairs([
            ("DB_PASSWORD", "hunter22"),
            ("GREETING", "hello"),
            ("DATABASE_URL", "postgres://app:pa%40ss@db/app"),
            ("API_TOKEN", "hunter22-long"),
        ]);
        assert_eq!(s.mask("api | connecting with hunter22 as app"), "api | connecting with *** as app");
        assert_eq!(s.mask("DB_PASSWORD=hunter22;"), "DB_PASSWORD=***;");
        assert_eq!(s.mask("token hunter22-long!"), "token ***!", "the longer secret is masked whole");
        assert_eq!(s.mask("said pa%40ss twice: pa%40ss"), "said *** twice: ***", "a URL's password, outside its URL too");
        assert_eq!(s.mask("hello world"), "hello world", "a value of a non-secret key is shown");
        assert_eq!(s.mask("mysql://x:other@h/d"), "mysql://x:***@h/d", "URL passwords stay masked");
    }

    #[test]
    fn empty_and_very_short_values_are_not_masked_by_value() {
        let s = Secrets::from_pairs([("DB_PASSWORD", ""), ("PIN_SECRET", "1"), ("API_KEY", "abc"), ("TOKEN", "abcd")]);
        assert_eq!(s.mask("a 1 abc b"), "a 1 abc b");
        assert_eq!(s.mask("xabcdx"), "x***x");
        assert!(Secrets::from_pairs([("PASSWORD", "")]).is_empty());
        assert_eq!(MIN_VALUE_LEN, 4, "README.md documents the length");
    }

    #[test]
    fn values_shown_openly_are_not_masked_by_value() {
        let mut s = Secrets::from_pairs([("MYSQL_PASSWORD", "wordpress"), ("MYSQL_ROOT_PASSWORD", "r00t-pw")]);
        s.forget(["wordpress", "db"]);
        assert_eq!(s.mask("project wordpress: r00t-pw"), "project wordpress: ***");
        assert_eq!(mask_env_value("MYSQL_PASSWORD", "wordpress"), "***", "its key is still masked");
    }

    #[test]
    fn masks_json_strings_and_keys() {
        let s = Secrets::from_pairs([("SECRET", "s3cr3t-v")]);
        let mut v = serde_json::json!({"message": "boom s3cr3t-v", "detail": ["a", "s3cr3t-v"], "n": 1, "s3cr3t-v": true});
        s.mask_json(&mut v);
        assert_eq!(v, serde_json::json!({"message": "boom ***", "detail": ["a", "***"], "n": 1, "***": true}));
    }
}
