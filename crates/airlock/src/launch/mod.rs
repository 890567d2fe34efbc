//! The supervisor side: clone into new namespaces, write the id maps, hand over, then wait.

pub mod channel;
mod idmap;
mod namespaces;
pub(crate) mod signals;
mod status;
mod supervise;
pub(crate) mod terminal;

use crate::error::Error;
use crate::spec::{Caller, Spec};
use crate::sys::{self, Forked};
use channel::{Channel, ExitStatus, ToSandbox, ToSupervisor};
use std::os::fd::{AsFd, OwnedFd, RawFd};

pub use status::StatusWriter;

/// How the caller wants one launch run, beyond what the spec describes.
#[derive(Debug, Default, Clone)]
pub struct LaunchOptions {
    /// Descriptors of the caller's that the payload keeps (every other one above 2 is closed).
    pub keep_fds: Vec<RawFd>,
    /// A descriptor that receives one JSON object per line at start and at exit.
    pub status_fd: Option<RawFd>,
    /// A host directory to use as the sandbox's `/dev/shm` instead of a tmpfs of its own,
    /// so that sandboxes can share POSIX shared memory.
    pub shm_dir: Option<std::path::PathBuf>,
}

/// How a sandbox's payload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: ExitStatus,
    /// The limit that ended it, or that it ran into, if any.
    pub limit: Option<Limit>,
}

/// A limit a payload ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "limit")]
pub enum Limit {
    /// The cgroup memory limit: the kernel's OOM killer killed a process.
    Memory { bytes: u64 },
    /// The cgroup process limit refused a fork.
    Pids { max: u64 },
    /// `--timeout` passed; the timeout in milliseconds.
    Timeout { milliseconds: u64 },
    /// The CPU-time rlimit ended the payload.
    CpuTime { seconds: u64 },
}

impl Limit {
    /// A short name for JSON reports.
    pub fn name(&self) -> &'static str {
        match self {
            Limit::Memory { .. } => "memory",
            Limit::Pids { .. } => "pids",
            Limit::Timeout { .. } => "timeout",
            Limit::CpuTime { .. } => "cpu-time",
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Memory { bytes } => write!(
                f,
                "out of memory: the payload reached the memory limit ({}) and the kernel killed it",
                crate::spec::units::format_size(*bytes)
            ),
            Limit::Pids { max } => write!(f, "process limit reached: --pids {max} refused to start more processes"),
            Limit::Timeout { milliseconds } => write!(
                f,
                "timed out after {}: the payload was stopped",
                crate::spec::units::format_duration(std::time::Duration::from_millis(*milliseconds))
            ),
            Limit::CpuTime { seconds } => write!(f, "CPU-time rlimit reached: the payload used its {seconds} s of CPU"),
        }
    }
}

/// A started sandbox whose payload runs.
pub struct Sandbox {
    pid: i32,
    pidfd: OwnedFd,
    channel: Channel,
    signals: signals::Forwarder,
    terminal: Option<terminal::Relay>,
    status: Option<StatusWriter>,
    as_pid_1: bool,
    /// The files through which init leaves the cgroups before it reports the payload's
    /// status (see `Cgroups::v1_own_tasks`); sent when init requests them, at the end.
    leave_files: Vec<(std::path::PathBuf, OwnedFd)>,
    applied: Option<crate::security::Applied>,
    cgroups: Option<crate::cgroup::Cgroups>,
    limits: crate::spec::Limits,
    /// The host side of the sandbox's network, released when the sandbox is dropped.
    network: Option<crate::net::setup::HostSide>,
    addresses: Vec<String>,
}

impl Sandbox {
    /// The sandbox's first process (init, or the payload with `--as-pid-1`) as the host sees it.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The restrictions the payload runs under, as it reported them before its exec.
    pub fn applied(&self) -> Option<&crate::security::Applied> {
        self.applied.as_ref()
    }

    /// The sandbox's cgroup directories.
    pub fn cgroup_paths(&self) -> Vec<std::path::PathBuf> {
        self.cgroups.as_ref().map(crate::cgroup::Cgroups::paths).unwrap_or_default()
    }

