//! Building one service's image: plan (context + tag), skip when the daemon
//! has the tag, else stream the context to the daemon and follow its log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::BuildInfoAux;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use bollard::Docker;
use futures::StreamExt;

use super::builder::{self, Builder};

use super::context::{BuildContext, ContextError, InjectedFile, SecretFile, INJECTED_DIR};
use super::hash_cache::HashCache;
use super::ignore::EntryKind;
use super::session::{self, SessionBuild};
use super::template::{self, DockerfileError, DockerfileSource};
use crate::docker::DaemonFacts;
use crate::project::model::{BuildSecret, BuildSecretFrom, Service, ServiceName};

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
    /// The declared build secrets the Dockerfile mounts.
    pub secrets: Vec<BuildSecret>,
    /// Sent paths the legacy builder drops after reading them (see `PreparedContext`).
    pub daemon_drops: Vec<String>,
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
    #[error("service `{service}`: {dockerfile} line {line} mounts build secret `{id}`, which the project does not declare\n  help: declare where it comes from in todo-dev.yaml (the value is read at build time and never stored):\n    build:\n      secrets:\n        {id}: {{env: VARIABLE}}    # or {{file: path/to/file}}")]
    UndeclaredSecret {
        service: ServiceName,
        dockerfile: String,
        line: usize,
        id: String,
    },
    #[error("service `{service}`: {dockerfile} line {line} mounts a secret with neither `id=` nor `target=`\n  help: name it: `RUN --mount=type=secret,id=ID ...`, and declare ID under build.secrets in todo-dev.yaml")]
    UnnamedSecret {
        service: ServiceName,
        dockerfile: String,
        line: usize,
    },
    #[error("service `{service}`: build secret `{id}` comes from {from}, which {problem}\n  help: {fix}")]
    SecretUnavailable {
        service: ServiceName,
        id: String,
        from: BuildSecretFrom,
        problem: &'static str,
        fix: String,
    },
    #[error("service `{service}`: its Dockerfile mounts build secrets ({ids}), which need BuildKit, and this build runs on the legacy builder (see above why)\n  help: unset DOCKER_BUILDKIT=0, or build on a daemon with BuildKit (Docker 18.09 or later, Linux)")]
    SecretsNeedBuildKit { service: ServiceName, ids: String },
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
    } else if message.contains("Unknown flag: mount")
        || message.contains("--mount option requires BuildKit")
    {
        "\n  help: `RUN --mount` needs BuildKit, and this build ran on the legacy builder (see above why): unset DOCKER_BUILDKIT=0 or use a daemon with BuildKit (Docker 18.09 or later, Linux)"
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
    /// Worth the user's attention, though the build goes on.
    Warning(String),
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
    /// The Dockerfile and `.dockerignore` when sent only to be read: the
    /// legacy builder removes them before any COPY; BuildKit, given a tar,
    /// does not (it never reads `.dockerignore` there).
    pub daemon_drops: Vec<String>,
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
    let mut daemon_drops = Vec::new();
    if let Some(name) = &sent_from_outside {
        context.entries.retain(|e| &e.rel_path != name);
        injected.push(dockerignore_naming(&mut context, name).map_err(ctx_err)?);
        daemon_drops = vec![name.clone(), ".dockerignore".to_string()];
    } else if matches!(source, DockerfileSource::File(_)) {
        let rules = super::context::read_ignore_file(&ignore_file).map_err(ctx_err)?;
        daemon_drops = always_send
            .iter()
            .filter(|p| rules.excludes(p))
            .map(|p| p.to_string())
            .collect();
    }
    context.injected = injected;
    Ok(PreparedContext {
        context,
        dockerfile,
        source,
        build_args,
        daemon_drops,
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
    declared_secrets: &[BuildSecret],
    cache_dir: Option<&Path>,
) -> Result<BuildPlan, BuildError> {
    let PreparedContext {
        context,
        dockerfile,
        source,
        build_args,
        daemon_drops,
    } = prepare(service)?;
    let text = dockerfile_text(&source, &context.injected);
    let secrets = mounted_secrets(service, &source, text.as_deref(), declared_secrets)?;
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
        secrets,
        daemon_drops,
    })
}

