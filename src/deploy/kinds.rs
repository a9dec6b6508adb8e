//! The kinds todo-dev manages, in one table: how each is addressed on the
//! API, when it is applied, and whether prune and `down` delete it. Render,
//! apply, prune and `down` all read this table and nothing else.

use k8s_openapi::api::{
    apps::v1 as apps, autoscaling::v2 as autoscaling, core::v1 as core, networking::v1 as net,
    policy::v1 as policy,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::values;

/// When objects are applied: each stage waits for nothing but comes after
/// the ones it depends on (removal runs the stages backwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Namespace,
    /// ConfigMaps, Secrets, claims.
    Config,
    Databases,
    Backends,
    /// Frontends, Ingress, autoscalers, disruption budgets.
    Frontends,
}

/// How an object's apply stage is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageRule {
    /// Every object of the kind goes in this stage.
    Fixed(Stage),
    /// A workload and its Service go with their component: postgres and
    /// redis in Databases, backend, mcp-server and ai-agent in Backends, the
    /// rest in Frontends. `down` removes kind by kind, not object by object,
    /// so the kind as a whole also has a place among the stages.
    ByComponent { whole_kind: Stage },
}

impl StageRule {
    /// The stage of one object of the kind, by its component label.
    pub fn stage_of(&self, component: &str) -> Stage {
        match self {
            StageRule::Fixed(stage) => *stage,
            StageRule::ByComponent { .. } => match component {
                "postgres" | "redis" => Stage::Databases,
                "backend" | "mcp-server" | "ai-agent" => Stage::Backends,
                _ => Stage::Frontends,
            },
        }
    }

    /// Where the kind as a whole goes when it is handled at once (`down`).
    pub fn whole_kind(&self) -> Stage {
        match self {
            StageRule::Fixed(stage) | StageRule::ByComponent { whole_kind: stage } => *stage,
        }
    }
}

/// One managed kind.
#[derive(Debug)]
pub struct ManagedKind {
    pub kind: &'static str,
    /// API group ("" for the core group).
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub stage: StageRule,
    pub namespaced: bool,
    /// Deleted when a new render no longer has it.
    pub prunable: bool,
    /// Deleted by `down`.
    pub down: bool,
    /// Deleted by `down --purge` (what `down` keeps, such as claims and
    /// their data, goes only then).
    pub purge: bool,
    /// Reads an object as its k8s-openapi type.
    pub check: fn(&Value) -> Result<(), String>,
}

impl ManagedKind {
    pub fn api_resource(&self) -> ApiResource {
        let gvk = GroupVersionKind::gvk(self.group, self.version, self.kind);
        ApiResource::from_gvk_with_plural(&gvk, self.plural)
    }
}

