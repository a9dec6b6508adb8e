//! The "docker run" smoke test of the source plans, on the local Docker
//! daemon: build the profile's images, run them with Postgres (and Redis) on
//! a private network, wait for every health endpoint, drive one round trip
//! through the frontend's `/api` proxy. Every check is reported with its
//! timing; the caller removes the run's containers by label afterwards.

pub mod containers;
pub mod http;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bollard::Docker;
use serde_json::json;
use tokio::sync::watch;

use crate::build::image::BuildOutcome;
use crate::deploy::values::{self, RenderInput};
use crate::docker::DaemonFacts;
use crate::pipeline::build;
use crate::pipeline::Engine;
use crate::project::model::{DatabaseMode, Service, ServiceName};
use crate::project::secrets::SecretValue;
use crate::project::Project;
use containers::{ContainerSpec, DockerOpError, RunNames};
use http::Request;

/// Lines of each container's log shown when the run fails.
pub const LOG_LINES: usize = 30;
const POLL: Duration = Duration::from_millis(300);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The chat runs the agent and its MCP tools: give it longer.
const CHAT_TIMEOUT: Duration = Duration::from_secs(60);
const DB_USER: &str = "todo";
const DB_NAME: &str = "todo";
/// The manifests' uid for postgres and redis (runAsUser 999).
const DATABASE_UID: &str = "999:999";

/// What a run needs besides the project.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    pub postgres_image: String,
    pub redis_image: String,
    /// How long every service together may take to become healthy.
    pub timeout: Duration,
}

/// One thing checked, as the report shows it.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error("interrupted")]
    Interrupted,
    #[error("check failed: {0}")]
    CheckFailed(String),
    #[error(transparent)]
    Docker(#[from] DockerOpError),
    #[error("cannot generate a secret: {0}")]
    Random(String),
}

/// Reports checks as they finish (from concurrent tasks too).
pub type Reporter<'a> = &'a (dyn Fn(&Check) + Send + Sync);

/// Secrets of one run: generated, passed to the containers only, and masked
/// in any log line shown.
pub struct RunSecrets {
    auth: SecretValue,
    postgres_password: SecretValue,
}

impl RunSecrets {
    pub fn generate() -> Result<RunSecrets, SmokeError> {
        Ok(RunSecrets {
            auth: SecretValue::new(random_hex(32)?),
            postgres_password: SecretValue::new(random_hex(24)?),
        })
    }

    fn database_url(&self) -> SecretValue {
        SecretValue::new(format!(
            "postgresql://{DB_USER}:{}@postgres:5432/{DB_NAME}",
            self.postgres_password.expose()
        ))
    }

    /// `line` with every secret value replaced by `<redacted>`.
    pub fn mask(&self, line: &str) -> String {
        [&self.auth, &self.postgres_password]
            .iter()
            .fold(line.to_string(), |l, s| {
                l.replace(s.expose(), crate::project::secrets::REDACTED)
            })
    }
}

pub fn random_hex(bytes: usize) -> Result<String, SmokeError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| SmokeError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Where published ports are bound and reached: loopback for a local daemon,
/// the daemon's own address for a remote one (e.g. Minikube's VM).
pub fn reach_address(docker_host: &str) -> (IpAddr, IpAddr) {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Some(rest) = ["tcp://", "https://", "http://"]
        .iter()
        .find_map(|p| docker_host.strip_prefix(p))
    else {
        return (loopback, loopback);
    };
    let host = rest
        .rsplit_once(':')
        .map_or(rest, |(h, _)| h)
        .trim_matches(['[', ']']);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return (ip, ip);
    }
    if host == "localhost" {
        return (loopback, loopback);
    }
    use std::net::ToSocketAddrs;
    match (host, 0).to_socket_addrs().ok().and_then(|mut a| a.next()) {
        Some(addr) => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), addr.ip()),
        None => (loopback, loopback),
    }
}

/// Stops waiting when the run is cancelled (Ctrl-C).
async fn or_cancel<T>(
    cancel: &watch::Receiver<bool>,
    work: impl Future<Output = T>,
) -> Result<T, SmokeError> {
    let mut rx = cancel.clone();
    tokio::select! {
        r = work => Ok(r),
        Ok(_) = rx.wait_for(|c| *c) => Err(SmokeError::Interrupted),
    }
}

