use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{GlobalArgs, SmokeArgs};
use crate::docker::{self, DockerEndpoint};
use crate::pipeline::{deploy::Target, event::Events, Engine};
use crate::project::check_sources;
use crate::smoke::containers::{self, RunNames};
use crate::smoke::{self, Check, RunSecrets, SmokeError, SmokeOptions};
use crate::ui::progress::event;
use crate::ui::{Output, Tone};

/// How long to wait for the daemon to answer at all.
const DAEMON_DEADLINE: Duration = Duration::from_secs(10);
const CHECK_WIDTH: usize = 42;

pub async fn run(global: &GlobalArgs, args: &SmokeArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let endpoint = DockerEndpoint::from_env();
    let (docker, _) = docker::probe(&endpoint, DAEMON_DEADLINE)
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
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let signals = tokio::spawn(async move {
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
        let _ = cancel_tx.send(true);
    });

    let table = Table::new(*out);
    table.start(
        &run_id,
        &endpoint.host,
        &project.profile.name,
        &names.network,
    );
    let report = |c: &Check| table.row(c);
    let started = Instant::now();
    // The engine's build step, reported as smoke's checks (its events unshown).
    let engine = Engine::new(project, Target::default(), Events::silent());
    let result = smoke::run(
        &docker,
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
            table.logs(&container, &lines);
        }
    }
    // Not cancellable: a second Ctrl-C must not leave containers behind.
    let left = containers::remove_run(&docker, &run_id).await;
    signals.abort();
    table.done(
        result.is_ok() && !cancelled,
        started.elapsed(),
        &run_id,
        &left,
    );
    match result {
        // Stopped by Ctrl-C (after cleaning up): the shell's 128 + SIGINT.
        _ if cancelled => Err(CommandError {
            code: 130,
            error: SmokeError::Interrupted.into(),
        }),
        Ok(()) if left.is_empty() => Ok(Outcome::Success),
        Ok(()) | Err(SmokeError::CheckFailed(_)) => Ok(Outcome::Failed),
        Err(e) => Err(CommandError::failed(e)),
    }
}

/// The report: one row per check as it finishes (or one JSON event).
struct Table {
    out: Output,
    checks: Mutex<Vec<Check>>,
}

impl Table {
    fn new(out: Output) -> Table {
        Table {
            out,
            checks: Mutex::new(Vec::new()),
        }
    }

    fn start(&self, run_id: &str, host: &str, profile: &str, network: &str) {
        if self.out.json {
            let e = event(
                "smoke.start",
                json!({"runId": run_id, "dockerHost": host, "profile": profile, "network": network}),
            );
            println!("{e}");
            return;
        }
        eprintln!("smoke run {run_id}: profile {profile} on {host} (network {network}); Ctrl-C stops and cleans up");
        println!(
            "{:CHECK_WIDTH$}  {:6}  {:>7}  DETAIL",
            "CHECK", "RESULT", "TIME"
        );
    }

    fn row(&self, c: &Check) {
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        checks.push(c.clone());
        if self.out.json {
            let e = event(
                "smoke.check",
                json!({"check": c.name, "ok": c.ok, "seconds": round(c.seconds), "detail": c.detail}),
            );
            println!("{e}");
            return;
        }
        let (tone, result) = if c.ok {
            (Tone::Good, "ok")
        } else {
            (Tone::Bad, "FAILED")
        };
        let mut lines = c.detail.lines();
        println!(
            "{:CHECK_WIDTH$}  {}  {:>6.1}s  {}",
            c.name,
            self.out.paint(tone, &format!("{result:6}")),
            c.seconds,
            lines.next().unwrap_or("")
        );
        for more in lines {
            println!("    {more}");
        }
    }

    fn logs(&self, container: &str, lines: &[String]) {
        if self.out.json {
            println!(
                "{}",
                event(
                    "smoke.logs",
                    json!({"container": container, "lines": lines})
                )
            );
            return;
        }
        println!("--- {container}: last {} log lines ---", lines.len());
        for l in lines {
            println!("{l}");
        }
    }

    fn done(&self, ok: bool, took: Duration, run_id: &str, left: &[String]) {
        let checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        let failed = checks.iter().filter(|c| !c.ok).count();
        if self.out.json {
            let e = event(
                "smoke.done",
                json!({"ok": ok && left.is_empty(), "checks": checks.len(), "failed": failed, "seconds": round(took.as_secs_f64()), "runId": run_id, "notRemoved": left}),
            );
            println!("{e}");
            return;
        }
        let verdict = if ok {
            self.out.paint(Tone::Good, "passed")
        } else {
            self.out.paint(Tone::Bad, "FAILED")
        };
        println!(
            "smoke {verdict}: {} checks, {failed} failed, {:.1}s",
            checks.len(),
            took.as_secs_f64()
        );
        if left.is_empty() {
            println!("removed every container and network labelled todo-dev.smoke={run_id}");
        } else {
            for l in left {
                println!(
                    "{}",
                    self.out.paint(Tone::Warn, &format!("not removed: {l}"))
                );
            }
            println!("remove them with: docker rm -f $(docker ps -aq --filter label=todo-dev.smoke={run_id}); docker network rm todo-dev-smoke-{run_id}");
        }
    }
}

fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}
