//! Building one service's image: plan (context + tag), skip when the daemon
//! has the tag, else stream the context to the daemon and follow its log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::query_parameters::BuildImageOptions;
use bollard::Docker;
use futures::StreamExt;

use super::context::{BuildContext, ContextError, InjectedFile, SecretFile, INJECTED_DIR};
use super::hash_cache::HashCache;
use super::ignore::EntryKind;
use super::template::{self, DockerfileError, DockerfileSource};
use crate::project::model::{Service, ServiceName};

/// Lines of build output kept to show when a build fails.
const TAIL_LINES: usize = 50;

/// `repository:td-<16 hex>`: the tag is the content hash of the build inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTag {
    pub repository: String,
    pub tag: String,
}

impl std::fmt::Display for ImageTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// Everything needed to build one image, decided before talking to Docker.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    pub service: ServiceName,
    pub image: ImageTag,
    pub context: BuildContext,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    pub dockerfile_source: DockerfileSource,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The numeric user the Dockerfile's final stage runs as, when it names one.
    pub run_as: Option<u32>,
    /// The final stage's command with a reload flag (uvicorn's `--reload`), if it has one.
    pub reload_command: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Dockerfile(#[from] DockerfileError),
    #[error("service `{service}`: {source}")]
    Context {
        service: ServiceName,
        source: ContextError,
    },
    #[error("service `{service}`: refusing to send secrets into an image: the context holds `{}`, a secrets file\n  help: add `{}` to {} (secrets belong in Kubernetes Secrets; todo-dev passes .env values there)", .file.rel_path, .file.ignore_line, .dockerignore.display())]
    Secret {
        service: ServiceName,
        file: SecretFile,
        dockerignore: PathBuf,
    },
    #[error("service `{service}`: planning the build stopped: {source}")]
    Planner {
        service: ServiceName,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("service `{service}`: the Docker daemon rejected the build: {message}{}", hint(.message))]
    Rejected {
        service: ServiceName,
        message: String,
    },
    #[error("service `{service}`: build failed: {message}{}\n--- last {} lines of the build log ---\n{}\n--- full log: {} ---", hint(.message), .tail.len(), .tail.join("\n"), .log.display())]
    StepFailed {
        service: ServiceName,
        message: String,
        tail: Vec<String>,
        log: PathBuf,
    },
    #[error("service `{service}`: lost the Docker daemon during the build: {source}\n  help: check that the daemon is still running (`todo-dev doctor`), then build again; no image was tagged")]
    DaemonLost {
        service: ServiceName,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("service `{service}`: cannot ask the Docker daemon about {image}: {source}")]
    Daemon {
        service: ServiceName,
        image: String,
        #[source]
        source: bollard::errors::Error,
    },
}

fn hint(message: &str) -> &'static str {
    if message.contains("no space left on device") {
        "\n  help: the Docker daemon's disk is full: `docker system prune` frees unused images and build cache"
    } else if message.contains("dockerfile parse error") || message.contains("unknown instruction")
    {
        "\n  help: fix the Dockerfile line named above"
    } else if [
        "pull access denied",
        "manifest unknown",
        "not found: manifest",
        "registry-1.docker.io",
        "no such host",
    ]
    .iter()
    .any(|m| message.contains(m))
    {
        "\n  help: a base image is not in the daemon and could not be pulled: check the FROM line or the *_IMAGE build args, or `docker pull` it first"
    } else {
        ""
    }
}

