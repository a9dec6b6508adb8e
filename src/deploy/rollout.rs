//! Waiting for workloads with kubectl's rollout-status rules, and saying why
//! one did not come up.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures::stream::BoxStream;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use kube::Client;

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutState {
    Done(String),
    Waiting(String),
    Failed(String),
}

/// kubectl's DeploymentStatusViewer, rule for rule.
pub fn deployment_state(d: &Deployment) -> RolloutState {
    let name = d.metadata.name.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let Some(status) = &d.status else {
        return RolloutState::Waiting(
            "Waiting for deployment spec update to be observed...".into(),
        );
    };
    if generation > status.observed_generation.unwrap_or(0) {
        return RolloutState::Waiting(
            "Waiting for deployment spec update to be observed...".into(),
        );
    }
    let deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline_exceeded {
        return RolloutState::Failed(format!(
            "deployment {name:?} exceeded its progress deadline"
        ));
    }
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < want {
        return RolloutState::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {want} new replicas have been updated..."
        ));
    }
    if replicas > updated {
        return RolloutState::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return RolloutState::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    RolloutState::Done(format!("deployment {name:?} successfully rolled out"))
}

/// kubectl's StatefulSetStatusViewer (RollingUpdate strategy): with a
/// partition (always, in apps/v1) done when `updatedReplicas >= replicas -
/// partition` and every pod is ready.
pub fn statefulset_state(s: &StatefulSet) -> RolloutState {
    let generation = s.metadata.generation.unwrap_or(0);
    let Some(status) = &s.status else {
        return RolloutState::Waiting(
            "Waiting for statefulset spec update to be observed...".into(),
        );
    };
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || generation > observed {
        return RolloutState::Waiting(
            "Waiting for statefulset spec update to be observed...".into(),
        );
    }
    let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = status.ready_replicas.unwrap_or(0);
    if ready < want {
        return RolloutState::Waiting(format!("Waiting for {} pods to be ready...", want - ready));
    }
    let partition = s
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition);
    let updated = status.updated_replicas.unwrap_or(0);
    // apps/v1 always fills the partition (0), so kubectl takes this branch.
    if let Some(partition) = partition {
        if updated < want - partition {
            return RolloutState::Waiting(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                want - partition
            ));
        }
        return RolloutState::Done(format!(
            "partitioned roll out complete: {updated} new pods have been updated..."
        ));
    }
    if status.update_revision != status.current_revision {
        return RolloutState::Waiting(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {}...",
            status.update_revision.clone().unwrap_or_default()
        ));
    }
    RolloutState::Done(format!(
        "statefulset rolling update complete {want} pods at revision {}...",
        status.current_revision.clone().unwrap_or_default()
    ))
}

/// A workload to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: String,
    pub name: String,
    /// The images of its pods that todo-dev built into the node's daemon:
    /// a pull of one of these cannot succeed by retrying (no registry has it).
    pub built_images: BTreeSet<String>,
}

impl Workload {
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// How long a pod may stay Unschedulable before the rollout fails with it
/// (the scheduler retries; a node may be just joining).
pub const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(10);

/// How long the kubelet's pull retries of a registry image (postgres, redis)
/// are waited for: its backoff (10 s, doubling) fits four tries in this, and
/// a blip or a short rate limit passes by itself.
pub const PULL_GRACE: Duration = Duration::from_secs(150);

/// A server-side watch ends after this long and is renewed: shorter than
/// the client's 30 s read timeout, so a quiet watch is not cut as dead.
const WATCH_SECONDS: u32 = 25;

/// What a watch event of the workload says.
#[derive(Debug, Clone)]
struct Seen {
    state: RolloutState,
    /// Its pods' label selector (`k=v,k2=v2`).
    selector: Option<String>,
    revision: Revision,
    /// The controller has seen the current spec: `revision` is the new one.
    observed: bool,
}

/// observedGeneration caught up with generation.
fn observed(meta: &kube::core::ObjectMeta, observed_generation: Option<i64>) -> bool {
    observed_generation.is_some_and(|o| o >= meta.generation.unwrap_or(0))
}

/// Which of the workload's pods belong to the revision being rolled out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Revision {
    /// The Deployment's `deployment.kubernetes.io/revision`: its ReplicaSet
    /// of that revision names the pods' `pod-template-hash`.
    Deployment(Option<String>),
    /// The StatefulSet's `status.updateRevision` (pods' `controller-revision-hash`).
    StatefulSet(Option<String>),
}

