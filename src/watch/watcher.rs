//! The one watcher for all services: a non-recursive watch per directory
//! (inotify), a polled fallback per root when the inotify limit is reached,
//! and the loop that coalesces events into change sets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher as _};
use serde::Serialize;
use tokio::sync::mpsc;

use super::change::{self, ChangeSet, EventTimes};
use super::scope::{self, ScopeError, WatchScope};
use super::snapshot::Snapshot;
use crate::project::model::ServiceName;
use crate::project::Project;

/// A change set never waits longer than this after its first event, so
/// continuous writes cannot starve an action.
pub const CAP: Duration = Duration::from_millis(crate::project::load::MAX_DEBOUNCE_MS);

/// How often a polled root is looked at.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time after the last event before deciding.
    pub debounce: Duration,
    pub poll_interval: Duration,
    /// Pretend the inotify limit is this many watches (tests of the polled
    /// fallback; `None` in use: the kernel's limit applies).
    pub inotify_budget: Option<usize>,
}

impl WatchOptions {
    pub fn for_project(project: &Project) -> WatchOptions {
        WatchOptions {
            debounce: project.watch.debounce,
            poll_interval: POLL_INTERVAL,
            inotify_budget: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("cannot start watching files: {0}")]
    Backend(#[source] notify::Error),
    #[error("cannot start the watch thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// What the watcher reports, in order.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    Change(ChangeSet),
    /// The inotify limit was reached: said once, with the fix.
    Limit(LimitNotice),
    /// The kernel's event queue overflowed: these services were rescanned.
    Rescanned(Vec<ServiceName>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LimitNotice {
    /// Directories the watch needs (one inotify watch each).
    pub needed: u64,
    /// The kernel's `fs.inotify.max_user_watches`, when it could be read.
    pub limit: Option<u64>,
    /// Roots now polled, relative to the project root.
    pub polled_roots: Vec<String>,
    pub suggested: u64,
}

impl LimitNotice {
    pub fn message(&self) -> String {
        let limit = self
            .limit
            .map(|l| format!(" (fs.inotify.max_user_watches = {l})"))
            .unwrap_or_default();
        format!(
            "the inotify watch limit is reached{limit}: watching needs {} watches; polling {} every {} s instead\n  fix: sudo sysctl fs.inotify.max_user_watches={n} (to keep it: echo fs.inotify.max_user_watches={n} | sudo tee /etc/sysctl.d/90-todo-dev.conf)",
            self.needed,
            self.polled_roots.join(", "),
            POLL_INTERVAL.as_secs(),
            n = self.suggested,
        )
    }

    /// The `watch.limit` line of `--json` output.
    pub fn json_line(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            event: &'static str,
            needed: u64,
            limit: Option<u64>,
            polled_roots: &'a [String],
            fix: String,
        }
        change::json_line(&Line {
            event: "watch.limit",
            needed: self.needed,
            limit: self.limit,
            polled_roots: &self.polled_roots,
            fix: format!("sudo sysctl fs.inotify.max_user_watches={}", self.suggested),
        })
    }
}

/// Watches in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    /// Relative to the project root.
    pub roots: Vec<String>,
    pub directories: usize,
    /// Files whose contents are remembered.
    pub files: usize,
    pub polled_roots: Vec<String>,
}

impl Ready {
    /// The `watch.ready` line of `--json` output.
    pub fn json_line(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            event: &'static str,
            roots: &'a [String],
            directories: usize,
        }
        change::json_line(&Line {
            event: "watch.ready",
            roots: &self.roots,
            directories: self.directories,
        })
    }
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Stop,
}

/// A running watcher; dropping it (or `stop`) ends it.
pub struct Watcher {
    stop: std_mpsc::Sender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub ready: Ready,
}

impl Watcher {
    /// Stops watching and waits for the loop to end (it decides nothing more).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Takes the snapshot, places the watches and starts the loop, which sends
/// change sets (and notices) to `events`. Blocking: walks and hashes the roots.
pub fn start(
    project: &Project,
    options: WatchOptions,
    events: mpsc::UnboundedSender<WatchEvent>,
) -> Result<Watcher, WatchError> {
    let scope = WatchScope::new(project)?;
    scope.check_roots()?;
    let (tx, rx) = std_mpsc::channel();
    let handler_tx = tx.clone();
    let inotify = RecommendedWatcher::new(
        move |res| {
            let _ = handler_tx.send(Msg::Fs(res));
        },
        notify::Config::default(),
    )
    .map_err(WatchError::Backend)?;
    let mut watches = Watches {
        inotify,
        poll: None,
        poll_tx: tx.clone(),
        poll_interval: options.poll_interval,
        budget: options.inotify_budget,
        by_inotify: BTreeSet::new(),
        by_poll: BTreeSet::new(),
        polled_roots: BTreeSet::new(),
        limit_reported: false,
    };
    // Watches first, then the snapshot: an edit in between is part of what
    // `watch` starts from, and every later one raises an event.
    let all: Vec<(PathBuf, Vec<PathBuf>)> = scope
        .roots
        .iter()
        .map(|r| (r.clone(), scope.walk(r).dirs))
        .collect();
    let needed: usize = all.iter().map(|(_, d)| d.len()).sum();
    for (root, dirs) in &all {
        if watches.add_all(root, dirs).is_err() {
            watches.fall_back_to_polling(root, dirs);
        }
    }
    let notice = watches.limit_notice(&scope, needed);
    let snapshot = Snapshot::take(&scope);
    let ready = Ready {
        roots: scope.roots.iter().map(|r| scope.display(r)).collect(),
        directories: watches.by_inotify.len() + watches.by_poll.len(),
        files: snapshot.len(),
        polled_roots: watches
            .polled_roots
            .iter()
            .map(|r| scope.display(r))
            .collect(),
    };
    if let Some(n) = notice {
        let _ = events.send(WatchEvent::Limit(n));
    }
    let mut state = Loop {
        project: project.clone(),
        scope,
        snapshot,
        watches,
        options,
        events,
    };
    let thread = std::thread::Builder::new()
        .name("todo-dev-watch".into())
        .spawn(move || state.run(rx))
        .map_err(WatchError::Thread)?;
    Ok(Watcher {
        stop: tx,
        thread: Some(thread),
        ready,
    })
}

/// The inotify limit, or the budget a test set.
#[derive(Debug)]
struct LimitReached;

/// Which directories are watched, and how.
struct Watches {
    inotify: RecommendedWatcher,
    poll: Option<PollWatcher>,
    poll_tx: std_mpsc::Sender<Msg>,
    poll_interval: Duration,
    budget: Option<usize>,
    by_inotify: BTreeSet<PathBuf>,
    by_poll: BTreeSet<PathBuf>,
    polled_roots: BTreeSet<PathBuf>,
    limit_reported: bool,
}

impl Watches {
    fn is_watched(&self, dir: &Path) -> bool {
        self.by_inotify.contains(dir) || self.by_poll.contains(dir)
    }

