//! Built-in Dockerfiles for services that have none, chosen by what the
//! service's sources look like.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use super::context::{InjectedFile, INJECTED_DIR};
use crate::project::model::{Service, ServiceName};

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/embedded/dockerfiles");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    FastApi,
    PythonWorker,
    NextJs,
    Vite,
    Static,
}

impl Stack {
    pub fn dir_name(self) -> &'static str {
        match self {
            Stack::FastApi => "fastapi",
            Stack::PythonWorker => "python-worker",
            Stack::NextJs => "nextjs",
            Stack::Vite => "vite",
            Stack::Static => "static",
        }
    }
}

/// Where a service's Dockerfile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerfileSource {
    /// A file of the user's (inside or outside the context).
    File(PathBuf),
    Template(Stack),
}

#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error("service `{service}`: Dockerfile {} does not exist\n  help: create it, or remove services.{service}.dockerfile from todo-dev.yaml to use a built-in template", .path.display())]
    Missing { service: ServiceName, path: PathBuf },
    #[error("service `{service}`: no Dockerfile in {} and no built-in template fits\n  help: add {}, or give the sources a requirements.txt/pyproject.toml (Python) or package.json/index.html (frontend)", .context.display(), .looked.display())]
    NoneFits {
        service: ServiceName,
        context: PathBuf,
        looked: PathBuf,
    },
}

/// The Dockerfile name each service uses by convention in its context.
pub fn conventional_name(service: ServiceName) -> &'static str {
    match service {
        ServiceName::McpServer => "Dockerfile.mcp",
        ServiceName::AiAgent => "Dockerfile.agent",
        ServiceName::Frontend | ServiceName::Backend => "Dockerfile",
    }
}

/// The user's `dockerfile:` (which must exist), else the conventional file in
/// the context, else a template that fits the sources.
pub fn choose(service: &Service) -> Result<DockerfileSource, DockerfileError> {
    if let Some(path) = &service.dockerfile {
        return match path.is_file() {
            true => Ok(DockerfileSource::File(path.clone())),
            false => Err(DockerfileError::Missing {
                service: service.name,
                path: path.clone(),
            }),
        };
    }
    let conventional = service.context.join(conventional_name(service.name));
    if conventional.is_file() {
        return Ok(DockerfileSource::File(conventional));
    }
    detect(service.name, &service.context)
        .map(DockerfileSource::Template)
        .ok_or(DockerfileError::NoneFits {
            service: service.name,
            context: service.context.clone(),
            looked: conventional,
        })
}

fn detect(service: ServiceName, context: &Path) -> Option<Stack> {
    let has = |f: &str| context.join(f).is_file();
    let python = has("requirements.txt") || has("pyproject.toml");
    match service {
        ServiceName::Backend if python => Some(Stack::FastApi),
        ServiceName::McpServer | ServiceName::AiAgent if python => Some(Stack::PythonWorker),
        ServiceName::Frontend if has("package.json") => {
            let manifest =
                std::fs::read_to_string(context.join("package.json")).unwrap_or_default();
            let next_config = ["next.config.js", "next.config.mjs", "next.config.ts"]
                .iter()
                .any(|f| has(f));
            Some(if next_config || depends_on_next(&manifest) {
                Stack::NextJs
            } else {
                Stack::Vite
            })
        }
        ServiceName::Frontend if has("index.html") => Some(Stack::Static),
        _ => None,
    }
}

fn depends_on_next(package_json: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(package_json) else {
        return false;
    };
    ["dependencies", "devDependencies"]
        .iter()
        .any(|k| v[k].get("next").is_some())
}

/// Files shared by the nginx-served stacks.
const NGINX_SHARED: &str = "_nginx";

/// The template's files, as they go into the context (flat, under
/// `.todo-dev/template/`), and the Dockerfile's path there.
pub fn files(stack: Stack) -> (Vec<InjectedFile>, String) {
    let base = format!("{INJECTED_DIR}/template");
    let mut dirs = vec![stack.dir_name()];
    if matches!(stack, Stack::Vite | Stack::Static) {
        dirs.push(NGINX_SHARED);
    }
    let mut files: Vec<InjectedFile> = dirs
        .iter()
        .filter_map(|d| TEMPLATES.get_dir(d))
        .flat_map(|d| d.files())
        .map(|f| {
            let name = f
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            InjectedFile {
                mode: if name.ends_with(".sh") { 0o755 } else { 0o644 },
                rel_path: format!("{base}/{name}"),
                contents: f.contents().to_vec(),
            }
        })
        .collect();
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    (files, format!("{base}/Dockerfile"))
}

