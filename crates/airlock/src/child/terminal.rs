//! The sandbox's pseudo-terminal: opened from the sandbox's own `/dev/ptmx`, so the payload
//! sees a terminal of its own `/dev/pts`, with the controlling side sent to the supervisor.

use super::{AtStep, SetupError};
use crate::launch::channel::Step;
use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Opens a new pseudo-terminal with the caller's window size; returns the controlling side
/// and the path of the payload's side.
pub(crate) fn open() -> Result<(OwnedFd, PathBuf), SetupError> {
    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .at(Step::Terminal, || "cannot open a pseudo-terminal at /dev/ptmx".into())?;
    rustix::pty::grantpt(&master).at(Step::Terminal, || "cannot grant the pseudo-terminal".into())?;
    rustix::pty::unlockpt(&master).at(Step::Terminal, || "cannot unlock the pseudo-terminal".into())?;
    let name = rustix::pty::ptsname(&master, Vec::new())
        .at(Step::Terminal, || "cannot name the pseudo-terminal".into())?;

    // The caller's terminal is this process's standard input, when it is one.
    if let Ok(size) = rustix::termios::tcgetwinsize(rustix::stdio::stdin()) {
        let _ = rustix::termios::tcsetwinsize(&master, size);
    }
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.as_bytes()));
    Ok((master, path))
}

/// Makes the pseudo-terminal at `slave` the payload's controlling terminal and its standard
/// input, output and error. The payload must already lead a session of its own.
pub(crate) fn attach(slave: &std::path::Path) -> Result<(), SetupError> {
    let fd = rustix::fs::open(slave, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .at(Step::Terminal, || format!("cannot open the pseudo-terminal {}", slave.display()))?;
    rustix::process::ioctl_tiocsctty(&fd)
        .at(Step::Terminal, || "cannot make the pseudo-terminal the controlling terminal".into())?;
    for target in 0..=2 {
        // SAFETY: 0, 1 and 2 are the standard descriptors; dup2 replaces them atomically.
        let mut std_fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(target) };
        let result = rustix::io::dup2(fd.as_fd(), &mut std_fd);
        std::mem::forget(std_fd);
        result.at(Step::Terminal, || "cannot connect the pseudo-terminal to standard input and output".into())?;
    }
    Ok(())
}
