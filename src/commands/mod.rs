//! One module per subcommand. Each returns how the process should exit.

pub mod build;
pub mod completions;
pub mod config;
pub mod context;
pub mod deploy;
pub mod doctor;
pub mod down;
pub mod export;
pub mod init;
pub mod profiles;
pub mod render;
pub mod smoke;
pub mod up;

use crate::cli::GlobalArgs;
use crate::project::{self, LoadOptions, Project};

/// The result of a command that ran to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The command worked but what it checked did not pass (exit 1).
    Failed,
}

pub fn load_project(global: &GlobalArgs) -> Result<Project, project::ConfigError> {
    let cwd = std::env::current_dir().map_err(|source| project::ConfigError::Read {
        path: ".".into(),
        source,
    })?;
    project::load(
        &LoadOptions {
            project_dir: global.project.clone(),
            profile: global.profile.clone(),
            sets: global.set.clone(),
        },
        &cwd,
    )
}
