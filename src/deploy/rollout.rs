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

use super::pod_failure::{classify, ImagePull, PodFailure, PullReason};

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

/// A rollout that finished, with kubectl's words for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutReady {
    pub message: String,
}

/// Why a rollout did not finish. The text is what the user reads after
/// `failed Kind/name:`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutFailure {
    /// A pod of the new revision is in a state that will not fix itself.
    #[error("{}", pod_message(.pod, .failure))]
    Pod { pod: String, failure: PodFailure },
    /// A registry pull still failing after `PULL_GRACE` of the kubelet's retries.
    #[error("pod {pod}: container {} could not pull {} from {}: {tries} tries in {} s, still {}: {}", .pull.container, .pull.image, .pull.registry, .waited.as_secs(), .pull.reason.as_str(), .pull.message)]
    PullGaveUp {
        pod: String,
        pull: ImagePull,
        tries: u32,
        waited: Duration,
    },
    /// The workload's own status says so (kubectl's rules: a Deployment past
    /// its progress deadline).
    #[error("{0}")]
    Status(String),
    #[error("timed out after {}s: {last}", .after.as_secs())]
    Timeout { after: Duration, last: LastStatus },
    #[error("the watch of {workload} ended")]
    WatchEnded { workload: String },
}

/// What was known of a rollout when its time ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastStatus {
    /// The last waiting message shown.
    Waiting(String),
    /// The watch's last error: the status could not be read.
    Unreadable(String),
    Nothing,
}

impl std::fmt::Display for LastStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LastStatus::Waiting(m) => f.write_str(m),
            LastStatus::Unreadable(e) => write!(f, "its status could not be read: {e}"),
            LastStatus::Nothing => f.write_str("no status yet"),
        }
    }
}

/// A pod failure as the rollout states it.
fn pod_message(pod: &str, failure: &PodFailure) -> String {
    match failure {
        PodFailure::CrashLoop {
            container,
            restarts,
            ..
        } => format!(
            "pod {pod}: container {container} is in CrashLoopBackOff (restarted {restarts} times)"
        ),
        PodFailure::Unschedulable { message } => format!(
            "pod {pod} cannot be scheduled: {}",
            message.as_deref().unwrap_or("Unschedulable")
        ),
        other => {
            let reason = other.kubelet_reason();
            let message = other
                .waiting_message()
                .map_or_else(|| other.detail(), str::to_string);
            match other.container() {
                Some(c) => format!("pod {pod}: container {c}: {reason}: {message}"),
                None => format!("pod {pod}: {reason}: {message}"),
            }
        }
    }
}