fn check(name: &str, ok: bool, started: Instant, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_string(),
        ok,
        seconds: started.elapsed().as_secs_f64(),
        detail: detail.into(),
    }
}

/// Reports `c`; a failed check ends the run.
fn expect(report: Reporter, c: Check) -> Result<(), SmokeError> {
    report(&c);
    if c.ok {
        Ok(())
    } else {
        Err(SmokeError::CheckFailed(c.name))
    }
}

/// The whole run: each app service's published address when it passed.
/// Containers and the network are left for the caller's
/// `containers::remove_run`, which also runs after an interruption.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    docker: &Docker,
    daemon: &DaemonFacts,
    docker_host: &str,
    engine: &Engine,
    opts: &SmokeOptions,
    names: &RunNames,
    secrets: &RunSecrets,
    cancel: &watch::Receiver<bool>,
    report: Reporter<'_>,
) -> Result<BTreeMap<ServiceName, SocketAddr>, SmokeError> {
    let project = &engine.project;
    let images = or_cancel(cancel, build_images(docker, daemon, engine, report)).await??;
    let (bind_ip, reach_ip) = reach_address(docker_host);

    or_cancel(cancel, check_images(docker, project, opts, &images, report)).await??;

    containers::create_network(docker, names).await?;
    let started = Instant::now();
    run_databases(docker, project, opts, names, secrets, bind_ip).await?;
    or_cancel(
        cancel,
        wait_databases(docker, project, names, started, opts.timeout, report),
    )
    .await??;

    let started = Instant::now();
    let endpoints = start_apps(
        docker,
        project,
        names,
        secrets,
        &images,
        (bind_ip, reach_ip),
        report,
    )
    .await?;
    or_cancel(
        cancel,
        wait_apps(docker, &endpoints, started, opts.timeout, report),
    )
    .await??;

    // Through the frontend's proxy; straight to the backend when a profile has no frontend.
    let entry = [ServiceName::Frontend, ServiceName::Backend]
        .iter()
        .find_map(|s| endpoints.get(s));
    let published = endpoints.iter().map(|(s, (_, a))| (*s, *a)).collect();
    let Some((_, entry)) = entry else {
        return Ok(published);
    };
    or_cancel(cancel, round_trip(*entry, &names.run_id, report)).await??;
    Ok(published)
}

/// The database images are present (pulled if not), and every built image
/// runs as a non-root user.
async fn check_images(
    docker: &Docker,
    project: &Project,
    opts: &SmokeOptions,
    images: &BTreeMap<ServiceName, String>,
    report: Reporter<'_>,
) -> Result<(), SmokeError> {
    let mut bases = vec![(
        "postgres",
        opts.postgres_image.clone(),
        "--postgres-image IMAGE",
    )];
    if project.redis {
        bases.push(("redis", opts.redis_image.clone(), "--redis-image IMAGE"));
    }
    for (what, image, flag) in &bases {
        let started = Instant::now();
        let hint = format!("give a local {what} image with {flag}, or `docker pull {image}` where a registry is reachable");
        let name = format!("image {image}");
        let c = match containers::ensure_image(docker, image, &hint).await {
            Ok(true) => check(&name, true, started, "pulled"),
            Ok(false) => check(&name, true, started, "present"),
            Err(e) => check(&name, false, started, e.to_string()),
        };
        expect(report, c)?;
    }
    for (service, image) in images {
        let started = Instant::now();
        let user = containers::image_user(docker, image).await?;
        let uid = user.split(':').next().unwrap_or("");
        let ok = !uid.is_empty() && uid != "0" && uid != "root";
        let detail = if user.is_empty() {
            "no USER: runs as root".to_string()
        } else {
            format!("USER {user}")
        };
        expect(
            report,
            check(&format!("{service} runs as non-root"), ok, started, detail),
        )?;
    }
    Ok(())
}