fn seen_deployment(d: &Deployment) -> Seen {
    Seen {
        state: deployment_state(d),
        selector: d.spec.as_ref().and_then(|s| match_labels(&s.selector)),
        revision: Revision::Deployment(
            d.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("deployment.kubernetes.io/revision"))
                .cloned(),
        ),
        observed: observed(
            &d.metadata,
            d.status.as_ref().and_then(|s| s.observed_generation),
        ),
    }
}

fn seen_statefulset(s: &StatefulSet) -> Seen {
    Seen {
        state: statefulset_state(s),
        selector: s.spec.as_ref().and_then(|sp| match_labels(&sp.selector)),
        revision: Revision::StatefulSet(
            s.status.as_ref().and_then(|st| st.update_revision.clone()),
        ),
        observed: observed(
            &s.metadata,
            s.status.as_ref().and_then(|st| st.observed_generation),
        ),
    }
}

fn match_labels(selector: &LabelSelector) -> Option<String> {
    let labels = selector.match_labels.as_ref()?;
    let terms: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    (!terms.is_empty()).then(|| terms.join(","))
}

/// A watch of one object by name, renewed and retried (with backoff) for as
/// long as it is polled; each event read as `Seen`.
fn watch_workload<K>(
    api: Api<K>,
    name: &str,
    see: fn(&K) -> Seen,
) -> BoxStream<'static, Result<Option<Seen>, String>>
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let config = watcher::Config::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(WATCH_SECONDS);
    watcher(api, config)
        .default_backoff()
        .map(move |event| match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => Ok(Some(see(&o))),
            Ok(_) => Ok(None),
            Err(e) => Err(e.to_string()),
        })
        .boxed()
}

/// Waits for `w` with watches (as kube-runtime's `await_condition`): done
/// by kubectl's rules; failed as soon as a pod of the new revision shows a
/// state that will not fix itself (`early_failure`), or when `timeout`
/// passes. A failing watch (a transient API error) is retried. Reports each
/// new state through `on_state` and returns the last.
pub async fn wait(
    client: &Client,
    namespace: &str,
    w: &Workload,
    timeout: Duration,
    mut on_state: impl FnMut(&RolloutState),
) -> Result<RolloutState, kube::Error> {
    let mut workload = match w.kind.as_str() {
        "StatefulSet" => watch_workload(
            Api::<StatefulSet>::namespaced(client.clone(), namespace),
            &w.name,
            seen_statefulset,
        ),
        _ => watch_workload(
            Api::<Deployment>::namespaced(client.clone(), namespace),
            &w.name,
            seen_deployment,
        ),
    };
    let (pods, writer) = reflector::store::<Pod>();
    let mut writer = Some(writer);
    let mut pod_events: Option<BoxStream<'static, ()>> = None;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seen: Option<Seen> = None;
    let mut last: Option<RolloutState> = None;
    let mut last_error: Option<String> = None;
    let mut watch = PodWatch::default();
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {
                let state = match &last {
                    Some(RolloutState::Waiting(msg)) => msg.clone(),
                    _ => match &last_error {
                        Some(e) => format!("its status could not be read: {e}"),
                        None => "no status yet".into(),
                    },
                };
                return Ok(RolloutState::Failed(format!("timed out after {}s: {state}", timeout.as_secs())));
            }
            event = workload.next() => match event {
                Some(Ok(Some(s))) => {
                    last_error = None;
                    if let (None, Some(selector), Some(writer)) = (&pod_events, &s.selector, writer.take()) {
                        pod_events = Some(watch_pods(client, namespace, selector, writer));
                    }
                    seen = Some(s);
                }
                Some(Ok(None)) => {}
                // The watcher backs off and tries again by itself.
                Some(Err(e)) => last_error = Some(e),
                None => return Ok(RolloutState::Failed(format!("the watch of {} ended", w.id()))),
            },
            Some(()) = next_pod_event(&mut pod_events) => {}
            _ = tick.tick() => {}
        }
        let Some(s) = &seen else { continue };
        if !matches!(s.state, RolloutState::Waiting(_)) {
            if last.as_ref() != Some(&s.state) {
                on_state(&s.state);
            }
            return Ok(s.state.clone());
        }
        let verdict = watch
            .early_failure(
                client,
                namespace,
                s,
                &w.built_images,
                &pods.state(),
                Instant::now(),
            )
            .await;
        // A pull being retried is what the wait is for now: it is said instead.
        let shown = match verdict {
            Some(PodVerdict::Failed(why)) => {
                let failed = RolloutState::Failed(why);
                on_state(&failed);
                return Ok(failed);
            }
            Some(PodVerdict::Pulling(note)) => RolloutState::Waiting(note),
            None => s.state.clone(),
        };
        if last.as_ref() != Some(&shown) {
            on_state(&shown);
            last = Some(shown);
        }
    }
}

