//! The supervisor's wait loop: forward signals, relay the terminal, collect the payload's
//! status, and reap the sandbox.

use super::channel::{ExitStatus, ToSandbox, ToSupervisor};
use super::{Limit, Outcome, Sandbox};
use std::time::{Duration, Instant};
use crate::error::Error;
use nix::sys::signal::Signal;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{WaitId, WaitIdOptions};
use std::os::fd::AsFd;

pub(crate) fn wait(mut sandbox: Sandbox) -> Result<Outcome, Error> {
    // Once nothing has happened for a while, the sandbox has settled, and the supervisor
    // gives back its code pages; a sandbox that ends at once never pays for that.
    let mut settled = false;
    let mut reported: Option<ExitStatus> = None;
    let mut channel_open = !sandbox.as_pid_1;
    let mut timer = Timer::new(&sandbox.limits);
    // Init reports the payload's status once every other process of the sandbox is gone.
    // Its own exit, where the kernel releases the namespaces and mounts, can then finish
    // after airlock returns. A terminal to drain needs it to end first, and so do cgroups,
    // unless init leaves them before it reports.
    let cgroups_need_init_gone = sandbox.cgroups.is_some() && sandbox.leave_files.is_empty();
    let wait_for_init = cgroups_need_init_gone || sandbox.terminal.is_some();

    loop {
        if let Some(signal) = timer.due() {
            tracing::info!(%signal, "timeout: signalling the sandbox");
            send(&sandbox, signal);
        }
        let stdin = rustix::stdio::stdin();
        let mut fds = vec![
            PollFd::new(&sandbox.signals.fd, PollFlags::IN),
            PollFd::new(&sandbox.pidfd, PollFlags::IN),
        ];
        let channel_index = channel_open.then(|| {
            fds.push(PollFd::new(&sandbox.channel, PollFlags::IN));
            fds.len() - 1
        });
        let (master_index, stdin_index) = match &sandbox.terminal {
            Some(relay) => relay.poll_on(&mut fds, stdin),
            None => (None, None),
        };
        let wait = match (timer.next_in(), settled) {
            (left, true) => left,
            (Some(left), false) => Some(left.min(crate::sys::SETTLED)),
            (None, false) => Some(crate::sys::SETTLED),
        };
        let timeout = wait.map(|left| rustix::time::Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        });
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) if !settled => {
                settled = true;
                crate::sys::release_code_pages();
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(error) => return Err(Error::io("cannot wait for the sandbox", error.into())),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|fd| fd.revents()).collect();
        drop(fds);
        let readable = |index: Option<usize>| index.is_some_and(|i| !ready[i].is_empty());

        if !ready[0].is_empty() {
            forward_signals(&mut sandbox);
        }
        if readable(channel_index) {
            match sandbox.channel.recv::<ToSupervisor>() {
                Ok(Some(ToSupervisor::Exited(status))) => {
                    reported = Some(status);
                    if !wait_for_init {
                        break;
                    }
                }
                Ok(Some(ToSupervisor::Alone)) => send_leave_files(&sandbox),
                Ok(Some(other)) => tracing::debug!(?other, "unexpected message from the sandbox"),
                Ok(None) | Err(_) => channel_open = false,
            }
        }
        if let Some(relay) = &mut sandbox.terminal {
            if let Some(index) = master_index {
                if ready[index].contains(PollFlags::OUT) {
                    relay.write_input();
                }
                if ready[index].intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                    relay.copy_output();
                }
            }
            if readable(stdin_index) {
                relay.read_input();
            }
        }
        if !ready[1].is_empty() {
            break;
        }
    }

    let status = match reported {
        Some(status) if !wait_for_init => status,
        _ => {
            let waited = reap(&sandbox)?;
            if channel_open && reported.is_none() {
                // Init sends the payload's status just before it exits; it may still be queued.
                if let Ok(Some(ToSupervisor::Exited(status))) = sandbox.channel.recv::<ToSupervisor>() {
                    reported = Some(status);
                }
            }
            reported.unwrap_or(waited)
        }
    };
    if let Some(relay) = &mut sandbox.terminal {
        relay.drain();
    }
    sandbox.terminal = None;

    let limit = limit_reached(&sandbox, status, timer.fired);
    if let Some(mut cgroups) = sandbox.cgroups.take() {
        // If init could not leave them, they are empty only once it has exited. Init may
        // still wait for its files (the status may not have come from init), so the channel
        // is shut first: init then goes on to its exit.
        if !cgroups.remove_if_empty() {
            let _ = rustix::net::shutdown(&sandbox.channel, rustix::net::Shutdown::Both);
            let _ = reap(&sandbox);
            cgroups.remove();
        }
    }
    if let Some(writer) = &mut sandbox.status {
        writer.exited(status, limit.as_ref());
    }
    Ok(Outcome { status, limit })
}

