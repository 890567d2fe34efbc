//! The filesystem view a sandbox gets when the spec grants nothing of the file system.
//!
//! System directories read-only, a private `/tmp`, a minimal `/dev`, a fresh `/proc`, and
//! the files of `/etc` that programs need to run, look up users, hosts and time zones, and
//! verify TLS certificates. No home directory, no `/run` (so no host sockets: D-Bus, X11,
//! SSH agents), and nothing from `/etc` that holds secrets (`shadow`, `gshadow`, `sudoers`,
//! `ssh/`, `ssl/private/`).

use crate::spec::{BindMode, Mount};
use std::path::Path;

/// System directories bound read-only; a host that has one as a symlink (merged `/usr`) gets
/// the same symlink.
const SYSTEM_DIRS: [&str; 7] = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// Entries of `/etc` the default view shows, read-only, when the host has them: user and
/// group names, name resolution, time zone, the dynamic loader's cache, Debian's
/// alternatives (`awk`, `cc`, `editor` are links into it), TLS certificates and the OS name.
/// Each is a mount, and mounts are what a sandbox's start-up time grows with, so the list
/// stays short; `--ro-bind` adds more.
const ETC_FILES: [&str; 12] = [
    "alternatives",
    "group",
    "hosts",
    "ld.so.cache",
    "localtime",
    "nsswitch.conf",
    "os-release",
    "passwd",
    "protocols",
    "resolv.conf",
    "services",
    "ssl/certs",
];

/// The grants of the default view, as they apply on this host.
pub(crate) fn mounts() -> Vec<Mount> {
    let mut mounts = Vec::new();
    for dir in SYSTEM_DIRS {
        let path = Path::new(dir);
        match std::fs::read_link(path) {
            Ok(target) => mounts.push(Mount::Symlink {
                target: target.to_string_lossy().into_owned(),
                link: path.to_path_buf(),
            }),
            Err(_) if path.is_dir() => mounts.push(read_only(path)),
            Err(_) => {}
        }
    }

    // Entries this host lacks are skipped when the sandbox is built, which costs less than
    // checking each one here.
    let etc = Path::new("/etc");
    mounts.extend(ETC_FILES.iter().map(|name| read_only(&etc.join(name))));
    mounts.push(Mount::Symlink {
        target: "../proc/self/mounts".into(),
        link: "/etc/mtab".into(),
    });

    mounts.push(Mount::Tmpfs {
        dest: "/tmp".into(),
        size: None,
        mode: Some(0o1777),
    });
    mounts.push(Mount::Dev { dest: "/dev".into() });
    mounts.push(Mount::Proc { dest: "/proc".into() });
    mounts
}

fn read_only(path: &Path) -> Mount {
    Mount::Bind {
        src: path.to_path_buf(),
        dest: path.to_path_buf(),
        mode: BindMode::ReadOnly,
        optional: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_out_secrets_and_homes() {
        let mounts = mounts();
        for secret in ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh", "/etc/ssl/private", "/home", "/root", "/run"] {
            assert!(
                mounts.iter().all(|mount| mount.dest() != Path::new(secret)),
                "{secret} is in the default view"
            );
        }
        assert!(mounts.iter().any(|mount| mount.dest() == Path::new("/usr")));
        assert!(mounts.iter().any(|mount| matches!(mount, Mount::Proc { .. })));
    }
}
