//! Command-line definitions only; each command lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `todo-dev --version`: the release, the commit and the build date (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("TODO_DEV_COMMIT"),
    ", built ",
    env!("TODO_DEV_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "todo-dev",
    version = VERSION,
    about = "The local Kubernetes dev loop for the Todo AI chatbot stack on Minikube",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml
    #[arg(long, global = true, value_name = "NAME", env = "TODO_DEV_PROFILE")]
    pub profile: Option<String>,
    /// Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail where a command has it (today: `doctor` adds what each check found)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...
    #[arg(
        long,
        global = true,
        value_name = "REGISTRY",
        env = "TODO_DEV_REGISTRY"
    )]
    pub registry: Option<String>,
    /// No colours (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the reference Todo chatbot and its todo-dev.yaml into a new or empty directory (--detect: a todo-dev.yaml for an existing repository)
    Init(InitArgs),
    /// Check that this machine can run the stack, and say how to fix what is missing
    Doctor(DoctorArgs),
    /// Start Minikube, build the images into its Docker daemon, deploy, and say where to open the app
    Up(UpArgs),
    /// Build the project's images (all enabled services, or the ones named)
    Build(BuildArgs),
    /// Show what a service's (or a directory's) build context sends
    Context(ContextArgs),
    /// Print exactly what `deploy` would apply (Secret values redacted)
    Render(RenderArgs),
    /// Apply the rendered objects to the local cluster, wait for the rollout, explain failures
    Deploy(DeployArgs),
    /// Build the images and run the stack on the local Docker daemon with Postgres: health endpoints and one round trip through the frontend, then remove it all
    Smoke(SmokeArgs),
    /// Check the deployed project as the source plans' checklists do: workloads Ready, HPA, volumes, image sizes, the printed address, sign-up and sign-in, the task API, each MCP tool over an MCP session, one chat turn within 5 s
    Verify(Box<VerifyArgs>),
    /// Remove what todo-dev created in the cluster (claims kept unless --purge)
    Down(DownArgs),
    /// Print the logs of every pod of the services (all, or the ones named), each line prefixed by service and pod; -f follows new pods
    Logs(LogsArgs),
    /// The dev loop: `up`, then each save synced into the running pods or its service rebuilt and rolled (--dry-run: only say which)
    Watch(WatchArgs),
    /// Export the stack in another packaging format
    #[command(subcommand)]
    Export(ExportCommand),
    /// List the profiles with a one-line summary each
    Profiles,
    /// Print the effective configuration (profile + todo-dev.yaml + --set), secrets redacted
    Config,
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Seconds each probe may take before it counts as not answering
    #[arg(long, value_name = "SECS", default_value_t = 1.5)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Services to build [default: every service the profile enables]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Build even when the daemon already has the image for these inputs
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ContextArgs {
    /// A service name (frontend, backend, mcp-server, ai-agent) or a directory
    #[arg(value_name = "SERVICE|DIR")]
    pub target: String,
    /// One path per line, relative to the context root, files only, sorted
    #[arg(long, conflicts_with = "size")]
    pub list: bool,
    /// The total size and the biggest directories first
    #[arg(long)]
    pub size: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RenderFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    pub format: RenderFormat,
    /// Show Secret values instead of <redacted>
    #[arg(long)]
    pub show_secrets: bool,
    /// Print the values tree the manifests are filled from, instead of the objects
    #[arg(long)]
    pub values: bool,
}

/// Which cluster a command may change.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// Kube context to use [default: the project's Minikube cluster, never just the current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Allow a context that is not a local cluster (needs --context NAME too)
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seconds to wait for each rollout
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// Delete this Deployment or StatefulSet first and create it anew (for a field Kubernetes cannot change in place; claims are kept) (repeatable)
    #[arg(long, value_name = "WORKLOAD")]
    pub recreate: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also delete the PersistentVolumeClaims (the data) and the namespace, if todo-dev created it
    #[arg(long)]
    pub purge: bool,
    /// Seconds to wait for objects to be gone
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    /// Then stop the Minikube cluster (`minikube stop`; it keeps its state for the next `up`)
    #[arg(long, conflicts_with = "delete_cluster")]
    pub stop: bool,
    /// Delete the whole Minikube cluster instead (`minikube delete`: everything in it, all data)
    #[arg(long)]
    pub delete_cluster: bool,
    /// Do not ask before --delete-cluster (needed when not on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A Helm chart equal to `render` for the profile (helm template with default values gives the same objects)
    Helm {
        /// Directory to write the chart to (must be new or empty)
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Rebuild images even when Minikube's daemon already has them
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for each rollout
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// Delete this Deployment or StatefulSet before deploying and create it anew (claims are kept) (repeatable)
    #[arg(long, value_name = "WORKLOAD")]
    pub recreate: Vec<String>,
    /// Then forward the frontend and the backend to 127.0.0.1 through the Kubernetes API, until Ctrl-C
    #[arg(long)]
    pub port_forward: bool,
    /// Serve the live status page on 127.0.0.1 from the start, and keep it (rebuild, restart and verify buttons) until Ctrl-C
    #[arg(long)]
    pub ui: bool,
    /// The status page's port (0: any free one; a busy one moves to a free one)
    #[arg(long, value_name = "PORT", default_value_t = UI_PORT)]
    pub ui_port: u16,
}

