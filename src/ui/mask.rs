//! Masking secrets before anything is shown.

/// Keys whose values are secrets.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"]
        .iter()
        .any(|s| k.contains(s))
}

/// `scheme://user:password@host` → `scheme://user:***@host`, anywhere in `s`.
pub fn mask_url_passwords(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        let after = &rest[i + 3..];
        let end = after.find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'').unwrap_or(after.len());
        let authority = &after[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon + 1]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The value to show for `key=value`.
pub fn mask_env_value(key: &str, value: &str) -> String {
    if is_secret_key(key) && !value.is_empty() {
        "***".to_string()
    } else {
        mask_url_passwords(value)
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
    fn masks_secret_keys() {
        assert_eq!(mask_env_value("POSTGRES_PASSWORD", "hunter2"), "***");
        assert_eq!(mask_env_value("API_KEY", "k"), "***");
        assert_eq!(mask_env_value("GREETING", "hi"), "hi");
        assert_eq!(mask_env_value("DATABASE_URL", "postgres://u:p@h/d"), "postgres://u:***@h/d");
    }
}
