//! `entmoot-plugin-runner`: the child process the host runs a strategy plugin in. Loads the
//! plugin, reads one `RunInput` JSON from stdin, writes `RunnerEvent` lines to stdout (see
//! `entmoot_plugin_host::protocol`). Applies resource limits to itself before loading, and
//! turns SIGTERM into the cancel flag the plugin polls (the host's polite "stop now").

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use entmoot_plugin_host::protocol::RunnerEvent;
use entmoot_plugin_host::{HostError, LoadedPlugin};
use entmoot_plugin_sdk::StrategyError;

const USAGE: &str = "usage: entmoot-plugin-runner --plugin PATH [--max-memory-mb N] [--max-cpu-seconds N] < request.json";

struct Args {
    plugin: PathBuf,
    max_memory_mb: Option<u64>,
    max_cpu_seconds: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut plugin = None;
    let mut max_memory_mb = None;
    let mut max_cpu_seconds = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name}: missing value"))?;
            value
                .to_str()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name}: expected a whole number, got {value:?}"))
        };
        match arg.to_str() {
            Some("--plugin") => plugin = args.next().map(PathBuf::from),
            Some("--max-memory-mb") => max_memory_mb = Some(number("--max-memory-mb")?),
            Some("--max-cpu-seconds") => max_cpu_seconds = Some(number("--max-cpu-seconds")?),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Args {
        plugin: plugin.ok_or("--plugin PATH is required")?,
        max_memory_mb,
        max_cpu_seconds,
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
    if let Err(e) = os::limit_resources(args.max_memory_mb, args.max_cpu_seconds) {
        eprintln!("cannot apply resource limits: {e}");
        return ExitCode::from(3);
    }

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
    if let Err(e) = std::io::stdin().read_to_end(&mut request) {
        send(&RunnerEvent::Error {
            error: StrategyError::BadRequest(format!("cannot read stdin: {e}")),
        });
        return ExitCode::from(1);
    }
    // The request goes to the plugin as the host wrote it: decoding and encoding it again
    // would only cost time (the plugin validates what it reads).
    let plugin = match LoadedPlugin::load(&args.plugin) {
        Ok(plugin) => plugin,
        Err(e) => {
            send(&RunnerEvent::Refused {
                reason: e.to_string(),
            });
            return ExitCode::from(1);
        }
    };
    let mut progress_send = |p| {
        send(&RunnerEvent::Progress(p));
    };
    let result = plugin.run_encoded(&request, &mut progress_send, &CANCELLED);
    let event = match result {
        Ok(layouts) => RunnerEvent::Result { layouts },
        Err(HostError::Strategy(error)) => RunnerEvent::Error { error },
        Err(HostError::Cancelled) => RunnerEvent::Error {
            error: StrategyError::Cancelled,
        },
        Err(HostError::Protocol(message)) => RunnerEvent::ProtocolError { message },
        Err(other) => RunnerEvent::Error {
            error: StrategyError::Failed(other.to_string()),
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

    /// Applies RLIMIT_AS (MiB) and RLIMIT_CPU (seconds) to this process.
    pub fn limit_resources(
        memory_mb: Option<u64>,
        cpu_seconds: Option<u64>,
    ) -> std::io::Result<()> {
        if let Some(mb) = memory_mb {
            let bytes = mb.saturating_mul(1024 * 1024);
            set(libc::RLIMIT_AS, bytes, bytes)?;
        }
        if let Some(s) = cpu_seconds {
            // SIGXCPU at the soft limit (so the host can name the cause), SIGKILL a second
            // later should the plugin catch or ignore it.
            set(libc::RLIMIT_CPU, s, s.saturating_add(1))?;
        }
        Ok(())
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    type Resource = libc::__rlimit_resource_t;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    type Resource = libc::c_int;

    fn set(resource: Resource, soft: u64, hard: u64) -> std::io::Result<()> {
        let limit = libc::rlimit {
            rlim_cur: soft as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct we pass and only affects this process.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod os {
    pub fn cancel_on_sigterm(_: &'static std::sync::atomic::AtomicBool) {}
    pub fn take_stdout_for_protocol() -> std::io::Result<std::io::Stdout> {
        Ok(std::io::stdout())
    }
    pub fn die_with_parent() {}
    pub fn limit_resources(_: Option<u64>, _: Option<u64>) -> std::io::Result<()> {
        Ok(())
    }
}
