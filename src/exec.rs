//! Running external tools (minikube, kubectl, helm, ...) with a deadline, so
//! that no probe can hang the command that asked.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// `None` when the process was ended by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("`{program}` took longer than {:.1} s", .after.as_secs_f64())]
    TimedOut { program: String, after: Duration },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
}

/// Runs `program args...` with no stdin; kills it if it outlives `deadline`.
pub async fn run<I, S>(
    program: &OsStr,
    args: I,
    envs: &[(&str, &str)],
    deadline: Duration,
) -> Result<ToolOutput, ExecError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_input(program, args, envs, None, deadline).await
}

/// `run`, with `input` written to the program's stdin (then closed).
pub async fn run_with_input<I, S>(
    program: &OsStr,
    args: I,
    envs: &[(&str, &str)],
    input: Option<&[u8]>,
    deadline: Duration,
) -> Result<ToolOutput, ExecError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use tokio::io::AsyncWriteExt;
    let name = program.to_string_lossy().into_owned();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(envs.iter().copied())
        .stdin(match input {
            Some(_) => Stdio::piped(),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        program: name.clone(),
        source,
    })?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        // A tool that exits without reading is answered by its output, not this write.
        let _ = stdin.write_all(bytes).await;
    }
    match tokio::time::timeout(deadline, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(ToolOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
        Ok(Err(source)) => Err(ExecError::Spawn {
            program: name,
            source,
        }),
        Err(_) => Err(ExecError::TimedOut {
            program: name,
            after: deadline,
        }),
    }
}
