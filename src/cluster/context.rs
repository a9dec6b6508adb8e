//! Which kube context todo-dev would talk to, and whether it is a local
//! cluster. The one owner of "is this cluster ours to touch".

use kube::config::{Kubeconfig, NamedExtension};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locality {
    /// A local cluster, with the reason we believe so.
    Local(String),
    Remote,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContext {
    pub name: String,
    pub cluster: String,
    pub server: Option<String>,
    pub namespace: Option<String>,
    pub locality: Locality,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("no kube context `{name}` in the kubeconfig{}", help(.hint))]
    NoSuchContext { name: String, hint: String },
    #[error("kube context `{name}` ({server}) is not a local cluster: todo-dev only changes local clusters (minikube, kind-*, k3d-*, docker-desktop, an API server on this machine)\n  help: to use it anyway, name it explicitly: --context {name} --allow-remote")]
    Remote { name: String, server: String },
}

fn help(hint: &str) -> String {
    format!("\n  help: {hint}")
}

/// The context todo-dev may change: the one named with `--context`, else the
/// project's Minikube cluster (never just whatever is current). A context
/// that is not local needs `--context NAME --allow-remote`.
pub fn choose_target(
    config: &Kubeconfig,
    cluster_name: &str,
    explicit: Option<&str>,
    allow_remote: bool,
) -> Result<KubeContext, TargetError> {
    let name = explicit.unwrap_or(cluster_name);
    let ctx = named(config, name).ok_or_else(|| TargetError::NoSuchContext {
        name: name.to_string(),
        hint: match explicit {
            Some(_) => "pick one of `kubectl config get-contexts`".into(),
            None => format!("`todo-dev up` (or `minikube start -p {name}`) creates it"),
        },
    })?;
    match ctx.locality {
        Locality::Local(_) => Ok(ctx),
        Locality::Remote if allow_remote && explicit == Some(name) => Ok(ctx),
        Locality::Remote => Err(TargetError::Remote {
            name: name.to_string(),
            server: ctx.server.clone().unwrap_or_else(|| "no server".into()),
        }),
    }
}

/// The context `current-context` names, if any.
pub fn current(config: &Kubeconfig) -> Option<KubeContext> {
    let name = config.current_context.clone().filter(|c| !c.is_empty())?;
    named(config, &name)
}

pub fn named(config: &Kubeconfig, name: &str) -> Option<KubeContext> {
    let ctx = config.contexts.iter().find(|c| c.name == name)?;
    let ctx_body = ctx.context.clone().unwrap_or_default();
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == ctx_body.cluster)
        .and_then(|c| c.cluster.clone())
        .unwrap_or_default();
    let minikube_made = [&ctx_body.extensions, &cluster.extensions]
        .into_iter()
        .flatten()
        .flatten()
        .any(is_minikube_extension);
    let locality = classify(name, cluster.server.as_deref(), minikube_made);
    Some(KubeContext {
        name: name.to_string(),
        cluster: ctx_body.cluster,
        server: cluster.server,
        namespace: ctx_body.namespace,
        locality,
    })
}

fn is_minikube_extension(ext: &NamedExtension) -> bool {
    ext.extension.get("provider").and_then(|p| p.as_str()) == Some("minikube.sigs.k8s.io")
}

/// Local: written by minikube, named like a local distribution, or served
/// from this machine. Anything else is remote.
pub fn classify(name: &str, server: Option<&str>, minikube_made: bool) -> Locality {
    if minikube_made {
        return Locality::Local("written by minikube".into());
    }
    let local_names = [
        "minikube",
        "docker-desktop",
        "docker-for-desktop",
        "rancher-desktop",
        "orbstack",
    ];
    if local_names.contains(&name) {
        return Locality::Local(format!("context `{name}`"));
    }
    for prefix in ["kind-", "k3d-"] {
        if name.starts_with(prefix) {
            return Locality::Local(format!("{prefix}* context"));
        }
    }
    if let Some(host) = server.and_then(server_host) {
        let loopback = host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Locality::Local(format!("API server on {host}"));
        }
    }
    Locality::Remote
}

fn server_host(server: &str) -> Option<String> {
    let rest = server.split_once("://").map_or(server, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locality_table() {
        let table = [
            ("minikube", Some("https://192.168.49.2:8443"), false, true),
            ("dev", Some("https://192.168.58.2:8443"), true, true),
            ("kind-todo", Some("https://10.0.0.1:6443"), false, true),
            ("k3d-x", None, false, true),
            (
                "docker-desktop",
                Some("https://kubernetes.docker.internal:6443"),
                false,
                true,
            ),
            ("mine", Some("https://127.0.0.1:32771"), false, true),
            ("mine", Some("https://localhost:6443"), false, true),
            ("mine", Some("https://[::1]:6443"), false, true),
            ("prod", Some("https://prod.example.com:443"), false, false),
            ("gke_proj_zone_c", Some("https://34.1.2.3"), false, false),
            (
                "minikube-ish",
                Some("https://192.168.49.2:8443"),
                false,
                false,
            ),
        ];
        for (name, server, ext, local) in table {
            let got = classify(name, server, ext);
            assert_eq!(
                matches!(got, Locality::Local(_)),
                local,
                "{name} {server:?} -> {got:?}"
            );
        }
    }

    #[test]
    fn only_local_contexts_or_explicitly_allowed_remote_ones_are_targets() {
        let text = "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: prod\n  cluster: {server: 'https://prod.example.com'}\n- name: minikube\n  cluster: {server: 'https://192.168.49.2:8443'}\ncontexts:\n- name: prod\n  context: {cluster: prod, user: u}\n- name: minikube\n  context: {cluster: minikube, user: u}\nusers:\n- name: u\n  user: {}\n";
        let config = Kubeconfig::from_yaml(text).unwrap();
        // The current context (prod) is never chosen implicitly.
        assert_eq!(
            choose_target(&config, "minikube", None, false)
                .unwrap()
                .name,
            "minikube"
        );
        assert!(matches!(
            choose_target(&config, "minikube", Some("prod"), false),
            Err(TargetError::Remote { .. })
        ));
        // --allow-remote alone is not enough: the remote context must be named.
        assert!(matches!(
            choose_target(&config, "prod", None, true),
            Err(TargetError::Remote { .. })
        ));
        assert_eq!(
            choose_target(&config, "minikube", Some("prod"), true)
                .unwrap()
                .name,
            "prod"
        );
        let e = choose_target(&config, "todo", None, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no kube context `todo`") && e.contains("minikube start -p todo"),
            "{e}"
        );
        let e = choose_target(&config, "minikube", Some("prod"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--context prod --allow-remote"), "{e}");
    }

    #[test]
    fn reads_minikube_kubeconfig_with_extension() {
        let text = r#"
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster:
    server: https://192.168.58.2:8443
    certificate-authority: /home/u/.minikube/ca.crt
    extensions:
    - name: cluster_info
      extension:
        last-update: Mon, 24 Nov 2026 10:00:00 UTC
        provider: minikube.sigs.k8s.io
        version: v1.37.0
contexts:
- name: dev
  context:
    cluster: dev
    user: dev
    namespace: default
    extensions:
    - name: context_info
      extension:
        provider: minikube.sigs.k8s.io
users:
- name: dev
  user: {}
"#;
        let config = Kubeconfig::from_yaml(text).unwrap();
        let ctx = current(&config).unwrap();
        assert_eq!(ctx.server.as_deref(), Some("https://192.168.58.2:8443"));
        assert_eq!(ctx.locality, Locality::Local("written by minikube".into()));
    }
}
