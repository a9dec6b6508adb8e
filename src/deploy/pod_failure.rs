//! What is wrong with one pod, read once from its container states and
//! conditions: the rollout's early failure, `diagnose` and the report all
//! work from this one classification.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// A container's previous run, as `lastState.terminated` says it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub reason: Option<String>,
    pub code: i32,
}

/// Where a failing pull is in the kubelet's cycle: each try ends in
/// `ErrImagePull`, the wait before the next one is `ImagePullBackOff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullReason {
    ErrImagePull,
    ImagePullBackOff,
}

impl PullReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PullReason::ErrImagePull => "ErrImagePull",
            PullReason::ImagePullBackOff => "ImagePullBackOff",
        }
    }
}

/// A container whose image cannot be pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePull {
    pub container: String,
    pub image: String,
    pub registry: String,
    pub reason: PullReason,
    pub message: String,
    /// It comes from a registry and the kubelet keeps trying; an image
    /// todo-dev built into the node's daemon is in no registry, so no try
    /// can succeed.
    pub retrying: bool,
    pub last_exit: Option<Exit>,
}

/// Why one pod is not running and ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodFailure {
    /// The image cannot be pulled.
    ImagePull(ImagePull),
    /// `imagePullPolicy: Never` and the node lacks the image.
    ImageNeverPull {
        container: String,
        message: String,
        last_exit: Option<Exit>,
    },
    InvalidImageName {
        container: String,
        message: String,
        last_exit: Option<Exit>,
    },
    /// The container starts and exits, and the kubelet backs off.
    CrashLoop {
        container: String,
        restarts: i32,
        message: String,
        last_exit: Option<Exit>,
    },
    /// A Secret or ConfigMap the container reads is missing.
    CreateContainerConfigError {
        container: String,
        message: String,
        last_exit: Option<Exit>,
    },
    CreateContainerError {
        container: String,
        message: String,
        last_exit: Option<Exit>,
    },
    /// Waiting for any other reason (RunContainerError, a failing hook, ...).
    Waiting {
        container: String,
        reason: String,
        message: String,
        last_exit: Option<Exit>,
    },
    Terminated {
        container: String,
        reason: Option<String>,
        exit_code: i32,
    },
    /// Running, but its readiness probe does not pass.
    NotReady { container: String },
    /// The scheduler finds no node for it.
    Unschedulable { message: Option<String> },
    /// `PodScheduled` is False for another reason than Unschedulable.
    NotScheduled {
        reason: Option<String>,
        message: Option<String>,
    },
    /// Pending, with nothing above to say why.
    Pending,
}

/// Waiting states that are the normal way to start, not a failure.
const STARTING: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// The first thing wrong with `pod`: a container's waiting state (init
/// containers first), a regular container that terminated or is not ready,
/// then its scheduling, then Pending; `None` when it runs and is ready.
/// `built`: the images todo-dev built into the node's daemon (no retried pull).
pub fn classify(pod: &Pod, built: &BTreeSet<String>) -> Option<PodFailure> {
    let status = pod.status.as_ref()?;
    let init = status.init_container_statuses.iter().flatten();
    for c in init {
        if let Some(f) = waiting(pod, c, built) {
            return Some(f);
        }
    }
    for c in status.container_statuses.iter().flatten() {
        if let Some(f) = waiting(pod, c, built) {
            return Some(f);
        }
        if let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            return Some(PodFailure::Terminated {
                container: c.name.clone(),
                reason: t.reason.clone(),
                exit_code: t.exit_code,
            });
        }
        // A container still being created reads as not ready, as it always has.
        if !c.ready {
            return Some(PodFailure::NotReady {
                container: c.name.clone(),
            });
        }
    }
    let unscheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(c) = unscheduled {
        return Some(match c.reason.as_deref() {
            Some("Unschedulable") => PodFailure::Unschedulable {
                message: c.message.clone(),
            },
            _ => PodFailure::NotScheduled {
                reason: c.reason.clone(),
                message: c.message.clone(),
            },
        });
    }
    (status.phase.as_deref() == Some("Pending")).then_some(PodFailure::Pending)
}

