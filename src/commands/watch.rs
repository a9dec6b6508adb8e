//! `todo-dev watch`: the watcher's change sets handed to an executor. The
//! dry run prints them; building and rolling out goes through the pipeline.

use std::time::Duration;

use tokio::sync::mpsc;

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{interrupt_on_ctrl_c, live, load_project, CommandError, CommandResult, Outcome};
use crate::cli::{GlobalArgs, WatchArgs};
use crate::deploy::values::DevVariant;
use crate::pipeline::event::{Events, LoopEvent, WatcherEvent};
use crate::pipeline::rebuild::{Rebuilds, Request};
use crate::pipeline::{self, attach, Engine, PipelineError, UpOptions};
use crate::project::{check_sources, Project};
use crate::ui::page::Ask;
use crate::ui::{report, Output};
use crate::watch::{self, ChangeSet, Ready, WatchError, WatchEvent, WatchOptions};

/// What acts on the watcher's output. `change` must return quickly (hand the
/// work to a task): the watcher keeps deciding meanwhile, and a newer change
/// set for a service supersedes one still in progress.
pub trait ChangeExecutor: Send {
    /// Watches are in place.
    fn ready(&mut self, ready: &Ready);
    /// The inotify limit was reached, or the event queue overflowed.
    fn notice(&mut self, event: &WatchEvent);
    fn change(&mut self, change: ChangeSet);
    /// A status page's button (only where a page is served).
    fn asked(&mut self, _ask: Ask) {}
    /// Ctrl-C: stop what is running (called once, before the watcher
    /// stops); true when it cut an update short (the exit is then 130).
    fn shutdown(&mut self) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }
}

pub async fn run(global: &GlobalArgs, args: &WatchArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    if args.dry_run {
        if args.logs || args.port_forward {
            return Err(CommandError::usage(crate::UsageError(
                "--dry-run needs no cluster, so it has no --logs or --port-forward\n  help: drop --dry-run to run the loop against the cluster".into(),
            )));
        }
        let events = report::events_for(*out);
        return watch_with(&project, &mut DryRun { events }, None).await;
    }
    // First what `up` does (nothing to build or apply when the stack is up to date).
    let timeout = Duration::from_secs(args.timeout);
    let dev = pipeline::dev_variant(&project);
    let events = report::events_for(*out);
    // The page first: `up`'s builds and rollouts show on it too.
    let (events, mut live) = match args.no_ui {
        true => (events, None),
        false => {
            let (both, live) = live::open(&project, &events, args.ui_port).await?;
            (both, Some(live))
        }
    };
    say_dev_variant(&project, &dev, &events);
    let opts = UpOptions {
        timeout,
        dev: dev.clone(),
        ..Default::default()
    };
    let engine = Arc::new(Engine::new(
        project.clone(),
        (&args.target).into(),
        events.clone(),
    ));
    let signals = interrupt_on_ctrl_c(&engine.cancel);
    let up = engine.up(&opts).await;
    signals.abort();
    let up = up?;
    // Port-forwards and log follows live beside the watcher until it stops.
    let streams = engine.streams().await?;
    let _forwards = match args.no_port_forward {
        true => None,
        false => Some(
            attach::forward(&streams, &project, &engine.events)
                .await
                .map_err(CommandError::failed)?,
        ),
    };
    let services: Vec<_> = project.services.iter().map(|s| s.name).collect();
    // The page's masks are set before any log line can reach it.
    let page_logs = match &live {
        Some(live) => live.attach(&engine, args.logs).await?,
        None => None,
    };
    let logs = args.logs.then(|| {
        attach::follow_logs_in_background(
            streams,
            attach::log_sources(&project, &services),
            engine.events.clone(),
        )
    });
    let rebuilds = Rebuilds::new(
        engine,
        up.docker,
        (up.publisher, up.loader),
        &up.daemon,
        up.images,
        dev,
        timeout,
    )
    .await?;
    let asks = live.as_mut().map(|l| &mut l.asks);
    // One row a service from here on, each watching.
    let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    events.rows(names.clone());
    for service in names {
        events.watch(LoopEvent::Watching { service });
    }
    let watched = watch_with(&project, &mut Rolling { rebuilds, events }, asks).await;
    for task in [logs, page_logs].into_iter().flatten() {
        task.abort();
    }
    watched
}

/// Says which services run as the dev variant, and how to get the hardened objects back.
fn say_dev_variant(project: &Project, dev: &DevVariant, events: &Events) {
    let synced = dev
        .synced
        .iter()
        .map(|s| {
            let rules = project
                .service(*s)
                .map(|svc| {
                    svc.sync
                        .iter()
                        .map(|r| format!("{} -> {}", r.src, r.dest))
                        .collect()
                })
                .unwrap_or_default();
            (*s, rules)
        })
        .collect();
    events.watcher(WatcherEvent::DevVariant { synced });
}

