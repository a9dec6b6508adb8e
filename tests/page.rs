//! The status page of `todo-dev watch`, in a real headless Chromium
//! (tests/page/page.test.mjs, playwright-core driving Debian's chromium)
//! against the loop as a user runs it (support::watching: the fake
//! minikube, the real dockerd over TLS, the fake API server).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::apiserver::Behavior;
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
    assert!(
        !saw(&read, "watch.restart", "backend").is_empty(),
        "{read:#?}"
    );
    let deployment = w.api.get("deployments", Some("todo"), "backend").unwrap();
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert!(
        annotations["kubectl.kubernetes.io/restartedAt"].is_string(),
        "{deployment:#}"
    );
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

    // A crash-looping rollout: the failure and its diagnosis on the page.
    w.api.set_behavior(
        "backend",
        Behavior::CrashLoop {
            exit_code: 3,
            reason: "Error".into(),
            logs: "ModuleNotFoundError: No module named 'app'\n".into(),
        },
    );
    w.write("backend/main.txt", "backend broken\n");
    let (failed, read) = w.outcome("backend");
    assert_eq!(failed["event"], "watch.failed", "{read:#?}");
    let shot =
        std::env::var_os("TODO_DEV_TEST_STATE").map(|s| PathBuf::from(s).join("status-page.png"));
    browse(&modules, &url, &root, "failure", shot.as_deref());
}
