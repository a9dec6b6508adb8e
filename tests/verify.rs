//! `todo-dev verify` against the reference app on real Docker with real
//! Postgres (`smoke --keep`, profile agents: mcp-server and ai-agent split
//! out): every check passes with its figures; then each failing case fails
//! with its reason: the app down, a tool missing (a stand-in MCP server with
//! four tools), a slow chat and tasks gone (a proxy in front of the real app).

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{bases_or_skip, docker, docker_host_or_skip, stderr, stdout, Sandbox};

const CHECKS: [&str; 6] = [
    "reachable",
    "accounts",
    "tasks",
    "mcp tools",
    "chat",
    "cleanup",
];

/// The kept smoke run, removed by its label when dropped.
struct App {
    host: String,
    run_id: String,
    urls: Vec<(String, String)>,
    secret: String,
}

impl App {
    fn url(&self, service: &str) -> String {
        let (_, u) = self.urls.iter().find(|(s, _)| s == service).unwrap();
        u.clone()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let filter = format!("label=todo-dev.smoke={}", self.run_id);
        let ids = stdout(&docker(&self.host, &["ps", "-aq", "--filter", &filter]));
        let mut args = vec!["rm", "-f"];
        args.extend(ids.split_whitespace());
        docker(&self.host, &args);
        docker(
            &self.host,
            &["network", "rm", &format!("todo-dev-smoke-{}", self.run_id)],
        );
    }
}

fn start_app(sb: &Sandbox, test: &str) -> Option<App> {
    let host = docker_host_or_skip(test)?;
    let b = bases_or_skip(test)?;
    let tmp = tempfile::tempdir().unwrap();
    let root = sb.init_app(tmp.path());
    let mut args: Vec<String> = ["smoke", "--keep", "--json", "--profile", "agents"]
        .map(String::from)
        .into();
    args.extend(["--postgres-image".into(), b.postgres.clone()]);
    args.extend(["--redis-image".into(), b.redis.clone()]);
    args.extend(b.build_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sb
        .todo_dev(&root, &args)
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let done: Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|e: &Value| e["event"] == "smoke.done")
        .unwrap_or_else(|| panic!("{}\n{}", stdout(&out), stderr(&out)));
    let run_id = done["runId"].as_str().unwrap().to_string();
    let urls: Vec<(String, String)> = done["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["service"].as_str().unwrap().into(),
                k["url"].as_str().unwrap().into(),
            )
        })
        .collect();
    let backend = format!("todo-dev-smoke-{run_id}-backend");
    let env = stdout(&docker(
        &host,
        &[
            "inspect",
            "-f",
            "{{range .Config.Env}}{{println .}}{{end}}",
            &backend,
        ],
    ));
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("BETTER_AUTH_SECRET="))
        .unwrap_or_default()
        .to_string();
    let app = App {
        host,
        run_id,
        urls,
        secret,
    };
    assert!(
        out.status.success() && app.urls.len() == 4,
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!app.secret.is_empty());
    Some(app)
}

/// `todo-dev verify --json ARGS`: its exit code, checks by name, all output.
fn verify(sb: &Sandbox, args: &[&str], secret: &str) -> (Option<i32>, Vec<Value>, String) {
    let mut all = vec!["verify", "--json"];
    all.extend(args);
    let dir = tempfile::tempdir().unwrap();
    let out: Output = sb
        .todo_dev(dir.path(), &all)
        .env("BETTER_AUTH_SECRET", secret)
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let checks: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|e| e["event"] == "verify.check")
        .collect();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(names, CHECKS, "{text}");
    (out.status.code(), checks, text)
}

fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks.iter().find(|c| c["check"] == name).unwrap()
}

/// Every check but `failing` passed; `failing` failed, its `seen` containing `why`, with a fix.
fn fails_only(checks: &[Value], failing: &[&str], why: &str, text: &str) {
    for c in checks {
        let name = c["check"].as_str().unwrap();
        assert_eq!(c["ok"], !failing.contains(&name), "{name}: {text}");
    }
    let c = check(checks, failing[0]);
    assert!(c["seen"].as_str().unwrap().contains(why), "{c}");
    assert!(!c["fix"].as_str().unwrap_or("").is_empty(), "{c}");
}

/// What the proxy in front of the app does besides forwarding.
#[derive(Clone, Copy, PartialEq)]
enum Twist {
    None,
    SlowChat,
    TasksGone,
    /// A task list holding verify's marker answered empty: the data lost.
    MarkerGone,
}

