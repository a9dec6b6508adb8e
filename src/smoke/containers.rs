//! The Docker side of a smoke run: its private network, its containers (all
//! labelled with the run id), exec probes, log tails, and removal by label.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, ListNetworksOptions,
    LogsOptions, RemoveContainerOptions,
};
use bollard::Docker;
use futures::StreamExt;

use crate::container_exec::{Command, ContainerExec, DockerExec, ExecError};

/// The label on everything a smoke run starts; its value is the run id.
pub const RUN_LABEL: &str = "todo-dev.smoke";

#[derive(Debug, thiserror::Error)]
pub enum DockerOpError {
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error(transparent)]
    Exec(ExecError),
    #[error("image {image} is not in the daemon and cannot be pulled: {reason}\n  help: {hint}")]
    Pull {
        image: String,
        reason: String,
        hint: String,
    },
}

fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerOpError {
    let what = what.into();
    move |source| DockerOpError::Api { what, source }
}

/// One container to run on the run's network.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// The service name, also its DNS alias on the network.
    pub alias: String,
    pub image: String,
    pub env: Vec<(String, String)>,
    /// Container port published on the reachable host address (random host port).
    pub publish: Option<u16>,
    /// Numeric user, when the image's own must be replaced (as the manifests do).
    pub user: Option<String>,
    pub read_only: bool,
}

/// Names of what one run creates.
#[derive(Debug, Clone)]
pub struct RunNames {
    pub run_id: String,
    pub network: String,
}

impl RunNames {
    pub fn new(run_id: &str) -> RunNames {
        RunNames {
            run_id: run_id.to_string(),
            network: format!("todo-dev-smoke-{run_id}"),
        }
    }

    pub fn container(&self, alias: &str) -> String {
        format!("todo-dev-smoke-{}-{alias}", self.run_id)
    }

    fn labels(&self, alias: &str) -> HashMap<String, String> {
        HashMap::from([
            (RUN_LABEL.to_string(), self.run_id.clone()),
            (
                "app.kubernetes.io/managed-by".to_string(),
                "todo-dev".to_string(),
            ),
            ("app.kubernetes.io/name".to_string(), alias.to_string()),
        ])
    }
}

pub async fn create_network(docker: &Docker, names: &RunNames) -> Result<(), DockerOpError> {
    docker
        .create_network(NetworkCreateRequest {
            name: names.network.clone(),
            driver: Some("bridge".into()),
            labels: Some(names.labels("network")),
            ..Default::default()
        })
        .await
        .map_err(api(format!("creating network {}", names.network)))?;
    Ok(())
}

/// Pulls `image` when the daemon lacks it. True when a pull happened.
pub async fn ensure_image(docker: &Docker, image: &str, hint: &str) -> Result<bool, DockerOpError> {
    if docker.inspect_image(image).await.is_ok() {
        return Ok(false);
    }
    let options = CreateImageOptions {
        from_image: Some(image.to_string()),
        ..Default::default()
    };
    let mut pull = docker.create_image(Some(options), None, None);
    while let Some(item) = pull.next().await {
        let failure = match item {
            Ok(info) => info.error_detail.and_then(|d| d.message),
            Err(e) => Some(e.to_string()),
        };
        if let Some(reason) = failure {
            return Err(DockerOpError::Pull {
                image: image.to_string(),
                reason,
                hint: hint.to_string(),
            });
        }
    }
    Ok(true)
}

/// The image's configured user ("" when it runs as root by default).
pub async fn image_user(docker: &Docker, image: &str) -> Result<String, DockerOpError> {
    let inspect = docker
        .inspect_image(image)
        .await
        .map_err(api(format!("inspecting image {image}")))?;
    Ok(inspect.config.and_then(|c| c.user).unwrap_or_default())
}

/// Creates and starts one container on the run's network. Returns its name.
pub async fn run(
    docker: &Docker,
    names: &RunNames,
    spec: &ContainerSpec,
    bind_ip: IpAddr,
) -> Result<String, DockerOpError> {
    let name = names.container(&spec.alias);
    let port_key = spec.publish.map(|p| format!("{p}/tcp"));
    let port_bindings = port_key.as_ref().map(|k| {
        HashMap::from([(
            k.clone(),
            Some(vec![PortBinding {
                host_ip: Some(bind_ip.to_string()),
                // Empty: the daemon picks a free port.
                host_port: Some(String::new()),
            }]),
        )])
    });
    let host_config = HostConfig {
        network_mode: Some(names.network.clone()),
        port_bindings,
        readonly_rootfs: Some(spec.read_only),
        tmpfs: spec
            .read_only
            .then(|| HashMap::from([("/tmp".to_string(), "rw,size=64m".to_string())])),
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        ..Default::default()
    };
    let endpoint = EndpointSettings {
        aliases: Some(vec![spec.alias.clone()]),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: spec.user.clone(),
        labels: Some(names.labels(&spec.alias)),
        exposed_ports: port_key.clone().map(|k| vec![k]),
        host_config: Some(host_config),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(names.network.clone(), endpoint)])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    docker
        .create_container(Some(options), body)
        .await
        .map_err(api(format!(
            "creating container {name} from {}",
            spec.image
        )))?;
    docker
        .start_container(&name, None)
        .await
        .map_err(api(format!("starting container {name}")))?;
    Ok(name)
}

