//! `entmoot-plugin-runner`: the child process the host runs a strategy plugin in — for a run,
//! for the handshake (`--handshake`: discovery never loads plugin code in the host) and for the
//! sandbox probe (`--probe`). Sets up its sandbox before loading anything (resource limits,
//! namespaces, an unprivileged user, Landlock; see `entmoot_plugin_host::sandbox`), reads one
//! `RunInput` JSON from stdin, writes `RunnerEvent` lines to stdout (see
//! `entmoot_plugin_host::protocol`), and turns SIGTERM into the cancel flag the plugin polls.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use entmoot_plugin_host::caps::{MAX_REASON, cap_progress, cap_strategy_error, cap_text};
use entmoot_plugin_host::protocol::RunnerEvent;
use entmoot_plugin_host::sandbox::{self, SandboxLimits};
use entmoot_plugin_host::{HostError, LoadedPlugin};
use entmoot_plugin_sdk::StrategyError;

const USAGE: &str = "usage: entmoot-plugin-runner (--probe | --plugin PATH [--handshake]) [--max-memory-mb N] [--max-cpu-seconds N] [--max-processes N] [--max-file-size-mb N] [--max-open-files N] [--user UID:GID] < request.json";

#[derive(PartialEq, Eq)]
enum Mode {
    Run,
    Handshake,
    Probe,
}

struct Args {
    plugin: Option<PathBuf>,
    mode: Mode,
    limits: SandboxLimits,
}

fn parse_args() -> Result<Args, String> {
    let mut plugin = None;
    let mut mode = Mode::Run;
    let mut limits = SandboxLimits {
        max_memory_mb: None,
        max_cpu_seconds: None,
        max_processes: 256,
        max_file_size_mb: 64,
        max_open_files: 256,
        user: (65534, 65534),
    };
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<String, String> {
            let value = args.next().ok_or(format!("{name}: missing value"))?;
            value
                .into_string()
                .map_err(|v| format!("{name}: not UTF-8: {v:?}"))
        };
        let number = |name: &str, text: String| -> Result<u64, String> {
            text.parse()
                .map_err(|_| format!("{name}: expected a whole number, got {text:?}"))
        };
        match arg.to_str() {
            Some("--plugin") => plugin = args.next().map(PathBuf::from),
            Some("--handshake") => mode = Mode::Handshake,
            Some("--probe") => mode = Mode::Probe,
            Some(name @ "--max-memory-mb") => {
                limits.max_memory_mb = Some(number(name, value(name)?)?)
            }
            Some(name @ "--max-cpu-seconds") => {
                limits.max_cpu_seconds = Some(number(name, value(name)?)?)
            }
            Some(name @ "--max-processes") => limits.max_processes = number(name, value(name)?)?,
            Some(name @ "--max-file-size-mb") => {
                limits.max_file_size_mb = number(name, value(name)?)?
            }
            Some(name @ "--max-open-files") => limits.max_open_files = number(name, value(name)?)?,
            Some(name @ "--user") => {
                let text = value(name)?;
                let (uid, gid) = text
                    .split_once(':')
                    .ok_or(format!("{name}: expected UID:GID, got {text:?}"))?;
                limits.user = (
                    number(name, uid.to_owned())? as u32,
                    number(name, gid.to_owned())? as u32,
                );
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    if mode != Mode::Probe && plugin.is_none() {
        return Err("--plugin PATH is required".into());
    }
    Ok(Args {
        plugin,
        mode,
        limits,
    })
}

/// Set by SIGTERM: the host asks the plugin to stop. Read by the plugin's cancel callback.
static CANCELLED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    // First, so that a stop request arriving during start-up is not lost.
    os::cancel_on_sigterm(&CANCELLED);
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut protocol = match os::take_stdout_for_protocol() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("cannot set up the protocol channel: {e}");
            return ExitCode::from(3);
        }
    };
    os::die_with_parent();

    let mut send = |event: &RunnerEvent| -> bool {
        match serde_json::to_string(event) {
            Ok(line) => writeln!(protocol, "{line}")
                .and_then(|_| protocol.flush())
                .is_ok(),
            Err(e) => {
                eprintln!("cannot encode an event: {e}");
                false
            }
        }
    };

    let mut request = Vec::new();
    if args.mode == Mode::Run
        && let Err(e) = std::io::stdin().read_to_end(&mut request)
    {
        send(&RunnerEvent::Error {
            error: StrategyError::BadRequest(format!("cannot read stdin: {e}")),
        });
        return ExitCode::from(1);
    }
    // Opened before the sandbox: after the switch to an unprivileged user the host's private
    // directory is out of reach, and Landlock allows this one file by its descriptor.
    let plugin_file = match &args.plugin {
        None => None,
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => Some(file),
            Err(e) => {
                send(&RunnerEvent::Refused {
                    reason: format!("cannot open {}: {e}", path.display()),
                });
                return ExitCode::from(1);
            }
        },
    };
    let report = sandbox::enter(&args.limits, plugin_file.as_ref());
    if !send(&RunnerEvent::Sandbox(report)) || args.mode == Mode::Probe {
        return ExitCode::SUCCESS;
    }
    let Some(file) = plugin_file else {
        return ExitCode::from(2);
    };
    let plugin = match LoadedPlugin::load(&os::descriptor_path(&file)) {
        Ok(plugin) => plugin,
        Err(e) => {
            send(&RunnerEvent::Refused {
                reason: cap_text(&e.to_string(), MAX_REASON),
            });
            return ExitCode::from(1);
        }
    };
    if args.mode == Mode::Handshake {
        let manifest = Box::new(plugin.manifest().clone());
        return if send(&RunnerEvent::Manifest { manifest }) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    // The request goes to the plugin as the host wrote it: decoding and encoding it again
    // would only cost time (the plugin validates what it reads).
    // Messages are capped here already, so a plugin's 64 MiB message never reaches the host's
    // pipe (the host caps them again: it trusts no child).
    let mut progress_send = |p| {
        send(&RunnerEvent::Progress(cap_progress(p)));
    };
    let result = plugin.run_encoded(&request, &mut progress_send, &CANCELLED);
    let strays = sandbox::reap_strays();
    if strays > 0 {
        send(&RunnerEvent::StrayProcesses { count: strays });
    }
    let event = match result {
        Ok(layouts) => RunnerEvent::Result { layouts },
        Err(HostError::Strategy(error)) => RunnerEvent::Error {
            error: cap_strategy_error(error),
        },
        Err(HostError::Cancelled) => RunnerEvent::Error {
            error: StrategyError::Cancelled,
        },
        Err(HostError::Protocol(message)) => RunnerEvent::ProtocolError {
            message: cap_text(&message, MAX_REASON),
        },
        Err(other) => RunnerEvent::Error {
            error: StrategyError::Failed(cap_text(&other.to_string(), MAX_REASON)),
        },
    };
    if send(&event) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(unix)]