/// A container's waiting state, unless it is just starting.
fn waiting(pod: &Pod, c: &ContainerStatus, built: &BTreeSet<String>) -> Option<PodFailure> {
    let w = c.state.as_ref()?.waiting.as_ref()?;
    let reason = w.reason.clone().unwrap_or_default();
    if STARTING.contains(&reason.as_str()) {
        return None;
    }
    let container = c.name.clone();
    let message = w.message.clone().unwrap_or_default();
    let last_exit = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| Exit {
            reason: t.reason.clone(),
            code: t.exit_code,
        });
    let pull = |reason| {
        let image = spec_image(pod, &c.name).unwrap_or(&c.image).to_string();
        PodFailure::ImagePull(ImagePull {
            registry: registry_of(&image).to_string(),
            retrying: !built.contains(&image),
            image,
            container: container.clone(),
            reason,
            message: message.clone(),
            last_exit: last_exit.clone(),
        })
    };
    Some(match reason.as_str() {
        "ErrImagePull" => pull(PullReason::ErrImagePull),
        "ImagePullBackOff" => pull(PullReason::ImagePullBackOff),
        "ErrImageNeverPull" => PodFailure::ImageNeverPull {
            container,
            message,
            last_exit,
        },
        "InvalidImageName" => PodFailure::InvalidImageName {
            container,
            message,
            last_exit,
        },
        "CrashLoopBackOff" => PodFailure::CrashLoop {
            container,
            restarts: c.restart_count,
            message,
            last_exit,
        },
        "CreateContainerConfigError" => PodFailure::CreateContainerConfigError {
            container,
            message,
            last_exit,
        },
        "CreateContainerError" => PodFailure::CreateContainerError {
            container,
            message,
            last_exit,
        },
        _ => PodFailure::Waiting {
            container,
            reason,
            message,
            last_exit,
        },
    })
}

impl PodFailure {
    /// The container it is about (none for scheduling and Pending).
    pub fn container(&self) -> Option<&str> {
        use PodFailure::*;
        match self {
            ImagePull(self::ImagePull { container, .. })
            | ImageNeverPull { container, .. }
            | InvalidImageName { container, .. }
            | CrashLoop { container, .. }
            | CreateContainerConfigError { container, .. }
            | CreateContainerError { container, .. }
            | Waiting { container, .. }
            | Terminated { container, .. }
            | NotReady { container } => Some(container),
            Unschedulable { .. } | NotScheduled { .. } | Pending => None,
        }
    }

    /// The reason as the kubelet or the scheduler wrote it.
    pub fn kubelet_reason(&self) -> &str {
        use PodFailure::*;
        match self {
            ImagePull(p) => p.reason.as_str(),
            ImageNeverPull { .. } => "ErrImageNeverPull",
            InvalidImageName { .. } => "InvalidImageName",
            CrashLoop { .. } => "CrashLoopBackOff",
            CreateContainerConfigError { .. } => "CreateContainerConfigError",
            CreateContainerError { .. } => "CreateContainerError",
            Waiting { reason, .. } => reason,
            Terminated { reason, .. } => reason.as_deref().unwrap_or("Terminated"),
            NotReady { .. } => "NotReady",
            Unschedulable { .. } => "Unschedulable",
            NotScheduled { reason, .. } => reason.as_deref().unwrap_or("Unschedulable"),
            Pending => "Pending",
        }
    }

    /// The waiting state's message, for a container that waits.
    pub fn waiting_message(&self) -> Option<&str> {
        use PodFailure::*;
        match self {
            ImagePull(p) => Some(&p.message),
            ImageNeverPull { message, .. }
            | InvalidImageName { message, .. }
            | CrashLoop { message, .. }
            | CreateContainerConfigError { message, .. }
            | CreateContainerError { message, .. }
            | Waiting { message, .. } => Some(message),
            Terminated { .. }
            | NotReady { .. }
            | Unschedulable { .. }
            | NotScheduled { .. }
            | Pending => None,
        }
    }

    fn last_exit(&self) -> Option<&Exit> {
        use PodFailure::*;
        match self {
            ImagePull(self::ImagePull { last_exit, .. })
            | ImageNeverPull { last_exit, .. }
            | InvalidImageName { last_exit, .. }
            | CrashLoop { last_exit, .. }
            | CreateContainerConfigError { last_exit, .. }
            | CreateContainerError { last_exit, .. }
            | Waiting { last_exit, .. } => last_exit.as_ref(),
            _ => None,
        }
    }

