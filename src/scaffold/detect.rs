//! `init --detect`: recognise the source plans' repository layouts and say
//! which services they hold, where each one's build context and Dockerfile
//! are, and why. Reads only; the caller writes `todo-dev.yaml`.

use std::path::{Component, Path, PathBuf};

use crate::project::model::ServiceName;

/// One service found in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundService {
    pub name: ServiceName,
    /// Build context, '/'-relative to the project root ("." for the root).
    pub context: String,
    /// The user's Dockerfile, '/'-relative to the context (may start with
    /// `../`); None when the built-in template will be used.
    pub dockerfile: Option<String>,
    /// From the Dockerfile's EXPOSE, when it differs from the stack's port.
    pub port: Option<u16>,
    /// Why: the facts that decided each part, in plain words.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub profile: &'static str,
    pub profile_reason: String,
    /// Where frontend/ and backend/ were found, and how that was recognised.
    pub layout: String,
    pub services: Vec<FoundService>,
    /// Things seen that did not make a service, said plainly.
    pub notes: Vec<String>,
}

impl Detection {
    pub fn service(&self, name: ServiceName) -> Option<&FoundService> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// Directory names a Dockerfile folder may use for each service.
fn folder_names(service: ServiceName) -> &'static [&'static str] {
    match service {
        ServiceName::Frontend => &["frontend", "web", "ui"],
        ServiceName::Backend => &["backend", "api"],
        ServiceName::McpServer => &["mcp-server", "mcp", "mcp_server"],
        ServiceName::AiAgent => &["ai-agent", "agent", "ai_agent"],
    }
}

/// The stack's port per service (embedded/project.default.yaml).
fn stack_port(service: ServiceName) -> u16 {
    match service {
        ServiceName::Frontend => 8080,
        ServiceName::Backend => 8000,
        ServiceName::McpServer => 8001,
        ServiceName::AiAgent => 8002,
    }
}

pub fn detect(root: &Path) -> Detection {
    let (base, layout) = find_base(root);
    let rel = |p: &Path| to_rel(root, p);
    let frontend_dir = base.join("frontend");
    let backend_dir = base.join("backend");
    let mut services = Vec::new();
    let mut notes = Vec::new();

    for name in ServiceName::ALL {
        let source_dir = match name {
            ServiceName::Frontend => &frontend_dir,
            _ => &backend_dir,
        };
        let conventional = source_dir.join(crate::build::template::conventional_name(name));
        let (dockerfile, where_found) = if source_dir.is_dir() && conventional.is_file() {
            let why = format!("Dockerfile {} in its folder", rel(&conventional));
            (Some(conventional), why)
        } else if let Some(found) = dockerfile_folder(root, &base, name) {
            let why = format!("Dockerfile under {}/", rel(found.parent().unwrap_or(root)));
            (Some(found), why)
        } else {
            (None, String::new())
        };
        let mut evidence = Vec::new();
        let stack = source_dir
            .is_dir()
            .then(|| sources(name, source_dir))
            .flatten();
        match (name, &dockerfile, &stack) {
            (ServiceName::Frontend | ServiceName::Backend, None, None) => {
                if source_dir.is_dir() {
                    notes.push(format!(
                        "{}/ holds no Dockerfile and nothing a built-in template builds ({}): {name} left out",
                        rel(source_dir),
                        match name {
                            ServiceName::Frontend => "package.json or index.html",
                            _ => "requirements.txt or pyproject.toml",
                        }
                    ));
                }
                continue;
            }
            // mcp-server and ai-agent are services only with a Dockerfile of their own.
            (ServiceName::McpServer | ServiceName::AiAgent, None, _) => {
                if let Some(entry) = entrypoint(name, &backend_dir) {
                    notes.push(format!(
                        "{} has no Dockerfile of its own: it runs inside the backend",
                        rel(&entry)
                    ));
                }
                continue;
            }
            _ => {}
        }
        if let Some(s) = &stack {
            evidence.push(s.clone());
        }
        let context = match &dockerfile {
            Some(df) if !df.starts_with(source_dir) => {
                let (ctx, why) = context_for(df, source_dir, &base, root);
                evidence.push(why);
                ctx
            }
            _ => source_dir.clone(),
        };
        if let (ServiceName::McpServer | ServiceName::AiAgent, Some(entry)) =
            (name, entrypoint(name, &backend_dir))
        {
            evidence.push(format!("entry point {}", rel(&entry)));
        }
        let port = dockerfile
            .as_ref()
            .and_then(|d| exposed_port(d))
            .filter(|p| *p != stack_port(name));
        if let Some(p) = port {
            evidence.push(format!("EXPOSE {p} in the Dockerfile"));
        }
        match &dockerfile {
            Some(_) => evidence.push(where_found),
            None => evidence.push("no Dockerfile: todo-dev's built-in template builds it".into()),
        }
        services.push(FoundService {
            name,
            context: rel(&context),
            dockerfile: dockerfile.as_ref().map(|d| relative_path(&context, d)),
            port,
            evidence,
        });
    }

    let has = |n| services.iter().any(|s: &FoundService| s.name == n);
    let stdio_mcp = entrypoint(ServiceName::McpServer, &backend_dir).is_some();
    let (profile, profile_reason) = match (has(ServiceName::McpServer), has(ServiceName::AiAgent)) {
        (true, true) => ("agents", "mcp-server and ai-agent have their own images (profile agents)".to_string()),
        (true, false) if mentions_redis(root, &base) => (
            "full",
            "an mcp-server image and Redis in a compose file (profile full)".to_string(),
        ),
        (false, false) if stdio_mcp => (
            "lite",
            "an MCP server without an image of its own: it runs as a stdio subprocess of the backend (profile lite)".to_string(),
        ),
        (true, false) | (false, true) => (
            "standard",
            "frontend and backend with in-cluster Postgres (profile standard), plus the extra service found".to_string(),
        ),
        (false, false) => (
            "standard",
            "frontend and backend (profile standard: in-cluster Postgres, no outside account)".to_string(),
        ),
    };
    Detection {
        profile,
        profile_reason,
        layout,
        services,
        notes,
    }
}