/// Starts the app containers, backends first (nginx resolves BACKEND_URL's
/// host when it starts): their names and reachable addresses. One that stops
/// at once is a failed check.
async fn start_apps(
    docker: &Docker,
    project: &Project,
    names: &RunNames,
    secrets: &RunSecrets,
    images: &BTreeMap<ServiceName, String>,
    (bind_ip, reach_ip): (IpAddr, IpAddr),
    report: Reporter<'_>,
) -> Result<BTreeMap<ServiceName, (String, SocketAddr)>, SmokeError> {
    let mut env = app_env(project, secrets);
    let mut order: Vec<&Service> = project.services.iter().collect();
    order.sort_by_key(|s| s.name == ServiceName::Frontend);
    let mut endpoints = BTreeMap::new();
    let started = Instant::now();
    for service in order {
        let spec = ContainerSpec {
            alias: service.name.to_string(),
            image: images[&service.name].clone(),
            env: env.remove(&service.name).unwrap_or_default(),
            publish: Some(service.port),
            user: None,
            read_only: true,
        };
        let name = containers::run(docker, names, &spec, bind_ip).await?;
        let Some(addr) = containers::published(docker, &name, service.port, reach_ip).await? else {
            // Only a stopped container has no published port.
            let detail = match containers::exited(docker, &name).await? {
                Some(code) => format!("{} exited with code {code}", service.name),
                None => format!("port {} is not published", service.port),
            };
            let failed = check(&format!("{} starts", service.name), false, started, detail);
            report(&failed);
            return Err(SmokeError::CheckFailed(failed.name));
        };
        endpoints.insert(service.name, (name, addr));
    }
    Ok(endpoints)
}

/// Builds every enabled service through the engine's build step (the
/// same tags and logs as `build`), one check per service.
async fn build_images(
    docker: &Docker,
    daemon: &DaemonFacts,
    engine: &Engine,
    report: Reporter<'_>,
) -> Result<BTreeMap<ServiceName, String>, SmokeError> {
    let project = &engine.project;
    let plans = build::plan_all(project, &project.services).await;
    // Every service at once, as the checks are reported together.
    let slots = DaemonFacts {
        cpus: project.services.len().max(1) as u32,
        ..daemon.clone()
    };
    let Ok(built) = engine.build(docker, &slots, plans, false).await else {
        return Err(SmokeError::Interrupted);
    };
    let mut images = BTreeMap::new();
    let mut first_failure = None;
    for r in built.results {
        let name = format!("build {}", r.service);
        let c = match r.outcome {
            Ok((tag, outcome)) => {
                let word = match outcome {
                    BuildOutcome::Unchanged => "unchanged",
                    BuildOutcome::Built { .. } => "built",
                };
                let c = Check {
                    name,
                    ok: true,
                    seconds: r.seconds,
                    detail: format!("{tag} {word}"),
                };
                images.insert(r.service, tag);
                c
            }
            Err(detail) => {
                first_failure.get_or_insert(name.clone());
                Check {
                    name,
                    ok: false,
                    seconds: r.seconds,
                    detail,
                }
            }
        };
        report(&c);
    }
    match first_failure {
        Some(name) => Err(SmokeError::CheckFailed(name)),
        None => Ok(images),
    }
}

async fn run_databases(
    docker: &Docker,
    project: &Project,
    opts: &SmokeOptions,
    names: &RunNames,
    secrets: &RunSecrets,
    bind_ip: IpAddr,
) -> Result<(), SmokeError> {
    let postgres = ContainerSpec {
        alias: "postgres".into(),
        image: opts.postgres_image.clone(),
        env: vec![
            ("POSTGRES_USER".into(), DB_USER.into()),
            ("POSTGRES_DB".into(), DB_NAME.into()),
            (
                "POSTGRES_PASSWORD".into(),
                secrets.postgres_password.expose().into(),
            ),
        ],
        publish: None,
        user: Some(DATABASE_UID.into()),
        // As the manifests: postgres writes its socket and lock files outside the data volume.
        read_only: false,
    };
    containers::run(docker, names, &postgres, bind_ip).await?;
    if project.redis {
        let redis = ContainerSpec {
            alias: "redis".into(),
            image: opts.redis_image.clone(),
            env: vec![],
            publish: None,
            user: Some(DATABASE_UID.into()),
            read_only: true,
        };
        containers::run(docker, names, &redis, bind_ip).await?;
    }
    Ok(())
}

