//! The resolved project: every default filled in, every path absolute.
//! This is what the rest of todo-dev reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use super::schema::{DatabaseMode, ServiceType, SyncRule};

/// The stack's buildable services (../design/stack.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceName {
    Frontend,
    Backend,
    McpServer,
    AiAgent,
}

impl ServiceName {
    pub const ALL: [ServiceName; 4] = [
        ServiceName::Frontend,
        ServiceName::Backend,
        ServiceName::McpServer,
        ServiceName::AiAgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Frontend => "frontend",
            ServiceName::Backend => "backend",
            ServiceName::McpServer => "mcp-server",
            ServiceName::AiAgent => "ai-agent",
        }
    }

    pub fn parse(s: &str) -> Option<ServiceName> {
        ServiceName::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    Embedded,
    /// A user's `.todo-dev/profiles/NAME.yaml`, over the embedded one of that name if any.
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ProfileInfo {
    pub name: String,
    pub summary: String,
    pub source: ProfileSource,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    /// Minikube profile, also the kube context it writes.
    pub name: String,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_mib: u64,
    pub kubernetes_version: String,
    pub driver: String,
    pub addons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub service_type: ServiceType,
    pub node_port: Option<u16>,
    /// Ingress host, when the profile routes through an Ingress.
    pub ingress_host: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Autoscaling {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub target_cpu_percent: u32,
    pub services: Vec<ServiceName>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RollingUpdate {
    pub max_unavailable: u32,
    pub max_surge: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WatchSettings {
    /// Quiet time after the last event before a change set is decided.
    pub debounce: std::time::Duration,
}

/// A registry images are pushed to: `host[:port]` and a path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// As Docker names it: `ghcr.io`, `127.0.0.1:5000`.
    pub host: String,
    /// `team/todo`, or empty.
    pub path: String,
}

impl Registry {
    /// `HOST[:PORT][/PATH]`, with Docker's rule for what is a registry host:
    /// it has a `.` or a `:`, or is `localhost`.
    pub fn parse(text: &str) -> Result<Registry, String> {
        let t = text.trim().trim_end_matches('/');
        if t.contains("://") {
            return Err(format!(
                "`{t}` has a scheme: write the host only, e.g. `{}`",
                t.split("://").nth(1).unwrap_or_default()
            ));
        }
        let (host, path) = t.split_once('/').unwrap_or((t, ""));
        let is_host = host.contains('.') || host.contains(':') || host == "localhost";
        if host.is_empty() || !is_host {
            return Err(format!(
                "`{t}` does not start with a registry host: write HOST[:PORT][/PATH], e.g. ghcr.io/team or 127.0.0.1:5000"
            ));
        }
        let path_ok = path.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        });
        if !path.is_empty() && !path_ok {
            return Err(format!(
                "`{path}` is no repository path: lowercase letters, digits, `.`, `_`, `-`, parts joined by `/`"
            ));
        }
        Ok(Registry {
            host: host.to_string(),
            path: path.to_string(),
        })
    }

    /// Where `repository` goes in this registry: `host/path/repository`.
    pub fn repository(&self, repository: &str) -> String {
        match self.path.is_empty() {
            true => format!("{}/{repository}", self.host),
            false => format!("{}/{}/{repository}", self.host, self.path),
        }
    }

    /// A local `repository:tag` as this registry names it.
    pub fn image(&self, local: &str) -> String {
        let (repository, tag) = local.rsplit_once(':').unwrap_or((local, "latest"));
        format!("{}:{tag}", self.repository(repository))
    }
}

impl std::fmt::Display for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path.is_empty() {
            true => f.write_str(&self.host),
            false => write!(f, "{}/{}", self.host, self.path),
        }
    }
}

/// A BuildKit secret a Dockerfile may mount by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSecret {
    pub id: String,
    pub from: BuildSecretFrom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildSecretFrom {
    /// The variable's name (its value is read only when a build asks).
    Env(String),
    /// An absolute path.
    File(PathBuf),
}

impl std::fmt::Display for BuildSecretFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildSecretFrom::Env(var) => write!(f, "${var}"),
            BuildSecretFrom::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: ServiceName,
    pub context: PathBuf,
    /// Absolute path; `None` means the embedded template for this service.
    pub dockerfile: Option<PathBuf>,
    pub image: String,
    pub port: u16,
    pub replicas: u32,
    /// Absolute paths watched for changes.
    pub watch: Vec<PathBuf>,
    pub sync: Vec<SyncRule>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub env: BTreeMap<String, String>,
}

impl Service {
    /// A service as the unit tests need one: its name and context, the
    /// embedded Dockerfile, one replica, nothing else set.
    #[cfg(test)]
    pub fn bare(name: ServiceName, context: &std::path::Path, image: &str, port: u16) -> Service {
        Service {
            name,
            context: context.to_path_buf(),
            dockerfile: None,
            image: image.into(),
            port,
            replicas: 1,
            watch: vec![],
            sync: vec![],
            build_args: Default::default(),
            target: None,
            env: Default::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// The `todo-dev.yaml` read, if there is one.
    pub config_file: Option<PathBuf>,
    pub profile: ProfileInfo,
    pub namespace: String,
    pub database: DatabaseMode,
    pub redis: bool,
    pub cluster: ClusterSpec,
    pub access: Access,
    pub autoscaling: Option<Autoscaling>,
    pub rolling_update: Option<RollingUpdate>,
    /// The enabled services, in stack order.
    pub services: Vec<Service>,
    pub watch: WatchSettings,
    /// `build.secrets`, by id.
    pub build_secrets: Vec<BuildSecret>,
    /// `deploy.registry` (or `--registry`): images are pushed there.
    pub registry: Option<Registry>,
    /// The merged layers, for `todo-dev config` (secrets not yet redacted).
    pub merged: serde_json::Value,
}

impl Project {
    pub fn service(&self, name: ServiceName) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The project's name in labels (`app.kubernetes.io/instance`): the root
    /// directory's name as a DNS label.
    pub fn instance_name(&self) -> String {
        let raw = self
            .root
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name: String = raw
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .trim_matches('-')
            .chars()
            .take(63)
            .collect();
        let name = name.trim_end_matches('-');
        if name.is_empty() {
            "todo".into()
        } else {
            name.to_string()
        }
    }
}

#[cfg(test)]
mod registry_tests {
    use super::Registry;

    #[test]
    fn reads_a_registry_as_docker_names_one() {
        let r = Registry::parse("127.0.0.1:5000/team/todo/").unwrap();
        assert_eq!(
            (r.host.as_str(), r.path.as_str()),
            ("127.0.0.1:5000", "team/todo")
        );
        assert_eq!(
            r.repository("todo-backend"),
            "127.0.0.1:5000/team/todo/todo-backend"
        );
        assert_eq!(
            Registry::parse("ghcr.io").unwrap().repository("x"),
            "ghcr.io/x"
        );
        assert_eq!(
            r.image("todo-backend:td-01"),
            "127.0.0.1:5000/team/todo/todo-backend:td-01"
        );
        assert_eq!(
            Registry::parse("localhost").unwrap().to_string(),
            "localhost"
        );
        for (bad, said) in [
            ("team/todo", "does not start with a registry host"),
            ("https://ghcr.io/team", "has a scheme"),
            ("ghcr.io/Team", "no repository path"),
            ("ghcr.io//x", "no repository path"),
        ] {
            let e = Registry::parse(bad).unwrap_err();
            assert!(e.contains(said), "{bad}: {e}");
        }
    }
}
