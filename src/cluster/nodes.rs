//! What the nodes' kubelets report of their images (`status.images`: the
//! names each is known by and its size). Kubelet lists at most
//! `nodeStatusMaxImages` (50) a node, the largest first.

use k8s_openapi::api::core::v1::Node;

/// One image on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImage {
    pub names: Vec<String>,
    pub size_bytes: i64,
}

/// Each node's images.
pub async fn images(client: &kube::Client) -> Result<Vec<Vec<NodeImage>>, kube::Error> {
    let nodes = kube::Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await?;
    Ok(nodes
        .items
        .into_iter()
        .map(|n| {
            let images = n.status.and_then(|s| s.images).unwrap_or_default();
            images
                .into_iter()
                .map(|i| NodeImage {
                    names: i.names.unwrap_or_default(),
                    size_bytes: i.size_bytes.unwrap_or(0),
                })
                .collect()
        })
        .collect())
}

impl NodeImage {
    /// Whether this is `wanted` (a pod's image: `repo:tag`, or
    /// `repo:tag@sha256:...`), however the node's runtime spells it.
    pub fn is(&self, wanted: &str) -> bool {
        let (named, digest) = match wanted.split_once('@') {
            Some((named, digest)) => (named, Some(digest)),
            None => (wanted, None),
        };
        let by_digest = digest.map(|d| {
            let repository = named.rsplit_once(':').map_or(named, |(r, _)| r);
            format!("{repository}@{d}")
        });
        self.names.iter().any(|n| {
            short(n) == short(named) || by_digest.as_deref().is_some_and(|d| short(n) == short(d))
        })
    }
}

/// A local tag as every runtime spells it: containerd qualifies it with
/// `docker.io/library/`, podman (cri-o) with `localhost/`.
fn short(name: &str) -> &str {
    ["docker.io/library/", "docker.io/", "localhost/"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// Whether every node (at least one) has `image`.
pub fn on_every_node(nodes: &[Vec<NodeImage>], image: &str) -> bool {
    !nodes.is_empty() && nodes.iter().all(|n| n.iter().any(|i| i.is(image)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(names: &[&str]) -> Vec<NodeImage> {
        vec![NodeImage {
            names: names.iter().map(|n| n.to_string()).collect(),
            size_bytes: 1,
        }]
    }

    #[test]
    fn an_image_is_present_only_when_every_node_lists_it_in_any_spelling() {
        let image = "todo-backend:td-0123";
        let containerd = node(&[
            "docker.io/library/todo-backend:td-0123",
            "docker.io/library/todo-backend@sha256:ab",
        ]);
        let crio = node(&["localhost/todo-backend:td-0123"]);
        let other = node(&["docker.io/library/todo-backend:td-9999"]);
        assert!(on_every_node(std::slice::from_ref(&containerd), image));
        assert!(on_every_node(&[containerd.clone(), crio], image));
        assert!(
            !on_every_node(&[containerd, other.clone()], image),
            "one node lacks it"
        );
        assert!(
            !on_every_node(&[other], image),
            "another tag is not this one"
        );
        // No node read: nothing is known to be there.
        assert!(!on_every_node(&[], image));
        assert!(!on_every_node(
            &[node(&["docker.io/library/todo-frontend:td-0123"])],
            image
        ));
    }

    #[test]
    fn a_pushed_image_is_found_by_its_digest() {
        let pushed = "reg.example:5000/team/todo-backend:td-01@sha256:abc";
        let by_digest = &node(&["reg.example:5000/team/todo-backend@sha256:abc"])[0];
        let by_tag = &node(&["reg.example:5000/team/todo-backend:td-01"])[0];
        let other = &node(&["reg.example:5000/team/todo-backend@sha256:def"])[0];
        assert!(by_digest.is(pushed) && by_tag.is(pushed));
        assert!(!other.is(pushed));
    }
}
