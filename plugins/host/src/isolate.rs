//! Child-process isolation: start `entmoot-plugin-runner`, feed it the request, relay its
//! progress lines, ask it to stop on cancellation (SIGTERM, then SIGKILL after a grace) and
//! kill it when its time is up. A plugin that loops, aborts, segfaults or exhausts its memory
//! limit only takes the child down.

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
use crate::run::{RunEnding, RunOptions};

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

/// The outcome of one child-process run before any re-validation.
#[derive(Debug)]
pub struct ChildRun {
    /// Layouts exactly as the plugin returned them (not truncated, not validated), or why not.
    pub result: Result<Vec<Layout>, HostError>,
    pub ending: RunEnding,
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
    observe_child(runner, plugin, input, options, on_progress, cancel).result
}

/// Runs one request in a child process and says how it ended.
///
/// Cancellation is two-step: when `cancel` flips, the child gets SIGTERM, which the runner
/// turns into the cancel flag the plugin polls through the ABI; a plugin that has not answered
/// `options.cancel_grace_ms` later is killed (SIGKILL). Either way the result is
/// `HostError::Cancelled`. At the deadline (time limit plus grace) the child is killed at once.
pub fn observe_child(
    runner: &Path,
    plugin: &Path,
    input: &RunInput,
    options: &RunOptions,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> ChildRun {
    let request = match serde_json::to_vec(input) {
        Ok(request) => request,
        Err(e) => {
            return ChildRun {
                result: Err(HostError::Protocol(format!(
                    "cannot encode the run request: {e}"
                ))),
                ending: RunEnding::Died,
            };
        }
    };
    let limit_ms = input.request.time_limit_ms;
    let grace_ms = limit_ms.map_or(0, |l| options.grace_ms.max(l / 10));
    let deadline =
        limit_ms.map(|l| Instant::now() + Duration::from_millis(l.saturating_add(grace_ms)));
    let cancel_grace = Duration::from_millis(options.cancel_grace_ms);

    let mut command = Command::new(runner);
    command
        .arg("--plugin")
        .arg(plugin)
        // A Rust plugin's panic message is the useful part of its stderr; a backtrace
        // would push it out of the tail kept for the error message.
        .env("RUST_BACKTRACE", "0")
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
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return ChildRun {
                result: Err(HostError::Runner {
                    path: runner.to_path_buf(),
                    reason: e.to_string(),
                }),
                ending: RunEnding::Died,
            };
        }
    };

    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        kill(&mut child);
        let _ = child.wait();
        return ChildRun {
            result: Err(HostError::Protocol("the runner's pipes are missing".into())),
            ending: RunEnding::Died,
        };
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
    let mut ending = RunEnding::Died;
    // When the stop request went to the child.
    let mut cancel_sent: Option<Instant> = None;
    loop {
        if cancel_sent.is_none() && cancel.load(Ordering::Relaxed) {
            cancel_sent = Some(Instant::now());
            if !cancel_grace.is_zero() && request_stop(&child) {
                // Wait for the plugin to notice (below), up to the grace.
            } else {
                kill(&mut child);
                outcome = Some(Err(HostError::Cancelled));
                ending = RunEnding::KilledOnCancel;
                break;
            }
        }
        if let Some(sent) = cancel_sent
            && sent.elapsed() >= cancel_grace
        {
            kill(&mut child);
            outcome = Some(Err(HostError::Cancelled));
            ending = RunEnding::KilledOnCancel;
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            kill(&mut child);
            outcome = Some(Err(HostError::TimedOut {
                limit_ms: limit_ms.unwrap_or(0),
                grace_ms,
            }));
            ending = RunEnding::KilledAtDeadline;
            break;
        }
        let answered = |result: Result<Vec<Layout>, HostError>| match cancel_sent {
            // Asked to stop: whatever the plugin answers, the run is cancelled.
            Some(sent) => (
                Err(HostError::Cancelled),
                RunEnding::StoppedOnCancel {
                    latency: sent.elapsed(),
                },
            ),
            None => (result, RunEnding::Answered),
        };
        match rx.recv_timeout(POLL) {
            Ok(Message::Event(RunnerEvent::Progress(p))) => on_progress(p),
            Ok(Message::Event(RunnerEvent::Result { layouts })) => {
                (outcome, ending) = wrap(answered(Ok(layouts)));
                break;
            }
            Ok(Message::Event(RunnerEvent::Error { error })) => {
                (outcome, ending) = wrap(answered(Err(match error {
                    StrategyError::Cancelled => HostError::Cancelled,
                    e => HostError::Strategy(e),
                })));
                break;
            }
            Ok(Message::Event(RunnerEvent::ProtocolError { message })) => {
                outcome = Some(Err(HostError::Protocol(message)));
                ending = RunEnding::Died;
                break;
            }
            Ok(Message::Event(RunnerEvent::Refused { reason })) => {
                outcome = Some(Err(HostError::Load {
                    path: plugin.to_path_buf(),
                    reason,
                }));
                ending = RunEnding::Answered;
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
    let result = match outcome {
        Some(result) => result,
        // The child died after it was asked to stop: that is a cancellation too.
        None if cancel_sent.is_some() => {
            ending = RunEnding::KilledOnCancel;
            Err(HostError::Cancelled)
        }
        None => Err(HostError::Crashed {
            status: match status {
                Ok(s) => describe_status(s, &stderr_tail, options.max_memory_mb),
                Err(e) => format!("cannot wait for it: {e}"),
            },
            stderr: stderr_tail,
        }),
    };
    ChildRun { result, ending }
}

fn wrap(
    (result, ending): (Result<Vec<Layout>, HostError>, RunEnding),
) -> (Option<Result<Vec<Layout>, HostError>>, RunEnding) {
    (Some(result), ending)
}

/// Asks the child to stop cooperatively; false when that is not possible here.
#[cfg(unix)]
fn request_stop(child: &Child) -> bool {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return false;
    };
    // SAFETY: `child` has not been waited for, so `pid` still names our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
}

#[cfg(not(unix))]
fn request_stop(_child: &Child) -> bool {
    false
}

/// Waits up to `grace` for the child to exit by itself, then kills it.
fn wait_briefly(child: &mut Child, grace: Duration) -> std::io::Result<std::process::ExitStatus> {
    let until = Instant::now() + grace;
    // The child usually exits right after its last line: poll often at first.
    let mut pause = Duration::from_micros(100);
    while Instant::now() < until {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
    kill(child);
    child.wait()
}

fn kill(child: &mut Child) {
    // Already exited is fine: there is nothing left to stop.
    let _ = child.kill();
}

/// The last `keep` bytes of a stream's meaningful lines, joined with " | " into one line.
/// Backtrace frames and the "run with RUST_BACKTRACE" hint are dropped: a panic that cannot
/// unwind always prints a backtrace, which would otherwise push the panic message out.
fn tail(stream: impl Read, keep: usize) -> String {
    let mut kept: Vec<String> = Vec::new();
    let mut kept_len = 0;
    let mut reader = BufReader::new(stream);
    let mut line: Vec<u8> = Vec::new();
    let mut keep_line = |line: &[u8], kept: &mut Vec<String>| {
        let text = String::from_utf8_lossy(line).trim().to_string();
        if text.is_empty() || is_backtrace_noise(&text) {
            return;
        }
        kept_len += text.len() + 3;
        kept.push(text);
        while kept_len > keep && kept.len() > 1 {
            kept_len -= kept[0].len() + 3;
            kept.remove(0);
        }
    };
    loop {
        // Bounded reads, and only the end of an overlong line is kept, so that a plugin
        // writing endlessly without a newline costs no memory.
        match (&mut reader).take(keep as u64).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            keep_line(&line, &mut kept);
            line.clear();
        } else if line.len() > keep {
            line.drain(..line.len() - keep);
        }
    }
    keep_line(&line, &mut kept);
    let mut joined = kept.join(" | ");
    if joined.len() > keep {
        let mut cut = joined.len() - keep;
        while !joined.is_char_boundary(cut) {
            cut += 1;
        }
        joined.drain(..cut);
    }
    joined
}

fn is_backtrace_noise(line: &str) -> bool {
    let frame = line
        .split_once(':')
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    frame
        || line.starts_with("at ")
        || line == "stack backtrace:"
        || line.starts_with("note: run with `RUST_BACKTRACE=")
        || line.starts_with("note: Some details are omitted")
}

/// The exit status in words, with the likely cause when the stderr tail shows one.
fn describe_status(
    status: std::process::ExitStatus,
    stderr_tail: &str,
    max_memory_mb: Option<u64>,
) -> String {
    let mut text = exit_status_text(status);
    // Rust's allocation-failure message; C plugins usually die of a NULL dereference instead.
    if stderr_tail.contains("memory allocation of") {
        match max_memory_mb {
            Some(mb) => text.push_str(&format!(
                "; out of memory: the plugin exceeded its memory limit of {mb} MiB"
            )),
            None => text.push_str("; out of memory"),
        }
    }
    text
}

#[cfg(unix)]
fn exit_status_text(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}{}", signal_name(signal)),
        _ => status.to_string(),
    }
}

