//! Every command's `--help` teaches by example.

use clap::CommandFactory;

/// `devenv k8s render`-style names of every (sub)command whose `after_help` lacks "Examples:".
fn commands_without_examples(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("{prefix} {}", sub.get_name());
        let has_examples = sub.get_after_help().or(sub.get_after_long_help()).is_some_and(|h| h.to_string().contains("Examples:"));
        if !has_examples {
            out.push(name.clone());
        }
        commands_without_examples(sub, &name, out);
    }
}

#[test]
fn every_subcommand_has_examples_in_its_help() {
    let mut missing = Vec::new();
    commands_without_examples(&super::Cli::command(), "devenv", &mut missing);
    assert!(
        missing.is_empty(),
        "these commands have no \"Examples:\" in their after_help (add #[command(after_help = \"Examples:\\n  …\")]):\n  {}",
        missing.join("\n  ")
    );
}
