//! Inside the new namespaces: the ordered setup, then exec.
//!
//! The cloned process waits for the supervisor's `Continue`, takes its ids, brings up the
//! network, builds the mounts and sets the host name. Then it forks the payload and becomes
//! init (PID 1), or with `--as-pid-1` it execs the payload itself. The payload's own steps
//! (capabilities, rlimits, no_new_privs, Landlock, seccomp, exec) are in [`payload`].

pub(crate) mod env;
pub(crate) mod exec;
pub(crate) mod identity;
mod netns;
mod network;
pub(crate) mod payload;
pub(crate) mod terminal;

use crate::error::describe;
use crate::launch::channel::{Channel, Step, ToSandbox, ToSupervisor};
use crate::spec::validate::ResolvedIds;
use crate::spec::{Caller, NsSource, Spec};
use std::os::fd::RawFd;

/// The data the cloned process reads from its copy of the supervisor's memory.
pub(crate) struct Context<'a> {
    pub spec: &'a Spec,
    pub ids: &'a ResolvedIds,
    pub caller: &'a Caller,
    pub keep_fds: &'a [RawFd],
    pub channel: Channel,
    /// The caller's environment, for `--env-keep` and the defaults of `TERM` and `LANG`.
    pub caller_env: &'a [(String, String)],
    /// The compiled seccomp filter, built before the clone so a bad profile fails early.
    pub filter: Option<&'a [crate::security::seccomp::Instruction]>,
    /// The supervisor moves the sandbox into cgroups after `Continue`, and says when it is
    /// done; nothing of the payload may start before.
    pub cgroups_pending: bool,
    /// The supervisor brings up `lo` from outside and reports after `Continue` whether it did.
    pub loopback_outside: bool,
    /// The clone made no network namespace: a helper makes it meanwhile (see [`netns`]).
    pub network_in_parallel: bool,
    /// The grants to mount, from [`crate::fs::plan`].
    pub plan: &'a [crate::spec::Mount],
    /// The sandbox may capture its mount sources before the id maps are written. Its new ids
    /// map back to the caller's own uid and gid, and the caller has no other groups, so it
    /// can open the same sources before the maps as after.
    pub capture_early: bool,
    /// A host directory that becomes `/dev/shm`, for sandboxes that share it.
    pub shm_dir: Option<&'a std::path::Path>,
    /// What the sandbox configures of its network: interface, resolv.conf, egress rules.
    pub network: &'a crate::net::setup::SandboxSide,
}

/// A failed step and what went wrong, in the words of the final error message.
#[derive(Debug)]
pub(crate) struct SetupError {
    pub step: Step,
    pub message: String,
}

impl SetupError {
    pub fn new(step: Step, message: impl Into<String>) -> SetupError {
        SetupError {
            step,
            message: message.into(),
        }
    }

    pub fn into_message(self) -> ToSupervisor {
        ToSupervisor::SetupFailed {
            step: self.step,
            message: self.message,
        }
    }
}

/// Attaches a step and a description ("cannot mount proc on /proc") to a failed call.
pub(crate) trait AtStep<T> {
    fn at(self, step: Step, what: impl FnOnce() -> String) -> Result<T, SetupError>;
}

impl<T> AtStep<T> for std::io::Result<T> {
    fn at(self, step: Step, what: impl FnOnce() -> String) -> Result<T, SetupError> {
        self.map_err(|error| SetupError::new(step, format!("{}: {}", what(), describe(&error))))
    }
}

impl<T> AtStep<T> for rustix::io::Result<T> {
    fn at(self, step: Step, what: impl FnOnce() -> String) -> Result<T, SetupError> {
        self.map_err(std::io::Error::from).at(step, what)
    }
}

impl<T> AtStep<T> for nix::Result<T> {
    fn at(self, step: Step, what: impl FnOnce() -> String) -> Result<T, SetupError> {
        self.map_err(std::io::Error::from).at(step, what)
    }
}

/// Runs the sandbox side to the end: it never returns.
pub(crate) fn main(context: Context<'_>) -> ! {
    let failure = run(&context);
    if let ToSupervisor::SetupFailed { step, message } = &failure {
        tracing::debug!(%step, %message, "setup failed");
    }
    let code = match &failure {
        ToSupervisor::ExecFailed { code, .. } => i32::from(*code),
        _ => 125,
    };
    // If the supervisor is gone there is nobody to tell.
    let _ = context.channel.send(&failure);
    exit_now(code)
}

/// Sets the sandbox up and starts the payload; returns only the failure to report.
fn run(context: &Context<'_>) -> ToSupervisor {
    let (built, leave_cgroups) = match prepare_sandbox(context) {
        Ok(prepared) => prepared,
        Err(error) => return error.into_message(),
    };
    if context.spec.process.as_pid_1 {
        let report = |message: &ToSupervisor| {
            let _ = context.channel.send(message);
        };
        payload::exec_payload(context, None, &built.mounts, &report)
    } else {
        crate::init::run(context, built, leave_cgroups)
    }
}

