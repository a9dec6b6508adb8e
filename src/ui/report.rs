//! The one place events become output: [`Terminal`] (indicatif rows on a
//! terminal, plain lines when piped) and [`Json`] (one JSON object a line,
//! the `--json` stream the README documents).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use serde_json::{json, Value};

use super::progress::{event as line, Progress};
use super::{Output, Tone};
use crate::cluster::bring_up::ClusterNews;
use crate::cluster::logs::LogEvent;
use crate::cluster::minikube::StartEvent;
use crate::deploy::apply::Applied;
use crate::deploy::rollout::Diagnosis;
use crate::pipeline::event::{
    AttachEvent, BuildEvent, ClusterEvent, DeployEvent, Event, Events, LoopEvent, PushEvent,
    Reporter, SmokeEvent, VerifyEvent, WatcherEvent,
};
use crate::watch::change;

/// The reporter `out` asks for.
pub fn events_for(out: Output) -> Events {
    match out.json {
        true => Events::new(Arc::new(Json)),
        false => Events::new(Arc::new(Terminal::new(out))),
    }
}

/// `--json`: each event that has a JSON form, on stdout.
pub struct Json;

impl Reporter for Json {
    fn report(&self, event: &Event) {
        // The watcher's lines keep their own key order (serde structs).
        if let Event::Watcher(w) = event {
            return println!("{}", watcher_json(w));
        }
        if let Some(v) = json_of(event) {
            println!("{v}");
        }
    }
}

/// The terminal: progress rows for the current step, lines for the rest.
pub struct Terminal {
    out: Output,
    rows: Mutex<Option<Progress>>,
    /// Each pod's colour in log prefixes, in the order pods appear.
    pod_colours: Mutex<BTreeMap<String, &'static str>>,
}

impl Terminal {
    pub fn new(out: Output) -> Terminal {
        Terminal {
            out,
            rows: Mutex::new(None),
            pod_colours: Mutex::new(BTreeMap::new()),
        }
    }
}

/// ANSI colours for pods, in the order pods appear.
const POD_COLOURS: [&str; 6] = ["36", "35", "34", "32", "33", "91"];

/// How a row changes (see `Progress`).
pub(in crate::ui) enum Row {
    Status,
    Settle(Tone),
    Note(Tone),
    Finish(Tone),
}

impl Reporter for Terminal {
    fn report(&self, event: &Event) {
        let out = &self.out;
        match event {
            Event::Rows(names) => *self.rows.lock() = Some(Progress::new(*out, names)),
            Event::RowsDone => *self.rows.lock() = None,
            Event::Deploy(DeployEvent::Recreated { object, deleted }) => {
                if *deleted {
                    eprintln!(
                        "{} {object} (to create it anew)",
                        out.paint(Tone::Warn, "deleted")
                    );
                }
            }
            Event::Deploy(DeployEvent::Interrupted {
                applied,
                not_applied,
            }) => {
                eprintln!(
                    "{} applied {} object(s){}; not applied: {}",
                    out.paint(Tone::Warn, "interrupted:"),
                    applied.len(),
                    match applied.is_empty() {
                        true => String::new(),
                        false => format!(" ({})", applied.join(", ")),
                    },
                    match not_applied.is_empty() {
                        true => "none".to_string(),
                        false => not_applied.join(", "),
                    }
                );
            }
            Event::Deploy(DeployEvent::Diagnosis {
                workload,
                message,
                diagnosis,
                kubectl_ai,
            }) => print_diagnosis(out, workload, message, diagnosis, kubectl_ai.as_deref()),
            Event::Deploy(DeployEvent::Open { namespace, urls }) => {
                println!(
                    "{} the stack is up in namespace `{namespace}`",
                    out.paint(Tone::Good, "ready:")
                );
                for (u, n) in urls {
                    println!("  open {u}  ({n})");
                }
            }
            Event::Build(BuildEvent::LegacyBuilder { message }) => {
                eprintln!("{} {message}", out.paint(Tone::Warn, "note:"));
            }
            Event::Cluster(ClusterEvent::ImageLoaded {
                cluster,
                image,
                seconds,
            }) => eprintln!(
                "{} {image} into `{cluster}` ({seconds:.1} s, minikube image load)",
                out.paint(Tone::Good, "loaded")
            ),
            Event::Cluster(ClusterEvent::ImagePresent { cluster, image }) => eprintln!(
                "{} {image}: every node of `{cluster}` has it (not loaded again)",
                out.paint(Tone::Good, "present")
            ),
            Event::Push(p) => match p {
                PushEvent::Target {
                    registry,
                    credentials,
                } => eprintln!(
                    "pushing to {registry}{}",
                    credentials
                        .as_ref()
                        .map(|c| format!(" (credentials from {c})"))
                        .unwrap_or_default()
                ),
                PushEvent::Done {
                    service,
                    reference,
                    already_there,
                } => eprintln!(
                    "{service:<10} {} {reference}",
                    match already_there {
                        true => out.paint(Tone::Dim, "already there"),
                        false => out.paint(Tone::Good, "pushed"),
                    }
                ),
                PushEvent::PullAnonymous { registry, why } => {
                    eprintln!("{} {registry}: {why}", out.paint(Tone::Warn, "warning:"))
                }
                PushEvent::Failed { service, error } => eprintln!(
                    "{}{} {error}",
                    service
                        .as_ref()
                        .map(|s| format!("{s:<10} "))
                        .unwrap_or_default(),
                    out.paint(Tone::Bad, "push failed:")
                ),
            },
            Event::Attach(a) => self.attach(a),
            Event::Watcher(w) => self.watcher(w),
            Event::Smoke(e) => self.smoke(e),
            Event::Verify(e) => self.verify(e),
            Event::PageServing { url, moved_from } => {
                let moved = moved_from
                    .map(|p| format!(" (port {p} was busy)"))
                    .unwrap_or_default();
                eprintln!(
                    "status page: {}{moved}: the services live, rebuild and restart buttons, verify",
                    out.paint(Tone::Bold, url)
                );
            }
            Event::Watch(LoopEvent::Failed {
                service, message, ..
            }) => {
                self.row(event);
                if message.lines().count() > 1 {
                    self.show(service, Row::Note(Tone::Dim), message);
                }
            }
            _ => self.row(event),
        }
    }
}

