//! The benchmark bench/sync.sh runs (`cargo test --test sync_bench --
//! --ignored --nocapture`): a minimal FastAPI backend under the dev
//! variant's `uvicorn --reload`, in a container of the real dockerd that the
//! fake API server reports as the backend's pod; `todo-dev watch` against
//! it; BENCH_EDITS edits of a handler synced, then BENCH_REBUILDS of the same
//! edit with sync turned off (each rebuilt image then started the way a new
//! pod would be). Prints save -> file in the container and save -> new
//! response served, p50 and p95. Not a test of timings: it fails only when
//! something does not work.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::apiserver::FakeApiServer;
use support::Sandbox;

/// Longest wait for any one step before the run fails (not a measurement).
const PATIENCE: Duration = Duration::from_secs(300);
const DEBOUNCE_MS: u64 = 100;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Daemon {
    host: String,
    certs: String,
}

impl Daemon {
    fn cmd(&self, args: &[&str]) -> Command {
        support::tls_docker(&self.host, &self.certs, args)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// A container standing in for a pod (removed on drop), and its URL.
struct Pod<'a> {
    daemon: &'a Daemon,
    id: String,
    port: u16,
}

impl<'a> Pod<'a> {
    /// `image` run as the deployment's container would be: its user, its
    /// `command` (the dev variant's reload command) when it has one.
    fn start(daemon: &'a Daemon, image: &str, command: &[String]) -> Pod<'a> {
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--user",
            "10001:10001",
            "-e",
            "PORT=8000",
            "-p",
            "127.0.0.1::8000",
        ]
        .map(String::from)
        .to_vec();
        if let Some((first, rest)) = command.split_first() {
            args.extend(["--entrypoint".into(), first.clone(), image.to_string()]);
            args.extend(rest.iter().cloned());
        } else {
            args.push(image.to_string());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = daemon.run(&refs);
        let mapped = daemon.run(&["port", &id, "8000/tcp"]);
        let port = mapped
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no published port: {mapped}"));
        Pod { daemon, id, port }
    }

    /// The body of GET /edit, if the app answers.
    fn edit(&self) -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /edit HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        text.starts_with("HTTP/1.1 200").then(|| {
            text.split("\r\n\r\n")
                .nth(1)
                .unwrap_or_default()
                .to_string()
        })
    }

