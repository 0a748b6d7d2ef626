//! Child-process isolation: start `entmoot-plugin-runner` with a cleared environment, in a
//! fresh empty working directory and its own process group; feed it the request, relay its
//! progress lines, ask it to stop on cancellation (SIGTERM to the group, then SIGKILL after a
//! grace) and kill the whole group when its time is up — and at the end of every run, so
//! nothing the plugin started outlives it. The host never waits for the end of the pipes (a
//! grandchild may hold them): it reads lines as they come and stops when the run has ended.
//! A plugin that loops, aborts, segfaults or exhausts its memory limit only takes the child
//! down. The handshake of a new plugin file (`handshake_in_child`) runs the same way.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use entmoot_plugin_sdk::abi::RunInput;
use entmoot_plugin_sdk::{Layout, Manifest, Progress, StrategyError};

use crate::HostError;
use crate::caps::{
    MAX_EVENT_LINE, MAX_REASON, cap_progress, cap_strategy_error, cap_text, max_result_bytes,
};
use crate::protocol::RunnerEvent;
use crate::run::{RunEnding, RunOptions};
use crate::sandbox::SandboxReport;

/// How often the host checks the cancel flag and the deadline.
const POLL: Duration = Duration::from_millis(25);

/// How long a runner may take to exit after its final line before its group is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// How long the host waits for the rest of the runner's stderr once the group is dead.
const STDERR_GRACE: Duration = Duration::from_millis(100);

/// Bytes of the child's stderr kept for error messages.
const STDERR_TAIL: usize = 4096;

enum Message {
    Event(RunnerEvent),
    Bad(String),
    /// A line over its cap, refused unread: the plugin's own doing, not the pipe's.
    TooLarge(String),
    /// A result whose counts (assets, roads, road points) break the problem's caps,
    /// refused before parsing: parsing it is what would cost the host.
    OverCaps {
        alternative: usize,
        violation: entmoot_plugin_sdk::Violation,
    },
}

/// What a run's result is judged against before it is parsed.
#[derive(Debug, Clone, Copy)]
struct ResultBounds {
    /// The longest result line read, bytes.
    max_line: u64,
    /// The problem's asset count and the alternatives asked for (none for a handshake).
    counts: Option<(usize, usize)>,
}

/// The outcome of one child-process run before any re-validation.
#[derive(Debug)]
pub struct ChildRun {
    /// Layouts exactly as the plugin returned them (not truncated, not validated), or why not.
    pub result: Result<Vec<Layout>, HostError>,
    pub ending: RunEnding,
    /// Processes the plugin left running when it answered (killed since).
    pub stray_processes: usize,
    /// The protections the run had, as the runner reported them.
    pub sandbox: Option<SandboxReport>,
}

/// What the runner does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    Handshake,
    Probe,
}

/// One started runner: its process group, its event lines, the tail of its stderr and its
/// working directory (removed when this is dropped).
struct Session {
    child: Child,
    events: mpsc::Receiver<Message>,
    stderr: Arc<Mutex<StderrTail>>,
    stderr_done: mpsc::Receiver<()>,
    _work_dir: tempfile::TempDir,
}