/// What one pod's state says about the rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodVerdict {
    /// It will not fix itself.
    Failed(String),
    /// The kubelet is retrying a registry pull; the rollout waits (bounded).
    Pulling(String),
}

/// The pods of `selector`, kept in `writer`'s store; one item per change.
fn watch_pods(
    client: &Client,
    namespace: &str,
    selector: &str,
    writer: reflector::store::Writer<Pod>,
) -> BoxStream<'static, ()> {
    let config = watcher::Config::default()
        .labels(selector)
        .timeout(WATCH_SECONDS);
    watcher(Api::<Pod>::namespaced(client.clone(), namespace), config)
        .default_backoff()
        .reflect(writer)
        .map(|_| ())
        .boxed()
}

async fn next_pod_event(events: &mut Option<BoxStream<'static, ()>>) -> Option<()> {
    match events {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// What the wait remembers about the pods between events.
#[derive(Default)]
struct PodWatch {
    seen: PodMemory,
    /// Deployment revision -> its ReplicaSet's pod-template-hash.
    template_hashes: HashMap<String, String>,
}

/// The pods' states over time, for the failures that need a grace period.
#[derive(Debug, Default)]
pub struct PodMemory {
    /// When each pod (by uid) was first seen Unschedulable.
    unschedulable_since: HashMap<String, Instant>,
    /// (pod uid, container) -> its failing registry pulls.
    pulls: HashMap<(String, String), PullTries>,
}

impl PodMemory {
    /// Forgets pods that are gone.
    fn keep(&mut self, uids: &[String]) {
        self.unschedulable_since.retain(|uid, _| uids.contains(uid));
        self.pulls.retain(|(uid, _), _| uids.contains(uid));
    }
}

/// One container's failed pulls as the kubelet retries them:
/// `ErrImagePull`, then `ImagePullBackOff` while it waits, then again.
#[derive(Debug, Clone)]
struct PullTries {
    since: Instant,
    failures: u32,
    last_reason: String,
}

impl PodWatch {
    /// Why the rollout cannot succeed, from the pods of its new revision.
    async fn early_failure(
        &mut self,
        client: &Client,
        namespace: &str,
        seen: &Seen,
        built: &BTreeSet<String>,
        pods: &[std::sync::Arc<Pod>],
        now: Instant,
    ) -> Option<PodVerdict> {
        // Until then the revision is the previous one, whose pods may be the
        // very failure this rollout replaces.
        if !seen.observed {
            return None;
        }
        let live: Vec<&Pod> = pods
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let uids: Vec<String> = live.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        self.seen.keep(&uids);
        let mut failing = Vec::new();
        for pod in live {
            if let Some(verdict) = pod_verdict(pod, now, built, &mut self.seen) {
                failing.push((pod, verdict));
            }
        }
        // A failure ends the wait whichever pod has it; a pull note only says why it lasts.
        failing.sort_by_key(|(_, v)| matches!(v, PodVerdict::Pulling(_)));
        if failing.is_empty() {
            return None;
        }
        let (label, want) = match &seen.revision {
            Revision::StatefulSet(update) => ("controller-revision-hash", update.clone()),
            Revision::Deployment(revision) => {
                let hash = match revision {
                    Some(r) => self.template_hash(client, namespace, seen, r).await,
                    None => None,
                };
                // Not known yet: no pod is known to be of the new revision.
                ("pod-template-hash", Some(hash?))
            }
        };
        failing
            .into_iter()
            .find(|(pod, _)| {
                want.is_none()
                    || pod.metadata.labels.as_ref().and_then(|l| l.get(label)) == want.as_ref()
            })
            .map(|(_, why)| why)
    }

    /// The pod-template-hash of the Deployment's ReplicaSet of `revision`.
    async fn template_hash(
        &mut self,
        client: &Client,
        namespace: &str,
        seen: &Seen,
        revision: &str,
    ) -> Option<String> {
        if let Some(h) = self.template_hashes.get(revision) {
            return Some(h.clone());
        }
        let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
        let lp = ListParams::default().labels(seen.selector.as_deref().unwrap_or_default());
        let list = sets.list(&lp).await.ok()?;
        let hash = list.items.iter().find_map(|rs| {
            let annotations = rs.metadata.annotations.as_ref()?;
            (annotations
                .get("deployment.kubernetes.io/revision")?
                .as_str()
                == revision)
                .then(|| {
                    rs.metadata
                        .labels
                        .as_ref()?
                        .get("pod-template-hash")
                        .cloned()
                })?
        })?;
        self.template_hashes
            .insert(revision.to_string(), hash.clone());
        Some(hash)
    }
}

/// A state of one pod that will not fix itself: a container crash-looping
/// after its second restart, an image that cannot be had (one todo-dev built
/// and the node lacks, a name the runtime refuses, `Never` pulled, or a
/// registry pull still failing after `PULL_GRACE`), a container that cannot
/// be created; or Unschedulable for longer than the grace period. A registry
/// pull the kubelet is still retrying is `Pulling`.
pub fn pod_verdict(
    pod: &Pod,
    now: Instant,
    built: &BTreeSet<String>,
    memory: &mut PodMemory,
) -> Option<PodVerdict> {
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    let uid = pod.metadata.uid.clone().unwrap_or_else(|| name.to_string());
    let status = pod.status.as_ref()?;
    let mut pulling = None;
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for c in containers {
        let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = waiting.reason.as_deref().unwrap_or_default();
        let message = waiting.message.as_deref().unwrap_or_default();
        let key = (uid.clone(), c.name.clone());
        let image = spec_image(pod, &c.name).unwrap_or(&c.image);
        if !PULL_REASONS.contains(&reason) {
            memory.pulls.remove(&key);
        }
        match reason {
            "CrashLoopBackOff" if c.restart_count >= 2 => {
                return Some(PodVerdict::Failed(format!(
                    "pod {name}: container {} is in CrashLoopBackOff (restarted {} times)",
                    c.name, c.restart_count
                )))
            }
            "ImagePullBackOff" | "ErrImagePull" if !built.contains(image) => {
                let tries = memory.pulls.entry(key).or_insert(PullTries {
                    since: now,
                    failures: 0,
                    last_reason: String::new(),
                });
                // Each try ends in ErrImagePull; the backoff between is ImagePullBackOff.
                if (reason == "ErrImagePull" && tries.last_reason != reason) || tries.failures == 0
                {
                    tries.failures += 1;
                }
                tries.last_reason = reason.to_string();
                let registry = registry_of(image);
                let waited = now.duration_since(tries.since);
                if waited >= PULL_GRACE {
                    return Some(PodVerdict::Failed(format!(
                        "pod {name}: container {} could not pull {image} from {registry}: {} tries in {} s, still {reason}: {message}",
                        c.name, tries.failures, waited.as_secs()
                    )));
                }
                pulling.get_or_insert(PodVerdict::Pulling(format!(
                    "pulling {image} from {registry}, retry {} (waiting up to {} s for the kubelet's retries): {reason}: {message}",
                    tries.failures,
                    PULL_GRACE.as_secs()
                )));
            }
            "ImagePullBackOff"
            | "ErrImagePull"
            | "ErrImageNeverPull"
            | "InvalidImageName"
            | "CreateContainerConfigError"
            | "CreateContainerError" => {
                return Some(PodVerdict::Failed(format!(
                    "pod {name}: container {}: {reason}: {message}",
                    c.name
                )))
            }
            _ => {}
        }
    }
    let unschedulable = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    });
    match unschedulable {
        Some(c) => {
            let since = *memory.unschedulable_since.entry(uid).or_insert(now);
            (now.duration_since(since) >= UNSCHEDULABLE_GRACE).then(|| {
                PodVerdict::Failed(format!(
                    "pod {name} cannot be scheduled: {}",
                    c.message.as_deref().unwrap_or("Unschedulable")
                ))
            })
        }
        None => {
            memory.unschedulable_since.remove(&uid);
            pulling
        }
    }
}

