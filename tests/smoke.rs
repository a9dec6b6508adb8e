//! `todo-dev smoke` on the real Docker engine: the reference app from
//! `todo-dev init` passes for profile standard on local base images; a
//! backend that exits fails with its log lines; Ctrl-C removes everything.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use support::{bases_or_skip, docker, docker_host_or_skip, stderr, stdout, Bases, Sandbox};

/// The smoke arguments that point every base image at the local stand-ins.
fn smoke_args(b: &Bases, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "smoke".into(),
        "--postgres-image".into(),
        b.postgres.clone(),
        "--redis-image".into(),
        b.redis.clone(),
    ];
    args.extend(b.build_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs smoke in `app`, which must pass: its output and events.
fn smoke_passing(
    sb: &Sandbox,
    app: &Path,
    host: &str,
    args: &[String],
) -> (Output, Vec<serde_json::Value>) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sb
        .todo_dev(app, &args)
        .env("DOCKER_HOST", host)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let ev = events(&out);
    (out, ev)
}

/// Runs smoke in `app`, which must fail (exit 1); its stdout.
fn smoke_failing(sb: &Sandbox, app: &Path, args: &[&str], host: &str) -> String {
    let out = sb
        .todo_dev(app, args)
        .env("DOCKER_HOST", host)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn run_id(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .find(|e| e["event"] == "smoke.start")
        .and_then(|e| e["runId"].as_str())
        .expect("a smoke.start event with the run id")
        .to_string()
}

/// Containers and networks still carrying the run's label.
fn leftovers(host: &str, run_id: &str) -> (String, String) {
    let filter = format!("label=todo-dev.smoke={run_id}");
    let containers = stdout(&docker(host, &["ps", "-aq", "--filter", &filter]));
    let networks = stdout(&docker(host, &["network", "ls", "-q", "--filter", &filter]));
    (containers.trim().to_string(), networks.trim().to_string())
}

#[test]
fn init_then_smoke_passes_for_profile_standard() {
    let test = "init_then_smoke_passes_for_profile_standard";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(bases) = bases_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let app = sb.init_app(tmp.path());
    let (out, ev) = smoke_passing(
        &sb,
        &app,
        &host,
        &smoke_args(&bases, &["--profile", "standard", "--json"]),
    );
    let checks: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "smoke.check")
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    for want in [
        "build frontend",
        "build backend",
        "frontend runs as non-root",
        "backend runs as non-root",
        "postgres accepts connections (pg_isready)",
        "backend /health",
        "backend /ready",
        "frontend /healthz",
        "sign up (POST /api/auth/sign-up)",
        "add a task (POST /api/tasks)",
        "chat \"add buy milk\" (POST /api/chat)",
        "list tasks (GET /api/tasks)",
    ] {
        assert!(checks.contains(&want), "{want} not checked: {checks:?}");
    }
    for e in ev.iter().filter(|e| e["event"] == "smoke.check") {
        assert_eq!(e["ok"], true, "{e}");
        assert!(e["seconds"].as_f64().is_some(), "{e}");
    }
    let list = ev
        .iter()
        .find(|e| e["check"] == "list tasks (GET /api/tasks)")
        .unwrap();
    assert!(
        list["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("buy milk"),
        "{list}"
    );
    let done = ev.last().unwrap();
    assert_eq!(
        (done["event"].as_str(), done["ok"].as_bool()),
        (Some("smoke.done"), Some(true)),
        "{done}"
    );
    let id = run_id(&ev);
    assert_eq!(leftovers(&host, &id), (String::new(), String::new()));
    // The generated secret never reaches the output.
    assert!(
        !stdout(&out).contains("BETTER_AUTH_SECRET="),
        "{}",
        stdout(&out)
    );
}

#[test]
fn init_frontend_next_then_smoke_passes_through_the_next_proxy() {
    let test = "init_frontend_next_then_smoke_passes_through_the_next_proxy";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(bases) = bases_or_skip(test) else {
        return;
    };
    let node =
        std::env::var("TODO_DEV_TEST_NODE_IMAGE").expect("scripts/test.sh sets it with the others");
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let out = sb
        .todo_dev(tmp.path(), &["init", "todo-next", "--frontend", "next"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let app = tmp.path().join("todo-next");
    let node_arg = format!("services.frontend.buildArgs.NODE_IMAGE={node}");
    let args = smoke_args(
        &bases,
        &["--profile", "standard", "--json", "--set", &node_arg],
    );
    let (_, ev) = smoke_passing(&sb, &app, &host, &args);
    let checks: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "smoke.check" && e["ok"] == true)
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    for want in [
        "build frontend",
        "frontend runs as non-root",
        "frontend /healthz",
        "sign up (POST /api/auth/sign-up)",
        "chat \"add buy milk\" (POST /api/chat)",
        "list tasks (GET /api/tasks)",
    ] {
        assert!(checks.contains(&want), "{want} not passed: {checks:?}");
    }
    // Built from todo-dev's nextjs template (the app has no Dockerfile of its own).
    let built = ev.iter().find(|e| e["check"] == "build frontend").unwrap();
    let image = built["detail"].as_str().unwrap().split(' ').next().unwrap();
    let cmd = std::process::Command::new("docker")
        .args([
            "image",
            "inspect",
            "-f",
            "{{json .Config.Cmd}} {{.Config.User}}",
            image,
        ])
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&cmd.stdout).trim(),
        r#"["node","server.js"] 10001:10001"#,
        "{}",
        stderr(&cmd)
    );
    let id = run_id(&ev);
    assert_eq!(leftovers(&host, &id), (String::new(), String::new()));
}

