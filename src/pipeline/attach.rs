//! Attaching to what runs: the services' logs (`logs`, `watch --logs`) and
//! port-forwards (`up --port-forward`, `watch`), with their output.

use std::collections::BTreeMap;

use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::PipelineError;
use crate::cluster::forward::{self, ForwardError, ForwardSpec, Forwards};
use crate::cluster::kube::connect_streaming;
use crate::cluster::logs::{self, LogEvent, LogOptions, LogSources, LogsError};
use crate::deploy::values::pod_selector;
use crate::project::model::ServiceName;
use crate::project::Project;
use crate::ui::{Output, Tone};

/// A client for long-lived streams to the project's cluster.
pub async fn connect(
    project: &Project,
    context: Option<&str>,
    allow_remote: bool,
) -> Result<kube::Client, PipelineError> {
    let (client, _) = connect_streaming(&project.cluster.name, context, allow_remote).await?;
    Ok(client)
}

/// Which pods each service's logs come from.
pub fn log_sources(project: &Project, services: &[ServiceName]) -> LogSources {
    LogSources {
        namespace: project.namespace.clone(),
        services: services
            .iter()
            .map(|s| (s.as_str().to_string(), pod_selector(project, s.as_str())))
            .collect(),
    }
}

/// Streams the logs and prints each event; returns when a non-following
/// read is done (a follow runs until its task is aborted).
pub async fn print_logs(
    client: kube::Client,
    sources: LogSources,
    options: LogOptions,
    out: Output,
) -> Result<(), LogsError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let mut printer = LogPrinter::new(out);
        while let Some(event) = rx.recv().await {
            printer.print(&event);
        }
    });
    let result = logs::stream_logs(&client, &sources, options, tx).await;
    let _ = printer.await;
    result
}

/// `watch --logs`: the follow on its own task, beside the watcher.
pub fn follow_logs_in_background(
    client: kube::Client,
    sources: LogSources,
    out: Output,
) -> JoinHandle<()> {
    let options = LogOptions {
        follow: true,
        since: None,
        tail: Some(0),
    };
    tokio::spawn(async move {
        if let Err(e) = print_logs(client, sources, options, out).await {
            eprintln!("{} logs: {e}", out.paint(Tone::Warn, "warning:"));
        }
    })
}

/// One line per event; colours by service (the name) and pod (its name).
struct LogPrinter {
    out: Output,
    pod_colours: BTreeMap<String, &'static str>,
}

/// ANSI colours for pods, in the order pods appear.
const POD_COLOURS: [&str; 6] = ["36", "35", "34", "32", "33", "91"];

impl LogPrinter {
    fn new(out: Output) -> LogPrinter {
        LogPrinter {
            out,
            pod_colours: BTreeMap::new(),
        }
    }

    fn prefix(&mut self, service: &str, pod: &str) -> String {
        if !self.out.color {
            return format!("{service} {pod} |");
        }
        let next = POD_COLOURS[self.pod_colours.len() % POD_COLOURS.len()];
        let pod_colour = *self.pod_colours.entry(pod.to_string()).or_insert(next);
        let service_colour = match service {
            "frontend" => "36;1",
            "backend" => "35;1",
            "mcp-server" => "34;1",
            _ => "33;1",
        };
        format!("\x1b[{service_colour}m{service}\x1b[0m \x1b[{pod_colour}m{pod}\x1b[0m |")
    }

