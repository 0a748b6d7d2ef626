//! The least-privilege set-up of one plugin run, performed by `entmoot-plugin-runner` on itself
//! before any plugin code is loaded: resource limits, a network namespace, a PID namespace, an
//! unprivileged user, Landlock rules for the filesystem, TCP and signals. Every protection is
//! attempted; what the kernel or the privileges at hand refuse is reported (never silently
//! skipped) in a `SandboxReport`, which the host logs at start-up and `plugins check` prints.
//!
//! The host adds what it does from outside: a cleared environment, a fresh empty working
//! directory, an own process group killed as a whole at the end of every run.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The limits and identity a run gets (passed to the runner as arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLimits {
    /// `RLIMIT_AS`, MiB.
    pub max_memory_mb: Option<u64>,
    /// `RLIMIT_CPU`, seconds.
    pub max_cpu_seconds: Option<u64>,
    /// `RLIMIT_NPROC` of the unprivileged user (threads count too).
    pub max_processes: u64,
    /// `RLIMIT_FSIZE`, MiB.
    pub max_file_size_mb: u64,
    /// `RLIMIT_NOFILE`.
    pub max_open_files: u64,
    /// The user and group a run switches to when the runner starts as root.
    pub user: (u32, u32),
}

/// One protection the runner could not apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingProtection {
    pub protection: String,
    pub reason: String,
}

/// Which protections a run has (names are stable, see `protections`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxReport {
    pub active: Vec<String>,
    pub missing: Vec<MissingProtection>,
}

/// Protection names.
pub mod protections {
    pub const ENVIRONMENT: &str = "cleared environment";
    pub const WORKING_DIRECTORY: &str = "empty working directory";
    pub const PROCESS_GROUP: &str = "own process group, killed at the end";
    pub const RESOURCE_LIMITS: &str = "resource limits";
    pub const NETWORK_NAMESPACE: &str = "network namespace";
    pub const PID_NAMESPACE: &str = "PID namespace";
    pub const USER: &str = "unprivileged user";
    pub const LANDLOCK_FILES: &str = "Landlock filesystem";
    pub const LANDLOCK_NETWORK: &str = "Landlock TCP";
    pub const LANDLOCK_SIGNALS: &str = "Landlock signal scope";
    pub const SUBREAPER: &str = "stray process reaper";
}

impl SandboxReport {
    fn active(&mut self, protection: &str) {
        self.active.push(protection.to_owned());
    }

    fn missing(&mut self, protection: &str, reason: impl Into<String>) {
        self.missing.push(MissingProtection {
            protection: protection.to_owned(),
            reason: reason.into(),
        });
    }

    /// Whether `protection` is active.
    pub fn has(&self, protection: &str) -> bool {
        self.active.iter().any(|p| p == protection)
    }

    /// Whether the plugin can reach the network (no namespace and no Landlock TCP rule).
    pub fn network_blocked(&self) -> bool {
        self.has(protections::NETWORK_NAMESPACE) || self.has(protections::LANDLOCK_NETWORK)
    }

    /// Whether the plugin cannot signal the host (another PID namespace, another user, or
    /// Landlock's signal scope).
    pub fn host_unsignallable(&self) -> bool {
        self.has(protections::PID_NAMESPACE)
            || self.has(protections::USER)
            || self.has(protections::LANDLOCK_SIGNALS)
    }

    /// Adds what the host does from outside the runner.
    pub fn with_host_protections(mut self) -> SandboxReport {
        for p in [
            protections::ENVIRONMENT,
            protections::WORKING_DIRECTORY,
            protections::PROCESS_GROUP,
        ] {
            if !self.has(p) {
                self.active.insert(0, p.to_owned());
            }
        }
        self
    }
}

impl fmt::Display for SandboxReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "active: {}", self.active.join(", "))?;
        if !self.missing.is_empty() {
            let missing: Vec<String> = self
                .missing
                .iter()
                .map(|m| format!("{} ({})", m.protection, m.reason))
                .collect();
            write!(f, "; unavailable: {}", missing.join("; "))?;
        }
        Ok(())
    }
}

/// The runner's side: applies every protection to the current process. With a PID namespace
/// the process forks: the parent only waits for the child and exits the way it did (this
/// function does not return in the parent); the child, the first process of the new namespace,
/// continues. `plugin` is the already opened plugin file (readable after the user switch and
/// under Landlock). Call it single-threaded, before loading any plugin code.
#[cfg(target_os = "linux")]
pub fn enter(limits: &SandboxLimits, plugin: Option<&std::fs::File>) -> SandboxReport {
    linux::enter(limits, plugin)
}

