//! The sync channel between the supervisor and the sandbox.
//!
//! ```text
//! supervisor ──clone3(new namespaces)──► init (PID 1 inside) ──fork──► payload
//!     │ writes id maps, cgroup, network       mounts, pivot_root,         ids, capabilities,
//!     │ then sends Continue ───────────────►  hostname, then forks ──►    rlimits, no_new_privs,
//!     │                                                                  Landlock, seccomp, exec
//!     ◄──────── Started | SetupFailed | ExecFailed ── (init relays what the payload reports
//!     ◄──────── Exited                                 through a close-on-exec pipe)
//! ```
//!
//! The channel is one `SOCK_SEQPACKET` socket pair, so every message arrives whole. Messages are
//! the typed enums below, encoded as JSON. The sandbox's end is close-on-exec: with
//! `--as-pid-1` there is no init, and the end of file that the payload's `execve` causes is
//! what tells the supervisor that the payload started.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

/// A message from the supervisor to the sandbox.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToSandbox {
    /// The id maps and host-side network are in place: go on with the setup.
    Continue,
    /// A v1 cgroup's `tasks` file, opened by the supervisor, arrives with this message as a
    /// descriptor: the sandbox moves itself into the cgroup by writing `0` to it.
    JoinCgroup { tasks: std::path::PathBuf },
    /// Sent before `InCgroups`: at the end, init leaves the cgroups through files it
    /// requests with `Alone`, so the supervisor can remove them without waiting for its exit.
    LeaveCgroupsAtEnd,
    /// The reply to `Alone`: the `tasks` file of airlock's own cgroup in a v1 hierarchy
    /// arrives as a descriptor, and init writes `0` to it. `last` marks the last file.
    /// The files reach init only now, when no other process of the sandbox is left that
    /// could use them to leave its cgroups.
    LeaveCgroup { tasks: std::path::PathBuf, last: bool },
    /// The reply to `Alone` when the sandbox's cgroups still hold another process: the
    /// message may not come from init, so no file is sent, and init stays.
    StayInCgroups,
    /// The sandbox's cgroups are ready (sent after `Continue` and any `JoinCgroup`, when
    /// the supervisor makes or joins cgroups while the sandbox does its own setup).
    InCgroups,
    /// Sent after `Continue` (and `InCgroups`) when root's supervisor was to bring up the
    /// sandbox's `lo`: whether it did; if not, the sandbox does.
    Loopback { up: bool },
    /// The host side of the sandbox's network is attached (sent after `InCgroups`, when
    /// there is a host side): its veth end exists, or pasta has configured the namespace.
    NetworkReady,
}

/// A message from the sandbox to the supervisor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToSupervisor {
    /// The payload runs; `pid` is its PID inside the sandbox.
    Started { pid: i32 },
    /// A setup step failed; nothing of the payload ran.
    SetupFailed { step: Step, message: String },
    /// The command could not be executed; `code` is 126 or 127.
    ExecFailed { code: u8, message: String },
    /// The payload ended.
    Exited(ExitStatus),
    /// The pseudo-terminal's controlling side arrives with this message as a descriptor.
    Terminal,
    /// The restrictions the payload runs under, sent just before its exec.
    Applied(crate::security::Applied),
    /// Every process of the sandbox but init has ended; init waits for `LeaveCgroup`.
    Alone,
}

/// One step of the sandbox's ordered setup, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Start,
    Identity,
    Cgroups,
    Network,
    Mounts,
    PivotRoot,
    Hostname,
    TimeNamespace,
    Terminal,
    Fork,
    Capabilities,
    Rlimits,
    NoNewPrivs,
    Landlock,
    Seccomp,
    Environment,
    Descriptors,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Start => "start",
            Step::Identity => "user and group ids",
            Step::Cgroups => "cgroups",
            Step::Network => "network",
            Step::Mounts => "mounts",
            Step::PivotRoot => "root switch",
            Step::Hostname => "host name",
            Step::TimeNamespace => "time namespace",
            Step::Terminal => "terminal",
            Step::Fork => "payload start",
            Step::Capabilities => "capabilities",
            Step::Rlimits => "rlimits",
            Step::NoNewPrivs => "no_new_privs",
            Step::Landlock => "Landlock",
            Step::Seccomp => "seccomp",
            Step::Environment => "environment",
            Step::Descriptors => "file descriptors",
        })
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitStatus {
    /// It called `exit` with this code.
    Exited(i32),
    /// A signal with this number killed it.
    Signaled(i32),
}

