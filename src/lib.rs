//! todo-dev as a library: the pipeline stages the binary sequences, also
//! reachable from integration tests.
//!
//! project config + profile -> pipeline (plan -> build -> render -> apply ->
//! wait) -> report;
//! `doctor` checks the machine before any of it.

pub mod build;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod container_exec;
pub mod deploy;
pub mod docker;
pub mod doctor;
pub mod exec;
pub mod host;
pub mod pipeline;
pub mod project;
pub mod push;
pub mod scaffold;
pub mod smoke;
pub mod sync;
pub mod ui;
pub mod verify;
pub mod watch;

/// A mistake in how todo-dev was called: exit code 2, like clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