#[cfg(not(target_os = "linux"))]
pub fn enter(limits: &SandboxLimits, _plugin: Option<&std::fs::File>) -> SandboxReport {
    let mut report = SandboxReport::default();
    match unix_limits::apply(limits) {
        Ok(()) => report.active(protections::RESOURCE_LIMITS),
        Err(e) => report.missing(protections::RESOURCE_LIMITS, e.to_string()),
    }
    for p in [
        protections::NETWORK_NAMESPACE,
        protections::PID_NAMESPACE,
        protections::USER,
        protections::LANDLOCK_FILES,
        protections::LANDLOCK_NETWORK,
        protections::LANDLOCK_SIGNALS,
    ] {
        report.missing(p, "only on Linux");
    }
    report
}

/// Kills and reaps every remaining descendant of this process (orphans come back to it: it is
/// their subreaper). Returns how many were still running. Call after the plugin's `run`
/// returned: anything left is a stray the plugin started.
#[cfg(target_os = "linux")]
pub fn reap_strays() -> usize {
    linux::reap_strays()
}

#[cfg(not(target_os = "linux"))]
pub fn reap_strays() -> usize {
    0
}

#[cfg(unix)]
mod unix_limits {
    use super::SandboxLimits;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    type Resource = libc::__rlimit_resource_t;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    type Resource = libc::c_int;

    pub fn set(resource: Resource, soft: u64, hard: u64) -> std::io::Result<()> {
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

    /// Every limit but the process count (which for root is not enforced, so it is set after
    /// the user switch).
    pub fn apply(limits: &SandboxLimits) -> std::io::Result<()> {
        if let Some(mb) = limits.max_memory_mb {
            let bytes = mb.saturating_mul(1024 * 1024);
            set(libc::RLIMIT_AS, bytes, bytes)?;
        }
        if let Some(s) = limits.max_cpu_seconds {
            // SIGXCPU at the soft limit (so the host can name the cause), SIGKILL a second
            // later should the plugin catch or ignore it.
            set(libc::RLIMIT_CPU, s, s.saturating_add(1))?;
        }
        let file = limits.max_file_size_mb.saturating_mul(1024 * 1024);
        set(libc::RLIMIT_FSIZE, file, file)?;
        set(
            libc::RLIMIT_NOFILE,
            limits.max_open_files,
            limits.max_open_files,
        )?;
        // No core files of a crashing plugin in its working directory.
        set(libc::RLIMIT_CORE, 0, 0)?;
        Ok(())
    }

    pub fn processes(limits: &SandboxLimits) -> std::io::Result<()> {
        set(
            libc::RLIMIT_NPROC,
            limits.max_processes,
            limits.max_processes,
        )
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, PathBeneath,
        PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
    };

    use super::{SandboxLimits, SandboxReport, protections, unix_limits};

    fn last_error() -> String {
        std::io::Error::last_os_error().to_string()
    }

    /// Asks the kernel to kill this process when its parent dies. Cleared by `fork` and by a
    /// change of user, so set again after each.
    pub fn die_with_parent() {
        // SAFETY: prctl with PR_SET_PDEATHSIG only changes this process's own setting.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
    }

    pub fn enter(limits: &SandboxLimits, plugin: Option<&std::fs::File>) -> SandboxReport {
        let mut report = SandboxReport::default();
        match unix_limits::apply(limits) {
            Ok(()) => report.active(protections::RESOURCE_LIMITS),
            Err(e) => report.missing(protections::RESOURCE_LIMITS, e.to_string()),
        }
        // SAFETY: plain syscalls on this process's own credentials and namespaces.
        let root = unsafe { libc::geteuid() } == 0;

        // SAFETY: unshare only changes this process's own namespaces.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
            report.active(protections::NETWORK_NAMESPACE);
        } else {
            report.missing(
                protections::NETWORK_NAMESPACE,
                format!("unshare(CLONE_NEWNET): {}", last_error()),
            );
        }

        // SAFETY: as above; the new namespace applies to children only, hence the fork.
        if unsafe { libc::unshare(libc::CLONE_NEWPID) } == 0 {
            become_namespace_init();
            report.active(protections::PID_NAMESPACE);
        } else {
            report.missing(
                protections::PID_NAMESPACE,
                format!("unshare(CLONE_NEWPID): {}", last_error()),
            );
            // Orphans of the plugin's children come back to this process, so that
            // `reap_strays` finds them.
            // SAFETY: only changes this process's own attribute.
            if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } == 0 {
                report.active(protections::SUBREAPER);
            } else {
                report.missing(protections::SUBREAPER, last_error());
            }
        }

