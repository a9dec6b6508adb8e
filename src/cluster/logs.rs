//! The logs of every pod of some services: each container's log stream,
//! line by line, and with `follow` a watch on the pods so that replacement
//! pods are attached and ended ones detached.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, ResourceExt};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Which pods: one label selector per service.
#[derive(Debug, Clone)]
pub struct LogSources {
    pub namespace: String,
    /// service name -> label selector of its pods
    pub services: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LogOptions {
    pub follow: bool,
    /// Only lines newer than this (pods present at the start).
    pub since: Option<Duration>,
    /// Only the last N lines of each container (pods present at the start).
    pub tail: Option<i64>,
}

/// One line a container printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub service: String,
    pub pod: String,
    pub container: String,
    /// RFC 3339 time the runtime recorded, when it gave one.
    pub time: Option<String>,
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    Attached {
        service: String,
        pod: String,
        container: String,
    },
    Line(LogLine),
    /// The container's stream ended (pod deleted, container stopped).
    Detached {
        service: String,
        pod: String,
        container: String,
    },
    /// A container whose log could not be read (waiting to start, ...).
    Unreadable {
        service: String,
        pod: String,
        container: String,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("cannot list the pods of {service} in namespace {namespace}")]
    List {
        service: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

/// Streams the logs into `events`. Without `follow` it returns once every
/// container's log was read; with it, it runs until the receiver is gone.
pub async fn stream_logs(
    client: &kube::Client,
    sources: &LogSources,
    options: LogOptions,
    events: UnboundedSender<LogEvent>,
) -> Result<(), LogsError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &sources.namespace);
    if !options.follow {
        let mut readers = Vec::new();
        for (service, selector) in &sources.services {
            let list = pods
                .list(&ListParams::default().labels(selector))
                .await
                .map_err(|source| LogsError::List {
                    service: service.clone(),
                    namespace: sources.namespace.clone(),
                    source,
                })?;
            let mut items = list.items;
            items.sort_by_key(|p| p.name_any());
            for pod in items {
                for container in containers(&pod) {
                    let attach = Attach {
                        pods: pods.clone(),
                        service: service.clone(),
                        pod: pod.name_any(),
                        container,
                        options,
                    };
                    readers.push(attach.read(events.clone()));
                }
            }
        }
        // Each container's lines stay together: read one after the other.
        for r in readers {
            r.await;
        }
        return Ok(());
    }
    let mut followers = Vec::new();
    for (service, selector) in &sources.services {
        followers.push(follow_service(
            pods.clone(),
            service.clone(),
            selector.clone(),
            options,
            events.clone(),
        ));
    }
    futures::future::join_all(followers).await;
    Ok(())
}

/// Watches one service's pods and keeps a log reader on each running container.
async fn follow_service(
    pods: Api<Pod>,
    service: String,
    selector: String,
    options: LogOptions,
    events: UnboundedSender<LogEvent>,
) {
    let config = watcher::Config::default().labels(&selector);
    let mut stream = watcher::watcher(pods.clone(), config)
        .default_backoff()
        .boxed();
    // (pod uid, container, restart count) -> its reader
    let mut attached: HashMap<(String, String, i32), JoinHandle<()>> = HashMap::new();
    let mut first_sync_done = false;
    let mut initial: HashSet<String> = HashSet::new();
    // (pod uid, container) attached at least once: a restart is shown whole.
    let mut shown: HashSet<(String, String)> = HashSet::new();
    while let Some(item) = stream.next().await {
        if events.is_closed() {
            break;
        }
        // The watcher retries with backoff after an error (a lost cluster): keep going.
        let Ok(event) = item else { continue };
        let (pod, deleted) = match event {
            Event::Apply(p) => (p, false),
            Event::InitApply(p) => {
                if !first_sync_done {
                    initial.insert(p.uid().unwrap_or_default());
                }
                (p, false)
            }
            Event::Delete(p) => (p, true),
            Event::InitDone => {
                first_sync_done = true;
                continue;
            }
            Event::Init => continue,
        };
        let uid = pod.uid().unwrap_or_default();
        attached.retain(|_, task| !task.is_finished());
        if deleted || pod.metadata.deletion_timestamp.is_some() {
            // Its streams end by themselves when the containers stop.
            continue;
        }
        for (container, restarts) in running_containers(&pod) {
            let key = (uid.clone(), container.clone(), restarts);
            if attached.contains_key(&key) {
                continue;
            }
            // tail/since are for what was there at the start; a new pod is shown whole.
            let first_instance = shown.insert((uid.clone(), key.1.clone()));
            let options = if initial.contains(&uid) && first_instance {
                options
            } else {
                LogOptions {
                    follow: true,
                    since: None,
                    tail: None,
                }
            };
            let attach = Attach {
                pods: pods.clone(),
                service: service.clone(),
                pod: pod.name_any(),
                container,
                options,
            };
            let tx = events.clone();
            attached.insert(key, tokio::spawn(attach.read(tx)));
        }
    }
    for (_, task) in attached {
        task.abort();
    }
}

