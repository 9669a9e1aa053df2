//! `devenv completions SHELL`: a completion script for the shell, on stdout.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::error::{exit, Error};

/// `devenv completions --help`: examples and how to install each script.
pub const AFTER_HELP: &str = "Examples:
  devenv completions bash > ~/.local/share/bash-completion/completions/devenv
  source <(devenv completions zsh)      try it in the current shell first

Install:
  bash        devenv completions bash > ~/.local/share/bash-completion/completions/devenv
  zsh         devenv completions zsh > ~/.zfunc/_devenv
              (with `fpath+=~/.zfunc; autoload -Uz compinit; compinit` in ~/.zshrc)
  fish        devenv completions fish > ~/.config/fish/completions/devenv.fish
  powershell  devenv completions powershell >> $PROFILE
  elvish      devenv completions elvish >> ~/.config/elvish/rc.elv

Open a new shell afterwards; re-run after upgrading devenv to pick up new commands.";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "devenv", &mut out);
    out
}

pub fn run(args: CompletionsArgs) -> Result<u8, Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script(args.shell)).and_then(|_| stdout.flush()) {
        Ok(()) => Ok(exit::OK),
        // `devenv completions zsh | head`: a closed pipe is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(e) => Err(Error::Other(format!("cannot write the completion script: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        let subcommands: Vec<String> = super::super::Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect();
        assert!(subcommands.len() >= 10, "{subcommands:?}");
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell, Shell::Elvish] {
            let text = String::from_utf8(script(shell)).expect("a completion script is text");
            assert!(text.len() > 500, "{shell}: suspiciously short script:\n{text}");
            for sub in &subcommands {
                assert!(text.contains(sub.as_str()), "{shell}: the script does not mention `{sub}`");
            }
            assert!(text.contains("project-name") && text.contains("preset"), "{shell}: options are missing");
        }
    }
}