    fn add_all(&mut self, root: &Path, dirs: &[PathBuf]) -> Result<(), LimitReached> {
        for dir in dirs {
            self.add(root, dir)?;
        }
        Ok(())
    }

    /// One non-recursive watch on `dir`, by the means its root uses. A
    /// directory gone in the meantime is not an error (its parent's event says so).
    fn add(&mut self, root: &Path, dir: &Path) -> Result<(), LimitReached> {
        if self.is_watched(dir) {
            return Ok(());
        }
        if self.polled_roots.contains(root) {
            self.poll_dir(dir);
            return Ok(());
        }
        if self.budget.is_some_and(|b| self.by_inotify.len() >= b) {
            return Err(LimitReached);
        }
        match self.inotify.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.by_inotify.insert(dir.to_path_buf());
                Ok(())
            }
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => Err(LimitReached),
            Err(_) => Ok(()),
        }
    }

    fn poll_dir(&mut self, dir: &Path) {
        if self.poll.is_none() {
            let tx = self.poll_tx.clone();
            // notify's poller compares mtimes in whole seconds: contents too,
            // or two saves within a second look like one. Only source
            // directories are polled (never node_modules and the like).
            let config = notify::Config::default()
                .with_poll_interval(self.poll_interval)
                .with_compare_contents(true);
            self.poll = PollWatcher::new(
                move |res| {
                    let _ = tx.send(Msg::Fs(res));
                },
                config,
            )
            .ok();
        }
        if let Some(poll) = &mut self.poll {
            if poll.watch(dir, RecursiveMode::NonRecursive).is_ok() {
                self.by_poll.insert(dir.to_path_buf());
            }
        }
    }

