//! Finding the project, reading its layers, merging them and resolving the
//! result into a `Project`.

use std::path::{Path, PathBuf};

use super::error::{did_you_mean, ConfigError, Origin};
use super::model::*;
use super::profiles::{self, Catalog, DEFAULT_PROFILE};
use super::schema::{Layer, ServiceLayer};
use super::{values, yaml};

pub const CONFIG_FILE: &str = "todo-dev.yaml";
/// A change set never waits longer than this after its first event
/// (`watch::coalesce::CAP`), so a longer debounce could never be quiet.
pub const MAX_DEBOUNCE_MS: u64 = 2000;
const DEFAULTS: &str = include_str!("../../embedded/project.default.yaml");

/// What the command line says about the project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub project_dir: Option<PathBuf>,
    pub profile: Option<String>,
    pub sets: Vec<String>,
}

/// The project root: `--project DIR`, else the nearest directory upward
/// holding todo-dev.yaml, else the current directory.
pub fn find_root(
    opts: &LoadOptions,
    cwd: &Path,
) -> Result<(PathBuf, Option<PathBuf>), ConfigError> {
    if let Some(dir) = &opts.project_dir {
        let dir = cwd.join(dir);
        if !dir.is_dir() {
            return Err(ConfigError::NoProjectDir { path: dir });
        }
        let file = dir.join(CONFIG_FILE);
        return Ok((dir.clone(), file.is_file().then_some(file)));
    }
    for dir in cwd.ancestors() {
        let file = dir.join(CONFIG_FILE);
        if file.is_file() {
            return Ok((dir.to_path_buf(), Some(file)));
        }
    }
    Ok((cwd.to_path_buf(), None))
}

pub fn load(opts: &LoadOptions, cwd: &Path) -> Result<Project, ConfigError> {
    let (root, config_file) = find_root(opts, cwd)?;
    let defaults: Layer = yaml::parse(Path::new("embedded/project.default.yaml"), DEFAULTS)?;
    let user: Option<Layer> = match &config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let layer: Layer = yaml::parse(path, &text)?;
            if layer.summary.is_some() {
                return Err(invalid(
                    Origin::File {
                        path: path.clone(),
                        line: 0,
                        column: 0,
                    },
                    "`summary` belongs in a profile file, not in todo-dev.yaml",
                    "remove it, or move the profile settings to .todo-dev/profiles/NAME.yaml",
                ));
            }
            Some(layer)
        }
        None => None,
    };
    let sets = opts
        .sets
        .iter()
        .map(|arg| parse_set(arg).map(|l| (arg.clone(), l)))
        .collect::<Result<Vec<_>, _>>()?;

    let profile_name = opts
        .profile
        .clone()
        .or_else(|| sets.iter().rev().find_map(|(_, l)| l.profile.clone()))
        .or_else(|| user.as_ref().and_then(|l| l.profile.clone()))
        .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
    let profile = Catalog::load(&root).get(&profile_name)?;

    let mut merged = profiles::to_value(&defaults);
    values::merge(&mut merged, profile.layer.clone());
    if let Some(user) = &user {
        values::merge(&mut merged, profiles::to_value(user));
    }
    for (_, layer) in &sets {
        values::merge(&mut merged, profiles::to_value(layer));
    }
    if let serde_json::Value::Object(map) = &mut merged {
        map.insert("profile".into(), profile_name.clone().into());
        map.remove("summary");
    }
    let layer: Layer = serde_json::from_value(merged.clone()).map_err(|e| {
        invalid(
            Origin::Merged,
            &e.to_string(),
            "report this: merged layers should always re-read",
        )
    })?;
    resolve(layer, root, config_file, profile.info, merged)
}

fn parse_set(arg: &str) -> Result<Layer, ConfigError> {
    let origin = Origin::SetArg(arg.to_string());
    let text = values::set_arg_to_yaml(arg)
        .map_err(|m| invalid(origin.clone(), &m, "write --set key.path=value"))?;
    yaml::parse_generated::<Layer>(&text).map_err(|(message, help)| ConfigError::Invalid {
        origin,
        message,
        help,
    })
}

fn invalid(origin: Origin, message: &str, help: &str) -> ConfigError {
    ConfigError::Invalid {
        origin,
        message: message.to_string(),
        help: Some(help.to_string()),
    }
}

fn merged_rule(message: String, help: &str) -> ConfigError {
    invalid(Origin::Merged, &message, help)
}

