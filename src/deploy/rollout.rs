//! Waiting for workloads with kubectl's rollout-status rules, and saying why
//! one did not come up.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};
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

/// kubectl's StatefulSetStatusViewer (RollingUpdate strategy).
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
        .and_then(|r| r.partition)
        .unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if partition > 0 {
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
}

impl Workload {
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// Polls `w` until it is done, failed, or `timeout` passes; reports each new
/// state through `on_state`. Returns the last state.
pub async fn wait(
    client: &Client,
    namespace: &str,
    w: &Workload,
    timeout: Duration,
    mut on_state: impl FnMut(&RolloutState),
) -> Result<RolloutState, kube::Error> {
    let deadline = Instant::now() + timeout;
    let mut last: Option<RolloutState> = None;
    loop {
        let state = match w.kind.as_str() {
            "StatefulSet" => statefulset_state(
                &Api::<StatefulSet>::namespaced(client.clone(), namespace)
                    .get(&w.name)
                    .await?,
            ),
            _ => deployment_state(
                &Api::<Deployment>::namespaced(client.clone(), namespace)
                    .get(&w.name)
                    .await?,
            ),
        };
        if last.as_ref() != Some(&state) {
            on_state(&state);
        }
        match &state {
            RolloutState::Waiting(msg) if Instant::now() > deadline => {
                return Ok(RolloutState::Failed(format!(
                    "timed out after {}s: {msg}",
                    timeout.as_secs()
                )));
            }
            RolloutState::Waiting(_) => {}
            _ => return Ok(state),
        }
        last = Some(state);
        tokio::time::sleep(Duration::from_millis(400)).await;
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
        items.sort_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0));
        d.events = items
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|e| {
                let count = e
                    .count
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
    d.hint = hint(&d.reason).map(str::to_string);
    d.pod = Some(pod_name);
    d
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
        "ImagePullBackOff" | "ErrImagePull" | "ErrImageNeverPull" => {
            "the image is not in the node's Docker daemon: `todo-dev up` builds into Minikube's daemon (no registry); for postgres/redis the node needs network access"
        }
        "CreateContainerConfigError" => "a Secret or ConfigMap the pod needs is missing: check DATABASE_URL and .env, then deploy again",
        "Unschedulable" => "the cluster lacks room: give Minikube more CPUs/memory (cluster.cpus/memory) or lower replicas",
        "NotReady" => "the app answers its liveness probe but not readiness: check its /ready endpoint (database reachable?)",
        _ => return None,
    })
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