/// The numeric user a Dockerfile's final stage runs as (`USER 10001:10001`),
/// when it says one; a name or a variable says nothing we can check.
pub fn run_as(dockerfile: &str) -> Option<u32> {
    let mut user = None;
    for line in dockerfile.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        let (Some(instruction), value) = (words.next(), words.next()) else {
            continue;
        };
        if instruction.eq_ignore_ascii_case("FROM") {
            // Each stage starts with its base image's user, which we cannot see.
            user = None;
        } else if instruction.eq_ignore_ascii_case("USER") {
            user = value
                .and_then(|v| v.split(':').next())
                .and_then(|uid| uid.parse().ok());
        }
    }
    user
}

/// The final stage's command with uvicorn's `--reload` added, for `watch`'s
/// dev variant: synced code is picked up without a restart by Kubernetes.
/// None when the stage does not run uvicorn from `CMD` (an `ENTRYPOINT`
/// wraps it, or it already reloads).
pub fn reload_command(dockerfile: &str) -> Option<Vec<String>> {
    let (mut cmd, mut entrypoint) = (None::<String>, false);
    for line in dockerfile.lines().map(str::trim) {
        let (instruction, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if instruction.eq_ignore_ascii_case("FROM") {
            (cmd, entrypoint) = (None, false);
        } else if instruction.eq_ignore_ascii_case("CMD") {
            cmd = Some(rest.trim().to_string());
        } else if instruction.eq_ignore_ascii_case("ENTRYPOINT") {
            entrypoint = true;
        }
    }
    let cmd = cmd.filter(|c| !entrypoint && c.contains("uvicorn") && !c.contains("--reload"))?;
    let mut words: Vec<String> = match serde_json::from_str::<Vec<String>>(&cmd) {
        Ok(words) => words,
        // The shell form runs under /bin/sh -c.
        Err(_) if !cmd.starts_with('[') => vec!["/bin/sh".into(), "-c".into(), cmd],
        Err(_) => return None,
    };
    let shell = words.len() == 3 && words[0].ends_with("sh") && words[1] == "-c";
    if shell {
        words[2].push_str(" --reload");
    } else if words.first().is_some_and(|w| w.ends_with("uvicorn")) {
        words.push("--reload".into());
    } else {
        return None;
    }
    Some(words)
}

/// Build args a template needs from the service (the user's buildArgs win).
pub fn args(stack: Stack, service: &Service) -> BTreeMap<String, String> {
    let mut args = BTreeMap::new();
    // Only stacks that declare PORT get it: an unused build arg makes the daemon warn.
    if matches!(stack, Stack::FastApi | Stack::PythonWorker | Stack::NextJs) {
        args.insert("PORT".to_string(), service.port.to_string());
    }
    let module = match service.name {
        ServiceName::McpServer => Some("app.mcp_server"),
        ServiceName::AiAgent => Some("app.agent"),
        _ => None,
    };
    if let (Stack::PythonWorker, Some(m)) = (stack, module) {
        args.insert("WORKER_MODULE".to_string(), m.to_string());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_command_adds_reload_to_uvicorn() {
        let shell = "FROM x AS b\nCMD [\"python\"]\nFROM y\nCMD [\"sh\", \"-c\", \"exec uvicorn app.main:app --port \\\"$PORT\\\"\"]\n";
        assert_eq!(
            reload_command(shell),
            Some(vec![
                "sh".to_string(),
                "-c".to_string(),
                "exec uvicorn app.main:app --port \"$PORT\" --reload".to_string()
            ])
        );
        assert_eq!(
            reload_command("FROM y\nCMD [\"uvicorn\", \"m:app\"]\n"),
            Some(vec!["uvicorn".into(), "m:app".into(), "--reload".into()])
        );
        assert_eq!(
            reload_command("FROM y\nCMD uvicorn m:app\n"),
            Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                "uvicorn m:app --reload".into()
            ])
        );
        for none in [
            "FROM y\nCMD [\"python\", \"-m\", \"app.mcp_server\"]\n",
            "FROM y\nENTRYPOINT [\"/e.sh\"]\nCMD [\"uvicorn\", \"m:app\"]\n",
            "FROM y\nCMD [\"uvicorn\", \"m:app\", \"--reload\"]\n",
            "FROM a\nCMD [\"uvicorn\", \"m:app\"]\nFROM b\n",
        ] {
            assert_eq!(reload_command(none), None, "{none}");
        }
    }

    #[test]
    fn the_final_stages_numeric_user_is_the_images_user() {
        let table = [
            ("FROM a\nUSER 10001:10001\n", Some(10001)),
            (
                "FROM a AS b\nUSER 101\nFROM c\nUSER 10002\nCMD x\n",
                Some(10002),
            ),
            // The last stage names no user: its base image's, which we cannot see.
            ("FROM a\nUSER 10001\nFROM b\n", None),
            ("FROM a\nuser app\n", None),
            ("FROM a\nUSER ${UID}\n", None),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(run_as(text), want, "{text}");
        }
        for stack in [
            Stack::FastApi,
            Stack::PythonWorker,
            Stack::NextJs,
            Stack::Vite,
            Stack::Static,
        ] {
            let (files, path) = files(stack);
            let dockerfile = files.iter().find(|f| f.rel_path == path).unwrap();
            let uid = run_as(std::str::from_utf8(&dockerfile.contents).unwrap());
            assert!(
                uid.is_some_and(|u| u >= 10_000),
                "{stack:?} runs as {uid:?}"
            );
        }
    }

    fn svc(name: ServiceName, dir: &Path) -> Service {
        Service::bare(name, dir, "x", 8000)
    }

    #[test]
    fn chooses_by_convention_then_by_sources() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let choose_for = |n| choose(&svc(n, d));
        assert!(matches!(
            choose_for(ServiceName::Backend),
            Err(DockerfileError::NoneFits { .. })
        ));
        std::fs::write(d.join("requirements.txt"), "fastapi\n").unwrap();
        assert_eq!(
            choose_for(ServiceName::Backend).unwrap(),
            DockerfileSource::Template(Stack::FastApi)
        );
        assert_eq!(
            choose_for(ServiceName::McpServer).unwrap(),
            DockerfileSource::Template(Stack::PythonWorker)
        );
        std::fs::write(d.join("Dockerfile.mcp"), "FROM x\n").unwrap();
        assert_eq!(
            choose_for(ServiceName::McpServer).unwrap(),
            DockerfileSource::File(d.join("Dockerfile.mcp"))
        );
        assert_eq!(
            choose_for(ServiceName::Backend).unwrap(),
            DockerfileSource::Template(Stack::FastApi)
        );

        std::fs::write(d.join("index.html"), "<html>").unwrap();
        assert_eq!(
            choose_for(ServiceName::Frontend).unwrap(),
            DockerfileSource::Template(Stack::Static)
        );
        std::fs::write(
            d.join("package.json"),
            r#"{"devDependencies":{"vite":"^5"}}"#,
        )
        .unwrap();
        assert_eq!(
            choose_for(ServiceName::Frontend).unwrap(),
            DockerfileSource::Template(Stack::Vite)
        );
        std::fs::write(
            d.join("package.json"),
            r#"{"dependencies":{"next":"14.2.0"}}"#,
        )
        .unwrap();
        assert_eq!(
            choose_for(ServiceName::Frontend).unwrap(),
            DockerfileSource::Template(Stack::NextJs)
        );

        let mut s = svc(ServiceName::Backend, d);
        s.dockerfile = Some(d.join("Dockerfile.dev"));
        let e = choose(&s).unwrap_err().to_string();
        assert!(
            e.contains("service `backend`") && e.contains("Dockerfile.dev"),
            "{e}"
        );
    }

    #[test]
    fn every_stack_ships_a_dockerfile_and_nginx_stacks_their_entrypoint() {
        for stack in [
            Stack::FastApi,
            Stack::PythonWorker,
            Stack::NextJs,
            Stack::Vite,
            Stack::Static,
        ] {
            let (files, dockerfile) = files(stack);
            assert!(files.iter().any(|f| f.rel_path == dockerfile), "{stack:?}");
            let nginx = files
                .iter()
                .any(|f| f.rel_path.ends_with("/nginx-entrypoint.sh") && f.mode == 0o755);
            assert_eq!(
                nginx,
                matches!(stack, Stack::Vite | Stack::Static),
                "{stack:?}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let agent = Service {
            port: 8002,
            ..svc(ServiceName::AiAgent, dir.path())
        };
        let a = args(Stack::PythonWorker, &agent);
        assert_eq!(
            (a["PORT"].as_str(), a["WORKER_MODULE"].as_str()),
            ("8002", "app.agent")
        );
        assert!(args(Stack::Static, &svc(ServiceName::Frontend, dir.path())).is_empty());
    }
}