mod os {
    use std::fs::File;
    use std::os::fd::FromRawFd;
    use std::path::PathBuf;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering};

    static FLAG: OnceLock<&'static AtomicBool> = OnceLock::new();

    extern "C" fn on_sigterm(_signal: libc::c_int) {
        // Async-signal-safe: an already-initialised OnceLock read and an atomic store.
        if let Some(flag) = FLAG.get() {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Makes SIGTERM set `flag` instead of ending the process.
    pub fn cancel_on_sigterm(flag: &'static AtomicBool) {
        let _ = FLAG.set(flag);
        // SAFETY: installs a handler that only performs an atomic store; `sa` is fully
        // initialised (zeroed, then the handler and an empty mask set).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        }
    }

    /// Moves the real stdout to a private descriptor for the protocol and points fd 1 at
    /// stderr, so whatever the plugin prints cannot corrupt the protocol.
    pub fn take_stdout_for_protocol() -> std::io::Result<File> {
        // SAFETY: plain descriptor calls on this process's own standard streams.
        unsafe {
            let fd = libc::dup(1);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(2, 1) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: `fd` is a fresh descriptor owned by nothing else.
            Ok(File::from_raw_fd(fd))
        }
    }

    /// Asks the kernel to kill this process when the host dies (Linux only).
    pub fn die_with_parent() {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl with PR_SET_PDEATHSIG only changes this process's own signal setting.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() == 1 {
                // The parent is already gone.
                libc::_exit(1);
            }
        }
    }

    /// A path that opens `file` again (the loader needs a path; this one works after the user
    /// switch and under Landlock, which allow the descriptor's file, not its directory).
    pub fn descriptor_path(file: &File) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
    }
}

#[cfg(not(unix))]
mod os {
    pub fn cancel_on_sigterm(_: &'static std::sync::atomic::AtomicBool) {}
    pub fn take_stdout_for_protocol() -> std::io::Result<std::io::Stdout> {
        Ok(std::io::stdout())
    }
    pub fn die_with_parent() {}
    pub fn descriptor_path(_: &std::fs::File) -> std::path::PathBuf {
        unreachable!("plugins are loaded by path on this platform")
    }
}
