//! Finding the cgroup hierarchies of this host and airlock's place in them.
//!
//! Hosts differ: cgroup v2 alone (unified), v1 alone, or a hybrid where the controllers are
//! on v1 hierarchies and cgroup2 is mounted without them. Each controller is looked up on
//! its own, v2 first.

use std::path::{Path, PathBuf};

/// A controller a limit needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Controller {
    Memory,
    Pids,
    Cpu,
    Cpuset,
    Io,
}

impl Controller {
    /// The name cgroup v2 uses.
    pub fn v2_name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
            Controller::Cpuset => "cpuset",
            Controller::Io => "io",
        }
    }

    /// The name cgroup v1 uses.
    pub fn v1_name(self) -> &'static str {
        match self {
            Controller::Io => "blkio",
            other => other.v2_name(),
        }
    }
}

/// One mounted cgroup hierarchy and where this process sits in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// Where the hierarchy is mounted, such as `/sys/fs/cgroup/memory`.
    pub mount: PathBuf,
    /// v1 controllers on it; empty for cgroup v2.
    pub controllers: Vec<String>,
    /// This process's cgroup, relative to the mount.
    pub own: PathBuf,
}

impl Hierarchy {
    pub fn is_v2(&self) -> bool {
        self.controllers.is_empty()
    }
}

/// Reads the mounted hierarchies from `mountinfo` and this process's place in each from
/// its `/proc/self/cgroup` text.
pub(crate) fn discover(mountinfo: &str, own_cgroups: &str) -> Vec<Hierarchy> {
    let mut hierarchies = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(dash) = fields.iter().position(|field| *field == "-") else {
            continue;
        };
        let (Some(fstype), Some(options)) = (fields.get(dash + 1), fields.get(dash + 3)) else {
            continue;
        };
        let Some(mount) = fields.get(4) else {
            continue;
        };
        // The root of this mount inside its hierarchy; a container sees a subtree.
        let mount_root = fields.get(3).copied().unwrap_or("/");
        let (controllers, own) = match *fstype {
            "cgroup2" => (Vec::new(), own_path(own_cgroups, None)),
            "cgroup" => {
                let controllers: Vec<String> = options
                    .split(',')
                    .filter(|option| is_v1_controller(option))
                    .map(String::from)
                    .collect();
                if controllers.is_empty() {
                    continue;
                }
                (controllers.clone(), own_path(own_cgroups, Some(&controllers)))
            }
            _ => continue,
        };
        let Some(own) = own else {
            continue;
        };
        let own = Path::new(&own).strip_prefix(mount_root).map(Path::to_path_buf).unwrap_or_else(|_| PathBuf::from(own.trim_start_matches('/')));
        hierarchies.push(Hierarchy {
            mount: PathBuf::from(unescape(mount)),
            controllers,
            own,
        });
    }
    hierarchies
}

fn is_v1_controller(option: &str) -> bool {
    matches!(
        option,
        "cpu" | "cpuacct" | "cpuset" | "memory" | "devices" | "freezer" | "net_cls" | "blkio" | "perf_event" | "net_prio" | "hugetlb" | "pids" | "rdma" | "misc"
    )
}

/// This process's path in the v2 hierarchy (`None` for `controllers`) or in the v1
/// hierarchy with exactly these controllers.
fn own_path(own_cgroups: &str, controllers: Option<&[String]>) -> Option<String> {
    own_cgroups.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, list, path) = (fields.next()?, fields.next()?, fields.next()?);
        let matches = match controllers {
            None => list.is_empty(),
            Some(wanted) => {
                let mut listed: Vec<&str> = list.split(',').collect();
                listed.sort_unstable();
                let mut wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
                wanted.sort_unstable();
                listed == wanted
            }
        };
        matches.then(|| path.to_string())
    })
}

/// Mount points in mountinfo escape spaces and a few other bytes as `\NNN` octal.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let value = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTS: &str = "\
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:34 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:35 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_OWN: &str = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n";

    #[test]
    fn finds_hybrid_hierarchies() {
        let found = discover(HYBRID_MOUNTS, HYBRID_OWN);
        let memory = found.iter().find(|h| h.controllers == ["memory"]).unwrap();
        assert_eq!(memory.mount, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(memory.own, PathBuf::from("process_api/abc"));
        let unified = found.iter().find(|h| h.is_v2()).unwrap();
        assert_eq!(unified.mount, PathBuf::from("/sys/fs/cgroup/unified"));
        assert_eq!(unified.own, PathBuf::from(""));
        assert!(!found.iter().any(|h| h.mount.ends_with("systemd")), "named hierarchies carry no controller");
    }

    #[test]
    fn finds_unified_hierarchy() {
        let mounts = "25 20 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let own = "0::/user.slice/user-1000.slice/session-2.scope\n";
        let found = discover(mounts, own);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].own, PathBuf::from("user.slice/user-1000.slice/session-2.scope"));
    }

    #[test]
    fn unescapes_mount_points() {
        assert_eq!(unescape("/a\\040b"), "/a b");
    }
}
