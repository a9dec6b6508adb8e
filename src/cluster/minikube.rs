//! The minikube CLI: the commands todo-dev runs and the parsing of what they
//! print (formats recorded in ../shared/design/minikube-cli.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::exec::{self, ExecError};

#[derive(Debug, thiserror::Error)]
pub enum MinikubeError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("`minikube {command}` failed (exit {code}): {message}")]
    Failed {
        command: String,
        code: i32,
        message: String,
    },
    #[error("`minikube {command}` printed something todo-dev cannot read: {detail}")]
    Unreadable { command: String, detail: String },
}

/// One minikube cluster (a minikube profile) reached through the CLI.
#[derive(Debug, Clone)]
pub struct Minikube {
    pub program: PathBuf,
    pub profile: String,
    pub deadline: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostState {
    Running,
    Stopped,
    Paused,
    Error,
    InsufficientStorage,
    Nonexistent,
    Unknown,
}

impl HostState {
    fn parse(s: &str) -> HostState {
        match s {
            "Running" => HostState::Running,
            "Stopped" => HostState::Stopped,
            "Paused" => HostState::Paused,
            "Error" => HostState::Error,
            "InsufficientStorage" => HostState::InsufficientStorage,
            "Nonexistent" => HostState::Nonexistent,
            _ => HostState::Unknown,
        }
    }
}

/// `minikube status -o json` for the control-plane node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    pub host: HostState,
    pub kubelet: String,
    pub apiserver: String,
    pub kubeconfig: String,
}

impl ClusterStatus {
    pub fn nonexistent() -> ClusterStatus {
        ClusterStatus {
            host: HostState::Nonexistent,
            kubelet: "Nonexistent".into(),
            apiserver: "Nonexistent".into(),
            kubeconfig: "Nonexistent".into(),
        }
    }

    /// Running host, kubelet and API server: ready for todo-dev.
    pub fn is_ready(&self) -> bool {
        self.host == HostState::Running && self.kubelet == "Running" && self.apiserver == "Running"
    }