    /// Polls GET /edit until it answers `want`; when that happened.
    fn served(&self, want: &str) -> Instant {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.edit().as_deref() == Some(want) {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "never served {want}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        let _ = self.daemon.cmd(&["rm", "-f", &self.id]).output();
    }
}

/// `todo-dev watch --json` on the fake cluster, events on a channel.
struct Watch {
    api: FakeApiServer,
    child: Child,
    events: mpsc::Receiver<(Instant, Value)>,
    _sandbox: Sandbox,
}

impl Watch {
    fn start(root: &Path, daemon: &Daemon, extra: &[&str]) -> Watch {
        let api = FakeApiServer::start();
        let sandbox = Sandbox::new(&[]);
        let kubeconfig = api.write_kubeconfig(sandbox.home.path(), "minikube");
        let debounce = format!("watch.debounce={DEBOUNCE_MS}ms");
        let mut args = vec!["watch", "--json", "--timeout", "300", "--set", &debounce];
        args.extend(extra);
        let mut child = sandbox
            .todo_dev(root, &args)
            .env("KUBECONFIG", &kubeconfig)
            .env("FAKE_MINIKUBE_STATE", "running")
            .env("FAKE_MINIKUBE_DOCKER_HOST", &daemon.host)
            .env("FAKE_MINIKUBE_CERT_PATH", &daemon.certs)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if tx.send((Instant::now(), v)).is_err() {
                    break;
                }
            }
        });
        let w = Watch {
            api,
            child,
            events,
            _sandbox: sandbox,
        };
        w.until(|e| e["event"] == "watch.ready");
        w
    }

    fn until(&self, stop: impl Fn(&Value) -> bool) -> (Instant, Value) {
        loop {
            let (at, e) = self
                .events
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("todo-dev watch said nothing for {PATIENCE:?}"));
            if stop(&e) {
                return (at, e);
            }
        }
    }

    fn done(&self) -> (Instant, Value) {
        let (at, e) = self.until(|e| {
            e["service"] == "backend"
                && matches!(e["event"].as_str(), Some("watch.done" | "watch.failed"))
        });
        assert_eq!(e["event"], "watch.done", "{e}");
        (at, e)
    }

    fn container(&self) -> Value {
        self.api
            .get("deployments", Some("todo"), "backend")
            .unwrap()["spec"]["template"]["spec"]["containers"][0]
            .clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("todo-app");
    let backend = root.join("backend");
    std::fs::create_dir_all(backend.join("app")).unwrap();
    std::fs::create_dir_all(root.join("frontend")).unwrap();
    std::fs::write(
        root.join("frontend/Dockerfile"),
        "FROM scratch\nCOPY . /app\n",
    )
    .unwrap();
    std::fs::write(root.join("frontend/index.txt"), "frontend\n").unwrap();
    // The reference backend's pins, so pip's layer is shared with it.
    std::fs::write(
        backend.join("requirements.txt"),
        "fastapi==0.165.0\nuvicorn==0.54.0\n",
    )
    .unwrap();
    std::fs::write(backend.join("app/__init__.py"), "").unwrap();
    write_handler(&backend, 0);
    // The reference backend's shape: code owned by root, run as 10001, uvicorn via sh -c.
    std::fs::write(
        backend.join("Dockerfile"),
        "ARG PYTHON_IMAGE=python:3.12-slim\nFROM ${PYTHON_IMAGE}\n\
         ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH PORT=8000\n\
         COPY requirements.txt /tmp/requirements.txt\n\
         RUN python3 -m venv /opt/venv && pip install --no-cache-dir -r /tmp/requirements.txt\n\
         COPY app /app/app\nWORKDIR /app\nUSER 10001:10001\nEXPOSE 8000\n\
         CMD [\"sh\", \"-c\", \"exec uvicorn app.main:app --host 0.0.0.0 --port \\\"$PORT\\\"\"]\n",
    )
    .unwrap();
    let python = std::env::var("TODO_DEV_TEST_PYTHON_IMAGE")
        .unwrap_or_else(|_| "todo-dev-test/python:3.11".into());
    // The run's own repositories: bench/sync.sh removes them afterwards.
    let prefix = std::env::var("BENCH_IMAGE_PREFIX")
        .unwrap_or_else(|_| format!("tdbench-sync-{}", std::process::id()));
    std::fs::write(
        root.join("todo-dev.yaml"),
        format!(
            "profile: standard\nservices:\n  frontend:\n    image: {prefix}-frontend\n  backend:\n    \
             image: {prefix}-backend\n    buildArgs: {{PYTHON_IMAGE: \"{python}\"}}\n    \
             sync:\n      - {{src: \"app/**/*.py\", dest: /app/app/}}\n"
        ),
    )
    .unwrap();
    (dir, root)
}