/// A proxy to `upstream` (one request a connection, as HTTP/1.0): its URL and
/// every request and answer it carried, to look for secrets in the output.
fn proxy(upstream: &str, twist: Twist) -> (String, Arc<Mutex<Vec<String>>>) {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let (upstream, log) = (upstream.clone(), log.clone());
            std::thread::spawn(move || {
                let request = read_request(&mut client);
                let head = String::from_utf8_lossy(&request).into_owned();
                log.lock().unwrap().push(head.clone());
                if twist == Twist::SlowChat && head.starts_with("POST /api/chat ") {
                    std::thread::sleep(Duration::from_millis(5300));
                }
                if twist == Twist::TasksGone && head.starts_with("GET /api/tasks ") {
                    let _ = client
                        .write_all(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[]");
                    return;
                }
                let mut up = TcpStream::connect(&upstream).unwrap();
                up.write_all(&request).unwrap();
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                if twist == Twist::MarkerGone
                    && head.starts_with("GET /api/tasks ")
                    && String::from_utf8_lossy(&answer).contains("verify marker")
                {
                    answer =
                        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[]".to_vec();
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&answer).into_owned());
                let _ = client.write_all(&answer);
            });
        }
    });
    (url, seen)
}

/// One request: the head, then Content-Length bytes of body.
fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    buf.extend(body);
    buf
}

/// An MCP server over streamable HTTP with four of the five tools (no
/// delete_task): answers as `text/event-stream`, gives a session id, and
/// refuses a request without it. Its URL and the requests' heads.
fn mcp_lacking_a_tool() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let log = heads.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let raw = read_request(&mut s);
            let text = String::from_utf8_lossy(&raw).into_owned();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            log.lock().unwrap().push(head.to_string());
            let msg: Value = serde_json::from_str(body).unwrap();
            let has_session = head.to_lowercase().contains("mcp-session-id: s-42\r\n")
                || head.to_lowercase().ends_with("mcp-session-id: s-42");
            let answer = match msg["method"].as_str().unwrap() {
                "initialize" => Some(serde_json::json!({"protocolVersion": "2025-06-18",
                    "capabilities": {"tools": {}}, "serverInfo": {"name": "four-tools", "version": "0"}})),
                _ if !has_session => {
                    let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nno session id");
                    continue;
                }
                "notifications/initialized" => None,
                "tools/list" => {
                    let tools = ["add_task", "list_tasks", "complete_task", "update_task"]
                        .map(|n| serde_json::json!({"name": n, "inputSchema": {"type": "object"}}));
                    Some(serde_json::json!({ "tools": tools }))
                }
                other => panic!("unexpected {other}"),
            };
            let reply = match answer {
                None => "HTTP/1.0 202 Accepted\r\n\r\n".to_string(),
                Some(result) => format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: s-42\r\n\r\nevent: message\r\ndata: {}\r\n\r\n",
                    serde_json::json!({"jsonrpc": "2.0", "id": msg["id"], "result": result})
                ),
            };
            let _ = s.write_all(reply.as_bytes());
        }
    });
    (url, heads)
}