    /// The kubeconfig points at a stale endpoint: `update-context` repairs it.
    pub fn kubeconfig_misconfigured(&self) -> bool {
        self.kubeconfig == "Misconfigured"
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawStatus {
    host: String,
    #[serde(default)]
    kubelet: String,
    #[serde(rename = "APIServer", default)]
    apiserver: String,
    #[serde(default)]
    kubeconfig: String,
    #[serde(default)]
    worker: bool,
}

/// `minikube status` may take this long whatever the probe deadline.
pub const STATUS_DEADLINE: Duration = Duration::from_secs(8);

/// Minikube exits 85 when the profile does not exist.
const EXIT_PROFILE_NOT_FOUND: i32 = 85;

/// Parses `status -o json` (an object for one node, an array for several).
pub fn parse_status(code: Option<i32>, stdout: &str) -> Result<ClusterStatus, String> {
    if code == Some(EXIT_PROFILE_NOT_FOUND) {
        return Ok(ClusterStatus::nonexistent());
    }
    let text = stdout.trim();
    let nodes: Vec<RawStatus> = if text.starts_with('[') {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        vec![serde_json::from_str(text).map_err(|e| e.to_string())?]
    };
    let node = nodes
        .iter()
        .find(|n| !n.worker)
        .or(nodes.first())
        .ok_or("no nodes in status output")?;
    Ok(ClusterStatus {
        host: HostState::parse(&node.host),
        kubelet: node.kubelet.clone(),
        apiserver: node.apiserver.clone(),
        kubeconfig: node.kubeconfig.clone(),
    })
}

/// The parts of a `profile list -o json` entry that todo-dev reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterProfile {
    pub name: String,
    pub status: String,
    pub driver: String,
    pub cpus: u32,
    pub memory_mib: u64,
    pub kubernetes_version: String,
    /// `docker`, `containerd` or `cri-o`; empty when minikube did not say
    /// (clusters made before it recorded one ran Docker).
    pub container_runtime: String,
    pub node_ip: Option<String>,
    /// How many nodes it has (0 when minikube did not say).
    pub nodes: usize,
}

impl ClusterProfile {
    /// Pods run in the node's Docker daemon, the one `docker-env` reaches.
    pub fn runs_docker(&self) -> bool {
        self.container_runtime.is_empty() || self.container_runtime == DOCKER_RUNTIME
    }
}

/// The runtime todo-dev's clusters are created with: images built in the
/// node's Docker daemon are what its pods run, with no registry between.
pub const DOCKER_RUNTIME: &str = "docker";

#[derive(Debug, Deserialize)]
struct RawProfileList {
    #[serde(default)]
    valid: Vec<RawProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawProfile {
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    config: Option<RawConfig>,
}

// Config has ~90 fields; read only these, leniently.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawConfig {
    driver: String,
    #[serde(rename = "CPUs")]
    cpus: u32,
    memory: u64,
    kubernetes_config: RawK8sConfig,
    nodes: Vec<RawNode>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawK8sConfig {
    kubernetes_version: String,
    container_runtime: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawNode {
    #[serde(rename = "IP")]
    ip: String,
    control_plane: bool,
}

pub fn parse_profile_list(stdout: &str) -> Result<Vec<ClusterProfile>, String> {
    let list: RawProfileList = serde_json::from_str(stdout.trim()).map_err(|e| e.to_string())?;
    Ok(list
        .valid
        .into_iter()
        .map(|p| {
            let c = p.config.unwrap_or_default();
            ClusterProfile {
                name: p.name,
                status: p.status,
                driver: c.driver,
                cpus: c.cpus,
                memory_mib: c.memory,
                kubernetes_version: c.kubernetes_config.kubernetes_version,
                container_runtime: c.kubernetes_config.container_runtime,
                node_ip: c
                    .nodes
                    .iter()
                    .find(|n| n.control_plane)
                    .map(|n| n.ip.clone())
                    .filter(|ip| !ip.is_empty()),
                nodes: c.nodes.len(),
            }
        })
        .collect())
}

/// `docker-env --shell none -o json`: the variables that point Docker at the node.
pub fn parse_docker_env(stdout: &str) -> Result<BTreeMap<String, String>, String> {
    let all: BTreeMap<String, String> =
        serde_json::from_str(stdout.trim()).map_err(|e| e.to_string())?;
    Ok(all.into_iter().filter(|(_, v)| !v.is_empty()).collect())
}

/// The `X Exiting due to ID: message` line of a failed command, else its last line.
pub fn failure_message(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    text.lines()
        .find_map(|l| l.strip_prefix("X Exiting due to "))
        .map(str::to_string)
        .or_else(|| {
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "no output".into())
}

/// How to get minikube on this OS.
pub fn install_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "install minikube: `brew install minikube`"
    } else if cfg!(windows) {
        "install minikube: `winget install Kubernetes.minikube`"
    } else {
        "install minikube: `curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-amd64 && sudo install minikube-linux-amd64 /usr/local/bin/minikube`"
    }
}

/// One line of `minikube start --output=json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartEvent {
    Step {
        step: u32,
        steps: u32,
        message: String,
    },
    Info(String),
    Warning(String),
    Error {
        reason: String,
        exit_code: i32,
        message: String,
        advice: String,
    },
}

/// Parses one CloudEvent line (all `data` values are strings).
pub fn parse_start_event(line: &str) -> Option<StartEvent> {
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    let data = &v["data"];
    let text = |k: &str| data[k].as_str().unwrap_or_default().to_string();
    let kind = v["type"].as_str()?;
    Some(match kind.rsplit('.').next()? {
        "step" => StartEvent::Step {
            step: text("currentstep").parse().ok()?,
            steps: text("totalsteps").parse().ok()?,
            message: text("message"),
        },
        "error" => StartEvent::Error {
            reason: text("name"),
            exit_code: text("exitcode").parse().unwrap_or(1),
            message: text("message"),
            advice: text("advice"),
        },
        "warning" => StartEvent::Warning(text("message")),
        _ => StartEvent::Info(text("message")),
    })
}

/// The `minikube start` arguments for a cluster spec. An `existing` cluster
/// is started as it is: minikube refuses another Kubernetes version (exit
/// 106 on a downgrade, an upgrade of the user's cluster otherwise) or
/// driver, and cannot resize; the spec's values are for new clusters.
pub fn start_args(
    profile: &str,
    spec: &crate::project::model::ClusterSpec,
    as_root: bool,
    existing: Option<&ClusterProfile>,
) -> Vec<String> {
    let mut args = vec!["start".to_string(), "-p".into(), profile.into()];
    if existing.is_none() {
        args.extend([
            format!("--cpus={}", spec.cpus),
            format!("--memory={}mb", spec.memory_mib),
            format!("--disk-size={}mb", spec.disk_mib),
            format!("--driver={}", spec.driver),
            format!("--kubernetes-version={}", spec.kubernetes_version),
            // minikube's default becomes containerd in v1.39 (constants.go),
            // whose node has no Docker daemon to build into.
            format!("--container-runtime={DOCKER_RUNTIME}"),
        ]);
    }
    args.push("--output=json".into());
    if !spec.addons.is_empty() {
        args.push(format!("--addons={}", spec.addons.join(",")));
    }
    let driver = existing.map_or(spec.driver.as_str(), |p| p.driver.as_str());
    // minikube refuses the docker driver as root (DRV_AS_ROOT) unless forced.
    if as_root && driver == "docker" {
        args.push("--force".into());
    }
    args
}

/// Where an existing cluster differs from what the profile asks for, each
/// with its fix. todo-dev keeps the cluster as it is.
pub fn profile_drift(
    existing: &ClusterProfile,
    spec: &crate::project::model::ClusterSpec,
) -> Vec<String> {
    let name = &existing.name;
    let recreate = format!("`minikube delete -p {name}` then `todo-dev up` (this deletes the cluster and everything in it)");
    let mut drift = Vec::new();
    if !existing.kubernetes_version.is_empty()
        && existing.kubernetes_version != spec.kubernetes_version
    {
        drift.push(format!(
            "cluster `{name}` runs Kubernetes {}, the profile asks for {}: todo-dev keeps the cluster's; for {} run {recreate}",
            existing.kubernetes_version, spec.kubernetes_version, spec.kubernetes_version
        ));
    }
    if !existing.driver.is_empty() && existing.driver != spec.driver {
        drift.push(format!(
            "cluster `{name}` uses the `{}` driver, the profile asks for `{}`: todo-dev keeps the cluster's; for `{}` run {recreate}",
            existing.driver, spec.driver, spec.driver
        ));
    }
    let fewer_cpus = existing.cpus != 0 && existing.cpus < spec.cpus;
    let less_memory = existing.memory_mib != 0 && existing.memory_mib < spec.memory_mib;
    if fewer_cpus || less_memory {
        drift.push(format!(
            "cluster `{name}` has {} CPUs and {} MiB, the profile asks for {} CPUs and {} MiB: pods may not fit; minikube cannot resize a cluster: {recreate}, or keep it and set smaller values for new clusters with `minikube config set cpus {}` / `minikube config set memory {}`",
            existing.cpus, existing.memory_mib, spec.cpus, spec.memory_mib, existing.cpus, existing.memory_mib
        ));
    }
    drift
}

/// How long `addons enable` may take: minikube itself waits up to 6
/// minutes for the ingress-nginx pods, image pull included.
pub const ADDON_DEADLINE: Duration = Duration::from_secs(7 * 60);

/// What enabling `addon` waits for, for a progress line.
pub fn addon_wait_note(addon: &str) -> String {
    match addon {
        "ingress" => format!("enabling addon ingress: waiting for the ingress-nginx controller pods (image pull included; minikube allows up to 6 minutes, todo-dev {} s)", ADDON_DEADLINE.as_secs()),
        other => format!("enabling addon {other}"),
    }
}

impl Minikube {
    /// `minikube start` for `spec`, reporting each event; the error event's
    /// reason when it fails.
    pub async fn start(
        &self,
        spec: &crate::project::model::ClusterSpec,
        as_root: bool,
        existing: Option<&ClusterProfile>,
        mut on_event: impl FnMut(&StartEvent),
    ) -> Result<(), MinikubeError> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt};
        let args = start_args(&self.profile, spec, as_root, existing);
        let mut child = tokio::process::Command::new(&self.program)
            .args(&args)
            .env("MINIKUBE_WANTUPDATENOTIFICATION", "false")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ExecError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        // Drained alongside stdout: minikube blocks once a pipe buffer of klog
        // lines is unread, and would never finish its stdout.
        let stderr_reader = child.stderr.take().map(|mut e| {
            tokio::spawn(async move {
                let mut text = String::new();
                let _ = e.read_to_string(&mut text).await;
                text
            })
        });
        let mut failure = None;
        if let Some(stdout) = child.stdout.take() {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(event) = parse_start_event(&line) {
                    if let StartEvent::Error {
                        reason,
                        exit_code,
                        message,
                        advice,
                    } = &event
                    {
                        let advice = if advice.is_empty() {
                            String::new()
                        } else {
                            format!("; {advice}")
                        };
                        failure = Some(MinikubeError::Failed {
                            command: format!("start -p {}", self.profile),
                            code: *exit_code,
                            message: format!("{reason}: {message}{advice}"),
                        });
                    }
                    on_event(&event);
                }
            }
        }
        let stderr = match stderr_reader {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        let status = child.wait().await.map_err(|source| ExecError::Spawn {
            program: self.program.display().to_string(),
            source,
        })?;
        match (status.success(), failure) {
            (true, _) => Ok(()),
            (false, Some(f)) => Err(f),
            (false, None) => Err(MinikubeError::Failed {
                command: format!("start -p {}", self.profile),
                code: status.code().unwrap_or(-1),
                message: failure_message(&stderr, ""),
            }),
        }
    }

    /// Enables each addon that is not enabled yet, calling `on_enable` before
    /// each (enabling ingress takes minutes); returns the ones it enabled.
    pub async fn ensure_addons(
        &self,
        addons: &[String],
        mut on_enable: impl FnMut(&str),
    ) -> Result<Vec<String>, MinikubeError> {
        let out = self
            .run(&["addons", "list", "-p", &self.profile, "-o", "json"])
            .await?;
        if out.code != Some(0) {
            return Err(self.failed("addons list", &out));
        }
        let listed: serde_json::Value = serde_json::from_str(out.stdout.trim())
            .map_err(|e| unreadable("addons list -o json", e))?;
        let mut enabled = Vec::new();
        for addon in addons {
            if listed[addon.as_str()]["Status"] == "enabled" {
                continue;
            }
            on_enable(addon);
            let out = self
                .run_within(
                    &["addons", "enable", addon, "-p", &self.profile],
                    ADDON_DEADLINE,
                )
                .await?;
            if out.code != Some(0) {
                return Err(self.failed(&format!("addons enable {addon}"), &out));
            }
            enabled.push(addon.clone());
        }
        Ok(enabled)
    }

    /// Finds minikube on PATH.
    pub fn locate(profile: &str, deadline: Duration) -> Option<Minikube> {
        which::which("minikube").ok().map(|program| Minikube {
            program,
            profile: profile.to_string(),
            deadline,
        })
    }

    async fn run(&self, args: &[&str]) -> Result<exec::ToolOutput, MinikubeError> {
        self.run_within(args, self.deadline).await
    }

    async fn run_within(
        &self,
        args: &[&str],
        deadline: Duration,
    ) -> Result<exec::ToolOutput, MinikubeError> {
        // The update notice would otherwise be mixed into text output.
        let envs = [("MINIKUBE_WANTUPDATENOTIFICATION", "false")];
        Ok(exec::run(self.program.as_os_str(), args, &envs, deadline).await?)
    }

    /// `minikube update-context`: points the kubeconfig at the cluster's
    /// current endpoint (status said `Kubeconfig: Misconfigured`).
    pub async fn update_context(&self) -> Result<(), MinikubeError> {
        self.profile_command("update-context", self.deadline).await
    }

    /// `minikube stop`: the cluster keeps its state for the next `up`.
    pub async fn stop(&self, deadline: Duration) -> Result<(), MinikubeError> {
        self.profile_command("stop", deadline).await
    }

    /// `minikube delete`: the cluster and everything in it.
    pub async fn delete(&self, deadline: Duration) -> Result<(), MinikubeError> {
        self.profile_command("delete", deadline).await
    }

    /// `minikube COMMAND -p PROFILE`, which must exit 0.
    async fn profile_command(
        &self,
        command: &str,
        deadline: Duration,
    ) -> Result<(), MinikubeError> {
        let out = self
            .run_within(&[command, "-p", &self.profile], deadline)
            .await?;
        if out.code != Some(0) {
            return Err(self.failed(command, &out));
        }
        Ok(())
    }

    pub async fn version(&self) -> Result<String, MinikubeError> {
        let out = self.run(&["version", "-o", "json"]).await?;
        #[derive(Deserialize)]
        struct V {
            #[serde(rename = "minikubeVersion")]
            minikube_version: String,
        }
        if out.code != Some(0) {
            return Err(self.failed("version", &out));
        }
        serde_json::from_str::<V>(out.stdout.trim())
            .map(|v| v.minikube_version)
            .map_err(|e| unreadable("version -o json", e))
    }

    pub async fn status(&self) -> Result<ClusterStatus, MinikubeError> {
        // It SSHes into the node to check kubelet and the API server: seconds.
        let deadline = self.deadline.max(STATUS_DEADLINE);
        let out = self
            .run_within(&["status", "-p", &self.profile, "-o", "json"], deadline)
            .await?;
        parse_status(out.code, &out.stdout).map_err(|e| match out.code {
            Some(0) | None => unreadable("status -o json", e),
            Some(_) => self.failed("status", &out),
        })
    }

    /// This cluster's entry in `profile list`, if it exists.
    pub async fn cluster_profile(&self) -> Result<Option<ClusterProfile>, MinikubeError> {
        // --light skips the per-cluster status probe, which is slow.
        let out = self
            .run(&["profile", "list", "-o", "json", "--light"])
            .await?;
        if out.code != Some(0) {
            return Err(self.failed("profile list", &out));
        }
        let list =
            parse_profile_list(&out.stdout).map_err(|e| unreadable("profile list -o json", e))?;
        Ok(list.into_iter().find(|p| p.name == self.profile))
    }

    /// The node's IP (`minikube ip`).
    pub async fn ip(&self) -> Result<String, MinikubeError> {
        let out = self.run(&["ip", "-p", &self.profile]).await?;
        if out.code != Some(0) {
            return Err(self.failed("ip", &out));
        }
        Ok(out.stdout.trim().to_string())
    }

    /// `minikube image load IMAGE`: the image from the Docker daemon the
    /// environment names, cached and loaded into every node's runtime
    /// (neither --daemon nor --remote: it tries both, image.go).
    pub async fn image_load(&self, image: &str, deadline: Duration) -> Result<(), MinikubeError> {
        let out = self
            .run_within(&["image", "load", image, "-p", &self.profile], deadline)
            .await?;
        if out.code != Some(0) {
            return Err(self.failed(&format!("image load {image}"), &out));
        }
        Ok(())
    }

    pub async fn docker_env(&self) -> Result<BTreeMap<String, String>, MinikubeError> {
        let out = self
            .run(&[
                "docker-env",
                "-p",
                &self.profile,
                "--shell",
                "none",
                "-o",
                "json",
            ])
            .await?;
        if out.code != Some(0) {
            return Err(self.failed("docker-env", &out));
        }
        parse_docker_env(&out.stdout).map_err(|e| unreadable("docker-env -o json", e))
    }

    fn failed(&self, command: &str, out: &exec::ToolOutput) -> MinikubeError {
        MinikubeError::Failed {
            command: format!("{command} -p {}", self.profile),
            code: out.code.unwrap_or(-1),
            message: failure_message(&out.stderr, &out.stdout),
        }
    }
}