/// The declared secrets the Dockerfile mounts; a mount of an undeclared one
/// is refused here, before any build, with the line that asks for it.
fn mounted_secrets(
    service: &Service,
    source: &DockerfileSource,
    text: Option<&str>,
    declared: &[BuildSecret],
) -> Result<Vec<BuildSecret>, BuildError> {
    let dockerfile = match source {
        DockerfileSource::File(path) => path.display().to_string(),
        DockerfileSource::Template(_) => "todo-dev's built-in Dockerfile".to_string(),
    };
    let mut used: Vec<BuildSecret> = Vec::new();
    for mount in builder::secret_mounts(text.unwrap_or_default()) {
        let Some(id) = mount.id else {
            return Err(BuildError::UnnamedSecret {
                service: service.name,
                dockerfile,
                line: mount.line,
            });
        };
        match declared.iter().find(|s| s.id == id) {
            Some(s) if !used.contains(s) => used.push(s.clone()),
            Some(_) => {}
            None => {
                return Err(BuildError::UndeclaredSecret {
                    service: service.name,
                    dockerfile,
                    line: mount.line,
                    id,
                })
            }
        }
    }
    Ok(used)
}

/// Refuses a build whose secrets cannot be read now, naming the one missing.
fn check_secrets(service: ServiceName, secrets: &[BuildSecret]) -> Result<(), BuildError> {
    for s in secrets {
        let problem = match &s.from {
            BuildSecretFrom::Env(var) if std::env::var_os(var).is_none() => Some((
                "is not set",
                format!("export {var} in the shell that runs todo-dev"),
            )),
            BuildSecretFrom::File(path) if !path.is_file() => Some((
                "does not exist",
                format!(
                    "create {} or point build.secrets.{} at the right file",
                    path.display(),
                    s.id
                ),
            )),
            _ => None,
        };
        if let Some((problem, fix)) = problem {
            return Err(BuildError::SecretUnavailable {
                service,
                id: s.id.clone(),
                from: s.from.clone(),
                problem,
                fix,
            });
        }
    }
    Ok(())
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

/// The size of `image` as the daemon reports it (None when it cannot say:
/// a size is for the report, never a reason to fail).
pub async fn size(docker: &Docker, image: &str) -> Option<u64> {
    let inspect = docker.inspect_image(image).await.ok()?;
    inspect.size.and_then(|s| u64::try_from(s).ok())
}

/// Builds `plan` with `builder` unless the daemon has its tag (or `force`).
/// The full log goes to `log_path`; `on_event` sees steps and output lines
/// as they come.
pub async fn build(
    docker: &Docker,
    daemon: &DaemonFacts,
    mut plan: BuildPlan,
    builder: Builder,
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
    let text = dockerfile_text(&plan.dockerfile_source, &plan.context.injected);
    let builder = match builder {
        Builder::BuildKit if !plan.daemon_drops.is_empty() => {
            for_drops(&mut plan, text.as_deref(), &mut on_event)
        }
        other => other,
    };
    if builder == Builder::Legacy && matches!(plan.dockerfile_source, DockerfileSource::Template(_))
    {
        // Our templates' cache mounts need BuildKit; the image is the same without them.
        for f in &mut plan.context.injected {
            if f.rel_path == plan.dockerfile {
                f.contents = builder::without_mounts(&String::from_utf8_lossy(&f.contents)).into();
            }
        }
    }
    if !plan.secrets.is_empty() {
        if builder == Builder::Legacy {
            let ids: Vec<&str> = plan.secrets.iter().map(|s| s.id.as_str()).collect();
            return Err(BuildError::SecretsNeedBuildKit {
                service,
                ids: ids.join(", "),
            });
        }
        check_secrets(service, &plan.secrets)?;
    }
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
        version: match builder {
            Builder::BuildKit => BuilderVersion::BuilderBuildKit,
            Builder::Legacy => BuilderVersion::BuilderV1,
        },
        // bollard serves the BuildKit session (registry auth) under this id;
        // a build with secrets has a session of our own (build::session).
        session: (builder == Builder::BuildKit && plan.secrets.is_empty())
            .then(session::session_id),
        ..Default::default()
    };
    let secrets = std::mem::take(&mut plan.secrets);
    let rx = plan.context.tar_stream();
    let body =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let mut stream = match secrets.is_empty() {
        true => docker
            .build_image(options, None, Some(bollard::body_try_stream(body)))
            .boxed(),
        false => {
            let session = SessionBuild {
                endpoint: daemon.endpoint.clone(),
                api_version: daemon.api_version.clone(),
                secrets,
            };
            session::build(session, options, body).boxed()
        }
    };

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
    let mut progress = BuildKitProgress::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(BuildInfoAux::BuildKit(status)) = &info.aux {
                    for event in progress.read(status) {
                        if let BuildEvent::Output(line) = &event {
                            keep(line, &mut log);
                        }
                        on_event(event);
                    }
                }
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
                let at = progress.failed_step.as_deref().map(|step| {
                    let line = text.as_deref().and_then(|t| dockerfile_line(t, step));
                    match line {
                        Some(n) => format!("\n  at Dockerfile line {n}: {step}"),
                        None => format!("\n  in step {step}"),
                    }
                });
                failure = Some(BuildError::StepFailed {
                    service,
                    message: format!("{error}{}", at.unwrap_or_default()),
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

/// The builder for a plan whose Dockerfile or `.dockerignore` the legacy
/// builder would drop from the context. BuildKit never needs `.dockerignore`
/// from a tar (todo-dev applied it already), so that goes; the Dockerfile
/// must stay for BuildKit to read it, where a `COPY .` would then see it. So
/// such a build stays on the legacy builder (the same image, as the docker
/// CLI makes it) unless the Dockerfile needs BuildKit, which is then said.
fn for_drops(
    plan: &mut BuildPlan,
    text: Option<&str>,
    on_event: &mut impl FnMut(BuildEvent),
) -> Builder {
    let needs_buildkit = !plan.secrets.is_empty() || text.is_some_and(|t| t.contains("--mount="));
    if !needs_buildkit {
        return Builder::Legacy;
    }
    let drops = std::mem::take(&mut plan.daemon_drops);
    plan.context
        .entries
        .retain(|e| e.rel_path != ".dockerignore");
    plan.context
        .injected
        .retain(|f| f.rel_path != ".dockerignore");
    let seen: Vec<&String> = drops.iter().filter(|d| *d != ".dockerignore").collect();
    if let Some(dockerfile) = seen.first() {
        let note = format!(
            "BuildKit reads the Dockerfile from the context it is sent, so `{dockerfile}` is in what `COPY .` copies (the legacy builder would drop it; this Dockerfile needs BuildKit)"
        );
        on_event(BuildEvent::Warning(note));
    }
    Builder::BuildKit
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

/// BuildKit's progress (the `moby.buildkit.trace` records of `/build`) as
/// the same events the legacy builder's `Step n/m` lines give: one step per
/// Dockerfile instruction when it starts (or is found cached), its output
/// lines, and the step that failed.
#[derive(Debug, Default)]
struct BuildKitProgress {
    /// Vertices already announced, by digest.
    seen: std::collections::HashSet<String>,
    cached: std::collections::HashSet<String>,
    /// The name of the vertex that reported an error (`[2/5] RUN ...`).
    failed_step: Option<String>,
}

impl BuildKitProgress {
    fn read(&mut self, status: &StatusResponse) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        for v in &status.vertexes {
            if (v.started.is_some() || v.cached) && self.seen.insert(v.digest.clone()) {
                if let Some((step, steps, instruction)) = buildkit_step(&v.name) {
                    out.push(BuildEvent::Step {
                        step,
                        steps,
                        instruction: instruction.to_string(),
                    });
                }
                out.push(BuildEvent::Output(format!(
                    "#{} {}",
                    self.seen.len(),
                    v.name
                )));
            }
            if v.cached && self.cached.insert(v.digest.clone()) {
                out.push(BuildEvent::Output(format!("CACHED {}", v.name)));
            }
            if !v.error.is_empty() && self.failed_step.is_none() {
                // BuildKit marks the failed step and every step waiting on it
                // ("context canceled"); the first real error is the one to show.
                if !v.error.contains("context canceled") {
                    self.failed_step = Some(v.name.clone());
                    out.push(BuildEvent::Output(format!("ERROR {}: {}", v.name, v.error)));
                }
            }
        }
        for log in &status.logs {
            let text = String::from_utf8_lossy(&log.msg);
            out.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| BuildEvent::Output(l.to_string())),
            );
        }
        for w in &status.warnings {
            let short = String::from_utf8_lossy(&w.short);
            out.push(BuildEvent::Output(format!("WARNING: {short}")));
        }
        out
    }
}

/// `[builder 3/7] RUN pip install ...` → (3, 7, "RUN pip install ...");
/// BuildKit's own steps (`[internal] load metadata ...`) are no step.
fn buildkit_step(name: &str) -> Option<(u32, u32, &str)> {
    let rest = name.strip_prefix('[')?;
    let (label, instruction) = rest.split_once("] ")?;
    let counts = label.rsplit(' ').next()?;
    let (step, steps) = counts.split_once('/')?;
    Some((step.parse().ok()?, steps.parse().ok()?, instruction.trim()))
}

/// The 1-based line of `text` where the failed step's instruction starts.
/// BuildKit names a step by its instruction with continuation lines joined,
/// so the first line of each instruction is matched as a prefix.
fn dockerfile_line(text: &str, step: &str) -> Option<usize> {
    let (_, _, instruction) = buildkit_step(step)?;
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let wanted = squash(instruction);
    text.lines().enumerate().find_map(|(i, line)| {
        let first = squash(line.trim_end().trim_end_matches('\\'));
        let is_instruction = !first.is_empty() && !first.starts_with('#');
        (is_instruction && wanted.starts_with(&first)).then_some(i + 1)
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
    fn buildkit_progress_gives_steps_output_and_the_failed_step() {
        use bollard::moby::buildkit::v1::{Vertex, VertexLog};
        let ts = Some(Default::default());
        let vertex = |digest: &str, name: &str, cached: bool, error: &str| Vertex {
            digest: digest.into(),
            name: name.into(),
            cached,
            started: ts,
            error: error.into(),
            ..Default::default()
        };
        let mut p = BuildKitProgress::default();
        let first = p.read(&StatusResponse {
            vertexes: vec![
                vertex(
                    "a",
                    "[internal] load metadata for docker.io/library/python:3.12",
                    false,
                    "",
                ),
                vertex(
                    "b",
                    "[builder 1/3] FROM docker.io/library/python:3.12",
                    true,
                    "",
                ),
                vertex("c", "[builder 2/3] RUN pip install -r r.txt", false, ""),
            ],
            logs: vec![VertexLog {
                vertex: "c".into(),
                msg: b"Collecting fastapi\n\nDone\n".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        });
        let steps: Vec<_> = first
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Step {
                    step,
                    steps,
                    instruction,
                } => Some((*step, *steps, instruction.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            steps,
            [
                (1, 3, "FROM docker.io/library/python:3.12"),
                (2, 3, "RUN pip install -r r.txt")
            ]
        );
        assert!(first.contains(&BuildEvent::Output(
            "CACHED [builder 1/3] FROM docker.io/library/python:3.12".into()
        )));
        assert!(first.contains(&BuildEvent::Output("Collecting fastapi".into())));
        // The same vertex again (its completion) is no second step; its error is remembered.
        let again = p.read(&StatusResponse {
            vertexes: vec![
                vertex(
                    "c",
                    "[builder 2/3] RUN pip install -r r.txt",
                    false,
                    "exit code: 1",
                ),
                vertex("d", "[builder 3/3] COPY . .", false, "context canceled"),
            ],
            ..Default::default()
        });
        assert!(!again
            .iter()
            .any(|e| matches!(e, BuildEvent::Step { step: 2, .. })));
        assert_eq!(
            p.failed_step.as_deref(),
            Some("[builder 2/3] RUN pip install -r r.txt")
        );
    }

    #[test]
    fn a_failed_step_is_traced_to_its_dockerfile_line() {
        let text = "FROM x AS builder\n# RUN pip install -r r.txt (a comment)\nRUN pip install \\\n    -r r.txt\nCOPY . .\n";
        assert_eq!(
            dockerfile_line(text, "[builder 2/3] RUN pip install     -r r.txt"),
            Some(3)
        );
        assert_eq!(dockerfile_line(text, "[builder 3/3] COPY . ."), Some(5));
        assert_eq!(dockerfile_line(text, "[internal] load build context"), None);
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