/// The image the pod spec names for `container`.
fn spec_image<'a>(pod: &'a Pod, container: &str) -> Option<&'a str> {
    let spec = pod.spec.as_ref()?;
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .find(|c| c.name == container)?
        .image
        .as_deref()
}

/// The waiting reasons of a failing pull.
const PULL_REASONS: [&str; 2] = ["ErrImagePull", "ImagePullBackOff"];

/// The registry an image reference is pulled from, as Docker names it: the
/// first path component when it looks like a host, else Docker Hub.
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// Why a workload's pods are not ready, as a user would dig it out with
/// kubectl describe / logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnosis {
    pub pod: Option<String>,
    pub container: Option<String>,
    /// CrashLoopBackOff, ImagePullBackOff, OOMKilled, Unschedulable, ...
    pub reason: String,
    pub message: String,
    pub events: Vec<String>,
    /// The log tail and whether it is the previous (crashed) instance's.
    pub logs: Option<(bool, String)>,
    pub hint: Option<String>,
}

const LOG_LINES: i64 = 30;

/// Finds the worst pod of the workload (selected by `match_labels`) and
/// gathers its state, events and last log lines.
pub async fn diagnose(
    client: &Client,
    namespace: &str,
    w: &Workload,
    match_labels: &BTreeMap<String, String>,
) -> Diagnosis {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let selector: Vec<String> = match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let list = match pods
        .list(&ListParams::default().labels(&selector.join(",")))
        .await
    {
        Ok(l) => l.items,
        Err(e) => {
            return Diagnosis {
                reason: "Unknown".into(),
                message: format!("cannot list pods: {e}"),
                ..Default::default()
            }
        }
    };
    let Some((pod, mut d)) = list
        .iter()
        .filter_map(|p| pod_problem(p).map(|d| (p, d)))
        .max_by_key(|(_, d)| severity(&d.reason))
    else {
        return Diagnosis {
            reason: "NoPods".into(),
            message: format!("no pods match {}", selector.join(",")),
            ..Default::default()
        };
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let fields = format!("involvedObject.name={pod_name},involvedObject.kind=Pod");
    if let Ok(list) = events.list(&ListParams::default().fields(&fields)).await {
        let mut items = list.items;
        items.sort_by_key(last_seen);
        d.events = items
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|e| {
                let count = occurrences(e)
                    .filter(|c| *c > 1)
                    .map(|c| format!(" (x{c})"))
                    .unwrap_or_default();
                format!(
                    "{} {}: {}{count}",
                    e.type_.clone().unwrap_or_default(),
                    e.reason.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default()
                )
            })
            .collect();
    }
    if let Some(container) = &d.container {
        let crashed = d.reason == "CrashLoopBackOff" || restarts(pod, container) > 0;
        let lp = |previous| LogParams {
            container: Some(container.clone()),
            previous,
            tail_lines: Some(LOG_LINES),
            ..Default::default()
        };
        let logs = match pods.logs(&pod_name, &lp(crashed)).await {
            Ok(text) => Some((crashed, text)),
            Err(_) if crashed => pods
                .logs(&pod_name, &lp(false))
                .await
                .ok()
                .map(|t| (false, t)),
            Err(_) => None,
        };
        d.logs = logs.filter(|(_, t)| !t.trim().is_empty());
    }
    let image = d
        .container
        .as_deref()
        .and_then(|c| spec_image(pod, c))
        .map(str::to_string);
    d.hint = match image {
        Some(image) if PULL_REASONS.contains(&d.reason.as_str()) => {
            Some(pull_hint(&image, w.built_images.contains(&image)))
        }
        _ => hint(&d.reason).map(str::to_string),
    };
    d.pod = Some(pod_name);
    d
}

