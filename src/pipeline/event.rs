//! What the stages say happened, as data. Stages emit [`Event`]s into
//! [`Events`] and never print; one reporter (`ui::report`: the terminal's or
//! `--json`'s) turns each into output. An event is cheap to clone and holds
//! no secret value (only names, images, object ids, messages and the user's
//! own container logs, as `--json` prints them).

use std::path::PathBuf;
use std::sync::Arc;

use crate::cluster::bring_up::{ClusterNews, ClusterReady};
use crate::cluster::logs::LogEvent;
use crate::deploy::apply::Applied;
use crate::deploy::rollout::Diagnosis;
use crate::project::model::ServiceName;
use crate::smoke::Check;
use crate::verify::VerifyCheck;
use crate::watch::{ChangeSet, LimitNotice, Ready};

use super::update::Fallback;

/// One thing that happened in a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// The rows of progress shown next, one per name (a build's services,
    /// a deploy's workloads, the watch loop's services).
    Rows(Vec<String>),
    /// Those rows are done: later output goes below them.
    RowsDone,
    Cluster(ClusterEvent),
    Build(BuildEvent),
    Push(PushEvent),
    Deploy(DeployEvent),
    Watch(LoopEvent),
    Attach(AttachEvent),
    Watcher(WatcherEvent),
    Smoke(SmokeEvent),
    Verify(VerifyEvent),
    /// The status page is served at `url` (its token in it).
    PageServing {
        url: String,
        /// The port asked for, when it was busy and another was used.
        moved_from: Option<u16>,
    },
}

#[derive(Debug, Clone)]
pub enum ClusterEvent {
    News {
        cluster: String,
        news: ClusterNews,
    },
    Ready {
        cluster: String,
        ready: ClusterReady,
    },
    Failed {
        error: String,
    },
    /// A built image was copied into the cluster's nodes (`minikube image load`).
    ImageLoaded {
        cluster: String,
        image: String,
        seconds: f64,
    },
    /// Every node has that tag already (its kubelet says so): not sent again.
    ImagePresent {
        cluster: String,
        image: String,
    },
}

