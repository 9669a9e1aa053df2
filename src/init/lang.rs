//! The language of an app `init` found (shared by `detect` and `generate`,
//! so neither imports the other for it).

use crate::preset::Ecosystem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Node,
    Rust,
    Python,
    Go,
    /// Only a Dockerfile.
    Other,
}

impl Lang {
    /// The package ecosystem presets name their client libraries in.
    pub fn ecosystem(self) -> Option<Ecosystem> {
        match self {
            Lang::Node => Some(Ecosystem::Node),
            Lang::Rust => Some(Ecosystem::Rust),
            Lang::Python => Some(Ecosystem::Python),
            Lang::Go => Some(Ecosystem::Go),
            Lang::Other => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lang::Node => "node",
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Go => "go",
            Lang::Other => "docker",
        }
    }

    pub(super) fn source_extensions(self) -> &'static [&'static str] {
        match self {
            Lang::Node => &["js", "mjs", "cjs", "ts", "mts", "jsx", "tsx"],
            Lang::Rust => &["rs"],
            Lang::Python => &["py"],
            Lang::Go => &["go"],
            Lang::Other => &["js", "ts", "py", "rs", "go", "rb", "java", "kt", "php", "sh"],
        }
    }
}