/// Postgres answering on TCP (not only the socket of its init phase), Redis answering PONG.
async fn wait_databases(
    docker: &Docker,
    project: &Project,
    names: &RunNames,
    started: Instant,
    timeout: Duration,
    report: Reporter<'_>,
) -> Result<(), SmokeError> {
    let mut probes = vec![(
        "postgres",
        "postgres accepts connections (pg_isready)",
        vec![
            "pg_isready",
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-U",
            DB_USER,
            "-d",
            DB_NAME,
        ],
        "accepting connections",
    )];
    if project.redis {
        probes.push((
            "redis",
            "redis answers (redis-cli ping)",
            vec!["redis-cli", "ping"],
            "PONG",
        ));
    }
    let deadline = started + timeout;
    let waits = probes
        .into_iter()
        .map(|(alias, label, cmd, want)| async move {
            let container = names.container(alias);
            loop {
                if let Ok(Some(code)) = containers::exited(docker, &container).await {
                    return check(
                        label,
                        false,
                        started,
                        format!("{alias} exited with code {code}"),
                    );
                }
                let last = match containers::exec(docker, &container, &cmd).await {
                    Ok((0, out)) if out.contains(want) => {
                        return check(label, true, started, out.trim().to_string())
                    }
                    Ok((code, out)) => format!("exit {code}: {}", out.trim()),
                    Err(e) => e.to_string(),
                };
                if Instant::now() > deadline {
                    return check(
                        label,
                        false,
                        started,
                        format!("not ready after {}s ({last})", timeout.as_secs()),
                    );
                }
                tokio::time::sleep(POLL).await;
            }
        });
    let results = futures::future::join_all(waits).await;
    for c in results {
        expect(report, c)?;
    }
    Ok(())
}

/// The health endpoints of ../design/stack.md for each app service.
fn health_paths(service: ServiceName) -> &'static [&'static str] {
    match service {
        ServiceName::Frontend => &["/healthz"],
        ServiceName::Backend | ServiceName::AiAgent => &["/health", "/ready"],
        ServiceName::McpServer => &["/health"],
    }
}

async fn wait_apps(
    docker: &Docker,
    endpoints: &BTreeMap<ServiceName, (String, SocketAddr)>,
    started: Instant,
    timeout: Duration,
    report: Reporter<'_>,
) -> Result<(), SmokeError> {
    let deadline = started + timeout;
    let waits = endpoints.iter().flat_map(|(service, (container, addr))| {
        health_paths(*service).iter().map(move |path| async move {
            let label = format!("{service} {path}");
            loop {
                if let Ok(Some(code)) = containers::exited(docker, container).await {
                    return check(
                        &label,
                        false,
                        started,
                        format!("{service} exited with code {code}"),
                    );
                }
                let last = match http::send(*addr, &Request::get(path), REQUEST_TIMEOUT).await {
                    Ok(r) if r.status == 200 => return check(&label, true, started, r.summary()),
                    Ok(r) => r.summary(),
                    Err(e) => e.to_string(),
                };
                if Instant::now() > deadline {
                    return check(
                        &label,
                        false,
                        started,
                        format!("not healthy after {}s: {last}", timeout.as_secs()),
                    );
                }
                tokio::time::sleep(POLL).await;
            }
        })
    });
    let results = futures::future::join_all(waits).await;
    let mut failed = None;
    for c in results {
        report(&c);
        if !c.ok {
            failed.get_or_insert(c.name);
        }
    }
    match failed {
        Some(name) => Err(SmokeError::CheckFailed(name)),
        None => Ok(()),
    }
}