/// Starts the runner. `stdin` is written on a thread (a child that never reads it cannot
/// block the host) and closed.
fn start(
    runner: &Path,
    plugin: Option<&Path>,
    mode: Mode,
    options: &RunOptions,
    cpu_seconds: Option<u64>,
    stdin: Vec<u8>,
    bounds: ResultBounds,
) -> Result<Session, HostError> {
    let runner_error = |reason: String| HostError::Runner {
        path: runner.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(&options.scratch_dir).map_err(|e| {
        runner_error(format!(
            "cannot create the scratch directory {}: {e}",
            options.scratch_dir.display()
        ))
    })?;
    let work_dir = tempfile::Builder::new()
        .prefix("entmoot-run-")
        .tempdir_in(&options.scratch_dir)
        .map_err(|e| {
            runner_error(format!(
                "cannot create a working directory in {}: {e}",
                options.scratch_dir.display()
            ))
        })?;
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // The runner switches to the sandbox user: the fresh directory becomes that user's
        // (and only this directory, which the host just made).
        let (uid, gid) = options.sandbox_user;
        std::os::unix::fs::chown(work_dir.path(), Some(uid), Some(gid)).map_err(|e| {
            runner_error(format!(
                "cannot hand the working directory {} to uid {uid}: {e}",
                work_dir.path().display()
            ))
        })?;
    }
    let mut command = Command::new(runner);
    command
        // Nothing of the host's environment (secrets, keys, URLs) reaches the plugin.
        .env_clear()
        // A Rust plugin's panic message is the useful part of its stderr; a backtrace
        // would push it out of the tail kept for the error message.
        .env("RUST_BACKTRACE", "0")
        .current_dir(work_dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: killed as a whole, with everything the plugin forked.
        command.process_group(0);
    }
    match mode {
        Mode::Probe => {
            command.arg("--probe");
        }
        Mode::Handshake | Mode::Run => {
            if let Some(plugin) = plugin {
                command.arg("--plugin").arg(plugin);
            }
            if mode == Mode::Handshake {
                command.arg("--handshake");
            }
        }
    }
    if let Some(mb) = options.max_memory_mb {
        command.arg("--max-memory-mb").arg(mb.to_string());
    }
    if let Some(s) = cpu_seconds {
        command.arg("--max-cpu-seconds").arg(s.to_string());
    }
    command
        .arg("--max-processes")
        .arg(options.max_processes.to_string())
        .arg("--max-file-size-mb")
        .arg(options.max_file_size_mb.to_string())
        .arg("--max-open-files")
        .arg(options.max_open_files.to_string())
        .arg("--user")
        .arg(format!(
            "{}:{}",
            options.sandbox_user.0, options.sandbox_user.1
        ));
    let mut child = command.spawn().map_err(|e| runner_error(e.to_string()))?;
    let (Some(mut child_stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        kill_group(&child, KILL);
        let _ = child.wait();
        return Err(HostError::Protocol("the runner's pipes are missing".into()));
    };
    let spawned = std::thread::Builder::new()
        .name("plugin-stdin".into())
        .spawn(move || {
            // A child that dies early closes the pipe; the exit status tells the story then.
            let _ = child_stdin.write_all(&stdin);
        });
    let tail = Arc::new(Mutex::new(StderrTail::new(STDERR_TAIL)));
    let (stderr_tx, stderr_done) = mpsc::channel();
    let tail_writer = Arc::clone(&tail);
    let spawned = spawned.and_then(|_| {
        std::thread::Builder::new()
            .name("plugin-stderr".into())
            .spawn(move || {
                read_tail(stderr, &tail_writer);
                let _ = stderr_tx.send(());
            })
    });
    let (tx, events) = mpsc::channel();
    let spawned = spawned.and_then(|_| {
        std::thread::Builder::new()
            .name("plugin-stdout".into())
            .spawn(move || read_events(stdout, bounds, &tx))
    });
    if let Err(e) = spawned {
        kill_group(&child, KILL);
        let _ = child.wait();
        return Err(runner_error(format!("cannot start a reader thread: {e}")));
    }
    Ok(Session {
        child,
        events,
        stderr: tail,
        stderr_done,
        _work_dir: work_dir,
    })
}

/// Reads event lines: any line up to `MAX_EVENT_LINE` bytes, the final `result` line up to
/// `bounds.max_line`. A longer line ends the reading with a `TooLarge` message, and a
/// result whose counts break the caps with `OverCaps`, both before any parsing.
fn read_events(stdout: impl Read, bounds: ResultBounds, tx: &mpsc::Sender<Message>) {
    let max_line = bounds.max_line;
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = max_line.max(MAX_EVENT_LINE as u64);
        match (&mut reader).take(limit + 1).read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                let _ = tx.send(Message::Bad(format!(
                    "cannot read the runner's output: {e}"
                )));
                return;
            }
        }
        let complete = line.last() == Some(&b'\n');
        let is_result = line.starts_with(br#"{"event":"result""#);
        let allowed = if is_result {
            max_line
        } else {
            MAX_EVENT_LINE as u64
        };
        if line.len() as u64 > allowed || (!complete && line.len() as u64 > limit) {
            let what = if is_result { "result" } else { "message" };
            let _ = tx.send(Message::TooLarge(format!(
                "the plugin's {what} is larger than the {allowed} bytes allowed for this problem; it was not read"
            )));
            return;
        }
        if is_result
            && let Some((problem_assets, wanted)) = bounds.counts
            && let Err((alternative, violation)) =
                crate::caps::check_result_counts(&line, problem_assets, wanted)
        {
            let _ = tx.send(Message::OverCaps {
                alternative,
                violation,
            });
            return;
        }
        if is_result {
            let message = match crate::protocol::parse_result_line(&line) {
                Ok(layouts) => Message::Event(RunnerEvent::Result { layouts }),
                Err(e) => Message::Bad(format!("unreadable result from the runner ({e})")),
            };
            let _ = tx.send(message);
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let message = match serde_json::from_str::<RunnerEvent>(text) {
            Ok(event) => Message::Event(event),
            Err(e) => Message::Bad(format!(
                "unreadable line from the runner ({e}): {}",
                cap_text(text, 200)
            )),
        };
        if tx.send(message).is_err() {
            return;
        }
    }
}

