use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// One kind of Linux namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceKind {
    User,
    Pid,
    Mount,
    Ipc,
    Uts,
    Cgroup,
    Net,
    Time,
}

impl NamespaceKind {
    pub const ALL: [NamespaceKind; 8] = [
        NamespaceKind::User,
        NamespaceKind::Pid,
        NamespaceKind::Mount,
        NamespaceKind::Ipc,
        NamespaceKind::Uts,
        NamespaceKind::Cgroup,
        NamespaceKind::Net,
        NamespaceKind::Time,
    ];

    /// The name used by `/proc/PID/ns/` and on the command line.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::User => "user",
            NamespaceKind::Pid => "pid",
            NamespaceKind::Mount => "mnt",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Uts => "uts",
            NamespaceKind::Cgroup => "cgroup",
            NamespaceKind::Net => "net",
            NamespaceKind::Time => "time",
        }
    }

    pub fn clone_flag(self) -> u64 {
        let flag = match self {
            NamespaceKind::User => libc::CLONE_NEWUSER,
            NamespaceKind::Pid => libc::CLONE_NEWPID,
            NamespaceKind::Mount => libc::CLONE_NEWNS,
            NamespaceKind::Ipc => libc::CLONE_NEWIPC,
            NamespaceKind::Uts => libc::CLONE_NEWUTS,
            NamespaceKind::Cgroup => libc::CLONE_NEWCGROUP,
            NamespaceKind::Net => libc::CLONE_NEWNET,
            NamespaceKind::Time => libc::CLONE_NEWTIME,
        };
        flag as u64
    }

    /// Parses a name as `--share` and `--ns` take it (`mnt` and `mount` both work).
    pub fn parse(name: &str) -> Option<NamespaceKind> {
        match name {
            "mount" => Some(NamespaceKind::Mount),
            _ => NamespaceKind::ALL
                .into_iter()
                .find(|kind| kind.proc_name() == name),
        }
    }
}

impl fmt::Display for NamespaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proc_name())
    }
}

/// Where the sandbox's namespace of one kind comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NsSource {
    /// A new, empty namespace that belongs to the sandbox.
    #[default]
    New,
    /// The caller's own namespace of that kind.
    Shared,
    /// An existing namespace file, such as `/run/netns/NAME` or `/proc/PID/ns/ipc`.
    Path(PathBuf),
    /// The namespace of another named sandbox.
    Sandbox(String),
}

impl NsSource {
    pub fn is_new(&self) -> bool {
        matches!(self, NsSource::New)
    }
}

/// The namespaces of a sandbox, except the network namespace, which `network.mode` chooses,
/// and the mount namespace, which is always new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Namespaces {
    pub user: NsSource,
    pub pid: NsSource,
    pub ipc: NsSource,
    pub uts: NsSource,
    pub cgroup: NsSource,
    /// The time namespace is the caller's unless asked for (`--unshare time`).
    pub time: NsSource,
}

impl Default for Namespaces {
    fn default() -> Namespaces {
        Namespaces {
            user: NsSource::New,
            pid: NsSource::New,
            ipc: NsSource::New,
            uts: NsSource::New,
            cgroup: NsSource::New,
            time: NsSource::Shared,
        }
    }
}

impl Namespaces {
    /// The source of one kind; the mount namespace is always new and the network
    /// namespace is decided by the network mode, so both report `New` here.
    pub fn source(&self, kind: NamespaceKind) -> &NsSource {
        match kind {
            NamespaceKind::User => &self.user,
            NamespaceKind::Pid => &self.pid,
            NamespaceKind::Ipc => &self.ipc,
            NamespaceKind::Uts => &self.uts,
            NamespaceKind::Cgroup => &self.cgroup,
            NamespaceKind::Time => &self.time,
            NamespaceKind::Mount | NamespaceKind::Net => &NsSource::New,
        }
    }

    pub fn source_mut(&mut self, kind: NamespaceKind) -> Option<&mut NsSource> {
        match kind {
            NamespaceKind::User => Some(&mut self.user),
            NamespaceKind::Pid => Some(&mut self.pid),
            NamespaceKind::Ipc => Some(&mut self.ipc),
            NamespaceKind::Uts => Some(&mut self.uts),
            NamespaceKind::Cgroup => Some(&mut self.cgroup),
            NamespaceKind::Time => Some(&mut self.time),
            NamespaceKind::Mount | NamespaceKind::Net => None,
        }
    }
}