/// The handler the edits change: GET /edit answers the edit's number.
fn write_handler(backend: &Path, n: usize) {
    std::fs::write(
        backend.join("app/main.py"),
        format!(
            "from fastapi import FastAPI\nfrom fastapi.responses import PlainTextResponse\n\n\
             app = FastAPI()\n\n\n@app.get(\"/health\")\ndef health():\n    return {{\"status\": \"ok\"}}\n\n\n\
             @app.get(\"/edit\", response_class=PlainTextResponse)\ndef edit():\n    return \"{n}\"\n"
        ),
    )
    .unwrap();
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

fn line(what: &str, samples: &[f64]) -> String {
    format!(
        "{what} p50 {:.0} ms p95 {:.0} ms",
        percentile(samples, 50.0),
        percentile(samples, 95.0)
    )
}

#[test]
#[ignore = "a benchmark: bench/sync.sh runs it"]
fn bench_sync_against_rebuild() {
    let (Ok(host), Ok(certs)) = (
        std::env::var("TODO_DEV_TEST_TLS_DOCKER_HOST"),
        std::env::var("TODO_DEV_TEST_TLS_CERT_PATH"),
    ) else {
        panic!("needs TODO_DEV_TEST_TLS_DOCKER_HOST/CERT_PATH (bench/sync.sh sets them)");
    };
    let daemon = Daemon { host, certs };
    let (edits, rebuilds) = (count("BENCH_EDITS", 20), count("BENCH_REBUILDS", 5));
    let (_dir, root) = project();
    let backend = root.join("backend");

    eprintln!("[bench] todo-dev watch: up (builds the backend the first time), dev variant");
    let w = Watch::start(&root, &daemon, &[]);
    let container = w.container();
    let command: Vec<String> = serde_json::from_value(container["command"].clone())
        .unwrap_or_else(|_| panic!("the dev variant has no reload command: {container:#}"));
    let image = container["image"].as_str().unwrap().to_string();
    eprintln!("[bench] pod container: {image} {}", command.join(" "));
    let pod = Pod::start(&daemon, &image, &command);
    w.api
        .set_container_id("backend", &format!("docker://{}", pod.id));
    pod.served("0");
    // The fake reports the container once its controller ticks.
    let reported = || {
        w.api.list("pods", Some("todo")).iter().any(|p| {
            p["status"]["containerStatuses"][0]["containerID"]
                == format!("docker://{}", pod.id).as_str()
        })
    };
    while !reported() {
        std::thread::sleep(Duration::from_millis(20));
    }

    let (mut file_ms, mut served_ms, mut decided_ms) = (Vec::new(), Vec::new(), Vec::new());
    for n in 1..=edits {
        let saved = Instant::now();
        write_handler(&backend, n);
        let (decided, change) = w.until(|e| e["event"] == "watch.change");
        assert_eq!(change["action"], "sync", "{change}");
        let (synced, e) = w.done();
        assert_eq!(e["action"], "sync", "{e}");
        decided_ms.push((decided - saved).as_secs_f64() * 1e3);
        let served = pod.served(&n.to_string());
        file_ms.push((synced - saved).as_secs_f64() * 1e3);
        served_ms.push((served - saved).as_secs_f64() * 1e3);
        eprintln!(
            "[bench] sync edit {n:2}: change set {:4.0} ms, file {:5.0} ms, served {:5.0} ms",
            decided_ms[n - 1],
            file_ms[n - 1],
            served_ms[n - 1]
        );
        // Let the reloader settle before the next save.
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(pod);
    drop(w);

    eprintln!("[bench] the same edit without sync: rebuild, roll, a new pod from the image");
    let w = Watch::start(&root, &daemon, &["--set", "services.backend.sync=[]"]);
    let (mut built_ms, mut rebuilt_ms) = (Vec::new(), Vec::new());
    for n in 1..=rebuilds {
        let saved = Instant::now();
        write_handler(&backend, 1000 + n);
        let (rolled, e) = w.done();
        assert_eq!(e["action"], "rebuild", "{e}");
        let container = w.container();
        let command: Vec<String> =
            serde_json::from_value(container["command"].clone()).unwrap_or_default();
        let pod = Pod::start(&daemon, container["image"].as_str().unwrap(), &command);
        let served = pod.served(&(1000 + n).to_string());
        built_ms.push((rolled - saved).as_secs_f64() * 1e3);
        rebuilt_ms.push((served - saved).as_secs_f64() * 1e3);
        eprintln!(
            "[bench] rebuild edit {n}: built and rolled {:6.0} ms, served {:6.0} ms",
            built_ms[n - 1],
            rebuilt_ms[n - 1]
        );
    }
    drop(w);

    // On a line of its own: libtest has printed "test NAME ... " without a newline.
    println!("\ndebounce {DEBOUNCE_MS} ms; {edits} synced edits, {rebuilds} rebuilt");
    println!(
        "rebuild: {}",
        line("save -> image built and rolled", &built_ms)
    );
    println!(
        "rebuild: {}",
        line("save -> new response served", &rebuilt_ms)
    );
    println!("sync: {}", line("save -> change set decided", &decided_ms));
    println!(
        "sync: {} (goal p95 <= {} ms)",
        line("save -> file in the container", &file_ms),
        DEBOUNCE_MS + 100
    );
    println!("sync: save -> new response (goal p95 < 1000 ms)");
    println!("{}", line("served", &served_ms));
}