/// Where a published container port is reachable from here.
pub async fn published(
    docker: &Docker,
    container: &str,
    port: u16,
    reach_ip: IpAddr,
) -> Result<Option<SocketAddr>, DockerOpError> {
    let inspect = docker
        .inspect_container(container, None)
        .await
        .map_err(api(format!("inspecting container {container}")))?;
    let host_port = inspect
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get(&format!("{port}/tcp")).cloned().flatten())
        .and_then(|b| b.into_iter().find_map(|b| b.host_port))
        .and_then(|p| p.parse::<u16>().ok());
    Ok(host_port.map(|p| SocketAddr::new(reach_ip, p)))
}

/// Whether the container stopped, and its exit code if so.
pub async fn exited(docker: &Docker, container: &str) -> Result<Option<i64>, DockerOpError> {
    let inspect = docker
        .inspect_container(container, None)
        .await
        .map_err(api(format!("inspecting container {container}")))?;
    let state = inspect.state.unwrap_or_default();
    Ok(match state.running {
        Some(true) => None,
        _ => Some(state.exit_code.unwrap_or(-1)),
    })
}

/// Runs `cmd` inside the container as its image's user: (exit code, -1 when
/// there is none; stdout, then stderr).
pub async fn exec(
    docker: &Docker,
    container: &str,
    cmd: &[&str],
) -> Result<(i64, String), DockerOpError> {
    let command = Command::new(cmd.iter().map(|s| s.to_string()).collect());
    let ran = DockerExec::named(docker, container)
        .run(&command)
        .await
        .map_err(|e| match e {
            // Docker's own words, as for every other call here.
            ExecError::Docker { source, .. }
            | ExecError::ContainerGone {
                source: Some(source),
                ..
            } => api(format!("running `{}` in {container}", command.shown))(*source),
            e => DockerOpError::Exec(e),
        })?;
    let code = ran.exit.code().map_or(-1, i64::from);
    Ok((code, ran.stdout + &ran.stderr))
}

/// The last `lines` lines a container wrote (stdout and stderr).
pub async fn log_tail(docker: &Docker, container: &str, lines: usize) -> Vec<String> {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: lines.to_string(),
        ..Default::default()
    };
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text.lines().map(str::to_string).collect()
}

/// The containers carrying this run's label: (name, alias).
pub async fn containers_of(
    docker: &Docker,
    run_id: &str,
) -> Result<Vec<(String, String)>, DockerOpError> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{RUN_LABEL}={run_id}")],
        )])),
        ..Default::default()
    };
    let list = docker
        .list_containers(Some(options))
        .await
        .map_err(api("listing this run's containers"))?;
    Ok(list
        .into_iter()
        .map(|c| {
            let name = c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            let alias = c
                .labels
                .and_then(|l| l.get("app.kubernetes.io/name").cloned())
                .unwrap_or_default();
            (name, alias)
        })
        .collect())
}

/// Removes every container (with its anonymous volumes) and network carrying
/// the run's label. Returns what could not be removed.
pub async fn remove_run(docker: &Docker, run_id: &str) -> Vec<String> {
    let mut left = Vec::new();
    match containers_of(docker, run_id).await {
        Ok(containers) => {
            let removals = containers.iter().map(|(name, _)| async move {
                let options = RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                };
                (name, docker.remove_container(name, Some(options)).await)
            });
            for (name, result) in futures::future::join_all(removals).await {
                if let Err(e) = result {
                    left.push(format!("container {name}: {e}"));
                }
            }
        }
        Err(e) => left.push(e.to_string()),
    }
    let options = ListNetworksOptions {
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{RUN_LABEL}={run_id}")],
        )])),
    };
    match docker.list_networks(Some(options)).await {
        Ok(networks) => {
            for n in networks {
                let name = n.name.unwrap_or_default();
                if let Err(e) = docker.remove_network(&name).await {
                    left.push(format!("network {name}: {e}"));
                }
            }
        }
        Err(e) => left.push(format!("listing this run's networks: {e}")),
    }
    left
}
