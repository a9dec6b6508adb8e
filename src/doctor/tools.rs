//! kubectl, helm, and the optional AI assistants.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::{Check, Status};
use crate::exec;

pub async fn checks(deadline: Duration) -> Vec<Check> {
    let (kubectl, helm) = tokio::join!(kubectl(deadline), helm(deadline));
    vec![
        kubectl,
        helm,
        on_path(
            Check::new("ai.kubectl-ai", "kubectl-ai (optional)", false),
            "kubectl-ai",
            "optional: for AI help with failing pods, see https://github.com/GoogleCloudPlatform/kubectl-ai (`brew install kubectl-ai` or `krew install ai`)",
        ),
        on_path(
            Check::new("ai.kagent", "kagent (optional)", false),
            "kagent",
            "optional: for cluster analysis with agents, see https://kagent.dev/docs (`brew install kagent`)",
        ),
        docker_ai(),
    ]
}

async fn kubectl(deadline: Duration) -> Check {
    let check = Check::new("kubectl", "kubectl", true);
    let Ok(path) = which::which("kubectl") else {
        return check.problem(
            Status::Missing,
            "kubectl is not on PATH",
            "install kubectl: `minikube kubectl -- version` fetches a matching one, or see https://kubernetes.io/docs/tasks/tools/",
        );
    };
    let out = exec::run(
        path.as_os_str(),
        ["version", "--client", "-o", "json"],
        &[],
        deadline,
    )
    .await;
    let version = out
        .ok()
        .and_then(|o| serde_json::from_str::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| {
            v["clientVersion"]["gitVersion"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown version".into());
    found(check, &path, &version)
}

async fn helm(deadline: Duration) -> Check {
    let check = Check::new("helm", "helm (optional)", false);
    let Ok(path) = which::which("helm") else {
        return check.problem(
            Status::Warning,
            "helm is not on PATH (only needed to install an exported chart)",
            "optional: `brew install helm`, or see https://helm.sh/docs/intro/install/",
        );
    };
    let version = exec::run(path.as_os_str(), ["version", "--short"], &[], deadline)
        .await
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_else(|_| "unknown version".into());
    found(check, &path, &version)
}

fn found(check: Check, path: &Path, version: &str) -> Check {
    check
        .ok(format!("{version} ({})", path.display()))
        .with_data(json!({"path": path, "version": version}))
}

/// Presence only: these tools may start interactive sessions or call an LLM.
fn on_path(check: Check, program: &str, fix: &str) -> Check {
    match which::which(program) {
        Ok(path) => check
            .ok(path.display().to_string())
            .with_data(json!({"path": path})),
        Err(_) => check.problem(Status::Warning, format!("{program} is not on PATH"), fix),
    }
}

/// The `docker ai` CLI plugin (Gordon), looked up where the docker CLI looks.
fn docker_ai() -> Check {
    let check = Check::new("ai.docker-ai", "docker ai (optional)", false);
    let name = if cfg!(windows) {
        "docker-ai.exe"
    } else {
        "docker-ai"
    };
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let config = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .unwrap_or(home.join(".docker"));
    let dirs = [
        config.join("cli-plugins"),
        "/usr/local/lib/docker/cli-plugins".into(),
        "/usr/local/libexec/docker/cli-plugins".into(),
        "/usr/lib/docker/cli-plugins".into(),
        "/usr/libexec/docker/cli-plugins".into(),
    ];
    match dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        Some(path) => check.ok(path.display().to_string()).with_data(json!({"path": path})),
        None => check.problem(
            Status::Warning,
            "the docker `ai` plugin (Gordon) is not installed",
            "optional: it ships with Docker Desktop 4.37+ (enable it under Settings > Features in development)",
        ),
    }
}
