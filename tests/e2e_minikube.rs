//! The whole job against a REAL Minikube, opt-in: TODO_DEV_E2E_MINIKUBE=1
//! cargo test --test e2e_minikube -- --nocapture. It starts (or reuses) the
//! cluster `todo-dev-e2e`, builds examples/todo-app with the built-in
//! templates (pulling the upstream base images), deploys profile `lite`
//! with an in-cluster database, then removes everything with `down --purge`.
//! Minikube cannot run where CI runs, so there it says it was skipped.

mod support;

use std::path::Path;
use std::process::Command;

#[test]
fn up_and_down_on_a_real_minikube() {
    if std::env::var_os("TODO_DEV_E2E_MINIKUBE").is_none() {
        eprintln!("SKIPPED up_and_down_on_a_real_minikube: set TODO_DEV_E2E_MINIKUBE=1 on a machine with Minikube and Docker");
        return;
    }
    // A copy of the example project, so its caches and logs stay out of the repo.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/todo-app");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("todo-e2e");
    support::copy_dir(&example, &root);
    std::fs::write(
        root.join("todo-dev.yaml"),
        "profile: lite\ndatabase: in-cluster\ncluster:\n  name: todo-dev-e2e\n",
    )
    .unwrap();
    let todo_dev = |args: &[&str]| {
        let status = Command::new(env!("CARGO_BIN_EXE_todo-dev"))
            .args(args)
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(status.success(), "todo-dev {args:?} failed");
    };
    todo_dev(&["doctor"]);
    todo_dev(&["up", "--timeout", "600"]);
    // Idempotent: nothing to build or apply the second time.
    todo_dev(&["up"]);
    todo_dev(&["down", "--purge"]);
}
