//! The push step: every image the build step made (or found) goes to the
//! project's registry, and what the cluster should run comes back as digest
//! references, with the pull credentials kubelet needs. Runs only when
//! `deploy.registry` is set.

use std::collections::BTreeMap;

use super::build::Built;
use super::event::{Events, PushEvent};
use super::Images;
use crate::project::model::{Registry, ServiceName};
use crate::project::secrets::SecretValue;
use crate::push::{self, PullAuth, PushError, Target};

/// The registry of one command, reached once: where images go, and the
/// `.dockerconfigjson` the cluster pulls them with (None: anonymously).
pub struct Publisher {
    target: Target,
    pub pull_secret: Option<SecretValue>,
}

impl Publisher {
    /// Reaches `registry` with the user's Docker credentials and says so
    /// (where they came from, never their value).
    pub async fn connect(registry: &Registry, events: &Events) -> Result<Publisher, PushError> {
        let target = Target::connect(registry).await?;
        events.push(PushEvent::Target {
            registry: registry.to_string(),
            credentials: target.credentials_from().map(str::to_string),
        });
        let pull_secret = match target.pull_auth() {
            PullAuth::Anonymous => None,
            PullAuth::Config(config) => Some(config),
            PullAuth::Unusable(why) => {
                events.push(PushEvent::PullAnonymous {
                    registry: registry.to_string(),
                    why,
                });
                None
            }
        };
        Ok(Publisher {
            target,
            pull_secret,
        })
    }

    /// Pushes one service's image (unless the registry has its tag): its
    /// digest reference, or None when it failed (reported).
    pub async fn push(
        &self,
        docker: &bollard::Docker,
        service: ServiceName,
        image: &str,
        events: &Events,
    ) -> Option<String> {
        match push::push(docker, &self.target, image).await {
            Ok(p) => {
                events.push(PushEvent::Done {
                    service: service.to_string(),
                    reference: p.reference.clone(),
                    already_there: p.already_there,
                });
                Some(p.reference)
            }
            Err(e) => {
                events.push(PushEvent::Failed {
                    service: Some(service.to_string()),
                    error: e.to_string(),
                });
                None
            }
        }
    }

    /// `images` as the registry holds them now (digest references), without
    /// pushing: what `deploy` runs. Every one must be there.
    pub async fn resolve(&self, images: &Images) -> Result<Images, PushError> {
        let mut out = images.clone();
        for image in out.values_mut() {
            image.reference = self.target.resolve(&image.reference).await?;
        }
        Ok(out)
    }
}

/// What the push step did: the digest reference of each pushed service, and
/// the services that could not be pushed (each already reported).
#[derive(Debug, Default)]
pub struct Pushes {
    pub references: BTreeMap<ServiceName, String>,
    pub failed: Vec<ServiceName>,
}

impl Pushes {
    /// `images` with each pushed service's digest reference.
    pub fn apply_to(&self, images: &Images) -> Images {
        let mut out = images.clone();
        for (service, reference) in &self.references {
            if let Some(image) = out.get_mut(service) {
                image.reference = reference.clone();
            }
        }
        out
    }
}

/// Reaches `registry` (a failure reported, as the push of every image).
pub async fn connect(registry: &Registry, events: &Events) -> Option<Publisher> {
    match Publisher::connect(registry, events).await {
        Ok(p) => Some(p),
        Err(e) => {
            events.push(PushEvent::Failed {
                service: None,
                error: e.to_string(),
            });
            None
        }
    }
}

/// Pushes the images of `built` that built (failed builds are no input),
/// one after the other (each push is the daemon's upload anyway).
pub async fn push_all(
    docker: &bollard::Docker,
    publisher: Option<&Publisher>,
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
    let Some(publisher) = publisher else {
        // The registry did not answer: nothing could go.
        pushes.failed = images.iter().map(|(s, _)| *s).collect();
        return pushes;
    };
    for (service, image) in images {
        match publisher.push(docker, service, image, events).await {
            Some(reference) => {
                pushes.references.insert(service, reference);
            }
            None => pushes.failed.push(service),
        }
    }
    pushes
}
