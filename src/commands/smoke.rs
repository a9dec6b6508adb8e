use parking_lot::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{GlobalArgs, SmokeArgs};
use crate::docker::{self, DockerEndpoint};
use crate::pipeline::event::{Events, SmokeEvent};
use crate::pipeline::{deploy::Target, Engine};
use crate::project::check_sources;
use crate::smoke::containers::{self, RunNames};
use crate::smoke::{self, Check, RunSecrets, SmokeError, SmokeOptions};
use crate::ui::{report, Output};

/// How long to wait for the daemon to answer at all.
const DAEMON_DEADLINE: Duration = Duration::from_secs(10);

pub async fn run(global: &GlobalArgs, args: &SmokeArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let endpoint = DockerEndpoint::from_env();
    let (docker, daemon) = docker::probe(&endpoint, DAEMON_DEADLINE)
        .await
        .map_err(CommandError::failed)?;
    let run_id = smoke::random_hex(4).map_err(CommandError::failed)?;
    let names = RunNames::new(&run_id);
    let secrets = RunSecrets::generate().map_err(CommandError::failed)?;
    let opts = SmokeOptions {
        postgres_image: args.postgres_image.clone(),
        redis_image: args.redis_image.clone(),
        timeout: Duration::from_secs(args.timeout),
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    // Registered now, before anything is started: from here Ctrl-C cancels and cleans up.
    let stop = stop_signal()?;
    let signals = tokio::spawn(async move {
        stop.await;
        let _ = cancel_tx.send(true);
    });

    let events = report::events_for(*out);
    events.smoke(SmokeEvent::Started {
        run_id: run_id.clone(),
        docker_host: endpoint.host.clone(),
        profile: project.profile.name.clone(),
        network: names.network.clone(),
    });
    // (checks, failed) so far, for the summary.
    let tally = Mutex::new((0usize, 0usize));
    let report = |c: &Check| {
        let mut t = tally.lock();
        *t = (t.0 + 1, t.1 + usize::from(!c.ok));
        events.smoke(SmokeEvent::Check(c.clone()));
    };
    let started = Instant::now();
    // The engine's build step, reported as smoke's checks (its events unshown).
    let engine = Engine::new(project, Target::default(), Events::silent());
    let result = smoke::run(
        &docker,
        &daemon,
        &endpoint.host,
        &engine,
        &opts,
        &names,
        &secrets,
        &cancel_rx,
        &report,
    )
    .await;
    let cancelled = *cancel_rx.borrow() || matches!(result, Err(SmokeError::Interrupted));
    if result.is_err() && !cancelled {
        for (container, lines) in smoke::logs_of_run(&docker, &run_id, &secrets).await {
            events.smoke(SmokeEvent::Logs { container, lines });
        }
    }
    let keep = match &result {
        Ok(published) if args.keep && !cancelled => published
            .iter()
            .map(|(s, a)| (s.to_string(), format!("http://{a}")))
            .collect(),
        _ => vec![],
    };
    // Not cancellable: a second Ctrl-C must not leave containers behind.
    let left = match keep.is_empty() {
        true => containers::remove_run(&docker, &run_id).await,
        false => vec![],
    };
    signals.abort();
    let (checks, failed) = *tally.lock();
    events.smoke(SmokeEvent::Done {
        ok: result.is_ok() && !cancelled,
        checks,
        failed,
        seconds: started.elapsed().as_secs_f64(),
        run_id: run_id.clone(),
        not_removed: left.clone(),
        kept: keep,
    });
    match result {
        // Stopped by Ctrl-C (after cleaning up): the shell's 128 + SIGINT.
        _ if cancelled => Err(CommandError {
            code: 130,
            error: SmokeError::Interrupted.into(),
        }),
        Ok(_) if left.is_empty() => Ok(Outcome::Success),
        Ok(_) | Err(SmokeError::CheckFailed(_)) => Ok(Outcome::Failed),
        Err(e) => Err(CommandError::failed(e)),
    }
}

/// Ctrl-C, or SIGTERM where there are signals (a CI job cancelled): either
/// stops the run and cleans up.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
