//! `todo-dev watch` (not a dry run) as a user runs it, for the tests that
//! drive it: the fake minikube hands out the real dockerd (over TLS) as the
//! node's daemon, the fake API server plays the cluster, and the loop's
//! `--json` events are read as they come.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::apiserver::{Behavior, FakeApiServer};
use super::Sandbox;

/// How long to wait for an event before the test fails (not a measurement).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// The quick app (frontend and backend that build in a blink), with
/// content of this run only: the shared daemon keeps earlier runs' tags.
pub fn app() -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = super::quick_app();
    for d in ["frontend", "backend"] {
        std::fs::write(root.join(d).join("main.txt"), format!("{d} v1\n")).unwrap();
        std::fs::write(root.join(d).join("run.txt"), nonce()).unwrap();
    }
    (dir, root)
}

pub struct Loop {
    pub api: FakeApiServer,
    pub child: Child,
    /// Each event with when it was read.
    pub lines: mpsc::Receiver<(std::time::SystemTime, Value)>,
    pub seen: Vec<Value>,
    pub root: PathBuf,
    pub sandbox: Sandbox,
    /// What points a todo-dev at this fake cluster (kubeconfig, minikube's fakes).
    cluster: Vec<(String, String)>,
}

impl Loop {
    pub fn start(root: &Path, host: &str, certs: &str) -> Loop {
        Loop::start_with(root, host, certs, &[], &[])
    }

    /// As `start`, with more arguments to `watch` and more environment.
    pub fn start_with(
        root: &Path,
        host: &str,
        certs: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Loop {
        let mut args = vec![
            "watch",
            "--json",
            "--timeout",
            "60",
            "--set",
            "watch.debounce=300ms",
        ];
        args.extend(extra);
        Loop::run(root, host, certs, &args, env, "watch.ready")
    }

    /// `todo-dev ARGS` against a fresh fake cluster, until the event `ready`.
    pub fn run(
        root: &Path,
        host: &str,
        certs: &str,
        args: &[&str],
        env: &[(&str, &str)],
        ready: &str,
    ) -> Loop {
        let api = FakeApiServer::start();
        let sandbox = Sandbox::new(&[]);
        let kubeconfig = api.write_kubeconfig(sandbox.home.path(), "minikube");
        let cluster = vec![
            ("KUBECONFIG".to_string(), kubeconfig.display().to_string()),
            ("FAKE_MINIKUBE_STATE".into(), "running".into()),
            ("FAKE_MINIKUBE_DOCKER_HOST".into(), host.into()),
            ("FAKE_MINIKUBE_CERT_PATH".into(), certs.into()),
        ];
        let mut cmd = sandbox.todo_dev(root, args);
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .envs(cluster.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let rx = super::stamped_json_lines(child.stdout.take().unwrap());
        let mut run = Loop {
            api,
            child,
            lines: rx,
            seen: Vec::new(),
            root: root.to_path_buf(),
            sandbox,
            cluster,
        };
        run.until(|e| e["event"] == ready);
        run
    }

    /// Another todo-dev command on the same project and fake cluster.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.sandbox.todo_dev(&self.root, args);
        cmd.envs(self.cluster.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Reads events until `stop` matches one; returns the events read.
    pub fn until(&mut self, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut read = Vec::new();
        loop {
            let e = self
                .lines
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("no event in {PATIENCE:?}; so far: {:#?}", self.seen))
                .1;
            self.seen.push(e.clone());
            read.push(e.clone());
            if stop(&e) {
                return read;
            }
        }
    }

    /// Events until the named service's change ends (done or failed).
    pub fn outcome(&mut self, service: &str) -> (Value, Vec<Value>) {
        let read = self.until(|e| {
            e["service"] == service
                && matches!(e["event"].as_str(), Some("watch.done" | "watch.failed"))
        });
        (read.last().cloned().unwrap(), read)
    }

    /// Makes the fake report `id` (`docker://...`, `containerd://...`) as the
    /// container of `workload`'s pods, and waits until it does.
    pub fn report_container(&self, workload: &str, id: &str) {
        self.api.set_container_id(workload, id);
        let deadline = std::time::Instant::now() + PATIENCE;
        while !self.api.list("pods", Some("todo")).iter().any(|p| {
            p["metadata"]["labels"]["app.kubernetes.io/name"] == workload
                && p["status"]["containerStatuses"][0]["containerID"] == id
        }) {
            assert!(
                std::time::Instant::now() < deadline,
                "the fake never reported {id}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The workload's new pods crash at start (exit 3, a Python import
    /// error in their log), as a broken build's would.
    pub fn crash_loop(&self, workload: &str) {
        self.api.set_behavior(
            workload,
            Behavior::CrashLoop {
                exit_code: 3,
                reason: "Error".into(),
                logs: "ModuleNotFoundError: No module named 'app'\n".into(),
            },
        );
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root.join(rel), text).unwrap();
    }

    pub fn image(&self, workload: &str) -> String {
        self.api.get("deployments", Some("todo"), workload).unwrap()["spec"]["template"]["spec"]
            ["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Pods of `workload` running `image` that are Ready.
    pub fn ready_pods(&self, workload: &str, image: &str) -> usize {
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

/// Content no earlier run built: the daemon keeps images between runs.
pub fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", std::process::id(), t.as_nanos())
}
