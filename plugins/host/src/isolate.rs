//! Child-process isolation: start `entmoot-plugin-runner`, feed it the request, relay its
//! progress lines, and kill it on cancellation or when its time is up. A plugin that loops,
//! aborts or segfaults only takes the child down.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use entmoot_plugin_sdk::abi::RunInput;
use entmoot_plugin_sdk::{Layout, Progress, StrategyError};

use crate::HostError;
use crate::protocol::RunnerEvent;
use crate::run::RunOptions;

/// How often the host checks the cancel flag and the deadline.
const POLL: Duration = Duration::from_millis(25);

/// How long a child may take to exit after its final line before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Bytes of the child's stderr kept for error messages.
const STDERR_TAIL: usize = 4096;

enum Message {
    Event(RunnerEvent),
    Bad(String),
}

/// Runs one request in a child process.
pub fn run_in_child(
    runner: &Path,
    plugin: &Path,
    input: &RunInput,
    options: &RunOptions,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Vec<Layout>, HostError> {
    let request = serde_json::to_vec(input)
        .map_err(|e| HostError::Protocol(format!("cannot encode the run request: {e}")))?;
    let limit_ms = input.request.time_limit_ms;
    let grace_ms = limit_ms.map_or(0, |l| options.grace_ms.max(l / 10));
    let deadline =
        limit_ms.map(|l| Instant::now() + Duration::from_millis(l.saturating_add(grace_ms)));

    let mut command = Command::new(runner);
    command
        .arg("--plugin")
        .arg(plugin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(mb) = options.max_memory_mb {
        command.arg("--max-memory-mb").arg(mb.to_string());
    }
    if let Some(l) = limit_ms {
        // CPU backstop in case the host dies without killing the child: the wall budget
        // four times over (a strategy may use several threads), plus start-up.
        let cpu_s = (l.saturating_add(grace_ms) / 1000).saturating_mul(4) + 10;
        command.arg("--max-cpu-seconds").arg(cpu_s.to_string());
    }
    let mut child = command.spawn().map_err(|e| HostError::Runner {
        path: runner.to_path_buf(),
        reason: e.to_string(),
    })?;

    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        kill(&mut child);
        return Err(HostError::Protocol("the runner's pipes are missing".into()));
    };
    let writer = std::thread::spawn(move || {
        // A child that dies early closes the pipe; the exit status tells the story then.
        let _ = stdin.write_all(&request);
    });
    let stderr_reader = std::thread::spawn(move || tail(stderr, STDERR_TAIL));
    let (tx, rx) = mpsc::channel();
    let max_output = options.max_output_bytes;
    let stdout_reader = std::thread::spawn(move || {
        let reader = BufReader::new(stdout.take(max_output));
        for line in reader.lines() {
            let message = match line {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => match serde_json::from_str::<RunnerEvent>(&line) {
                    Ok(event) => Message::Event(event),
                    Err(e) => Message::Bad(format!(
                        "unreadable line from the runner ({e}): {}",
                        line.chars().take(200).collect::<String>()
                    )),
                },
                Err(e) => Message::Bad(format!("cannot read the runner's output: {e}")),
            };
            if tx.send(message).is_err() {
                break;
            }
        }
    });

    let mut outcome: Option<Result<Vec<Layout>, HostError>> = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            kill(&mut child);
            outcome = Some(Err(HostError::Cancelled));
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            kill(&mut child);
            outcome = Some(Err(HostError::TimedOut {
                limit_ms: limit_ms.unwrap_or(0),
                grace_ms,
            }));
            break;
        }
        match rx.recv_timeout(POLL) {
            Ok(Message::Event(RunnerEvent::Progress(p))) => on_progress(p),
            Ok(Message::Event(RunnerEvent::Result { layouts })) => {
                outcome = Some(Ok(layouts));
                break;
            }
            Ok(Message::Event(RunnerEvent::Error { error })) => {
                outcome = Some(Err(match error {
                    StrategyError::Cancelled => HostError::Cancelled,
                    e => HostError::Strategy(e),
                }));
                break;
            }
            Ok(Message::Event(RunnerEvent::Refused { reason })) => {
                outcome = Some(Err(HostError::Load {
                    path: plugin.to_path_buf(),
                    reason,
                }));
                break;
            }
            Ok(Message::Bad(reason)) => {
                kill(&mut child);
                outcome = Some(Err(HostError::Protocol(reason)));
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }

    let status = wait_briefly(&mut child, EXIT_GRACE);
    let _ = writer.join();
    let _ = stdout_reader.join();
    let stderr_tail = stderr_reader.join().unwrap_or_default();
    if !stderr_tail.is_empty() {
        tracing::debug!(plugin = %plugin.display(), "plugin runner stderr: {stderr_tail}");
    }
    match outcome {
        Some(result) => result,
        None => Err(HostError::Crashed {
            status: match status {
                Ok(s) => describe_status(s),
                Err(e) => format!("cannot wait for it: {e}"),
            },
            stderr: stderr_tail,
        }),
    }
}

/// Waits up to `grace` for the child to exit by itself, then kills it.
fn wait_briefly(child: &mut Child, grace: Duration) -> std::io::Result<std::process::ExitStatus> {
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    kill(child);
    child.wait()
}

fn kill(child: &mut Child) {
    // Already exited is fine: there is nothing left to stop.
    let _ = child.kill();
}

/// The last `keep` bytes of a stream, as text.
fn tail(mut stream: impl Read, keep: usize) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * keep {
                    kept.drain(..kept.len() - keep);
                }
            }
        }
    }
    if kept.len() > keep {
        kept.drain(..kept.len() - keep);
    }
    String::from_utf8_lossy(&kept).trim().to_string()
}

#[cfg(unix)]
fn describe_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}{}", signal_name(signal)),
        _ => status.to_string(),
    }
}

#[cfg(not(unix))]
fn describe_status(status: std::process::ExitStatus) -> String {
    status.to_string()
}

#[cfg(unix)]
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => " (SIGSEGV: invalid memory access)",
        libc::SIGABRT => " (SIGABRT: aborted, e.g. a panic across the ABI)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGXCPU => " (SIGXCPU: CPU time limit)",
        libc::SIGBUS => " (SIGBUS)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        let data = vec![b'a'; 10_000]
            .into_iter()
            .chain(b"END".iter().copied())
            .collect::<Vec<u8>>();
        let t = tail(&data[..], 10);
        assert_eq!(t.len(), 10);
        assert!(t.ends_with("END"));
    }
}