impl Terminal {
    /// Logs and forwards: lines of their own, below any rows.
    fn attach(&self, event: &AttachEvent) {
        let out = &self.out;
        match event {
            AttachEvent::Log(LogEvent::Line(l)) => {
                let prefix = self.log_prefix(&l.service, &l.pod);
                match l.previous {
                    true => println!("{prefix} {} {}", out.paint(Tone::Dim, "(previous)"), l.line),
                    false => println!("{prefix} {}", l.line),
                }
            }
            AttachEvent::Log(LogEvent::Ended {
                service,
                pod,
                container,
                restart_count,
                exit_code,
                reason,
            }) => {
                let prefix = self.log_prefix(service, pod);
                let note = format!("(container {container} ended: exit {exit_code} {reason}, restarts {restart_count}; the previous instance's log:)");
                eprintln!("{prefix} {}", out.paint(Tone::Warn, &note));
            }
            AttachEvent::Log(LogEvent::Attached { service, pod, .. }) => {
                let prefix = self.log_prefix(service, pod);
                eprintln!("{prefix} {}", out.paint(Tone::Dim, "(attached)"));
            }
            AttachEvent::Log(LogEvent::Detached { service, pod, .. }) => {
                let prefix = self.log_prefix(service, pod);
                eprintln!("{prefix} {}", out.paint(Tone::Dim, "(ended)"));
            }
            AttachEvent::Log(LogEvent::Unreadable {
                service,
                pod,
                message,
                ..
            }) => {
                let prefix = self.log_prefix(service, pod);
                eprintln!("{prefix} {} {message}", out.paint(Tone::Warn, "no logs:"));
            }
            AttachEvent::LogsStopped { message } => {
                eprintln!("{} logs: {message}", out.paint(Tone::Warn, "warning:"))
            }
            AttachEvent::ForwardReady {
                service,
                url,
                pod_port,
                moved_from,
            } => {
                let moved = match moved_from {
                    Some(p) => format!(" (port {p} was busy)"),
                    None => String::new(),
                };
                eprintln!(
                    "{} {} -> {service} port {pod_port}{moved}",
                    out.paint(Tone::Good, "forwarding"),
                    out.paint(Tone::Bold, url),
                );
            }
            AttachEvent::ForwardProblem { service, message } => eprintln!(
                "{} {service}: {message}",
                out.paint(Tone::Warn, "port-forward:")
            ),
        }
    }

