use std::time::Duration;

use std::sync::Arc;

use super::{interrupt_on_ctrl_c, live, load_project, CommandError, CommandResult, Outcome};
use crate::cli::{GlobalArgs, UpArgs};
use crate::deploy::values::DevVariant;
use crate::pipeline::rebuild::Rebuilds;
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
    let events = report::events_for(*out);
    // The page first: the builds and rollouts show on it too.
    let (events, live) = match args.ui {
        true => {
            let (both, live) = live::open(&project, &events, args.ui_port).await?;
            (both, Some(live))
        }
        false => (events, None),
    };
    let engine = Arc::new(Engine::new(project, (&args.target).into(), events));
    let signals = interrupt_on_ctrl_c(&engine.cancel);
    let up = engine.up(&opts).await;
    signals.abort();
    let up = up?;
    let ok =
        up.failed_builds.is_empty() && up.failed_pushes.is_empty() && up.deployed.failed.is_empty();
    if let Some(mut live) = live {
        // The page stays, a failure and its diagnosis on it, until Ctrl-C.
        let forwards = match ok && args.port_forward {
            true => {
                let client = engine.streams().await?;
                let f = attach::forward(&client, &engine.project, &engine.events).await;
                Some(f.map_err(CommandError::failed)?)
            }
            false => None,
        };
        let logs = live.attach(&engine, false).await?;
        let mut rebuilds = Rebuilds::new(
            engine.clone(),
            up.docker,
            (up.publisher, up.loader),
            &up.daemon,
            up.images,
            DevVariant::default(),
            opts.timeout,
        )
        .await?;
        if !out.json {
            eprintln!("up keeps the status page until Ctrl-C.");
        }
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                Some(ask) = live.asks.recv() => live::act_on(&mut rebuilds, ask),
            }
        }
        let cut_short = rebuilds.shutdown().await;
        if let Some(task) = logs {
            task.abort();
        }
        if let Some(f) = forwards {
            f.stop();
        }
        if cut_short {
            return Err(crate::pipeline::PipelineError::Interrupted.into());
        }
    } else if ok && args.port_forward {
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