/// Where the app's folders are: the root, `src/`, or a `phaseIV/` folder.
fn find_base(root: &Path) -> (PathBuf, String) {
    let mut candidates = vec![
        (
            root.to_path_buf(),
            "frontend/ and backend/ at the root".to_string(),
        ),
        (root.join("src"), "src/frontend and src/backend".to_string()),
    ];
    let mut phases: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    phases.retain(|p| p.is_dir() && is_phase_dir(p));
    phases.sort();
    for p in phases {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        candidates.push((
            p.clone(),
            format!("a {name}/ subdirectory holding frontend/ and backend/"),
        ));
        candidates.push((
            p.join("src"),
            format!("{name}/src/frontend and {name}/src/backend"),
        ));
    }
    let count = |base: &Path| {
        ["frontend", "backend"]
            .iter()
            .filter(|d| base.join(d).is_dir())
            .count()
    };
    let best = candidates
        .iter()
        .filter(|(b, _)| count(b) > 0)
        .max_by_key(|(b, _)| count(b) * 10 - usize::from(b != root));
    match best {
        Some((b, why)) => (b.clone(), why.clone()),
        None => (
            root.to_path_buf(),
            "no frontend/ or backend/ folder".to_string(),
        ),
    }
}

/// `phaseIV`, `phase-iv`, `phase4`, ...
fn is_phase_dir(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let rest = name.strip_prefix("phase").unwrap_or("");
    matches!(rest.trim_start_matches(['-', '_', ' ']), "iv" | "4")
}

/// `docker/<service>/Dockerfile` or `deploy/docker/<service>/Dockerfile`,
/// under the root or the app's base folder.
fn dockerfile_folder(root: &Path, base: &Path, service: ServiceName) -> Option<PathBuf> {
    let mut places = vec![root.join("docker"), root.join("deploy/docker")];
    if base != root {
        places.push(base.join("docker"));
        places.push(base.join("deploy/docker"));
    }
    places.iter().find_map(|place| {
        folder_names(service)
            .iter()
            .map(|n| place.join(n).join("Dockerfile"))
            .find(|f| f.is_file())
    })
}

