//! airlock's PID 1 inside the sandbox.
//!
//! Init forks the payload, then only waits: it reaps every process that ends in the
//! sandbox (orphans are re-parented to it), forwards the signals the supervisor relays, and
//! when the payload ends it reports the status and exits. A PID namespace ends with its
//! init, so the kernel then kills whatever is left.

use crate::child::{exit_now, payload, AtStep, Context, SetupError};
use crate::launch::channel::{ExitStatus, Step, ToSandbox, ToSupervisor};
use nix::sys::signal::{kill, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

/// Signals the supervisor relays and init passes on to the payload.
pub(crate) const FORWARDED: [Signal; 11] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Starts the payload and waits for it; returns only a failure to report before the payload
/// ran.
pub(crate) fn run(context: &Context<'_>, built: crate::fs::Built, leave_cgroups: bool) -> ToSupervisor {
    match start(context, built, leave_cgroups) {
        Ok(never) => match never {},
        Err(message) => message,
    }
}

enum Never {}

fn start(context: &Context<'_>, built: crate::fs::Built, leave_cgroups: bool) -> Result<Never, ToSupervisor> {
    let crate::fs::Built { mounts, sources, .. } = built;
    let signals = watch_signals().map_err(SetupError::into_message)?;
    // With a shared PID namespace init is not PID 1, yet orphans must still come to it.
    let _ = crate::sys::set_child_subreaper();

    let terminal = if context.spec.process.tty {
        let (master, slave) = crate::child::terminal::open().map_err(SetupError::into_message)?;
        context
            .channel
            .send_with_fd(&ToSupervisor::Terminal, Some(master.as_fd()))
            .at(Step::Terminal, || "cannot hand the pseudo-terminal to airlock".into())
            .map_err(SetupError::into_message)?;
        Some(slave)
    } else {
        None
    };

    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .at(Step::Fork, || "cannot create the payload's report pipe".into())
        .map_err(SetupError::into_message)?;

    let mut payload_main = || {
        let report = |message: &ToSupervisor| write_report(&report_write, message);
        let failure = payload::exec_payload(context, terminal.as_deref(), &mounts, &report);
        write_report(&report_write, &failure);
        match failure {
            ToSupervisor::ExecFailed { code, .. } => i32::from(code),
            _ => 125,
        }
    };
    // SAFETY: init is single-threaded, and the payload's setup only borrows init's values.
    let payload = match unsafe { crate::sys::spawn_sharing_memory(&mut payload_main) } {
        Ok(pid) => Pid::from_raw(pid),
        Err(error) => {
            return Err(SetupError::new(Step::Fork, format!("cannot start the payload: {}", crate::error::describe(&error))).into_message());
        }
    };
    drop(report_write);

    for message in read_reports(report_read) {
        match message {
            ToSupervisor::Applied(_) => {
                let _ = context.channel.send(&message);
            }
            failure => {
                let _ = waitpid(payload, None);
                return Err(failure);
            }
        }
    }
    let _ = context.channel.send(&ToSupervisor::Started { pid: payload.as_raw() });
    drop_privileges();
    // Closing the mask sources waits for RCU grace periods (see fs::Built::sources): now,
    // while the payload runs, they delay nothing, and init's exit has less to do.
    drop(sources);
    crate::sys::release_code_pages_when_idle(&[signals.as_fd()], crate::sys::SETTLED);

    let status = wait_for_payload(payload, signals);
    // Everything else ends before the status is sent, so that a supervisor that returns at
    // once leaves no process of the sandbox running. The kernel's release of the
    // namespaces and mounts happens in init's exit, which nobody needs to wait for.
    kill_remaining();
    if leave_cgroups {
        leave_cgroups_now(&context.channel);
    }
    let _ = context.channel.send(&ToSupervisor::Exited(status));
    exit_now(status.code())
}

/// Moves init, alone in the sandbox's cgroups now, to airlock's own cgroups through the
/// files the supervisor sends on request, so the supervisor can remove the sandbox's
/// cgroups at once. If anything fails here, the supervisor waits for init's exit instead.
fn leave_cgroups_now(channel: &crate::launch::channel::Channel) {
    if channel.send(&ToSupervisor::Alone).is_err() {
        return;
    }
    // Anything but a file, `StayInCgroups` included, ends the loop.
    while let Ok(Some((ToSandbox::LeaveCgroup { last, .. }, Some(file)))) = channel.recv_with_fd::<ToSandbox>() {
        let _ = rustix::io::write(&file, b"0");
        if last {
            return;
        }
    }
}

/// Blocks the forwarded signals and SIGCHLD and returns a descriptor that reads them.
///
/// The kernel drops a signal sent to a namespace's PID 1 when its handler is the default.
/// So each forwarded signal gets a handler that does nothing, and because the signals are
/// blocked, init reads them from the descriptor instead.
fn watch_signals() -> Result<SignalFd, SetupError> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    let handler = SigAction::new(SigHandler::Handler(ignore_signal), SaFlags::SA_RESTART, SigSet::empty());
    for signal in FORWARDED {
        mask.add(signal);
        // SAFETY: the handler does nothing, which is async-signal-safe.
        unsafe { sigaction(signal, &handler) }.at(Step::Start, || format!("cannot handle {signal}"))?;
    }
    mask.thread_block().at(Step::Start, || "cannot block signals in init".into())?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).at(Step::Start, || "cannot read signals in init".into())
}