    /// Moves `root` to polling: its inotify watches are given back (for the
    /// other roots) and every directory of it is polled.
    fn fall_back_to_polling(&mut self, root: &Path, dirs: &[PathBuf]) {
        let held: Vec<PathBuf> = self
            .by_inotify
            .iter()
            .filter(|d| d.starts_with(root))
            .cloned()
            .collect();
        for d in held {
            let _ = self.inotify.unwatch(&d);
            self.by_inotify.remove(&d);
        }
        self.polled_roots.insert(root.to_path_buf());
        for d in dirs {
            self.poll_dir(d);
        }
    }

    /// Forgets the watches on `dir` and below (it is gone or moved).
    fn remove_under(&mut self, dir: &Path) {
        let gone: Vec<PathBuf> = self
            .by_inotify
            .range(dir.to_path_buf()..)
            .take_while(|d| d.starts_with(dir))
            .cloned()
            .collect();
        for d in gone {
            let _ = self.inotify.unwatch(&d);
            self.by_inotify.remove(&d);
        }
        let gone: Vec<PathBuf> = self
            .by_poll
            .range(dir.to_path_buf()..)
            .take_while(|d| d.starts_with(dir))
            .cloned()
            .collect();
        for d in gone {
            if let Some(poll) = &mut self.poll {
                let _ = poll.unwatch(&d);
            }
            self.by_poll.remove(&d);
        }
    }

    /// The one message about the limit, the first time roots are polled.
    fn limit_notice(&mut self, scope: &WatchScope, needed: usize) -> Option<LimitNotice> {
        if self.polled_roots.is_empty() || self.limit_reported {
            return None;
        }
        self.limit_reported = true;
        let needed = needed as u64;
        Some(LimitNotice {
            needed,
            limit: crate::host::inotify_watch_limit(),
            polled_roots: self.polled_roots.iter().map(|r| scope.display(r)).collect(),
            suggested: scope::suggested_watch_limit(needed),
        })
    }
}

/// Events gathered since the tree was last quiet.
struct Window {
    started: Instant,
    last: Instant,
    times: EventTimes,
    touched: BTreeSet<PathBuf>,
    per_service: BTreeMap<ServiceName, EventTimes>,
    rescan: BTreeSet<ServiceName>,
}

struct Loop {
    project: Project,
    scope: WatchScope,
    snapshot: Snapshot,
    watches: Watches,
    options: WatchOptions,
    events: mpsc::UnboundedSender<WatchEvent>,
}

