//! `watch`'s executor: a service's change set -> its [`Update`] (decided
//! once, in `update`) -> synced into the running pods, or its new content
//! tag built in the cluster's daemon (nothing to build when the daemon has
//! it, as after a revert) and that workload rolled by the engine.
//! Services act independently and in parallel; a newer change set for a
//! service cancels the one in flight, whose result is never rolled out. A
//! failure is reported and the loop goes on: nothing is applied after a
//! failed build, and a failed rollout leaves the old pods serving (rolling
//! updates keep them until new ones are ready). Ctrl-C lets an apply finish
//! the object in flight and stops every service before its next step.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use tokio::task::JoinHandle;

use super::build::{builder_for, log_path, plan_one};
use super::cluster::Loader;
use super::deploy::{Objects, Rolled, Rollout};
use super::event::{LoopEvent, VerifyEvent};
use super::push::Publisher;
use super::update::{self, Update};
use super::{image_ref, Engine, Images, PipelineError};
use crate::build::builder::Builder;
use crate::build::image::{self, BuildError, BuildOutcome};
use crate::deploy::rollout::RolloutState;
use crate::deploy::values::{self, DevVariant, ImageRef, DEFAULT_UID};
use crate::docker::DaemonFacts;
use crate::project::model::ServiceName;
use crate::sync::{self, SyncError, SyncPlan};
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
    /// Build even when the daemon has the tag (the page's rebuild button).
    pub force: bool,
}

impl Request {
    /// The page's rebuild button: the service's image built again and rolled.
    pub fn rebuild(service: ServiceName) -> Request {
        Request {
            service,
            action: Action::Rebuild,
            paths: Vec::new(),
            abs_paths: Vec::new(),
            first_event_at: SystemTime::now(),
            force: true,
        }
    }
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

/// The loop's state, in one place. Never held across an await.
#[derive(Default)]
struct LoopState {
    /// What the cluster runs (what `up` deployed, as the dev variant).
    images: Images,
    /// Services whose pods may lack a change: a rebuild began and has not
    /// succeeded yet. A sync there would skip that change, so they rebuild.
    unbuilt: HashSet<ServiceName>,
    synced: HashMap<ServiceName, Synced>,
}

struct Shared {
    engine: Arc<Engine>,
    docker: bollard::Docker,
    /// The registry every rebuild is pushed to before it rolls, if any.
    publisher: Option<Arc<Publisher>>,
    /// Or the cluster's `minikube image load`, when its nodes cannot be built into.
    loader: Option<Arc<Loader>>,
    builder: Builder,
    daemon: DaemonFacts,
    /// The engine's client (a clone shares its connection pool).
    client: kube::Client,
    dev: DevVariant,
    timeout: Duration,
    state: Mutex<LoopState>,
    // One apply at a time: each renders the whole project with the images of the moment.
    applying: tokio::sync::Mutex<()>,
}

impl Shared {
    fn event(&self, e: LoopEvent) {
        self.engine.events.watch(e);
    }

    /// One service's rollout with `images`, its waits on its row.
    async fn roll(
        &self,
        images: &Images,
        name: &str,
        how: Rollout,
    ) -> Result<Rolled, PipelineError> {
        let objects = Objects {
            images,
            dev: &self.dev,
            pull_secret: self.publisher.as_ref().and_then(|p| p.pull_secret.as_ref()),
        };
        let on_state = |s: &RolloutState| {
            if let RolloutState::Waiting(m) = s {
                self.event(LoopEvent::RolloutWaiting {
                    service: name.to_string(),
                    message: m.clone(),
                });
            }
        };
        self.engine
            .roll(objects, name, how, self.timeout, on_state)
            .await
    }
}

/// How one change's task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Done,
    /// Ctrl-C stopped it (an apply in flight finished its object first).
    Interrupted,
}

/// The rebuild loop: one in-flight task per service.
pub struct Rebuilds {
    shared: Arc<Shared>,
    /// Each service's task, with the sync it was doing (copied again if cut off).
    running: HashMap<ServiceName, (JoinHandle<Ended>, Option<Request>)>,
    /// The page's `verify` run, one at a time.
    verifying: Option<JoinHandle<()>>,
}