/// What the service's sources are, in words (None: nothing a template builds).
fn sources(service: ServiceName, dir: &Path) -> Option<String> {
    let has = |f: &str| dir.join(f).is_file();
    match service {
        ServiceName::Frontend => {
            if has("package.json") {
                let manifest =
                    std::fs::read_to_string(dir.join("package.json")).unwrap_or_default();
                let deps = package_deps(&manifest);
                Some(if deps.iter().any(|d| d == "next") {
                    "Next.js (next in package.json)".to_string()
                } else if deps.iter().any(|d| d == "vite") {
                    "Vite (vite in package.json)".to_string()
                } else {
                    "a Node app (package.json without next or vite: built as Vite's npm run build)"
                        .to_string()
                })
            } else if has("index.html") || has("public/index.html") {
                Some("a static site (index.html, no package.json)".to_string())
            } else {
                None
            }
        }
        _ => {
            let file = ["pyproject.toml", "requirements.txt"]
                .into_iter()
                .find(|f| has(f))?;
            let text = std::fs::read_to_string(dir.join(file))
                .unwrap_or_default()
                .to_lowercase();
            let framework = if text.contains("fastapi") {
                "FastAPI"
            } else {
                "Python"
            };
            Some(match service {
                ServiceName::Backend => format!("{framework} ({file})"),
                // mcp-server and ai-agent are programs of the backend's package.
                _ => format!("Python, from the backend's sources ({file})"),
            })
        }
    }
}

