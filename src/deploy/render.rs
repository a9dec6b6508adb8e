//! Rendering: the embedded manifests filled from the values tree, checked
//! against their k8s-openapi types, in apply order.

use include_dir::{include_dir, Dir};
use serde_json::Value;

use super::kinds::{self, ManagedKind};
use super::values::{self, RenderInput};
use crate::project::model::{DatabaseMode, ServiceName};

static MANIFESTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/embedded/manifests");

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("embedded/manifests/{file}: {message}")]
    Manifest { file: String, message: String },
    #[error("embedded/manifests/{file}: {kind} `{name}` is not a valid {kind}: {message}")]
    Invalid {
        file: String,
        kind: String,
        name: String,
        message: String,
    },
}

pub use super::kinds::Stage;

/// One rendered object.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub file: String,
    pub stage: Stage,
    pub object: Value,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }
    /// `Kind/name`, as kubectl writes it.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }
}

/// Which files to render, each with the service it is about (if any).
fn plan(input: &RenderInput) -> Vec<(&'static str, Option<String>)> {
    let p = input.project;
    let mut files: Vec<(&'static str, Option<String>)> =
        vec![("namespace.yaml", None), ("config.yaml", None)];
    if input.pull_secret.is_some() {
        files.push(("registry-secret.yaml", None));
    }
    if p.database == DatabaseMode::InCluster {
        files.push(("postgres.yaml", Some("postgres".into())));
    }
    if p.redis {
        files.push(("redis.yaml", Some("redis".into())));
    }
    for s in &p.services {
        let file = match s.name {
            ServiceName::Frontend => "frontend.yaml",
            ServiceName::Backend => "backend.yaml",
            ServiceName::McpServer => "mcp-server.yaml",
            ServiceName::AiAgent => "ai-agent.yaml",
        };
        files.push((file, Some(s.name.to_string())));
    }
    let workloads: Vec<String> = files.iter().filter_map(|(_, svc)| svc.clone()).collect();
    for w in workloads {
        files.push(("networkpolicy.yaml", Some(w)));
    }
    if p.access.ingress_host.is_some() && p.service(ServiceName::Frontend).is_some() {
        files.push(("ingress.yaml", None));
    }
    if let Some(a) = &p.autoscaling {
        for s in a.services.iter().filter(|s| p.service(**s).is_some()) {
            files.push(("hpa.yaml", Some(s.to_string())));
        }
    }
    for s in &p.services {
        let replicas = match &p.autoscaling {
            Some(a) if a.services.contains(&s.name) => a.min_replicas,
            _ => s.replicas,
        };
        if replicas > 1 {
            files.push(("pdb.yaml", Some(s.name.to_string())));
        }
    }
    files
}

pub fn render(input: &RenderInput) -> Result<Vec<Manifest>, RenderError> {
    let values = values::build(input);
    let mut out = Vec::new();
    for (file, svc) in plan(input) {
        let err = |message: String| RenderError::Manifest {
            file: file.to_string(),
            message,
        };
        let text = MANIFESTS
            .get_file(file)
            .and_then(|f| f.contents_utf8())
            .ok_or_else(|| err("missing from the binary".into()))?;
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| err(e.to_string()))?;
        let mut scope = values.clone();
        if let Some(s) = &svc {
            scope["svc"] = values["services"][s].clone();
        }
        for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
            fill(&mut doc, &scope).map_err(err)?;
            let managed = check_type(file, &doc)?;
            let stage = kinds::stage_of(managed, &doc);
            out.push(Manifest {
                file: file.to_string(),
                stage,
                object: doc,
            });
        }
    }
    // Stable: within a stage, the order of the plan.
    out.sort_by_key(|m| m.stage);
    Ok(out)
}

/// Replaces `${path}` placeholders from `scope` (see embedded/manifests/README.md).
fn fill(v: &mut Value, scope: &Value) -> Result<(), String> {
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let Some(slot) = map.get_mut(&k) else {
                    continue;
                };
                if let Some(path) = whole_placeholder(slot) {
                    let value = lookup(scope, &path)?;
                    if value.is_null() {
                        map.remove(&k);
                    } else {
                        *slot = value;
                    }
                } else {
                    fill(slot, scope)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                match whole_placeholder(item) {
                    Some(path) => *item = lookup(scope, &path)?,
                    None => fill(item, scope)?,
                }
            }
        }
        Value::String(s) if s.contains("${") => *s = interpolate(s, scope)?,
        _ => {}
    }
    Ok(())
}

fn whole_placeholder(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains('}')).then(|| inner.to_string())
}

fn interpolate(s: &str, scope: &Value) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder in `{s}`"))?
            + start;
        let value = lookup(scope, &rest[start + 2..end])?;
        match value {
            Value::String(t) => out.push_str(&t),
            Value::Null => {
                return Err(format!("`{}` is empty inside `{s}`", &rest[start + 2..end]))
            }
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(scope: &Value, path: &str) -> Result<Value, String> {
    let mut cur = scope;
    for part in path.split('.') {
        cur = cur
            .get(part)
            .ok_or_else(|| format!("unknown value `{path}` (see `todo-dev render --values`)"))?;
    }
    Ok(cur.clone())
}

/// Every object must be of a managed kind and read as its k8s-openapi type.
fn check_type(file: &str, doc: &Value) -> Result<&'static ManagedKind, RenderError> {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let result = match kinds::find(kind) {
        Some(managed) => (managed.check)(doc).map(|()| managed),
        None => Err(format!("todo-dev does not manage kind `{kind}`")),
    };
    result.map_err(|message| RenderError::Invalid {
        file: file.to_string(),
        kind: kind.to_string(),
        name: doc["metadata"]["name"].as_str().unwrap_or("?").to_string(),
        message,
    })
}

/// The objects with Secret values replaced, for printing.
pub fn redacted(manifests: &[Manifest]) -> Vec<Value> {
    manifests
        .iter()
        .map(|m| {
            let mut o = m.object.clone();
            if m.kind() == "Secret" {
                if let Some(Value::Object(data)) = o.get_mut("data") {
                    for v in data.values_mut() {
                        *v = Value::String(crate::project::secrets::REDACTED.into());
                    }
                }
            }
            o
        })
        .collect()
}
