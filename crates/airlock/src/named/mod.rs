//! Named sandboxes: long-lived sandboxes that other commands list, enter and stop.
//!
//! `create` starts a sandbox under a supervisor of its own that runs in the background
//! (a daemon, detached from the caller's session) and records it in the state directory.
//! The supervisor writes the record when the payload runs and again when it ends, and
//! removes the sandbox's host-side resources then. `exec` joins a running sandbox's
//! namespaces through a pidfd of its init and applies the same restrictions as the payload
//! got. Every command that acts on a sandbox first checks that the record points at a
//! supervisor running airlock's binary whose child is the recorded init, both identified by
//! PID and start time, so a forged or stale record is refused.

mod daemon;
mod exec;
pub(crate) mod join;
pub(crate) mod process;
mod procs;
mod state;

pub use daemon::create;
pub use exec::{exec, ExecOptions};
pub use process::ProcessRef;
pub use procs::{processes, SandboxProcess};
pub use state::{check_name, StateDir, MAX_NAME};
pub(crate) use state::check_owned;

use crate::launch::channel::ExitStatus;
use crate::launch::Limit;
use crate::security::Applied;
use crate::spec::Spec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong with a named sandbox.
#[derive(Debug, thiserror::Error)]
pub enum NamedError {
    #[error("invalid sandbox name {0:?}: use 1 to 63 letters, digits, '_', '.' and '-', not starting with '.' or '-'")]
    BadName(String),

    #[error("a sandbox named {0} already exists; remove it with `airlock rm {0}` or pick another name")]
    Exists(String),

    #[error("no sandbox named {0}; `airlock ls` lists them")]
    NotFound(String),

    #[error("the sandbox {0} is not running")]
    NotRunning(String),

    #[error("the sandbox {0} is running; stop it first with `airlock stop {0}`, or use --force")]
    Running(String),

    #[error("refusing to act on {name}: {why}")]
    Forged { name: String, why: String },

    #[error("refusing to use {}: {why}", .path.display())]
    Unsafe { path: PathBuf, why: String },

    #[error("the record {} is damaged: {reason}", .path.display())]
    Corrupt { path: PathBuf, reason: String },

    #[error("cannot {what} {}: {reason}", .path.display())]
    Io { what: &'static str, path: PathBuf, reason: String },
}

impl NamedError {
    pub(crate) fn io(what: &'static str, path: &Path, error: std::io::Error) -> NamedError {
        NamedError::Io {
            what,
            path: path.to_path_buf(),
            reason: crate::error::describe(&error),
        }
    }
}

/// Everything recorded about one named sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Record {
    pub name: String,
    pub spec: Spec,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// The background supervisor, once it runs.
    pub supervisor: Option<ProcessRef>,
    /// The sandbox's first process, once the payload runs.
    pub init: Option<ProcessRef>,
    /// Namespace ids by kind (`net`, `pid`, ...).
    pub namespaces: BTreeMap<String, u64>,
    pub cgroups: Vec<PathBuf>,
    pub applied: Option<Applied>,
    /// Addresses of the sandbox's network, when it has one of its own.
    pub addresses: Vec<String>,
    pub exit: Option<ExitRecord>,
}

/// How a named sandbox's payload ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExitRecord {
    pub status: ExitStatus,
    pub limit: Option<Limit>,
    /// Seconds since the Unix epoch.
    pub at: u64,
}

/// Where a named sandbox is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Status {
    /// The supervisor is setting the sandbox up.
    Starting,
    Running,
    /// The payload ended and the supervisor recorded how.
    Exited { status: ExitStatus },
    /// The supervisor was killed: the sandbox died with it, and `airlock gc` or `airlock rm`
    /// reclaims what it left.
    Died,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Starting => f.write_str("starting"),
            Status::Running => f.write_str("running"),
            Status::Exited { status } => write!(f, "exited ({})", status.code()),
            Status::Died => f.write_str("died (supervisor killed)"),
        }
    }
}

impl Record {
    /// The sandbox's state now.
    pub fn status(&self) -> Status {
        if let Some(exit) = &self.exit {
            return Status::Exited { status: exit.status };
        }
        match (&self.supervisor, &self.init) {
            (Some(supervisor), _) if !supervisor.is_alive() => Status::Died,
            (Some(_), Some(init)) if init.is_alive() => Status::Running,
            (Some(_), _) => Status::Starting,
            (None, _) => {
                // Claimed by a create that never got to record its supervisor.
                if now().saturating_sub(self.created) > 10 {
                    Status::Died
                } else {
                    Status::Starting
                }
            }
        }
    }

    /// Checks that the record points at a live sandbox airlock started, and returns its
    /// init's identity.
    pub fn verify_running(&self) -> Result<ProcessRef, NamedError> {
        let forged = |why: &str| NamedError::Forged { name: self.name.clone(), why: why.to_string() };
        let (Some(supervisor), Some(init)) = (&self.supervisor, &self.init) else {
            return Err(NamedError::NotRunning(self.name.clone()));
        };
        if !supervisor.is_alive() || !init.is_alive() {
            return Err(NamedError::NotRunning(self.name.clone()));
        }
        if !supervisor.runs_airlock() {
            return Err(forged("its supervisor process does not run airlock"));
        }
        if init.parent() != Some(supervisor.pid) {
            return Err(forged("its init is not a child of its supervisor"));
        }
        let uid = rustix::process::geteuid().as_raw();
        let owner = std::fs::metadata(format!("/proc/{}", supervisor.pid)).map(|meta| std::os::unix::fs::MetadataExt::uid(&meta));
        if uid != 0 && owner.ok() != Some(uid) {
            return Err(forged("its supervisor belongs to another user"));
        }
        Ok(*init)
    }