        if root {
            match switch_user(limits.user) {
                Ok(()) => report.active(protections::USER),
                Err(e) => report.missing(protections::USER, e),
            }
        } else {
            report.missing(
                protections::USER,
                format!(
                    "the host does not run as root, so the plugin runs as the host's user (uid {})",
                    // SAFETY: no arguments, cannot fail.
                    unsafe { libc::getuid() }
                ),
            );
        }
        die_with_parent();
        if let Err(e) = unix_limits::processes(limits) {
            report.missing(protections::RESOURCE_LIMITS, format!("RLIMIT_NPROC: {e}"));
        }
        landlock_rules(plugin, &mut report);
        report
    }

    /// Forks twice. The first child is the first process (init) of the new PID namespace: when
    /// it ends, the kernel kills every other process in the namespace, so nothing the plugin
    /// starts can outlive the run. It only waits for the second child, which continues (and
    /// runs the plugin: not as init, whose default signal actions the kernel ignores, so that
    /// an abort or SIGXCPU ends it as usual). The original process waits for init and ends the
    /// way the plugin's process did.
    fn become_namespace_init() {
        // SAFETY: the runner is single-threaded here (the caller's contract), so the children
        // may run arbitrary code; each parent only waits and exits.
        unsafe {
            let init = libc::fork();
            if init < 0 {
                eprintln!("cannot fork into the PID namespace: {}", last_error());
                libc::_exit(3);
            }
            if init > 0 {
                close_protocol_descriptors();
                let status = wait_for(init);
                // init reports a signal as 128 + its number (it cannot raise one on itself).
                if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) > 128 {
                    raise_default(libc::WEXITSTATUS(status) - 128);
                }
                exit_like(status);
            }
            die_with_parent();
            let worker = libc::fork();
            if worker < 0 {
                libc::_exit(3);
            }
            if worker > 0 {
                close_protocol_descriptors();
                let status = wait_for(worker);
                if libc::WIFSIGNALED(status) {
                    libc::_exit(128 + libc::WTERMSIG(status));
                }
                exit_like(status);
            }
            die_with_parent();
            // Orphans of the plugin's children come back to this process (not to init), so
            // that `reap_strays` finds them.
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
        }
    }

    /// A waiting parent keeps no pipe end open: only the plugin's process speaks the protocol
    /// (stderr stays, for messages about the fork itself).
    ///
    /// # Safety
    /// Closes descriptors of this process; call only in a parent that does nothing but wait.
    unsafe fn close_protocol_descriptors() {
        // SAFETY: per the function's contract.
        unsafe {
            libc::close(0);
            libc::close(1);
            for fd in 3..1024 {
                libc::close(fd);
            }
        }
    }

    /// Waits for our own child `pid` and returns its status.
    fn wait_for(pid: libc::pid_t) -> libc::c_int {
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == pid {
                return status;
            }
            if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                // SAFETY: ends this process.
                unsafe { libc::_exit(3) };
            }
        }
    }

    /// Ends this process with `signal`'s default action.
    fn raise_default(signal: libc::c_int) {
        // SAFETY: resets the disposition and unblocks the signal before raising it on
        // ourselves; no core file (RLIMIT_CORE is 0).
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal);
        }
    }

    /// Ends this process the way a child with `status` ended.
    fn exit_like(status: libc::c_int) -> ! {
        if libc::WIFSIGNALED(status) {
            raise_default(libc::WTERMSIG(status));
        }
        // SAFETY: ends this process.
        unsafe {
            libc::_exit(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                3
            })
        }
    }

    fn switch_user((uid, gid): (u32, u32)) -> Result<(), String> {
        // (The host hands the run's working directory to this user before starting us.)
        // SAFETY: plain syscalls with valid arguments on this process's own credentials.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0 {
                return Err(format!("setgroups: {}", last_error()));
            }
            if libc::setgid(gid) != 0 {
                return Err(format!("setgid({gid}): {}", last_error()));
            }
            if libc::setuid(uid) != 0 {
                return Err(format!("setuid({uid}): {}", last_error()));
            }
        }
        Ok(())
    }

    /// Read and execute on the system libraries, read on a few device and CPU files, everything
    /// in the working directory, read and execute on the plugin file; no TCP; no signals to
    /// processes outside the sandbox.
    fn landlock_rules(plugin: Option<&std::fs::File>, report: &mut SandboxReport) {
        let abi = ABI::V6;
        let read_exec = AccessFs::from_read(abi);
        let attempt = || -> Result<landlock::RestrictionStatus, landlock::RulesetError> {
            let mut ruleset = Ruleset::default()
                .set_compatibility(CompatLevel::BestEffort)
                .handle_access(AccessFs::from_all(abi))?
                .handle_access(AccessNet::from_all(abi))?
                .scope(Scope::Signal | Scope::AbstractUnixSocket)?
                .create()?;
            for dir in ["/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache"] {
                if let Ok(fd) = PathFd::new(dir) {
                    let access = if dir.starts_with("/etc") {
                        AccessFs::ReadFile.into()
                    } else {
                        read_exec
                    };
                    ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?;
                }
            }
            for device in ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"] {
                if let Ok(fd) = PathFd::new(device) {
                    ruleset = ruleset.add_rule(PathBeneath::new(
                        fd,
                        AccessFs::ReadFile | AccessFs::WriteFile,
                    ))?;
                }
            }
            // The number of CPUs (std::thread::available_parallelism) and this process's own
            // /proc entry; no other process's.
            for readable in ["/sys/devices/system/cpu", "/proc/self"] {
                if let Ok(fd) = PathFd::new(readable) {
                    ruleset = ruleset.add_rule(PathBeneath::new(fd, AccessFs::from_read(abi)))?;
                }
            }
            if let Ok(fd) = PathFd::new(".") {
                ruleset = ruleset.add_rule(PathBeneath::new(fd, AccessFs::from_all(abi)))?;
            }
            if let Some(file) = plugin {
                ruleset = ruleset.add_rule(PathBeneath::new(
                    file,
                    AccessFs::ReadFile | AccessFs::Execute,
                ))?;
            }
            ruleset.restrict_self()
        };
        match attempt() {
            Ok(status) => {
                let effective = match status.landlock {
                    LandlockStatus::Available { effective_abi, .. } => Some(effective_abi),
                    _ => None,
                };
                if status.ruleset == RulesetStatus::NotEnforced || effective.is_none() {
                    let why = format!("not supported by this kernel ({:?})", status.landlock);
                    report.missing(protections::LANDLOCK_FILES, why.clone());
                    report.missing(protections::LANDLOCK_NETWORK, why.clone());
                    report.missing(protections::LANDLOCK_SIGNALS, why);
                    return;
                }
                let effective = effective.unwrap_or(ABI::Unsupported);
                report.active(protections::LANDLOCK_FILES);
                if effective >= ABI::V4 {
                    report.active(protections::LANDLOCK_NETWORK);
                } else {
                    report.missing(
                        protections::LANDLOCK_NETWORK,
                        format!("needs Landlock ABI 4, the kernel has {effective:?}"),
                    );
                }
                if effective >= ABI::V6 {
                    report.active(protections::LANDLOCK_SIGNALS);
                } else {
                    report.missing(
                        protections::LANDLOCK_SIGNALS,
                        format!("needs Landlock ABI 6, the kernel has {effective:?}"),
                    );
                }
            }
            Err(e) => {
                let why = e.to_string();
                report.missing(protections::LANDLOCK_FILES, why.clone());
                report.missing(protections::LANDLOCK_NETWORK, why.clone());
                report.missing(protections::LANDLOCK_SIGNALS, why);
            }
        }
    }

    /// The children of this process, from /proc (each thread's list).
    fn children() -> Vec<libc::pid_t> {
        let mut out = Vec::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return out;
        };
        for task in tasks.filter_map(Result::ok) {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<libc::pid_t>().ok()),
                );
            }
        }
        out
    }

    pub fn reap_strays() -> usize {
        let mut strays = 0;
        // Orphans come back to this process (namespace init or subreaper): a few rounds
        // catch grandchildren whose parents were just killed.
        for _ in 0..16 {
            // Reap what already ended.
            // SAFETY: non-blocking wait for any of our own children.
            while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
            let living = children();
            if living.is_empty() {
                break;
            }
            strays += living.len();
            // SAFETY: signals only our own children.
            unsafe {
                for pid in &living {
                    libc::kill(*pid, libc::SIGKILL);
                }
            }
            // SAFETY: waits for our own (now killed) children.
            for pid in &living {
                unsafe { libc::waitpid(*pid, std::ptr::null_mut(), 0) };
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        strays
    }
}