/// When an event last happened. Events written through events.k8s.io (the
/// scheduler's) have no lastTimestamp in core/v1: their series or eventTime
/// says it.
fn last_seen(e: &Event) -> Option<k8s_openapi::jiff::Timestamp> {
    e.series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or(e.last_timestamp.as_ref().map(|t| t.0))
        .or(e.event_time.as_ref().map(|t| t.0))
        .or(e.first_timestamp.as_ref().map(|t| t.0))
}

/// How often an event happened: `count`, or its series' count.
fn occurrences(e: &Event) -> Option<i32> {
    e.count.or(e.series.as_ref().and_then(|s| s.count))
}

fn restarts(pod: &Pod, container: &str) -> i32 {
    pod.status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .find(|c| c.name == container)
        .map_or(0, |c| c.restart_count)
}

/// What is wrong with one pod, if anything.
fn pod_problem(pod: &Pod) -> Option<Diagnosis> {
    let status = pod.status.as_ref()?;
    for c in status.container_statuses.iter().flatten() {
        let state = c.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.clone().unwrap_or_default();
            if reason != "ContainerCreating" && reason != "PodInitializing" {
                let mut message = w.message.clone().unwrap_or_default();
                if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
                    message = format!(
                        "last exit: {} (code {}); {message}",
                        t.reason.clone().unwrap_or_default(),
                        t.exit_code
                    );
                }
                let oom = c
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .and_then(|t| t.reason.as_deref())
                    == Some("OOMKilled");
                return Some(Diagnosis {
                    container: Some(c.name.clone()),
                    reason: if oom { "OOMKilled".into() } else { reason },
                    message,
                    ..Default::default()
                });
            }
        }
        if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            return Some(Diagnosis {
                container: Some(c.name.clone()),
                reason: t.reason.clone().unwrap_or_else(|| "Terminated".into()),
                message: format!("exited with code {}", t.exit_code),
                ..Default::default()
            });
        }
        if !c.ready {
            return Some(Diagnosis {
                container: Some(c.name.clone()),
                reason: "NotReady".into(),
                message: "running but its readiness probe does not pass".into(),
                ..Default::default()
            });
        }
    }
    let unscheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(c) = unscheduled {
        return Some(Diagnosis {
            reason: c.reason.clone().unwrap_or_else(|| "Unschedulable".into()),
            message: c.message.clone().unwrap_or_default(),
            ..Default::default()
        });
    }
    (status.phase.as_deref() == Some("Pending")).then(|| Diagnosis {
        reason: "Pending".into(),
        message: "the pod has not started yet".into(),
        ..Default::default()
    })
}