fn package_deps(package_json: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(package_json) else {
        return vec![];
    };
    ["dependencies", "devDependencies"]
        .iter()
        .filter_map(|k| v[k].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect()
}

/// An MCP server or agent program in the backend's sources.
fn entrypoint(service: ServiceName, backend: &Path) -> Option<PathBuf> {
    let stems: &[&str] = match service {
        ServiceName::McpServer => &["mcp_server", "mcp"],
        ServiceName::AiAgent => &["agent", "agent_service", "agents"],
        _ => return None,
    };
    let dirs = [
        backend.to_path_buf(),
        backend.join("app"),
        backend.join("src"),
        backend.join("src/app"),
    ];
    dirs.iter().find_map(|d| {
        stems.iter().find_map(|s| {
            let file = d.join(format!("{s}.py"));
            let package = d.join(s).join("__main__.py");
            [file, package].into_iter().find(|f| f.is_file())
        })
    })
}

/// The context an outside Dockerfile builds from: the folder from which its
/// COPY/ADD sources exist (the service's folder, the app's base, the root).
fn context_for(
    dockerfile: &Path,
    source_dir: &Path,
    base: &Path,
    root: &Path,
) -> (PathBuf, String) {
    let text = std::fs::read_to_string(dockerfile).unwrap_or_default();
    let copied = copy_sources(&text);
    let mut candidates = vec![
        source_dir.to_path_buf(),
        base.to_path_buf(),
        root.to_path_buf(),
    ];
    candidates.dedup();
    if copied.is_empty() {
        return (
            source_dir.to_path_buf(),
            format!(
                "context {} (the Dockerfile copies nothing to check)",
                to_rel(root, source_dir)
            ),
        );
    }
    for c in &candidates {
        if c.is_dir() && copied.iter().all(|s| c.join(s).exists()) {
            return (
                c.clone(),
                format!(
                    "context {}: the Dockerfile's COPY sources ({}) are there",
                    to_rel(root, c),
                    copied.join(", ")
                ),
            );
        }
    }
    (
        source_dir.to_path_buf(),
        format!(
            "context {} (not every COPY source ({}) was found anywhere)",
            to_rel(root, source_dir),
            copied.join(", ")
        ),
    )
}

/// Literal local sources of COPY/ADD lines (no --from, URLs or variables).
fn copy_sources(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        let Some(instr) = words.next() else { continue };
        if !matches!(instr.to_ascii_uppercase().as_str(), "COPY" | "ADD") {
            continue;
        }
        let args: Vec<&str> = words.collect();
        if args.iter().any(|a| a.starts_with("--from"))
            || args.first().is_some_and(|a| a.starts_with('['))
        {
            continue;
        }
        let plain: Vec<&str> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
        if plain.len() < 2 {
            continue;
        }
        for src in &plain[..plain.len() - 1] {
            let ok = !src.contains("://")
                && !src.contains('$')
                && !src.contains(['*', '?', '['])
                && *src != ".";
            if ok {
                out.push(
                    src.trim_start_matches("./")
                        .trim_end_matches('/')
                        .to_string(),
                );
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out.dedup();
    out
}

fn exposed_port(dockerfile: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(dockerfile).ok()?;
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        match w.next() {
            Some(i) if i.eq_ignore_ascii_case("EXPOSE") => {
                w.next()?.split('/').next()?.parse().ok()
            }
            _ => None,
        }
    })
}

/// A compose file next to the app naming a redis service.
fn mentions_redis(root: &Path, base: &Path) -> bool {
    let names = [
        "docker-compose.yml",
        "docker-compose.yaml",
        "compose.yml",
        "compose.yaml",
    ];
    [root, base].iter().any(|dir| {
        names.iter().any(|n| {
            std::fs::read_to_string(dir.join(n)).is_ok_and(|t| t.to_lowercase().contains("redis"))
        })
    })
}

/// '/'-path of `p` relative to `root` ("." for the root itself).
fn to_rel(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// `target` relative to the directory `from` (`../deploy/docker/x/Dockerfile`).
fn relative_path(from: &Path, target: &Path) -> String {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = target.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The `todo-dev.yaml` for a detection: only keys of `project::schema`,
/// each decision with its reason as a comment.
pub fn to_yaml(d: &Detection) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut y = String::from(
        "# Written by `todo-dev init --detect` from what this repository holds.\n\
         # `todo-dev config` shows the result; README.md of todo-dev describes every key.\n",
    );
    y.push_str(&format!("# layout: {}\n", d.layout));
    y.push_str(&format!(
        "# {}\nprofile: {}\nservices:\n",
        d.profile_reason, d.profile
    ));
    let profile_enables = |n: ServiceName| match n {
        ServiceName::Frontend | ServiceName::Backend => true,
        ServiceName::McpServer => matches!(d.profile, "full" | "agents"),
        ServiceName::AiAgent => d.profile == "agents",
    };
    for name in ServiceName::ALL {
        match d.service(name) {
            Some(s) => {
                y.push_str(&format!("  {name}:\n"));
                for e in &s.evidence {
                    y.push_str(&format!("    # {e}\n"));
                }
                if !profile_enables(name) {
                    y.push_str("    enabled: true\n");
                }
                y.push_str(&format!("    context: {}\n", q(&s.context)));
                if let Some(df) = &s.dockerfile {
                    y.push_str(&format!("    dockerfile: {}\n", q(df)));
                }
                if let Some(p) = s.port {
                    y.push_str(&format!("    port: {p}\n"));
                }
            }
            None if profile_enables(name) => {
                y.push_str(&format!(
                    "  {name}:\n    # not found in this repository\n    enabled: false\n"
                ));
            }
            None => {}
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_skip_stages_urls_and_variables() {
        let df = "FROM x AS b\nCOPY package.json package-lock.json ./\nCOPY --from=b /app /app\nADD https://x/y /y\nCOPY --chown=1:1 src/ /app/src\nCOPY $X /x\nCOPY [\"a\", \"b\"]\nCOPY . .\n";
        assert_eq!(
            copy_sources(df),
            ["package.json", "package-lock.json", "src"]
        );
    }

    #[test]
    fn relative_paths_climb_out_of_the_context() {
        assert_eq!(
            relative_path(
                Path::new("/r/frontend"),
                Path::new("/r/deploy/docker/frontend/Dockerfile")
            ),
            "../deploy/docker/frontend/Dockerfile"
        );
        assert_eq!(
            relative_path(Path::new("/r"), Path::new("/r/docker/backend/Dockerfile")),
            "docker/backend/Dockerfile"
        );
        assert_eq!(
            relative_path(
                Path::new("/r/backend"),
                Path::new("/r/backend/Dockerfile.mcp")
            ),
            "Dockerfile.mcp"
        );
    }

    #[test]
    fn phase_folders() {
        for (n, want) in [
            ("phaseIV", true),
            ("phase-iv", true),
            ("Phase4", true),
            ("phase3", false),
            ("physics", false),
        ] {
            assert_eq!(is_phase_dir(Path::new(n)), want, "{n}");
        }
    }
}
