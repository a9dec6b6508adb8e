//! Attaching to what runs: the services' logs (`logs`, `watch --logs`) and
//! port-forwards (`up --port-forward`, `watch`), reported as events.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::event::{AttachEvent, Events};
use super::PipelineError;
use crate::cluster::forward::{self, ForwardError, ForwardSpec, Forwards};
use crate::cluster::kube::connect_streaming;
use crate::cluster::logs::{self, LogOptions, LogSources, LogsError};
use crate::deploy::values::pod_selector;
use crate::project::model::ServiceName;
use crate::project::Project;

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

/// Streams the logs as events; returns when a non-following read is done
/// (a follow runs until its task is aborted).
pub async fn report_logs(
    client: kube::Client,
    sources: LogSources,
    options: LogOptions,
    events: Events,
) -> Result<(), LogsError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let relay = {
        let events = events.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                events.attach(AttachEvent::Log(event));
            }
        })
    };
    let result = logs::stream_logs(&client, &sources, options, tx).await;
    let _ = relay.await;
    result
}

/// `watch --logs`: the follow on its own task, beside the watcher.
pub fn follow_logs_in_background(
    client: kube::Client,
    sources: LogSources,
    events: Events,
) -> JoinHandle<()> {
    let options = LogOptions {
        follow: true,
        since: None,
        tail: Some(0),
    };
    tokio::spawn(async move {
        if let Err(e) = report_logs(client, sources, options, events.clone()).await {
            events.attach(AttachEvent::LogsStopped {
                message: e.to_string(),
            });
        }
    })
}

/// A forward for each of `services` the project enables, each to its own port number locally.
pub fn forward_specs(project: &Project, services: &[ServiceName]) -> Vec<ForwardSpec> {
    services
        .iter()
        .filter_map(|name| project.service(*name))
        .map(|s| ForwardSpec {
            service: s.name.as_str().to_string(),
            selector: pod_selector(project, s.name.as_str()),
            pod_port: s.port,
            local_port: s.port,
        })
        .collect()
}

/// Starts the forwards and reports their URLs (and any moved port);
/// problems with single connections are reported as they happen.
pub async fn forward(
    client: &kube::Client,
    project: &Project,
    events: &Events,
) -> Result<Forwards, ForwardError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<forward::ForwardProblem>();
    let forwards = forward::start(
        client,
        &project.namespace,
        &forward_specs(project, &[ServiceName::Frontend, ServiceName::Backend]),
        tx,
    )
    .await?;
    for f in &forwards.forwarded {
        events.attach(AttachEvent::ForwardReady {
            service: f.service.clone(),
            url: f.url(),
            pod_port: f.pod_port,
            moved_from: f.moved_from,
        });
    }
    let events = events.clone();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            events.attach(AttachEvent::ForwardProblem {
                service: p.service,
                message: p.message,
            });
        }
    });
    Ok(forwards)
}
