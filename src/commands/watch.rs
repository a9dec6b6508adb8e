//! `todo-dev watch`: the watcher's change sets handed to an executor. The
//! dry run prints them; building and rolling out goes through the pipeline.

use std::time::SystemTime;

use tokio::sync::mpsc;

use super::{load_project, Outcome};
use crate::cli::{GlobalArgs, WatchArgs};
use crate::project::{check_sources, Project};
use crate::ui::{Output, Tone};
use crate::watch::{self, change, ChangeSet, Ready, WatchError, WatchEvent, WatchOptions};
use crate::UsageError;

/// What acts on the watcher's output. `change` must return quickly (hand the
/// work to a task): the watcher keeps deciding meanwhile, and a newer change
/// set for a service supersedes one still in progress.
pub trait ChangeExecutor: Send {
    /// Watches are in place.
    fn ready(&mut self, ready: &Ready);
    /// The inotify limit was reached, or the event queue overflowed.
    fn notice(&mut self, event: &WatchEvent);
    fn change(&mut self, change: ChangeSet);
    /// Ctrl-C: stop what is running (called once, before the watcher stops).
    fn shutdown(&mut self) {}
}

pub async fn run(global: &GlobalArgs, args: &WatchArgs, out: &Output) -> anyhow::Result<Outcome> {
    let project = load_project(global)?;
    check_sources(&project)?;
    if !args.dry_run {
        return Err(UsageError(
            "`watch` without --dry-run needs the build-and-roll pipeline, which is not wired in yet\n  help: `todo-dev watch --dry-run` shows what each save would do".into(),
        )
        .into());
    }
    watch_with(&project, &mut DryRun { out: *out }).await
}

/// Runs the watcher until Ctrl-C (a second Ctrl-C exits at once), handing
/// every event to `executor`.
pub async fn watch_with(
    project: &Project,
    executor: &mut dyn ChangeExecutor,
) -> anyhow::Result<Outcome> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = WatchOptions::for_project(project);
    let owned = project.clone();
    let started = tokio::task::spawn_blocking(move || watch::start(&owned, options, tx)).await?;
    let watcher = match started {
        Ok(w) => w,
        Err(WatchError::Scope(e)) => return Err(e.into()),
        Err(e) => return Err(e.into()),
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
        }
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    executor.shutdown();
    tokio::task::spawn_blocking(move || watcher.stop()).await?;
    Ok(Outcome::Success)
}

/// `--dry-run`: one line per change set (JSON with `--json`).
struct DryRun {
    out: Output,
}

impl ChangeExecutor for DryRun {
    fn ready(&mut self, ready: &Ready) {
        if self.out.json {
            println!("{}", ready.json_line());
        } else {
            eprintln!(
                "watching {} ({} directories, {} files); dry run: changes are reported, nothing is built. Ctrl-C stops.",
                ready.roots.join(", "),
                ready.directories,
                ready.files
            );
        }
    }

    fn notice(&mut self, event: &WatchEvent) {
        match (event, self.out.json) {
            (WatchEvent::Limit(n), true) => println!("{}", n.json_line()),
            (WatchEvent::Limit(n), false) => {
                eprintln!("{} {}", self.out.paint(Tone::Warn, "warning:"), n.message())
            }
            (WatchEvent::Rescanned(services), true) => {
                #[derive(serde::Serialize)]
                struct Line {
                    event: &'static str,
                    services: Vec<&'static str>,
                }
                let services = services.iter().map(|s| s.as_str()).collect();
                let line = Line {
                    event: "watch.rescan",
                    services,
                };
                println!("{}", change::json_line(&line))
            }
            (WatchEvent::Rescanned(services), false) => eprintln!(
                "{} file events were lost (kernel queue full): rescanned {}",
                self.out.paint(Tone::Warn, "warning:"),
                services
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (WatchEvent::Change(set), _) => self.change(set.clone()),
        }
    }

    fn change(&mut self, set: ChangeSet) {
        if self.out.json {
            println!("{}", set.json_line());
            return;
        }
        let shown: Vec<&str> = set.paths.iter().take(3).map(String::as_str).collect();
        let more = match set.paths.len().saturating_sub(3) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let waited = set
            .decided_at
            .duration_since(set.first_event_at)
            .unwrap_or_default();
        println!(
            "{} {} {}: {}{more} ({} ms from the first event)",
            clock(set.decided_at),
            self.out.paint(Tone::Bold, set.service.as_str()),
            set.action.as_str(),
            shown.join(", "),
            waited.as_millis()
        );
    }
}

/// HH:MM:SS (UTC) of a time, for the plain output.
fn clock(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}