#[cfg(not(unix))]
fn exit_status_text(status: std::process::ExitStatus) -> String {
    status.to_string()
}

#[cfg(unix)]
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => " (SIGSEGV: invalid memory access)",
        libc::SIGABRT => " (SIGABRT: aborted, e.g. a panic across the ABI)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGILL => " (SIGILL: illegal instruction)",
        libc::SIGFPE => " (SIGFPE: arithmetic fault)",
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

    #[test]
    fn tail_drops_backtraces_and_keeps_panic_messages() {
        let stderr = "\
thread '<unnamed>' panicked at src/lib.rs:3:9:
deliberate panic
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

thread '<unnamed>' panicked at library/core/src/panicking.rs:225:5:
panic in a function that cannot unwind
stack backtrace:
   0:     0x7ff5b4cd552a - std::backtrace_rs::backtrace::libunwind::trace
                               at library/std/src/backtrace.rs:117:9
  21:     0x559ec9628903 - main
thread caused non-unwinding panic. aborting.
";
        assert_eq!(
            tail(stderr.as_bytes(), 4096),
            "thread '<unnamed>' panicked at src/lib.rs:3:9: | deliberate panic | \
             thread '<unnamed>' panicked at library/core/src/panicking.rs:225:5: | \
             panic in a function that cannot unwind | \
             thread caused non-unwinding panic. aborting."
        );
    }
}