/// The steps shared by init and the payload: ids, network, mounts, host name. Returns the
/// file system that was built, and whether init is to leave the cgroups at the end.
fn prepare_sandbox(context: &Context<'_>) -> Result<(crate::fs::Built, bool), SetupError> {
    // The supervisor's death must end the sandbox: SIGKILL reaches even PID 1 when the
    // kernel sends it on the parent's exit.
    crate::sys::set_parent_death_signal(libc::SIGKILL)
        .at(Step::Start, || "cannot tie the sandbox to airlock's life".into())?;
    // While the supervisor writes the id maps, capture the mount sources, when the ids will
    // not change what this process may open (see Context::capture_early). Should anything
    // fail here, it is captured again after the maps, where a failure is reported.
    let captured_early = if context.capture_early { crate::fs::capture(context).ok() } else { None };
    match context.channel.recv::<ToSandbox>() {
        Ok(Some(ToSandbox::Continue)) => {}
        // The supervisor gave up, or died, before the sandbox was ready.
        Ok(Some(_)) | Ok(None) | Err(_) => exit_now(125),
    }
    tracing::debug!("sandbox setup starts");
    // Started after the id maps, so that the helper takes no CPU from the supervisor while
    // it writes them. The mounts still to build leave the helper enough time.
    let network_helper = if context.network_in_parallel { netns::start() } else { None };

    rustix::process::setsid().at(Step::Start, || "cannot start a new session".into())?;
    identity::become_ids(context.ids)?;
    if context.spec.network.mode.has_own_namespace() && !context.network_in_parallel {
        if !context.loopback_outside {
            network::loopback_up()?;
        }
        if context.network.host_pending {
            network::allow_ping()?;
        }
    }
    let captured = match captured_early {
        Some(captured) => captured,
        None => crate::fs::capture(context)?,
    };
    let mut built = crate::fs::setup(context, captured)?;
    if context.network_in_parallel {
        match network_helper {
            Some(helper) => helper.join()?,
            None => netns::make_here()?,
        }
        // Closed once used, so init does not hold it for the payload's life.
        if let Some(last_pid) = built.last_pid.take() {
            netns::restore_pid_numbering(&last_pid);
        }
    }
    if context.spec.namespaces.uts == NsSource::New {
        let hostname = context.spec.process.hostname();
        rustix::system::sethostname(hostname.as_bytes())
            .at(Step::Hostname, || format!("cannot set the host name to {hostname}"))?;
    }
    if context.spec.namespaces.time == NsSource::New {
        // Processes forked or exec'd after this call run in the new time namespace.
        // SAFETY: NEWTIME does not unshare the descriptor table, and this process has one
        // thread, so no other thread can observe the change.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWTIME) }
            .at(Step::TimeNamespace, || "cannot create a time namespace".into())?;
    }
    let leave_cgroups = context.cgroups_pending && join_cgroups(&context.channel)?;
    if context.loopback_outside {
        match context.channel.recv::<ToSandbox>() {
            Ok(Some(ToSandbox::Loopback { up: true })) => {}
            Ok(Some(ToSandbox::Loopback { up: false })) => network::loopback_up()?,
            // The supervisor gave up and reports why.
            _ => exit_now(125),
        }
    }
    if context.network.host_pending {
        match context.channel.recv::<ToSandbox>() {
            Ok(Some(ToSandbox::NetworkReady)) => {}
            // The supervisor could not attach the network and will say why.
            _ => exit_now(125),
        }
    }
    network::configure(context.network)?;
    if context.spec.namespaces.cgroup == NsSource::New {
        // Now that the sandbox is in its cgroups, they become the namespace's root.
        // SAFETY: NEWCGROUP does not unshare the descriptor table, and this process has one
        // thread, so no other thread can observe the change.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWCGROUP) }
            .at(Step::Start, || "cannot create a cgroup namespace".into())?;
    }
    Ok((built, leave_cgroups))
}

/// Moves the sandbox into each v1 cgroup whose `tasks` file the supervisor sends, until
/// `InCgroups` arrives. The sandbox has one thread here, so moving the thread moves the
/// process, and every process it starts later begins inside. Returns whether init is to
/// leave the cgroups at the end (`LeaveCgroupsAtEnd`).
fn join_cgroups(channel: &Channel) -> Result<bool, SetupError> {
    let mut leave_at_end = false;
    loop {
        match channel.recv_with_fd::<ToSandbox>() {
            Ok(Some((ToSandbox::JoinCgroup { tasks }, Some(file)))) => {
                let dir = tasks.parent().unwrap_or(&tasks).display().to_string();
                rustix::io::write(&file, b"0")
                    .map_err(std::io::Error::from)
                    .at(Step::Cgroups, || format!("cannot move into the cgroup {dir}"))?;
            }
            Ok(Some((ToSandbox::LeaveCgroupsAtEnd, _))) => leave_at_end = true,
            Ok(Some((ToSandbox::InCgroups, _))) => return Ok(leave_at_end),
            // The supervisor could not make or join the cgroups and reports the reason.
            _ => exit_now(125),
        }
    }
}

/// Ends the process at once, as the child of a fork must: no atexit handlers or buffers
/// copied from the parent run.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes no pointers and never returns.
    unsafe { libc::_exit(code) }
}
