//! todo-dev: parse the command line, run one command, map the result to an
//! exit code (0 ok, 1 failed, 2 usage or configuration error).

use std::process::ExitCode;

use clap::Parser;

use todo_dev::cli::{Cli, Command};
use todo_dev::commands::{self, Outcome};
use todo_dev::{project, ui, UsageError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = ui::Output::new(cli.global.json, cli.global.no_color, cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Init(args) => commands::init::run(&cli.global, args, &out),
            Command::Smoke(args) => commands::smoke::run(&cli.global, args, &out).await,
            Command::Doctor(args) => commands::doctor::run(&cli.global, args, &out).await,
            Command::Build(args) => commands::build::run(&cli.global, args, &out).await,
            Command::Context(args) => commands::context::run(&cli.global, args, &out),
            Command::Up(args) => commands::up::run(&cli.global, args, &out).await,
            Command::Render(args) => commands::render::run(&cli.global, args, &out),
            Command::Deploy(args) => commands::deploy::run(&cli.global, args, &out).await,
            Command::Down(args) => commands::down::run(&cli.global, args, &out).await,
            Command::Export(cmd) => commands::export::run(&cli.global, cmd, &out),
            Command::Profiles => commands::profiles::run(&cli.global, &out),
            Command::Config => commands::config::run(&cli.global, &out),
            Command::Completions { shell } => Ok(commands::completions::run(*shell)),
        }
    });
    // Don't wait for probes that timed out: their children are killed on drop.
    runtime.shutdown_background();
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{} {e:#}", out.paint(ui::Tone::Bad, "error:"));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 2 for what the user must change in how todo-dev is called or configured
/// (including a missing DATABASE_URL and a refused remote context), else 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    use todo_dev::cluster::kube::ConnectError;
    use todo_dev::deploy::plan::PlanError;
    use todo_dev::smoke::SmokeError;
    // Stopped by Ctrl-C (after cleaning up): the shell's 128 + SIGINT.
    if matches!(
        e.downcast_ref::<SmokeError>(),
        Some(SmokeError::Interrupted)
    ) {
        return 130;
    }
    let usage = e.is::<project::ConfigError>()
        || e.is::<UsageError>()
        || matches!(e.downcast_ref::<PlanError>(), Some(PlanError::Secrets(_)))
        || matches!(
            e.downcast_ref::<ConnectError>(),
            Some(ConnectError::Target(_))
        );
    if usage {
        2
    } else {
        1
    }
}