#[test]
fn verify_passes_on_the_reference_app_and_fails_each_case_with_its_reason() {
    let test = "verify_passes_on_the_reference_app_and_fails_each_case_with_its_reason";
    let sb = Sandbox::new(&[]);
    let started = Instant::now();
    let Some(app) = start_app(&sb, test) else {
        return;
    };
    let (front, back, mcp) = (
        app.url("frontend"),
        app.url("backend"),
        format!("{}/mcp", app.url("mcp-server")),
    );

    // All pass, each with its figures; the traffic goes through a plain proxy
    // so the test knows the password and tokens that must not be printed.
    let (via, traffic) = proxy(&front, Twist::None);
    let (code, checks, text) = verify(
        &sb,
        &["--url", &via, "--backend-url", &back, "--mcp-url", &mcp],
        &app.secret,
    );
    assert_eq!(code, Some(0), "{text}");
    for c in &checks {
        assert_eq!(
            (c["ok"].as_bool(), c["seen"].as_str()),
            (Some(true), None),
            "{c}"
        );
        assert!(c["ms"].as_u64().is_some(), "{c}");
    }
    let figure = |name| check(&checks, name)["figure"].as_str().unwrap().to_string();
    assert!(figure("reachable").contains("backend /ready"), "{text}");
    assert!(
        figure("tasks").contains("delete") && figure("tasks").contains("6 requests"),
        "{text}"
    );
    assert!(
        figure("mcp tools").contains("5/5 tools") && figure("mcp tools").contains("5 tools/call"),
        "{text}"
    );
    assert!(
        figure("chat").contains("limit 5000 ms") && figure("chat").contains("add_task"),
        "{text}"
    );
    assert!(figure("cleanup").contains("1 task(s) deleted"), "{text}");
    let traffic = traffic.lock().unwrap().join("\n");
    let password = traffic
        .split("\"password\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the sign-up went through the proxy");
    let tokens: Vec<&str> = traffic
        .split("\"token\":\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .collect();
    assert!(tokens.len() >= 2, "{traffic}");
    for secret in tokens.iter().chain([&password, &app.secret.as_str()]) {
        assert!(!text.contains(secret), "a secret in the output: {text}");
    }
    assert!(!text.contains("eyJ"), "{text}");

    // A tool missing: the app's own URLs, an MCP server with four tools.
    let (four, heads) = mcp_lacking_a_tool();
    let (code, checks, text) = verify(&sb, &["--url", &front, "--mcp-url", &four], &app.secret);
    assert_eq!(code, Some(1), "{text}");
    fails_only(
        &checks,
        &["mcp tools"],
        "tools/list lacks delete_task",
        &text,
    );
    assert!(
        figure_of(&checks, "mcp tools").contains("four-tools")
            && figure_of(&checks, "mcp tools").contains("session id kept"),
        "{text}"
    );
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 3, "{heads:?}");
    for h in heads.iter() {
        assert!(
            h.contains("Accept: application/json, text/event-stream"),
            "{h}"
        );
    }
    assert!(
        heads[2].contains("MCP-Protocol-Version: 2025-06-18"),
        "{}",
        heads[2]
    );
    drop(heads);

    // A slow answer: the chat delayed past 5 s by the proxy.
    let (slow, _) = proxy(&front, Twist::SlowChat);
    let (code, checks, text) = verify(&sb, &["--url", &slow, "--mcp-url", &mcp], &app.secret);
    assert_eq!(code, Some(1), "{text}");
    fails_only(&checks, &["chat"], "over the plans' 5 s", &text);

    // Data gone: the task list comes back empty.
    let (gone, _) = proxy(&front, Twist::TasksGone);
    let (code, checks, text) = verify(&sb, &["--url", &gone, "--mcp-url", &mcp], &app.secret);
    assert_eq!(code, Some(1), "{text}");
    fails_only(
        &checks,
        &["tasks", "mcp tools"],
        "missing from 0 task(s)",
        &text,
    );
    assert!(
        check(&checks, "mcp tools")["seen"]
            .as_str()
            .unwrap()
            .contains("GET /api/tasks lacks task"),
        "{text}"
    );

    // No MCP address or no secret: the check cannot run, and says so.
    let (code, checks, text) = verify(&sb, &["--url", &front], &app.secret);
    assert_eq!(code, Some(1), "{text}");
    fails_only(&checks, &["mcp tools"], "no MCP server address", &text);
    let (code, checks, text) = verify(&sb, &["--url", &front, "--mcp-url", &mcp], "");
    assert_eq!(code, Some(1), "{text}");
    fails_only(&checks, &["mcp tools"], "no auth secret", &text);
    eprintln!("{test}: {:.1}s", started.elapsed().as_secs_f64());
}

fn figure_of(checks: &[Value], name: &str) -> String {
    check(checks, name)["figure"].as_str().unwrap().to_string()
}

#[test]
fn the_app_down_fails_reachable_and_every_later_check_as_not_run() {
    let sb = Sandbox::new(&[]);
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, checks, text) = verify(&sb, &["--url", &url], "");
    assert_eq!(code, Some(1), "{text}");
    let reachable = check(&checks, "reachable");
    assert_eq!(reachable["ok"], false);
    assert!(
        reachable["seen"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{reachable}"
    );
    assert!(
        reachable["fix"]
            .as_str()
            .unwrap()
            .contains("is the app running"),
        "{reachable}"
    );
    for c in &checks[1..] {
        assert_eq!(c["ok"], false, "{c}");
        assert!(
            c["seen"]
                .as_str()
                .unwrap()
                .starts_with("not run: the app is not reachable"),
            "{c}"
        );
    }
}

