//! One module per subcommand. Each sequences the pipeline (or its own small
//! job) and decides, at its border, how the process exits: 0 success, 1 the
//! command ran and found a problem, 2 the call or the configuration is wrong.

pub mod build;
pub mod completions;
pub mod config;
pub mod context;
pub mod deploy;
pub mod doctor;
pub mod down;
pub mod export;
pub mod init;
pub mod live;
pub mod logs;
pub mod profiles;
pub mod render;
pub mod smoke;
pub mod up;
pub mod verify;
pub mod watch;

use crate::cli::{GlobalArgs, TargetArgs};
use crate::cluster::kube::ConnectError;
use crate::deploy::plan::PlanError;
use crate::pipeline::cancel::Cancel;
use crate::pipeline::deploy::Target;
use crate::pipeline::PipelineError;
use crate::project::{self, LoadOptions, Project};
use crate::UsageError;

/// The result of a command that ran to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The command worked but what it checked did not pass (exit 1).
    Failed,
}

/// A command that stopped early, with the exit code its command chose.
#[derive(Debug)]
pub struct CommandError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CommandError {
    /// Exit 2: what the user must change in how todo-dev is called or configured.
    pub fn usage(error: impl Into<anyhow::Error>) -> CommandError {
        CommandError {
            code: 2,
            error: error.into(),
        }
    }

    /// Exit 1: the command ran and something failed.
    pub fn failed(error: impl Into<anyhow::Error>) -> CommandError {
        CommandError {
            code: 1,
            error: error.into(),
        }
    }
}

pub type CommandResult = Result<Outcome, CommandError>;

impl From<project::ConfigError> for CommandError {
    fn from(e: project::ConfigError) -> Self {
        CommandError::usage(e)
    }
}

impl From<UsageError> for CommandError {
    fn from(e: UsageError) -> Self {
        CommandError::usage(e)
    }
}

impl From<anyhow::Error> for CommandError {
    fn from(e: anyhow::Error) -> Self {
        CommandError::failed(e)
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError::failed(e)
    }
}

impl From<ConnectError> for CommandError {
    /// A refused context (remote without --allow-remote) is the user's call to change.
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Target(_) => CommandError::usage(e),
            _ => CommandError::failed(e),
        }
    }
}

impl From<PipelineError> for CommandError {
    /// Missing secrets (an external database without DATABASE_URL) and a
    /// refused context are configuration; everything else is a failed run.
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Plan(PlanError::Secrets(_))
            | PipelineError::NoMinikube { .. }
            | PipelineError::NeedsRegistry { .. }
            | PipelineError::Recreate { .. } => CommandError::usage(e),
            PipelineError::Connect(c) => c.into(),
            // The shell's 128 + SIGINT; what was applied has been said.
            PipelineError::Interrupted => CommandError {
                code: 130,
                error: e.into(),
            },
            _ => CommandError::failed(e),
        }
    }
}

/// Ctrl-C trips `cancel` (the run stops at the next safe point and exits
/// 130); a second Ctrl-C exits at once. Abort the task when the run is over.
pub fn interrupt_on_ctrl_c(cancel: &Cancel) -> tokio::task::JoinHandle<()> {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.trip();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    })
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
            // --registry is the last word, after every --set.
            sets: global
                .set
                .iter()
                .cloned()
                .chain(
                    global
                        .registry
                        .iter()
                        .map(|r| format!("deploy.registry={r}")),
                )
                .collect(),
        },
        &cwd,
    )
}

impl From<&TargetArgs> for Target {
    fn from(t: &TargetArgs) -> Target {
        Target {
            context: t.context.clone(),
            allow_remote: t.allow_remote,
        }
    }
}
