//! Platforms as compose and Docker write them (`linux/amd64`, `arm64`,
//! `linux/arm/v7`): normalized the way containerd's `platforms.Normalize`
//! does, so `x86_64` and `amd64`, `aarch64` and `arm64/v8` compare equal.

/// `os/arch[/variant]`, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`, `amd64` (os `linux`), `LINUX/x86_64`, `linux/arm64/v8`.
    pub fn parse(text: &str) -> Option<Platform> {
        let lower = text.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [arch] if !arch.is_empty() => ("linux", *arch, None),
            [os, arch] if !os.is_empty() && !arch.is_empty() => (*os, *arch, None),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() => (*os, *arch, Some(*variant)),
            _ => return None,
        };
        let arch = match arch {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            "i386" | "i686" => "386",
            "armhf" | "armv7l" => "arm",
            other => other,
        };
        // arm64's only variant is v8; amd64/v1 is plain amd64 (containerd drops both).
        let variant = variant.filter(|v| !v.is_empty() && !matches!((arch, *v), ("arm64", "v8") | ("amd64", "v1")));
        Some(Platform { os: os.to_string(), arch: arch.to_string(), variant: variant.map(str::to_string) })
    }

    /// The engine's platform from `docker info`'s `OSType` and `Architecture` (`linux`, `x86_64`).
    pub fn of_engine(os_type: &str, architecture: &str) -> Option<Platform> {
        Platform::parse(&format!("{os_type}/{architecture}"))
    }

    /// Whether an image for `self` runs natively where `engine` is (a variant
    /// the engine does not name is taken to match: `linux/arm/v7` on an `arm` engine).
    pub fn runs_on(&self, engine: &Platform) -> bool {
        self.os == engine.os && self.arch == engine.arch && (engine.variant.is_none() || self.variant == engine.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Platform;

    #[test]
    fn platforms_are_normalized_like_containerd() {
        let p = |s: &str| Platform::parse(s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(p("linux/amd64"), p("LINUX/x86_64"));
        assert_eq!(p("amd64"), p("linux/amd64"));
        assert_eq!(p("linux/arm64/v8"), p("linux/aarch64"));
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
        assert_ne!(p("linux/arm64"), p("linux/amd64"));
        assert_eq!(Platform::parse(""), None);
        assert_eq!(Platform::parse("a/b/c/d"), None);
        let engine = Platform::of_engine("linux", "x86_64").expect("engine");
        assert!(p("linux/amd64").runs_on(&engine));
        assert!(!p("linux/arm64").runs_on(&engine));
        assert!(!p("windows/amd64").runs_on(&engine));
    }
}
