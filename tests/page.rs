//! The status page of `todo-dev watch`, in a real headless Chromium
//! (tests/page/page.test.mjs, playwright-core driving Debian's chromium)
//! against the loop as a user runs it (support::watching: the fake
//! minikube, the real dockerd over TLS, the fake API server).

mod support;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use support::watching::{app, Loop};

/// playwright-core's node_modules and the browser, or why the test cannot run.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    let modules = std::env::var_os("TODO_DEV_TEST_PLAYWRIGHT").map(PathBuf::from);
    match modules {
        Some(m)
            if m.join("playwright-core").is_dir() && Path::new("/usr/bin/chromium").exists() =>
        {
            Some(m)
        }
        _ if std::env::var_os("TODO_DEV_REQUIRE_BROWSER").is_some() => {
            panic!("{test}: no playwright-core (TODO_DEV_TEST_PLAYWRIGHT) or /usr/bin/chromium under scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED {test}: no headless Chromium (run scripts/test.sh)");
            None
        }
    }
}

/// Runs the browser script's `phase`; its output is the failure message.
fn browse(modules: &Path, url: &str, root: &Path, phase: &str, screenshot: Option<&Path>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/page/page.test.mjs");
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .env("NODE_PATH", modules)
        .env("PAGE_URL", url)
        .env("ROOT", root)
        .env("PHASE", phase);
    if let Some(s) = screenshot {
        cmd.env("SCREENSHOT", s);
    }
    let out = cmd.output().expect("node runs");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the page test ({phase}) failed:\n{text}"
    );
}

fn page_url(w: &Loop) -> String {
    let serving = w
        .seen
        .iter()
        .find(|e| e["event"] == "page.serving")
        .unwrap_or_else(|| panic!("watch said no page.serving: {:#?}", w.seen));
    serving["url"].as_str().unwrap().to_string()
}

fn saw(events: &[Value], event: &str, service: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["event"] == event && e["service"] == service)
        .cloned()
        .collect()
}

/// The page's restart reached the backend: `watch.restart` among `read`,
/// and the Deployment's pod template has its `restartedAt` (RFC 3339).
fn assert_restarted(w: &Loop, read: &[Value]) {
    assert!(
        !saw(read, "watch.restart", "backend").is_empty(),
        "{read:#?}"
    );
    let deployment = w.api.get("deployments", Some("todo"), "backend").unwrap();
    let at = &deployment["spec"]["template"]["metadata"]["annotations"]
        ["kubectl.kubernetes.io/restartedAt"];
    assert!(
        at.as_str()
            .is_some_and(|t| t.starts_with("20") && t.ends_with('Z')),
        "{deployment:#}"
    );
}