impl Rebuilds {
    /// `images` are what the cluster runs now (what `up` deployed, as the
    /// `dev` variant).
    pub async fn new(
        engine: Arc<Engine>,
        docker: bollard::Docker,
        (publisher, loader): (Option<Arc<Publisher>>, Option<Arc<Loader>>),
        daemon: &DaemonFacts,
        images: Images,
        dev: DevVariant,
        timeout: Duration,
    ) -> Result<Rebuilds, PipelineError> {
        let client = engine.client().await?.0.clone();
        Ok(Rebuilds {
            shared: Arc::new(Shared {
                engine,
                docker,
                publisher,
                loader,
                // `up` said already when it is the legacy one.
                builder: builder_for(daemon).builder,
                daemon: daemon.clone(),
                client,
                dev,
                timeout,
                state: Mutex::new(LoopState {
                    images,
                    ..LoopState::default()
                }),
                applying: tokio::sync::Mutex::new(()),
            }),
            running: HashMap::new(),
            verifying: None,
        })
    }

    /// Starts acting on `request`; a change still in flight for the same
    /// service is cancelled first (newest wins).
    pub fn request(&mut self, mut request: Request) {
        // A cut-off sync may have copied part of its files: copy them again.
        if let Some(stale) = self.supersede(request.service) {
            if request.action == Action::Sync {
                for (p, abs) in stale.paths.into_iter().zip(stale.abs_paths) {
                    if !request.abs_paths.contains(&abs) {
                        request.paths.push(p);
                        request.abs_paths.push(abs);
                    }
                }
            }
        }
        if request.action == Action::Rebuild {
            // Marked now, not in the task: a sync arriving before it runs must not skip it.
            self.shared.state.lock().unbuilt.insert(request.service);
        }
        let shared = self.shared.clone();
        let service = request.service;
        let kept = (request.action == Action::Sync).then(|| request.clone());
        self.running.insert(
            service,
            (
                tokio::spawn(async move { act(&shared, request).await }),
                kept,
            ),
        );
    }

    /// The page's restart button: new pods from the image the service runs;
    /// like a change, it supersedes what the service was doing.
    pub fn restart(&mut self, service: ServiceName) {
        self.supersede(service);
        let shared = self.shared.clone();
        let task = tokio::spawn(async move { restart(&shared, service).await });
        self.running.insert(service, (task, None));
    }

    /// The page's verify button: `verify`'s checks on the cluster (never
    /// disruptive), reported as `verify` reports them; one run at a time.
    pub fn verify(&mut self) {
        if self.verifying.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let engine = self.shared.engine.clone();
        self.verifying = Some(tokio::spawn(async move {
            let started = Instant::now();
            let run_id = crate::smoke::random_hex(4).unwrap_or_else(|_| "page".into());
            match engine.verify(run_id, false).await {
                Ok(checks) => engine.events.verify(VerifyEvent::done(&checks, started)),
                Err(e) => engine.events.verify(VerifyEvent::Failed {
                    message: e.to_string(),
                }),
            }
        }));
    }

    /// Cancels the service's task still in flight, if any; returns the
    /// sync it was doing.
    fn supersede(&mut self, service: ServiceName) -> Option<Request> {
        let (stale, sync) = self.running.remove(&service)?;
        if stale.is_finished() {
            return None;
        }
        stale.abort();
        self.shared.event(LoopEvent::Superseded {
            service: service.to_string(),
        });
        sync
    }

    /// Ctrl-C: every service stops at its next safe point (a build at once:
    /// an interrupted build tags nothing). True when one was cut short.
    pub async fn shutdown(&mut self) -> bool {
        self.shared.engine.cancel.trip();
        if let Some(verifying) = self.verifying.take() {
            verifying.abort();
        }
        let mut interrupted = false;
        for (_, (task, _)) in self.running.drain() {
            interrupted |= matches!(task.await, Ok(Ended::Interrupted));
        }
        self.shared.engine.events.rows_done();
        interrupted
    }
}

/// Why one change did not reach the pods, and whether trying again may help.
struct Stop {
    stage: &'static str,
    message: String,
    transient: bool,
}