    /// The sandbox's addresses on its bridge network; empty in the other modes.
    pub fn addresses(&self) -> Vec<String> {
        self.addresses.clone()
    }

    /// What the sandbox's cgroups have counted so far; all empty without cgroup limits.
    pub fn usage(&self) -> crate::cgroup::Usage {
        self.cgroups.as_ref().map(crate::cgroup::Cgroups::usage).unwrap_or_default()
    }

    /// Waits for the payload to end, relaying signals and the terminal meanwhile.
    pub fn wait(self) -> Result<Outcome, Error> {
        supervise::wait(self)
    }
}

/// Starts `spec`'s payload in a new sandbox and returns once it runs.
///
/// The spec is validated first, so a bad spec creates nothing. Blocks the signals the
/// supervisor forwards (TERM, INT, HUP, QUIT, USR1, USR2, WINCH, CONT and the terminal
/// stop signals) for the calling thread until [`Sandbox::wait`] returns.
///
/// # Panics
/// Never on bad input; a multi-threaded caller is rejected with an error instead, because
/// forking a multi-threaded process is unsound.
pub fn launch(spec: &Spec, options: &LaunchOptions) -> Result<Sandbox, Error> {
    let caller = Caller::current();
    spec.validate(&caller)?;
    let (resolved, shared_shm) = crate::named::join::resolve(spec)?;
    let spec: &Spec = &resolved;
    let shm_dir = shared_shm.or_else(|| options.shm_dir.clone());
    spec.ipc.prepare()?;
    let ids = spec.resolve_ids(&caller)?;
    check_descriptors(options)?;
    let filter = crate::security::seccomp::build(spec)?;
    if thread_count() != 1 {
        return Err(Error::io(
            "cannot launch a sandbox",
            std::io::Error::other("the calling process has several threads; launch from a single-threaded process"),
        ));
    }
    let (sandbox_network, host_network) = crate::net::setup::prepare(spec)?;
    let addresses = host_network.addresses();
    // On cgroup v2 alone, clone3 starts the sandbox inside its cgroup, which must exist
    // first. Otherwise the supervisor creates the groups after the clone, while the sandbox
    // builds its mounts, and then moves the sandbox in.
    let (cgroups, cgroup_plan) = match crate::cgroup::Cgroups::plan(&spec.limits)? {
        Some(plan) if plan.all_v2() => (Some(plan.create()?), None),
        plan => (None, plan),
    };
    let cgroup_dir = cgroups.as_ref().and_then(crate::cgroup::Cgroups::v2_directory);
    let cgroups_pending = cgroup_plan.is_some() || cgroups.as_ref().is_some_and(|cgroups| cgroups.needs_attach(cgroup_dir.is_some()));
    // The mount plan is made once here; the sandbox reads it from its copy of this memory.
    let plan = crate::fs::plan(spec);
    let network_in_parallel = namespaces::network_in_parallel(spec, &plan);
    // Only root's supervisor may enter the sandbox's network namespace; see net::loopback.
    let loopback_outside = caller.is_root() && spec.network.mode.has_own_namespace() && !network_in_parallel;

    let forwarder = signals::Forwarder::install().map_err(|error| Error::io("cannot set up signal forwarding", error))?;
    let (supervisor_end, sandbox_end) = Channel::pair().map_err(|error| Error::io("cannot create the sync channel", error))?;
    let caller_env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    // SAFETY: checked above that this process has a single thread.
    let forked = unsafe { namespaces::clone_sandbox(spec, network_in_parallel, cgroup_dir.as_ref().map(AsFd::as_fd)) };
    let (pid, pidfd) = match forked {
        Err(error) => return Err(error),
        Ok(Forked::Child) => {
            drop(supervisor_end);
            crate::child::main(crate::child::Context {
                spec,
                ids: &ids,
                caller: &caller,
                keep_fds: &options.keep_fds,
                channel: sandbox_end,
                caller_env: &caller_env,
                filter: filter.as_deref(),
                cgroups_pending,
                loopback_outside,
                network_in_parallel,
                plan: &plan,
                capture_early: ids.keep_caller_access(&caller),
                shm_dir: shm_dir.as_deref(),
                network: &sandbox_network,
            })
        }
        Ok(Forked::Parent { pid, pidfd }) => (pid, pidfd),
    };
    drop(sandbox_end);

    let mut sandbox = Sandbox {
        pid,
        pidfd,
        channel: supervisor_end,
        signals: forwarder,
        terminal: None,
        status: options.status_fd.map(StatusWriter::new),
        as_pid_1: spec.process.as_pid_1,
        leave_files: Vec::new(),
        applied: None,
        cgroups,
        limits: spec.limits.clone(),
        network: None,
        addresses,
    };
    if let Err(error) = hand_over(&mut sandbox, &ids, cgroup_plan, cgroup_dir.is_some(), loopback_outside, host_network) {
        sandbox.kill_and_reap();
        return Err(error);
    }
    Ok(sandbox)
}