/// Sign up, add a task, add one through the chat, find both in the list:
/// every request through the frontend's nginx `/api/` proxy (`entry`).
async fn round_trip(
    entry: SocketAddr,
    run_id: &str,
    report: Reporter<'_>,
) -> Result<(), SmokeError> {
    let started = Instant::now();
    let password = random_hex(12)?;
    let sign_up = json!({"email": format!("smoke-{run_id}@example.com"), "password": password, "name": "todo-dev smoke"});
    let req = Request {
        method: "POST",
        path: "/api/auth/sign-up",
        token: None,
        body: Some(&sign_up),
        headers: &[],
    };
    let r = send_or_fail(
        entry,
        &req,
        REQUEST_TIMEOUT,
        "sign up (POST /api/auth/sign-up)",
        started,
        report,
    )
    .await?;
    let token = r
        .json()
        .and_then(|v| v["token"].as_str().map(str::to_string));
    let c = check(
        "sign up (POST /api/auth/sign-up)",
        r.status == 201 && token.is_some(),
        started,
        format!(
            "HTTP {}{}",
            r.status,
            if token.is_some() {
                ", token issued"
            } else {
                ", no token in the answer"
            }
        ),
    );
    expect(report, c)?;
    let token = token.unwrap_or_default();

    let started = Instant::now();
    let title = format!("smoke check {run_id}");
    let body = json!({"title": title});
    let req = Request {
        method: "POST",
        path: "/api/tasks",
        token: Some(&token),
        body: Some(&body),
        headers: &[],
    };
    let name = "add a task (POST /api/tasks)";
    let r = send_or_fail(entry, &req, REQUEST_TIMEOUT, name, started, report).await?;
    let ok = r.status == 201 && r.json().is_some_and(|t| t["title"] == title.as_str());
    expect(report, check(name, ok, started, r.summary()))?;

    let started = Instant::now();
    let body = json!({"message": "add buy milk"});
    let req = Request {
        method: "POST",
        path: "/api/chat",
        token: Some(&token),
        body: Some(&body),
        headers: &[],
    };
    let name = "chat \"add buy milk\" (POST /api/chat)";
    let r = send_or_fail(entry, &req, CHAT_TIMEOUT, name, started, report).await?;
    let answer = r.json().unwrap_or_default();
    let reply = answer["reply"].as_str().unwrap_or("").to_string();
    // The offline agent works through the MCP tools: the answer lists the calls.
    let tools: Vec<&str> = answer["tool_calls"]
        .as_array()
        .map(|calls| calls.iter().filter_map(|c| c["tool"].as_str()).collect())
        .unwrap_or_default();
    let detail = match reply.is_empty() {
        false => format!(
            "HTTP {}: {} [tools: {}]",
            r.status,
            reply.chars().take(100).collect::<String>(),
            tools.join(", ")
        ),
        true => r.summary(),
    };
    let ok = r.status == 200 && !reply.is_empty() && tools.contains(&"add_task");
    expect(report, check(name, ok, started, detail))?;

    let started = Instant::now();
    let req = Request {
        method: "GET",
        path: "/api/tasks",
        token: Some(&token),
        body: None,
        headers: &[],
    };
    let name = "list tasks (GET /api/tasks)";
    let r = send_or_fail(entry, &req, REQUEST_TIMEOUT, name, started, report).await?;
    let titles = task_titles(r.json());
    let has = |want: &str| titles.iter().any(|t| t.trim().eq_ignore_ascii_case(want));
    let ok = r.status == 200 && has(&title) && has("buy milk");
    let detail = format!(
        "HTTP {}: {} task(s): {}",
        r.status,
        titles.len(),
        titles.join(", ")
    );
    expect(report, check(name, ok, started, detail))
}

/// Titles from a task list, bare (`[...]`) or wrapped (`{"tasks": [...]}`).
fn task_titles(body: Option<serde_json::Value>) -> Vec<String> {
    let Some(body) = body else { return vec![] };
    let list = body
        .as_array()
        .cloned()
        .or_else(|| body["tasks"].as_array().cloned())
        .unwrap_or_default();
    list.iter()
        .filter_map(|t| t["title"].as_str().map(str::to_string))
        .collect()
}

async fn send_or_fail(
    addr: SocketAddr,
    req: &Request<'_>,
    timeout: Duration,
    name: &str,
    started: Instant,
    report: Reporter<'_>,
) -> Result<http::Response, SmokeError> {
    http::send(addr, req, timeout).await.map_err(|e| {
        let c = check(name, false, started, e.to_string());
        report(&c);
        SmokeError::CheckFailed(c.name)
    })
}