/// `verify` on the project's cluster (the fake API server, which rolls the
/// workloads out as a real one does; profile full: HPAs, Postgres and Redis
/// claims): the cluster checks against the render (workloads Ready with
/// their pods' time to Ready, HPAs, claims Bound, image sizes as the nodes
/// report them), the printed address, then the app checks through
/// port-forwards that the fake connects to the real app on Docker, with the
/// MCP token made from the cluster's own todo-secrets. Then each cluster
/// check fails with its reason.
#[test]
fn verify_on_the_cluster_checks_the_rollout_then_the_app_through_port_forwards() {
    let test = "verify_on_the_cluster_checks_the_rollout_then_the_app_through_port_forwards";
    let sb = Sandbox::new(&[]);
    let Some(app) = start_app(&sb, test) else {
        return;
    };
    let b = bases_or_skip(test).unwrap();
    let api = support::apiserver::FakeApiServer::start();
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "minikube");
    let tmp = tempfile::tempdir().unwrap();
    let root = sb.init_app(tmp.path());
    // The deployment's signing key is the running app's: the MCP token verify makes must pass.
    std::fs::write(
        root.join(".env"),
        format!("BETTER_AUTH_SECRET={}\n", app.secret),
    )
    .unwrap();
    let mut global: Vec<String> = vec!["--profile".into(), "full".into()];
    global.extend(b.build_args());
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(global.iter().map(String::as_str));
        sb.todo_dev(&root, &all)
            .env("KUBECONFIG", &kubeconfig)
            .env("FAKE_MINIKUBE_STATE", "running")
            .env_remove("BETTER_AUTH_SECRET")
            .output()
            .unwrap()
    };
    let out = run(&["deploy", "--json", "--timeout", "60"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let ns = Some("todo-phaseiv");
    // What the kubelet would report: each app image with its real size.
    let mut sizes = Vec::new();
    for name in ["frontend", "backend", "mcp-server"] {
        let d = api.get("deployments", ns, name).unwrap();
        let image = d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string();
        let size = stdout(&docker(
            &app.host,
            &["image", "inspect", "-f", "{{.Size}}", &image],
        ));
        let size: i64 = size
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{image}: {size}"));
        sizes.push((image, size));
    }
    let node = |sizes: &[(String, i64)]| {
        let images: Vec<Value> = sizes
            .iter()
            .map(|(i, s)| serde_json::json!({"names": [format!("docker.io/library/{i}")], "sizeBytes": s}))
            .collect();
        serde_json::json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "minikube"}, "status": {"images": images}})
    };
    api.insert(node(&sizes));
    for (service, port) in [("frontend", 8080), ("backend", 8000), ("mcp-server", 8001)] {
        let addr = app
            .url(service)
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        api.set_port_target(port, addr);
    }
    let verify_here = |extra: &[&str]| {
        let mut args = vec!["verify", "--json"];
        args.extend(extra);
        let out = run(&args);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        let checks: Vec<Value> = stdout(&out)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["event"] == "verify.check")
            .collect();
        let names: Vec<&str> = checks
            .iter()
            .map(|c| c["check"].as_str().unwrap())
            .collect();
        let mut want = vec![
            "workloads ready",
            "autoscaling",
            "volumes",
            "image sizes",
            "address",
        ];
        want.extend(&CHECKS[..5]);
        if extra.contains(&"--disruptive") {
            want.extend(["backend restart", "data kept"]);
        }
        want.push("cleanup");
        assert_eq!(names, want, "{text}");
        assert!(
            !text.contains(&app.secret),
            "the signing secret was printed"
        );
        (out.status.code(), checks, text)
    };

    let (code, checks, text) = verify_here(&[]);
    // The Ingress's host has no address here: that one check fails, naming it.
    assert_eq!(code, Some(1), "{text}");
    fails_only(&checks, &["address"], "todo-app.local", &text);
    let figure = |name| figure_of(&checks, name);
    assert!(
        figure("workloads ready").starts_with("5 workloads Ready"),
        "{text}"
    );
    assert!(
        figure("workloads ready").contains("after it was created"),
        "{text}"
    );
    assert!(
        figure("autoscaling").starts_with("frontend 2..5 (now ")
            && figure("autoscaling").contains(", backend 2..5 (now "),
        "{text}"
    );
    assert!(
        figure("volumes").contains("postgres-data Bound")
            && figure("volumes").contains("data-redis-0 Bound"),
        "{text}"
    );
    for (name, limit) in [("frontend", 300), ("backend", 500), ("mcp-server", 500)] {
        assert!(
            figure("image sizes").contains(&format!("{name} "))
                && figure("image sizes").contains(&format!("/{limit} MB")),
            "{text}"
        );
    }
    assert!(figure("mcp tools").contains("5/5 tools"), "{text}");

    // --disruptive: a backend pod deleted comes back as a new pod (not Ready
    // at once, as the fake's kubelet), the data stores' pods too (Redis's
    // StatefulSet keeps the name), and the marker task is still listed.
    let backend_pods = || -> Vec<String> {
        api.list("pods", ns)
            .iter()
            .filter(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == "backend")
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let before = backend_pods();
    let (code, checks, text) = verify_here(&["--disruptive"]);
    assert_eq!(code, Some(1), "{text}");
    fails_only(&checks, &["address"], "todo-app.local", &text);
    let restart = figure_of(&checks, "backend restart");
    assert!(
        restart.contains(" deleted, ") && restart.contains(" Ready in "),
        "{text}"
    );
    let kept = figure_of(&checks, "data kept");
    for part in [
        "postgres: ",
        "redis: redis-0 deleted, redis-0 Ready",
        "marker listed again",
    ] {
        assert!(kept.contains(part), "{part}: {text}");
    }
    let after = backend_pods();
    assert_eq!(after.len(), before.len());
    assert_eq!(
        after.iter().filter(|p| !before.contains(p)).count(),
        1,
        "{before:?} {after:?}"
    );

    // The data lost after the restart (the frontend's forward hides the marker): named.
    let (via, _) = proxy(&app.url("frontend"), Twist::MarkerGone);
    api.set_port_target(8080, via.trim_start_matches("http://").parse().unwrap());
    let (code, checks, text) = verify_here(&["--disruptive"]);
    assert_eq!(code, Some(1), "{text}");
    fails_only(&checks, &["address", "data kept"], "todo-app.local", &text);
    assert!(
        check(&checks, "data kept")["seen"]
            .as_str()
            .unwrap()
            .contains("is gone after the restart"),
        "{text}"
    );
    let front = app.url("frontend");
    api.set_port_target(8080, front.trim_start_matches("http://").parse().unwrap());

    // Each cluster check fails with its reason: a workload gone, an HPA
    // gone, a claim gone, an image over its limit.
    api.remove("deployments", ns, "mcp-server");
    api.remove("horizontalpodautoscalers", ns, "backend");
    api.remove("persistentvolumeclaims", ns, "postgres-data");
    let big: Vec<(String, i64)> = sizes
        .iter()
        .map(|(i, s)| {
            (
                i.clone(),
                if i.contains("backend") {
                    600_000_000
                } else {
                    *s
                },
            )
        })
        .collect();
    api.insert(node(&big));
    let (code, checks, text) = verify_here(&[]);
    assert_eq!(code, Some(1), "{text}");
    for (name, why) in [
        ("workloads ready", "Deployment mcp-server is missing"),
        ("autoscaling", "HorizontalPodAutoscaler backend is missing"),
        ("volumes", "PersistentVolumeClaim postgres-data is missing"),
        ("image sizes", "is 600 MB, over 500 MB"),
    ] {
        let c = check(&checks, name);
        assert_eq!(c["ok"], false, "{name}: {text}");
        assert!(c["seen"].as_str().unwrap().contains(why), "{name}: {c}");
        assert!(!c["fix"].as_str().unwrap_or("").is_empty(), "{c}");
    }
    let fix = |checks: &[Value]| {
        check(checks, "image sizes")["fix"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(fix(&checks).contains("smaller base"), "{text}");
    // No node reports the images: the nodes' to say, not the image's to shrink.
    api.insert(node(&Vec::new()));
    let (code, checks, text) = verify_here(&[]);
    assert_eq!(code, Some(1), "{text}");
    let seen = check(&checks, "image sizes")["seen"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(seen.contains("no node reports"), "{seen}");
    assert!(
        fix(&checks).contains("status.images") && !fix(&checks).contains("smaller base"),
        "{text}"
    );
}