    /// The watcher: its readiness and notices on stderr, dry-run changes on stdout.
    fn watcher(&self, event: &WatcherEvent) {
        let out = &self.out;
        match event {
            WatcherEvent::DevVariant { synced } if synced.is_empty() => {
                eprintln!("no service has sync rules: every save rebuilds its service")
            }
            WatcherEvent::DevVariant { synced } => {
                for (s, rules) in synced {
                    eprintln!(
                        "{} {s}: dev variant (writable root filesystem, the image's reload command if it has one) so saves of {} are copied into its pods; `todo-dev up` puts the hardened objects back",
                        out.paint(Tone::Warn, "note:"),
                        rules.join(", ")
                    );
                }
            }
            WatcherEvent::Ready { ready, next } => eprintln!(
                "watching {} ({} directories, {} files); {next}. Ctrl-C stops.",
                ready.roots.join(", "),
                ready.directories,
                ready.files
            ),
            WatcherEvent::Change { dry_run: false, .. } => {}
            WatcherEvent::Change { set, dry_run: true } => {
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
                    out.paint(Tone::Bold, set.service.as_str()),
                    set.action.as_str(),
                    shown.join(", "),
                    waited.as_millis()
                );
            }
            WatcherEvent::Limit(n) => {
                eprintln!("{} {}", out.paint(Tone::Warn, "warning:"), n.message())
            }
            WatcherEvent::Rescanned(services) => eprintln!(
                "{} file events were lost (kernel queue full): rescanned {}",
                out.paint(Tone::Warn, "warning:"),
                services
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// `smoke`: a table, one row per check as it finishes, then the verdict.
    fn smoke(&self, event: &SmokeEvent) {
        const CHECK_WIDTH: usize = 42;
        let out = &self.out;
        match event {
            SmokeEvent::Started {
                run_id,
                docker_host,
                profile,
                network,
            } => {
                eprintln!("smoke run {run_id}: profile {profile} on {docker_host} (network {network}); Ctrl-C stops and cleans up");
                println!(
                    "{:CHECK_WIDTH$}  {:6}  {:>7}  DETAIL",
                    "CHECK", "RESULT", "TIME"
                );
            }
            SmokeEvent::Check(c) => {
                let (tone, result) = match c.ok {
                    true => (Tone::Good, "ok"),
                    false => (Tone::Bad, "FAILED"),
                };
                let mut lines = c.detail.lines();
                println!(
                    "{:CHECK_WIDTH$}  {}  {:>6.1}s  {}",
                    c.name,
                    out.paint(tone, &format!("{result:6}")),
                    c.seconds,
                    lines.next().unwrap_or("")
                );
                for more in lines {
                    println!("    {more}");
                }
            }
            SmokeEvent::Logs { container, lines } => {
                println!("--- {container}: last {} log lines ---", lines.len());
                for l in lines {
                    println!("{l}");
                }
            }
            SmokeEvent::Done {
                ok,
                checks,
                failed,
                seconds,
                run_id,
                not_removed,
                kept,
            } => {
                let verdict = match ok {
                    true => out.paint(Tone::Good, "passed"),
                    false => out.paint(Tone::Bad, "FAILED"),
                };
                println!("smoke {verdict}: {checks} checks, {failed} failed, {seconds:.1}s");
                if !kept.is_empty() {
                    for (service, url) in kept {
                        println!("kept running: {service} {url}");
                    }
                    println!("remove it with: docker rm -f $(docker ps -aq --filter label=todo-dev.smoke={run_id}); docker network rm todo-dev-smoke-{run_id}");
                } else if not_removed.is_empty() {
                    println!(
                        "removed every container and network labelled todo-dev.smoke={run_id}"
                    );
                } else {
                    for l in not_removed {
                        println!("{}", out.paint(Tone::Warn, &format!("not removed: {l}")));
                    }
                    println!("remove them with: docker rm -f $(docker ps -aq --filter label=todo-dev.smoke={run_id}); docker network rm todo-dev-smoke-{run_id}");
                }
            }
        }
    }

    /// `verify`: a table, one row per check as it ends (what was seen and
    /// the fix below a failed one), then the verdict.
    fn verify(&self, event: &VerifyEvent) {
        const CHECK_WIDTH: usize = VERIFY_WIDTH;
        let out = &self.out;
        match event {
            VerifyEvent::Started {
                frontend,
                backend,
                mcp,
            } => {
                let mut also = String::new();
                if let Some(b) = backend {
                    also.push_str(&format!(", backend {b}"));
                }
                if let Some(m) = mcp {
                    also.push_str(&format!(", MCP {m}"));
                }
                eprintln!("verifying the app at {frontend}{also}");
                verify_header();
            }
            VerifyEvent::OnCluster { context, namespace } => {
                eprintln!("verifying namespace `{namespace}` on context `{context}`");
                verify_header();
            }
            VerifyEvent::Check(c) => {
                let (tone, result) = match c.ok {
                    true => (Tone::Good, "ok"),
                    false => (Tone::Bad, "FAILED"),
                };
                println!(
                    "{:CHECK_WIDTH$}  {}  {:>5} ms  {}",
                    c.name,
                    out.paint(tone, &format!("{result:6}")),
                    c.ms,
                    c.figure
                );
                if let Some(seen) = &c.seen {
                    println!("    seen: {seen}");
                }
                if let Some(fix) = &c.fix {
                    println!("    fix:  {fix}");
                }
            }
            VerifyEvent::Done {
                ok,
                checks,
                failed,
                ms,
            } => {
                let verdict = match ok {
                    true => out.paint(Tone::Good, "passed"),
                    false => out.paint(Tone::Bad, "FAILED"),
                };
                println!("verify {verdict}: {checks} checks, {failed} failed, {ms} ms");
            }
            VerifyEvent::Failed { message } => {
                eprintln!("{} verify: {message}", out.paint(Tone::Bad, "failed"));
            }
        }
    }

    /// `service pod |`, coloured by service and by pod on a terminal.
    fn log_prefix(&self, service: &str, pod: &str) -> String {
        if !self.out.color {
            return format!("{service} {pod} |");
        }
        let mut colours = self.pod_colours.lock();
        let next = POD_COLOURS[colours.len() % POD_COLOURS.len()];
        let pod_colour = *colours.entry(pod.to_string()).or_insert(next);
        let service_colour = match service {
            "frontend" => "36;1",
            "backend" => "35;1",
            "mcp-server" => "34;1",
            _ => "33;1",
        };
        format!("\x1b[{service_colour}m{service}\x1b[0m \x1b[{pod_colour}m{pod}\x1b[0m |")
    }

    /// Events shown on a progress row.
    fn row(&self, event: &Event) {
        if let Some((name, how, text)) = row_of(event) {
            self.show(&name, how, &text);
        }
    }

    fn show(&self, name: &str, how: Row, text: &str) {
        let rows = self.rows.lock();
        // Outside any rows (a stray event): a plain progress line.
        let fallback;
        let progress = match rows.as_ref() {
            Some(p) => p,
            None => {
                fallback = Progress::new(self.out, &[]);
                &fallback
            }
        };
        match how {
            Row::Status => progress.status(name, text),
            Row::Settle(t) => progress.settle(name, t, text),
            Row::Note(t) => progress.note(name, t, text),
            Row::Finish(t) => progress.finish(name, t, text),
        }
    }
}

/// The row, how it changes and its text, for events shown on a row.
pub(in crate::ui) fn row_of(event: &Event) -> Option<(String, Row, String)> {
    use Row::*;
    let mk = |text: String, how: Row| Some(("minikube".to_string(), how, text));
    match event {
        Event::Cluster(ClusterEvent::News { cluster, news }) => match news {
            ClusterNews::InUse {
                kubernetes_version,
                driver,
            } => mk(
                format!(
                    "cluster `{cluster}` exists: Kubernetes {kubernetes_version}, driver {driver}"
                ),
                Note(Tone::Dim),
            ),
            ClusterNews::Drift(text) => mk(text.clone(), Note(Tone::Warn)),
            ClusterNews::Starting => mk(format!("starting cluster `{cluster}`"), Status),
            ClusterNews::Start(StartEvent::Step {
                step,
                steps,
                message,
            }) => mk(format!("{step}/{steps} {message}"), Status),
            ClusterNews::Start(StartEvent::Warning(m)) => mk(m.clone(), Note(Tone::Warn)),
            ClusterNews::Start(_) => None,
            ClusterNews::RepairingKubeconfig => mk(
                format!("the kubeconfig of `{cluster}` points at a stale address: running `minikube update-context -p {cluster}`"),
                Note(Tone::Warn),
            ),
            ClusterNews::EnablingAddon { note, .. } => mk(note.clone(), Status),
            ClusterNews::ImageLoad(why) => mk(why.clone(), Note(Tone::Warn)),
        },
        Event::Cluster(ClusterEvent::Ready { cluster, ready }) => {
            let verb = if ready.started { "started" } else { "running" };
            let mut text = format!(
                "cluster `{cluster}` {verb} (Kubernetes {}, driver {})",
                ready.kubernetes_version, ready.driver
            );
            if !ready.enabled_addons.is_empty() {
                text.push_str(&format!("; enabled {}", ready.enabled_addons.join(", ")));
            }
            mk(text, Finish(Tone::Good))
        }
        Event::Cluster(ClusterEvent::Failed { .. }) => mk("failed".into(), Finish(Tone::Bad)),
        Event::Cluster(ClusterEvent::ImageLoaded { .. } | ClusterEvent::ImagePresent { .. }) => {
            None
        }
        Event::Build(b) => Some(match b {
            // Printed on its own line (`report`), not on a row.
            BuildEvent::LegacyBuilder { .. } => return None,
            BuildEvent::Warning {
                service,
                message,
                dockerignore,
                ignore_line,
            } => {
                let fix = ignore_line
                    .as_ref()
                    .map(|l| format!("; add `{l}` to {}", dockerignore.display()))
                    .unwrap_or_default();
                (
                    service.clone(),
                    Note(Tone::Warn),
                    format!("warning: {message}{fix}"),
                )
            }
            // Nothing is sent yet: the daemon may already have this image.
            BuildEvent::Started { service, image, .. } => {
                (service.clone(), Status, format!("{image}: asking the daemon"))
            }
            BuildEvent::Step {
                service,
                step,
                steps,
                instruction,
            } => {
                let short: String = instruction.chars().take(80).collect();
                (service.clone(), Status, format!("step {step}/{steps} {short}"))
            }
            BuildEvent::Done {
                service,
                image,
                seconds,
                ..
            } => (
                service.clone(),
                Finish(Tone::Good),
                match seconds {
                    None => format!("{image} unchanged"),
                    Some(s) => format!("{image} built in {s:.1}s"),
                },
            ),
            BuildEvent::Failed { service, error, .. } => (
                service.clone(),
                Finish(Tone::Bad),
                format!("failed: {error}"),
            ),
        }),
        Event::Deploy(d) => match d {
            DeployEvent::Target {
                context,
                server,
                namespace,
            } => Some((
                "context".into(),
                Note(Tone::Dim),
                format!("deploying to `{context}` ({server}), namespace `{namespace}`"),
            )),
            DeployEvent::Applied { object, result } => Some(match result {
                Applied::Retrying(why) => (object.clone(), Note(Tone::Warn), why.clone()),
                other => (
                    object.clone(),
                    Note(Tone::Dim),
                    applied_word(other).to_string(),
                ),
            }),
            DeployEvent::Pruned { object } => {
                Some((object.clone(), Note(Tone::Dim), "pruned".into()))
            }
            DeployEvent::RolloutStatus { workload, message } => {
                Some((workload.clone(), Status, message.clone()))
            }
            DeployEvent::RolloutReady { workload } => {
                Some((workload.clone(), Finish(Tone::Good), "ready".into()))
            }
            DeployEvent::RolloutFailed { workload, message } => {
                Some((workload.clone(), Finish(Tone::Bad), message.clone()))
            }
            _ => None,
        },
        Event::Watch(w) => Some(match w {
            LoopEvent::Watching { service } => {
                (service.clone(), Settle(Tone::Dim), "watching".into())
            }
            LoopEvent::Superseded { service } => (
                service.clone(),
                Note(Tone::Dim),
                "a newer change replaces the one in progress".into(),
            ),
            LoopEvent::Syncing { service, .. } => (service.clone(), Status, "syncing".into()),
            LoopEvent::Synced {
                service,
                pods,
                seconds,
                paths,
                ..
            } => (
                service.clone(),
                Settle(Tone::Good),
                format!(
                    "synced {} file(s) into {pods} pod(s) ({seconds:.2} s from the first change)",
                    paths.len()
                ),
            ),
            LoopEvent::FellBack {
                service, reason, ..
            } => (
                service.clone(),
                Note(Tone::Warn),
                format!("cannot sync: {reason}; rebuilding instead"),
            ),
            LoopEvent::Retrying {
                service,
                in_seconds,
                ..
            } => (
                service.clone(),
                Status,
                format!("retrying in {in_seconds} s"),
            ),
            LoopEvent::Planning { service, .. } => (service.clone(), Status, "planning".into()),
            LoopEvent::Building { service, image } => {
                (service.clone(), Status, format!("building {image}"))
            }
            LoopEvent::Built {
                service,
                image,
                unchanged,
                seconds,
                ..
            } => (
                service.clone(),
                Note(Tone::Dim),
                format!("{image} {} ({seconds:.1} s)", built_word(*unchanged)),
            ),
            LoopEvent::RollingOut { service, .. } => {
                (service.clone(), Status, "rolling out".into())
            }
            LoopEvent::Restarting { service } => {
                (service.clone(), Status, "restarting its pods".into())
            }
            LoopEvent::RolloutWaiting { service, message } => {
                (service.clone(), Status, format!("rolling out: {message}"))
            }
            LoopEvent::UpToDate {
                service,
                image,
                seconds,
                ..
            } => (
                service.clone(),
                Settle(Tone::Good),
                format!("up to date ({image}, {seconds:.1} s from the first change to running)"),
            ),
            LoopEvent::Lost {
                service, message, ..
            } => (service.clone(), Note(Tone::Warn), message.clone()),
            LoopEvent::Failed {
                service,
                stage,
                message,
            } => {
                let first = message.lines().next().unwrap_or_default();
                (
                    service.clone(),
                    Settle(Tone::Bad),
                    format!(
                        "failed ({stage}): {first}; the running pods are unchanged, still watching"
                    ),
                )
            }
        }),
        Event::Rows(_)
        | Event::RowsDone
        | Event::Attach(_)
        | Event::Watcher(_)
        | Event::Smoke(_)
        | Event::Verify(_)
        | Event::PageServing { .. }
        | Event::Push(_) => None,
    }
}

fn applied_word(a: &Applied) -> &'static str {
    match a {
        Applied::Created => "created",
        Applied::Changed => "configured",
        Applied::Unchanged => "unchanged",
        Applied::Borrowed => "exists (not this project's: used, left as is)",
        Applied::Retrying(_) => "retrying",
    }
}

fn built_word(unchanged: bool) -> &'static str {
    match unchanged {
        true => "unchanged",
        false => "built",
    }
}

