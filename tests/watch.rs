//! `todo-dev watch --dry-run --json` with the real watcher on real files:
//! each kind of save leads to exactly the expected change set, once, or to
//! none. "None" is proved by a later sentinel change per service arriving
//! with nothing before it (no sleeps as assertions).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::{stderr, Sandbox};

/// How long to wait for a line before the test fails (not a measurement).
const PATIENCE: Duration = Duration::from_secs(30);

/// A change set as the test compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Change {
    service: String,
    action: String,
    paths: Vec<String>,
}

fn change(service: &str, action: &str, paths: &[&str]) -> Change {
    Change {
        service: service.into(),
        action: action.into(),
        paths: paths.iter().map(|p| p.to_string()).collect(),
    }
}

/// A reference-shaped project: frontend (src/, node_modules/), backend with
/// a sync rule for app/**/*.py and a .dockerignore; `extra` is appended to
/// todo-dev.yaml's `services:`.
fn project(extra_services: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("todo-app");
    let files = [
        ("frontend/package.json", "{}\n"),
        ("frontend/index.html", "<html></html>\n"),
        ("frontend/src/app.js", "console.log('app');\n"),
        ("frontend/src/lib/a.js", "export const a = 1;\n"),
        (
            "frontend/node_modules/react/index.js",
            "module.exports = {};\n",
        ),
        ("backend/requirements.txt", "fastapi\n"),
        ("backend/.dockerignore", "*.log\nsecrets/\n"),
        ("backend/app/__init__.py", ""),
        ("backend/app/main.py", "print('main')\n"),
        ("backend/app/util.py", "X = 1\n"),
        ("backend/secrets/key.txt", "k\n"),
    ];
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir_all(root.join(".git/objects")).unwrap();
    let yaml = format!(
        "services:\n  backend:\n    sync:\n      - {{src: \"app/**/*.py\", dest: /app/app/}}\n{extra_services}"
    );
    std::fs::write(root.join("todo-dev.yaml"), yaml).unwrap();
    (dir, root)
}

/// A running `watch --dry-run --json` and the lines it printed.
struct WatchRun {
    child: Child,
    lines: mpsc::Receiver<Value>,
    root: PathBuf,
    services: Vec<String>,
    sentinel: u32,
    _sandbox: Sandbox,
}

impl WatchRun {
    fn start(root: &Path, sets: &[&str]) -> (WatchRun, Value) {
        let sandbox = Sandbox::new(&[]);
        let mut args = vec!["watch", "--dry-run", "--json"];
        for set in sets {
            args.extend(["--set", set]);
        }
        let mut child = sandbox
            .todo_dev(root, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let rx = support::json_lines(child.stdout.take().unwrap());
        let mut run = WatchRun {
            child,
            lines: rx,
            root: root.to_path_buf(),
            services: Vec::new(),
            sentinel: 0,
            _sandbox: sandbox,
        };
        let ready = run.next_line();
        assert_eq!(ready["event"], "watch.ready", "{ready}");
        (run, ready)
    }

    fn next_line(&mut self) -> Value {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(v) => v,
            Err(_) => {
                let _ = self.child.kill();
                let out = std::mem::replace(
                    &mut self.child,
                    std::process::Command::new("true").spawn().unwrap(),
                )
                .wait_with_output()
                .unwrap();
                panic!("no line from watch; stderr:\n{}", stderr(&out));
            }
        }
    }