impl ExitStatus {
    /// The status a shell would report: the exit code, or 128 plus the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal,
        }
    }

    pub(crate) fn from_wait(status: nix::sys::wait::WaitStatus) -> Option<ExitStatus> {
        use nix::sys::wait::WaitStatus;
        match status {
            WaitStatus::Exited(_, code) => Some(ExitStatus::Exited(code)),
            WaitStatus::Signaled(_, signal, _) => Some(ExitStatus::Signaled(signal as i32)),
            _ => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with status {code}"),
            ExitStatus::Signaled(signal) => {
                let name = nix::sys::signal::Signal::try_from(*signal)
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|_| format!("signal {signal}"));
                write!(f, "killed by {name}")
            }
        }
    }
}

/// Messages are small; this bounds one message, error texts included.
const MAX_MESSAGE: usize = 16 * 1024;

/// One end of the sync channel.
#[derive(Debug)]
pub struct Channel {
    socket: OwnedFd,
}

impl Channel {
    /// Creates both ends, close-on-exec.
    pub fn pair() -> io::Result<(Channel, Channel)> {
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        Ok((Channel { socket: a }, Channel { socket: b }))
    }

    pub fn send<T: Serialize>(&self, message: &T) -> io::Result<()> {
        self.send_with_fd(message, None)
    }

    /// Sends a message, with a descriptor attached when `fd` is given.
    pub fn send_with_fd<T: Serialize>(&self, message: &T, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
        let bytes = serde_json::to_vec(message).map_err(io::Error::other)?;
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        let fds;
        if let Some(fd) = fd {
            fds = [fd];
            control.push(SendAncillaryMessage::ScmRights(&fds));
        }
        rustix::net::sendmsg(
            &self.socket,
            &[IoSlice::new(&bytes)],
            &mut control,
            SendFlags::NOSIGNAL,
        )?;
        Ok(())
    }

    /// Receives one message; `None` when the other side closed its end.
    pub fn recv<T: DeserializeOwned>(&self) -> io::Result<Option<T>> {
        Ok(self.recv_with_fd()?.map(|(message, _)| message))
    }

    /// Receives one message and the descriptor that came with it, if any.
    pub fn recv_with_fd<T: DeserializeOwned>(&self) -> io::Result<Option<(T, Option<OwnedFd>)>> {
        let mut buffer = vec![0u8; MAX_MESSAGE];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut reset_seen = false;
        let received = loop {
            match rustix::net::recvmsg(
                &self.socket,
                &mut [IoSliceMut::new(&mut buffer)],
                &mut control,
                RecvFlags::CMSG_CLOEXEC,
            ) {
                Err(rustix::io::Errno::INTR) => continue,
                // A peer that closes its end with messages unread in it (a sandbox that
                // failed before reading the supervisor's last message) makes the kernel
                // report ECONNRESET once. What the peer sent before is still queued.
                Err(rustix::io::Errno::CONNRESET) if !reset_seen => reset_seen = true,
                other => break other?,
            }
        };
        let mut fd = None;
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = message {
                fd = fds.next();
            }
        }
        if received.bytes == 0 {
            return Ok(None);
        }
        let message = serde_json::from_slice(&buffer[..received.bytes]).map_err(|error| {
            io::Error::new(io::ErrorKind::InvalidData, format!("malformed message on the sync channel: {error}"))
        })?;
        Ok(Some((message, fd)))
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trip_with_fd() {
        let (a, b) = Channel::pair().unwrap();
        let file = std::fs::File::open("/dev/null").unwrap();
        a.send_with_fd(&ToSupervisor::Terminal, Some(file.as_fd())).unwrap();
        let (message, fd) = b.recv_with_fd::<ToSupervisor>().unwrap().unwrap();
        assert!(matches!(message, ToSupervisor::Terminal));
        assert!(fd.is_some());
    }

    #[test]
    fn last_message_survives_a_reset() {
        let (supervisor, sandbox) = Channel::pair().unwrap();
        supervisor.send(&ToSandbox::Continue).unwrap();
        sandbox.send(&ToSupervisor::SetupFailed { step: Step::Mounts, message: "failed".into() }).unwrap();
        // The sandbox ends without reading Continue.
        drop(sandbox);
        let received = supervisor.recv::<ToSupervisor>().unwrap();
        assert!(matches!(received, Some(ToSupervisor::SetupFailed { .. })), "{received:?}");
        assert!(supervisor.recv::<ToSupervisor>().unwrap().is_none());
    }

    #[test]
    fn end_of_file_when_peer_closes() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&ToSupervisor::Started { pid: 2 }).unwrap();
        drop(a);
        assert!(matches!(b.recv::<ToSupervisor>().unwrap(), Some(ToSupervisor::Started { pid: 2 })));
        assert!(b.recv::<ToSupervisor>().unwrap().is_none());
    }

    #[test]
    fn exit_codes_follow_shell_convention() {
        assert_eq!(ExitStatus::Exited(42).code(), 42);
        assert_eq!(ExitStatus::Signaled(9).code(), 137);
        assert_eq!(ExitStatus::Signaled(15).to_string(), "killed by SIGTERM");
    }
}
