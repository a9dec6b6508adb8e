use std::time::Duration;

use super::{interrupt_on_ctrl_c, load_project, CommandResult, Outcome};
use crate::cli::{DeployArgs, GlobalArgs};
use crate::deploy::values::DevVariant;
use crate::pipeline::{self, Engine};
use crate::project::check_sources;
use crate::ui::{report, Output};

/// Deploys the images `build` made (their tags are computed from the sources).
pub async fn run(global: &GlobalArgs, args: &DeployArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let engine = Engine::new(project, (&args.target).into(), report::events_for(*out));
    let plan = engine.plan().await?;
    let images = pipeline::images(&plan.builds);
    let timeout = Duration::from_secs(args.timeout);
    let signals = interrupt_on_ctrl_c(&engine.cancel);
    let deployed = engine
        .deploy(
            &plan.manifests,
            &images,
            &DevVariant::hardened(),
            &args.recreate,
            timeout,
        )
        .await;
    signals.abort();
    Ok(if deployed?.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
