//! `todo-dev logs [SERVICE...] [-f] [--since D] [--tail N]`: every pod of
//! the services, each line prefixed by service and pod.

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{GlobalArgs, LogsArgs};
use crate::cluster::logs::LogOptions;
use crate::pipeline::attach;
use crate::project::model::ServiceName;
use crate::ui::{report, Output};
use crate::UsageError;

pub async fn run(global: &GlobalArgs, args: &LogsArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    let enabled: Vec<ServiceName> = project.services.iter().map(|s| s.name).collect();
    let mut services = Vec::new();
    for name in &args.services {
        match ServiceName::parse(name) {
            Some(s) if enabled.contains(&s) => services.push(s),
            Some(s) => {
                return Err(UsageError(format!(
                    "service `{s}` is not enabled in profile `{}`\n  help: enabled: {}",
                    project.profile.name,
                    names(&enabled)
                ))
                .into())
            }
            None => {
                return Err(UsageError(format!(
                    "no service named `{name}`\n  help: enabled: {}",
                    names(&enabled)
                ))
                .into())
            }
        }
    }
    if services.is_empty() {
        services = enabled;
    }
    let client = attach::connect(
        &project,
        args.target.context.as_deref(),
        args.target.allow_remote,
    )
    .await?;
    let options = LogOptions {
        follow: args.follow,
        since: args.since,
        tail: args.tail.map(i64::from),
    };
    let reading = attach::report_logs(
        client,
        attach::log_sources(&project, &services),
        options,
        report::events_for(*out),
    );
    tokio::select! {
        done = reading => done.map_err(CommandError::failed)?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(Outcome::Success)
}

fn names(services: &[ServiceName]) -> String {
    services
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