/// Syncs or rebuilds and rolls each change set's service through the pipeline.
struct Rolling {
    rebuilds: Rebuilds,
    events: Events,
}

impl ChangeExecutor for Rolling {
    fn ready(&mut self, ready: &Ready) {
        self.events.watcher(WatcherEvent::Ready {
            ready: ready.clone(),
            next: "a save its sync rules cover is copied into the running pods, any other rebuilds and rolls its service",
        });
    }

    fn notice(&mut self, event: &WatchEvent) {
        report_notice(&self.events, event);
    }

    fn change(&mut self, set: ChangeSet) {
        self.events.watcher(WatcherEvent::Change {
            set: set.clone(),
            dry_run: false,
        });
        self.rebuilds.request(Request {
            service: set.service,
            action: set.action,
            paths: set.paths,
            abs_paths: set.abs_paths,
            first_event_at: set.first_event_at,
            force: false,
        });
    }

    fn asked(&mut self, ask: Ask) {
        live::act_on(&mut self.rebuilds, ask);
    }

    fn shutdown(&mut self) -> BoxFuture<'_, bool> {
        Box::pin(self.rebuilds.shutdown())
    }
}

/// Runs the watcher until Ctrl-C (a second Ctrl-C exits at once), handing
/// every event to `executor`, and each of a status page's `asks`.
pub async fn watch_with(
    project: &Project,
    executor: &mut dyn ChangeExecutor,
    mut asks: Option<&mut mpsc::UnboundedReceiver<Ask>>,
) -> CommandResult {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = WatchOptions::for_project(project);
    let owned = project.clone();
    let started = tokio::task::spawn_blocking(move || watch::start(&owned, options, tx))
        .await
        .map_err(CommandError::failed)?;
    let watcher = match started {
        Ok(w) => w,
        // A bad sync rule or .dockerignore is the user's to fix.
        Err(WatchError::Scope(e)) => return Err(CommandError::usage(e)),
        Err(e) => return Err(CommandError::failed(e)),
    };
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    // The handler is installed on first poll: before saying "ready", so a
    // Ctrl-C right after it still stops cleanly.
    let mut stopping = futures::FutureExt::now_or_never(&mut interrupted).is_some();
    executor.ready(&watcher.ready);
    while !stopping {
        tokio::select! {
            _ = &mut interrupted => stopping = true,
            event = rx.recv() => match event {
                Some(WatchEvent::Change(set)) => executor.change(set),
                Some(other) => executor.notice(&other),
                None => stopping = true,
            },
            Some(ask) = next_ask(&mut asks) => executor.asked(ask),
        }
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let cut_short = executor.shutdown().await;
    tokio::task::spawn_blocking(move || watcher.stop())
        .await
        .map_err(CommandError::failed)?;
    match cut_short {
        true => Err(PipelineError::Interrupted.into()),
        false => Ok(Outcome::Success),
    }
}

/// The page's next ask; never, without a page (or once it has gone).
async fn next_ask(asks: &mut Option<&mut mpsc::UnboundedReceiver<Ask>>) -> Option<Ask> {
    if let Some(rx) = asks {
        if let Some(ask) = rx.recv().await {
            return Some(ask);
        }
    }
    *asks = None;
    std::future::pending().await
}

/// `--dry-run`: one line per change set (JSON with `--json`).
struct DryRun {
    events: Events,
}

impl ChangeExecutor for DryRun {
    fn ready(&mut self, ready: &Ready) {
        self.events.watcher(WatcherEvent::Ready {
            ready: ready.clone(),
            next: "dry run: changes are reported, nothing is built",
        });
    }

    fn notice(&mut self, event: &WatchEvent) {
        if let WatchEvent::Change(set) = event {
            return self.change(set.clone());
        }
        report_notice(&self.events, event);
    }

    fn change(&mut self, set: ChangeSet) {
        self.events
            .watcher(WatcherEvent::Change { set, dry_run: true });
    }
}

/// The inotify limit or a lost-events rescan, said once.
fn report_notice(events: &Events, event: &WatchEvent) {
    match event {
        WatchEvent::Limit(n) => events.watcher(WatcherEvent::Limit(n.clone())),
        WatchEvent::Rescanned(services) => {
            events.watcher(WatcherEvent::Rescanned(services.clone()))
        }
        WatchEvent::Change(_) => {}
    }
}