/// What a build reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    Step {
        step: u32,
        steps: u32,
        instruction: String,
    },
    Output(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BuildOutcome {
    /// The daemon already had this tag.
    Unchanged,
    Built {
        seconds: f64,
    },
}

/// What one build sends, decided before anything is hashed or sent.
#[derive(Debug, Clone)]
pub struct PreparedContext {
    pub context: BuildContext,
    /// The Dockerfile's path inside the sent context.
    pub dockerfile: String,
    pub source: DockerfileSource,
    pub build_args: BTreeMap<String, String>,
}

/// Chooses the Dockerfile and scans the context as the docker CLI sends it:
/// a Dockerfile outside the context travels inside it under a generated name,
/// and a Dockerfile's own `<name>.dockerignore` beside it replaces the
/// context's `.dockerignore` (as BuildKit reads it). Blocking.
pub fn prepare(service: &Service) -> Result<PreparedContext, BuildError> {
    let source = template::choose(service)?;
    let ctx_err = |source| BuildError::Context {
        service: service.name,
        source,
    };
    let mut build_args = BTreeMap::new();
    let mut ignore_file = service.context.join(".dockerignore");
    let mut sent_from_outside = None;
    let (dockerfile, mut injected) = match &source {
        DockerfileSource::Template(stack) => {
            let (files, path) = template::files(*stack);
            build_args = template::args(*stack, service);
            (path, files)
        }
        DockerfileSource::File(path) => {
            if let Some(own) = own_dockerignore(path) {
                ignore_file = own;
            }
            match path_in_context(path, &service.context) {
                Some(rel) => (rel, vec![]),
                None => {
                    let contents = std::fs::read(path).map_err(|source| {
                        ctx_err(ContextError::Read {
                            path: path.clone(),
                            source,
                        })
                    })?;
                    // Named by its contents, so the same Dockerfile gives the same tag anywhere.
                    let name = format!(
                        ".dockerfile.{}",
                        &blake3::hash(&contents).to_hex()[..OUTSIDE_NAME_HEX]
                    );
                    sent_from_outside = Some(name.clone());
                    let file = InjectedFile {
                        rel_path: name.clone(),
                        contents,
                        mode: 0o644,
                    };
                    (name, vec![file])
                }
            }
        }
    };
    build_args.extend(service.build_args.clone());
    let always_send = [dockerfile.as_str(), ".dockerignore"];
    let mut context = BuildContext::scan_with_rules(&service.context, &ignore_file, &always_send)
        .map_err(ctx_err)?;
    // Every caller (build, up, watch, context) gets this refusal: it is the build stage's.
    if let Some(file) = context.secret_files().into_iter().next() {
        return Err(BuildError::Secret {
            service: service.name,
            file,
            dockerignore: ignore_file,
        });
    }
    if let Some(name) = &sent_from_outside {
        context.entries.retain(|e| &e.rel_path != name);
        injected.push(dockerignore_naming(&mut context, name).map_err(ctx_err)?);
    }
    context.injected = injected;
    Ok(PreparedContext {
        context,
        dockerfile,
        source,
        build_args,
    })
}

/// Hex digits of the content hash in an outside Dockerfile's generated name.
const OUTSIDE_NAME_HEX: usize = 16;

/// `deploy/docker/frontend/Dockerfile.dockerignore` for that Dockerfile, when it exists.
fn own_dockerignore(dockerfile: &Path) -> Option<PathBuf> {
    let name = dockerfile.file_name()?.to_string_lossy().into_owned();
    let own = dockerfile.with_file_name(format!("{name}.dockerignore"));
    own.is_file().then_some(own)
}

/// The Dockerfile's '/'-path inside the context, or None when it lies
/// outside (symlinks resolved on both sides first, as the docker CLI does).
/// todo-dev's own directory is never sent, so a Dockerfile there is "outside".
fn path_in_context(dockerfile: &Path, context: &Path) -> Option<String> {
    let dockerfile = std::fs::canonicalize(dockerfile).ok()?;
    let context = std::fs::canonicalize(context).ok()?;
    let rel = to_slash(dockerfile.strip_prefix(&context).ok()?);
    let injected = rel == INJECTED_DIR || rel.starts_with(&format!("{INJECTED_DIR}/"));
    (!rel.is_empty() && !injected).then_some(rel)
}

/// The sent `.dockerignore` with `name` added (made when the context has
/// none), as the docker CLI does for an outside Dockerfile: the daemon reads
/// the Dockerfile, then drops both before any COPY can see them.
fn dockerignore_naming(
    context: &mut BuildContext,
    name: &str,
) -> Result<InjectedFile, ContextError> {
    let mut contents = b".dockerignore".to_vec();
    let mut mode = 0o644;
    if let Some(i) = context
        .entries
        .iter()
        .position(|e| e.rel_path == ".dockerignore")
    {
        let own = context.entries.remove(i);
        if matches!(own.kind, EntryKind::File { .. }) {
            contents = std::fs::read(&own.abs_path).map_err(|source| ContextError::Read {
                path: own.abs_path.clone(),
                source,
            })?;
            mode = own.mode;
        }
    }
    contents.extend_from_slice(format!("\n{name}\n").as_bytes());
    Ok(InjectedFile {
        rel_path: ".dockerignore".into(),
        contents,
        mode,
    })
}

/// Scans the context, chooses the Dockerfile and computes the tag. Blocking.
/// `cache_dir` keeps file hashes between runs (see `hash_cache`); `None`
/// hashes every file.
pub fn plan(
    instance: &str,
    service: &Service,
    cache_dir: Option<&Path>,
) -> Result<BuildPlan, BuildError> {
    let PreparedContext {
        context,
        dockerfile,
        source,
        build_args,
    } = prepare(service)?;
    let text = dockerfile_text(&source, &context.injected);
    let run_as = text.as_deref().and_then(template::run_as);
    let reload_command = text.as_deref().and_then(template::reload_command);
    let ctx_err = |source| BuildError::Context {
        service: service.name,
        source,
    };
    let args_text: String = build_args
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    let target = service.target.clone().unwrap_or_default();
    let mut cache = match cache_dir {
        Some(dir) => HashCache::load(&dir.join(format!("context-{}.json", service.name))),
        None => HashCache::none(),
    };
    let hash = context
        .content_hash(
            &[
                ("dockerfile", &dockerfile),
                ("build-args", &args_text),
                ("target", &target),
            ],
            &mut cache,
        )
        .map_err(ctx_err)?;
    cache.save();
    let labels: BTreeMap<String, String> = [
        ("app.kubernetes.io/managed-by", "todo-dev"),
        ("app.kubernetes.io/part-of", "todo"),
        ("app.kubernetes.io/instance", instance),
        ("app.kubernetes.io/name", service.name.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Ok(BuildPlan {
        service: service.name,
        image: ImageTag {
            repository: service.image.clone(),
            tag: format!("td-{}", &hash.to_hex()[..16]),
        },
        context,
        dockerfile,
        dockerfile_source: source,
        build_args,
        target: service.target.clone(),
        labels,
        run_as,
        reload_command,
    })
}

/// The Dockerfile's text: the user's file, or the injected template.
fn dockerfile_text(source: &DockerfileSource, injected: &[InjectedFile]) -> Option<String> {
    match source {
        DockerfileSource::File(path) => std::fs::read_to_string(path).ok(),
        DockerfileSource::Template(_) => injected
            .iter()
            .find(|f| f.rel_path.ends_with("/Dockerfile"))
            .and_then(|f| String::from_utf8(f.contents.clone()).ok()),
    }
}

fn to_slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the daemon already has `image`.
pub async fn exists(
    docker: &Docker,
    service: ServiceName,
    image: &ImageTag,
) -> Result<bool, BuildError> {
    match docker.inspect_image(&image.to_string()).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(source) => Err(BuildError::Daemon {
            service,
            image: image.to_string(),
            source,
        }),
    }
}

/// Builds `plan` unless the daemon has its tag (or `force`). The full log
/// goes to `log_path`; `on_event` sees steps and output lines as they come.
pub async fn build(
    docker: &Docker,
    plan: BuildPlan,
    force: bool,
    log_path: &Path,
    mut on_event: impl FnMut(BuildEvent),
) -> Result<BuildOutcome, BuildError> {
    let service = plan.service;
    if !force && exists(docker, service, &plan.image).await? {
        return Ok(BuildOutcome::Unchanged);
    }
    let started = Instant::now();
    let image = plan.image.to_string();
    let options = BuildImageOptions {
        dockerfile: plan.dockerfile.clone(),
        t: Some(image.clone()),
        rm: true,
        // Remove intermediate containers even when a step fails.
        forcerm: true,
        buildargs: Some(
            plan.build_args
                .clone()
                .into_iter()
                .collect::<HashMap<_, _>>(),
        ),
        labels: Some(plan.labels.clone().into_iter().collect::<HashMap<_, _>>()),
        target: plan.target.clone().unwrap_or_default(),
        ..Default::default()
    };
    let rx = plan.context.tar_stream();
    let body =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let mut stream = docker.build_image(options, None, Some(bollard::body_try_stream(body)));

    let mut log = LogFile::create(log_path);
    let mut tail: VecDeque<String> = VecDeque::with_capacity(TAIL_LINES);
    let mut keep = |line: &str, log: &mut LogFile| {
        log.line(line);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_string());
    };
    let mut failure: Option<BuildError> = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.as_deref() {
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        keep(line, &mut log);
                        match parse_step(line) {
                            Some(step) => on_event(step),
                            None => on_event(BuildEvent::Output(line.to_string())),
                        }
                    }
                }
                if let Some(status) = info.status.as_deref() {
                    keep(status, &mut log);
                }
                let error = info.error_detail.and_then(|d| d.message);
                if let Some(message) = error {
                    keep(&message, &mut log);
                    failure = Some(BuildError::StepFailed {
                        service,
                        message,
                        tail: Vec::new(),
                        log: log_path.to_path_buf(),
                    });
                }
            }
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                keep(&message, &mut log);
                failure = Some(BuildError::Rejected { service, message });
                break;
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                keep(&error, &mut log);
                failure = Some(BuildError::StepFailed {
                    service,
                    message: error,
                    tail: Vec::new(),
                    log: log_path.to_path_buf(),
                });
                break;
            }
            Err(source) => {
                keep(&source.to_string(), &mut log);
                failure = Some(BuildError::DaemonLost { service, source });
                break;
            }
        }
    }
    if let Some(mut err) = failure {
        if let BuildError::StepFailed { tail: t, .. } = &mut err {
            *t = tail.into_iter().collect();
        }
        // The builder tags only on success; make sure no tag survives a failure anyway.
        if exists(docker, service, &plan.image).await.unwrap_or(false) {
            let _ = docker
                .remove_image(
                    &image,
                    None::<bollard::query_parameters::RemoveImageOptions>,
                    None,
                )
                .await;
        }
        return Err(err);
    }
    Ok(BuildOutcome::Built {
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `Step 3/10 : RUN pip install ...` from the classic builder's output.
pub fn parse_step(line: &str) -> Option<BuildEvent> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, instruction) = rest.split_once(" : ")?;
    let (step, steps) = counts.split_once('/')?;
    Some(BuildEvent::Step {
        step: step.trim().parse().ok()?,
        steps: steps.trim().parse().ok()?,
        instruction: instruction.trim().to_string(),
    })
}

