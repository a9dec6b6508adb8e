use std::time::Duration;

use super::{interrupt_on_ctrl_c, load_project, CommandResult, Outcome};
use crate::cli::{DeployArgs, GlobalArgs};
use crate::deploy::values::DevVariant;
use crate::pipeline::deploy::Objects;
use crate::pipeline::push::Publisher;
use crate::pipeline::{self, Engine};
use crate::project::check_sources;
use crate::ui::{report, Output};

/// Deploys the images `build` made (their tags are computed from the
/// sources); with a registry, the digests it holds for those tags.
pub async fn run(global: &GlobalArgs, args: &DeployArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let engine = Engine::new(project, (&args.target).into(), report::events_for(*out));
    let plan = engine.plan().await?;
    let mut images = pipeline::images(&plan.builds);
    let publisher = match &engine.project.registry {
        Some(registry) => {
            let publisher = Publisher::connect(registry, &engine.events)
                .await
                .map_err(pipeline::PipelineError::from)?;
            images = publisher
                .resolve(&images)
                .await
                .map_err(pipeline::PipelineError::from)?;
            Some(publisher)
        }
        None => None,
    };
    let timeout = Duration::from_secs(args.timeout);
    let signals = interrupt_on_ctrl_c(&engine.cancel);
    let objects = Objects {
        images: &images,
        dev: &DevVariant::hardened(),
        pull_secret: publisher.as_ref().and_then(|p| p.pull_secret.as_ref()),
    };
    let deployed = engine
        .deploy(&plan.manifests, objects, &args.recreate, timeout)
        .await;
    signals.abort();
    Ok(if deployed?.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