/// The `--json` line of an event (`None`: the terminal's only).
pub fn json_of(event: &Event) -> Option<Value> {
    Some(match event {
        Event::Rows(_) | Event::RowsDone => return None,
        Event::Push(p) => match p {
            PushEvent::Target {
                registry,
                credentials,
            } => line(
                "push.target",
                json!({"registry": registry, "credentials": credentials}),
            ),
            PushEvent::Done {
                service,
                reference,
                already_there,
            } => line(
                "push.done",
                json!({"service": service, "reference": reference, "result": if *already_there { "already-there" } else { "pushed" }}),
            ),
            PushEvent::Failed { service, error } => {
                line("push.failed", json!({"service": service, "error": error}))
            }
            PushEvent::PullAnonymous { registry, why } => line(
                "push.pull-anonymous",
                json!({"registry": registry, "message": why}),
            ),
        },
        Event::Attach(a) => attach_json(a),
        Event::Smoke(e) => smoke_json(e),
        Event::Verify(e) => verify_json(e),
        Event::PageServing { url, moved_from } => {
            line("page.serving", json!({"url": url, "movedFrom": moved_from}))
        }
        Event::Watcher(w) => serde_json::from_str(&watcher_json(w)).ok()?,
        Event::Cluster(ClusterEvent::News { cluster, news }) => match news {
            ClusterNews::InUse {
                kubernetes_version,
                driver,
            } => line(
                "minikube.existing",
                json!({"cluster": cluster, "kubernetesVersion": kubernetes_version, "driver": driver}),
            ),
            ClusterNews::Drift(text) => line("minikube.warning", json!({ "message": text })),
            ClusterNews::Starting => line("minikube.start", json!({ "cluster": cluster })),
            ClusterNews::Start(StartEvent::Step {
                step,
                steps,
                message,
            }) => line(
                "minikube.step",
                json!({"step": step, "steps": steps, "message": message}),
            ),
            ClusterNews::Start(StartEvent::Warning(m)) => {
                line("minikube.warning", json!({ "message": m }))
            }
            ClusterNews::Start(_) => return None,
            ClusterNews::RepairingKubeconfig => {
                line("minikube.update-context", json!({ "cluster": cluster }))
            }
            ClusterNews::EnablingAddon { addon, note } => {
                line("minikube.addon", json!({"addon": addon, "message": note}))
            }
            ClusterNews::ImageLoad(why) => line(
                "minikube.image-load",
                json!({"cluster": cluster, "message": why}),
            ),
        },
        Event::Cluster(ClusterEvent::Ready { cluster, ready }) => line(
            "minikube.ready",
            json!({"cluster": cluster, "started": ready.started, "enabledAddons": ready.enabled_addons,
                   "kubernetesVersion": ready.kubernetes_version, "driver": ready.driver}),
        ),
        Event::Cluster(ClusterEvent::Failed { error }) => {
            line("minikube.failed", json!({ "error": error }))
        }
        Event::Cluster(ClusterEvent::ImageLoaded {
            cluster,
            image,
            seconds,
        }) => line(
            "minikube.image-loaded",
            json!({"cluster": cluster, "image": image, "seconds": seconds}),
        ),
        Event::Cluster(ClusterEvent::ImagePresent { cluster, image }) => line(
            "minikube.image-present",
            json!({"cluster": cluster, "image": image}),
        ),
        Event::Build(b) => match b {
            BuildEvent::LegacyBuilder { message } => line(
                "build.builder",
                json!({"builder": "legacy", "message": message}),
            ),
            BuildEvent::Warning {
                service,
                message,
                ignore_line,
                ..
            } => line(
                "build.warning",
                json!({"service": service, "message": message, "dockerignoreLine": ignore_line}),
            ),
            BuildEvent::Started {
                service,
                image,
                context_bytes,
                entries,
            } => line(
                "build.start",
                json!({"service": service, "image": image, "contextBytes": context_bytes, "entries": entries}),
            ),
            BuildEvent::Step {
                service,
                step,
                steps,
                instruction,
            } => line(
                "build.step",
                json!({"service": service, "step": step, "steps": steps, "instruction": instruction}),
            ),
            BuildEvent::Done {
                service,
                image,
                seconds: None,
                bytes,
            } => line(
                "build.done",
                json!({"service": service, "image": image, "result": "unchanged", "bytes": bytes}),
            ),
            BuildEvent::Done {
                service,
                image,
                seconds: Some(s),
                bytes,
            } => line(
                "build.done",
                json!({"service": service, "image": image, "result": "built", "seconds": s, "bytes": bytes}),
            ),
            BuildEvent::Failed {
                service,
                error,
                log,
            } => line(
                "build.failed",
                json!({"service": service, "error": error, "log": log}),
            ),
        },
        Event::Deploy(d) => match d {
            DeployEvent::Target {
                context, namespace, ..
            } => line(
                "deploy.target",
                json!({"context": context, "namespace": namespace}),
            ),
            DeployEvent::Applied {
                object,
                result: Applied::Retrying(why),
            } => line("apply.retry", json!({"object": object, "message": why})),
            DeployEvent::Applied { object, result } => line(
                "apply",
                json!({"object": object, "result": applied_word(result)}),
            ),
            DeployEvent::Pruned { object } => line("prune", json!({ "object": object })),
            DeployEvent::Recreated { object, deleted } => {
                line("recreate", json!({"object": object, "deleted": deleted}))
            }
            DeployEvent::Interrupted {
                applied,
                not_applied,
            } => line(
                "deploy.interrupted",
                json!({"applied": applied, "notApplied": not_applied}),
            ),
            DeployEvent::RolloutStatus { workload, message } => {
                line("rollout", json!({"workload": workload, "message": message}))
            }
            DeployEvent::RolloutReady { workload } => {
                line("rollout.done", json!({ "workload": workload }))
            }
            DeployEvent::RolloutFailed { workload, message } => line(
                "rollout.failed",
                json!({"workload": workload, "message": message}),
            ),
            DeployEvent::Diagnosis {
                workload,
                message,
                diagnosis: d,
                kubectl_ai,
            } => line(
                "diagnosis",
                json!({"workload": workload, "message": message, "pod": d.pod, "container": d.container(), "reason": d.reason(),
                       "detail": d.detail(), "events": d.events, "logs": d.logs.as_ref().map(|l| &l.1),
                       "previousLogs": d.logs.as_ref().map(|l| l.0), "hint": d.hint, "kubectlAi": kubectl_ai}),
            ),
            DeployEvent::Open { urls, .. } => {
                let list: Vec<_> = urls
                    .iter()
                    .map(|(u, n)| json!({"url": u, "note": n}))
                    .collect();
                line("deploy.done", json!({ "open": list }))
            }
        },
        Event::Watch(w) => match w {
            LoopEvent::Watching { service } => line(
                "watch.status",
                json!({"service": service, "state": "watching"}),
            ),
            LoopEvent::Superseded { service } => {
                line("watch.superseded", json!({ "service": service }))
            }
            LoopEvent::Syncing { service, paths } => {
                line("watch.sync", json!({"service": service, "paths": paths}))
            }
            LoopEvent::Synced {
                service,
                pods,
                caught_up,
                seconds,
                paths,
            } => line(
                "watch.done",
                json!({"service": service, "action": "sync", "pods": pods, "caughtUp": caught_up, "seconds": seconds, "paths": paths}),
            ),
            LoopEvent::FellBack {
                service,
                reason,
                paths,
            } => line(
                "watch.fallback",
                json!({"service": service, "reason": reason.to_string(), "kind": reason.kind(), "paths": paths}),
            ),
            LoopEvent::Retrying {
                service,
                attempt,
                in_seconds,
            } => line(
                "watch.retry",
                json!({"service": service, "attempt": attempt, "inSeconds": in_seconds}),
            ),
            LoopEvent::Planning { service, paths } => {
                line("watch.plan", json!({"service": service, "paths": paths}))
            }
            LoopEvent::Building { service, image } => {
                line("watch.build", json!({"service": service, "image": image}))
            }
            LoopEvent::Built {
                service,
                image,
                unchanged,
                seconds,
                bytes,
            } => line(
                "watch.built",
                json!({"service": service, "image": image, "result": built_word(*unchanged), "seconds": seconds, "bytes": bytes}),
            ),
            LoopEvent::RollingOut { service, image } => {
                line("watch.rollout", json!({"service": service, "image": image}))
            }
            LoopEvent::Restarting { service } => {
                line("watch.restart", json!({ "service": service }))
            }
            LoopEvent::RolloutWaiting { .. } => return None,
            LoopEvent::UpToDate {
                service,
                image,
                seconds,
                paths,
            } => line(
                "watch.done",
                json!({"service": service, "action": "rebuild", "image": image, "seconds": seconds, "paths": paths}),
            ),
            LoopEvent::Lost {
                service,
                stage,
                message,
            } => line(
                "watch.lost",
                json!({"service": service, "stage": stage, "message": message}),
            ),
            LoopEvent::Failed {
                service,
                stage,
                message,
            } => line(
                "watch.failed",
                json!({"service": service, "stage": stage, "message": message}),
            ),
        },
    })
}