    /// Seconds since the payload started, while it runs.
    pub fn uptime(&self) -> Option<u64> {
        matches!(self.status(), Status::Running).then(|| now().saturating_sub(self.created))
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Stops a running sandbox: `signal` to its payload (through init), then SIGKILL for
/// everything after `timeout`. Returns once the supervisor has recorded the end (or died).
pub fn stop(state: &StateDir, name: &str, signal: i32, timeout: Duration) -> Result<Record, NamedError> {
    let record = state.read(name)?;
    let init = record.verify_running()?;
    let pidfd = init.open().ok_or_else(|| NamedError::NotRunning(name.to_string()))?;
    send(&pidfd, signal);
    if !wait_readable(&pidfd, timeout) {
        send(&pidfd, libc::SIGKILL);
        wait_readable(&pidfd, Duration::from_secs(10));
    }
    wait_for_supervisor(state, name, Duration::from_secs(10))
}

fn send(pidfd: &std::os::fd::OwnedFd, signal: i32) {
    // SAFETY: the number comes from a parsed signal name or a libc constant.
    let signal = unsafe { rustix::process::Signal::from_raw_unchecked(signal) };
    let _ = rustix::process::pidfd_send_signal(pidfd, signal);
}

/// Waits up to `limit` for a pidfd to report its process's end.
fn wait_readable(pidfd: &std::os::fd::OwnedFd, limit: Duration) -> bool {
    let mut fds = [rustix::event::PollFd::new(pidfd, rustix::event::PollFlags::IN)];
    let timeout = rustix::time::Timespec { tv_sec: limit.as_secs() as i64, tv_nsec: i64::from(limit.subsec_nanos()) };
    matches!(rustix::event::poll(&mut fds, Some(&timeout)), Ok(count) if count > 0)
}

/// Waits until the supervisor has recorded the sandbox's end or is gone.
fn wait_for_supervisor(state: &StateDir, name: &str, limit: Duration) -> Result<Record, NamedError> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let record = state.read(name)?;
        let supervisor_gone = record.supervisor.as_ref().is_none_or(|supervisor| !supervisor.is_alive());
        if supervisor_gone || std::time::Instant::now() > deadline {
            return Ok(record);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Removes a sandbox and everything it owned; a running one only with `force`, which kills it.
pub fn remove(state: &StateDir, name: &str, force: bool) -> Result<(), NamedError> {
    let record = state.read(name)?;
    if matches!(record.status(), Status::Running | Status::Starting) && record.supervisor.as_ref().is_some_and(ProcessRef::is_alive) {
        if !force {
            return Err(NamedError::Running(name.to_string()));
        }
        if record.verify_running().is_ok() {
            match stop(state, name, libc::SIGKILL, Duration::from_secs(0)) {
                // It ended by itself just now: let its supervisor record that first.
                Err(NamedError::NotRunning(_)) => {
                    wait_for_supervisor(state, name, Duration::from_secs(10))?;
                }
                result => {
                    result?;
                }
            }
        } else if let Some(supervisor) = record.supervisor.filter(ProcessRef::is_alive) {
            // Still starting: stop its supervisor, which takes the sandbox down with it.
            if supervisor.runs_airlock() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(supervisor.pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
    let record = state.read(name)?;
    reclaim(&record);
    let _lock = state.lock()?;
    state.remove(name)
}

/// Frees what a sandbox whose supervisor died left on the host: its cgroups.
fn reclaim(record: &Record) {
    // The record names the sandbox's own cgroups, so they go directly, with any process
    // the dead supervisor left in them.
    for cgroup in record.cgroups.iter().rev() {
        crate::cgroup::remove_group(cgroup);
    }
    // Its lease, host link and firewall table go with those of any other dead supervisor.
    if let Err(error) = crate::net::collect_garbage() {
        tracing::warn!(%error, "cannot reclaim the network of a dead sandbox");
    }
}

/// Removes every sandbox whose supervisor died, with what it left behind; returns their names.
pub fn collect_garbage(state: &StateDir) -> Result<Vec<String>, NamedError> {
    let mut removed = Vec::new();
    for name in state.names()? {
        let Ok(record) = state.read(&name) else {
            continue;
        };
        if record.status() == Status::Died {
            reclaim(&record);
            let _lock = state.lock()?;
            state.remove(&name)?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// The path of a sandbox's log: its payload's standard output and error.
pub fn log_path(state: &StateDir, name: &str) -> Result<PathBuf, NamedError> {
    check_name(name)?;
    state.read(name)?;
    Ok(state.slot(name).join("log"))
}

/// What the cgroups of a named sandbox have counted so far.
pub fn usage(record: &Record) -> crate::cgroup::Usage {
    crate::cgroup::usage_of(&record.cgroups)
}
