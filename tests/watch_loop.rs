//! `todo-dev watch` (not a dry run) as a user runs it: the fake minikube
//! hands out the real dockerd (over TLS) as the node's daemon, the fake API
//! server plays the cluster. Saves rebuild and roll only their service; a
//! revert builds nothing; a failed build or a crash-looping new pod leaves
//! the old pods serving and the watcher alive.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::apiserver::{Behavior, FakeApiServer};
use support::Sandbox;

/// How long to wait for an event before the test fails (not a measurement).
const PATIENCE: Duration = Duration::from_secs(90);

/// Content no earlier run built: the daemon keeps images between runs.
fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", std::process::id(), t.as_nanos())
}

/// The quick app (frontend and backend that build in a blink), with
/// content of its own.
fn app() -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = support::quick_app();
    for d in ["frontend", "backend"] {
        std::fs::write(
            root.join(d).join("main.txt"),
            format!("{d} v1 {}\n", nonce()),
        )
        .unwrap();
    }
    (dir, root)
}

struct Loop {
    api: FakeApiServer,
    child: Child,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
    root: PathBuf,
    _sandbox: Sandbox,
}

impl Loop {
    fn start(root: &Path, host: &str, certs: &str) -> Loop {
        let api = FakeApiServer::start();
        let sandbox = Sandbox::new(&[]);
        let kubeconfig = api.write_kubeconfig(sandbox.home.path(), "minikube");
        let mut child = sandbox
            .todo_dev(
                root,
                &[
                    "watch",
                    "--json",
                    "--timeout",
                    "60",
                    "--set",
                    "watch.debounce=300ms",
                ],
            )
            .env("KUBECONFIG", &kubeconfig)
            .env("FAKE_MINIKUBE_STATE", "running")
            .env("FAKE_MINIKUBE_DOCKER_HOST", host)
            .env("FAKE_MINIKUBE_CERT_PATH", certs)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let rx = support::json_lines(child.stdout.take().unwrap());
        let mut run = Loop {
            api,
            child,
            lines: rx,
            seen: Vec::new(),
            root: root.to_path_buf(),
            _sandbox: sandbox,
        };
        run.until(|e| e["event"] == "watch.ready");
        run
    }