impl Session {
    /// Ends the session: waits up to `exit_grace` for the runner to exit by itself, kills its
    /// whole process group (whatever the plugin left), reaps the runner and returns its exit
    /// status and the tail of its stderr. Never waits for the pipes to close beyond a short
    /// grace.
    fn finish(
        mut self,
        exit_grace: Duration,
    ) -> (std::io::Result<std::process::ExitStatus>, String) {
        let until = Instant::now() + exit_grace;
        // The runner usually exits right after its last line: poll often at first.
        let mut pause = Duration::from_micros(100);
        while Instant::now() < until && !exited_without_reaping(&self.child) {
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
        // Killed while the runner is not yet reaped: its process group id cannot have been
        // reused by anyone else.
        kill_group(&self.child, KILL);
        let status = self.child.wait();
        let _ = self.stderr_done.recv_timeout(STDERR_GRACE);
        let tail = self
            .stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .joined();
        (status, tail)
    }
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
/// Cancellation is two-step: when `cancel` flips, the runner's group gets SIGTERM, which the
/// runner turns into the cancel flag the plugin polls through the ABI; a plugin that has not
/// answered `options.cancel_grace_ms` later is killed (SIGKILL). Either way the result is
/// `HostError::Cancelled`. At the deadline (time limit plus grace) the group is killed at once.
pub fn observe_child(
    runner: &Path,
    plugin: &Path,
    input: &RunInput,
    options: &RunOptions,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> ChildRun {
    let died = |result| ChildRun {
        result: Err(result),
        ending: RunEnding::Died,
        stray_processes: 0,
        sandbox: None,
    };
    let request = match serde_json::to_vec(input) {
        Ok(request) => request,
        Err(e) => {
            return died(HostError::Protocol(format!(
                "cannot encode the run request: {e}"
            )));
        }
    };
    let limit_ms = input.request.time_limit_ms;
    let grace_ms = limit_ms.map_or(0, |l| options.grace_ms.max(l / 10));
    let deadline =
        limit_ms.map(|l| Instant::now() + Duration::from_millis(l.saturating_add(grace_ms)));
    let cancel_grace = Duration::from_millis(options.cancel_grace_ms);
    // CPU backstop in case the host dies without killing the child: the wall budget four
    // times over (a strategy may use several threads), plus start-up.
    let cpu_seconds = limit_ms.map(|l| (l.saturating_add(grace_ms) / 1000).saturating_mul(4) + 10);
    let max_line = max_result_bytes(
        input.problem.assets.len(),
        input.request.alternatives,
        options.max_output_bytes,
    );
    let session = match start(
        runner,
        Some(plugin),
        Mode::Run,
        options,
        cpu_seconds,
        request,
        ResultBounds {
            max_line,
            counts: Some((
                input.problem.assets.len(),
                input.request.alternatives.max(1) as usize,
            )),
        },
    ) {
        Ok(session) => session,
        Err(e) => return died(e),
    };

    let mut outcome: Option<Result<Vec<Layout>, HostError>> = None;
    let mut ending = RunEnding::Died;
    let mut stray_processes = 0;
    let mut sandbox = None;
    // When the stop request went to the child.
    let mut cancel_sent: Option<Instant> = None;
    loop {
        if cancel_sent.is_none() && cancel.load(Ordering::Relaxed) {
            cancel_sent = Some(Instant::now());
            if cancel_grace.is_zero() || !kill_group(&session.child, TERM) {
                outcome = Some(Err(HostError::Cancelled));
                ending = RunEnding::KilledOnCancel;
                break;
            }
            // Otherwise wait for the plugin to notice (below), up to the grace.
        }
        if let Some(sent) = cancel_sent
            && sent.elapsed() >= cancel_grace
        {
            outcome = Some(Err(HostError::Cancelled));
            ending = RunEnding::KilledOnCancel;
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
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
        match session.events.recv_timeout(POLL) {
            Ok(Message::Event(RunnerEvent::Sandbox(report))) => sandbox = Some(report),
            Ok(Message::Event(RunnerEvent::Progress(p))) => on_progress(cap_progress(p)),
            Ok(Message::Event(RunnerEvent::StrayProcesses { count })) => stray_processes = count,
            Ok(Message::Event(RunnerEvent::Result { layouts })) => {
                (outcome, ending) = wrap(answered(Ok(layouts)));
                break;
            }
            Ok(Message::Event(RunnerEvent::Error { error })) => {
                (outcome, ending) = wrap(answered(Err(match error {
                    StrategyError::Cancelled => HostError::Cancelled,
                    e => HostError::Strategy(cap_strategy_error(e)),
                })));
                break;
            }
            Ok(Message::Event(RunnerEvent::ProtocolError { message })) => {
                outcome = Some(Err(HostError::Protocol(cap_text(&message, MAX_REASON))));
                ending = RunEnding::Died;
                break;
            }
            Ok(Message::Event(RunnerEvent::Refused { reason })) => {
                outcome = Some(Err(HostError::Load {
                    path: plugin.to_path_buf(),
                    reason: cap_text(&reason, MAX_REASON),
                }));
                ending = RunEnding::Answered;
                break;
            }
            Ok(Message::Event(RunnerEvent::Manifest { .. })) => {
                outcome = Some(Err(HostError::Protocol(
                    "the runner answered a run with a manifest".into(),
                )));
                break;
            }
            Ok(Message::Bad(reason)) => {
                outcome = Some(Err(HostError::Protocol(reason)));
                break;
            }
            Ok(Message::TooLarge(reason)) => {
                outcome = Some(Err(HostError::OutputTooLarge(reason)));
                break;
            }
            Ok(Message::OverCaps {
                alternative,
                violation,
            }) => {
                (outcome, ending) = wrap(answered(Err(HostError::InvalidLayout {
                    alternative,
                    violations: vec![violation],
                })));
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The runner closed its output without a final line: it died.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Killed on purpose (time-out, cancellation, garbage): no reason to wait for an exit.
    let killed = matches!(
        ending,
        RunEnding::KilledOnCancel | RunEnding::KilledAtDeadline
    ) || matches!(
        outcome,
        Some(Err(HostError::Protocol(_) | HostError::OutputTooLarge(_)))
    );
    let exit_grace = if killed { Duration::ZERO } else { EXIT_GRACE };
    let (status, stderr_tail) = session.finish(exit_grace);
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
    ChildRun {
        result,
        ending,
        stray_processes,
        sandbox,
    }
}

/// Reads the handshake of `plugin` in a runner (never in this process): its manifest and the
/// protections it had, or why it was refused. Stopped at `options.handshake_timeout_ms`.
pub fn handshake_in_child(
    runner: &Path,
    plugin: &Path,
    options: &RunOptions,
) -> Result<(Manifest, Option<SandboxReport>), String> {
    let timeout = Duration::from_millis(options.handshake_timeout_ms);
    let cpu_seconds = timeout.as_secs() + 1;
    let session = start(
        runner,
        Some(plugin),
        Mode::Handshake,
        options,
        Some(cpu_seconds),
        Vec::new(),
        ResultBounds {
            max_line: MAX_EVENT_LINE as u64,
            counts: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let until = Instant::now() + timeout;
    let mut sandbox = None;
    let outcome: Result<Manifest, String> = loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Err(format!(
                "the handshake did not finish within {} ms (a manifest function or library initialiser that hangs); the runner was killed",
                timeout.as_millis()
            ));
        }
        match session.events.recv_timeout(left.min(POLL)) {
            Ok(Message::Event(RunnerEvent::Sandbox(report))) => sandbox = Some(report),
            Ok(Message::Event(RunnerEvent::Manifest { manifest })) => break Ok(*manifest),
            Ok(Message::Event(RunnerEvent::Refused { reason })) => {
                break Err(cap_text(&reason, MAX_REASON));
            }
            Ok(Message::Event(other)) => {
                break Err(format!(
                    "the runner answered the handshake with {}",
                    cap_text(&format!("{other:?}"), 200)
                ));
            }
            Ok(Message::Bad(reason) | Message::TooLarge(reason)) => break Err(reason),
            Ok(Message::OverCaps { violation, .. }) => break Err(violation.message),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err(String::new()),
        }
    };
    let answered = outcome.is_ok();
    let (status, stderr) = session.finish(if answered {
        EXIT_GRACE
    } else {
        Duration::from_millis(200)
    });
    match outcome {
        Ok(manifest) => Ok((manifest, sandbox)),
        Err(reason) if reason.is_empty() => Err(format!(
            "the handshake crashed the runner ({}){}",
            match status {
                Ok(s) => describe_status(s, &stderr, options.max_memory_mb),
                Err(e) => format!("cannot wait for it: {e}"),
            },
            if stderr.is_empty() {
                String::new()
            } else {
                format!("; its last output: {stderr}")
            }
        )),
        Err(reason) => Err(reason),
    }
}

/// The protections a run gets on this machine, as a runner reports them (no plugin loaded).
pub fn probe_sandbox(runner: &Path, options: &RunOptions) -> Result<SandboxReport, String> {
    let session = start(
        runner,
        None,
        Mode::Probe,
        options,
        Some(5),
        Vec::new(),
        ResultBounds {
            max_line: MAX_EVENT_LINE as u64,
            counts: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let outcome = match session.events.recv_timeout(Duration::from_secs(5)) {
        Ok(Message::Event(RunnerEvent::Sandbox(report))) => Ok(report.with_host_protections()),
        Ok(Message::Event(other)) => Err(format!("unexpected answer {other:?}")),
        Ok(Message::Bad(reason) | Message::TooLarge(reason)) => Err(reason),
        Ok(Message::OverCaps { violation, .. }) => Err(violation.message),
        Err(e) => Err(format!("no answer: {e}")),
    };
    let (_, stderr) = session.finish(EXIT_GRACE);
    outcome.map_err(|e| {
        format!(
            "the runner {} did not report its sandbox: {e}{}",
            runner.display(),
            if stderr.is_empty() {
                String::new()
            } else {
                format!("; its output: {stderr}")
            }
        )
    })
}

fn wrap(
    (result, ending): (Result<Vec<Layout>, HostError>, RunEnding),
) -> (Option<Result<Vec<Layout>, HostError>>, RunEnding) {
    (Some(result), ending)
}

#[cfg(unix)]
const TERM: i32 = libc::SIGTERM;
#[cfg(unix)]
const KILL: i32 = libc::SIGKILL;
#[cfg(not(unix))]
const TERM: i32 = 15;
#[cfg(not(unix))]
const KILL: i32 = 9;

/// Sends `signal` to the runner's whole process group; false when that is not possible.
#[cfg(unix)]
fn kill_group(child: &Child, signal: i32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return false;
    };
    // SAFETY: the runner has not been reaped (callers reap only after this), so its pid is
    // still its process group id and names no one else's group.
    unsafe { libc::killpg(pid, signal) == 0 }
}

#[cfg(not(unix))]
fn kill_group(child: &Child, signal: i32) -> bool {
    let _ = child;
    signal == KILL
}

/// Whether the runner has exited, without reaping it (its pid stays reserved).
#[cfg(target_os = "linux")]
fn exited_without_reaping(child: &Child) -> bool {
    let pid: libc::id_t = child.id();
    // SAFETY: waitid with WNOWAIT only inspects our own child; `info` is zeroed first so
    // `si_pid` stays 0 when nothing has changed.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        r != 0 || info.si_pid() != 0
    }
}

#[cfg(not(target_os = "linux"))]
fn exited_without_reaping(_child: &Child) -> bool {
    false
}

/// The last lines of a stream (see `StderrTail`), kept up to date as they come.
fn read_tail(stream: impl Read, tail: &Mutex<StderrTail>) {
    let keep = tail.lock().unwrap_or_else(PoisonError::into_inner).keep;
    let mut reader = BufReader::new(stream);
    let mut line: Vec<u8> = Vec::new();
    loop {
        // Bounded reads, and only the end of an overlong line is kept, so that a plugin
        // writing endlessly without a newline costs no memory.
        match (&mut reader).take(keep as u64).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            tail.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(&line);
            line.clear();
        } else if line.len() > keep {
            line.drain(..line.len() - keep);
        }
    }
    tail.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(&line);
}

/// The last `keep` bytes of a stream's meaningful lines. Backtrace frames and the "run with
/// RUST_BACKTRACE" hint are dropped: a panic that cannot unwind always prints a backtrace,
/// which would otherwise push the panic message out.
struct StderrTail {
    keep: usize,
    lines: VecDeque<String>,
    len: usize,
}

impl StderrTail {
    fn new(keep: usize) -> StderrTail {
        StderrTail {
            keep,
            lines: VecDeque::new(),
            len: 0,
        }
    }

    fn push(&mut self, line: &[u8]) {
        let text = cap_text(String::from_utf8_lossy(line).trim(), self.keep);
        if text.is_empty() || is_backtrace_noise(&text) {
            return;
        }
        self.len += text.len() + 3;
        self.lines.push_back(text);
        while self.len > self.keep && self.lines.len() > 1 {
            if let Some(first) = self.lines.pop_front() {
                self.len -= first.len() + 3;
            }
        }
    }

    /// The kept lines joined with " | " into one line of at most `keep` bytes.
    fn joined(&self) -> String {
        let mut joined = Vec::from(self.lines.clone()).join(" | ");
        if joined.len() > self.keep {
            let mut cut = joined.len() - self.keep;
            while !joined.is_char_boundary(cut) {
                cut += 1;
            }
            joined.drain(..cut);
        }
        joined
    }
}

/// The tail of a whole stream (tests).
#[cfg(test)]
fn tail(stream: impl Read, keep: usize) -> String {
    let tail = Mutex::new(StderrTail::new(keep));
    read_tail(stream, &tail);
    tail.into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .joined()
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