#[derive(Debug, Clone)]
pub enum BuildEvent {
    /// The daemon has no BuildKit (or the user turned it off): said once.
    LegacyBuilder { message: String },
    /// Something in the context worth changing (a large or secret-looking file).
    Warning {
        service: String,
        message: String,
        dockerignore: PathBuf,
        ignore_line: Option<String>,
    },
    Started {
        service: String,
        image: String,
        context_bytes: u64,
        entries: usize,
    },
    Step {
        service: String,
        step: u32,
        steps: u32,
        instruction: String,
    },
    /// The daemon had the tag already (`seconds: None`) or built it.
    Done {
        service: String,
        image: String,
        seconds: Option<f64>,
        /// The image's size as the daemon reports it, when it could say.
        bytes: Option<u64>,
    },
    Failed {
        service: String,
        error: String,
        log: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub enum PushEvent {
    /// The registry answered (and took the credentials, if it asked).
    Target {
        registry: String,
        /// Where the credentials came from (a file or a helper), never their value.
        credentials: Option<String>,
    },
    Done {
        service: String,
        /// `host/path/repository:tag@sha256:...`
        reference: String,
        /// The registry had the tag: nothing was sent.
        already_there: bool,
    },
    Failed {
        service: Option<String>,
        error: String,
    },
    /// The push credentials are of a kind kubelet cannot pull with: no pull
    /// Secret is made, and why.
    PullAnonymous { registry: String, why: String },
}

#[derive(Debug, Clone)]
pub enum DeployEvent {
    Target {
        context: String,
        server: String,
        namespace: String,
    },
    Applied {
        object: String,
        result: Applied,
    },
    Pruned {
        object: String,
    },
    /// `--recreate`: the workload was deleted (or was not there).
    Recreated {
        object: String,
        deleted: bool,
    },
    /// Ctrl-C: the object in flight finished, the rest were not applied.
    Interrupted {
        applied: Vec<String>,
        not_applied: Vec<String>,
    },
    RolloutStatus {
        workload: String,
        message: String,
    },
    RolloutReady {
        workload: String,
    },
    RolloutFailed {
        workload: String,
        message: String,
    },
    /// Why a workload failed: its worst pod, events, log tail, a hint.
    Diagnosis {
        workload: String,
        message: String,
        diagnosis: Arc<Diagnosis>,
        kubectl_ai: Option<String>,
    },
    /// Everything is ready: where to open the app (url, note).
    Open {
        namespace: String,
        urls: Vec<(String, String)>,
    },
}

/// The watch loop, per service.
#[derive(Debug, Clone)]
pub enum LoopEvent {
    Watching {
        service: String,
    },
    Superseded {
        service: String,
    },
    Syncing {
        service: String,
        paths: Vec<String>,
    },
    Synced {
        service: String,
        pods: usize,
        caught_up: usize,
        seconds: f64,
        paths: Vec<String>,
    },
    /// The change could not be synced: it is rebuilt instead.
    FellBack {
        service: String,
        reason: Fallback,
        paths: Vec<String>,
    },
    Retrying {
        service: String,
        attempt: usize,
        in_seconds: u64,
    },
    Planning {
        service: String,
        paths: Vec<String>,
    },
    Building {
        service: String,
        image: String,
    },
    Built {
        service: String,
        image: String,
        unchanged: bool,
        seconds: f64,
        bytes: Option<u64>,
    },
    RollingOut {
        service: String,
        image: String,
    },
    /// The page's restart: new pods from the same image.
    Restarting {
        service: String,
    },
    /// A rollout status while waiting (the terminal's only).
    RolloutWaiting {
        service: String,
        message: String,
    },
    UpToDate {
        service: String,
        image: String,
        seconds: f64,
        paths: Vec<String>,
    },
    /// The daemon or the cluster went away: retried.
    Lost {
        service: String,
        stage: &'static str,
        message: String,
    },
    Failed {
        service: String,
        stage: &'static str,
        message: String,
    },
}

/// The file watcher, as `watch` (and `watch --dry-run`) shows it.
#[derive(Debug, Clone)]
pub enum WatcherEvent {
    /// The services deployed as the dev variant, each with its sync rules
    /// (`src -> dest`), so saves can be copied into their pods.
    DevVariant {
        synced: Vec<(ServiceName, Vec<String>)>,
    },
    /// Watches are in place; `next` says what a save does.
    Ready { ready: Ready, next: &'static str },
    /// A change set; `dry_run`: it is only reported, nothing acts on it.
    Change { set: ChangeSet, dry_run: bool },
    /// The inotify limit was reached: said once, with the fix.
    Limit(LimitNotice),
    /// The kernel's event queue overflowed: these services were rescanned.
    Rescanned(Vec<ServiceName>),
}

/// `smoke`: the run, each check as it finishes, and the verdict.
#[derive(Debug, Clone)]
pub enum SmokeEvent {
    Started {
        run_id: String,
        docker_host: String,
        profile: String,
        network: String,
    },
    Check(Check),
    /// A failed run: a container's last log lines, secrets masked.
    Logs {
        container: String,
        lines: Vec<String>,
    },
    Done {
        ok: bool,
        checks: usize,
        failed: usize,
        seconds: f64,
        run_id: String,
        /// Containers or the network that could not be removed.
        not_removed: Vec<String>,
        /// `--keep`: the passing stack was left running, at these addresses (service, URL).
        kept: Vec<(String, String)>,
    },
}

/// `verify`: what is checked, each check as it ends, and the verdict.
#[derive(Debug, Clone)]
pub enum VerifyEvent {
    Started {
        frontend: String,
        backend: Option<String>,
        mcp: Option<String>,
    },
    /// Verifying the project's deployment (not one address).
    OnCluster {
        context: String,
        namespace: String,
    },
    Check(VerifyCheck),
    Done {
        ok: bool,
        checks: usize,
        failed: usize,
        ms: u64,
    },
    /// The run could not go on (no cluster, say): no verdict.
    Failed {
        message: String,
    },
}

impl VerifyEvent {
    /// The verdict over `checks`, run since `started`.
    pub fn done(checks: &[VerifyCheck], started: std::time::Instant) -> VerifyEvent {
        let failed = checks.iter().filter(|c| !c.ok).count();
        VerifyEvent::Done {
            ok: failed == 0,
            checks: checks.len(),
            failed,
            ms: started.elapsed().as_millis() as u64,
        }
    }
}

/// What runs, as it runs: the services' logs and the port-forwards.
#[derive(Debug, Clone)]
pub enum AttachEvent {
    Log(LogEvent),
    /// A log follow beside the watcher stopped; the watcher carries on.
    LogsStopped {
        message: String,
    },
    ForwardReady {
        service: String,
        url: String,
        pod_port: u16,
        /// The local port asked for, when it was busy and another was used.
        moved_from: Option<u16>,
    },
    /// One forwarded connection failed; the forward stays up.
    ForwardProblem {
        service: String,
        message: String,
    },
}

/// What renders events: the terminal's reporter or `--json`'s.
pub trait Reporter: Send + Sync {
    fn report(&self, event: &Event);
}

/// Where stages send their events (cheap to clone, shared by tasks).
#[derive(Clone)]
pub struct Events {
    reporter: Arc<dyn Reporter>,
}

impl Events {
    pub fn new(reporter: Arc<dyn Reporter>) -> Events {
        Events { reporter }
    }

    /// Events nobody shows (a run whose caller reports results its own way).
    pub fn silent() -> Events {
        struct Silent;
        impl Reporter for Silent {
            fn report(&self, _: &Event) {}
        }
        Events::new(Arc::new(Silent))
    }

    /// These events, also handed to `also` (the status page beside the terminal).
    pub fn tee(&self, also: Arc<dyn Reporter>) -> Events {
        struct Tee(Arc<dyn Reporter>, Arc<dyn Reporter>);
        impl Reporter for Tee {
            fn report(&self, event: &Event) {
                self.0.report(event);
                self.1.report(event);
            }
        }
        Events::new(Arc::new(Tee(self.reporter.clone(), also)))
    }

    pub fn emit(&self, event: Event) {
        self.reporter.report(&event);
    }

    pub fn build(&self, e: BuildEvent) {
        self.emit(Event::Build(e));
    }

    pub fn push(&self, e: PushEvent) {
        self.emit(Event::Push(e));
    }

    pub fn deploy(&self, e: DeployEvent) {
        self.emit(Event::Deploy(e));
    }

    pub fn watch(&self, e: LoopEvent) {
        self.emit(Event::Watch(e));
    }

    pub fn attach(&self, e: AttachEvent) {
        self.emit(Event::Attach(e));
    }

    pub fn watcher(&self, e: WatcherEvent) {
        self.emit(Event::Watcher(e));
    }

    pub fn smoke(&self, e: SmokeEvent) {
        self.emit(Event::Smoke(e));
    }

    pub fn verify(&self, e: VerifyEvent) {
        self.emit(Event::Verify(e));
    }

    pub fn rows(&self, names: Vec<String>) {
        self.emit(Event::Rows(names));
    }

    pub fn rows_done(&self) {
        self.emit(Event::RowsDone);
    }
}
