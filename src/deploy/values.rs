//! The values tree the embedded manifests are filled from: everything a
//! manifest may say, computed once from the project, images and secrets.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::project::model::{DatabaseMode, ServiceName, ServiceType};
use crate::project::secrets::SecretValue;
use crate::project::Project;

/// Upstream images for the databases, pinned (never `latest`).
pub const POSTGRES_IMAGE: &str = "postgres:16.4";
pub const REDIS_IMAGE: &str = "redis:7.4";

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const NAME: &str = "app.kubernetes.io/name";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const MANAGER: &str = "todo-dev";

/// What rendering needs besides the project.
pub struct RenderInput<'a> {
    pub project: &'a Project,
    /// Full image references (`todo-backend:td-...`) per service.
    pub images: &'a BTreeMap<ServiceName, String>,
    pub secrets: &'a BTreeMap<String, SecretValue>,
    /// Plain settings from `.env`/the environment (LLM_BASE_URL, LLM_MODEL).
    pub settings: &'a BTreeMap<String, String>,
}

/// The label selector that finds every object todo-dev made for this project.
pub fn ownership_selector(project: &Project) -> String {
    format!(
        "{MANAGED_BY}={MANAGER},{INSTANCE}={}",
        project.instance_name()
    )
}

pub fn labels(project: &Project, component: &str) -> Value {
    json!({
        PART_OF: "todo",
        NAME: component,
        MANAGED_BY: MANAGER,
        INSTANCE: project.instance_name(),
    })
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

pub fn build(input: &RenderInput) -> Value {
    let p = input.project;
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
        let env: Vec<Value> = s
            .env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
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
                "image": input.images.get(&s.name).cloned().unwrap_or_else(|| format!("{}:unbuilt", s.image)),
                "port": s.port,
                // The HPA owns replicas of an autoscaled Deployment.
                "replicas": if autoscaled(s.name) { Value::Null } else { json!(s.replicas) },
                "labels": labels(p, name),
                "selector": selector(p, name),
                "resources": resources(name),
                // nginx images run as 101 (nginx-unprivileged), the python and node ones as 10001.
                "runAsUser": if frontend && !is_nextjs(s) { 101 } else { 10001 },
                "env": if env.is_empty() { Value::Null } else { Value::Array(env) },
                "strategy": strategy,
                "serviceType": service_type,
                "nodePort": node_port,
            }),
        );
    }
    for (name, image) in [("postgres", POSTGRES_IMAGE), ("redis", REDIS_IMAGE)] {
        services.insert(
            name.to_string(),
            json!({"name": name, "image": image, "labels": labels(p, name), "selector": selector(p, name), "resources": resources(name)}),
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
        "config": config(input),
        "secrets": secrets,
        "access": {"host": p.access.ingress_host},
        "autoscaling": p.autoscaling.as_ref().map(|a| json!({
            "minReplicas": a.min_replicas, "maxReplicas": a.max_replicas, "targetCpuPercent": a.target_cpu_percent,
        })),
    })
}

/// The one frontend template that runs node (uid 10001) rather than nginx (101).
fn is_nextjs(s: &crate::project::model::Service) -> bool {
    use crate::build::template::{choose, DockerfileSource, Stack};
    matches!(choose(s), Ok(DockerfileSource::Template(Stack::NextJs)))
}

/// The `todo-config` ConfigMap (../design/stack.md's plain variables).
fn config(input: &RenderInput) -> Value {
    let p = input.project;
    let backend_port = p.service(ServiceName::Backend).map_or(8000, |s| s.port);
    let mut c = BTreeMap::new();
    c.insert("BACKEND_URL", format!("http://backend:{backend_port}"));
    let setting = |k: &str, default: &str| {
        input
            .settings
            .get(k)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    c.insert(
        "LLM_BASE_URL",
        setting("LLM_BASE_URL", "https://api.openai.com/v1"),
    );
    c.insert("LLM_MODEL", setting("LLM_MODEL", "gpt-4o-mini"));
    match p.service(ServiceName::McpServer) {
        Some(mcp) => c.insert(
            "MCP_SERVER_URL",
            format!("http://mcp-server:{}/mcp", mcp.port),
        ),
        // Without the mcp-server service the backend runs MCP as a stdio subprocess.
        None => c.insert("MCP_TRANSPORT", "stdio".to_string()),
    };
    if p.redis {
        c.insert("REDIS_URL", "redis://redis:6379/0".to_string());
    }
    c.insert("DATABASE_MODE", p.database.as_str().to_string());
    if p.database == DatabaseMode::InCluster {
        c.insert("DATABASE_HOST", "postgres".to_string());
    }
    json!(c)
}
