//! The project's own inputs: source directories and the secrets the profile needs.

use serde_json::json;

use super::{Check, Status};
use crate::project::schema::DatabaseMode;
use crate::project::secrets::{SecretSource, Secrets, LLM_PROVIDERS};
use crate::project::{check_sources, Project};

pub fn checks(project: &Project) -> Vec<Check> {
    vec![sources(project), secrets(project)]
}

fn sources(project: &Project) -> Check {
    // Without todo-dev.yaml this may just be the wrong directory: warn, don't block.
    let required = project.config_file.is_some();
    let check = Check::new("project.sources", "service sources", required);
    let services: Vec<_> = project.services.iter().map(|s| s.name.as_str()).collect();
    match check_sources(project) {
        Ok(()) => check.ok(format!("{} in {}", services.join(", "), project.root.display())),
        Err(e) => {
            let status = if required { Status::Missing } else { Status::Warning };
            let fix = if required {
                "create the directory, or point services.NAME.context at it in todo-dev.yaml".to_string()
            } else {
                "run todo-dev in your project (the directory with frontend/ and backend/), pass --project DIR, or add a todo-dev.yaml".to_string()
            };
            check.problem(status, e.to_string().lines().next().unwrap_or_default().to_string(), fix)
        }
    }
    .with_data(json!({"root": project.root, "configFile": project.config_file}))
}

fn secrets(project: &Project) -> Check {
    let found = Secrets::gather(&project.root, |k| std::env::var(k).ok());
    let external = project.database == DatabaseMode::External;
    let check = Check::new("project.secrets", "secrets", external);
    let sources: serde_json::Map<_, _> = found
        .found
        .iter()
        .map(|(k, s)| {
            let from = match &s.source {
                SecretSource::Environment => "environment".to_string(),
                SecretSource::DotEnv(p) => p.display().to_string(),
            };
            (k.to_string(), json!(from))
        })
        .collect();
    let data = json!({"set": sources});
    if external && found.get("DATABASE_URL").is_none() {
        return check
            .problem(
                Status::Missing,
                format!("profile `{}` uses an external database and DATABASE_URL is not set", project.profile.name),
                format!("add DATABASE_URL=postgresql://... to {} (or export it), or use --set database=in-cluster", project.root.join(".env").display()),
            )
            .with_data(data);
    }
    let provider = crate::project::secrets::settings(&project.root, &["LLM_PROVIDER"], |k| {
        std::env::var(k).ok()
    });
    if let Err(e) = crate::project::secrets::check_llm_provider(
        &project.root,
        &found,
        provider.get("LLM_PROVIDER").map(String::as_str),
    ) {
        let text = e.to_string();
        let (problem, fix) = text.split_once("\n  help: ").unwrap_or((&text, ""));
        // `up` refuses it in any profile: so does doctor.
        return Check::new("project.secrets", "secrets", true)
            .problem(Status::Missing, problem.to_string(), fix.to_string())
            .with_data(data);
    }
    let mut notes = vec![];
    if !LLM_PROVIDERS
        .iter()
        .any(|(_, key)| found.get(key).is_some())
    {
        notes.push("no LLM key (OPENAI_API_KEY, GROQ_API_KEY, GEMINI_API_KEY or OPENROUTER_API_KEY): the chatbot uses its offline rule-based agent");
    }
    if found.get("BETTER_AUTH_SECRET").is_none() {
        notes.push("BETTER_AUTH_SECRET will be generated once per cluster");
    }
    let names: Vec<&str> = found.found.keys().copied().collect();
    let detail = if names.is_empty() {
        "none set".to_string()
    } else {
        format!("set: {}", names.join(", "))
    };
    let detail = if notes.is_empty() {
        detail
    } else {
        format!("{detail}; {}", notes.join("; "))
    };
    check.ok(detail).with_data(data)
}
