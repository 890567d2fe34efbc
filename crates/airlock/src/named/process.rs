//! Telling a sandbox's own processes from anything that merely looks like them.

use serde::{Deserialize, Serialize};
use std::os::fd::OwnedFd;
use std::path::Path;

/// A process, identified by its PID and its start time, so that a later process reusing
/// the PID is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProcessRef {
    pub pid: i32,
    /// Clock ticks after boot, field 22 of `/proc/PID/stat`.
    pub start_time: u64,
}

impl ProcessRef {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: i32) -> Option<ProcessRef> {
        Some(ProcessRef { pid, start_time: stat_field(pid, 19)? })
    }

    /// Whether this very process still runs (a zombie does not count).
    pub fn is_alive(&self) -> bool {
        stat_field(self.pid, 19) == Some(self.start_time) && stat_state(self.pid).is_some_and(|state| state != 'Z' && state != 'X')
    }

    /// The PID of the process's parent.
    pub fn parent(&self) -> Option<i32> {
        stat_field(self.pid, 1).map(|ppid| ppid as i32)
    }

    /// A pidfd of this very process: opened, then checked again, so the PID cannot have
    /// been reused in between.
    pub fn open(&self) -> Option<OwnedFd> {
        let pid = rustix::process::Pid::from_raw(self.pid)?;
        let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()?;
        self.is_alive().then_some(fd)
    }

    /// Whether the process runs airlock's own binary (the same file as this process runs).
    pub fn runs_airlock(&self) -> bool {
        let theirs = std::fs::metadata(format!("/proc/{}/exe", self.pid));
        let ours = std::fs::metadata("/proc/self/exe");
        match (theirs, ours) {
            (Ok(theirs), Ok(ours)) => {
                use std::os::unix::fs::MetadataExt;
                theirs.dev() == ours.dev() && theirs.ino() == ours.ino()
            }
            _ => false,
        }
    }
}

/// A field of `/proc/PID/stat` after the command name, counting the state as 0.
fn stat_field(pid: i32, index: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(index)?.parse().ok()
}

fn stat_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().next()?.chars().next()
}

/// The inode number of one of a process's namespaces.
pub fn namespace_id(pid: i32, kind: &str) -> Option<u64> {
    let link = std::fs::read_link(Path::new("/proc").join(pid.to_string()).join("ns").join(kind)).ok()?;
    link.to_str()?.split_once('[')?.1.strip_suffix(']')?.parse().ok()
}