/// Does the host-side setup, lets the sandbox continue and waits until its payload runs.
fn hand_over(
    sandbox: &mut Sandbox,
    ids: &crate::spec::validate::ResolvedIds,
    cgroup_plan: Option<crate::cgroup::Plan>,
    in_v2_cgroup: bool,
    loopback_outside: bool,
    network: crate::net::setup::Pending,
) -> Result<(), Error> {
    if !ids.uid_map.is_empty() {
        idmap::write(sandbox.pid, ids)?;
    }
    sandbox.tell(&ToSandbox::Continue, None)?;
    // The cgroups are created while the sandbox builds its mounts; it joins them itself.
    if let Some(plan) = cgroup_plan {
        sandbox.cgroups = Some(plan.create()?);
    }
    if let Some(cgroups) = sandbox.cgroups.as_ref().filter(|cgroups| cgroups.needs_attach(in_v2_cgroup)) {
        cgroups.attach_v2(sandbox.pid, in_v2_cgroup)?;
        for (tasks, file) in cgroups.v1_tasks()? {
            sandbox.tell(&ToSandbox::JoinCgroup { tasks }, Some(file.as_fd()))?;
        }
        // With --as-pid-1 there is no init to leave them: the payload's exit empties them.
        sandbox.leave_files = if sandbox.as_pid_1 { Vec::new() } else { cgroups.v1_own_tasks() };
        if !sandbox.leave_files.is_empty() {
            sandbox.tell(&ToSandbox::LeaveCgroupsAtEnd, None)?;
        }
        sandbox.tell(&ToSandbox::InCgroups, None)?;
    }
    if loopback_outside {
        let up = crate::net::loopback::bring_up_in(sandbox.pidfd.as_fd());
        if let Err(error) = &up {
            tracing::debug!(%error, "cannot bring up the sandbox's lo from outside; the sandbox brings it up itself");
        }
        sandbox.tell(&ToSandbox::Loopback { up: up.is_ok() }, None)?;
    }
    // The veth pair or pasta, likewise while the sandbox builds its mounts.
    sandbox.network = network.attach(sandbox.pid)?;
    if sandbox.network.is_some() {
        sandbox.tell(&ToSandbox::NetworkReady, None)?;
    }

    loop {
        let received = sandbox
            .channel
            .recv_with_fd::<ToSupervisor>()
            .map_err(|error| Error::io("cannot read from the sandbox", error))?;
        match received {
            Some((ToSupervisor::Terminal, Some(master))) => {
                sandbox.terminal = Some(
                    terminal::Relay::start(master).map_err(|error| Error::io("cannot relay the terminal", error))?,
                );
            }
            Some((ToSupervisor::Applied(applied), _)) => sandbox.applied = Some(applied),
            Some((ToSupervisor::Started { pid }, _)) => {
                tracing::debug!(pid, "payload started");
                break;
            }
            // With --as-pid-1 the payload's exec closes the channel: that is the start.
            None if sandbox.as_pid_1 => break,
            None => {
                return Err(Error::Setup {
                    step: channel::Step::Start,
                    message: "the sandbox ended during its setup without saying why".into(),
                })
            }
            Some((other, _)) => match setup_failure(other) {
                Ok(failure) => return Err(failure),
                Err(other) => tracing::debug!(?other, "unexpected message during setup"),
            },
        }
    }
    if let Some(status) = &mut sandbox.status {
        let cgroups = sandbox.cgroups.as_ref().map(crate::cgroup::Cgroups::paths).unwrap_or_default();
        status.started(sandbox.pid, sandbox.applied.as_ref(), &cgroups);
    }
    Ok(())
}

