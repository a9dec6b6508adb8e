//! The whole job against a REAL Minikube, opt in (it is `#[ignore]`d, so a
//! plain `cargo test` reports it as ignored, never as passed):
//!
//!   TODO_DEV_E2E_MINIKUBE=1 cargo test --test e2e_minikube -- --ignored --nocapture
//!
//! Needs minikube, Docker and network access to the images' registries.
//! On the reference app that `todo-dev init` writes, as a new user would:
//! `doctor`; `init`; `up` with a cluster todo-dev creates (profile
//! `todo-dev-e2e`, deleted first if it exists, so todo-dev makes it with the
//! Docker runtime); the address `up` printed answering; `watch`: a backend
//! edit synced and served, a frontend edit rebuilt and rolled; `logs`;
//! `down --purge`; a second `up` on the existing cluster; and at the end
//! `down --purge --delete-cluster --yes`. On failure it prints what kubectl
//! sees. `.github/workflows/e2e.yml` runs it on a hosted runner.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const PROFILE: &str = "todo-dev-e2e";

#[test]
#[ignore = "needs a real Minikube: TODO_DEV_E2E_MINIKUBE=1 cargo test --test e2e_minikube -- --ignored"]
fn the_reference_app_on_a_real_minikube() {
    if std::env::var_os("TODO_DEV_E2E_MINIKUBE").is_none() {
        panic!("run with TODO_DEV_E2E_MINIKUBE=1 on a machine with Minikube and Docker: it creates and deletes the Minikube profile `{PROFILE}`");
    }
    let _diagnostics = Diagnostics;
    // todo-dev must create the cluster itself.
    let _ = Command::new("minikube")
        .args(["delete", "-p", PROFILE])
        .output();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("todo");
    let e2e = E2e { root: root.clone() };

    step("doctor", || {
        let out = e2e.run_in(dir.path(), &["doctor", "--json"]);
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}): {}", show(&out)));
        let daemon = report["checks"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["id"] == "docker.daemon"))
            .unwrap_or_else(|| panic!("no docker.daemon check: {report:#}"));
        assert_eq!(daemon["status"], "ok", "{daemon:#}");
    });
    step("init", || {
        let out = e2e.run_in(dir.path(), &["init", root.to_str().unwrap()]);
        assert!(out.status.success(), "{}", show(&out));
        let config = root.join("todo-dev.yaml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        assert!(
            !text.contains("\ncluster:"),
            "the app names no cluster: {text}"
        );
        text.push_str(&format!("cluster:\n  name: {PROFILE}\n"));
        std::fs::write(&config, text).unwrap();
    });
    let first_up = step("up (todo-dev creates the cluster)", || {
        let out = e2e.todo_dev(&["up", "--json", "--timeout", "900"]);
        assert!(out.status.success(), "{}", show(&out));
        events(&out)
    });
    step("the cluster has the Docker runtime", || {
        let out = Command::new("minikube")
            .args(["profile", "list", "-o", "json"])
            .output()
            .unwrap();
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        let profile = list["valid"]
            .as_array()
            .and_then(|v| v.iter().find(|p| p["Name"] == PROFILE))
            .unwrap_or_else(|| panic!("no profile {PROFILE}: {list:#}"));
        assert_eq!(
            profile["Config"]["KubernetesConfig"]["ContainerRuntime"], "docker",
            "{profile:#}"
        );
    });
    step("the address `up` printed answers", || {
        let done = first_up
            .iter()
            .find(|e| e["event"] == "deploy.done")
            .unwrap_or_else(|| panic!("no deploy.done: {first_up:#?}"));
        let answered = open_urls(done).iter().any(|(url, host)| {
            get_until(url, host.as_deref(), "/", "<", Duration::from_secs(120)).is_some()
        });
        assert!(answered, "none of the printed addresses answered: {done:#}");
    });

    step(
        "watch: a synced backend edit, then a rebuilt frontend edit",
        || {
            let mut watch = Watch::spawn(&e2e, &["watch", "--json"]);
            watch.expect("watch.ready", Duration::from_secs(900), |e| {
                e["event"] == "watch.ready"
            });
            let url = |service: &str| {
                watch
                    .seen_event(|e| e["event"] == "forward.ready" && e["service"] == service)
                    .and_then(|e| e["url"].as_str().map(str::to_string))
            };
            let backend = url("backend").unwrap_or_else(|| "http://127.0.0.1:8000".into());
            let frontend = url("frontend").unwrap_or_else(|| "http://127.0.0.1:8080".into());

            let main = root.join("backend/app/main.py");
            let code = std::fs::read_to_string(&main).unwrap();
            let old = "return {\"status\": \"ok\"}";
            assert!(
                code.contains(old),
                "the health handler moved: update this test"
            );
            std::fs::write(
                &main,
                code.replace(old, "return {\"status\": \"ok\", \"e2e\": \"synced-edit\"}"),
            )
            .unwrap();
            let done = watch.expect("the backend's sync", Duration::from_secs(120), |e| {
                e["event"] == "watch.done" && e["service"] == "backend"
            });
            assert_eq!(done["action"], "sync", "{done}");
            assert!(
                get_until(
                    &backend,
                    None,
                    "/health",
                    "synced-edit",
                    Duration::from_secs(60)
                )
                .is_some(),
                "the synced edit was not served at {backend}/health"
            );

            let index = root.join("frontend/public/index.html");
            let page = std::fs::read_to_string(&index).unwrap();
            std::fs::write(&index, format!("{page}\n<!-- e2e-rebuilt-edit -->\n")).unwrap();
            let done = watch.expect("the frontend's rebuild", Duration::from_secs(600), |e| {
                (e["event"] == "watch.done" || e["event"] == "watch.failed")
                    && e["service"] == "frontend"
            });
            assert_eq!(done["event"], "watch.done", "{done}");
            assert_eq!(done["action"], "rebuild", "{done}");
            assert!(
                get_until(
                    &frontend,
                    None,
                    "/",
                    "e2e-rebuilt-edit",
                    Duration::from_secs(120)
                )
                .is_some(),
                "the rebuilt frontend was not served at {frontend}/"
            );
            assert_eq!(watch.interrupt(), Some(0), "Ctrl-C ends watch with 0");
        },
    );
    step("logs", || {
        let out = e2e.todo_dev(&["logs", "backend", "--tail", "20"]);
        assert!(out.status.success(), "{}", show(&out));
        let text = support::stdout(&out);
        assert!(
            text.lines().any(|l| l.starts_with("backend ")),
            "no backend lines: {}",
            show(&out)
        );
    });
    step("down --purge", || {
        let out = e2e.todo_dev(&["down", "--purge"]);
        assert!(out.status.success(), "{}", show(&out));
    });
    step("up again, on the existing cluster", || {
        let out = e2e.todo_dev(&["up", "--json", "--timeout", "900"]);
        assert!(out.status.success(), "{}", show(&out));
        let ready = events(&out)
            .into_iter()
            .find(|e| e["event"] == "minikube.ready")
            .unwrap_or_else(|| panic!("no minikube.ready: {}", show(&out)));
        assert_eq!(ready["cluster"], PROFILE, "{ready}");
    });
    step("down --purge --delete-cluster", || {
        let out = e2e.todo_dev(&["down", "--purge", "--delete-cluster", "--yes"]);
        assert!(out.status.success(), "{}", show(&out));
    });
}