async fn act(shared: &Shared, request: Request) -> Ended {
    let name = request.service.to_string();
    let pending = shared.state.lock().unbuilt.contains(&request.service);
    let fallback = match update::decide(request.action, pending) {
        Update::Sync => match sync_once(shared, &request).await {
            Ok(SyncedInto { pods, caught_up }) => {
                shared.event(LoopEvent::Synced {
                    service: name,
                    pods,
                    caught_up,
                    seconds: since(request.first_event_at),
                    paths: request.paths,
                });
                return Ended::Done;
            }
            Err(e) => match update::after_failed_sync(&e) {
                Update::Rebuild { fallback } => fallback,
                Update::Sync => None,
            },
        },
        Update::Rebuild { fallback } => fallback,
    };
    if let Some(reason) = fallback {
        shared.event(LoopEvent::FellBack {
            service: name.clone(),
            reason,
            paths: request.paths.clone(),
        });
    }
    shared.state.lock().unbuilt.insert(request.service);
    let cancel = &shared.engine.cancel;
    for (attempt, wait) in std::iter::once(Duration::ZERO).chain(BACKOFF).enumerate() {
        if !wait.is_zero() {
            shared.event(LoopEvent::Retrying {
                service: name.clone(),
                attempt,
                in_seconds: wait.as_secs(),
            });
            if cancel.unless(tokio::time::sleep(wait)).await.is_err() {
                return Ended::Interrupted;
            }
        }
        match attempt_once(shared, &request).await {
            Ok(image) => {
                {
                    let mut state = shared.state.lock();
                    state.unbuilt.remove(&request.service);
                    // The new image holds everything synced before.
                    state.synced.remove(&request.service);
                }
                shared.event(LoopEvent::UpToDate {
                    service: name,
                    image,
                    seconds: since(request.first_event_at),
                    paths: request.paths,
                });
                return Ended::Done;
            }
            Err(None) => return Ended::Interrupted,
            Err(Some(stop)) if stop.transient && attempt < BACKOFF.len() => {
                shared.event(LoopEvent::Lost {
                    service: name.clone(),
                    stage: stop.stage,
                    message: stop.message,
                });
            }
            Err(Some(stop)) => {
                shared.event(LoopEvent::Failed {
                    service: name,
                    stage: stop.stage,
                    message: stop.message,
                });
                return Ended::Done;
            }
        }
    }
    Ended::Done
}

/// The page's restart: the workload's pods replaced, rolled as a rebuild is.
async fn restart(shared: &Shared, service: ServiceName) -> Ended {
    let name = service.to_string();
    let started = SystemTime::now();
    let _applying = shared.applying.lock().await;
    let images = shared.state.lock().images.clone();
    let image = images
        .get(&service)
        .map(|i| i.reference.clone())
        .unwrap_or_default();
    shared.event(LoopEvent::Restarting {
        service: name.clone(),
    });
    let rolled = shared.roll(&images, &name, Rollout::Restart).await;
    let failed = |message| LoopEvent::Failed {
        service: name.clone(),
        stage: "restart",
        message,
    };
    match rolled {
        Ok(Rolled::Ready) => shared.event(LoopEvent::UpToDate {
            service: name.clone(),
            image,
            seconds: since(started),
            paths: Vec::new(),
        }),
        Ok(Rolled::Failed(message)) => shared.event(failed(message)),
        Err(PipelineError::Interrupted) => return Ended::Interrupted,
        Err(e) => shared.event(failed(e.to_string())),
    }
    Ended::Done
}

fn since(t: SystemTime) -> f64 {
    t.elapsed().unwrap_or_default().as_secs_f64()
}

/// Copies the change into every running pod of the service at once (the
/// rules' `run` commands after); a container that missed earlier syncs gets
/// those files too. Any pod that could not get it is an error, and the
/// caller rebuilds.
async fn sync_once(shared: &Shared, request: &Request) -> Result<SyncedInto, SyncError> {
    let name = request.service.as_str();
    let project = &shared.engine.project;
    let Some(service) = project.service(request.service) else {
        return Err(SyncError::NoPods {
            service: name.to_string(),
        });
    };
    let (earlier, up_to_date, uid) = {
        let state = shared.state.lock();
        let (paths, containers) = state
            .synced
            .get(&request.service)
            .map(|s| (s.paths.clone(), s.containers.clone()))
            .unwrap_or_default();
        // Entries belong to the user the pod runs as, so it can replace them.
        let uid = state
            .images
            .get(&request.service)
            .map_or(DEFAULT_UID, ImageRef::uid);
        (paths, containers, uid)
    };
    let change = SyncPlan::new(&service.context, &service.sync, &request.abs_paths)?;
    let mut all = earlier.clone();
    all.extend(request.abs_paths.iter().cloned());
    let all: Vec<PathBuf> = all.into_iter().collect();
    let everything = SyncPlan::new(&service.context, &service.sync, &all)?;
    shared.event(LoopEvent::Syncing {
        service: name.to_string(),
        paths: request.paths.clone(),
    });
    let change_tar = bytes::Bytes::from(sync::docker::archive(&change, uid)?);
    let selector = values::pod_selector(project, name);
    let client = &shared.client;
    let targets = sync::pods::targets(client, &project.namespace, &selector, name).await?;
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
        sync_by_exec(shared, client, t, plan, uid)
    }))
    .await;
    by_exec.into_iter().collect::<Result<Vec<()>, _>>()?;
    let caught_up = caught_up
        + targets
            .exec
            .iter()
            .filter(|t| behind(&t.runtime_id))
            .count();
    let mut loop_state = shared.state.lock();
    let state = loop_state.synced.entry(request.service).or_default();
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
    client: &kube::Client,
    target: &sync::pods::ExecTarget,
    plan: &SyncPlan,
    uid: u32,
) -> Result<(), SyncError> {
    let tar = match plan.copies.is_empty() {
        true => Vec::new(),
        false => sync::docker::archive(plan, uid)?,
    };
    let exec = target.exec(client, &shared.engine.project.namespace);
    sync::apply(&exec, &plan.deletions, tar.into(), &plan.runs).await?;
    Ok(())
}

