//! The processes of a named sandbox, found by their PID namespace.

use super::process::namespace_id;
use serde::{Deserialize, Serialize};

/// One process of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SandboxProcess {
    /// The PID inside the sandbox.
    pub pid: i32,
    /// The PID the host sees.
    pub host_pid: i32,
    /// The parent's PID inside the sandbox; 0 for a process whose parent is outside.
    pub parent: i32,
    pub command: String,
}

/// Every process in the PID namespace `pid_namespace`, sorted by PID inside.
pub fn processes(pid_namespace: u64) -> Vec<SandboxProcess> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<(i32, i32, i32, String)> = Vec::new();
    for entry in entries.flatten() {
        let Some(host_pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
            continue;
        };
        if namespace_id(host_pid, "pid") != Some(pid_namespace) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{host_pid}/status")) else {
            continue;
        };
        let field = |key: &str| status.lines().find_map(|line| line.strip_prefix(key)).map(str::trim);
        // NSpid lists the PID in each nested namespace; the last is the sandbox's.
        let Some(inner) = field("NSpid:").and_then(|list| list.split_whitespace().last()?.parse().ok()) else {
            continue;
        };
        let host_parent: i32 = field("PPid:").and_then(|ppid| ppid.parse().ok()).unwrap_or(0);
        let command = std::fs::read(format!("/proc/{host_pid}/cmdline"))
            .map(|bytes| bytes.split(|&b| b == 0).filter(|part| !part.is_empty()).map(|part| String::from_utf8_lossy(part).into_owned()).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let command = if command.is_empty() { format!("[{}]", field("Name:").unwrap_or("?")) } else { command };
        found.push((inner, host_pid, host_parent, command));
    }
    let inner_of = |host: i32| found.iter().find(|(_, h, _, _)| *h == host).map(|(inner, ..)| *inner).unwrap_or(0);
    let mut list: Vec<SandboxProcess> = found
        .iter()
        .map(|(pid, host_pid, host_parent, command)| SandboxProcess { pid: *pid, host_pid: *host_pid, parent: inner_of(*host_parent), command: command.clone() })
        .collect();
    list.sort_by_key(|process| process.pid);
    list
}