fn severity(reason: &str) -> u8 {
    match reason {
        "CrashLoopBackOff" | "OOMKilled" | "Error" => 5,
        "ImagePullBackOff"
        | "ErrImagePull"
        | "ErrImageNeverPull"
        | "CreateContainerConfigError"
        | "InvalidImageName" => 4,
        "Unschedulable" => 3,
        "NotReady" => 2,
        _ => 1,
    }
}

fn hint(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "CrashLoopBackOff" | "Error" => "the container starts and exits: read its log above",
        "OOMKilled" => "the container ran out of memory: raise its memory limit or find the leak",
        "ErrImageNeverPull" => BUILT_NOT_ON_NODE,
        "CreateContainerConfigError" => "a Secret or ConfigMap the pod needs is missing: check DATABASE_URL and .env, then deploy again",
        "Unschedulable" => "the cluster lacks room: give Minikube more CPUs/memory (cluster.cpus/memory) or lower replicas",
        "NotReady" => "the app answers its liveness probe but not readiness: check its /ready endpoint (database reachable?)",
        _ => return None,
    })
}

const BUILT_NOT_ON_NODE: &str = "the image is not in the node's Docker daemon: `todo-dev up` builds into Minikube's daemon (no registry), so build and deploy with `todo-dev up`, not `deploy` alone, against the same cluster";

/// Why a pull failed, for an image todo-dev built (the node's daemon lacks
/// it) or one from a registry (the node's way to that registry).
fn pull_hint(image: &str, built: bool) -> String {
    if built {
        return BUILT_NOT_ON_NODE.to_string();
    }
    let registry = registry_of(image);
    format!(
        "the node could not pull {image} from {registry}: check that the node reaches {registry} (network, proxy, DNS), that the name and tag exist there, and the registry's pull rate limit (Docker Hub limits anonymous pulls: `docker login` on the node); on Minikube `minikube image load {image}` copies an image you have locally onto the node"
    )
}