fn unreadable(command: &str, e: impl std::fmt::Display) -> MinikubeError {
    MinikubeError::Unreadable {
        command: command.to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_outputs_from_the_real_cli() {
        let running = r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#;
        let s = parse_status(Some(0), running).unwrap();
        assert!(s.is_ready());
        let stopped = r#"{"Name":"minikube","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped","Worker":false}"#;
        let s = parse_status(Some(7), stopped).unwrap();
        assert_eq!(s.host, HostState::Stopped);
        assert!(!s.is_ready());
        let paused = r#"{"Name":"minikube","Host":"Running","Kubelet":"Stopped","APIServer":"Paused","Kubeconfig":"Configured","Worker":false}"#;
        let s = parse_status(Some(2), paused).unwrap();
        assert_eq!(
            (s.host, s.apiserver.as_str()),
            (HostState::Running, "Paused")
        );
        let multi = format!(
            "[{running},{}]",
            running.replace("\"Worker\":false", "\"Worker\":true")
        );
        assert!(parse_status(Some(0), &multi).unwrap().is_ready());
        let missing = r#"{"specversion":"1.0","id":"x","source":"https://minikube.sigs.k8s.io/","type":"io.k8s.sigs.minikube.info","datacontenttype":"application/json","data":{"message":"Profile \"nope\" not found. Run \"minikube profile list\" to view all profiles."}}"#;
        assert_eq!(
            parse_status(Some(85), missing).unwrap().host,
            HostState::Nonexistent
        );
        assert!(parse_status(Some(0), "garbage").is_err());
    }

    #[test]
    fn profile_list_from_the_real_cli() {
        let text = r#"{"invalid":[],"valid":[{"Name":"minikube","Status":"OK","Config":{"Name":"minikube","Memory":4096,"CPUs":2,"DiskSize":20000,"Driver":"docker","APIServerPort":8443,"KubernetesConfig":{"KubernetesVersion":"v1.34.0","ClusterName":"minikube","ContainerRuntime":"docker"},"Nodes":[{"Name":"","IP":"192.168.49.2","Port":8443,"KubernetesVersion":"v1.34.0","ContainerRuntime":"docker","ControlPlane":true,"Worker":true}],"Addons":{"default-storageclass":true,"storage-provisioner":true}},"Active":true,"ActiveKubeContext":true}]}"#;
        let list = parse_profile_list(text).unwrap();
        assert_eq!(
            list,
            vec![ClusterProfile {
                name: "minikube".into(),
                status: "OK".into(),
                driver: "docker".into(),
                cpus: 2,
                memory_mib: 4096,
                kubernetes_version: "v1.34.0".into(),
                container_runtime: "docker".into(),
                node_ip: Some("192.168.49.2".into()),
                nodes: 1,
            }]
        );
        assert!(parse_profile_list(r#"{"invalid":[],"valid":[]}"#)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn start_events_and_arguments() {
        let step = r#"{"specversion":"1.0","id":"x","source":"https://minikube.sigs.k8s.io/","type":"io.k8s.sigs.minikube.step","datacontenttype":"application/json","data":{"currentstep":"0","message":"minikube v1.37.0 on Ubuntu 24.04","name":"Initial Minikube Setup","totalsteps":"19"}}"#;
        assert_eq!(
            parse_start_event(step),
            Some(StartEvent::Step {
                step: 0,
                steps: 19,
                message: "minikube v1.37.0 on Ubuntu 24.04".into()
            })
        );
        let err = r#"{"specversion":"1.0","id":"x","source":"https://minikube.sigs.k8s.io/","type":"io.k8s.sigs.minikube.error","datacontenttype":"application/json","data":{"advice":"","exitcode":"29","issues":"","message":"Requested cpu count 1 is less than the minimum allowed of 2","name":"RSRC_INSUFFICIENT_CORES","url":""}}"#;
        assert!(
            matches!(parse_start_event(err), Some(StartEvent::Error { exit_code: 29, ref reason, .. }) if reason == "RSRC_INSUFFICIENT_CORES")
        );
        assert_eq!(parse_start_event("* not json"), None);
        let spec = crate::project::model::ClusterSpec {
            name: "minikube".into(),
            cpus: 4,
            memory_mib: 8192,
            disk_mib: 30720,
            kubernetes_version: "v1.34.0".into(),
            driver: "docker".into(),
            addons: vec!["ingress".into(), "metrics-server".into()],
        };
        let existing = ClusterProfile {
            name: "dev".into(),
            status: "Stopped".into(),
            driver: "docker".into(),
            cpus: 2,
            memory_mib: 4096,
            kubernetes_version: "v1.35.0".into(),
            container_runtime: "docker".into(),
            node_ip: None,
            nodes: 1,
        };
        assert_eq!(
            start_args("dev", &spec, true, Some(&existing)),
            [
                "start",
                "-p",
                "dev",
                "--output=json",
                "--addons=ingress,metrics-server",
                "--force"
            ],
            "an existing cluster keeps its version, driver and size"
        );
        let drift = profile_drift(&existing, &spec);
        assert_eq!(drift.len(), 2, "{drift:?}");
        assert!(drift[0].contains("runs Kubernetes v1.35.0, the profile asks for v1.34.0"));
        assert!(drift[1].contains("2 CPUs and 4096 MiB, the profile asks for 4 CPUs and 8192 MiB"));
        assert!(
            drift[1].contains("minikube delete -p dev")
                && drift[1].contains("minikube config set cpus")
        );
        assert_eq!(
            start_args("dev", &spec, true, None),
            [
                "start",
                "-p",
                "dev",
                "--cpus=4",
                "--memory=8192mb",
                "--disk-size=30720mb",
                "--driver=docker",
                "--kubernetes-version=v1.34.0",
                "--container-runtime=docker",
                "--output=json",
                "--addons=ingress,metrics-server",
                "--force"
            ]
        );
    }

    #[test]
    fn docker_env_and_failures() {
        let env = parse_docker_env(r#"{"DOCKER_CERT_PATH":"/home/u/.minikube/certs","DOCKER_HOST":"tcp://192.168.49.2:2376","DOCKER_TLS_VERIFY":"1","MINIKUBE_ACTIVE_DOCKERD":"minikube","SSH_AGENT_PID":"","SSH_AUTH_SOCK":""}"#).unwrap();
        assert_eq!(env["DOCKER_HOST"], "tcp://192.168.49.2:2376");
        assert!(!env.contains_key("SSH_AUTH_SOCK"));
        let stderr = "E0909 13:23:36.123456 12345 status.go:304] noise\nX Exiting due to RSRC_INSUFFICIENT_CORES: Requested cpu count 1 is less than the minimum allowed of 2\n* Suggestion: x\n";
        assert_eq!(
            failure_message(stderr, ""),
            "RSRC_INSUFFICIENT_CORES: Requested cpu count 1 is less than the minimum allowed of 2"
        );
    }
}
