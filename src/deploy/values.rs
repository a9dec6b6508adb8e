//! The values tree the embedded manifests are filled from: everything a
//! manifest may say, computed once from the project, images and secrets.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::project::model::{DatabaseMode, ServiceName, ServiceType};
use crate::project::secrets::{SecretValue, LLM_PROVIDERS};
use crate::project::Project;

/// Upstream images for the databases, pinned (never `latest`).
pub const POSTGRES_IMAGE: &str = "postgres:16.4";
pub const REDIS_IMAGE: &str = "redis:7.4";

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const NAME: &str = "app.kubernetes.io/name";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const MANAGER: &str = "todo-dev";

/// The user a container runs as when its image names none of 10000 or more
/// (no clash with host users; ../design/stack.md).
pub const DEFAULT_UID: u32 = 10001;

/// An image as the deploy stage takes it, handed over by the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `repository:tag`, e.g. `todo-backend:td-0123456789abcdef`.
    pub reference: String,
    /// The numeric user the image's Dockerfile runs as, when it names one.
    pub run_as: Option<u32>,
    /// The image's command with its reload flag (`uvicorn --reload`), if it has one.
    pub reload_command: Option<Vec<String>>,
}

/// `watch`'s dev variant (../design/stack.md): the synced services, whose
/// containers get a writable root filesystem (Docker refuses to copy into a
/// read-only one) and their image's reload command. Empty: the hardened
/// objects `up` applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevVariant {
    pub synced: BTreeSet<ServiceName>,
}

impl DevVariant {
    pub fn hardened() -> DevVariant {
        DevVariant::default()
    }
}

impl ImageRef {
    /// The pod's `runAsUser`: the image's own user when it is 10000 or
    /// more, else [`DEFAULT_UID`] (every image todo-dev deploys runs as any uid).
    pub fn uid(&self) -> u32 {
        self.run_as.filter(|u| *u >= 10_000).unwrap_or(DEFAULT_UID)
    }
}

/// The image pull Secret made from the user's registry credentials.
pub const PULL_SECRET_NAME: &str = "todo-registry";

/// What rendering needs besides the project.
pub struct RenderInput<'a> {
    pub project: &'a Project,
    /// The image each service runs.
    pub images: &'a BTreeMap<ServiceName, ImageRef>,
    pub secrets: &'a BTreeMap<String, SecretValue>,
    /// Plain settings from `.env`/the environment (LLM_BASE_URL, LLM_MODEL).
    pub settings: &'a BTreeMap<String, String>,
    pub dev: &'a DevVariant,
    /// With a registry that needs credentials: the `.dockerconfigjson` for
    /// it (JSON text), rendered as [`PULL_SECRET_NAME`] and named by every
    /// app pod. None: images come from the node's daemon or need no login.
    pub pull_secret: Option<&'a SecretValue>,
}

/// Whose an object is: an object is this project's only when both its
/// `managed-by` and its `instance` label say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    pub instance: String,
}

impl Ownership {
    pub fn of(project: &Project) -> Ownership {
        Ownership {
            instance: project.instance_name(),
        }
    }

    /// The label selector that finds every object todo-dev made for this project.
    pub fn selector(&self) -> String {
        format!("{MANAGED_BY}={MANAGER},{INSTANCE}={}", self.instance)
    }

    pub fn owns(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        owner(labels).as_deref() == Some(self.instance.as_str())
    }
}

/// The todo-dev project an object belongs to (`Some("")` when todo-dev made
/// it without an instance label); `None` when todo-dev did not make it.
pub fn owner(labels: Option<&BTreeMap<String, String>>) -> Option<String> {
    let labels = labels?;
    (labels.get(MANAGED_BY).map(String::as_str) == Some(MANAGER))
        .then(|| labels.get(INSTANCE).cloned().unwrap_or_default())
}

