//! Child processes with a time limit: each runs in its own process group, and
//! past the limit the whole group is killed and reaped. The tail of stderr is
//! kept for the error message.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::{MediaError, MediaResult};

/// How much of stderr is kept for an error message.
const STDERR_TAIL: usize = 2000;

/// Output of a finished child.
pub struct Finished {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error (tail).
    pub stderr: String,
}

/// Asks the kernel to SIGKILL the child when the worker that started it dies:
/// a worker killed with SIGKILL cannot run its timeout any more, and its
/// child (a stuck ffmpeg, say) must not outlive it.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid) run between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the worker exited while starting the child"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Runs `program args` with `timeout`; kills the process group when it passes.
/// `stdin` is written to the child and closed when given.
pub async fn run<S: AsRef<OsStr>>(
    program: &str,
    args: &[S],
    timeout: Duration,
    stdin: Option<&[u8]>,
) -> MediaResult<Finished> {
    run_with_env(program, args, &[], timeout, stdin).await
}

/// `run`, with `env` added to the child's environment: the way to hand a child
/// a secret, since its arguments are readable by every local user (`ps`,
/// `/proc/<pid>/cmdline`) while its environment is readable by its user only.
pub async fn run_with_env<S: AsRef<OsStr>>(
    program: &str,
    args: &[S],
    env: &[(&str, &str)],
    timeout: Duration,
    stdin: Option<&[u8]>,
) -> MediaResult<Finished> {
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so a timeout can kill every descendant.
        .process_group(0);
    die_with_parent(&mut command);
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            MediaError::Process {
                program: program.to_string(),
                message: "not installed (run `make run` to install it)".into(),
            }
        } else {
            MediaError::io(format!("starting {program}"), e)
        }
    })?;
    let pid = child.id();
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use tokio::io::AsyncWriteExt;
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = pipe.write_all(&input).await;
            let _ = pipe.shutdown().await;
        });
    }
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    let read_out = async {
        let mut buf = Vec::new();
        if let Some(pipe) = stdout_pipe.as_mut() {
            let _ = pipe.read_to_end(&mut buf).await;
        }
        buf
    };
    let read_err = async {
        let mut buf = Vec::new();
        if let Some(pipe) = stderr_pipe.as_mut() {
            let _ = pipe.read_to_end(&mut buf).await;
        }
        buf
    };
    let waited = tokio::time::timeout(timeout, async {
        let (stdout, stderr, status) = tokio::join!(read_out, read_err, child.wait());
        (stdout, stderr, status)
    })
    .await;
    match waited {
        Ok((stdout, stderr, status)) => {
            let status = status.map_err(|e| MediaError::io(format!("waiting for {program}"), e))?;
            let stderr = tail(&stderr);
            if status.success() {
                Ok(Finished { stdout, stderr })
            } else {
                let code = status.code().map_or_else(|| "a signal".to_string(), |c| format!("exit code {c}"));
                Err(MediaError::Process { program: program.to_string(), message: format!("{code}: {stderr}") })
            }
        }
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            let _ = child.wait().await;
            Err(MediaError::Timeout { program: program.to_string(), seconds: timeout.as_secs() })
        }
    }
}

/// SIGKILL to the whole process group led by `pid`.
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.len() <= STDERR_TAIL {
        return text.to_string();
    }
    let mut start = text.len() - STDERR_TAIL;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_and_captures_output() {
        let done = run("sh", &["-c", "echo out; echo err >&2"], Duration::from_secs(5), None).await.expect("runs");
        assert_eq!(String::from_utf8_lossy(&done.stdout).trim(), "out");
        assert_eq!(done.stderr, "err");
        let echoed = run("cat", &[] as &[&str], Duration::from_secs(5), Some(b"hello")).await.expect("runs");
        assert_eq!(echoed.stdout, b"hello");
    }

    #[tokio::test]
    async fn env_reaches_the_child() {
        let done =
            run_with_env("sh", &["-c", "printf %s \"$RF_TEST\""], &[("RF_TEST", "v")], Duration::from_secs(5), None)
                .await
                .expect("runs");
        assert_eq!(done.stdout, b"v");
    }

    #[tokio::test]
    async fn failure_keeps_stderr() {
        let err =
            run("sh", &["-c", "echo broken >&2; exit 3"], Duration::from_secs(5), None).await.err().expect("fails");
        let text = err.to_string();
        assert!(text.contains("exit code 3") && text.contains("broken"), "{text}");
        let missing =
            run("definitely-not-a-program", &[] as &[&str], Duration::from_secs(5), None).await.err().expect("fails");
        assert!(missing.to_string().contains("not installed"));
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("dir");
        let marker = dir.path().join("grandchild.pid");
        // The shell starts a grandchild that would outlive a plain kill of the shell.
        let script = format!("sleep 30 & echo $! > {}; wait", marker.display());
        let started = std::time::Instant::now();
        let err = run("sh", &["-c", &script], Duration::from_millis(500), None).await.err().expect("times out");
        assert!(matches!(err, MediaError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&marker).expect("pid").trim().parse().expect("number");
        tokio::time::sleep(Duration::from_millis(200)).await;
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z ")).unwrap_or(true);
        assert!(!alive || zombie, "grandchild {pid} survived the timeout");
    }
}
