//! Where to open the app once it is up, per host OS and minikube driver.
//! On Linux the node IP (and a NodePort on it) is reachable from the host.
//! With the docker driver on macOS and Windows it is not: minikube's own
//! advice is `minikube service NAME --url` (a tunnel to a 127.0.0.1 URL)
//! and `minikube tunnel` for Ingress, reached at 127.0.0.1.

/// The OS todo-dev runs on, as far as reaching the cluster goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostOs {
    Linux,
    MacOs,
    Windows,
}

impl HostOs {
    pub fn current() -> HostOs {
        if cfg!(target_os = "macos") {
            HostOs::MacOs
        } else if cfg!(windows) {
            HostOs::Windows
        } else {
            HostOs::Linux
        }
    }

    fn hosts_file(self) -> &'static str {
        match self {
            HostOs::Windows => r"C:\Windows\System32\drivers\etc\hosts",
            _ => "/etc/hosts",
        }
    }
}

/// What the access lines are made from.
#[derive(Debug, Clone)]
pub struct AccessFacts<'a> {
    pub os: HostOs,
    /// minikube's driver (`docker`, `kvm2`, `hyperkit`, ...); empty if unknown.
    pub driver: &'a str,
    pub node_ip: Option<&'a str>,
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub ingress_host: Option<&'a str>,
    /// The frontend Service's port.
    pub frontend_port: u16,
    /// The frontend's Service is a NodePort, on this port when fixed.
    pub frontend_node_port: Option<Option<u16>>,
}

/// One way in: what to open or run, and a note on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLine {
    pub url: String,
    pub note: String,
}

impl AccessFacts<'_> {
    /// The node IP is reachable unless the node is a container of Docker
    /// Desktop (docker/podman drivers off Linux).
    fn node_reachable(&self) -> bool {
        self.os == HostOs::Linux || !matches!(self.driver, "docker" | "podman")
    }
}

/// The lines `up`/`deploy` print under "ready:".
pub fn access_lines(f: &AccessFacts) -> Vec<AccessLine> {
    let (cluster, ns) = (f.cluster, f.namespace);
    let service_url = format!("minikube service frontend -n {ns} -p {cluster} --url");
    let port = f.frontend_port;
    let port_forward = format!(
        "kubectl port-forward -n {ns} service/frontend {port}:{port} (then http://127.0.0.1:{port})"
    );
    let mut lines = Vec::new();
    if f.node_reachable() {
        if let Some(host) = f.ingress_host {
            lines.push(AccessLine {
                url: format!("http://{host}"),
                note: format!(
                    "needs `{} {host}` in {}",
                    f.node_ip.unwrap_or("<minikube ip>"),
                    f.os.hosts_file()
                ),
            });
        }
        match (f.frontend_node_port, f.node_ip) {
            (Some(Some(port)), Some(ip)) => lines.push(AccessLine {
                url: format!("http://{ip}:{port}"),
                note: "NodePort".into(),
            }),
            (Some(_), _) => lines.push(AccessLine {
                url: service_url,
                note: "prints the NodePort URL".into(),
            }),
            (None, _) => {}
        }
        return lines;
    }
    if let Some(host) = f.ingress_host {
        lines.push(AccessLine {
            url: format!("http://{host}"),
            note: format!(
                "the {} driver's node IP is not reachable from this machine: run `minikube tunnel -p {cluster}` (keep it open) and add `127.0.0.1 {host}` to {}",
                f.driver,
                f.os.hosts_file()
            ),
        });
    }
    if f.frontend_node_port.is_some() {
        lines.push(AccessLine {
            url: service_url,
            note: "opens a tunnel and prints a 127.0.0.1 URL (keep it open)".into(),
        });
    }
    lines.push(AccessLine {
        url: port_forward,
        note: "works with any driver".into(),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(os: HostOs, driver: &str) -> AccessFacts<'_> {
        AccessFacts {
            os,
            driver,
            node_ip: Some("192.168.49.2"),
            cluster: "minikube",
            namespace: "todo",
            ingress_host: Some("todo.local"),
            frontend_port: 8080,
            frontend_node_port: Some(Some(30080)),
        }
    }

    #[test]
    fn linux_uses_the_node_ip() {
        let lines = access_lines(&facts(HostOs::Linux, "docker"));
        assert_eq!(
            lines,
            [
                AccessLine {
                    url: "http://todo.local".into(),
                    note: "needs `192.168.49.2 todo.local` in /etc/hosts".into()
                },
                AccessLine {
                    url: "http://192.168.49.2:30080".into(),
                    note: "NodePort".into()
                },
            ]
        );
    }

    #[test]
    fn docker_driver_on_macos_and_windows_tunnels_to_localhost() {
        for (os, hosts) in [
            (HostOs::MacOs, "/etc/hosts"),
            (HostOs::Windows, r"C:\Windows\System32\drivers\etc\hosts"),
        ] {
            let lines = access_lines(&facts(os, "docker"));
            let text = format!("{lines:?}");
            assert!(!text.contains("192.168.49.2"), "{os:?}: {text}");
            assert_eq!(lines[0].url, "http://todo.local");
            assert!(
                lines[0].note.contains("minikube tunnel -p minikube")
                    && lines[0]
                        .note
                        .contains(&format!("127.0.0.1 todo.local` to {hosts}")),
                "{os:?}: {}",
                lines[0].note
            );
            assert_eq!(
                lines[1].url,
                "minikube service frontend -n todo -p minikube --url"
            );
            assert!(lines[2]
                .url
                .starts_with("kubectl port-forward -n todo service/frontend"));
        }
    }

    #[test]
    fn a_vm_driver_off_linux_is_reachable() {
        let lines = access_lines(&facts(HostOs::MacOs, "vfkit"));
        assert_eq!(lines[1].url, "http://192.168.49.2:30080");
    }
}