impl Loop {
    fn run(&mut self, rx: std_mpsc::Receiver<Msg>) {
        let mut window: Option<Window> = None;
        loop {
            let msg = match &window {
                // Idle: block until something happens (no CPU spent waiting).
                None => match rx.recv() {
                    Ok(m) => m,
                    Err(_) => return,
                },
                Some(w) => {
                    let due = (w.last + self.options.debounce).min(w.started + CAP);
                    match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                        Ok(m) => m,
                        Err(std_mpsc::RecvTimeoutError::Timeout) => {
                            if let Some(w) = window.take() {
                                if !self.decide(w) {
                                    return;
                                }
                            }
                            continue;
                        }
                        Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            };
            match msg {
                Msg::Stop => return,
                Msg::Fs(Ok(event)) => self.on_event(event, &mut window),
                // A watch error names no change; the next event or rescan will.
                Msg::Fs(Err(_)) => {}
            }
        }
    }

    fn on_event(&mut self, event: notify::Event, window: &mut Option<Window>) {
        let now = (Instant::now(), SystemTime::now());
        if event.need_rescan() {
            let services: Vec<ServiceName> = self
                .scope
                .services
                .iter()
                .filter(|s| event.paths.is_empty() || event.paths.iter().any(|p| s.covers(p)))
                .map(|s| s.name)
                .collect();
            let w = window.get_or_insert_with(|| new_window(now));
            note(w, now);
            w.rescan.extend(services);
            return;
        }
        // Reads (ours included, when hashing) change nothing.
        if let EventKind::Access(kind) = event.kind {
            if kind != AccessKind::Close(AccessMode::Write) {
                return;
            }
        }
        let renamed = matches!(event.kind, EventKind::Modify(ModifyKind::Name(_)));
        for path in &event.paths {
            self.on_path(path, renamed, now, window);
        }
    }

    fn on_path(
        &mut self,
        path: &Path,
        renamed: bool,
        now: (Instant, SystemTime),
        window: &mut Option<Window>,
    ) {
        let Some(root) = self.scope.root_of(path).map(Path::to_path_buf) else {
            return;
        };
        let covering: Vec<ServiceName> = self
            .scope
            .services
            .iter()
            .filter(|s| s.covers(path))
            .map(|s| s.name)
            .collect();
        if covering.is_empty() {
            return;
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => {
                if !self.watches.is_watched(path) {
                    // A directory moved here keeps its inotify watch under
                    // its old name (same inode): drop stale ones first.
                    if renamed {
                        self.forget_vanished_dirs();
                    }
                    self.watch_new_dir(&root, path);
                }
            }
            Ok(_) => {}
            Err(_) => self.watches.remove_under(path),
        }
        let w = window.get_or_insert_with(|| new_window(now));
        note(w, now);
        w.touched.insert(path.to_path_buf());
        for s in covering {
            w.per_service
                .entry(s)
                .and_modify(|t| t.extend(now.1))
                .or_insert(EventTimes::at(now.1));
        }
    }

    /// Watches a new directory and all below it; files already in them are
    /// found when the window's touched paths are re-read.
    fn watch_new_dir(&mut self, root: &Path, dir: &Path) {
        let dirs = self.scope.walk(dir).dirs;
        if self.watches.add_all(root, &dirs).is_err() {
            let all = self.scope.walk(root).dirs;
            self.watches.fall_back_to_polling(root, &all);
            let needed = self.scope.directories().len();
            if let Some(n) = self.watches.limit_notice(&self.scope, needed) {
                let _ = self.events.send(WatchEvent::Limit(n));
            }
        }
    }

    fn forget_vanished_dirs(&mut self) {
        let vanished: Vec<PathBuf> = self
            .watches
            .by_inotify
            .iter()
            .filter(|d| !d.is_dir())
            .cloned()
            .collect();
        for d in vanished {
            self.watches.remove_under(&d);
        }
    }

    /// The window is closed: net differences to change sets. False when
    /// nobody listens any more.
    fn decide(&mut self, mut w: Window) -> bool {
        for name in &w.rescan {
            let Some(s) = self.scope.services.iter().find(|s| s.name == *name) else {
                continue;
            };
            for root in s.roots.clone() {
                // Directories created while events were lost need watches too.
                let outer = self.scope.root_of(&root).map(Path::to_path_buf);
                if let Some(outer) = outer {
                    self.forget_vanished_dirs();
                    self.watch_new_dir(&outer, &root);
                }
                w.touched.insert(root);
            }
        }
        let mut changed = self.snapshot.refresh(&self.scope, &w.touched);
        let rules_changed = self
            .scope
            .services
            .iter()
            .any(|s| changed.contains(&s.context.join(".dockerignore")));
        // New .dockerignore rules: other files are sent, other directories
        // need watches. A broken file keeps the old rules (the build says why).
        if rules_changed {
            if let Ok(scope) = WatchScope::new(&self.project) {
                self.scope = scope;
                let roots = self.scope.roots.clone();
                for root in &roots {
                    self.watch_new_dir(root, root);
                }
                changed.extend(
                    self.snapshot
                        .refresh(&self.scope, &roots.into_iter().collect()),
                );
            }
        }
        if !w.rescan.is_empty() {
            let names = w.rescan.iter().copied().collect();
            if self.events.send(WatchEvent::Rescanned(names)).is_err() {
                return false;
            }
        }
        let sets = change::decide(
            &self.scope,
            &changed,
            &w.per_service,
            w.times,
            SystemTime::now(),
        );
        for set in sets {
            if self.events.send(WatchEvent::Change(set)).is_err() {
                return false;
            }
        }
        true
    }
}

fn new_window(now: (Instant, SystemTime)) -> Window {
    Window {
        started: now.0,
        last: now.0,
        times: EventTimes::at(now.1),
        touched: BTreeSet::new(),
        per_service: BTreeMap::new(),
        rescan: BTreeSet::new(),
    }
}

fn note(w: &mut Window, now: (Instant, SystemTime)) {
    w.last = now.0;
    w.times.extend(now.1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{load, LoadOptions};
    use notify::event::Flag;

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let opts = LoadOptions {
            project_dir: Some(dir.path().to_path_buf()),
            ..LoadOptions::default()
        };
        let project = load(&opts, dir.path()).unwrap();
        (dir, project)
    }

    fn next(rx: &mut mpsc::UnboundedReceiver<WatchEvent>) -> WatchEvent {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match rx.try_recv() {
                Ok(e) => return e,
                Err(mpsc::error::TryRecvError::Empty) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("no event from the watcher: {e}"),
            }
        }
    }

    fn next_change(rx: &mut mpsc::UnboundedReceiver<WatchEvent>) -> ChangeSet {
        match next(rx) {
            WatchEvent::Change(c) => c,
            other => panic!("expected a change set, got {other:?}"),
        }
    }

