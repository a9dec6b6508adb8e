use std::time::Duration;

use super::{load_project, CommandResult, Outcome};
use crate::cli::{DeployArgs, GlobalArgs};
use crate::pipeline::{self, deploy};
use crate::project::check_sources;
use crate::ui::Output;

/// Deploys the images `build` made (their tags are computed from the sources).
pub async fn run(global: &GlobalArgs, args: &DeployArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let (plans, _) = pipeline::plan_and_render(&project).await?;
    let deployed = deploy::deploy(
        &project,
        &pipeline::images(&plans),
        &crate::deploy::values::DevVariant::hardened(),
        &(&args.target).into(),
        Duration::from_secs(args.timeout),
        out,
    )
    .await?;
    Ok(if deployed.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
