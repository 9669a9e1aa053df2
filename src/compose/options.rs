//! What loading a file needs from the outside world (kept explicit for tests):
//! shared by the compose loader and `config::load`, which re-exports it.

use std::collections::HashMap;
use std::path::PathBuf;

/// What the loader needs from the outside world (kept explicit for tests).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f FILE`; default: `devenv.yaml` in `cwd`, else a compose file.
    pub file: Option<PathBuf>,
    /// Further `-f` files (compose files only: merged over `file` in order).
    pub more_files: Vec<PathBuf>,
    /// `-p NAME`; overrides `name:` and the directory name.
    pub project: Option<String>,
    /// `--profile` values (services with no `profiles` always run).
    pub profiles: Vec<String>,
    pub cwd: PathBuf,
    /// The process environment (interpolation reads this first, then `.env`).
    pub environ: HashMap<String, String>,
}