    /// The container ran out of memory (last time, or just now).
    fn oom(&self) -> bool {
        let killed = |reason: Option<&String>| reason.is_some_and(|r| r == "OOMKilled");
        match self {
            PodFailure::Terminated { reason, .. } => killed(reason.as_ref()),
            _ => self.last_exit().is_some_and(|e| killed(e.reason.as_ref())),
        }
    }

    /// One word for it, as kubectl shows it: CrashLoopBackOff,
    /// ImagePullBackOff, OOMKilled, Unschedulable, NotReady, ...
    pub fn reason(&self) -> &str {
        if self.oom() {
            return "OOMKilled";
        }
        self.kubelet_reason()
    }

    /// What `kubectl describe` would add to the reason.
    pub fn detail(&self) -> String {
        use PodFailure::*;
        match self {
            Terminated { exit_code, .. } => format!("exited with code {exit_code}"),
            NotReady { .. } => "running but its readiness probe does not pass".into(),
            Unschedulable { message } | NotScheduled { message, .. } => {
                message.clone().unwrap_or_default()
            }
            Pending => "the pod has not started yet".into(),
            waiting => {
                let message = waiting.waiting_message().unwrap_or_default();
                match waiting.last_exit() {
                    Some(e) => format!(
                        "last exit: {} (code {}); {message}",
                        e.reason.as_deref().unwrap_or_default(),
                        e.code
                    ),
                    None => message.to_string(),
                }
            }
        }
    }

    /// How bad it is, to pick the worst pod of a workload.
    pub fn severity(&self) -> u8 {
        use PodFailure::*;
        if self.oom() {
            return 5;
        }
        match self {
            CrashLoop { .. } => 5,
            Terminated { reason, .. } if reason.as_deref() == Some("Error") => 5,
            ImagePull(_)
            | ImageNeverPull { .. }
            | CreateContainerConfigError { .. }
            | InvalidImageName { .. } => 4,
            Unschedulable { .. } | NotScheduled { reason: None, .. } => 3,
            NotReady { .. } => 2,
            _ => 1,
        }
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        use PodFailure::*;
        if self.oom() {
            return Some(
                "the container ran out of memory: raise its memory limit or find the leak".into(),
            );
        }
        let hint = match self {
            ImagePull(p) => return Some(pull_hint(&p.image, !p.retrying)),
            CrashLoop { .. } => CRASHED,
            Terminated { reason, .. } if reason.as_deref() == Some("Error") => CRASHED,
            ImageNeverPull { .. } => BUILT_NOT_ON_NODE,
            CreateContainerConfigError { .. } => "a Secret or ConfigMap the pod needs is missing: check DATABASE_URL and .env, then deploy again",
            Unschedulable { .. } | NotScheduled { reason: None, .. } => "the cluster lacks room: give Minikube more CPUs/memory (cluster.cpus/memory) or lower replicas",
            NotReady { .. } => "the app answers its liveness probe but not readiness: check its /ready endpoint (database reachable?)",
            _ => return None,
        };
        Some(hint.to_string())
    }
}

const CRASHED: &str = "the container starts and exits: read its log above";

const BUILT_NOT_ON_NODE: &str = "the image is not in the node's Docker daemon: `todo-dev up` builds into Minikube's daemon (no registry), so build and deploy with `todo-dev up`, not `deploy` alone, against the same cluster";