/// Waits for `w` with watches (as kube-runtime's `await_condition`): done
/// by kubectl's rules; failed as soon as a pod of the new revision shows a
/// state that will not fix itself (`early_failure`), or when `timeout`
/// passes. A failing watch (a transient API error) is retried. Reports each
/// new state through `on_state`.
pub async fn wait(
    client: &Client,
    namespace: &str,
    w: &Workload,
    timeout: Duration,
    mut on_state: impl FnMut(&RolloutState),
) -> Result<RolloutReady, RolloutFailure> {
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
                let last = match (&last, last_error) {
                    (Some(RolloutState::Waiting(msg)), _) => LastStatus::Waiting(msg.clone()),
                    (_, Some(e)) => LastStatus::Unreadable(e),
                    (_, None) => LastStatus::Nothing,
                };
                return Err(RolloutFailure::Timeout { after: timeout, last });
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
                None => return Err(RolloutFailure::WatchEnded { workload: w.id() }),
            },
            Some(()) = next_pod_event(&mut pod_events) => {}
            _ = tick.tick() => {}
        }
        let Some(s) = &seen else { continue };
        if !matches!(s.state, RolloutState::Waiting(_)) {
            if last.as_ref() != Some(&s.state) {
                on_state(&s.state);
            }
            return match &s.state {
                RolloutState::Done(message) => Ok(RolloutReady {
                    message: message.clone(),
                }),
                RolloutState::Failed(message) | RolloutState::Waiting(message) => {
                    Err(RolloutFailure::Status(message.clone()))
                }
            };
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
            Some(PodVerdict::Failed(failure)) => {
                on_state(&RolloutState::Failed(failure.to_string()));
                return Err(failure);
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
    Failed(RolloutFailure),
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
    last_reason: Option<PullReason>,
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
    let failure = classify(pod, built);
    // Tries and waits count only while they go on.
    let pulling = match &failure {
        Some(PodFailure::ImagePull(p)) if p.retrying => Some(p.container.clone()),
        _ => None,
    };
    memory
        .pulls
        .retain(|(u, c), _| *u != uid || pulling.as_ref() == Some(c));
    if !matches!(failure, Some(PodFailure::Unschedulable { .. })) {
        memory.unschedulable_since.remove(&uid);
    }
    let fail = |failure| {
        Some(PodVerdict::Failed(RolloutFailure::Pod {
            pod: name.to_string(),
            failure,
        }))
    };
    match failure? {
        PodFailure::ImagePull(pull) if pull.retrying => {
            let tries = memory
                .pulls
                .entry((uid, pull.container.clone()))
                .or_insert(PullTries {
                    since: now,
                    failures: 0,
                    last_reason: None,
                });
            // Each try ends in ErrImagePull; the backoff between is ImagePullBackOff.
            let new_try =
                pull.reason == PullReason::ErrImagePull && tries.last_reason != Some(pull.reason);
            if new_try || tries.failures == 0 {
                tries.failures += 1;
            }
            tries.last_reason = Some(pull.reason);
            let waited = now.duration_since(tries.since);
            if waited >= PULL_GRACE {
                return Some(PodVerdict::Failed(RolloutFailure::PullGaveUp {
                    pod: name.to_string(),
                    tries: tries.failures,
                    waited,
                    pull,
                }));
            }
            Some(PodVerdict::Pulling(format!(
                "pulling {} from {}, retry {} (waiting up to {} s for the kubelet's retries): {}: {}",
                pull.image,
                pull.registry,
                tries.failures,
                PULL_GRACE.as_secs(),
                pull.reason.as_str(),
                pull.message
            )))
        }
        f @ PodFailure::CrashLoop { restarts, .. } if restarts >= 2 => fail(f),
        f @ (PodFailure::ImagePull(_)
        | PodFailure::ImageNeverPull { .. }
        | PodFailure::InvalidImageName { .. }
        | PodFailure::CreateContainerConfigError { .. }
        | PodFailure::CreateContainerError { .. }) => fail(f),
        f @ PodFailure::Unschedulable { .. } => {
            let since = *memory.unschedulable_since.entry(uid).or_insert(now);
            if now.duration_since(since) >= UNSCHEDULABLE_GRACE {
                fail(f)
            } else {
                None
            }
        }
        // Starting, restarting, or waiting for readiness: the rollout waits.
        _ => None,
    }
}

/// Why a workload's pods are not ready, as a user would dig it out with
/// kubectl describe / logs.
#[derive(Debug)]
pub struct Diagnosis {
    pub pod: Option<String>,
    pub finding: Finding,
    pub events: Vec<String>,
    /// The log tail and whether it is the previous (crashed) instance's.
    pub logs: Option<(bool, String)>,
    pub hint: Option<String>,
}

/// What the diagnosis found.
#[derive(Debug)]
pub enum Finding {
    /// The worst of the workload's pods.
    Pod(PodFailure),
    NoPods {
        selector: String,
    },
    CannotList(kube::Error),
}

impl Diagnosis {
    fn without_pod(finding: Finding) -> Diagnosis {
        Diagnosis {
            pod: None,
            finding,
            events: Vec::new(),
            logs: None,
            hint: None,
        }
    }

    /// CrashLoopBackOff, ImagePullBackOff, OOMKilled, Unschedulable, ...
    pub fn reason(&self) -> &str {
        match &self.finding {
            Finding::Pod(f) => f.reason(),
            Finding::NoPods { .. } => "NoPods",
            Finding::CannotList(_) => "Unknown",
        }
    }

    pub fn detail(&self) -> String {
        match &self.finding {
            Finding::Pod(f) => f.detail(),
            Finding::NoPods { selector } => format!("no pods match {selector}"),
            Finding::CannotList(e) => format!("cannot list pods: {e}"),
        }
    }

    pub fn container(&self) -> Option<&str> {
        match &self.finding {
            Finding::Pod(f) => f.container(),
            _ => None,
        }
    }
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
        Err(e) => return Diagnosis::without_pod(Finding::CannotList(e)),
    };
    let Some((pod, failure)) = list
        .iter()
        .filter_map(|p| classify(p, &w.built_images).map(|f| (p, f)))
        .max_by_key(|(_, f)| f.severity())
    else {
        return Diagnosis::without_pod(Finding::NoPods {
            selector: selector.join(","),
        });
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let mut d = Diagnosis::without_pod(Finding::Pod(failure.clone()));
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
    if let Some(container) = failure.container() {
        let crashed =
            matches!(failure, PodFailure::CrashLoop { .. }) || restarts(pod, container) > 0;
        let lp = |previous| LogParams {
            container: Some(container.to_string()),
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
    d.hint = failure.hint();
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

/// A ready-to-run question for kubectl-ai, when it is installed.
pub fn kubectl_ai_question(namespace: &str, d: &Diagnosis) -> Option<String> {
    which::which("kubectl-ai").ok()?;
    let pod = d.pod.as_ref()?;
    Some(format!(
        "kubectl-ai --quiet \"why is pod {pod} in namespace {namespace} failing with {} and how do I fix it?\"",
        d.reason()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::pod_failure::{pull_hint, registry_of};

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
                why.to_string()
                    .contains("could not pull postgres:16.4 from docker.io: 2 tries in 150 s"),
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
        let pushed = pull_hint("reg.example:5000/team/todo-backend:td-1@sha256:ab", true);
        assert!(
            pushed.contains("reg.example:5000") && pushed.contains("todo-registry"),
            "{pushed}"
        );
        assert!(!pull_hint("postgres:16.4", false).contains("node's Docker daemon"));
    }

    #[test]
    fn rollout_failures_read_as_they_always_have() {
        let pod = |status: serde_json::Value| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "backend-1", "uid": "u1"},
                "spec": {"containers": [{"name": "backend", "image": "todo-backend:td-1"}]},
                "status": status,
            }))
            .unwrap()
        };
        let waiting = |reason: &str, restarts: i32| {
            serde_json::json!({"phase": "Pending", "containerStatuses": [{"name": "backend", "image": "todo-backend:td-1", "imageID": "", "ready": false, "restartCount": restarts,
                "state": {"waiting": {"reason": reason, "message": "m"}}}]})
        };
        let built: BTreeSet<String> = ["todo-backend:td-1".to_string()].into();
        let t0 = Instant::now();
        let said = |status, at| match pod_verdict(
            &pod(status),
            t0 + at,
            &built,
            &mut PodMemory::default(),
        ) {
            Some(PodVerdict::Failed(f)) => Some(f.to_string()),
            _ => None,
        };
        assert_eq!(
            said(waiting("CrashLoopBackOff", 2), Duration::ZERO).as_deref(),
            Some("pod backend-1: container backend is in CrashLoopBackOff (restarted 2 times)")
        );
        assert_eq!(said(waiting("CrashLoopBackOff", 1), Duration::ZERO), None);
        assert_eq!(
            said(waiting("CreateContainerConfigError", 0), Duration::ZERO).as_deref(),
            Some("pod backend-1: container backend: CreateContainerConfigError: m")
        );
        assert_eq!(
            said(waiting("ErrImagePull", 0), Duration::ZERO).as_deref(),
            Some("pod backend-1: container backend: ErrImagePull: m")
        );
        assert_eq!(said(waiting("RunContainerError", 0), Duration::ZERO), None);
        let unschedulable = serde_json::json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available"}]});
        let mut memory = PodMemory::default();
        assert_eq!(
            pod_verdict(&pod(unschedulable.clone()), t0, &built, &mut memory),
            None
        );
        match pod_verdict(
            &pod(unschedulable),
            t0 + UNSCHEDULABLE_GRACE,
            &built,
            &mut memory,
        ) {
            Some(PodVerdict::Failed(f)) => assert_eq!(
                f.to_string(),
                "pod backend-1 cannot be scheduled: 0/1 nodes are available"
            ),
            other => panic!("past the grace: {other:?}"),
        }
        let timeout = |last| RolloutFailure::Timeout {
            after: Duration::from_secs(180),
            last,
        };
        assert_eq!(
            timeout(LastStatus::Waiting(
                "Waiting for 1 pods to be ready...".into()
            ))
            .to_string(),
            "timed out after 180s: Waiting for 1 pods to be ready..."
        );
        assert_eq!(
            timeout(LastStatus::Unreadable("503".into())).to_string(),
            "timed out after 180s: its status could not be read: 503"
        );
        assert_eq!(
            timeout(LastStatus::Nothing).to_string(),
            "timed out after 180s: no status yet"
        );
        assert_eq!(
            RolloutFailure::WatchEnded {
                workload: "Deployment/backend".into()
            }
            .to_string(),
            "the watch of Deployment/backend ended"
        );
    }

    /// What `diagnose` reads of one pod.
    fn pod_problem(pod: &Pod) -> Option<PodFailure> {
        classify(pod, &BTreeSet::new())
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
            (d.reason(), d.container()),
            ("CrashLoopBackOff", Some("backend"))
        );
        assert!(d.detail().contains("last exit: Error (code 1)"));
        let oom = pod(
            r#"{"phase":"Running","containerStatuses":[{"name":"b","image":"i","imageID":"","ready":false,"restartCount":2,"state":{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled"}}}]}"#,
        );
        assert_eq!(pod_problem(&oom).unwrap().reason(), "OOMKilled");
        let never = pod(
            r#"{"phase":"Pending","containerStatuses":[{"name":"b","image":"i","imageID":"","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ErrImageNeverPull","message":"Container image \"todo-backend:td-1234\" is not present with pull policy of Never"}}}]}"#,
        );
        assert_eq!(pod_problem(&never).unwrap().reason(), "ErrImageNeverPull");
        let unsched = pod(
            r#"{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/1 nodes are available: 1 Insufficient memory."}]}"#,
        );
        let d = pod_problem(&unsched).unwrap();
        assert_eq!(
            (d.reason(), d.detail().as_str()),
            (
                "Unschedulable",
                "0/1 nodes are available: 1 Insufficient memory."
            )
        );
        let fine = pod(
            r#"{"phase":"Running","containerStatuses":[{"name":"b","image":"i","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}}]}"#,
        );
        assert!(pod_problem(&fine).is_none());
        let not_ready = PodFailure::NotReady {
            container: "b".into(),
        };
        assert!(pod_problem(&crash).unwrap().severity() > not_ready.severity());
    }
}