/// The watcher's `--json` line, keys in the order its types give them.
fn watcher_json(event: &WatcherEvent) -> String {
    match event {
        WatcherEvent::DevVariant { synced } => {
            let synced: Vec<&str> = synced.iter().map(|(s, _)| s.as_str()).collect();
            json!({"event": "watch.dev", "synced": synced}).to_string()
        }
        WatcherEvent::Ready { ready, .. } => ready.json_line(),
        WatcherEvent::Change { set, .. } => set.json_line(),
        WatcherEvent::Limit(n) => n.json_line(),
        WatcherEvent::Rescanned(services) => {
            #[derive(serde::Serialize)]
            struct Line {
                event: &'static str,
                services: Vec<&'static str>,
            }
            let services = services.iter().map(|s| s.as_str()).collect();
            change::json_line(&Line {
                event: "watch.rescan",
                services,
            })
        }
    }
}

fn smoke_json(event: &SmokeEvent) -> Value {
    // Milliseconds are enough, and keep the lines short.
    let round = |s: f64| (s * 1000.0).round() / 1000.0;
    match event {
        SmokeEvent::Started {
            run_id,
            docker_host,
            profile,
            network,
        } => line(
            "smoke.start",
            json!({"runId": run_id, "dockerHost": docker_host, "profile": profile, "network": network}),
        ),
        SmokeEvent::Check(c) => line(
            "smoke.check",
            json!({"check": c.name, "ok": c.ok, "seconds": round(c.seconds), "detail": c.detail}),
        ),
        SmokeEvent::Logs { container, lines } => line(
            "smoke.logs",
            json!({"container": container, "lines": lines}),
        ),
        SmokeEvent::Done {
            ok,
            checks,
            failed,
            seconds,
            run_id,
            not_removed,
            kept,
        } => line(
            "smoke.done",
            json!({"ok": *ok && not_removed.is_empty(), "checks": checks, "failed": failed, "seconds": round(*seconds),
                   "runId": run_id, "notRemoved": not_removed,
                   "kept": kept.iter().map(|(s, u)| json!({"service": s, "url": u})).collect::<Vec<_>>()}),
        ),
    }
}

