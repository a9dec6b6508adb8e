//! Shared fixtures for the integration tests: running the built binary in a
//! controlled environment, a PATH without chosen tools, the fake minikube.
#![allow(dead_code)]

pub mod apiserver;
pub mod watching;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory holding the fake `minikube` (and any other fake tools).
pub fn fake_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/bin")
}

/// A temporary project with the reference app's folders.
pub fn reference_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("frontend/src")).unwrap();
    std::fs::create_dir_all(dir.path().join("backend/app")).unwrap();
    dir
}

/// The reference layout (frontend with a package.json, backend with a
/// requirements.txt) under a directory named `todo-app`, the instance label.
pub fn todo_app() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("todo-app");
    for d in ["frontend", "backend"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("frontend/package.json"), "{}").unwrap();
    std::fs::write(root.join("backend/requirements.txt"), "fastapi\n").unwrap();
    (dir, root)
}

/// The reference layout in a directory named `todo-app`, with Dockerfiles
/// that build in a blink (FROM scratch), for `deploy` and `up`.
pub fn quick_app() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("todo-app");
    for d in ["frontend", "backend"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        std::fs::write(
            root.join(d).join("Dockerfile"),
            "FROM scratch\nCOPY . /app\n",
        )
        .unwrap();
        std::fs::write(root.join(d).join("main.txt"), d).unwrap();
    }
    (dir, root)
}

/// Copies a directory tree (fixture apps into a temp project).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// `docker ARGS` against `host`.
pub fn docker(host: &str, args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", host)
        .output()
        .unwrap()
}

/// `docker ARGS` against the TLS daemon at `host` with the client certs in `certs`.
pub fn tls_docker(host: &str, certs: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("docker");
    cmd.args(args)
        .env("DOCKER_HOST", host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", certs);
    cmd
}

/// A test environment: its own HOME (so no real kubeconfig or minikube
/// state leaks in), PATH made of the real one minus `hidden` tools, plus the
/// fake minikube unless hidden.
pub struct Sandbox {
    pub home: tempfile::TempDir,
    pub bin: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(hidden: &[&str]) -> Sandbox {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let hidden: HashSet<&str> = hidden.iter().copied().collect();
        let mut dirs = vec![fake_bin()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(n) = name.to_str() else { continue };
                let link = bin.path().join(n);
                if hidden.contains(n) || link.symlink_metadata().is_ok() {
                    continue;
                }
                let _ = std::os::unix::fs::symlink(e.path(), link);
            }
        }
        Sandbox { home, bin }
    }

    /// `todo-dev ARGS` in `dir`, with Docker pointed nowhere unless the test says.
    /// `todo-dev init` into `<tmp>/todo-app`: the reference app.
    pub fn init_app(&self, tmp: &Path) -> PathBuf {
        let out = self.todo_dev(tmp, &["init", "todo-app"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        tmp.join("todo-app")
    }

    pub fn todo_dev(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_todo-dev"));
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", self.bin.path())
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env(
                "FAKE_MINIKUBE_HOME",
                self.home.path().join(".fake-minikube"),
            );
        cmd
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

/// The check with this id from a doctor report.
pub fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

/// A Docker daemon address for tests that need one. Under scripts/test.sh
/// (TODO_DEV_REQUIRE_DOCKER=1) a missing daemon fails the test; in a bare
/// `cargo test` it is reported as skipped.
pub fn docker_host_or_skip(test: &str) -> Option<String> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let reachable = match host.strip_prefix("unix://") {
        Some(sock) => std::os::unix::net::UnixStream::connect(sock).is_ok(),
        None => true,
    };
    if reachable {
        return Some(host);
    }
    if std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_some() {
        panic!("{test}: no Docker daemon at {host}, and TODO_DEV_REQUIRE_DOCKER is set");
    }
    eprintln!("SKIPPED {test}: no Docker daemon at {host} (run scripts/test.sh to start one)");
    None
}

/// The TLS daemon scripts/test.sh starts: (DOCKER_HOST, DOCKER_CERT_PATH).
pub fn tls_docker_or_skip(test: &str) -> Option<(String, String)> {
    match (
        std::env::var("TODO_DEV_TEST_TLS_DOCKER_HOST"),
        std::env::var("TODO_DEV_TEST_TLS_CERT_PATH"),
    ) {
        (Ok(h), Ok(c)) => Some((h, c)),
        _ if std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_some() => {
            panic!("{test}: TODO_DEV_TEST_TLS_DOCKER_HOST/CERT_PATH unset under scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED {test}: no TLS Docker daemon (run scripts/test.sh to start one)");
            None
        }
    }
}

/// The JSON lines a child writes on stdout, as they come (a line that is not
/// JSON fails the reading thread loudly).
pub fn json_lines(
    stdout: std::process::ChildStdout,
) -> std::sync::mpsc::Receiver<serde_json::Value> {
    let stamped = stamped_json_lines(stdout);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (_, v) in stamped {
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    rx
}

/// As `json_lines`, each with the time it was read (what a benchmark
/// counts a terminal's latency to).
pub fn stamped_json_lines(
    stdout: std::process::ChildStdout,
) -> std::sync::mpsc::Receiver<(std::time::SystemTime, serde_json::Value)> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let at = std::time::SystemTime::now();
            let v: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            if tx.send((at, v)).is_err() {
                break;
            }
        }
    });
    rx
}

/// The local stand-ins scripts/test.sh makes for the templates' base images.
pub struct Bases {
    pub python: String,
    pub nginx: String,
    pub postgres: String,
    pub redis: String,
}

impl Bases {
    /// `--set` arguments pointing every app image's build at the stand-ins
    /// (the same for every test, so each content tag is built once).
    pub fn build_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for service in ["backend", "mcp-server", "ai-agent"] {
            args.push("--set".into());
            args.push(format!(
                "services.{service}.buildArgs.PYTHON_IMAGE={}",
                self.python
            ));
        }
        args.push("--set".into());
        args.push(format!(
            "services.frontend.buildArgs.NGINX_IMAGE={}",
            self.nginx
        ));
        args
    }
}

pub fn bases_or_skip(test: &str) -> Option<Bases> {
    let get = |k: &str| std::env::var(k).ok();
    match (
        get("TODO_DEV_TEST_PYTHON_IMAGE"),
        get("TODO_DEV_TEST_NGINX_IMAGE"),
        get("TODO_DEV_TEST_POSTGRES_IMAGE"),
        get("TODO_DEV_TEST_REDIS_IMAGE"),
    ) {
        (Some(python), Some(nginx), Some(postgres), Some(redis)) => Some(Bases {
            python,
            nginx,
            postgres,
            redis,
        }),
        _ if std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_some() => {
            panic!("{test}: TODO_DEV_TEST_*_IMAGE unset under scripts/test.sh (see its base-images step)")
        }
        _ => {
            eprintln!("SKIPPED {test}: no local base images (run scripts/test.sh)");
            None
        }
    }
}
