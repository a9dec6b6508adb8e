//! `watch`'s rebuild: a service's change set -> its new content tag built in
//! the cluster's daemon (nothing to build when the daemon has it, as after a
//! revert) -> that workload rolled to it -> waited for with the deploy
//! engine's diagnosis. Services act independently and in parallel; a newer
//! change set for a service cancels the one in flight, whose result is
//! never rolled out. A failure is reported and the loop goes on: nothing is
//! applied after a failed build, and a failed rollout leaves the old pods
//! serving (rolling updates keep them until new ones are ready).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use tokio::task::JoinHandle;

use super::deploy::{self, Rolled};
use super::{image_ref, Images, PipelineError};
use crate::build::hash_cache;
use crate::build::image::{self, BuildError, BuildOutcome};
use crate::deploy::rollout::RolloutState;
use crate::deploy::values::{self, DevVariant, ImageRef, DEFAULT_UID};
use crate::project::model::ServiceName;
use crate::project::Project;
use crate::sync::{self, SyncError, SyncPlan};
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};
use crate::watch::Action;

/// Waits before retrying after the Docker daemon or the cluster went away.
const BACKOFF: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// What a change set asks of one service.
#[derive(Debug, Clone)]
pub struct Request {
    pub service: ServiceName,
    /// Sync into the running pods (falling back to a rebuild), or rebuild.
    pub action: Action,
    /// The paths that changed (for the report).
    pub paths: Vec<String>,
    /// The same paths, absolute (what a sync copies or removes).
    pub abs_paths: Vec<PathBuf>,
    /// When the first file event of the change came: durations count from here.
    pub first_event_at: SystemTime,
}

/// What syncs copied into a service's containers since its image was built.
/// A container that did not get them (its pod started since, from the
/// image) gets all of them with its next sync, not just that change.
#[derive(Default)]
struct Synced {
    paths: BTreeSet<PathBuf>,
    containers: HashSet<String>,
}

/// What one sync did.
struct SyncedInto {
    pods: usize,
    /// Containers that were sent every file synced since the build.
    caught_up: usize,
}

struct Shared {
    project: Project,
    docker: bollard::Docker,
    client: kube::Client,
    images: Mutex<Images>,
    dev: DevVariant,
    /// Services whose pods may lack a change: a rebuild began and has not
    /// succeeded yet. A sync there would skip that change, so they rebuild.
    unbuilt: Mutex<HashSet<ServiceName>>,
    synced: Mutex<HashMap<ServiceName, Synced>>,
    timeout: Duration,
    out: Output,
    progress: Progress,
    // One apply at a time: each renders the whole project with the images of the moment.
    applying: tokio::sync::Mutex<()>,
}

/// The rebuild loop: one in-flight task per service.
pub struct Rebuilds {
    shared: Arc<Shared>,
    running: Mutex<HashMap<ServiceName, (JoinHandle<()>, Request)>>,
}

