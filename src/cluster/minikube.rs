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
    pub node_ip: Option<String>,
}

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
                node_ip: c
                    .nodes
                    .iter()
                    .find(|n| n.control_plane)
                    .map(|n| n.ip.clone())
                    .filter(|ip| !ip.is_empty()),
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

/// The `minikube start` arguments for a cluster spec.
pub fn start_args(
    profile: &str,
    spec: &crate::project::model::ClusterSpec,
    as_root: bool,
) -> Vec<String> {
    let mut args = vec![
        "start".to_string(),
        "-p".into(),
        profile.into(),
        format!("--cpus={}", spec.cpus),
        format!("--memory={}mb", spec.memory_mib),
        format!("--disk-size={}mb", spec.disk_mib),
        format!("--driver={}", spec.driver),
        format!("--kubernetes-version={}", spec.kubernetes_version),
        "--output=json".into(),
    ];
    if !spec.addons.is_empty() {
        args.push(format!("--addons={}", spec.addons.join(",")));
    }
    // minikube refuses the docker driver as root (DRV_AS_ROOT) unless forced.
    if as_root && spec.driver == "docker" {
        args.push("--force".into());
    }
    args
}

impl Minikube {
    /// `minikube start` for `spec`, reporting each event; the error event's
    /// reason when it fails.
    pub async fn start(
        &self,
        spec: &crate::project::model::ClusterSpec,
        as_root: bool,
        mut on_event: impl FnMut(&StartEvent),
    ) -> Result<(), MinikubeError> {
        use tokio::io::AsyncBufReadExt;
        let args = start_args(&self.profile, spec, as_root);
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
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            use tokio::io::AsyncReadExt;
            let _ = e.read_to_string(&mut stderr).await;
        }
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

    /// Enables each addon that is not enabled yet; returns the ones it enabled.
    pub async fn ensure_addons(&self, addons: &[String]) -> Result<Vec<String>, MinikubeError> {
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
            let out = self
                .run(&["addons", "enable", addon, "-p", &self.profile])
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
        // The update notice would otherwise be mixed into text output.
        let envs = [("MINIKUBE_WANTUPDATENOTIFICATION", "false")];
        Ok(exec::run(self.program.as_os_str(), args, &envs, self.deadline).await?)
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
        let out = self
            .run(&["status", "-p", &self.profile, "-o", "json"])
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
                node_ip: Some("192.168.49.2".into()),
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
        assert_eq!(
            start_args("dev", &spec, true),
            [
                "start",
                "-p",
                "dev",
                "--cpus=4",
                "--memory=8192mb",
                "--disk-size=30720mb",
                "--driver=docker",
                "--kubernetes-version=v1.34.0",
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
