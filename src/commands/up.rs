use std::time::Duration;

use super::{interrupt_on_ctrl_c, load_project, CommandError, CommandResult, Outcome};
use crate::cli::{GlobalArgs, UpArgs};
use crate::pipeline::{attach, Engine, UpOptions};
use crate::project::check_sources;
use crate::ui::{report, Output};

pub async fn run(global: &GlobalArgs, args: &UpArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let opts = UpOptions {
        force: args.force,
        recreate: args.recreate.clone(),
        timeout: Duration::from_secs(args.timeout),
        // The hardened objects: also what puts them back after a `watch`.
        ..Default::default()
    };
    let engine = Engine::new(project, (&args.target).into(), report::events_for(*out));
    let signals = interrupt_on_ctrl_c(&engine.cancel);
    let up = engine.up(&opts).await;
    signals.abort();
    let up = up?;
    let ok =
        up.failed_builds.is_empty() && up.failed_pushes.is_empty() && up.deployed.failed.is_empty();
    if ok && args.port_forward {
        let client = engine.streams().await?;
        let forwards = attach::forward(&client, &engine.project, &engine.events)
            .await
            .map_err(CommandError::failed)?;
        if !out.json {
            eprintln!("up keeps running for the port-forwards: Ctrl-C closes them and exits.");
        }
        tokio::signal::ctrl_c()
            .await
            .map_err(CommandError::failed)?;
        forwards.stop();
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