impl Rebuilds {
    /// `images` are what the cluster runs now (what `up` deployed, as the
    /// `dev` variant).
    pub fn new(
        project: Project,
        docker: bollard::Docker,
        client: kube::Client,
        images: Images,
        dev: DevVariant,
        timeout: Duration,
        out: Output,
    ) -> Rebuilds {
        let names: Vec<String> = project
            .services
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        let progress = Progress::new(out, &names);
        for n in &names {
            progress.settle(
                n,
                Tone::Dim,
                "watching",
                event("watch.status", json!({"service": n, "state": "watching"})),
            );
        }
        Rebuilds {
            shared: Arc::new(Shared {
                project,
                docker,
                client,
                images: Mutex::new(images),
                dev,
                unbuilt: Mutex::new(HashSet::new()),
                synced: Mutex::new(HashMap::new()),
                timeout,
                out,
                progress,
                applying: tokio::sync::Mutex::new(()),
            }),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Starts acting on `request`; a change still in flight for the same
    /// service is cancelled first (newest wins).
    pub fn request(&self, mut request: Request) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((stale, stale_request)) = running.remove(&request.service) {
            if !stale.is_finished() {
                stale.abort();
                // A cut-off sync may have copied part of its files: copy them again.
                if stale_request.action == Action::Sync && request.action == Action::Sync {
                    for (p, abs) in stale_request.paths.into_iter().zip(stale_request.abs_paths) {
                        if !request.abs_paths.contains(&abs) {
                            request.paths.push(p);
                            request.abs_paths.push(abs);
                        }
                    }
                }
                let name = request.service.to_string();
                self.shared.progress.note(
                    &name,
                    Tone::Dim,
                    "a newer change replaces the one in progress",
                    event("watch.superseded", json!({"service": name})),
                );
            }
        }
        if request.action == Action::Rebuild {
            // Marked now, not in the task: a sync arriving before it runs must not skip it.
            self.shared
                .unbuilt
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(request.service);
        }
        let shared = self.shared.clone();
        let service = request.service;
        let kept = request.clone();
        running.insert(
            service,
            (
                tokio::spawn(async move { act(&shared, request).await }),
                kept,
            ),
        );
    }

    /// Ctrl-C: stops every task at once (an interrupted build tags nothing).
    pub fn shutdown(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for (_, (task, _)) in running.drain() {
            task.abort();
        }
    }
}

/// Why one change did not reach the pods, and whether trying again may help.
struct Stop {
    stage: &'static str,
    message: String,
    transient: bool,
}

async fn act(shared: &Shared, request: Request) {
    let name = request.service.to_string();
    if request.action == Action::Sync {
        let pending = shared
            .unbuilt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&request.service);
        let tried = match pending {
            true => {
                Err("an earlier change of this service has not reached its pods yet".to_string())
            }
            false => sync_once(shared, &request).await.map_err(|e| e.to_string()),
        };
        match tried {
            Ok(SyncedInto { pods, caught_up }) => {
                let seconds = request
                    .first_event_at
                    .elapsed()
                    .unwrap_or_default()
                    .as_secs_f64();
                let files = request.paths.len();
                shared.progress.settle(
                    &name,
                    Tone::Good,
                    &format!("synced {files} file(s) into {pods} pod(s) ({seconds:.2} s from the first change)"),
                    event("watch.done", json!({"service": name, "action": "sync", "pods": pods, "caughtUp": caught_up, "seconds": seconds, "paths": request.paths})),
                );
                return;
            }
            Err(reason) => shared.progress.note(
                &name,
                Tone::Warn,
                &format!("cannot sync: {reason}; rebuilding instead"),
                event(
                    "watch.fallback",
                    json!({"service": name, "reason": reason, "paths": request.paths}),
                ),
            ),
        }
    }
    shared
        .unbuilt
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(request.service);
    for (attempt, wait) in std::iter::once(Duration::ZERO).chain(BACKOFF).enumerate() {
        if !wait.is_zero() {
            shared.progress.status(
                &name,
                &format!("retrying in {} s", wait.as_secs()),
                event(
                    "watch.retry",
                    json!({"service": name, "attempt": attempt, "inSeconds": wait.as_secs()}),
                ),
            );
            tokio::time::sleep(wait).await;
        }
        match attempt_once(shared, &request).await {
            Ok(image) => {
                shared
                    .unbuilt
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&request.service);
                // The new image holds everything synced before.
                shared
                    .synced
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&request.service);
                let seconds = request
                    .first_event_at
                    .elapsed()
                    .unwrap_or_default()
                    .as_secs_f64();
                shared.progress.settle(
                    &name,
                    Tone::Good,
                    &format!("up to date ({image}, {seconds:.1} s from the first change to running)"),
                    event("watch.done", json!({"service": name, "action": "rebuild", "image": image, "seconds": seconds, "paths": request.paths})),
                );
                return;
            }
            Err(stop) if stop.transient && attempt < BACKOFF.len() => {
                shared.progress.note(
                    &name,
                    Tone::Warn,
                    &stop.message,
                    event(
                        "watch.lost",
                        json!({"service": name, "stage": stop.stage, "message": stop.message}),
                    ),
                );
            }
            Err(stop) => {
                let first = stop.message.lines().next().unwrap_or_default().to_string();
                shared.progress.settle(
                    &name,
                    Tone::Bad,
                    &format!(
                        "failed ({}): {first}; the running pods are unchanged, still watching",
                        stop.stage
                    ),
                    event(
                        "watch.failed",
                        json!({"service": name, "stage": stop.stage, "message": stop.message}),
                    ),
                );
                if !shared.out.json && stop.message.lines().count() > 1 {
                    shared
                        .progress
                        .note(&name, Tone::Dim, &stop.message, serde_json::Value::Null);
                }
                return;
            }
        }
    }
}

