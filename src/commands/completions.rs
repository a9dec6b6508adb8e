use clap::CommandFactory;

use super::Outcome;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> Outcome {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "todo-dev",
        &mut std::io::stdout(),
    );
    Outcome::Success
}
