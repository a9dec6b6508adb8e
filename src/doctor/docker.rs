//! docker CLI, daemon, and the daemon's resources against the profile.

use std::time::Duration;

use serde_json::json;

use super::{Check, Needs, Status};
use crate::docker::{self, DockerEndpoint, DockerError};
use crate::exec;
use crate::host::gib;

pub async fn checks(needs: &Needs, deadline: Duration) -> Vec<Check> {
    let endpoint = DockerEndpoint::from_env();
    let (cli, daemon) = tokio::join!(cli(deadline), docker::probe(&endpoint, deadline));
    let mut out = vec![cli];
    let daemon_check = Check::new("docker.daemon", "Docker daemon", true);
    let resources = Check::new(
        "docker.resources",
        "Docker resources",
        needs.driver == "docker",
    );
    match daemon {
        Ok((_, facts)) => {
            out.push(
                daemon_check
                    .ok(format!(
                        "Docker {} (API {}) at {}",
                        facts.server_version, facts.api_version, endpoint.host
                    ))
                    .with_data(json!({
                        "host": endpoint.host,
                        "tls": endpoint.tls.is_some(),
                        "serverVersion": facts.server_version,
                        "apiVersion": facts.api_version,
                        "os": facts.os,
                        "cpus": facts.cpus,
                        "memoryBytes": facts.memory_bytes,
                    })),
            );
            let detail = format!("{} CPUs, {} memory", facts.cpus, gib(facts.memory_bytes));
            let data = json!({"cpus": facts.cpus, "memoryBytes": facts.memory_bytes});
            let short = facts.cpus < needs.cpus || facts.memory_bytes < needs.memory_bytes;
            out.push(if short {
                let status = if resources.required { Status::Fail } else { Status::Warning };
                resources.problem(
                    status,
                    format!("{detail}; the profile's cluster needs {} CPUs, {}", needs.cpus, gib(needs.memory_bytes)),
                    "give Docker more CPUs/memory (Docker Desktop: Settings > Resources), or choose a smaller profile (todo-dev profiles)",
                )
            } else {
                resources.ok(detail)
            }
            .with_data(data));
        }
        Err(e) => {
            let status = match e {
                DockerError::BadHost(_) | DockerError::MissingCert(_) => Status::Fail,
                _ => Status::Missing,
            };
            out.push(
                daemon_check
                    .problem(status, e.to_string(), daemon_fix(&endpoint, &e))
                    .with_data(json!({"host": endpoint.host, "tls": endpoint.tls.is_some()})),
            );
            out.push(resources.skipped("the Docker daemon is not reachable"));
        }
    }
    out
}

async fn cli(deadline: Duration) -> Check {
    let check = Check::new("docker.cli", "docker CLI", true);
    let Ok(path) = which::which("docker") else {
        return check.problem(
            Status::Missing,
            "docker is not on PATH",
            install_docker_hint(),
        );
    };
    let version = exec::run(path.as_os_str(), ["--version"], &[], deadline)
        .await
        .ok()
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default();
    check
        .ok(format!("{version} ({})", path.display()))
        .with_data(json!({"path": path, "version": version}))
}

fn daemon_fix(endpoint: &DockerEndpoint, e: &DockerError) -> String {
    match e {
        DockerError::MissingCert(_) => format!(
            "put ca.pem, cert.pem and key.pem in {} (DOCKER_CERT_PATH), or unset DOCKER_TLS_VERIFY",
            endpoint.tls.as_ref().map(|t| t.dir.display().to_string()).unwrap_or_default()
        ),
        DockerError::BadHost(_) => "set DOCKER_HOST to unix:///var/run/docker.sock or tcp://HOST:PORT, or unset it".into(),
        _ if std::env::var_os("DOCKER_HOST").is_some() => format!(
            "DOCKER_HOST points at {}: start that daemon, or unset DOCKER_HOST to use the local one (after `minikube docker-env`, run `eval $(minikube docker-env -u)`)",
            endpoint.host
        ),
        _ => start_docker_hint().into(),
    }
}

fn start_docker_hint() -> &'static str {
    if cfg!(target_os = "macos") || cfg!(windows) {
        "start Docker Desktop and wait until it says it is running"
    } else {
        "start the Docker daemon: `sudo systemctl start docker` (without systemd: `sudo dockerd &`), and make sure your user may use it (`sudo usermod -aG docker $USER`, then log in again)"
    }
}

fn install_docker_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "install Docker Desktop (`brew install --cask docker`)"
    } else if cfg!(windows) {
        "install Docker Desktop (`winget install Docker.DockerDesktop`)"
    } else {
        "install Docker: `sudo apt-get install docker.io` (Debian/Ubuntu) or `sudo dnf install moby-engine` (Fedora); see https://docs.docker.com/engine/install/"
    }
}