    fn print(&mut self, event: &LogEvent) {
        if self.out.json {
            let value = match event {
                LogEvent::Line(l) => json!({
                    "event": "log.line", "service": l.service, "pod": l.pod,
                    "container": l.container, "time": l.time, "line": l.line,
                    "previous": l.previous,
                }),
                LogEvent::Ended {
                    service,
                    pod,
                    container,
                    restart_count,
                    exit_code,
                    reason,
                } => {
                    json!({"event": "log.ended", "service": service, "pod": pod, "container": container,
                           "restartCount": restart_count, "exitCode": exit_code, "reason": reason})
                }
                LogEvent::Attached {
                    service,
                    pod,
                    container,
                } => {
                    json!({"event": "log.attached", "service": service, "pod": pod, "container": container})
                }
                LogEvent::Detached {
                    service,
                    pod,
                    container,
                } => {
                    json!({"event": "log.detached", "service": service, "pod": pod, "container": container})
                }
                LogEvent::Unreadable {
                    service,
                    pod,
                    container,
                    message,
                } => {
                    json!({"event": "log.unreadable", "service": service, "pod": pod, "container": container, "message": message})
                }
            };
            println!("{value}");
            return;
        }
        match event {
            LogEvent::Line(l) => {
                let prefix = self.prefix(&l.service, &l.pod);
                if l.previous {
                    println!(
                        "{prefix} {} {}",
                        self.out.paint(Tone::Dim, "(previous)"),
                        l.line
                    );
                } else {
                    println!("{prefix} {}", l.line);
                }
            }
            LogEvent::Ended {
                service,
                pod,
                container,
                restart_count,
                exit_code,
                reason,
            } => {
                let prefix = self.prefix(service, pod);
                let note = format!("(container {container} ended: exit {exit_code} {reason}, restarts {restart_count}; the previous instance's log:)");
                eprintln!("{prefix} {}", self.out.paint(Tone::Warn, &note));
            }
            LogEvent::Attached { service, pod, .. } => {
                let prefix = self.prefix(service, pod);
                eprintln!("{prefix} {}", self.out.paint(Tone::Dim, "(attached)"));
            }
            LogEvent::Detached { service, pod, .. } => {
                let prefix = self.prefix(service, pod);
                eprintln!("{prefix} {}", self.out.paint(Tone::Dim, "(ended)"));
            }
            LogEvent::Unreadable {
                service,
                pod,
                message,
                ..
            } => {
                let prefix = self.prefix(service, pod);
                eprintln!(
                    "{prefix} {} {message}",
                    self.out.paint(Tone::Warn, "no logs:")
                );
            }
        }
    }
}

/// The frontend and the backend (those enabled), each to its own port number locally.
pub fn forward_specs(project: &Project) -> Vec<ForwardSpec> {
    [ServiceName::Frontend, ServiceName::Backend]
        .into_iter()
        .filter_map(|name| project.service(name))
        .map(|s| ForwardSpec {
            service: s.name.as_str().to_string(),
            selector: pod_selector(project, s.name.as_str()),
            pod_port: s.port,
            local_port: s.port,
        })
        .collect()
}

/// Starts the forwards and prints their URLs (and any moved port); problems
/// with single connections are printed as they happen.
pub async fn forward(
    client: &kube::Client,
    project: &Project,
    out: Output,
) -> Result<Forwards, ForwardError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<forward::ForwardProblem>();
    let forwards = forward::start(client, &project.namespace, &forward_specs(project), tx).await?;
    for f in &forwards.forwarded {
        if out.json {
            println!(
                "{}",
                json!({"event": "forward.ready", "service": f.service, "url": f.url(), "pod_port": f.pod_port, "moved_from": f.moved_from})
            );
        } else {
            let moved = match f.moved_from {
                Some(p) => format!(" (port {p} was busy)"),
                None => String::new(),
            };
            eprintln!(
                "{} {} -> {} port {}{moved}",
                out.paint(Tone::Good, "forwarding"),
                out.paint(Tone::Bold, &f.url()),
                f.service,
                f.pod_port
            );
        }
    }
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            if out.json {
                println!(
                    "{}",
                    json!({"event": "forward.problem", "service": p.service, "message": p.message})
                );
            } else {
                eprintln!(
                    "{} {}: {}",
                    out.paint(Tone::Warn, "port-forward:"),
                    p.service,
                    p.message
                );
            }
        }
    });
    Ok(forwards)
}