fn parse<T: serde::de::DeserializeOwned>(doc: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(doc.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Every kind todo-dev manages. Prune goes through it backwards; `down` by
/// stage backwards (this order within a stage); the search for what else is
/// in a namespace forwards.
pub static KINDS: [ManagedKind; 11] = [
    ManagedKind {
        kind: "Namespace",
        group: "",
        version: "v1",
        plural: "namespaces",
        stage: StageRule::Fixed(Stage::Namespace),
        namespaced: false,
        prunable: false,
        // Only with --purge, only if this project made it and nothing else is in it.
        down: false,
        purge: true,
        check: parse::<core::Namespace>,
    },
    ManagedKind {
        kind: "ConfigMap",
        group: "",
        version: "v1",
        plural: "configmaps",
        stage: StageRule::Fixed(Stage::Config),
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<core::ConfigMap>,
    },
    ManagedKind {
        kind: "Secret",
        group: "",
        version: "v1",
        plural: "secrets",
        stage: StageRule::Fixed(Stage::Config),
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<core::Secret>,
    },
    ManagedKind {
        kind: "PersistentVolumeClaim",
        group: "",
        version: "v1",
        plural: "persistentvolumeclaims",
        stage: StageRule::Fixed(Stage::Config),
        namespaced: true,
        // Claims hold the data: only `down --purge` deletes them.
        prunable: false,
        down: false,
        purge: true,
        check: parse::<core::PersistentVolumeClaim>,
    },
    ManagedKind {
        kind: "NetworkPolicy",
        group: "networking.k8s.io",
        version: "v1",
        plural: "networkpolicies",
        // Policies before the pods they guard.
        stage: StageRule::Fixed(Stage::Config),
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<net::NetworkPolicy>,
    },
    ManagedKind {
        kind: "Service",
        group: "",
        version: "v1",
        plural: "services",
        stage: StageRule::ByComponent {
            whole_kind: Stage::Backends,
        },
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<core::Service>,
    },
    ManagedKind {
        kind: "StatefulSet",
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        stage: StageRule::ByComponent {
            whole_kind: Stage::Databases,
        },
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<apps::StatefulSet>,
    },
    ManagedKind {
        kind: "Deployment",
        group: "apps",
        version: "v1",
        plural: "deployments",
        stage: StageRule::ByComponent {
            whole_kind: Stage::Backends,
        },
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<apps::Deployment>,
    },
    ManagedKind {
        kind: "Ingress",
        group: "networking.k8s.io",
        version: "v1",
        plural: "ingresses",
        stage: StageRule::Fixed(Stage::Frontends),
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<net::Ingress>,
    },
    ManagedKind {
        kind: "HorizontalPodAutoscaler",
        group: "autoscaling",
        version: "v2",
        plural: "horizontalpodautoscalers",
        stage: StageRule::Fixed(Stage::Frontends),
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<autoscaling::HorizontalPodAutoscaler>,
    },
    ManagedKind {
        kind: "PodDisruptionBudget",
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
        stage: StageRule::Fixed(Stage::Frontends),
        namespaced: true,
        prunable: true,
        down: true,
        purge: true,
        check: parse::<policy::PodDisruptionBudget>,
    },
];

/// The table's row for `kind`, if todo-dev manages it.
pub fn find(kind: &str) -> Option<&'static ManagedKind> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// The stage of a rendered object of a managed kind.
pub fn stage_of(managed: &ManagedKind, object: &Value) -> Stage {
    let component = object["metadata"]["labels"][values::NAME]
        .as_str()
        .unwrap_or_default();
    managed.stage.stage_of(component)
}

/// The kinds `down` goes through, stages backwards (the table's order
/// within a stage): deleted, or kept and named unless --purge.
pub fn removal_order() -> Vec<&'static ManagedKind> {
    let mut kinds: Vec<&ManagedKind> = KINDS
        .iter()
        .filter(|k| k.namespaced && (k.down || k.purge))
        .collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.stage.whole_kind()));
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_once_and_down_never_deletes_what_purge_keeps() {
        for (i, k) in KINDS.iter().enumerate() {
            assert!(
                KINDS[i + 1..].iter().all(|o| o.kind != k.kind),
                "{} twice",
                k.kind
            );
            assert!(
                !k.down || k.purge,
                "{}: purge deletes what down does",
                k.kind
            );
            // Prune deletes nothing that `down` keeps.
            assert!(!k.prunable || k.down, "{}: pruned but kept by down", k.kind);
        }
    }

    #[test]
    fn down_removes_stages_backwards_keeping_the_table_order_within_one() {
        let order: Vec<&str> = removal_order().iter().map(|k| k.kind).collect();
        assert_eq!(
            order,
            [
                "Ingress",
                "HorizontalPodAutoscaler",
                "PodDisruptionBudget",
                "Service",
                "Deployment",
                "StatefulSet",
                "ConfigMap",
                "Secret",
                "PersistentVolumeClaim",
                "NetworkPolicy",
            ]
        );
    }

    #[test]
    fn workloads_and_services_are_staged_by_component() {
        let service = find("Service").unwrap();
        for (component, stage) in [
            ("postgres", Stage::Databases),
            ("redis", Stage::Databases),
            ("backend", Stage::Backends),
            ("mcp-server", Stage::Backends),
            ("ai-agent", Stage::Backends),
            ("frontend", Stage::Frontends),
        ] {
            let object = serde_json::json!({"metadata": {"labels": {values::NAME: component}}});
            assert_eq!(stage_of(service, &object), stage, "{component}");
        }
        let cm = serde_json::json!({"metadata": {"labels": {values::NAME: "postgres"}}});
        assert_eq!(stage_of(find("ConfigMap").unwrap(), &cm), Stage::Config);
    }
}