/// Copies the change into every running pod of the service at once (the
/// rules' `run` commands after); a container that missed earlier syncs gets
/// those files too. Any pod that could not get it is an error, and the
/// caller rebuilds.
async fn sync_once(shared: &Shared, request: &Request) -> Result<SyncedInto, SyncError> {
    let name = request.service.as_str();
    let project = &shared.project;
    let Some(service) = project.service(request.service) else {
        return Err(SyncError::NoPods {
            service: name.to_string(),
        });
    };
    let (earlier, up_to_date) = {
        let synced = shared.synced.lock().unwrap_or_else(|e| e.into_inner());
        synced
            .get(&request.service)
            .map(|s| (s.paths.clone(), s.containers.clone()))
            .unwrap_or_default()
    };
    let change = SyncPlan::new(&service.context, &service.sync, &request.abs_paths)?;
    let mut all = earlier.clone();
    all.extend(request.abs_paths.iter().cloned());
    let all: Vec<PathBuf> = all.into_iter().collect();
    let everything = SyncPlan::new(&service.context, &service.sync, &all)?;
    // Entries belong to the user the pod runs as, so it can replace them.
    let uid = shared
        .images
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&request.service)
        .map_or(DEFAULT_UID, ImageRef::uid);
    shared.progress.status(
        name,
        "syncing",
        event(
            "watch.sync",
            json!({"service": name, "paths": request.paths}),
        ),
    );
    let change_tar = bytes::Bytes::from(sync::docker::archive(&change, uid)?);
    let selector = values::pod_selector(project, name);
    let targets = sync::pods::targets(&shared.client, &project.namespace, &selector, name).await?;
    if targets.is_empty() {
        return Err(SyncError::NoPods {
            service: name.to_string(),
        });
    }
    // One copy per container (pods never share one; a test fixture may report so).
    let mut containers = targets.docker.clone();
    containers.sort_by(|a, b| a.container_id.cmp(&b.container_id));
    containers.dedup_by(|a, b| a.container_id == b.container_id);
    let behind = |id: &str| !earlier.is_empty() && !up_to_date.contains(id);
    let caught_up = containers
        .iter()
        .filter(|t| behind(&t.container_id))
        .count();
    let everything_tar = match caught_up {
        0 => bytes::Bytes::new(),
        _ => bytes::Bytes::from(sync::docker::archive(&everything, uid)?),
    };
    let results = futures::future::join_all(containers.iter().map(|t| {
        let (plan, tar) = match behind(&t.container_id) {
            true => (&everything, everything_tar.clone()),
            false => (&change, change_tar.clone()),
        };
        sync::docker::apply(&shared.docker, t, plan, tar, uid)
    }))
    .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    // Other runtimes: the same archive through the Kubernetes exec API (`tar -x` in the container).
    let by_exec = futures::future::join_all(targets.exec.iter().map(|t| {
        let plan = match behind(&t.runtime_id) {
            true => &everything,
            false => &change,
        };
        sync_by_exec(shared, t, plan, uid)
    }))
    .await;
    by_exec.into_iter().collect::<Result<Vec<()>, _>>()?;
    let caught_up = caught_up
        + targets
            .exec
            .iter()
            .filter(|t| behind(&t.runtime_id))
            .count();
    let mut synced = shared.synced.lock().unwrap_or_else(|e| e.into_inner());
    let state = synced.entry(request.service).or_default();
    state.paths = all.into_iter().collect();
    state.containers = containers
        .into_iter()
        .map(|t| t.container_id)
        .chain(targets.exec.iter().map(|t| t.runtime_id.clone()))
        .collect();
    Ok(SyncedInto {
        pods: targets.len(),
        caught_up,
    })
}