/// Writes one message for init into the report pipe, as a line of JSON.
fn write_report(pipe: &OwnedFd, message: &ToSupervisor) {
    if let Ok(mut line) = serde_json::to_vec(message) {
        line.push(b'\n');
        let _ = rustix::io::write(pipe, &line);
    }
}

/// Reads what the payload reported before exec, up to the end of file that its exec (or
/// exit) causes: what was applied, and a failure if it did not start.
fn read_reports(pipe: OwnedFd) -> Vec<ToSupervisor> {
    let mut bytes = Vec::new();
    let _ = std::fs::File::from(pipe).read_to_end(&mut bytes);
    bytes
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_slice(line)
                .unwrap_or_else(|_| SetupError::new(Step::Fork, "the payload sent a malformed report").into_message())
        })
        .collect()
}

/// Drops init's capabilities once the payload runs, except CAP_KILL in the permitted set.
///
/// Init needs none of them. But holding one the payload lacks keeps the payload (same uid,
/// same user namespace) from attaching to init with ptrace or reading its `/proc` files,
/// because the kernel allows that only when the tracer's capabilities cover the target's. airlock's
/// supervisor outside still can, because it owns the user namespace. Init stays dumpable for
/// that reason.
fn drop_privileges() {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    let sets = CapabilitySets {
        effective: CapabilitySet::empty(),
        permitted: CapabilitySet::KILL,
        inheritable: CapabilitySet::empty(),
    };
    let _ = rustix::thread::set_capabilities(None, sets);
}

/// Reaps every child and forwards signals until the payload ends; returns its status.
fn wait_for_payload(payload: Pid, signals: SignalFd) -> ExitStatus {
    loop {
        let info = match signals.read_signal() {
            Ok(Some(info)) => info,
            Ok(None) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => {
                // Without the signal descriptor init can still wait, but not forward.
                return blocking_wait(payload);
            }
        };
        let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        match signal {
            Signal::SIGCHLD => {
                if let Some(status) = reap(payload) {
                    return status;
                }
            }
            // The payload leads its own session, where the kernel ignores terminal stop
            // signals, so a stop request becomes SIGSTOP for its whole process group.
            Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU => {
                let _ = kill(Pid::from_raw(-payload.as_raw()), Signal::SIGSTOP);
            }
            Signal::SIGCONT => {
                let _ = kill(Pid::from_raw(-payload.as_raw()), Signal::SIGCONT);
            }
            other => {
                let _ = kill(payload, other);
            }
        }
    }
}

/// Reaps every child that has ended; returns the payload's status once it has.
fn reap(payload: Pid) -> Option<ExitStatus> {
    let mut payload_status = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return payload_status,
            Ok(status) => {
                if status.pid() == Some(payload) {
                    payload_status = ExitStatus::from_wait(status);
                }
            }
        }
    }
}

fn blocking_wait(payload: Pid) -> ExitStatus {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(status) if status.pid() == Some(payload) => {
                if let Some(status) = ExitStatus::from_wait(status) {
                    return status;
                }
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return ExitStatus::Exited(125),
        }
    }
}

/// Kills and reaps what is left of the sandbox's processes once the payload has ended.
///
/// As the namespace's PID 1, init signals every other process in it with kill(-1). In a
/// shared PID namespace, only init's descendants belong to the sandbox, so it kills its
/// children, and the children of a killed process come to init (the subreaper) for the
/// next round. Done when init has no child left. Bounded: a process that does not die in
/// time (one in an uninterruptible sleep) is left behind, and with its own PID namespace
/// the kernel kills it when init exits.
fn kill_remaining() {
    let pid_1 = rustix::process::getpid().as_raw_nonzero().get() == 1;
    raise_kill_capability();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if pid_1 {
            let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        } else {
            for child in children_of_self() {
                let _ = kill(Pid::from_raw(child), Signal::SIGKILL);
            }
        }
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => {}
                // ECHILD: no child is left.
                Err(_) => return,
            }
        }
        if std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Makes CAP_KILL effective again, which init kept in its permitted set, so that a process
/// that changed its ids cannot escape the end of the sandbox.
fn raise_kill_capability() {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    let sets = CapabilitySets {
        effective: CapabilitySet::KILL,
        permitted: CapabilitySet::KILL,
        inheritable: CapabilitySet::empty(),
    };
    let _ = rustix::thread::set_capabilities(None, sets);
}

fn children_of_self() -> Vec<i32> {
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}
