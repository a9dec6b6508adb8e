//! The push step: every image the build step made (or found) goes to the
//! project's registry, and what the cluster should run comes back as digest
//! references. Runs only when `deploy.registry` is set.

use std::collections::BTreeMap;

use super::build::Built;
use super::event::{Events, PushEvent};
use crate::project::model::{Registry, ServiceName};
use crate::push::{self, Target};

/// What the push step did: the digest reference of each pushed service, and
/// the services that could not be pushed (each already reported).
#[derive(Debug, Default)]
pub struct Pushes {
    pub references: BTreeMap<ServiceName, String>,
    pub failed: Vec<ServiceName>,
}

/// Pushes the images of `built` that built (failed builds are no input) to
/// `registry`, one after the other (each push is the daemon's upload anyway).
pub async fn push_all(
    docker: &bollard::Docker,
    registry: &Registry,
    built: &Built,
    events: &Events,
) -> Pushes {
    let mut pushes = Pushes::default();
    let images: Vec<(ServiceName, &str)> = built
        .results
        .iter()
        .filter_map(|r| {
            r.outcome
                .as_ref()
                .ok()
                .map(|(image, _)| (r.service, image.as_str()))
        })
        .collect();
    let target = match Target::connect(registry).await {
        Ok(t) => t,
        Err(e) => {
            events.push(PushEvent::Failed {
                service: None,
                error: e.to_string(),
            });
            pushes.failed = images.iter().map(|(s, _)| *s).collect();
            return pushes;
        }
    };
    events.push(PushEvent::Target {
        registry: registry.to_string(),
        credentials: target.credentials_from().map(str::to_string),
    });
    for (service, image) in images {
        match push::push(docker, &target, image).await {
            Ok(p) => {
                events.push(PushEvent::Done {
                    service: service.to_string(),
                    reference: p.reference.clone(),
                    already_there: p.already_there,
                });
                pushes.references.insert(service, p.reference);
            }
            Err(e) => {
                events.push(PushEvent::Failed {
                    service: Some(service.to_string()),
                    error: e.to_string(),
                });
                pushes.failed.push(service);
            }
        }
    }
    pushes
}
