//! Everything a deploy needs, decided before the cluster is touched: the
//! secrets and the rendered objects for the images the pipeline hands in.

use std::collections::BTreeMap;

use super::render::{self, Manifest, RenderError};
use super::secrets::{self, SecretsError};
use super::values::{DevVariant, ImageRef, RenderInput};
use crate::project::model::ServiceName;
use crate::project::secrets::{SecretValue, Secrets};
use crate::project::Project;

/// Plain settings passed to the apps through the ConfigMap.
pub const SETTINGS: [&str; 3] = ["LLM_PROVIDER", "LLM_BASE_URL", "LLM_MODEL"];

/// The Secret every app workload reads its secret values from.
pub const SECRET_NAME: &str = "todo-secrets";

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Renders the project with these images; `existing` is the cluster's
/// current `todo-secrets` (empty when offline); `dev` is `watch`'s variant
/// (hardened: what `up` applies); `pull_secret` the registry's
/// `.dockerconfigjson`, when the images are pulled with credentials.
pub fn render(
    project: &Project,
    images: &BTreeMap<ServiceName, ImageRef>,
    existing: &BTreeMap<String, String>,
    dev: &DevVariant,
    pull_secret: Option<&SecretValue>,
) -> Result<Vec<Manifest>, PlanError> {
    with_input(project, images, existing, dev, pull_secret, |input| {
        Ok(render::render(input)?)
    })
}

/// The values tree the manifests are filled from, Secret values redacted.
pub fn values(
    project: &Project,
    images: &BTreeMap<ServiceName, ImageRef>,
) -> Result<serde_json::Value, PlanError> {
    with_input(
        project,
        images,
        &BTreeMap::new(),
        &DevVariant::hardened(),
        None,
        |input| {
            let mut v = super::values::build(input);
            if let Some(serde_json::Value::Object(secrets)) = v.get_mut("secrets") {
                for value in secrets.values_mut() {
                    *value = crate::project::secrets::REDACTED.into();
                }
            }
            Ok(v)
        },
    )
}

fn with_input<T>(
    project: &Project,
    images: &BTreeMap<ServiceName, ImageRef>,
    existing: &BTreeMap<String, String>,
    dev: &DevVariant,
    pull_secret: Option<&SecretValue>,
    f: impl FnOnce(&RenderInput) -> Result<T, PlanError>,
) -> Result<T, PlanError> {
    let env = |k: &str| std::env::var(k).ok();
    let user = Secrets::gather(&project.root, env);
    let secrets = secrets::resolve(project, &user, existing)?;
    let settings = crate::project::secrets::settings(&project.root, &SETTINGS, env);
    crate::project::secrets::check_llm_provider(
        &project.root,
        &user,
        settings.get("LLM_PROVIDER").map(String::as_str),
    )
    .map_err(SecretsError::from)?;
    f(&RenderInput {
        project,
        images,
        secrets: &secrets,
        settings: &settings,
        dev,
        pull_secret,
    })
}