/// One container of another runtime: deletions, the archive and the rules'
/// `run`s through the Kubernetes exec API (the image needs `tar`, `rm`, `sh`).
async fn sync_by_exec(
    shared: &Shared,
    target: &sync::pods::ExecTarget,
    plan: &SyncPlan,
    uid: u32,
) -> Result<(), SyncError> {
    let tar = match plan.copies.is_empty() {
        true => Vec::new(),
        false => sync::docker::archive(plan, uid)?,
    };
    let exec = target.exec(&shared.client, &shared.project.namespace);
    sync::apply(&exec, &plan.deletions, tar.into(), &plan.runs).await?;
    Ok(())
}

/// Build, then roll. Returns the image now running.
async fn attempt_once(shared: &Shared, request: &Request) -> Result<String, Stop> {
    let name = request.service.to_string();
    let project = &shared.project;
    let Some(service) = project.service(request.service).cloned() else {
        return Err(Stop {
            stage: "plan",
            message: format!("service `{name}` is not enabled"),
            transient: false,
        });
    };
    shared.progress.status(
        &name,
        "planning",
        event(
            "watch.plan",
            json!({"service": name, "paths": request.paths}),
        ),
    );
    let (instance, cache) = (project.instance_name(), hash_cache::dir_for(&project.root));
    let plan = tokio::task::spawn_blocking(move || image::plan(&instance, &service, Some(&cache)))
        .await
        .map_err(|e| Stop {
            stage: "plan",
            message: e.to_string(),
            transient: false,
        })?
        .map_err(|e| build_stop(&e))?;
    let image_ref = image_ref(&plan);
    let image = image_ref.reference.clone();
    shared.progress.status(
        &name,
        &format!("building {image}"),
        event("watch.build", json!({"service": name, "image": image})),
    );
    let log = project
        .root
        .join(format!(".todo-dev/logs/build-{name}.log"));
    let started = Instant::now();
    let built = image::build(&shared.docker, plan, false, &log, |_| {})
        .await
        .map_err(|e| build_stop(&e))?;
    let result = match built {
        BuildOutcome::Unchanged => "unchanged",
        BuildOutcome::Built { .. } => "built",
    };
    shared.progress.note(
        &name,
        Tone::Dim,
        &format!("{image} {result} ({:.1} s)", started.elapsed().as_secs_f64()),
        event("watch.built", json!({"service": name, "image": image, "result": result, "seconds": started.elapsed().as_secs_f64()})),
    );

    let _applying = shared.applying.lock().await;
    let images = {
        let mut images = shared.images.lock().unwrap_or_else(|e| e.into_inner());
        images.insert(request.service, image_ref);
        images.clone()
    };
    shared.progress.status(
        &name,
        "rolling out",
        event("watch.rollout", json!({"service": name, "image": image})),
    );
    let progress = &shared.progress;
    let rolled = deploy::roll(
        &shared.client,
        project,
        deploy::Objects {
            images: &images,
            dev: &shared.dev,
        },
        &name,
        shared.timeout,
        &shared.out,
        |s| {
            if let RolloutState::Waiting(m) = s {
                progress.status(&name, &format!("rolling out: {m}"), serde_json::Value::Null);
            }
        },
    )
    .await
    .map_err(|e| cluster_stop(&e))?;
    match rolled {
        Rolled::Ready => Ok(image),
        Rolled::Failed(message) => Err(Stop {
            stage: "rollout",
            message,
            transient: false,
        }),
    }
}

fn build_stop(e: &BuildError) -> Stop {
    Stop {
        stage: "build",
        // The daemon went away: worth another try; a failing Dockerfile is not.
        transient: matches!(e, BuildError::DaemonLost { .. } | BuildError::Daemon { .. }),
        message: e.to_string(),
    }
}

fn cluster_stop(e: &PipelineError) -> Stop {
    use crate::deploy::apply::ApplyError;
    Stop {
        stage: "rollout",
        transient: matches!(
            e,
            PipelineError::Apply(ApplyError::Api { .. } | ApplyError::ReadSecret { .. })
                | PipelineError::Connect(_)
        ),
        message: e.to_string(),
    }
}
