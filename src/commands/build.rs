use std::time::Duration;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{BuildArgs, GlobalArgs};
use crate::docker::{self, DockerEndpoint};
use crate::pipeline::build::{build_all, plan_all};
use crate::pipeline::push::{connect, push_all};
use crate::project::error::did_you_mean;
use crate::project::model::{Service, ServiceName};
use crate::project::{check_sources, Project};
use crate::ui::{report, Output};
use crate::UsageError;

/// How long to wait for the daemon to answer before giving up on a build.
const DAEMON_DEADLINE: Duration = Duration::from_secs(10);

pub async fn run(global: &GlobalArgs, args: &BuildArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let services = select(&project, &args.services)?;
    let endpoint = DockerEndpoint::from_env();
    // Reach the daemon while the contexts are scanned and hashed.
    let (probed, plans) = tokio::join!(
        docker::probe(&endpoint, DAEMON_DEADLINE),
        plan_all(&project, &services)
    );
    let (docker, facts) = probed.map_err(CommandError::failed)?;
    let events = report::events_for(*out);
    let built = build_all(&docker, &facts, &project, plans, args.force, &events).await;
    // With a registry, `build` is also the push (as Skaffold's with a default repo).
    let push_failed = match &project.registry {
        Some(registry) => {
            let publisher = connect(registry, &events).await;
            !push_all(&docker, publisher.as_ref(), &built, &events)
                .await
                .failed
                .is_empty()
        }
        None => false,
    };
    Ok(if built.failed().is_empty() && !push_failed {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The named services (all enabled ones when none are named).
fn select(project: &Project, names: &[String]) -> Result<Vec<Service>, UsageError> {
    if names.is_empty() {
        return Ok(project.services.clone());
    }
    let enabled: Vec<&str> = project.services.iter().map(|s| s.name.as_str()).collect();
    names
        .iter()
        .map(|n| {
            let found = ServiceName::parse(n).and_then(|name| project.service(name));
            found.cloned().ok_or_else(|| {
                let hint = match did_you_mean(n, enabled.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "profile `{}` builds: {}",
                        project.profile.name,
                        enabled.join(", ")
                    ),
                };
                UsageError(format!("no service `{n}` in this project\n  help: {hint}"))
            })
        })
        .collect()
}
