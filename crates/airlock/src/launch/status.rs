//! `--json-status-fd`: one JSON object per line when the payload starts and when it ends.

use super::channel::ExitStatus;
use crate::spec::NamespaceKind;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::os::fd::{FromRawFd, RawFd};

/// Writes status lines to a descriptor the caller passed.
pub struct StatusWriter {
    file: std::mem::ManuallyDrop<std::fs::File>,
}

impl StatusWriter {
    /// Writes to `fd`, which stays open and owned by the caller.
    pub fn new(fd: RawFd) -> StatusWriter {
        // SAFETY: the descriptor was checked to be open; ManuallyDrop keeps it from being
        // closed here, because it belongs to the caller.
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        StatusWriter {
            file: std::mem::ManuallyDrop::new(file),
        }
    }

    /// Reports the start: the sandbox's PID as the host sees it and its namespace ids.
    pub fn started(&mut self, pid: i32, applied: Option<&crate::security::Applied>, cgroups: &[std::path::PathBuf]) {
        let mut namespaces = Map::new();
        for kind in NamespaceKind::ALL {
            // The time namespace init created applies to its children only.
            let name = match kind {
                NamespaceKind::Time => "time_for_children",
                other => other.proc_name(),
            };
            if let Some(id) = namespace_id(pid, name) {
                namespaces.insert(kind.proc_name().to_string(), json!(id));
            }
        }
        self.write(json!({ "event": "start", "pid": pid, "namespaces": namespaces, "applied": applied, "cgroups": cgroups }));
    }

    /// Reports the end: the exit code, and the signal when one killed the payload.
    pub fn exited(&mut self, status: ExitStatus, limit: Option<&super::Limit>) {
        let mut line = json!({ "event": "exit", "exit_code": status.code() });
        if let ExitStatus::Signaled(signal) = status {
            line["signal"] = json!(signal);
        }
        if let Some(limit) = limit {
            line["reason"] = json!(limit.name());
            line["limit"] = json!(limit);
        }
        self.write(line);
    }

    fn write(&mut self, value: Value) {
        let mut line = value.to_string();
        line.push('\n');
        // A reader that went away must not stop the sandbox.
        let _ = self.file.write_all(line.as_bytes());
    }
}

/// The inode number that identifies a namespace, read from `/proc/PID/ns/NAME`.
pub(crate) fn namespace_id(pid: i32, name: &str) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{name}")).ok()?;
    let text = link.to_str()?;
    text.split_once('[')?.1.strip_suffix(']')?.parse().ok()
}
