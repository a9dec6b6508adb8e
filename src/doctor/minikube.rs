//! minikube on PATH, and the state of the project's cluster.

use std::time::Duration;

use serde_json::json;

use super::{Check, Status};
use crate::cluster::bring_up::load_reason;
use crate::cluster::minikube::{HostState, Minikube, MinikubeError, DOCKER_RUNTIME};
use crate::exec::ExecError;
use crate::host::gib;
use crate::project::Project;

pub async fn checks(project: &Project, deadline: Duration) -> Vec<Check> {
    let cli = Check::new("minikube.cli", "minikube", true);
    let cluster = Check::new("minikube.cluster", "Minikube cluster", false);
    let name = &project.cluster.name;
    let Some(mk) = Minikube::locate(name, deadline) else {
        return vec![
            cli.problem(
                Status::Missing,
                "minikube is not on PATH",
                crate::cluster::minikube::install_hint(),
            ),
            cluster.skipped("minikube is not installed"),
        ];
    };
    let (version, status, profile) = tokio::join!(mk.version(), mk.status(), mk.cluster_profile());
    let cli = match version {
        Ok(v) => cli
            .ok(format!("minikube {v} ({})", mk.program.display()))
            .with_data(json!({"path": mk.program, "version": v})),
        Err(e) => cli.problem(
            Status::Fail,
            format!(
                "{} is on PATH but does not answer: {e}",
                mk.program.display()
            ),
            "reinstall minikube, or check that `minikube version` works in a terminal",
        ),
    };
    let cluster = match status {
        Err(MinikubeError::Exec(ExecError::TimedOut { after, .. })) => cluster.problem(
            Status::Warning,
            format!(
                "cluster `{name}` answers slowly: `minikube status -p {name}` took longer than {} s",
                after.as_secs()
            ),
            format!("minikube checks the node over SSH: an overloaded machine or node is slow; `minikube status -p {name}` in a terminal shows what it finds"),
        ),
        Err(e) => cluster.problem(
            Status::Warning,
            format!("cannot read the status of cluster `{name}`: {e}"),
            format!("run `minikube status -p {name}` to see what is wrong"),
        ),
        Ok(st) => {
            let profile = profile.ok().flatten();
            let mut data = json!({"name": name, "host": format!("{:?}", st.host), "apiServer": st.apiserver, "kubelet": st.kubelet});
            if let Some(p) = &profile {
                data["driver"] = json!(p.driver);
                data["cpus"] = json!(p.cpus);
                data["memoryBytes"] = json!(p.memory_mib << 20);
                data["kubernetesVersion"] = json!(p.kubernetes_version);
                data["containerRuntime"] = json!(p.container_runtime);
                data["nodeIp"] = json!(p.node_ip);
            }
            let want = &project.cluster;
            let mismatch = profile.as_ref().and_then(|p| {
                if !p.driver.is_empty() && p.driver != want.driver {
                    Some(format!(
                        "it uses the `{}` driver, the profile asks for `{}`",
                        p.driver, want.driver
                    ))
                } else if (p.cpus != 0 && p.cpus < want.cpus)
                    || (p.memory_mib != 0 && p.memory_mib < want.memory_mib)
                {
                    Some(format!(
                        "it has {} CPUs and {}, the profile asks for {} CPUs and {}",
                        p.cpus,
                        gib(p.memory_mib << 20),
                        want.cpus,
                        gib(want.memory_mib << 20)
                    ))
                } else {
                    None
                }
            });
            let (driver, runtime) = profile
                .as_ref()
                .map(|p| {
                    let runtime = if p.container_runtime.is_empty() {
                        DOCKER_RUNTIME
                    } else {
                        p.container_runtime.as_str()
                    };
                    // Which way `up` gets the images to the pods, and why.
                    let runtime = match (&project.registry, load_reason(p)) {
                        (Some(r), Some(_)) => format!("{runtime}; its pods pull from {r}"),
                        (None, Some(why)) => format!("{runtime}; {why}"),
                        _ => runtime.to_string(),
                    };
                    (p.driver.clone(), runtime)
                })
                .unwrap_or_default();
            let c = match (st.host, mismatch) {
                (HostState::Nonexistent, _) => cluster.problem(
                    Status::Warning,
                    format!("cluster `{name}` does not exist yet"),
                    "`todo-dev up` creates it with the profile's resources and the Docker container runtime",
                ),
                (_, Some(why)) => cluster.problem(
                    Status::Warning,
                    format!("cluster `{name}` exists but {why}"),
                    format!("minikube cannot change a cluster's size or runtime: `minikube delete -p {name}` and let `todo-dev up` recreate it (with --container-runtime=docker), or set cluster.name to use another one"),
                ),
                (HostState::Running, None) if st.is_ready() => {
                    cluster.ok(format!("cluster `{name}` is running (driver {driver}, container runtime {runtime})"))
                }
                // `minikube pause` leaves the host Running and pauses the API server.
                (_, None) if st.apiserver == "Paused" => cluster.problem(
                    Status::Warning,
                    format!("cluster `{name}` is paused"),
                    format!("`minikube unpause -p {name}`"),
                ),
                (host, None) => cluster.problem(
                    Status::Warning,
                    format!("cluster `{name}` is {host:?} (API server {}, kubelet {})", st.apiserver, st.kubelet),
                    "`todo-dev up` starts it",
                ),
            };
            c.with_data(data)
        }
    };
    vec![cli, cluster]
}