fn containers(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

/// Containers whose log can be followed now, with their restart count.
fn running_containers(pod: &Pod) -> Vec<(String, i32)> {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|statuses| {
            statuses
                .iter()
                .filter(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
                .map(|c| (c.name.clone(), c.restart_count))
                .collect()
        })
        .unwrap_or_default()
}

struct Attach {
    pods: Api<Pod>,
    service: String,
    pod: String,
    container: String,
    options: LogOptions,
}

impl Attach {
    async fn read(self, events: UnboundedSender<LogEvent>) {
        let params = LogParams {
            container: Some(self.container.clone()),
            follow: self.options.follow,
            since_seconds: self.options.since.map(|d| d.as_secs().max(1) as i64),
            tail_lines: self.options.tail,
            timestamps: true,
            ..LogParams::default()
        };
        let reader = match self.pods.log_stream(&self.pod, &params).await {
            Ok(r) => r,
            Err(e) => {
                let _ = events.send(LogEvent::Unreadable {
                    service: self.service,
                    pod: self.pod,
                    container: self.container,
                    message: api_message(&e),
                });
                return;
            }
        };
        if self.options.follow {
            let _ = events.send(LogEvent::Attached {
                service: self.service.clone(),
                pod: self.pod.clone(),
                container: self.container.clone(),
            });
        }
        let mut lines = reader.lines();
        while let Some(Ok(raw)) = lines.next().await {
            let (time, line) = split_timestamp(&raw);
            let sent = events.send(LogEvent::Line(LogLine {
                service: self.service.clone(),
                pod: self.pod.clone(),
                container: self.container.clone(),
                time,
                line,
            }));
            if sent.is_err() {
                return;
            }
        }
        if self.options.follow {
            let _ = events.send(LogEvent::Detached {
                service: self.service,
                pod: self.pod,
                container: self.container,
            });
        }
    }
}

/// The API server's own words when it refused (a waiting container, ...).
fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// `timestamps=true` puts the runtime's RFC 3339 time and a space before each line.
fn split_timestamp(raw: &str) -> (Option<String>, String) {
    match raw.split_once(' ') {
        Some((t, rest))
            if t.len() >= 20
                && t.as_bytes()[4] == b'-'
                && t.as_bytes()[10] == b'T'
                && t.ends_with('Z') =>
        {
            (Some(t.to_string()), rest.to_string())
        }
        _ => (None, raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_timestamp_is_split_from_the_line() {
        assert_eq!(
            split_timestamp("2026-11-28T04:00:01.123456789Z INFO started on :8000"),
            (
                Some("2026-11-28T04:00:01.123456789Z".into()),
                "INFO started on :8000".into()
            )
        );
        assert_eq!(
            split_timestamp("no time here"),
            (None, "no time here".into())
        );
        assert_eq!(
            split_timestamp("2026-11-28T04:00:01Z "),
            (Some("2026-11-28T04:00:01Z".into()), String::new())
        );
    }
}