#[test]
fn the_status_page_follows_the_loop_live_and_its_buttons_act() {
    let Some((host, certs)) = support::tls_docker_or_skip("page") else {
        return;
    };
    let Some(modules) = browser_or_skip("page") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start_with(&root, &host, &certs, &["--ui-port", "0"], &[]);
    let url = page_url(&w);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
        "{url}"
    );
    let restarted_before = w.api.list("pods", Some("todo"));

    browse(&modules, &url, &root, "live", None);

    // What the page showed is what the loop did: the save, the forced
    // rebuild of the frontend, the restart of the backend.
    let read = w.until(|e| {
        e["event"] == "watch.done"
            && e["service"] == "backend"
            && e["paths"] == Value::Array(vec![])
    });
    let built = saw(&read, "watch.built", "frontend");
    assert!(
        built.iter().any(|e| e["result"] == "built"),
        "the rebuild button built the frontend again: {read:#?}"
    );
    assert_restarted(&w, &read);
    // New pods, with new names, replaced the ones before the restart.
    let names = |pods: &[Value]| -> Vec<String> {
        pods.iter()
            .filter(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == "backend")
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let now = names(&w.api.list("pods", Some("todo")));
    assert!(!now.is_empty());
    assert!(
        now.iter().all(|n| !names(&restarted_before).contains(n)),
        "{now:?} vs {:?}",
        names(&restarted_before)
    );
    assert!(w.ready_pods("backend", &w.image("backend")) >= 1);

    // A container printing the cluster's own secret: masked before the page.
    let secret = w.api.get("secrets", Some("todo"), "todo-secrets").unwrap();
    let key = secret["data"]["BETTER_AUTH_SECRET"].as_str().unwrap();
    let key = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, key).unwrap(),
    )
    .unwrap();
    assert!(key.len() >= 32, "a generated signing key");
    w.api.append_log(
        &ready_pod(&w, "backend"),
        &format!("leaked BETTER_AUTH_SECRET={key}"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, state) = request(&url, "GET", "/state");
        assert!(!state.contains(&key), "the secret reached the page");
        if state.contains("leaked BETTER_AUTH_SECRET=<redacted>") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the line never reached the page: {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // `verify` in another terminal: its result reaches the open page.
    let out = w.command(&["verify", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the quick app is no Todo app");
    let kept: Value = serde_json::from_slice(
        &std::fs::read(root.join(".todo-dev/verify-last.json")).expect("verify kept its result"),
    )
    .unwrap();
    assert!(
        kept["checks"].as_array().is_some_and(|c| c.len() > 5),
        "{kept:#}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state: Value = serde_json::from_str(&request(&url, "GET", "/state").1).unwrap();
        if state["app"]["verify"]["at"] == kept["at"] {
            assert_eq!(state["app"]["verify"]["checks"], kept["checks"]);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed it: {:#}",
            state["app"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A crash-looping rollout: the failure and its diagnosis on the page.
    w.crash_loop("backend");
    w.write("backend/main.txt", "backend broken\n");
    let (failed, read) = w.outcome("backend");
    assert_eq!(failed["event"], "watch.failed", "{read:#?}");
    let shot =
        std::env::var_os("TODO_DEV_TEST_STATE").map(|s| PathBuf::from(s).join("status-page.png"));
    browse(&modules, &url, &root, "failure", shot.as_deref());
}

/// One message of the page's event stream: when it was read, its name, its JSON.
type Sse = (SystemTime, String, Value);

/// Reads the page's `/events` as a page does (a plain HTTP/1.1 client: each
/// SSE message is one chunk; only its `event:` and `data:` lines matter).
fn sse_client(url: &str) -> mpsc::Receiver<Sse> {
    let stream = send(url, "GET", "/events", "Accept: text/event-stream\r\n");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut name = String::new();
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let at = SystemTime::now();
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_string();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let v: Value = serde_json::from_str(data).unwrap();
                if tx.send((at, name.clone(), v)).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

/// The page's address and its token, from the URL `watch` printed.
fn addr_token(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, query) = rest.split_once('/').unwrap();
    (
        addr.to_string(),
        query.rsplit('=').next().unwrap().to_string(),
    )
}

/// A request to the page on a connection of its own, the token in its header.
fn send(url: &str, method: &str, path: &str, headers: &str) -> std::net::TcpStream {
    let (addr, token) = addr_token(url);
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-Todo-Dev-Token: {token}\r\n{headers}\r\n"
    )
    .unwrap();
    stream
}

/// One request (Connection: close, read to the end): the status and the body.
fn request(url: &str, method: &str, path: &str) -> (u16, String) {
    use std::io::Read;
    let headers = "Content-Length: 0\r\nConnection: close\r\n";
    let mut stream = send(url, method, path, headers);
    let mut all = String::new();
    stream.read_to_string(&mut all).unwrap();
    let status = all
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = all.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status, body.unwrap_or_default())
}

fn micros(t: SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1e6
}

/// The `seq=N t=MICROS` a generated log line carries.
fn seq_of(line: &str) -> Option<(usize, f64)> {
    let seq = line.split("seq=").nth(1)?.split(' ').next()?.parse().ok()?;
    let t = line.split(" t=").nth(1)?.split(' ').next()?.parse().ok()?;
    Some((seq, t))
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn figure(name: &str, mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let (p50, p95) = (percentile(&ms, 0.5), percentile(&ms, 0.95));
    println!(
        "{name:<44} n {:>6}  p50 {p50:>7.2} ms  p95 {p95:>7.2} ms  max {:>7.2} ms",
        ms.len(),
        ms.last().copied().unwrap_or(f64::NAN)
    );
    (p50, p95)
}

fn ready_pod(w: &Loop, workload: &str) -> String {
    let image = w.image(workload);
    let pods = w.api.list("pods", Some("todo"));
    pods.iter()
        .filter(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == workload)
        .filter(|p| p["spec"]["containers"][0]["image"] == image.as_str())
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .next()
        .unwrap_or_else(|| panic!("no {workload} pod"))
}

/// bench/page.sh: a long `watch --logs` with chatty logs, the page on and
/// (side by side, the same load) the page off. Event-to-page latency
/// (p50/p95), the same log lines on the page and on the terminal (`--json`
/// stdout) of one process, and both processes' memory over the session.
#[test]
#[ignore = "a benchmark: bench/page.sh runs it"]
fn bench_page() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (seconds, rate) = (env("BENCH_SECONDS", 60), env("BENCH_LINES_PER_SECOND", 200));
    let (host, certs) = support::tls_docker_or_skip("bench_page").expect("a TLS Docker daemon");
    let (_a, root_ui) = app();
    let (_b, root_term) = app();
    let ui = Loop::start_with(&root_ui, &host, &certs, &["--logs", "--ui-port", "0"], &[]);
    let term = Loop::start_with(&root_term, &host, &certs, &["--logs", "--no-ui"], &[]);
    let page = sse_client(&page_url(&ui));
    let pods = [ready_pod(&ui, "backend"), ready_pod(&term, "backend")];
    let pids = [ui.child.id(), term.child.id()];
    // Let the log follows attach before the first line.
    std::thread::sleep(Duration::from_secs(2));
    let rss_start = pids.map(rss_kb);
    let mut rss_max = rss_start;
    let total = (seconds * rate) as usize;
    let started = Instant::now();
    let padding = "x".repeat(120);
    for seq in 0..total {
        let due = started + Duration::from_secs_f64(seq as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let line = format!(
            "INFO seq={seq} t={:.0} GET /api/tasks 200 {padding}",
            micros(SystemTime::now())
        );
        ui.api.append_log(&pods[0], &line);
        term.api.append_log(&pods[1], &line);
        if seq % rate as usize == 0 {
            for (max, pid) in rss_max.iter_mut().zip(pids) {
                *max = (*max).max(rss_kb(pid));
            }
        }
        // A save now and then: row events among the log lines.
        if seq % (rate as usize * 10) == rate as usize * 5 {
            ui.write("frontend/main.txt", &format!("frontend {seq}\n"));
            term.write("frontend/main.txt", &format!("frontend {seq}\n"));
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    let rss_end = pids.map(rss_kb);

    // What each reader got of the generated lines, and when.
    let mut event_to_page = Vec::new();
    let mut page_lines = std::collections::HashMap::new();
    while let Ok((at, name, v)) = page.try_recv() {
        if let Some(sent) = v["at"].as_f64() {
            event_to_page.push(micros(at) / 1e3 - sent);
        }
        if name == "log" {
            if let Some((seq, t)) = seq_of(v["line"]["line"].as_str().unwrap_or("")) {
                page_lines.insert(seq, (micros(at) - t) / 1e3);
            }
        }
    }
    let terminal = |w: &Loop| {
        let mut got = std::collections::HashMap::new();
        while let Ok((at, v)) = w.lines.try_recv() {
            if v["event"] == "log.line" {
                if let Some((seq, t)) = seq_of(v["line"].as_str().unwrap_or("")) {
                    got.insert(seq, (micros(at) - t) / 1e3);
                }
            }
        }
        got
    };
    let (ui_terminal, term_terminal) = (terminal(&ui), terminal(&term));
    let (_, snapshot) = request(&page_url(&ui), "GET", "/state");
    println!("page bench: {seconds} s of chatty logs, {rate} lines/s ({total} lines of ~170 bytes) into the backend, a save every 10 s");
    println!(
        "lines read: page {} / terminal (same process) {} / terminal (no page) {} of {total}",
        page_lines.len(),
        ui_terminal.len(),
        term_terminal.len()
    );
    let (e50, e95) = figure("event -> page (reported -> SSE read)", event_to_page);
    let (p50, p95) = figure("log line -> page", page_lines.values().copied().collect());
    let (t50, t95) = figure(
        "log line -> terminal, same process",
        ui_terminal.values().copied().collect(),
    );
    let (n50, n95) = figure(
        "log line -> terminal, the run without a page",
        term_terminal.values().copied().collect(),
    );
    println!(
        "ratio page / terminal (same process)       p50 {:.2}  p95 {:.2}",
        p50 / t50,
        p95 / t95
    );
    println!(
        "ratio terminal with page / without          p50 {:.2}  p95 {:.2}",
        t50 / n50,
        t95 / n95
    );
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "RSS with the page    start {:.1} MB  max {:.1} MB  end {:.1} MB",
        mb(rss_start[0]),
        mb(rss_max[0].max(rss_end[0])),
        mb(rss_end[0])
    );
    println!(
        "RSS without a page   start {:.1} MB  max {:.1} MB  end {:.1} MB",
        mb(rss_start[1]),
        mb(rss_max[1].max(rss_end[1])),
        mb(rss_end[1])
    );
    println!(
        "ratio RSS end with / without the page {:.2}",
        rss_end[0] as f64 / rss_end[1] as f64
    );
    println!(
        "the page's state at the end: {:.1} kB ({} log lines kept of the backend's {total})",
        snapshot.len() as f64 / 1e3,
        serde_json::from_str::<Value>(&snapshot).unwrap()["logs"]["backend"]
            .as_array()
            .map_or(0, Vec::len)
    );
    println!("event -> page p50 {e50:.2} ms p95 {e95:.2} ms (goal: within 100 ms)");
    assert!(
        page_lines.len() * 100 >= total * 99 && ui_terminal.len() * 100 >= total * 99,
        "lines were lost on the way: the figures above would not be of the whole load"
    );
}

#[test]
fn up_ui_keeps_the_page_after_up_and_its_restart_button_restarts() {
    let Some((host, certs)) = support::tls_docker_or_skip("page") else {
        return;
    };
    let (_d, root) = app();
    let args = ["up", "--json", "--timeout", "60", "--ui", "--ui-port", "0"];
    let mut up = Loop::run(&root, &host, &certs, &args, &[], "deploy.done");
    let url = page_url(&up);
    // The page saw up's builds and rollouts: each service with its image.
    let state: Value = serde_json::from_str(&request(&url, "GET", "/state").1).unwrap();
    let rows = state["rows"].as_array().unwrap();
    for service in ["frontend", "backend"] {
        let row = rows.iter().find(|r| r["name"] == service).unwrap();
        assert_eq!(row["image"], up.image(service).as_str(), "{row:#}");
        assert_eq!(row["build"], "built", "{row:#}");
        assert!(row["tone"] == "good", "{row:#}");
    }
    assert_eq!(request(&url, "POST", "/restart/backend").0, 202);
    let read = up.until(|e| {
        e["service"] == "backend"
            && matches!(e["event"].as_str(), Some("watch.done" | "watch.failed"))
    });
    assert_eq!(read.last().unwrap()["event"], "watch.done", "{read:#?}");
    assert_restarted(&up, &read);
    // Nothing but the page's buttons: no file watcher runs.
    assert!(
        up.seen.iter().all(|e| e["event"] != "watch.ready"),
        "{:#?}",
        up.seen
    );
}