/// Runs one named step, printing how long it took.
fn step<T>(name: &str, f: impl FnOnce() -> T) -> T {
    eprintln!("e2e: {name} ...");
    let started = Instant::now();
    let value = f();
    eprintln!(
        "e2e: {name}: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    value
}

struct E2e {
    root: PathBuf,
}

impl E2e {
    fn todo_dev(&self, args: &[&str]) -> Output {
        self.run_in(&self.root, args)
    }

    fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_todo-dev"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap_or_else(|e| panic!("todo-dev {args:?}: {e}"))
    }
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        support::stdout(out),
        support::stderr(out)
    )
}

fn events(out: &Output) -> Vec<Value> {
    support::stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The `open` entries of `deploy.done` as (url, Host header): a plain URL;
/// a host that needs /etc/hosts, reached at the node's IP with that Host;
/// a `minikube service ... --url` command, run to get its URL.
fn open_urls(done: &Value) -> Vec<(String, Option<String>)> {
    let mut urls = Vec::new();
    for entry in done["open"].as_array().into_iter().flatten() {
        let url = entry["url"].as_str().unwrap_or_default();
        let note = entry["note"].as_str().unwrap_or_default();
        if url.starts_with("minikube ") {
            let words: Vec<&str> = url.split_whitespace().collect();
            if let Ok(out) = Command::new(words[0]).args(&words[1..]).output() {
                if let Some(u) = support::stdout(&out)
                    .lines()
                    .find(|l| l.starts_with("http"))
                {
                    urls.push((u.trim().to_string(), None));
                }
            }
        } else if let Some(host) = url
            .strip_prefix("http://")
            .filter(|_| note.contains("/etc/hosts"))
        {
            // "needs `IP HOST` in /etc/hosts": ask the IP with that Host.
            if let Some(ip) = note
                .split('`')
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
            {
                urls.push((
                    format!("http://{ip}"),
                    Some(host.trim_end_matches('/').to_string()),
                ));
            }
        } else if url.starts_with("http://") {
            urls.push((url.to_string(), None));
        }
    }
    urls
}

/// GETs `base` + `path` until the body contains `want` (or `within` passes).
fn get_until(
    base: &str,
    host: Option<&str>,
    path: &str,
    want: &str,
    within: Duration,
) -> Option<String> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Some(body) = http_get(base, host, path) {
            if body.contains(want) {
                return Some(body);
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    None
}

/// A plain HTTP/1.0 GET (no client library for one request a step).
fn http_get(base: &str, host: Option<&str>, path: &str) -> Option<String> {
    let authority = base.strip_prefix("http://")?.trim_end_matches('/');
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let sock = addr.to_socket_addrs().ok()?.next()?;
    let mut conn = TcpStream::connect_timeout(&sock, Duration::from_secs(5)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let host = host.unwrap_or(authority);
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer).ok()?;
    answer.starts_with("HTTP/1.").then_some(answer)
}

/// `todo-dev watch --json` in the background, its events read as they come.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<Value>,
}

impl Watch {
    fn spawn(e2e: &E2e, args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_todo-dev"))
            .args(args)
            .current_dir(&e2e.root)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn seen_event(&self, want: impl Fn(&Value) -> bool) -> Option<Value> {
        self.seen.iter().find(|e| want(e)).cloned()
    }

    fn expect(&mut self, what: &str, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + within;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            eprintln!("watch: {line}");
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                self.seen.push(v.clone());
                if want(&v) {
                    return v;
                }
            }
        }
        let _ = self.child.kill();
        panic!("watch: no {what} within {} s", within.as_secs());
    }

    /// SIGINT, as Ctrl-C sends; the exit code.
    fn interrupt(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// On a failing step: what kubectl and minikube see, for the log.
struct Diagnostics;

impl Drop for Diagnostics {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for args in [
            vec![
                "kubectl",
                "--context",
                PROFILE,
                "get",
                "pods",
                "-A",
                "-o",
                "wide",
            ],
            vec![
                "kubectl",
                "--context",
                PROFILE,
                "describe",
                "pods",
                "-n",
                "todo",
            ],
            vec![
                "kubectl",
                "--context",
                PROFILE,
                "get",
                "events",
                "-n",
                "todo",
            ],
            vec!["minikube", "status", "-p", PROFILE],
        ] {
            if let Ok(out) = Command::new(args[0]).args(&args[1..]).output() {
                eprintln!(
                    "$ {}\n{}{}",
                    args.join(" "),
                    support::stdout(&out),
                    support::stderr(&out)
                );
            }
        }
    }
}