pub fn labels(project: &Project, component: &str) -> Value {
    json!({
        PART_OF: "todo",
        NAME: component,
        MANAGED_BY: MANAGER,
        INSTANCE: project.instance_name(),
    })
}

/// The label selector of one component's pods (what its workload selects).
pub fn pod_selector(project: &Project, component: &str) -> String {
    format!("{NAME}={component},{INSTANCE}={}", project.instance_name())
}

fn selector(project: &Project, component: &str) -> Value {
    json!({ NAME: component, INSTANCE: project.instance_name() })
}

fn resources(component: &str) -> Value {
    let (req_cpu, req_mem, lim_cpu, lim_mem) = match component {
        "frontend" => ("50m", "64Mi", "250m", "128Mi"),
        "backend" => ("100m", "128Mi", "500m", "512Mi"),
        "postgres" => ("100m", "256Mi", "500m", "512Mi"),
        "redis" => ("50m", "64Mi", "250m", "128Mi"),
        _ => ("50m", "128Mi", "250m", "256Mi"),
    };
    json!({"requests": {"cpu": req_cpu, "memory": req_mem}, "limits": {"cpu": lim_cpu, "memory": lim_mem}})
}

/// The ConfigMap and Secret keys each workload reads (../design/stack.md):
/// it gets exactly these as environment variables, and a checksum of their
/// values, so a changed value rolls exactly the workloads that read it.
/// Those that call the model also read every provider's key (`calls_llm`).
fn reads(component: &str) -> (&'static [&'static str], &'static [&'static str]) {
    const LLM: [&str; 7] = [
        "LLM_PROVIDER",
        "LLM_BASE_URL",
        "LLM_MODEL",
        "MCP_SERVER_URL",
        "MCP_TRANSPORT",
        "DATABASE_MODE",
        "DATABASE_HOST",
    ];
    match component {
        // Only the backend signs tokens; the others check them with its public
        // key (JWKS at /api/auth/jwks), so none of them mounts BETTER_AUTH_SECRET.
        "frontend" => (&["BACKEND_URL"], &[]),
        "backend" => (
            &[
                "LLM_PROVIDER",
                "LLM_BASE_URL",
                "LLM_MODEL",
                "MCP_SERVER_URL",
                "MCP_TRANSPORT",
                "AGENT_URL",
                "REDIS_URL",
                "DATABASE_MODE",
                "DATABASE_HOST",
            ],
            &["DATABASE_URL", "BETTER_AUTH_SECRET"],
        ),
        "mcp-server" => (&["DATABASE_MODE", "DATABASE_HOST"], &["DATABASE_URL"]),
        "ai-agent" => (&LLM, &["DATABASE_URL"]),
        "postgres" => (&[], &["POSTGRES_PASSWORD"]),
        _ => (&[], &[]),
    }
}

/// The workloads that call the model: LLM_PROVIDER picks which key they use.
fn calls_llm(component: &str) -> bool {
    matches!(component, "backend" | "ai-agent")
}

/// A workload's environment from the ConfigMap and Secret (only the keys
/// they hold), then its plain `env` values; and the checksum of the values
/// it reads (None when it reads none). The checksum is a keyed hash, so
/// the annotation says nothing about a secret's value.
fn wiring(
    component: &str,
    config: &Value,
    secrets: &BTreeMap<String, SecretValue>,
    plain: &BTreeMap<String, String>,
) -> (Vec<Value>, Option<String>) {
    let (config_keys, secret_keys) = reads(component);
    let mut env = Vec::new();
    let mut hasher = blake3::Hasher::new_derive_key("todo-dev checksum/config v1");
    let mut read_any = false;
    for key in config_keys {
        if let Some(v) = config[*key].as_str() {
            env.push(json!({"name": key, "valueFrom": {"configMapKeyRef": {"name": "todo-config", "key": key}}}));
            hasher.update(format!("config\0{key}\0{}\0", v.len()).as_bytes());
            hasher.update(v.as_bytes());
            read_any = true;
        }
    }
    let llm_keys = LLM_PROVIDERS
        .iter()
        .map(|(_, key)| key)
        .filter(|_| calls_llm(component));
    for key in secret_keys.iter().chain(llm_keys) {
        if let Some(v) = secrets.get(*key) {
            env.push(json!({"name": key, "valueFrom": {"secretKeyRef": {"name": "todo-secrets", "key": key}}}));
            hasher.update(format!("secret\0{key}\0{}\0", v.expose().len()).as_bytes());
            hasher.update(v.expose().as_bytes());
            read_any = true;
        }
    }
    env.extend(plain.iter().map(|(k, v)| json!({"name": k, "value": v})));
    let checksum = read_any.then(|| hasher.finalize().to_hex()[..32].to_string());
    (env, checksum)
}