/// The status page's usual port (Tilt's is 10350).
pub const UI_PORT: u16 = 10360;

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only report each change set (service, sync or rebuild, paths); needs no cluster and no Docker
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds to wait for each rollout (the first `up` and every change)
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// Also print the logs of every pod, following replacements (as `logs -f`)
    #[arg(long)]
    pub logs: bool,
    /// Forward the frontend and the backend to 127.0.0.1 (the default)
    #[arg(long, overrides_with = "no_port_forward")]
    pub port_forward: bool,
    /// Do not forward any port
    #[arg(long)]
    pub no_port_forward: bool,
    /// Do not serve the live status page
    #[arg(long)]
    pub no_ui: bool,
    /// The status page's port (0: any free one; a busy one moves to a free one)
    #[arg(long, value_name = "PORT", default_value_t = UI_PORT)]
    pub ui_port: u16,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Services to show [default: all enabled services]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Keep following: new pods are attached, ended ones detached, until Ctrl-C
    #[arg(short, long)]
    pub follow: bool,
    /// Only lines newer than this: 30s, 5m, 2h
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub since: Option<std::time::Duration>,
    /// Only the last N lines of each container
    #[arg(long, value_name = "N")]
    pub tail: Option<u32>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `30s`, `5m`, `2h` (a bare number is seconds), as kubectl's --since.
fn parse_since(s: &str) -> Result<std::time::Duration, String> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| {
        format!("`{s}` is not a duration: use a number and s, m or h, e.g. 30s, 5m, 2h")
    })?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{s}`: use s, m or h, e.g. 30s, 5m, 2h"
            ))
        }
    };
    if secs == 0 {
        return Err("--since must be more than 0 seconds".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write to [default: --project, else the current directory]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Replace files that already exist (init), or an existing todo-dev.yaml (--detect)
    #[arg(long)]
    pub force: bool,
    /// Write only a todo-dev.yaml for the repository already there, saying what was found and why
    #[arg(long)]
    pub detect: bool,
    /// The app's frontend: the static SPA behind nginx, or Next.js (built with todo-dev's nextjs template)
    #[arg(long, value_enum, default_value = "spa", conflicts_with = "detect")]
    pub frontend: crate::scaffold::app::Frontend,
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// Seconds every service together may take to answer its health endpoints
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    pub timeout: u64,
    /// Postgres image to run the database from
    #[arg(long, value_name = "IMAGE", env = "TODO_DEV_POSTGRES_IMAGE", default_value = crate::deploy::values::POSTGRES_IMAGE)]
    pub postgres_image: String,
    /// Redis image, for profiles with Redis
    #[arg(long, value_name = "IMAGE", env = "TODO_DEV_REDIS_IMAGE", default_value = crate::deploy::values::REDIS_IMAGE)]
    pub redis_image: String,
    /// When every check passes, leave the stack running and print its addresses (remove it by the run's label)
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also delete a backend pod (its replacement Ready within 60 s) and the database's pods (a marker task kept); never by default
    #[arg(long, conflicts_with = "url")]
    pub disruptive: bool,
    /// Check the app at this address only (the frontend, whose /api/ proxy reaches the backend), not the project's cluster
    #[arg(long, value_name = "URL")]
    pub url: Option<crate::verify::Url>,
    /// With --url: the backend's own address, to check its probes' /health and /ready too
    #[arg(long, value_name = "URL", requires = "url")]
    pub backend_url: Option<crate::verify::Url>,
    /// With --url: the MCP server's streamable HTTP endpoint (profiles full and agents), e.g. http://HOST:8001/mcp
    #[arg(long, value_name = "URL", requires = "url")]
    pub mcp_url: Option<crate::verify::Url>,
    /// With --url: the deployment's signing secret, to make the short-lived user token the MCP tools take (on the cluster it is read from todo-secrets)
    #[arg(
        long,
        value_name = "SECRET",
        env = "BETTER_AUTH_SECRET",
        hide_env_values = true
    )]
    pub auth_secret: Option<String>,
}