/// A ready-to-run question for kubectl-ai, when it is installed.
pub fn kubectl_ai_question(namespace: &str, d: &Diagnosis) -> Option<String> {
    which::which("kubectl-ai").ok()?;
    let pod = d.pod.as_ref()?;
    Some(format!(
        "kubectl-ai --quiet \"why is pod {pod} in namespace {namespace} failing with {} and how do I fix it?\"",
        d.reason
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(generation: i64, replicas: i32, status: &str) -> Deployment {
        serde_json::from_str(&format!(
            r#"{{"metadata":{{"name":"web","generation":{generation}}},"spec":{{"replicas":{replicas},"selector":{{}},"template":{{}}}},"status":{status}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn kubectl_rules_on_real_statuses() {
        let mid = r#"{"conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable","message":"Deployment does not have minimum availability."},{"type":"Progressing","status":"True","reason":"ReplicaSetUpdated","message":"x"}],"observedGeneration":1,"replicas":1,"unavailableReplicas":1,"updatedReplicas":1}"#;
        assert_eq!(
            deployment_state(&deployment(1, 1, mid)),
            RolloutState::Waiting("Waiting for deployment \"web\" rollout to finish: 0 of 1 updated replicas are available...".into())
        );
        let done = r#"{"observedGeneration":1,"replicas":1,"updatedReplicas":1,"readyReplicas":1,"availableReplicas":1,"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable","message":"x"},{"type":"Progressing","status":"True","reason":"NewReplicaSetAvailable","message":"x"}]}"#;
        assert_eq!(
            deployment_state(&deployment(1, 1, done)),
            RolloutState::Done("deployment \"web\" successfully rolled out".into())
        );
        assert!(
            matches!(deployment_state(&deployment(2, 1, done)), RolloutState::Waiting(m) if m.contains("spec update to be observed"))
        );
        let failed = r#"{"conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable","message":"x"},{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"x"}],"observedGeneration":1,"replicas":4,"unavailableReplicas":4,"updatedReplicas":4}"#;
        assert_eq!(
            deployment_state(&deployment(1, 4, failed)),
            RolloutState::Failed("deployment \"web\" exceeded its progress deadline".into())
        );
        let updating =
            r#"{"observedGeneration":3,"replicas":3,"updatedReplicas":1,"availableReplicas":2}"#;
        assert!(
            matches!(deployment_state(&deployment(3, 2, updating)), RolloutState::Waiting(m) if m.contains("1 out of 2 new replicas"))
        );
        let old =
            r#"{"observedGeneration":3,"replicas":3,"updatedReplicas":2,"availableReplicas":2}"#;
        assert!(
            matches!(deployment_state(&deployment(3, 2, old)), RolloutState::Waiting(m) if m.contains("1 old replicas are pending termination"))
        );
    }

    #[test]
    fn statefulset_rules() {
        let sts = |status: &str| -> StatefulSet {
            serde_json::from_str(&format!(r#"{{"metadata":{{"name":"redis","generation":1}},"spec":{{"replicas":3,"selector":{{}},"serviceName":"redis","template":{{}}}},"status":{status}}}"#)).unwrap()
        };
        let ready = r#"{"observedGeneration":1,"replicas":3,"readyReplicas":3,"currentReplicas":3,"updatedReplicas":3,"currentRevision":"web-578cfc4b46","updateRevision":"web-578cfc4b46","availableReplicas":3}"#;
        assert!(matches!(
            statefulset_state(&sts(ready)),
            RolloutState::Done(_)
        ));
        let starting = r#"{"observedGeneration":1,"replicas":3,"readyReplicas":1}"#;
        assert_eq!(
            statefulset_state(&sts(starting)),
            RolloutState::Waiting("Waiting for 2 pods to be ready...".into())
        );
        assert!(
            matches!(statefulset_state(&sts(r#"{"replicas":0}"#)), RolloutState::Waiting(m) if m.contains("observed"))
        );
    }

    #[test]
    fn registry_pulls_are_retried_for_a_grace_built_images_fail_at_once() {
        let pod = |image: &str, reason: &str, message: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "postgres-0", "uid": "u1"},
                "spec": {"containers": [{"name": "postgres", "image": image}]},
                "status": {"phase": "Pending", "containerStatuses": [{"name": "postgres", "image": image, "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": reason, "message": message}}}]}
            }))
            .unwrap()
        };
        let blip = "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": net/http: TLS handshake timeout";
        let built: BTreeSet<String> = ["todo-backend:td-0123456789abcdef".to_string()].into();
        let mut memory = PodMemory::default();
        let t0 = Instant::now();
        let verdict = |memory: &mut PodMemory, reason: &str, at: Duration| {
            pod_verdict(&pod("postgres:16.4", reason, blip), t0 + at, &built, memory)
        };
        // The kubelet's cycle: ErrImagePull, back-off, ErrImagePull again.
        let seen: Vec<Option<PodVerdict>> = [
            ("ErrImagePull", 0),
            ("ImagePullBackOff", 5),
            ("ImagePullBackOff", 9),
            ("ErrImagePull", 12),
        ]
        .iter()
        .map(|(r, s)| verdict(&mut memory, r, Duration::from_secs(*s)))
        .collect();
        let notes: Vec<String> = seen
            .iter()
            .map(|v| match v {
                Some(PodVerdict::Pulling(n)) => n.clone(),
                other => panic!("still pulling, not {other:?}"),
            })
            .collect();
        assert!(
            notes[0].starts_with("pulling postgres:16.4 from docker.io, retry 1"),
            "{}",
            notes[0]
        );
        assert!(
            notes[2].contains("retry 1"),
            "a back-off is not a try: {}",
            notes[2]
        );
        assert!(
            notes[3].contains("retry 2") && notes[3].contains("TLS handshake timeout"),
            "{}",
            notes[3]
        );
        match verdict(&mut memory, "ImagePullBackOff", PULL_GRACE) {
            Some(PodVerdict::Failed(why)) => assert!(
                why.contains("could not pull postgres:16.4 from docker.io: 2 tries in 150 s"),
                "{why}"
            ),
            other => panic!("the grace is over: {other:?}"),
        }
        // A pod that pulled forgets its tries.
        let mut memory = PodMemory::default();
        verdict(&mut memory, "ErrImagePull", Duration::ZERO);
        let running: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "postgres-0", "uid": "u1"},
            "status": {"containerStatuses": [{"name": "postgres", "image": "postgres:16.4", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}}}]}
        }))
        .unwrap();
        assert_eq!(pod_verdict(&running, t0, &built, &mut memory), None);
        assert!(memory.pulls.is_empty());
        // No retry helps these.
        for (image, reason) in [
            ("todo-backend:td-0123456789abcdef", "ErrImagePull"),
            ("todo-backend:td-0123456789abcdef", "ImagePullBackOff"),
            ("postgres:16.4", "InvalidImageName"),
            ("postgres:16.4", "ErrImageNeverPull"),
        ] {
            let mut memory = PodMemory::default();
            assert!(
                matches!(
                    pod_verdict(&pod(image, reason, "x"), t0, &built, &mut memory),
                    Some(PodVerdict::Failed(_))
                ),
                "{image} {reason}"
            );
        }
        for (image, registry) in [
            ("postgres:16.4", "docker.io"),
            ("bitnami/redis:7.4", "docker.io"),
            ("ghcr.io/org/app:1", "ghcr.io"),
            ("localhost:5000/app", "localhost:5000"),
            ("localhost/app", "localhost"),
            (
                "registry.example.com/team/app@sha256:abc",
                "registry.example.com",
            ),
        ] {
            assert_eq!(registry_of(image), registry, "{image}");
        }
        assert!(pull_hint("postgres:16.4", false)
            .contains("could not pull postgres:16.4 from docker.io"));
        assert!(pull_hint("todo-backend:td-1", true).contains("node's Docker daemon"));
        assert!(!pull_hint("postgres:16.4", false).contains("node's Docker daemon"));
    }

    #[test]
    fn pod_problems_from_real_states() {
        let pod = |status: &str| -> Pod {
            serde_json::from_str(&format!(
                r#"{{"metadata":{{"name":"p"}},"status":{status}}}"#
            ))
            .unwrap()
        };
        let crash = pod(
            r#"{"phase":"Running","containerStatuses":[{"name":"backend","image":"i","imageID":"","ready":false,"restartCount":4,"state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 40s restarting failed container=backend pod=p"}},"lastState":{"terminated":{"exitCode":1,"reason":"Error"}}}]}"#,
        );
        let d = pod_problem(&crash).unwrap();
        assert_eq!(
            (d.reason.as_str(), d.container.as_deref()),
            ("CrashLoopBackOff", Some("backend"))
        );
        assert!(d.message.contains("last exit: Error (code 1)"));
        let oom = pod(
            r#"{"phase":"Running","containerStatuses":[{"name":"b","image":"i","imageID":"","ready":false,"restartCount":2,"state":{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled"}}}]}"#,
        );
        assert_eq!(pod_problem(&oom).unwrap().reason, "OOMKilled");
        let never = pod(
            r#"{"phase":"Pending","containerStatuses":[{"name":"b","image":"i","imageID":"","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ErrImageNeverPull","message":"Container image \"todo-backend:td-1234\" is not present with pull policy of Never"}}}]}"#,
        );
        assert_eq!(pod_problem(&never).unwrap().reason, "ErrImageNeverPull");
        let unsched = pod(
            r#"{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/1 nodes are available: 1 Insufficient memory."}]}"#,
        );
        let d = pod_problem(&unsched).unwrap();
        assert_eq!(
            (d.reason.as_str(), d.message.as_str()),
            (
                "Unschedulable",
                "0/1 nodes are available: 1 Insufficient memory."
            )
        );
        let fine = pod(
            r#"{"phase":"Running","containerStatuses":[{"name":"b","image":"i","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}}]}"#,
        );
        assert!(pod_problem(&fine).is_none());
        assert!(severity("CrashLoopBackOff") > severity("NotReady"));
    }
}
