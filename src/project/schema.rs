//! The on-disk shape shared by `todo-dev.yaml`, profile files and `--set`:
//! every field optional, so layers can be merged before defaults are resolved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One configuration layer: the embedded defaults, a profile, the user's
/// `todo-dev.yaml`, or one `--set`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Layer {
    /// Which profile the project uses (only in `todo-dev.yaml` or `--set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// One line saying what a profile is for (only in profile files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `in-cluster` runs Postgres in the cluster; `external` needs DATABASE_URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseMode>,
    /// Redis as a StatefulSet with its claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<ServicesLayer>,
    /// How `todo-dev watch` turns file events into change sets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployLayer>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeployLayer {
    /// Where images are pushed for the cluster to pull: `HOST[:PORT][/PATH]`
    /// (also `--registry`). Unset: built straight into Minikube's daemon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BuildLayer {
    /// BuildKit secrets by id (`RUN --mount=type=secret,id=ID`), each read
    /// from the user's environment or a file at build time, never from the context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<BTreeMap<String, BuildSecretLayer>>,
}

/// Where one build secret comes from: exactly one of the two.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BuildSecretLayer {
    /// An environment variable of the shell that runs todo-dev.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// A file, relative to the project root (or absolute, `~/` for home).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WatchLayer {
    /// Quiet time after the last file event before a change set is decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debounce: Option<Millis>,
}

/// A duration as the user wrote it (`100ms`, `0.5s`, `1s`, or a bare number
/// of milliseconds) and its value in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Millis {
    pub ms: u64,
    pub text: String,
}

impl Millis {
    pub fn parse(text: &str) -> Result<Millis, String> {
        let t = text.trim();
        let bad = || format!("`{text}` is not a duration: write e.g. 100ms, 0.5s or 250 (ms)");
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let n: f64 = number.parse().map_err(|_| bad())?;
        let ms = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "ms" => n,
            "s" => n * 1000.0,
            _ => {
                return Err(format!(
                    "`{text}` has an unknown unit `{unit}`: use ms or s (e.g. 100ms)"
                ))
            }
        };
        if !ms.is_finite() || ms < 0.0 || ms.fract() != 0.0 {
            return Err(bad());
        }
        Ok(Millis {
            ms: ms as u64,
            text: t.to_string(),
        })
    }
}

impl Serialize for Millis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Millis;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration such as 100ms, 0.5s or 250 (ms)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Millis, E> {
                Ok(Millis {
                    ms: v,
                    text: format!("{v}ms"),
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Millis, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("a duration cannot be negative ({v})")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Millis, E> {
                Millis::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The stack's buildable services, by name; a fixed set because the embedded
/// manifests know exactly these (postgres and redis come from upstream images).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServicesLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontend: Option<ServiceLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<ServiceLayer>,
    #[serde(rename = "mcp-server", skip_serializing_if = "Option::is_none")]
    pub mcp_server: Option<ServiceLayer>,
    #[serde(rename = "ai-agent", skip_serializing_if = "Option::is_none")]
    pub ai_agent: Option<ServiceLayer>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseMode {
    InCluster,
    External,
}

impl DatabaseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseMode::InCluster => "in-cluster",
            DatabaseMode::External => "external",
        }
    }
}

/// What the Minikube cluster must provide.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterLayer {
    /// Minikube profile name (`minikube -p NAME`), also the kube context name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// `4GiB`, `4g`, `4096mb` or a number of MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addons: Option<Vec<String>>,
}

/// A size as the user wrote it (`4GiB`, `4g`, `4096mb`, or a bare number of
/// MiB) and its value in MiB. Units are binary, as minikube and Docker read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub mib: u64,
    pub text: String,
}

impl Quantity {
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a size: write e.g. 4GiB, 4g or 4096 (MiB)"))?;
        let mib = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "m" | "mb" | "mi" | "mib" => n,
            "g" | "gb" | "gi" | "gib" => n * 1024,
            "t" | "tb" | "ti" | "tib" => n * 1024 * 1024,
            _ => {
                return Err(format!(
                    "`{text}` has an unknown unit `{unit}`: use MiB, GiB or TiB (e.g. 4GiB)"
                ))
            }
        };
        Ok(Quantity {
            mib,
            text: t.to_string(),
        })
    }
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size such as 4GiB, 4g or 4096 (MiB)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity {
                    mib: v,
                    text: format!("{v}MiB"),
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("a size cannot be negative ({v})")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessLayer {
    /// How the frontend Service is exposed: `NodePort` or `ClusterIP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    /// Fixed node port for the frontend (30000-32767); unset lets Kubernetes pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress: Option<bool>,
    /// Ingress host name, e.g. `todo.local`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ServiceType {
    NodePort,
    ClusterIP,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutoscalingLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_cpu_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollingUpdateLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<u32>,
}

/// One buildable service of the stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Build context, relative to the project root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Dockerfile, relative to the context; absent means the embedded template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Image repository; the tag is computed from the build inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Paths (relative to the project root) whose changes rebuild this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<Vec<String>>,
    /// Files copied into the running pod instead of rebuilding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<Vec<SyncRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_args: Option<BTreeMap<String, String>>,
    /// Multi-stage build target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Plain (non-secret) environment for the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
}

/// Files matching `src` (a glob relative to the context) are copied to
/// `dest` in the container, keeping their path below the glob's fixed
/// prefix (`app/**/*.py` -> `/app/app/`: `app/routes/x.py` lands in
/// `/app/app/routes/x.py`); `run` then runs in the container (`sh -c`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncRule {
    pub src: String,
    pub dest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}