    /// Reads events until `stop` matches one; returns the events read.
    fn until(&mut self, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut read = Vec::new();
        loop {
            let e = self
                .lines
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("no event in {PATIENCE:?}; so far: {:#?}", self.seen));
            self.seen.push(e.clone());
            read.push(e.clone());
            if stop(&e) {
                return read;
            }
        }
    }

    /// Events until the named service's change ends (done or failed).
    fn outcome(&mut self, service: &str) -> (Value, Vec<Value>) {
        let read = self.until(|e| {
            e["service"] == service
                && matches!(e["event"].as_str(), Some("watch.done" | "watch.failed"))
        });
        (read.last().cloned().unwrap(), read)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root.join(rel), text).unwrap();
    }

    fn image(&self, workload: &str) -> String {
        self.api.get("deployments", Some("todo"), workload).unwrap()["spec"]["template"]["spec"]
            ["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Pods of `workload` running `image` that are Ready.
    fn ready_pods(&self, workload: &str, image: &str) -> usize {
        self.api
            .list("pods", Some("todo"))
            .iter()
            .filter(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == workload)
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| p["spec"]["containers"][0]["image"] == image)
            .filter(|p| {
                p["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            })
            .count()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn changes_of(events: &[Value], service: &str) -> usize {
    events
        .iter()
        .filter(|e| e["event"] == "watch.change" && e["service"] == service)
        .count()
}

#[test]
fn a_save_rebuilds_and_rolls_only_its_service_and_a_revert_builds_nothing() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start(&root, &host, &certs);
    let backend_v1 = w.image("backend");
    let frontend_v1 = w.image("frontend");
    let frontend_sets = w.api.replicaset_count("todo", "frontend");

    let first = std::fs::read_to_string(root.join("backend/main.txt")).unwrap();
    w.write("backend/main.txt", &format!("backend v2 {}\n", nonce()));
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    let backend_v2 = done["image"].as_str().unwrap().to_string();
    eprintln!(
        "save -> running (build + roll on the fake cluster): {} s",
        done["seconds"]
    );
    assert_ne!(backend_v2, backend_v1);
    assert!(
        read.iter()
            .any(|e| e["event"] == "watch.built" && e["result"] == "built"),
        "{read:#?}"
    );
    assert_eq!(
        w.image("backend"),
        backend_v2,
        "the cluster runs the new image"
    );
    assert!(w.ready_pods("backend", &backend_v2) >= 1);
    assert_eq!(
        changes_of(&read, "frontend"),
        0,
        "a backend save is no frontend change"
    );
    assert_eq!(w.image("frontend"), frontend_v1);
    assert_eq!(
        w.api.replicaset_count("todo", "frontend"),
        frontend_sets,
        "the frontend did not roll"
    );

    // Back to the first content: its image is in the daemon already.
    w.write("backend/main.txt", &first);
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(done["image"], backend_v1.as_str());
    eprintln!("revert -> running (no build): {} s", done["seconds"]);
    assert!(
        read.iter()
            .any(|e| e["event"] == "watch.built" && e["result"] == "unchanged"),
        "{read:#?}"
    );
    assert_eq!(w.image("backend"), backend_v1);
}

#[test]
fn a_failed_build_or_rollout_leaves_the_old_pods_serving_and_the_watcher_alive() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start(&root, &host, &certs);
    let serving = w.image("backend");
    let pods = w.ready_pods("backend", &serving);
    assert!(pods >= 1);

    // A build that fails: reported with its log, nothing applied.
    w.write(
        "backend/Dockerfile",
        "FROM scratch\nCOPY no-such-file /app\n",
    );
    let (failed, read) = w.outcome("backend");
    assert_eq!(failed["event"], "watch.failed", "{read:#?}");
    assert_eq!(failed["stage"], "build");
    assert!(
        failed["message"].as_str().unwrap().contains("no-such-file"),
        "{failed}"
    );
    assert_eq!(w.image("backend"), serving);
    assert_eq!(w.ready_pods("backend", &serving), pods);

    // Fixed, but the new pods crash: the rollout fails with the diagnosis.
    w.api.set_behavior(
        "backend",
        Behavior::CrashLoop {
            exit_code: 3,
            reason: "Error".into(),
            logs: "ModuleNotFoundError: No module named 'app'\n".into(),
        },
    );
    w.write("backend/Dockerfile", "FROM scratch\nCOPY . /app\n");
    w.write("backend/main.txt", &format!("backend broken {}\n", nonce()));
    let (failed, read) = w.outcome("backend");
    assert_eq!(failed["event"], "watch.failed", "{read:#?}");
    assert_eq!(failed["stage"], "rollout");
    assert!(
        read.iter()
            .any(|e| e["event"] == "diagnosis" && e["reason"] == "CrashLoopBackOff"),
        "{read:#?}"
    );
    assert!(
        w.ready_pods("backend", &serving) >= 1,
        "the old pods still serve"
    );

    // The watcher is alive: the next save rolls out.
    w.api.set_behavior("backend", Behavior::Ready);
    w.write("backend/main.txt", &format!("backend fixed {}\n", nonce()));
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(w.image("backend"), done["image"].as_str().unwrap());
}

#[test]
fn a_lost_cluster_is_retried_and_ctrl_c_stops_the_loop() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start(&root, &host, &certs);
    // The API server fails every write of the backend until it is "back".
    let path = "/apis/apps/v1/namespaces/todo/deployments/backend";
    // 500: kube's client retries 503 by itself, so the loop would not see it.
    w.api.fail_requests("PATCH", path, 500);
    w.write("backend/main.txt", &format!("backend v2 {}\n", nonce()));
    let read = w.until(|e| e["event"] == "watch.retry" && e["service"] == "backend");
    assert!(
        read.iter()
            .any(|e| e["event"] == "watch.lost" && e["stage"] == "rollout"),
        "{read:#?}"
    );
    w.api.clear_failures();
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(w.image("backend"), done["image"].as_str().unwrap());

    // Ctrl-C: the loop ends, cleanly and at once (bounded loosely: not a measurement).
    let pid = w.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = w.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "watch did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}