/// Each app container's environment, exactly as its manifest wires it (the
/// `todo-config` keys and `todo-secrets` keys it reads, then its own `env`),
/// for an in-cluster database, which the run provides, and with the run's
/// own secrets. So only the backend gets BETTER_AUTH_SECRET, as in the
/// cluster. No LLM key: the offline agent answers, so the run is deterministic.
pub fn app_env(
    project: &Project,
    secrets: &RunSecrets,
) -> BTreeMap<ServiceName, Vec<(String, String)>> {
    let mut local = project.clone();
    local.database = DatabaseMode::InCluster;
    let run_secrets: BTreeMap<String, SecretValue> = [
        ("DATABASE_URL", secrets.database_url()),
        ("BETTER_AUTH_SECRET", secrets.auth.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let (images, settings_none) = (BTreeMap::new(), BTreeMap::new());
    let tree = values::build(&RenderInput {
        project: &local,
        images: &images,
        secrets: &run_secrets,
        settings: &settings_none,
        dev: &values::DevVariant::hardened(),
        pull_secret: None,
    });
    let resolve = |entry: &serde_json::Value| -> Option<(String, String)> {
        let name = entry["name"].as_str()?.to_string();
        let from = &entry["valueFrom"];
        let value = if let Some(v) = entry["value"].as_str() {
            v.to_string()
        } else if let Some(key) = from["configMapKeyRef"]["key"].as_str() {
            tree["config"][key].as_str()?.to_string()
        } else {
            let key = from["secretKeyRef"]["key"].as_str()?;
            run_secrets.get(key)?.expose().to_string()
        };
        Some((name, value))
    };
    project
        .services
        .iter()
        .map(|s| {
            let env = tree["services"][s.name.as_str()]["env"]
                .as_array()
                .map(|entries| entries.iter().filter_map(resolve).collect())
                .unwrap_or_default();
            (s.name, env)
        })
        .collect()
}

/// Each container's last log lines, secrets masked: (container alias, lines).
pub async fn logs_of_run(
    docker: &Docker,
    run_id: &str,
    secrets: &RunSecrets,
) -> Vec<(String, Vec<String>)> {
    let Ok(list) = containers::containers_of(docker, run_id).await else {
        return vec![];
    };
    let mut out = Vec::new();
    for (name, alias) in list {
        let lines = containers::log_tail(docker, &name, LOG_LINES).await;
        out.push((alias, lines.iter().map(|l| secrets.mask(l)).collect()));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_reached_where_the_daemon_is() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(reach_address("unix:///var/run/docker.sock"), (lo, lo));
        assert_eq!(reach_address("tcp://127.0.0.1:2376"), (lo, lo));
        assert_eq!(reach_address("tcp://localhost:2376"), (lo, lo));
        let vm: IpAddr = "192.168.49.2".parse().unwrap();
        assert_eq!(reach_address("tcp://192.168.49.2:2376"), (vm, vm));
    }

    #[test]
    fn secrets_are_masked_in_log_lines() {
        let s = RunSecrets::generate().unwrap();
        let line = format!(
            "connecting with {} and {}",
            s.database_url().expose(),
            s.auth.expose()
        );
        let masked = s.mask(&line);
        assert!(
            !masked.contains(s.postgres_password.expose()) && !masked.contains(s.auth.expose()),
            "{masked}"
        );
        assert!(
            masked.contains("postgresql://todo:<redacted>@postgres:5432/todo"),
            "{masked}"
        );
    }

    #[test]
    fn each_container_gets_what_its_manifest_wires_and_only_the_backend_the_signing_key() {
        let dir = tempfile::tempdir().unwrap();
        crate::scaffold::app::write(dir.path(), crate::scaffold::app::Frontend::Spa, false)
            .unwrap();
        let opts = crate::project::LoadOptions {
            profile: Some("agents".into()),
            ..Default::default()
        };
        let project = crate::project::load(&opts, dir.path()).unwrap();
        let secrets = RunSecrets::generate().unwrap();
        let env = app_env(&project, &secrets);
        let get = |svc: ServiceName, key: &str| {
            env[&svc]
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            get(ServiceName::Backend, "BETTER_AUTH_SECRET").as_deref(),
            Some(secrets.auth.expose())
        );
        for svc in [
            ServiceName::Frontend,
            ServiceName::McpServer,
            ServiceName::AiAgent,
        ] {
            assert_eq!(get(svc, "BETTER_AUTH_SECRET"), None, "{svc}");
        }
        let url = secrets.database_url().expose().to_string();
        for svc in [
            ServiceName::Backend,
            ServiceName::McpServer,
            ServiceName::AiAgent,
        ] {
            assert_eq!(
                get(svc, "DATABASE_URL").as_deref(),
                Some(url.as_str()),
                "{svc}"
            );
        }
        assert_eq!(get(ServiceName::Frontend, "DATABASE_URL"), None);
        assert_eq!(
            get(ServiceName::Frontend, "BACKEND_URL").as_deref(),
            Some("http://backend:8000")
        );
        assert_eq!(
            get(ServiceName::Backend, "AGENT_URL").as_deref(),
            Some("http://ai-agent:8002")
        );
    }

    #[test]
    fn task_lists_bare_or_wrapped() {
        let bare = json!([{"title": "buy milk"}, {"title": "x"}]);
        assert_eq!(task_titles(Some(bare)), ["buy milk", "x"]);
        assert_eq!(task_titles(Some(json!({"tasks": [{"title": "y"}]}))), ["y"]);
        assert!(task_titles(None).is_empty());
    }
}