    fn next_change(&mut self) -> Change {
        let v = self.next_line();
        assert_eq!(v["event"], "watch.change", "{v}");
        for key in ["firstEventAt", "lastEventAt", "decidedAt"] {
            assert!(v[key].as_f64().is_some_and(|t| t > 1.6e9), "{key} in {v}");
        }
        assert!(
            v["firstEventAt"].as_f64() <= v["lastEventAt"].as_f64(),
            "{v}"
        );
        assert!(v["lastEventAt"].as_f64() <= v["decidedAt"].as_f64(), "{v}");
        Change {
            service: v["service"].as_str().unwrap().into(),
            action: v["action"].as_str().unwrap().into(),
            paths: v["paths"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect(),
        }
    }

    /// The next `n` change sets, sorted by service.
    fn next_changes(&mut self, n: usize) -> Vec<Change> {
        let mut out: Vec<Change> = (0..n).map(|_| self.next_change()).collect();
        out.sort();
        out
    }

    /// Writes a new sentinel file into every service's context and returns
    /// every other change reported before each service reported its sentinel.
    fn settle(&mut self) -> Vec<Change> {
        self.sentinel += 1;
        let mut waiting: Vec<(String, String)> = Vec::new();
        for (service, dir) in [
            ("frontend", "frontend"),
            ("backend", "backend"),
            ("mcp-server", "backend"),
            ("ai-agent", "backend"),
        ] {
            if self.services.iter().any(|s| s == service) {
                let rel = format!("{dir}/sentinel-{}.txt", self.sentinel);
                std::fs::write(self.root.join(&rel), format!("{}\n", self.sentinel)).unwrap();
                waiting.push((service.to_string(), rel));
            }
        }
        let mut others = Vec::new();
        while !waiting.is_empty() {
            let mut c = self.next_change();
            waiting.retain(|(s, rel)| !(*s == c.service && c.paths.contains(rel)));
            // A sentinel write split over two windows shows twice: still a sentinel.
            c.paths.retain(|p| !p.contains("/sentinel-"));
            if !c.paths.is_empty() {
                others.push(c);
            }
        }
        others
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for WatchRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Steps that must fall in one window get more quiet time than the default
/// 100 ms: a loaded test machine may stall the writer between two syscalls.
const ROOMY: &str = "watch.debounce=500ms";

fn started(extra: &str, services: &[&str]) -> (tempfile::TempDir, WatchRun) {
    started_with(extra, services, &[ROOMY])
}

fn started_with(extra: &str, services: &[&str], sets: &[&str]) -> (tempfile::TempDir, WatchRun) {
    let (dir, root) = project(extra);
    let (mut run, _) = WatchRun::start(&root, sets);
    run.services = services.iter().map(|s| s.to_string()).collect();
    (dir, run)
}

const TWO: [&str; 2] = ["frontend", "backend"];
const SHARED: &str = "  mcp-server: {enabled: true}\n  ai-agent: {enabled: true}\n";

#[test]
fn ready_names_the_roots_and_counts_watched_directories_without_ignored_ones() {
    let (_dir, root) = project("");
    let (_run, ready) = WatchRun::start(&root, &[]);
    assert_eq!(ready["roots"], serde_json::json!(["backend", "frontend"]));
    // frontend, frontend/src, frontend/src/lib, backend, backend/app;
    // not node_modules, .git, nor backend/secrets (.dockerignore'd whole).
    assert_eq!(ready["directories"], 5, "{ready}");
}

#[test]
fn an_in_place_edit_rebuilds_only_its_service_once() {
    // The default debounce (100 ms).
    let (_dir, mut run) = started_with("", &TWO, &[]);
    std::fs::write(run.path("frontend/src/app.js"), "console.log('v2');\n").unwrap();
    assert_eq!(
        run.next_change(),
        change("frontend", "rebuild", &["frontend/src/app.js"])
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_path_under_the_sync_rules_syncs_and_any_other_rebuilds() {
    let (_dir, mut run) = started("", &TWO);
    std::fs::write(run.path("backend/app/main.py"), "print('v2')\n").unwrap();
    assert_eq!(
        run.next_change(),
        change("backend", "sync", &["backend/app/main.py"])
    );
    std::fs::write(run.path("backend/requirements.txt"), "fastapi\nhttpx\n").unwrap();
    assert_eq!(
        run.next_change(),
        change("backend", "rebuild", &["backend/requirements.txt"])
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_path_in_the_shared_backend_context_is_one_change_set_per_service() {
    let (_dir, mut run) = started(SHARED, &["frontend", "backend", "mcp-server", "ai-agent"]);
    std::fs::write(run.path("backend/app/main.py"), "print('v2')\n").unwrap();
    let p = ["backend/app/main.py"];
    assert_eq!(
        run.next_changes(3),
        vec![
            change("ai-agent", "rebuild", &p),
            change("backend", "sync", &p),
            change("mcp-server", "rebuild", &p),
        ]
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn an_atomic_save_is_one_change_of_the_target_file() {
    let (_dir, mut run) = started("", &TWO);
    let tmp = run.path("frontend/src/app.js.tmp.4711");
    std::fs::write(&tmp, "console.log('atomic');\n").unwrap();
    std::fs::rename(&tmp, run.path("frontend/src/app.js")).unwrap();
    assert_eq!(
        run.next_change(),
        change("frontend", "rebuild", &["frontend/src/app.js"])
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn editor_temp_files_are_ignored_and_the_saved_file_counts() {
    let (_dir, mut run) = started("", &TWO);
    // vim: probe file, swap file, backup, then the write.
    let probe = run.path("frontend/src/4913");
    std::fs::write(&probe, "").unwrap();
    std::fs::remove_file(&probe).unwrap();
    std::fs::write(run.path("frontend/src/.app.js.swp"), "swap").unwrap();
    std::fs::write(run.path("frontend/src/app.js~"), "console.log('app');\n").unwrap();
    std::fs::write(run.path("frontend/src/.#app.js"), "lock").unwrap();
    std::fs::write(run.path("frontend/src/app.js___jb_tmp___"), "jb").unwrap();
    std::fs::write(run.path("frontend/src/app.js"), "console.log('vim');\n").unwrap();
    assert_eq!(
        run.next_change(),
        change("frontend", "rebuild", &["frontend/src/app.js"])
    );
    // Temp files alone, left behind: nothing.
    std::fs::write(run.path("backend/app/.main.py.swx"), "swap").unwrap();
    std::fs::write(run.path("backend/app/main.py___jb_old___"), "old").unwrap();
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_delete_is_a_change() {
    let (_dir, mut run) = started("", &TWO);
    std::fs::remove_file(run.path("frontend/src/lib/a.js")).unwrap();
    assert_eq!(
        run.next_change(),
        change("frontend", "rebuild", &["frontend/src/lib/a.js"])
    );
    // Deleting a synced file is still a sync (the pod's copy is removed).
    std::fs::remove_file(run.path("backend/app/util.py")).unwrap();
    assert_eq!(
        run.next_change(),
        change("backend", "sync", &["backend/app/util.py"])
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_new_directory_and_the_file_written_into_it_at_once_are_seen_and_then_watched() {
    let (_dir, mut run) = started("", &TWO);
    let dir = run.path("frontend/src/components/forms");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Input.js"), "export {};\n").unwrap();
    assert_eq!(
        run.next_change(),
        change(
            "frontend",
            "rebuild",
            &["frontend/src/components/forms/Input.js"]
        )
    );
    // The new directories have watches now.
    std::fs::write(dir.join("Input.js"), "export const v = 2;\n").unwrap();
    assert_eq!(
        run.next_change(),
        change(
            "frontend",
            "rebuild",
            &["frontend/src/components/forms/Input.js"]
        )
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_renamed_directory_moves_its_files_and_stays_watched_under_the_new_name() {
    let (_dir, mut run) = started("", &TWO);
    std::fs::rename(run.path("frontend/src/lib"), run.path("frontend/src/util")).unwrap();
    assert_eq!(
        run.next_change(),
        change(
            "frontend",
            "rebuild",
            &["frontend/src/lib/a.js", "frontend/src/util/a.js"]
        )
    );
    std::fs::write(run.path("frontend/src/util/a.js"), "export const a = 2;\n").unwrap();
    assert_eq!(
        run.next_change(),
        change("frontend", "rebuild", &["frontend/src/util/a.js"])
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_thousand_file_burst_is_one_change_set_per_service() {
    // A longer quiet time than the default: on a loaded test machine the
    // writer itself may pause for 100 ms, which would rightly end the burst.
    let (_dir, mut run) = started_with(
        SHARED,
        &["frontend", "backend", "mcp-server", "ai-agent"],
        &["watch.debounce=1s"],
    );
    let gen = run.path("backend/gen");
    std::fs::create_dir_all(&gen).unwrap();
    for i in 0..1000 {
        std::fs::write(gen.join(format!("m{i:04}.txt")), format!("{i}\n")).unwrap();
    }
    let sets = run.next_changes(3);
    let services: Vec<&str> = sets.iter().map(|c| c.service.as_str()).collect();
    assert_eq!(services, ["ai-agent", "backend", "mcp-server"]);
    for set in &sets {
        assert_eq!(set.action, "rebuild");
        assert_eq!(set.paths.len(), 1000, "{}", set.service);
        assert_eq!(set.paths[0], "backend/gen/m0000.txt");
        assert_eq!(set.paths[999], "backend/gen/m0999.txt");
    }
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_touch_a_save_without_edits_and_a_revert_change_nothing() {
    let (_dir, mut run) = started("", &TWO);
    let app = run.path("frontend/src/app.js");
    // touch: a new mtime, same bytes
    std::fs::File::options()
        .append(true)
        .open(&app)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    // save without edits
    std::fs::write(&app, "console.log('app');\n").unwrap();
    // an edit and its undo inside the window
    std::fs::write(run.path("backend/app/main.py"), "print('oops')\n").unwrap();
    std::fs::write(run.path("backend/app/main.py"), "print('main')\n").unwrap();
    // a temp file created and removed
    std::fs::write(run.path("frontend/src/scratch.txt"), "x").unwrap();
    std::fs::remove_file(run.path("frontend/src/scratch.txt")).unwrap();
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn ignored_and_dockerignored_paths_change_nothing() {
    let (_dir, mut run) = started("", &TWO);
    std::fs::write(run.path("frontend/node_modules/react/index.js"), "changed").unwrap();
    std::fs::create_dir_all(run.path("frontend/node_modules/vue")).unwrap();
    std::fs::write(run.path("frontend/node_modules/vue/index.js"), "new").unwrap();
    std::fs::write(run.path("backend/debug.log"), "log line\n").unwrap();
    std::fs::write(run.path("backend/secrets/key.txt"), "k2\n").unwrap();
    std::fs::create_dir_all(run.path("backend/app/__pycache__")).unwrap();
    std::fs::write(run.path("backend/app/__pycache__/main.pyc"), "pyc").unwrap();
    std::fs::write(run.path(".git/objects/ab"), "blob").unwrap();
    std::fs::create_dir_all(run.path("frontend/dist")).unwrap();
    std::fs::write(run.path("frontend/dist/index.js"), "bundle").unwrap();
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn a_changed_dockerignore_applies_its_new_rules_at_once() {
    let (_dir, mut run) = started("", &TWO);
    // secrets/ is no longer ignored: its file is sent now, and watched.
    std::fs::write(run.path("backend/.dockerignore"), "*.log\n").unwrap();
    assert_eq!(
        run.next_change(),
        change(
            "backend",
            "rebuild",
            &["backend/.dockerignore", "backend/secrets/key.txt"]
        )
    );
    std::fs::write(run.path("backend/secrets/key.txt"), "k2\n").unwrap();
    assert_eq!(
        run.next_change(),
        change("backend", "rebuild", &["backend/secrets/key.txt"])
    );
    assert_eq!(run.settle(), vec![]);
}

#[test]
fn without_dry_run_watch_first_does_what_up_does() {
    // No minikube on this PATH: `up`'s first step stops it, before any watching.
    let (_dir, root) = project("");
    let sb = Sandbox::new(&["minikube"]);
    let out = sb.todo_dev(&root, &["watch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("minikube is not on PATH"), "{err}");
    assert!(!err.contains("watching"), "{err}");
}

#[test]
fn a_bad_sync_pattern_is_a_configuration_error_naming_the_rule() {
    let (_dir, root) = project("");
    std::fs::write(
        root.join("todo-dev.yaml"),
        "services:\n  backend:\n    sync:\n      - {src: \"app/[*.py\", dest: /app/}\n",
    )
    .unwrap();
    let sb = Sandbox::new(&[]);
    let out = sb
        .todo_dev(&root, &["watch", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("services.backend.sync[0].src `app/[*.py`"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_the_watch_cleanly() {
    let (_dir, root) = project("");
    let (mut run, _) = WatchRun::start(&root, &[]);
    let pid = run.child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    // Waiting is bounded by the test harness; the exit code is the point.
    let status = run.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