/// Who may call each workload (../design/stack.md): the components whose
/// pods it admits, and whether the ingress controller or anyone at all may.
fn callers(component: &str) -> (&'static [&'static str], bool, bool) {
    match component {
        "frontend" => (&[], true, true),
        // mcp-server fetches the backend's JWKS to check tokens
        "backend" => (&["frontend", "ai-agent", "mcp-server"], true, false),
        "mcp-server" => (&["backend", "ai-agent"], false, false),
        "ai-agent" => (&["backend"], false, false),
        "postgres" => (&["backend", "mcp-server", "ai-agent"], false, false),
        "redis" => (&["backend"], false, false),
        _ => (&[], false, false),
    }
}

/// The `ingress` rules of a workload's NetworkPolicy.
fn network_policy(p: &Project, component: &str, present: &[&str]) -> Value {
    let (from, ingress_controller, anyone) = callers(component);
    if anyone {
        // An empty rule admits every source: users through a NodePort, the ingress controller.
        return json!([{}]);
    }
    let mut peers: Vec<Value> = from
        .iter()
        .filter(|c| present.contains(c))
        .map(|c| json!({"podSelector": {"matchLabels": selector(p, c)}}))
        .collect();
    if ingress_controller {
        // minikube's ingress addon runs in namespace ingress-nginx.
        peers.push(json!({
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        }));
    }
    if peers.is_empty() {
        // No caller in this profile: admit nothing.
        return json!([]);
    }
    json!([{"from": peers}])
}