/// Build, then roll. Returns the image now running; `Err(None)` when
/// Ctrl-C stopped it.
async fn attempt_once(shared: &Shared, request: &Request) -> Result<String, Option<Stop>> {
    let name = request.service.to_string();
    let project = &shared.engine.project;
    let cancel = &shared.engine.cancel;
    let Some(service) = project.service(request.service).cloned() else {
        return Err(Some(Stop {
            stage: "plan",
            message: format!("service `{name}` is not enabled"),
            transient: false,
        }));
    };
    shared.event(LoopEvent::Planning {
        service: name.clone(),
        paths: request.paths.clone(),
    });
    let plan = plan_one(project, &service)
        .await
        .map_err(|e| Some(build_stop(&e)))?;
    let mut image_ref = image_ref(&plan);
    let mut image = image_ref.reference.clone();
    shared.event(LoopEvent::Building {
        service: name.clone(),
        image: image.clone(),
    });
    let log = log_path(project, request.service);
    let started = Instant::now();
    let built = image::build(
        &shared.docker,
        &shared.daemon,
        plan,
        shared.builder,
        request.force,
        &log,
        |_| {},
    );
    let built = cancel
        .unless(built)
        .await
        .map_err(|_| None)?
        .map_err(|e| Some(build_stop(&e)))?;
    shared.event(LoopEvent::Built {
        service: name.clone(),
        image: image.clone(),
        unchanged: matches!(built, BuildOutcome::Unchanged),
        seconds: started.elapsed().as_secs_f64(),
        bytes: image::size(&shared.docker, &image).await,
    });
    if let Some(loader) = &shared.loader {
        let loaded = loader.load(&image, &shared.engine.events);
        match cancel.unless(loaded).await.map_err(|_| None)? {
            Ok(()) => {}
            // The pods keep running what they run.
            Err(e) => {
                return Err(Some(Stop {
                    stage: "load",
                    message: e.to_string(),
                    transient: false,
                }))
            }
        }
    }
    if let Some(publisher) = &shared.publisher {
        let events = &shared.engine.events;
        let pushed = publisher.push(&shared.docker, request.service, &image, events);
        // A failed push is reported; the pods keep running what they run.
        let Some(reference) = cancel.unless(pushed).await.map_err(|_| None)? else {
            return Err(Some(Stop {
                stage: "push",
                message: format!("{name}'s image did not reach the registry (see above)"),
                transient: false,
            }));
        };
        image_ref.reference = reference;
        image = image_ref.reference.clone();
    }

    let _applying = shared.applying.lock().await;
    let images = {
        let mut state = shared.state.lock();
        state.images.insert(request.service, image_ref);
        state.images.clone()
    };
    shared.event(LoopEvent::RollingOut {
        service: name.clone(),
        image: image.clone(),
    });
    let rolled = shared.roll(&images, &name, Rollout::Apply).await;
    match rolled {
        Ok(Rolled::Ready) => Ok(image),
        Ok(Rolled::Failed(message)) => Err(Some(Stop {
            stage: "rollout",
            message,
            transient: false,
        })),
        Err(PipelineError::Interrupted) => Err(None),
        Err(e) => Err(Some(cluster_stop(&e))),
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
