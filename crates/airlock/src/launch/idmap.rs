//! Writing the user namespace's id maps from outside: directly when the kernel allows it,
//! through `newuidmap`/`newgidmap` when an ordinary user maps subordinate ranges.

use crate::error::{describe, Error};
use crate::spec::validate::ResolvedIds;
use crate::spec::IdRange;
use std::process::Command;

/// Writes the uid and gid maps of the process `pid`'s user namespace.
pub(crate) fn write(pid: i32, ids: &ResolvedIds) -> Result<(), Error> {
    if ids.use_helpers {
        run_helper("newgidmap", pid, &ids.gid_map)?;
        return run_helper("newuidmap", pid, &ids.uid_map);
    }
    if !ids.setgroups {
        // The kernel requires this before an unprivileged process writes a gid map.
        write_file(pid, "setgroups", "deny")?;
    }
    write_file(pid, "gid_map", &format_map(&ids.gid_map))?;
    write_file(pid, "uid_map", &format_map(&ids.uid_map))
}

fn format_map(map: &[IdRange]) -> String {
    map.iter()
        .map(|range| format!("{} {} {}\n", range.inside, range.outside, range.count))
        .collect()
}

fn write_file(pid: i32, name: &str, content: &str) -> Result<(), Error> {
    let path = format!("/proc/{pid}/{name}");
    std::fs::write(&path, content).map_err(|error| Error::Setup {
        step: super::channel::Step::Identity,
        message: format!("cannot write {path} ({}): {}", content.trim().replace('\n', ", "), describe(&error)),
    })
}

fn run_helper(program: &str, pid: i32, map: &[IdRange]) -> Result<(), Error> {
    let mut command = Command::new(program);
    command.arg(pid.to_string());
    for range in map {
        command.args([range.inside.to_string(), range.outside.to_string(), range.count.to_string()]);
    }
    let output = command.output().map_err(|error| Error::Setup {
        step: super::channel::Step::Identity,
        message: if error.kind() == std::io::ErrorKind::NotFound {
            format!("cannot map id ranges: {program} is not installed (Debian package uidmap)")
        } else {
            format!("cannot run {program}: {}", describe(&error))
        },
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().last().unwrap_or("").trim();
        return Err(Error::Setup {
            step: super::channel::Step::Identity,
            message: format!("{program} failed ({}): {reason}", output.status),
        });
    }
    Ok(())
}