/// Why a pull failed, for an image todo-dev built (the node's daemon lacks
/// it) or one from a registry (the node's way to that registry).
pub fn pull_hint(image: &str, built: bool) -> String {
    let registry = registry_of(image);
    // Built and pushed (deploy.registry): the pods pull it by digest.
    if built && image.contains("@sha256:") {
        return format!(
            "todo-dev pushed {image} to {registry} and the node could not pull it: check that the cluster's nodes reach {registry} (a loopback or LAN address on this machine is not theirs), trust its certificate, and that the credentials in the pull Secret `todo-registry` (from your Docker config) may pull there"
        );
    }
    if built {
        return BUILT_NOT_ON_NODE.to_string();
    }
    format!(
        "the node could not pull {image} from {registry}: check that the node reaches {registry} (network, proxy, DNS), that the name and tag exist there, and the registry's pull rate limit (Docker Hub limits anonymous pulls: `docker login` on the node); on Minikube `minikube image load {image}` copies an image you have locally onto the node"
    )
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

/// The registry an image reference is pulled from, as Docker names it: the
/// first path component when it looks like a host, else Docker Hub.
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const BUILT: &str = "todo-backend:td-0123456789abcdef";

    /// A pod of one container `app` running `image`, with `status` laid
    /// over a Running phase.
    fn pod(image: &str, status: Value) -> Pod {
        let mut s = json!({"phase": "Running"});
        s.as_object_mut()
            .unwrap()
            .extend(status.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "metadata": {"name": "p", "uid": "u1"},
            "spec": {"containers": [{"name": "app", "image": image}]},
            "status": s,
        }))
        .unwrap()
    }

    /// The status of container `app` in `state`, with `extra` fields.
    fn container(state: Value, extra: Value) -> Value {
        let mut c = json!({"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": state});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"containerStatuses": [c]})
    }

    fn waiting(reason: &str, message: &str) -> Value {
        json!({"waiting": {"reason": reason, "message": message}})
    }

    fn app() -> String {
        "app".into()
    }

    #[test]
    fn container_states_classify_as_the_failure_they_are() {
        let none = json!({});
        let cases: Vec<(&str, &str, Value, Option<PodFailure>)> = vec![
            (
                "running and ready",
                "postgres:16.4",
                container(json!({"running": {}}), json!({"ready": true})),
                None,
            ),
            (
                "still being created",
                "postgres:16.4",
                container(waiting("ContainerCreating", ""), none.clone()),
                Some(PodFailure::NotReady { container: app() }),
            ),
            (
                "crash loop after an error exit",
                BUILT,
                container(
                    waiting(
                        "CrashLoopBackOff",
                        "back-off 40s restarting failed container",
                    ),
                    json!({"restartCount": 4, "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}),
                ),
                Some(PodFailure::CrashLoop {
                    container: app(),
                    restarts: 4,
                    message: "back-off 40s restarting failed container".into(),
                    last_exit: Some(Exit {
                        reason: Some("Error".into()),
                        code: 1,
                    }),
                }),
            ),
            (
                "a registry pull the kubelet retries",
                "postgres:16.4",
                container(
                    waiting("ErrImagePull", "TLS handshake timeout"),
                    none.clone(),
                ),
                Some(PodFailure::ImagePull(ImagePull {
                    container: app(),
                    image: "postgres:16.4".into(),
                    registry: "docker.io".into(),
                    reason: PullReason::ErrImagePull,
                    message: "TLS handshake timeout".into(),
                    retrying: true,
                    last_exit: None,
                })),
            ),
            (
                "a built image no registry has",
                BUILT,
                container(
                    waiting("ImagePullBackOff", "Back-off pulling"),
                    none.clone(),
                ),
                Some(PodFailure::ImagePull(ImagePull {
                    container: app(),
                    image: BUILT.into(),
                    registry: "docker.io".into(),
                    reason: PullReason::ImagePullBackOff,
                    message: "Back-off pulling".into(),
                    retrying: false,
                    last_exit: None,
                })),
            ),
            (
                "never pulled and not on the node",
                BUILT,
                container(waiting("ErrImageNeverPull", "not present"), none.clone()),
                Some(PodFailure::ImageNeverPull {
                    container: app(),
                    message: "not present".into(),
                    last_exit: None,
                }),
            ),
            (
                "a name the runtime refuses",
                "Bad:Name",
                container(
                    waiting("InvalidImageName", "invalid reference"),
                    none.clone(),
                ),
                Some(PodFailure::InvalidImageName {
                    container: app(),
                    message: "invalid reference".into(),
                    last_exit: None,
                }),
            ),
            (
                "a missing Secret after a run",
                BUILT,
                container(
                    waiting(
                        "CreateContainerConfigError",
                        "secret \"todo-secrets\" not found",
                    ),
                    json!({"restartCount": 1, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}),
                ),
                Some(PodFailure::CreateContainerConfigError {
                    container: app(),
                    message: "secret \"todo-secrets\" not found".into(),
                    last_exit: Some(Exit {
                        reason: Some("OOMKilled".into()),
                        code: 137,
                    }),
                }),
            ),
            (
                "a container the runtime cannot create",
                BUILT,
                container(waiting("CreateContainerError", "no command"), none.clone()),
                Some(PodFailure::CreateContainerError {
                    container: app(),
                    message: "no command".into(),
                    last_exit: None,
                }),
            ),
            (
                "another waiting reason",
                BUILT,
                container(
                    waiting("RunContainerError", "exec format error"),
                    none.clone(),
                ),
                Some(PodFailure::Waiting {
                    container: app(),
                    reason: "RunContainerError".into(),
                    message: "exec format error".into(),
                    last_exit: None,
                }),
            ),
            (
                "terminated",
                BUILT,
                container(
                    json!({"terminated": {"exitCode": 2, "reason": "Error"}}),
                    none.clone(),
                ),
                Some(PodFailure::Terminated {
                    container: app(),
                    reason: Some("Error".into()),
                    exit_code: 2,
                }),
            ),
            (
                "running, readiness failing",
                BUILT,
                container(json!({"running": {}}), none.clone()),
                Some(PodFailure::NotReady { container: app() }),
            ),
            (
                "no node has room",
                BUILT,
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory."}]}),
                Some(PodFailure::Unschedulable {
                    message: Some("0/1 nodes are available: 1 Insufficient memory.".into()),
                }),
            ),
            (
                "not scheduled for another reason",
                BUILT,
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulerError", "message": "x"}]}),
                Some(PodFailure::NotScheduled {
                    reason: Some("SchedulerError".into()),
                    message: Some("x".into()),
                }),
            ),
            (
                "pending, nothing else known",
                BUILT,
                json!({"phase": "Pending"}),
                Some(PodFailure::Pending),
            ),
            (
                "an init container's pull comes first",
                BUILT,
                json!({
                    "initContainerStatuses": [{"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": waiting("ErrImagePull", "m")}],
                    "containerStatuses": [{"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": waiting("PodInitializing", "")}],
                }),
                Some(PodFailure::ImagePull(ImagePull {
                    container: app(),
                    image: BUILT.into(),
                    registry: "docker.io".into(),
                    reason: PullReason::ErrImagePull,
                    message: "m".into(),
                    retrying: false,
                    last_exit: None,
                })),
            ),
        ];
        let built: BTreeSet<String> = [BUILT.to_string()].into();
        for (case, image, status, want) in cases {
            assert_eq!(classify(&pod(image, status), &built), want, "{case}");
        }
    }

    #[test]
    fn reason_detail_severity_and_hint_read_as_kubectl_would() {
        let crash = PodFailure::CrashLoop {
            container: app(),
            restarts: 3,
            message: "back-off".into(),
            last_exit: Some(Exit {
                reason: Some("Error".into()),
                code: 1,
            }),
        };
        assert_eq!(crash.reason(), "CrashLoopBackOff");
        assert_eq!(crash.detail(), "last exit: Error (code 1); back-off");
        assert_eq!(crash.severity(), 5);
        assert!(crash.hint().unwrap().contains("read its log"));
        // Out of memory last time: that is the reason, whatever it waits for now.
        let oom = PodFailure::CreateContainerConfigError {
            container: app(),
            message: "m".into(),
            last_exit: Some(Exit {
                reason: Some("OOMKilled".into()),
                code: 137,
            }),
        };
        assert_eq!(oom.reason(), "OOMKilled");
        assert_eq!(oom.kubelet_reason(), "CreateContainerConfigError");
        assert_eq!(oom.severity(), 5);
        assert!(oom.hint().unwrap().contains("ran out of memory"));
        let unsched = PodFailure::Unschedulable { message: None };
        assert_eq!(
            (unsched.reason(), unsched.detail().as_str()),
            ("Unschedulable", "")
        );
        assert_eq!(unsched.severity(), 3);
        let pending = PodFailure::Pending;
        assert_eq!(
            (
                pending.reason(),
                pending.detail().as_str(),
                pending.severity()
            ),
            ("Pending", "the pod has not started yet", 1)
        );
        assert_eq!(pending.hint(), None);
        let other = PodFailure::NotScheduled {
            reason: None,
            message: Some("m".into()),
        };
        assert_eq!((other.reason(), other.severity()), ("Unschedulable", 3));
        let not_ready = PodFailure::NotReady { container: app() };
        assert!(crash.severity() > not_ready.severity());
        assert!(not_ready.hint().unwrap().contains("/ready"));
    }
}