/// A backend image whose program prints a marker and exits 3.
fn break_backend(app: &Path, python: &str) {
    std::fs::write(
        app.join("backend/Dockerfile.broken"),
        format!("FROM {python}\nUSER 10001:10001\nCMD [\"sh\", \"-c\", \"echo backend-broken-marker >&2; exit 3\"]\n"),
    )
    .unwrap();
}

#[test]
fn a_backend_that_exits_fails_with_each_containers_log_lines() {
    let test = "a_backend_that_exits_fails_with_each_containers_log_lines";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(bases) = bases_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let app = sb.init_app(tmp.path());
    break_backend(&app, &bases.python);
    let args = smoke_args(
        &bases,
        &[
            "--profile",
            "standard",
            "--set",
            "services.backend.dockerfile=Dockerfile.broken",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = smoke_failing(&sb, &app, &args, &host);
    assert!(text.contains("backend exited with code 3"), "{text}");
    assert!(text.contains("--- backend: last"), "{text}");
    assert!(text.contains("backend-broken-marker"), "{text}");
    assert!(text.contains("--- postgres: last"), "{text}");
    assert!(
        text.contains("removed every container and network labelled todo-dev.smoke="),
        "{text}"
    );
    let id = text
        .split("todo-dev.smoke=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    assert_eq!(leftovers(&host, id), (String::new(), String::new()));
}

#[test]
fn ctrl_c_mid_run_removes_every_container_and_network() {
    let test = "ctrl_c_mid_run_removes_every_container_and_network";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(bases) = bases_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let app = sb.init_app(tmp.path());
    // A backend that never answers: the run is surely waiting when Ctrl-C comes.
    std::fs::write(
        app.join("backend/Dockerfile.silent"),
        format!(
            "FROM {}\nUSER 10001:10001\nCMD [\"sleep\", \"600\"]\n",
            bases.python
        ),
    )
    .unwrap();
    let args = smoke_args(
        &bases,
        &[
            "--profile",
            "standard",
            "--json",
            "--timeout",
            "600",
            "--set",
            "services.backend.dockerfile=Dockerfile.silent",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = sb
        .todo_dev(&app, &args)
        .env("DOCKER_HOST", &host)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut id = String::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    // Wait until the databases are up and the apps have been started.
    for line in lines.by_ref() {
        let line = line.unwrap();
        let e: serde_json::Value = serde_json::from_str(&line).unwrap();
        if e["event"] == "smoke.start" {
            id = e["runId"].as_str().unwrap().to_string();
        }
        if e["check"] == "postgres accepts connections (pg_isready)" {
            break;
        }
        assert!(Instant::now() < deadline, "no postgres check");
    }
    assert!(!id.is_empty());
    let apps_started = Instant::now() + Duration::from_secs(60);
    while leftovers(&host, &id).0.lines().count() < 3 {
        assert!(
            Instant::now() < apps_started,
            "the app containers never started"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}\n{err}");
    assert!(err.contains("interrupted"), "{err}");
    let done: serde_json::Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(
        (done["event"].as_str(), done["ok"].as_bool()),
        (Some("smoke.done"), Some(false))
    );
    assert_eq!(leftovers(&host, &id), (String::new(), String::new()));
}

#[test]
fn smoke_passes_for_the_profiles_with_split_out_services() {
    let test = "smoke_passes_for_the_profiles_with_split_out_services";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(bases) = bases_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let app = sb.init_app(tmp.path());
    // full: mcp-server and Redis; agents: mcp-server and ai-agent (AGENT_URL).
    for (profile, extra) in [
        (
            "full",
            ["redis answers (redis-cli ping)", "mcp-server /health"],
        ),
        ("agents", ["ai-agent /ready", "mcp-server /health"]),
    ] {
        let args = smoke_args(&bases, &["--profile", profile, "--json"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sb
            .todo_dev(&app, &args)
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{profile}: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        let ev = events(&out);
        for want in extra {
            assert!(
                ev.iter().any(|e| e["check"] == want && e["ok"] == true),
                "{profile}: {want} not checked: {ev:#?}"
            );
        }
        let chat = ev
            .iter()
            .find(|e| e["check"] == "chat \"add buy milk\" (POST /api/chat)")
            .unwrap();
        assert!(
            chat["detail"].as_str().unwrap().contains("tools: add_task"),
            "{chat}"
        );
        assert_eq!(
            leftovers(&host, &run_id(&ev)),
            (String::new(), String::new())
        );
    }
}

#[test]
fn a_database_image_that_cannot_be_had_is_a_failed_check_with_its_fix() {
    let test = "a_database_image_that_cannot_be_had_is_a_failed_check_with_its_fix";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(bases) = bases_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let app = sb.init_app(tmp.path());
    let mut args = smoke_args(&bases, &["--profile", "standard"]);
    args[2] = "todo-dev-test/no-such-postgres:0".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = smoke_failing(&sb, &app, &args, &host);
    let row = text
        .lines()
        .find(|l| l.starts_with("image todo-dev-test/no-such-postgres:0"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("FAILED") && row.contains("cannot be pulled"),
        "{row}"
    );
    assert!(text.contains("--postgres-image IMAGE"), "{text}");
}