pub fn build(input: &RenderInput) -> Value {
    let p = input.project;
    let config = config(input);
    let mut present: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    if p.database == DatabaseMode::InCluster {
        present.push("postgres");
    }
    if p.redis {
        present.push("redis");
    }
    let autoscaled = |n: ServiceName| {
        p.autoscaling
            .as_ref()
            .is_some_and(|a| a.services.contains(&n))
    };
    let mut services = Map::new();
    for s in &p.services {
        let name = s.name.as_str();
        let frontend = s.name == ServiceName::Frontend;
        let service_type = match (frontend, p.access.service_type) {
            (true, ServiceType::NodePort) => "NodePort",
            _ => "ClusterIP",
        };
        let node_port = match (frontend, p.access.service_type, p.access.node_port) {
            (true, ServiceType::NodePort, Some(port)) => json!(port),
            _ => Value::Null,
        };
        let (env, checksum) = wiring(name, &config, input.secrets, &s.env);
        let image = input.images.get(&s.name);
        let dev = input.dev.synced.contains(&s.name);
        let command = match image.and_then(|i| i.reload_command.clone()) {
            Some(c) if dev => json!(c),
            _ => Value::Null,
        };
        let strategy = match &p.rolling_update {
            Some(r) => {
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": r.max_unavailable, "maxSurge": r.max_surge}})
            }
            None => Value::Null,
        };
        services.insert(
            name.to_string(),
            json!({
                "name": name,
                "image": image.map_or_else(|| format!("{}:unbuilt", s.image), |i| i.reference.clone()),
                "port": s.port,
                // The HPA owns replicas of an autoscaled Deployment.
                "replicas": if autoscaled(s.name) { Value::Null } else { json!(s.replicas) },
                "labels": labels(p, name),
                "selector": selector(p, name),
                "resources": resources(name),
                "runAsUser": image.map_or(DEFAULT_UID, ImageRef::uid),
                "readOnlyRootFilesystem": !dev,
                "command": command,
                "env": if env.is_empty() { Value::Null } else { Value::Array(env) },
                "annotations": checksum.map(|c| json!({"checksum/config": c})),
                "ingressFrom": network_policy(p, name, &present),
                "strategy": strategy,
                "serviceType": service_type,
                "nodePort": node_port,
                "imagePullSecrets": input.pull_secret.map(|_| json!([{"name": PULL_SECRET_NAME}])),
            }),
        );
    }
    for (name, image) in [("postgres", POSTGRES_IMAGE), ("redis", REDIS_IMAGE)] {
        let (_, checksum) = wiring(name, &config, input.secrets, &BTreeMap::new());
        services.insert(
            name.to_string(),
            json!({"name": name, "image": image, "labels": labels(p, name), "selector": selector(p, name), "resources": resources(name),
                   // Upstream images that run under any uid; fsGroup makes their volume writable.
                   "runAsUser": DEFAULT_UID,
                   "annotations": checksum.map(|c| json!({"checksum/config": c})),
                   "ingressFrom": network_policy(p, name, &present)}),
        );
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let secrets: Map<String, Value> = input
        .secrets
        .iter()
        .map(|(k, v)| (k.clone(), json!(b64.encode(v.expose()))))
        .collect();
    json!({
        "namespace": p.namespace,
        "instance": p.instance_name(),
        "profile": p.profile.name,
        "labels": {
            "namespace": labels(p, "namespace"),
            "config": labels(p, "config"),
            "ingress": labels(p, "ingress"),
        },
        "services": services,
        "config": config,
        "secrets": secrets,
        "registry": input.pull_secret.map(|s| json!({
            "pullSecret": PULL_SECRET_NAME,
            "dockerConfigJson": b64.encode(s.expose()),
        })),
        "access": {"host": p.access.ingress_host},
        "autoscaling": p.autoscaling.as_ref().map(|a| json!({
            "minReplicas": a.min_replicas, "maxReplicas": a.max_replicas, "targetCpuPercent": a.target_cpu_percent,
        })),
    })
}

/// The `todo-config` ConfigMap (../design/stack.md's plain variables).
fn config(input: &RenderInput) -> Value {
    let p = input.project;
    let backend_port = p.service(ServiceName::Backend).map_or(8000, |s| s.port);
    let mut c = BTreeMap::new();
    c.insert("BACKEND_URL", format!("http://backend:{backend_port}"));
    // Only what the user set: the app picks each provider's own base URL and
    // model, which a default here would override.
    for key in ["LLM_PROVIDER", "LLM_BASE_URL", "LLM_MODEL"] {
        if let Some(v) = input.settings.get(key) {
            c.insert(key, v.clone());
        }
    }
    match p.service(ServiceName::McpServer) {
        Some(mcp) => c.insert(
            "MCP_SERVER_URL",
            format!("http://mcp-server:{}/mcp", mcp.port),
        ),
        // Without the mcp-server service the backend runs MCP as a stdio subprocess.
        None => c.insert("MCP_TRANSPORT", "stdio".to_string()),
    };
    // With the ai-agent service the backend's chat calls it; else the agent runs in the backend.
    if let Some(agent) = p.service(ServiceName::AiAgent) {
        c.insert("AGENT_URL", format!("http://ai-agent:{}", agent.port));
    }
    if p.redis {
        c.insert("REDIS_URL", "redis://redis:6379/0".to_string());
    }
    c.insert("DATABASE_MODE", p.database.as_str().to_string());
    if p.database == DatabaseMode::InCluster {
        c.insert("DATABASE_HOST", "postgres".to_string());
    }
    json!(c)
}