/// Sends init the files it leaves the cgroups through. A failure is only logged: the
/// cgroups then stay busy until init's exit, which the removal waits for.
///
/// A process of the sandbox that got hold of init's channel could send `Alone` too, to
/// get the files and leave its limits. So the files go only when init is the last process
/// in the sandbox's cgroups, which no process of the sandbox can leave without them.
fn send_leave_files(sandbox: &Sandbox) {
    let alone = sandbox.cgroups.as_ref().is_some_and(|cgroups| cgroups.hold_only(sandbox.pid));
    if !alone {
        tracing::debug!("a request for the files to leave the cgroups while other processes are in them");
        let _ = sandbox.channel.send(&ToSandbox::StayInCgroups);
        return;
    }
    let count = sandbox.leave_files.len();
    for (index, (tasks, file)) in sandbox.leave_files.iter().enumerate() {
        let message = ToSandbox::LeaveCgroup { tasks: tasks.clone(), last: index + 1 == count };
        if let Err(error) = sandbox.channel.send_with_fd(&message, Some(file.as_fd())) {
            tracing::debug!(%error, "cannot send init the files to leave its cgroups");
            return;
        }
    }
}

fn reap(sandbox: &Sandbox) -> Result<ExitStatus, Error> {
    let status = rustix::process::waitid(WaitId::PidFd(sandbox.pidfd.as_fd()), WaitIdOptions::EXITED)
        .map_err(|error| Error::io("cannot reap the sandbox", error.into()))?;
    let status = status.ok_or_else(|| Error::io("cannot reap the sandbox", std::io::Error::other("no status")))?;
    Ok(if let Some(code) = status.exit_status() {
        ExitStatus::Exited(code)
    } else if let Some(signal) = status.terminating_signal() {
        ExitStatus::Signaled(signal)
    } else {
        ExitStatus::Exited(125)
    })
}

/// Relays the signals airlock received to the sandbox.
fn forward_signals(sandbox: &mut Sandbox) {
    while let Ok(Some(info)) = sandbox.signals.fd.read_signal() {
        let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        match signal {
            Signal::SIGWINCH if sandbox.terminal.is_some() => {
                if let Some(relay) = &sandbox.terminal {
                    relay.resize();
                }
            }
            Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU => {
                // Stop the payload, then airlock itself, so the caller's shell sees a stopped
                // job; SIGCONT later wakes both.
                let stop = if sandbox.as_pid_1 { Signal::SIGSTOP } else { signal };
                send(sandbox, stop);
                let _ = nix::sys::signal::raise(Signal::SIGSTOP);
            }
            other => send(sandbox, other),
        }
    }
}

fn send(sandbox: &Sandbox, signal: Signal) {
    // SAFETY: every nix Signal is a valid signal number for rustix.
    let signal = unsafe { rustix::process::Signal::from_raw_unchecked(signal as i32) };
    if let Err(error) = rustix::process::pidfd_send_signal(&sandbox.pidfd, signal) {
        tracing::debug!(%error, "cannot forward a signal");
    }
}

/// The `--timeout` clock: SIGTERM at the deadline, SIGKILL once the grace period is over.
struct Timer {
    term_at: Option<Instant>,
    kill_at: Option<Instant>,
    kill_after: Duration,
    /// Whether the deadline passed.
    fired: bool,
}

impl Timer {
    fn new(limits: &crate::spec::Limits) -> Timer {
        Timer {
            term_at: limits.timeout.map(|timeout| Instant::now() + timeout),
            kill_at: None,
            kill_after: limits.kill_after.unwrap_or(crate::spec::Limits::DEFAULT_KILL_AFTER),
            fired: false,
        }
    }

    /// The signal to send now, if a deadline has passed.
    fn due(&mut self) -> Option<Signal> {
        let now = Instant::now();
        if self.term_at.is_some_and(|at| now >= at) {
            self.term_at = None;
            self.kill_at = Some(now + self.kill_after);
            self.fired = true;
            return Some(Signal::SIGTERM);
        }
        if self.kill_at.is_some_and(|at| now >= at) {
            self.kill_at = None;
            return Some(Signal::SIGKILL);
        }
        None
    }

    /// How long until the next deadline, if there is one.
    fn next_in(&self) -> Option<Duration> {
        let next = self.term_at.or(self.kill_at)?;
        Some(next.saturating_duration_since(Instant::now()))
    }
}

/// Which limit, if any, ended the payload or got in its way.
fn limit_reached(sandbox: &Sandbox, status: ExitStatus, timed_out: bool) -> Option<Limit> {
    if timed_out {
        let milliseconds = sandbox.limits.timeout.map(|timeout| timeout.as_millis() as u64).unwrap_or(0);
        return Some(Limit::Timeout { milliseconds });
    }
    let hit = sandbox.cgroups.as_ref().and_then(|cgroups| cgroups.limit_hit());
    match hit {
        Some(crate::cgroup::LimitHit::Memory { bytes }) => return Some(Limit::Memory { bytes }),
        Some(crate::cgroup::LimitHit::Pids { max }) => return Some(Limit::Pids { max }),
        None => {}
    }
    let cpu_limit = sandbox.limits.rlimits.iter().find(|rlimit| rlimit.resource == crate::spec::RlimitResource::Cpu);
    match (status, cpu_limit) {
        (ExitStatus::Signaled(signal), Some(rlimit)) if signal == libc::SIGXCPU || signal == libc::SIGKILL => {
            Some(Limit::CpuTime { seconds: rlimit.soft })
        }
        _ => None,
    }
}
