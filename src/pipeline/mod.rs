//! The one sequence that ships code: plan -> build -> render -> apply ->
//! wait -> report, owned by the [`Engine`] each command builds.
//!
//! `up`, `deploy`, `build`, `render`, `export`, `smoke` and `watch` drive the
//! engine; the stages (`build`, `deploy`, `cluster`) never call each other.
//! What one stage produces reaches the next only as data handed over here:
//! the build stage's [`BuildPlan`]s become the deploy stage's [`ImageRef`]s.
//! Stages emit [`event::Event`]s; one reporter (`ui::report`) prints them.

pub mod attach;
pub mod build;
pub mod cancel;
pub mod cluster;
pub mod deploy;
pub mod engine;
pub mod event;
pub mod push;
pub mod rebuild;
mod report;
pub mod update;
pub mod verify;

pub use engine::{plan, Engine, Plan, Up, UpOptions};

use std::collections::BTreeMap;

use crate::build::image::{BuildError, BuildPlan};
use crate::cluster::kube::ConnectError;
use crate::cluster::minikube::MinikubeError;
use crate::deploy::apply::ApplyError;
use crate::deploy::plan::PlanError;
use crate::deploy::values::{DevVariant, ImageRef};
use crate::project::model::ServiceName;
use crate::project::Project;

pub use build::Planned;

/// The image each service runs, as render takes it.
pub type Images = BTreeMap<ServiceName, ImageRef>;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Minikube(#[from] MinikubeError),
    #[error(transparent)]
    Docker(#[from] crate::docker::DockerError),
    #[error("minikube is not on PATH\n  help: {hint}")]
    NoMinikube { hint: String },
    #[error(transparent)]
    Push(#[from] crate::push::PushError),
    #[error("verify: {message}")]
    Verify { message: String },
    /// A cluster other than the project's Minikube cannot see images built here.
    #[error("context `{context}` is not the project's Minikube ({cluster}), so its nodes cannot run images built on this machine\n  help: set deploy.registry in todo-dev.yaml (or pass --registry HOST/PATH) to a registry the cluster pulls from; todo-dev pushes there and the pods pull by digest")]
    NeedsRegistry { context: String, cluster: String },
    /// `--recreate` named something the render has no workload of.
    #[error("{message}")]
    Recreate { message: String },
    /// Ctrl-C: what was and was not applied has been reported.
    #[error("interrupted")]
    Interrupted,
}

/// The deploy stage's view of a build plan: the reference and the user it runs as.
pub fn image_ref(plan: &BuildPlan) -> ImageRef {
    ImageRef {
        reference: plan.image.to_string(),
        run_as: plan.run_as,
        reload_command: plan.reload_command.clone(),
    }
}

/// `watch`'s dev variant: every service with sync rules (../design/stack.md).
pub fn dev_variant(project: &Project) -> DevVariant {
    DevVariant {
        synced: project
            .services
            .iter()
            .filter(|s| !s.sync.is_empty())
            .map(|s| s.name)
            .collect(),
    }
}

pub fn images(plans: &[BuildPlan]) -> Images {
    plans.iter().map(|p| (p.service, image_ref(p))).collect()
}

/// The images as an offline render shows them: the local tags, or with a
/// registry the names it will hold (the digest `up` and `deploy` add is
/// only known from the registry).
pub fn offline_images(project: &Project, plans: &[BuildPlan]) -> Images {
    let mut out = images(plans);
    if let Some(registry) = &project.registry {
        for image in out.values_mut() {
            image.reference = registry.image(&image.reference);
        }
    }
    out
}
