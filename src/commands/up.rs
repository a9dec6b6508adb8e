use std::time::Duration;

use super::{load_project, CommandResult, Outcome};
use crate::cli::{GlobalArgs, UpArgs};
use crate::pipeline;
use crate::project::check_sources;
use crate::ui::Output;

pub async fn run(global: &GlobalArgs, args: &UpArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let up = pipeline::up::up(
        &project,
        &crate::deploy::values::DevVariant::hardened(),
        args.force,
        Duration::from_secs(args.timeout),
        out,
    )
    .await?;
    Ok(
        if up.failed_builds.is_empty() && up.deployed.failed.is_empty() {
            Outcome::Success
        } else {
            Outcome::Failed
        },
    )
}