fn verify_json(event: &VerifyEvent) -> Value {
    match event {
        VerifyEvent::Started {
            frontend,
            backend,
            mcp,
        } => line(
            "verify.start",
            json!({"frontend": frontend, "backend": backend, "mcp": mcp}),
        ),
        VerifyEvent::OnCluster { context, namespace } => line(
            "verify.start",
            json!({"context": context, "namespace": namespace}),
        ),
        VerifyEvent::Check(c) => line(
            "verify.check",
            json!({"check": c.name, "ok": c.ok, "ms": c.ms, "figure": c.figure, "seen": c.seen, "fix": c.fix}),
        ),
        VerifyEvent::Done {
            ok,
            checks,
            failed,
            ms,
        } => line(
            "verify.done",
            json!({"ok": ok, "checks": checks, "failed": failed, "ms": ms}),
        ),
        VerifyEvent::Failed { message } => line("verify.failed", json!({ "message": message })),
    }
}

/// The widest check name (`workloads ready`), and a space.
const VERIFY_WIDTH: usize = 16;

fn verify_header() {
    println!(
        "{:VERIFY_WIDTH$}  {:6}  {:>8}  FIGURES",
        "CHECK", "RESULT", "TIME"
    );
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

fn attach_json(event: &AttachEvent) -> Value {
    match event {
        AttachEvent::Log(LogEvent::Line(l)) => line(
            "log.line",
            json!({"service": l.service, "pod": l.pod, "container": l.container, "time": l.time,
                   "line": l.line, "previous": l.previous}),
        ),
        AttachEvent::Log(LogEvent::Ended {
            service,
            pod,
            container,
            restart_count,
            exit_code,
            reason,
        }) => line(
            "log.ended",
            json!({"service": service, "pod": pod, "container": container,
                   "restartCount": restart_count, "exitCode": exit_code, "reason": reason}),
        ),
        AttachEvent::Log(LogEvent::Attached {
            service,
            pod,
            container,
        })
        | AttachEvent::Log(LogEvent::Detached {
            service,
            pod,
            container,
        }) => line(
            match event {
                AttachEvent::Log(LogEvent::Attached { .. }) => "log.attached",
                _ => "log.detached",
            },
            json!({"service": service, "pod": pod, "container": container}),
        ),
        AttachEvent::Log(LogEvent::Unreadable {
            service,
            pod,
            container,
            message,
        }) => line(
            "log.unreadable",
            json!({"service": service, "pod": pod, "container": container, "message": message}),
        ),
        AttachEvent::LogsStopped { message } => line("log.stopped", json!({ "message": message })),
        AttachEvent::ForwardReady {
            service,
            url,
            pod_port,
            moved_from,
        } => line(
            "forward.ready",
            json!({"service": service, "url": url, "pod_port": pod_port, "moved_from": moved_from}),
        ),
        AttachEvent::ForwardProblem { service, message } => line(
            "forward.problem",
            json!({"service": service, "message": message}),
        ),
    }
}

/// Why a workload failed, as a block below the rows.
fn print_diagnosis(out: &Output, workload: &str, msg: &str, d: &Diagnosis, ai: Option<&str>) {
    eprintln!("\n{} {workload}: {msg}", out.paint(Tone::Bad, "failed"));
    let pod = d.pod.as_deref().unwrap_or("-");
    eprintln!(
        "  pod {pod}: {} {}",
        out.paint(Tone::Bold, d.reason()),
        d.detail()
    );
    if !d.events.is_empty() {
        eprintln!("  recent events:");
        for e in &d.events {
            eprintln!("    {e}");
        }
    }
    if let Some((previous, logs)) = &d.logs {
        let which = if *previous {
            "the crashed instance's"
        } else {
            "the container's"
        };
        eprintln!(
            "  last {} log lines ({which}, {}):",
            logs.lines().count(),
            d.container().unwrap_or("?")
        );
        for l in logs.lines() {
            eprintln!("    | {l}");
        }
    }
    if let Some(h) = &d.hint {
        eprintln!("  hint: {h}");
    }
    if let Some(q) = ai {
        eprintln!("  ask kubectl-ai: {q}");
    }
}
