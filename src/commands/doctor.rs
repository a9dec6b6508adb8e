use std::time::Duration;

use super::{load_project, CommandResult, Outcome};
use crate::cli::{DoctorArgs, GlobalArgs};
use crate::doctor::{self, Report, Status};
use crate::host::gib;
use crate::ui::{Output, Tone};

pub async fn run(global: &GlobalArgs, args: &DoctorArgs, out: &Output) -> CommandResult {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(crate::UsageError(format!(
            "--timeout {}: give a positive number of seconds",
            args.timeout
        ))
        .into());
    }
    let project = load_project(global)?;
    let report = doctor::run(&project, Duration::from_secs_f64(args.timeout)).await;
    if out.json {
        out.print_json(&report)?;
    } else {
        print_report(&report, out);
    }
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn print_report(report: &Report, out: &Output) {
    let n = &report.needs;
    println!(
        "{} profile {} (cluster `{}`: {} CPUs, {} memory, {} disk, driver {})",
        out.paint(Tone::Bold, "todo-dev doctor"),
        report.profile,
        n.cluster,
        n.cpus,
        gib(n.memory_bytes),
        gib(n.disk_bytes),
        n.driver
    );
    let width = report
        .checks
        .iter()
        .map(|c| c.title.len())
        .max()
        .unwrap_or(0);
    for c in &report.checks {
        let tone = match c.status {
            Status::Ok => Tone::Good,
            Status::Warning | Status::Skipped => Tone::Warn,
            Status::Missing | Status::Fail if !c.required => Tone::Warn,
            Status::Missing | Status::Fail => Tone::Bad,
        };
        let label = out.paint(tone, &format!("{:<8}", c.status.as_str()));
        println!("  {label} {:<width$}  {}", c.title, c.detail);
        if let Some(fix) = &c.fix {
            println!(
                "  {:<8} {:<width$}  {} {fix}",
                "",
                "",
                out.paint(Tone::Dim, "fix:")
            );
        }
        if out.verbose > 0 && !c.data.is_null() {
            println!(
                "  {:<8} {:<width$}  {}",
                "",
                "",
                out.paint(Tone::Dim, &c.data.to_string())
            );
        }
    }
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    let blocking: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.blocks())
        .map(|c| c.title)
        .collect();
    let tally = format!(
        "{} ok, {} warning, {} missing, {} fail, {} skipped",
        count(Status::Ok),
        count(Status::Warning),
        count(Status::Missing),
        count(Status::Fail),
        count(Status::Skipped)
    );
    if blocking.is_empty() {
        println!(
            "{tally}: {}",
            out.paint(Tone::Good, "ready for `todo-dev up`")
        );
    } else {
        println!(
            "{tally}: {} {}",
            out.paint(Tone::Bad, "not ready; fix first:"),
            blocking.join(", ")
        );
    }
}
