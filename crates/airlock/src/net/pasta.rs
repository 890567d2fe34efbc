//! User-mode networking through `pasta` (Debian package `passt`): a tap interface in the
//! sandbox's network namespace whose traffic pasta carries on ordinary sockets of the
//! caller, so it needs no privilege.
//!
//! pasta runs in the foreground as the supervisor's child, and dies with it
//! (`PR_SET_PDEATHSIG`). It writes its PID file once the namespace is configured; the PID
//! file is a pipe, so reading it is the readiness signal.

use super::NetError;
use crate::spec::{PortMapping, Protocol};
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long pasta may take to configure the namespace; it needs well under a second.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The descriptor number pasta gets for its PID file.
const PID_FD: i32 = 3;

/// Finds the `pasta` program in `PATH`, or in the system directories when `PATH` is unset.
pub(crate) fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join("pasta"))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// A running pasta, stopped on drop.
#[derive(Debug)]
pub(crate) struct Pasta {
    child: Child,
}

impl Pasta {
    /// Starts pasta for the network namespace of `pid` (and its user namespace) and waits
    /// until the namespace is configured.
    pub(crate) fn start(pid: i32, publish: &[PortMapping]) -> Result<Pasta, NetError> {
        let program = find().ok_or(NetError::PastaMissing)?;
        let mut command = Command::new(&program);
        command.args(["--config-net", "--quiet", "--foreground"]);
        // Without these, pasta would forward every port the sandbox binds to the host, every
        // port bound on the host's loopback into the sandbox, and the gateway address to the
        // host's loopback services: all more than was granted.
        command.args(["--no-map-gw", "-T", "none", "-U", "none"]);
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let flag = if protocol == Protocol::Tcp { "-t" } else { "-u" };
            let specs: Vec<String> = publish.iter().filter(|mapping| mapping.protocol == protocol).map(port_spec).collect();
            if specs.is_empty() {
                command.args([flag, "none"]);
            }
            for spec in specs {
                command.args([flag, &spec]);
            }
        }
        if rustix::process::geteuid().is_root() {
            // As root pasta would switch to nobody, which may not enter root's namespaces.
            command.args(["--runas", "0:0"]);
        }
        command.args(["--pid", &format!("/proc/self/fd/{PID_FD}")]);
        command.arg(pid.to_string());

        let (ready_read, ready_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|error| NetError::io("create a pipe for pasta", error.into()))?;
        let log = memfd("pasta-log")?;
        let log_for_child = log.try_clone().map_err(|error| NetError::io("duplicate pasta's log", error))?;
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log_for_child));
        let write_fd = ready_write.as_raw_fd();
        // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
        // functions (prctl, sigprocmask, dup2, close_range).
        unsafe {
            command.pre_exec(move || {
                crate::sys::set_parent_death_signal(libc::SIGKILL)?;
                let empty: libc::sigset_t = std::mem::zeroed();
                libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                if libc::dup2(write_fd, PID_FD) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // Nothing of the supervisor's but the PID pipe reaches pasta.
                libc::syscall(libc::SYS_close_range, PID_FD as u32 + 1, u32::MAX, 0);
                Ok(())
            });
        }
        tracing::debug!(?command, "starting pasta");
        let child = command.spawn().map_err(|error| NetError::io(format!("start {}", program.display()), error))?;
        drop(ready_write);
        let mut pasta = Pasta { child };

        match wait_ready(&ready_read) {
            Ok(()) => Ok(pasta),
            Err(why) => {
                pasta.stop();
                Err(NetError::PastaFailed { why, log: read_log(log) })
            }
        }
    }

    /// Stops pasta and reaps it.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pasta {
    fn drop(&mut self) {
        self.stop();
    }
}

/// pasta's `-t`/`-u` form of a mapping: `[ADDR/]HOSTPORT:PORT`.
fn port_spec(mapping: &PortMapping) -> String {
    match mapping.host_address {
        Some(address) => format!("{address}/{}:{}", mapping.host_port, mapping.port),
        None => format!("{}:{}", mapping.host_port, mapping.port),
    }
}

/// Waits for pasta to write its PID, which it does once the namespace is configured.
fn wait_ready(pipe: &OwnedFd) -> Result<(), String> {
    use rustix::event::{poll, PollFd, PollFlags};
    let deadline = std::time::Instant::now() + READY_TIMEOUT;
    let mut received = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(format!("it did not configure the namespace within {} s", READY_TIMEOUT.as_secs()));
        }
        let timeout = rustix::time::Timespec { tv_sec: left.as_secs() as i64, tv_nsec: i64::from(left.subsec_nanos()) };
        let mut fds = [PollFd::new(pipe, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(format!("cannot wait for it: {error}")),
        }
        let mut buffer = [0u8; 32];
        match rustix::io::read(pipe, &mut buffer) {
            Ok(0) if received.is_empty() => return Err("it exited before the namespace was configured".into()),
            Ok(0) => return Ok(()),
            Ok(count) => {
                received.extend_from_slice(&buffer[..count]);
                if received.ends_with(b"\n") {
                    return Ok(());
                }
            }
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
            Err(error) => return Err(format!("cannot read its PID file: {error}")),
        }
    }
}

fn memfd(name: &str) -> Result<std::fs::File, NetError> {
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|error| NetError::io("create a log for pasta", error.into()))?;
    // SAFETY: memfd_create returned a new descriptor that nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fd)) })
}

/// pasta's messages, without the syslog complaints it prints when no syslog is reachable,
/// and without its note on a host that has no IPv6 route when something else went wrong.
fn read_log(mut log: std::fs::File) -> String {
    let mut text = String::new();
    let _ = log.rewind();
    let _ = log.read_to_string(&mut text);
    let lines: Vec<&str> = text.lines().filter(|line| !line.starts_with("Failed to send") && !line.trim().is_empty()).collect();
    let notes = |line: &&str| line.starts_with("No external routable interface for IPv6");
    let problems: Vec<&str> = lines.iter().copied().filter(|line| !notes(line)).collect();
    if problems.is_empty() { lines } else { problems }.join("; ")
}