    const FILES: [(&str, &str); 5] = [
        ("frontend/index.html", "<html></html>"),
        ("frontend/src/app.js", "1"),
        ("frontend/src/lib/a.js", "1"),
        ("backend/requirements.txt", "fastapi"),
        ("backend/app/main.py", "print(1)"),
    ];

    #[test]
    fn at_the_inotify_limit_one_message_then_the_root_is_polled_and_changes_still_arrive() {
        let (dir, project) = project(&FILES);
        let (tx, mut rx) = mpsc::unbounded_channel();
        // backend (2 directories) fits; frontend (3) does not.
        let options = WatchOptions {
            debounce: Duration::from_millis(50),
            poll_interval: Duration::from_millis(100),
            inotify_budget: Some(2),
        };
        let watcher = start(&project, options, tx).unwrap();
        assert_eq!(watcher.ready.polled_roots, ["frontend"]);
        assert_eq!(watcher.ready.directories, 5);
        let WatchEvent::Limit(notice) = next(&mut rx) else {
            panic!("expected the limit notice first")
        };
        assert_eq!(notice.needed, 5);
        assert_eq!(notice.polled_roots, ["frontend"]);
        let msg = notice.message();
        assert!(msg.contains("needs 5 watches"), "{msg}");
        assert!(
            msg.contains("sudo sysctl fs.inotify.max_user_watches=524288"),
            "{msg}"
        );

        // The polled root still reports edits, in new directories too.
        std::fs::write(dir.path().join("frontend/src/app.js"), "2").unwrap();
        let c = next_change(&mut rx);
        assert_eq!(
            (c.service, c.paths),
            (
                ServiceName::Frontend,
                vec!["frontend/src/app.js".to_string()]
            )
        );
        std::fs::create_dir(dir.path().join("frontend/src/new")).unwrap();
        std::fs::write(dir.path().join("frontend/src/new/b.js"), "b").unwrap();
        let c = next_change(&mut rx);
        assert_eq!(c.paths, ["frontend/src/new/b.js"]);
        std::fs::write(dir.path().join("frontend/src/new/b.js"), "b2").unwrap();
        let c = next_change(&mut rx);
        assert_eq!(c.paths, ["frontend/src/new/b.js"]);
        // The inotify root is unaffected.
        std::fs::write(dir.path().join("backend/app/main.py"), "print(2)").unwrap();
        let c = next_change(&mut rx);
        assert_eq!(
            (c.service, c.paths),
            (
                ServiceName::Backend,
                vec!["backend/app/main.py".to_string()]
            )
        );
        watcher.stop();
        // No second message.
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_queue_overflow_rescans_the_affected_service_and_reports_its_net_change() {
        let (dir, project) = project(&FILES);
        // Writes through hard links elsewhere reach no watched directory:
        // edits no event reports, as when the kernel's queue overflowed.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::hard_link(
            dir.path().join("frontend/src/lib/a.js"),
            elsewhere.join("a.js"),
        )
        .unwrap();
        std::fs::hard_link(
            dir.path().join("backend/app/main.py"),
            elsewhere.join("main.py"),
        )
        .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let options = WatchOptions {
            debounce: Duration::from_millis(50),
            poll_interval: POLL_INTERVAL,
            inotify_budget: None,
        };
        let watcher = start(&project, options, tx).unwrap();
        std::fs::write(elsewhere.join("a.js"), "changed unseen").unwrap();
        std::fs::write(elsewhere.join("main.py"), "changed unseen").unwrap();
        // What inotify sends on IN_Q_OVERFLOW, here naming the frontend's root.
        let overflow = notify::Event::new(EventKind::Other)
            .set_flag(Flag::Rescan)
            .add_path(dir.path().join("frontend"));
        watcher.stop.send(Msg::Fs(Ok(overflow))).unwrap();
        match next(&mut rx) {
            WatchEvent::Rescanned(s) => assert_eq!(s, [ServiceName::Frontend]),
            other => panic!("expected a rescan, got {other:?}"),
        }
        let c = next_change(&mut rx);
        assert_eq!(
            (c.service, c.paths),
            (
                ServiceName::Frontend,
                vec!["frontend/src/lib/a.js".to_string()]
            )
        );
        watcher.stop();
        // The backend was not rescanned: its unseen edit is not reported.
        let rest = rx.try_recv();
        assert!(rest.is_err(), "{rest:?}");
    }
}
