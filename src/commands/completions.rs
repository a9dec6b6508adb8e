use clap::CommandFactory;

use super::Outcome;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> Outcome {
    // Into memory first: clap_complete panics on a write error of its own.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "todo-dev", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    Outcome::Success
}