/// Turns a `SetupFailed` or `ExecFailed` report into the error that launch returns; any
/// other report comes back unchanged.
fn setup_failure(report: ToSupervisor) -> Result<Error, ToSupervisor> {
    match report {
        ToSupervisor::ExecFailed { code, message } => Ok(Error::Exec { code, message }),
        ToSupervisor::SetupFailed { step, message } => Ok(Error::Setup { step, message }),
        other => Err(other),
    }
}

impl Sandbox {
    /// Sends `message` during the setup. A sandbox whose setup failed has ended, so the
    /// send fails; the reason it reported is then returned in place of the broken channel.
    fn tell(&self, message: &ToSandbox, fd: Option<std::os::fd::BorrowedFd<'_>>) -> Result<(), Error> {
        let Err(error) = self.channel.send_with_fd(message, fd) else {
            return Ok(());
        };
        // Only a closed channel means that the sandbox has ended. Otherwise a read could block.
        let closed = matches!(error.raw_os_error(), Some(libc::EPIPE) | Some(libc::ECONNRESET));
        if !closed {
            return Err(Error::io("cannot reach the sandbox", error));
        }
        loop {
            match self.channel.recv_with_fd::<ToSupervisor>() {
                Ok(Some((report, _))) => {
                    if let Ok(failure) = setup_failure(report) {
                        return Err(failure);
                    }
                }
                Ok(None) | Err(_) => return Err(Error::io("cannot reach the sandbox", error)),
            }
        }
    }

    /// Ends the sandbox at once and reaps its first process.
    pub(crate) fn kill_and_reap(&mut self) {
        let _ = rustix::process::pidfd_send_signal(&self.pidfd, rustix::process::Signal::KILL);
        let _ = rustix::process::waitid(
            rustix::process::WaitId::PidFd(std::os::fd::AsFd::as_fd(&self.pidfd)),
            rustix::process::WaitIdOptions::EXITED,
        );
    }
}

fn check_descriptors(options: &LaunchOptions) -> Result<(), Error> {
    let named = options.keep_fds.iter().map(|fd| (*fd, "--keep-fd")).chain(options.status_fd.map(|fd| (fd, "--json-status-fd")));
    for (fd, option) in named {
        if fd < 0 || !sys::fd_is_open(fd) {
            return Err(Error::Spec(crate::spec::SpecError::invalid(
                "descriptor",
                fd,
                format!("{option} names a descriptor that is not open in airlock's caller"),
            )));
        }
    }
    Ok(())
}

fn thread_count() -> usize {
    // The 20th field of /proc/self/stat, after the command name in parentheses, which may
    // itself contain spaces and parentheses. One read is cheaper than listing /proc/self/task.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name.split_whitespace().nth(17).and_then(|field| field.parse().ok()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::thread_count;

    fn listed_threads() -> usize {
        std::fs::read_dir("/proc/self/task").unwrap().count()
    }

    #[test]
    fn thread_count_matches_the_task_list() {
        // Other tests start and end threads meanwhile, even between two listings that agree,
        // so one agreement of all three in 100 tries passes.
        let mut last = None;
        for _ in 0..100 {
            let before = listed_threads();
            let counted = thread_count();
            let after = listed_threads();
            if counted == before && before == after {
                return;
            }
            last = Some((before, counted, after));
        }
        panic!("no call agreed with the task list; the last (listed, counted, listed): {last:?}");
    }
}
