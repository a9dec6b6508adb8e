//! The logs of every pod of some services: each container's log stream,
//! line by line, and with `follow` a watch on the pods so that replacement
//! pods are attached and ended ones detached. A followed log ends with its
//! container; a restart is a new stream, and an instance that ended without
//! being seen running (a crash loop) is printed once, marked as previous.

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
    /// From an instance of the container that has ended (a crash loop's
    /// last run), not from the one running now.
    pub previous: bool,
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
    /// An instance of the container ended (it crashed, or exited and waits
    /// to restart); its log follows as `previous` lines.
    Ended {
        service: String,
        pod: String,
        container: String,
        restart_count: i32,
        exit_code: i32,
        reason: String,
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
                let states = instances(&pod);
                for container in containers(&pod) {
                    // A crash-looping container waits nearly all the time: its
                    // log is that of the instance that ended.
                    let ended = states.iter().find_map(|(c, i)| match i {
                        Instance::Ended(e) if *c == container => Some(e.clone()),
                        _ => None,
                    });
                    let attach = Attach {
                        pods: pods.clone(),
                        service: service.clone(),
                        pod: pod.name_any(),
                        container,
                        options,
                        ended,
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
    // Instances whose lines were shown (followed while running, or printed
    // once they ended), by container ID or (pod, container, restart count).
    let mut seen_instances: HashSet<String> = HashSet::new();
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
        for (container, instance) in instances(&pod) {
            let (restarts, ended) = match instance {
                Instance::Running { restarts, id } => {
                    if let Some(id) = id {
                        seen_instances.insert(id);
                    }
                    (restarts, None)
                }
                // A fast crash may never be seen running: its log is printed
                // once it ended, once per instance.
                Instance::Ended(e) => {
                    if !seen_instances.insert(e.identity(&uid, &container)) {
                        continue;
                    }
                    (e.restart_count, Some(e))
                }
            };
            let key = (uid.clone(), container.clone(), restarts);
            if ended.is_none() && attached.contains_key(&key) {
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
                ended: ended.clone(),
            };
            let tx = events.clone();
            let task = tokio::spawn(attach.read(tx));
            if ended.is_none() {
                attached.insert(key, task);
            }
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

/// Which instance of a container has a log to read now.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Instance {
    /// Running: followed until it ends.
    Running { restarts: i32, id: Option<String> },
    /// Ended: waiting to restart with its last state terminated (a crash
    /// loop), or terminated itself.
    Ended(EndedInstance),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct EndedInstance {
    restart_count: i32,
    exit_code: i32,
    reason: String,
    /// The ended container's ID, when the runtime gave one.
    id: Option<String>,
    /// The container waits: the ended instance is the API's `previous` one.
    waiting: bool,
}

impl EndedInstance {
    /// What tells this instance from the container's others.
    fn identity(&self, pod_uid: &str, container: &str) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => format!("{pod_uid}/{container}/{}", self.restart_count),
        }
    }
}

/// Each container's instance with a log, from the pod's status.
fn instances(pod: &Pod) -> Vec<(String, Instance)> {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    let mut found = Vec::new();
    for c in statuses.into_iter().flatten() {
        let Some(state) = &c.state else { continue };
        let id = c.container_id.clone().filter(|i| !i.is_empty());
        if state.running.is_some() {
            let instance = Instance::Running {
                restarts: c.restart_count,
                id,
            };
            found.push((c.name.clone(), instance));
            continue;
        }
        let (terminated, waiting) = match (&state.terminated, &state.waiting) {
            (Some(t), _) => (t, false),
            (None, Some(_)) => match c.last_state.as_ref().and_then(|l| l.terminated.as_ref()) {
                Some(t) => (t, true),
                None => continue,
            },
            (None, None) => continue,
        };
        let ended = EndedInstance {
            restart_count: c.restart_count,
            exit_code: terminated.exit_code,
            reason: terminated.reason.clone().unwrap_or_default(),
            id: terminated
                .container_id
                .clone()
                .filter(|i| !i.is_empty())
                .or(if waiting { None } else { id }),
            waiting,
        };
        found.push((c.name.clone(), Instance::Ended(ended)));
    }
    found
}

struct Attach {
    pods: Api<Pod>,
    service: String,
    pod: String,
    container: String,
    options: LogOptions,
    /// Read the ended instance's log once instead of the running one's.
    ended: Option<EndedInstance>,
}

impl Attach {
    async fn read(self, events: UnboundedSender<LogEvent>) {
        let ended = self.ended.as_ref();
        let params = LogParams {
            container: Some(self.container.clone()),
            // An ended instance's log is complete: nothing to follow.
            follow: self.options.follow && ended.is_none(),
            previous: ended.is_some_and(|e| e.waiting),
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
        if let Some(e) = ended {
            let _ = events.send(LogEvent::Ended {
                service: self.service.clone(),
                pod: self.pod.clone(),
                container: self.container.clone(),
                restart_count: e.restart_count,
                exit_code: e.exit_code,
                reason: e.reason.clone(),
            });
        } else if self.options.follow {
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
                previous: ended.is_some(),
            }));
            if sent.is_err() {
                return;
            }
        }
        if self.options.follow && ended.is_none() {
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
