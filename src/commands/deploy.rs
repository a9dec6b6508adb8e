use std::time::Duration;

use super::{load_project, CommandResult, Outcome};
use crate::cli::{DeployArgs, GlobalArgs};
use crate::deploy::values::DevVariant;
use crate::pipeline::{self, deploy};
use crate::project::check_sources;
use crate::ui::Output;

/// Deploys the images `build` made (their tags are computed from the sources).
pub async fn run(global: &GlobalArgs, args: &DeployArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let (plans, _) = pipeline::plan_and_render(&project).await?;
    let (images, target) = (pipeline::images(&plans), (&args.target).into());
    let timeout = Duration::from_secs(args.timeout);
    let hardened = DevVariant::hardened();
    deploy::recreate(&project, &images, &target, &args.recreate, timeout, out).await?;
    let deployed = deploy::deploy(&project, &images, &hardened, &target, timeout, out).await?;
    Ok(if deployed.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
