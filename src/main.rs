//! todo-dev: parse the command line, run one command, map the result to an
//! exit code (0 ok, 1 failed, 2 usage or configuration error).

use std::process::ExitCode;

use clap::Parser;

use todo_dev::cli::{Cli, Command};
use todo_dev::commands::{self, CommandError, Outcome};
use todo_dev::ui;

fn main() -> ExitCode {
    end_quietly_when_stdout_closes();
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
            Command::Verify(args) => commands::verify::run(&cli.global, args, &out).await,
            Command::Doctor(args) => commands::doctor::run(&cli.global, args, &out).await,
            Command::Build(args) => commands::build::run(&cli.global, args, &out).await,
            Command::Context(args) => commands::context::run(&cli.global, args, &out),
            Command::Up(args) => commands::up::run(&cli.global, args, &out).await,
            Command::Render(args) => commands::render::run(&cli.global, args, &out).await,
            Command::Deploy(args) => commands::deploy::run(&cli.global, args, &out).await,
            Command::Down(args) => commands::down::run(&cli.global, args, &out).await,
            Command::Logs(args) => commands::logs::run(&cli.global, args, &out).await,
            Command::Watch(args) => commands::watch::run(&cli.global, args, &out).await,
            Command::Export(cmd) => commands::export::run(&cli.global, cmd, &out).await,
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
        Err(CommandError { code, error }) => {
            eprintln!("{} {}", out.paint(ui::Tone::Bad, "error:"), explain(&error));
            ExitCode::from(code)
        }
    }
}

/// `todo-dev config | head`: when the reader goes away, the output just
/// ends, as for any Unix tool (exit 141, the shell's 128 + SIGPIPE), instead
/// of a panic. Rust ignores SIGPIPE so that sockets get EPIPE; `println!`
/// turns that EPIPE into this panic, which is caught here and nowhere else.
fn end_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = (payload.downcast_ref::<String>().map(String::as_str))
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// The error and each cause it does not already spell out.
fn explain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