/// Fills in the resolved model from a fully merged layer.
fn resolve(
    layer: Layer,
    root: PathBuf,
    config_file: Option<PathBuf>,
    profile: ProfileInfo,
    merged: serde_json::Value,
) -> Result<Project, ConfigError> {
    let missing = |key: &str| {
        merged_rule(
            format!("`{key}` is not set"),
            "set it in todo-dev.yaml or the profile",
        )
    };
    let cluster = layer.cluster.clone().unwrap_or_default();
    let cluster = ClusterSpec {
        name: cluster.name.ok_or_else(|| missing("cluster.name"))?,
        cpus: cluster.cpus.ok_or_else(|| missing("cluster.cpus"))?,
        memory_mib: cluster.memory.ok_or_else(|| missing("cluster.memory"))?.mib,
        disk_mib: cluster.disk.ok_or_else(|| missing("cluster.disk"))?.mib,
        kubernetes_version: cluster
            .kubernetes_version
            .ok_or_else(|| missing("cluster.kubernetesVersion"))?,
        driver: cluster.driver.ok_or_else(|| missing("cluster.driver"))?,
        addons: cluster.addons.unwrap_or_default(),
    };
    if cluster.cpus < 2 {
        return Err(merged_rule(
            format!(
                "cluster.cpus is {}, Minikube needs at least 2",
                cluster.cpus
            ),
            "set cluster.cpus: 2 or more",
        ));
    }
    if cluster.memory_mib < 1800 {
        return Err(merged_rule(
            format!(
                "cluster.memory is {} MiB, Minikube needs at least 1800 MiB",
                cluster.memory_mib
            ),
            "set cluster.memory: 4GiB",
        ));
    }

    let access = layer.access.clone().unwrap_or_default();
    if let Some(port) = access.node_port {
        if !(30000..=32767).contains(&port) {
            return Err(merged_rule(
                format!("access.nodePort {port} is outside the NodePort range 30000-32767"),
                "pick a port in 30000-32767, or remove nodePort to let Kubernetes choose",
            ));
        }
    }
    let ingress_host = if access.ingress.unwrap_or(false) {
        Some(access.host.clone().ok_or_else(|| {
            merged_rule(
                "access.ingress is on but access.host is not set".into(),
                "set access.host, e.g. todo.local",
            )
        })?)
    } else {
        None
    };
    let access = Access {
        service_type: access.service_type.unwrap_or(ServiceType::NodePort),
        node_port: access.node_port,
        ingress_host,
    };

    let mut services = Vec::new();
    let declared = layer.services.clone().unwrap_or_default();
    for (name, svc) in [
        (ServiceName::Frontend, declared.frontend),
        (ServiceName::Backend, declared.backend),
        (ServiceName::McpServer, declared.mcp_server),
        (ServiceName::AiAgent, declared.ai_agent),
    ] {
        let svc = svc.unwrap_or_default();
        if svc.enabled.unwrap_or(false) {
            services.push(resolve_service(name, svc, &root)?);
        }
    }

    let autoscaling = match layer.autoscaling.clone().unwrap_or_default() {
        a if a.enabled.unwrap_or(false) => {
            let (min, max) = (a.min_replicas.unwrap_or(1), a.max_replicas.unwrap_or(1));
            if min == 0 || min > max {
                return Err(merged_rule(
                    format!("autoscaling.minReplicas {min} must be at least 1 and at most maxReplicas {max}"),
                    "set 1 <= minReplicas <= maxReplicas",
                ));
            }
            let names = a.services.unwrap_or_default();
            let services = names
                .iter()
                .map(|n| {
                    ServiceName::parse(n).ok_or_else(|| {
                        let all = ServiceName::ALL.map(ServiceName::as_str);
                        let hint = did_you_mean(n, all)
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| format!("services are: {}", all.join(", ")));
                        merged_rule(
                            format!("autoscaling.services: unknown service `{n}`"),
                            &hint,
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(Autoscaling {
                min_replicas: min,
                max_replicas: max,
                target_cpu_percent: a.target_cpu_percent.unwrap_or(70),
                services,
            })
        }
        _ => None,
    };
    let debounce = layer
        .watch
        .clone()
        .and_then(|w| w.debounce)
        .ok_or_else(|| missing("watch.debounce"))?;
    if debounce.ms > MAX_DEBOUNCE_MS {
        return Err(merged_rule(
            format!(
                "watch.debounce is {}, above the {MAX_DEBOUNCE_MS}ms cap on a change set's wait",
                debounce.text
            ),
            "set watch.debounce to 2s or less (default 100ms)",
        ));
    }
    let watch = WatchSettings {
        debounce: std::time::Duration::from_millis(debounce.ms),
    };
    let build_secrets = build_secrets(&layer, &root)?;
    let registry = match layer.deploy.as_ref().and_then(|d| d.registry.as_deref()) {
        None | Some("") => None,
        Some(text) => Some(Registry::parse(text).map_err(|m| {
            merged_rule(
                format!("deploy.registry: {m}"),
                "set deploy.registry in todo-dev.yaml or pass --registry HOST[:PORT][/PATH]",
            )
        })?),
    };
    let rolling_update = layer.rolling_update.clone().map(|r| RollingUpdate {
        max_unavailable: r.max_unavailable.unwrap_or(0),
        max_surge: r.max_surge.unwrap_or(1),
    });

    Ok(Project {
        root,
        config_file,
        profile,
        namespace: layer
            .namespace
            .clone()
            .ok_or_else(|| missing("namespace"))?,
        database: layer.database.ok_or_else(|| missing("database"))?,
        redis: layer.redis.unwrap_or(false),
        cluster,
        access,
        autoscaling,
        rolling_update,
        services,
        watch,
        build_secrets,
        registry,
        merged,
    })
}

/// `build.secrets`: each id with exactly one source, files made absolute.
fn build_secrets(layer: &Layer, root: &Path) -> Result<Vec<BuildSecret>, ConfigError> {
    let declared = layer.build.as_ref().and_then(|b| b.secrets.clone());
    let mut out = Vec::new();
    for (id, s) in declared.unwrap_or_default() {
        let key = format!("build.secrets.{id}");
        let id_ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !id_ok {
            return Err(merged_rule(
                format!("{key}: a secret id is letters, digits, `.`, `_` and `-`"),
                "use the id the Dockerfile mounts (`RUN --mount=type=secret,id=ID`)",
            ));
        }
        let from = match (s.env, s.file) {
            (Some(var), None) if !var.is_empty() => BuildSecretFrom::Env(var),
            (None, Some(file)) if !file.is_empty() => {
                BuildSecretFrom::File(match file.strip_prefix("~/") {
                    Some(rest) => crate::host::home_dir().join(rest),
                    None => root.join(file),
                })
            }
            _ => {
                return Err(merged_rule(
                    format!("{key}: give exactly one of `env` and `file`"),
                    &format!("e.g. `{id}: {{env: PIP_INDEX_TOKEN}}` or `{id}: {{file: ~/.npmrc}}`"),
                ))
            }
        };
        out.push(BuildSecret { id, from });
    }
    Ok(out)
}

fn resolve_service(
    name: ServiceName,
    svc: ServiceLayer,
    root: &Path,
) -> Result<Service, ConfigError> {
    let key = |field: &str| format!("services.{name}.{field}");
    let need = |v: Option<String>, field: &str| {
        v.filter(|s| !s.is_empty()).ok_or_else(|| {
            merged_rule(
                format!("`{}` is not set", key(field)),
                "set it in todo-dev.yaml",
            )
        })
    };
    let context_rel = need(svc.context, "context")?;
    let context = root.join(&context_rel);
    let image = need(svc.image, "image")?;
    if image.contains(':') || image.contains('@') {
        return Err(merged_rule(
            format!(
                "{} `{image}` has a tag; todo-dev computes tags from the build inputs",
                key("image")
            ),
            "write the repository only, e.g. todo-backend",
        ));
    }
    let watch = match svc.watch {
        Some(paths) => paths.iter().map(|p| root.join(p)).collect(),
        None => vec![context.clone()],
    };
    // Unset means the template's defaults; `sync: []` turns syncing off.
    let sync = match svc.sync {
        Some(rules) => rules,
        None => default_sync(name, &context, svc.dockerfile.is_some()),
    };
    Ok(Service {
        name,
        dockerfile: svc.dockerfile.map(|d| context.join(d)),
        context,
        image,
        port: svc.port.ok_or_else(|| {
            merged_rule(
                format!("`{}` is not set", key("port")),
                "set it in todo-dev.yaml",
            )
        })?,
        replicas: svc.replicas.unwrap_or(1),
        watch,
        sync,
        build_args: svc.build_args.unwrap_or_default(),
        target: svc.target,
        env: svc.env.unwrap_or_default(),
    })
}

/// Static files nginx serves, synced by default into a static site's root.
const STATIC_SITE_FILES: [&str; 12] = [
    "html", "css", "js", "mjs", "json", "svg", "png", "jpg", "gif", "ico", "txt", "webp",
];

/// The sync rules of a service built by a built-in template, which decides
/// where the files land (embedded/dockerfiles): FastAPI copies the context to
/// /app (and runs `uvicorn --reload` in `watch`), a static site is served from
/// /srv/www. A service with its own Dockerfile gets none: only its author
/// knows where files go.
fn default_sync(name: ServiceName, context: &Path, own_dockerfile: bool) -> Vec<SyncRule> {
    let has = |f: &str| context.join(f).is_file();
    if own_dockerfile || has("Dockerfile") {
        return Vec::new();
    }
    let rule = |src: String, dest: &str| SyncRule {
        src,
        dest: dest.to_string(),
        run: None,
    };
    match name {
        ServiceName::Backend if has("requirements.txt") || has("pyproject.toml") => {
            vec![rule("**/*.py".into(), "/app/")]
        }
        ServiceName::Frontend if !has("package.json") && has("index.html") => STATIC_SITE_FILES
            .iter()
            .map(|ext| rule(format!("**/*.{ext}"), "/srv/www/"))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every enabled service's context directory exists: needed by anything that
/// builds or watches, not by `doctor` (which reports it as a check).
pub fn check_sources(project: &Project) -> Result<(), ConfigError> {
    for svc in &project.services {
        if !svc.context.is_dir() {
            return Err(ConfigError::MissingContext {
                service: svc.name.to_string(),
                path: svc.context.clone(),
                root: project.root.clone(),
            });
        }
    }
    Ok(())
}