/// The build log on disk; a log that cannot be written must not fail the build.
struct LogFile(Option<std::io::BufWriter<std::fs::File>>);

impl LogFile {
    fn create(path: &Path) -> LogFile {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
            if let Some(state) = dir.parent() {
                super::context::ignore_state_in_git(state);
            }
        }
        LogFile(
            std::fs::File::create(path)
                .ok()
                .map(std::io::BufWriter::new),
        )
    }

    fn line(&mut self, line: &str) {
        use std::io::Write;
        if let Some(w) = &mut self.0 {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_messages_get_their_fix() {
        let table = [
            ("write /var/lib/docker/tmp/x: no space left on device", "docker system prune"),
            ("dockerfile parse error line 2: unknown instruction: RUNN", "fix the Dockerfile line"),
            ("pull access denied for todo-base, repository does not exist", "FROM line"),
            ("Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host", "docker pull"),
        ];
        for (message, fix) in table {
            assert!(hint(message).contains(fix), "{message}");
        }
        assert_eq!(
            hint("The command '/bin/sh -c false' returned a non-zero code: 1"),
            ""
        );
    }

    /// The paths a prepared context sends.
    fn sent_paths(p: &PreparedContext) -> Vec<&str> {
        let entries = &p.context.entries;
        entries.iter().map(|e| e.rel_path.as_str()).collect()
    }

    fn frontend(context: &Path, dockerfile: &Path) -> Service {
        Service {
            dockerfile: Some(dockerfile.to_path_buf()),
            ..Service::bare(ServiceName::Frontend, context, "todo-frontend", 8080)
        }
    }

    #[test]
    fn an_outside_dockerfile_travels_in_the_context_and_is_named_in_its_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("frontend/big")).unwrap();
        std::fs::create_dir_all(root.join("deploy/docker/frontend")).unwrap();
        std::fs::write(root.join("frontend/index.html"), "<html>").unwrap();
        std::fs::write(root.join("frontend/big/x"), "x").unwrap();
        std::fs::write(root.join("frontend/.dockerignore"), "big\n").unwrap();
        let df = root.join("deploy/docker/frontend/Dockerfile");
        std::fs::write(&df, "FROM scratch\nCOPY . /\n").unwrap();
        // As todo-dev.yaml gives it: relative to the context, through `..`.
        let svc = frontend(
            &root.join("frontend"),
            &root.join("frontend/../deploy/docker/frontend/Dockerfile"),
        );
        let p = prepare(&svc).unwrap();
        assert!(
            p.dockerfile.starts_with(".dockerfile.") && !p.dockerfile.contains('/'),
            "{}",
            p.dockerfile
        );
        let sent = sent_paths(&p);
        assert_eq!(
            sent,
            ["index.html"],
            "the context's rules apply; .dockerignore is replaced"
        );
        let injected: Vec<(&str, String)> = p
            .context
            .injected
            .iter()
            .map(|f| {
                (
                    f.rel_path.as_str(),
                    String::from_utf8_lossy(&f.contents).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            injected,
            [
                (
                    p.dockerfile.as_str(),
                    "FROM scratch\nCOPY . /\n".to_string()
                ),
                (".dockerignore", format!("big\n\n{}\n", p.dockerfile)),
            ]
        );

        // The Dockerfile's own ignore file wins over the context's.
        std::fs::write(
            root.join("deploy/docker/frontend/Dockerfile.dockerignore"),
            "index.html\n",
        )
        .unwrap();
        let p = prepare(&svc).unwrap();
        let sent = sent_paths(&p);
        assert_eq!(sent, ["big", "big/x"]);
        assert_eq!(
            p.context.injected[1].contents,
            format!("big\n\n{}\n", p.dockerfile).into_bytes()
        );

        // Inside the context (even spelled through `..`), it is used in place.
        std::fs::write(root.join("frontend/Dockerfile.web"), "FROM scratch\n").unwrap();
        let inside = frontend(
            &root.join("frontend"),
            &root.join("frontend/../frontend/Dockerfile.web"),
        );
        let p = prepare(&inside).unwrap();
        assert_eq!(p.dockerfile, "Dockerfile.web");
        assert!(p.context.injected.is_empty());
    }

    #[test]
    fn reads_classic_builder_steps() {
        assert_eq!(
            parse_step("Step 3/10 : RUN pip install -r requirements.txt"),
            Some(BuildEvent::Step {
                step: 3,
                steps: 10,
                instruction: "RUN pip install -r requirements.txt".into()
            })
        );
        assert_eq!(parse_step(" ---> Running in 1234"), None);
        assert_eq!(parse_step("Step x/y : RUN"), None);
    }
}
