//! `airlock explain`: what a spec lets a sandbox do, in plain words for people and as JSON
//! for programs. It reads the same spec the launcher reads, and the same plan of mounts, so
//! it cannot describe a different sandbox from the one `run` would start.

use super::units::{format_duration, format_size};
use super::{BindMode, Caller, FileSource, LandlockMode, Mount, NetMode, NsSource, SeccompMode, Spec};
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// Everything `explain` reports about one spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Explanation {
    pub command: Vec<String>,
    /// The payload's ids inside the sandbox.
    pub runs_as: String,
    /// Each namespace and where it comes from: new, shared with the caller, or joined.
    pub namespaces: Vec<(String, String)>,
    /// The file system as the sandbox finds it, in the order the grants apply.
    pub files: Vec<FileAccess>,
    /// Host paths people worry about that the sandbox cannot see at all.
    pub hidden: Vec<String>,
    pub network: NetworkAccess,
    pub ipc: Vec<String>,
    pub capabilities: Vec<String>,
    pub no_new_privs: bool,
    pub seccomp: Seccomp,
    pub landlock: String,
    pub limits: Vec<String>,
    /// Why `run` would refuse to start this sandbox here, if it would.
    pub cannot_start: Option<String>,
    /// What this machine enforces less strictly than requested.
    pub warnings: Vec<String>,
}

/// One path and what the sandbox may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileAccess {
    pub path: String,
    /// `read-only`, `read-write`, `read-write-devices`, `private` (a writable tmpfs or
    /// overlay whose changes vanish), `link`, `copy`, `special`.
    pub access: String,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetworkAccess {
    pub mode: String,
    pub reaches: String,
    /// Published ports: where they listen on the host and where they lead.
    pub listens: Vec<String>,
    /// When not empty, the only destinations outbound traffic may go to.
    pub egress: Vec<String>,
    pub dns: Vec<String>,
    /// Fixed addresses on the bridge network.
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seccomp {
    pub mode: String,
    pub denies: Vec<String>,
}

/// Host paths checked for the `hidden` list, when no grant shows them.
const SENSITIVE: [&str; 9] = ["/root", "/home", "/etc/shadow", "/etc/ssh", "/run", "/var", "/boot", "/sys", "/proc/kcore"];

/// Explains `spec` as `caller` would run it on this machine.
pub fn explain(spec: &Spec, caller: &Caller) -> Explanation {
    let mounts = crate::fs::plan(spec);
    let mut warnings = Vec::new();
    let cannot_start = spec.validate_without_command(caller).err().map(|error| error.to_string());

    let mut files = vec![root(spec)];
    files.extend(mounts.iter().filter_map(file_access));
    let mut hidden: Vec<String> = SENSITIVE.iter().map(|path| path.to_string()).collect();
    if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty() && home != "/root") {
        hidden.insert(0, home.to_string_lossy().into_owned());
    }
    hidden.retain(|path| !visible(Path::new(path), spec, &mounts));

    let landlock = match spec.security.landlock {
        LandlockMode::Off => "off: only the mounts limit file access".to_string(),
        mode => match crate::security::landlock_abi() {
            0 if mode == LandlockMode::Required => "required, but this kernel has none".to_string(),
            0 => {
                warnings.push("this kernel has no Landlock: only the mounts limit file access".into());
                "not available on this kernel".to_string()
            }
            abi => format!("on (ABI {abi}): file access limited to the grants, a second wall behind the mounts"),
        },
    };

    Explanation {
        command: spec.process.command.clone(),
        runs_as: runs_as(spec, caller),
        namespaces: namespaces(spec),
        files,
        hidden,
        network: network(spec),
        ipc: ipc(spec),
        capabilities: spec.security.capabilities(),
        no_new_privs: true,
        seccomp: seccomp(spec),
        landlock,
        limits: limits(spec),
        cannot_start,
        warnings,
    }
}

fn runs_as(spec: &Spec, caller: &Caller) -> String {
    let uid = spec.identity.uid.unwrap_or(caller.uid);
    let gid = spec.identity.gid.unwrap_or(caller.gid);
    let mut text = format!("uid {uid}, gid {gid} inside the sandbox");
    if spec.namespaces.user == NsSource::Shared {
        text.push_str(", the same ids on the host");
    } else if spec.identity.uid_map.is_empty() {
        text.push_str(&format!(", which is uid {} on the host", caller.uid));
    } else {
        let maps: Vec<String> = spec.identity.uid_map.iter().map(ToString::to_string).collect();
        text.push_str(&format!(", with the uid ranges {} mapped", maps.join(", ")));
    }
    text
}

fn namespaces(spec: &Spec) -> Vec<(String, String)> {
    let describe = |source: &NsSource| match source {
        NsSource::New => "new".to_string(),
        NsSource::Shared => "shared with the host".to_string(),
        NsSource::Path(path) => format!("joined: {}", path.display()),
        NsSource::Sandbox(name) => format!("sandbox {name}'s"),
    };
    let ns = &spec.namespaces;
    let mut list = vec![
        ("user".to_string(), describe(&ns.user)),
        ("pid".to_string(), describe(&ns.pid)),
        ("mount".to_string(), "new".to_string()),
        ("ipc".to_string(), describe(&ns.ipc)),
        ("uts".to_string(), describe(&ns.uts)),
        ("cgroup".to_string(), describe(&ns.cgroup)),
    ];
    let net = match &spec.network.mode {
        NetMode::Host => "shared with the host".to_string(),
        NetMode::Netns(path) => format!("joined: {}", path.display()),
        NetMode::Sandbox(name) => format!("sandbox {name}'s"),
        _ => "new".to_string(),
    };
    list.push(("network".to_string(), net));
    if ns.time != NsSource::Shared {
        list.push(("time".to_string(), describe(&ns.time)));
    }
    list
}

fn root(spec: &Spec) -> FileAccess {
    match &spec.filesystem.rootfs {
        Some(dir) => FileAccess { path: "/".into(), access: "read-write".into(), what: format!("the directory {}", dir.display()) },
        None => FileAccess { path: "/".into(), access: "read-only".into(), what: "an empty root that holds only the grants".into() },
    }
}

fn file_access(mount: &Mount) -> Option<FileAccess> {
    let entry = |path: &Path, access: &str, what: String| FileAccess { path: path.display().to_string(), access: access.into(), what };
    Some(match mount {
        // A grant of the default view that this host lacks is skipped when the sandbox is built.
        Mount::Bind { src, optional: true, .. } if !src.exists() => return None,
        Mount::Bind { src, dest, mode, .. } => {
            let access = match mode {
                BindMode::ReadOnly => "read-only",
                BindMode::ReadWrite => "read-write",
                BindMode::Device => "read-write-devices",
            };
            entry(dest, access, format!("the host's {}", src.display()))
        }
        Mount::Tmpfs { dest, size, .. } => {
            let size = size.map(|size| format!(" of at most {}", format_size(size))).unwrap_or_default();
            entry(dest, "private", format!("an empty, writable tmpfs{size}; its files vanish at exit"))
        }
        Mount::Dir { dest, .. } => entry(dest, "read-only", "an empty directory".into()),
        Mount::Symlink { target, link } => entry(link, "link", format!("a symbolic link to {target}")),
        Mount::File { src: FileSource::Path(src), dest, .. } => entry(dest, "copy", format!("a copy of the host's {}", src.display())),
        Mount::File { src: FileSource::Stdin, dest, .. } => entry(dest, "copy", "a copy of airlock's standard input".into()),
        Mount::RemountRo { dest } => entry(dest, "read-only", "made read-only".into()),
        Mount::Proc { dest } => entry(dest, "special", "the sandbox's own processes; kernel secrets masked".into()),
        Mount::Dev { dest } => entry(dest, "special", "null, zero, full, random, urandom, tty, its own pts and shm; no other device".into()),
        Mount::Mqueue { dest } => entry(dest, "special", "the sandbox's POSIX message queues".into()),
        Mount::Sys { dest } => entry(dest, "read-only", "the kernel's sysfs".into()),
        Mount::Overlay { dest, lower, upper, .. } => {
            let lower: Vec<String> = lower.iter().map(|path| path.display().to_string()).collect();
            match upper {
                Some(upper) => entry(dest, "read-write", format!("{} with changes kept in the host's {}", lower.join(" over "), upper.display())),
                None => entry(dest, "private", format!("{} with changes that vanish at exit", lower.join(" over "))),
            }
        }
    })
}

/// Returns whether any grant shows the host's `path` in the sandbox (a grant of a parent or of the
/// path itself, from the same place on the host).
fn visible(path: &Path, spec: &Spec, mounts: &[Mount]) -> bool {
    if spec.filesystem.rootfs.is_some() {
        return true;
    }
    mounts.iter().any(|mount| match mount {
        Mount::Bind { src, optional, .. } if *optional && !src.exists() => false,
        Mount::Bind { src, .. } => path.starts_with(src) || src.starts_with(path),
        Mount::Overlay { lower, .. } => lower.iter().any(|lower| path.starts_with(lower)),
        // A new procfs and sysfs are the sandbox's own, with /proc/kcore masked.
        Mount::Sys { .. } => path.starts_with("/sys"),
        _ => false,
    })
}

fn network(spec: &Spec) -> NetworkAccess {
    let network = &spec.network;
    let reaches = match &network.mode {
        NetMode::None => "nothing: it has only its own loopback".to_string(),
        NetMode::Host => "everything the host reaches, the host's own services included: it shares the host's network".to_string(),
        NetMode::Bridge(name) => format!(
            "the other sandboxes on network {name}, the host, and through NAT whatever the host reaches, unless {name} is internal"
        ),
        NetMode::User => "whatever you can reach, through pasta (TCP, UDP, ping); not the host's loopback".to_string(),
        NetMode::Netns(path) => format!("whatever the network namespace {} reaches", path.display()),
        NetMode::Sandbox(name) => format!("whatever sandbox {name} reaches: it shares that sandbox's network"),
    };
    let reaches = if network.allow_egress.is_empty() || network.mode == NetMode::None {
        reaches
    } else {
        let egress: Vec<String> = network.allow_egress.iter().map(ToString::to_string).collect();
        format!("only {} (and DNS to its resolvers); within: {reaches}", egress.join(", "))
    };
    NetworkAccess {
        mode: network.mode.to_string(),
        reaches,
        listens: network
            .publish
            .iter()
            .map(|port| {
                let address = port.host_address.map(|address| address.to_string()).unwrap_or_else(|| "every host address".into());
                format!("host port {}/{} on {address}, to the sandbox's port {}", port.host_port, port.protocol, port.port)
            })
            .collect(),
        egress: network.allow_egress.iter().map(ToString::to_string).collect(),
        dns: network.dns.iter().map(ToString::to_string).collect(),
        addresses: network.ip.iter().map(ToString::to_string).collect(),
    }
}

fn ipc(spec: &Spec) -> Vec<String> {
    let mut list = Vec::new();
    list.push(match &spec.namespaces.ipc {
        NsSource::New => "System V IPC and /dev/shm of its own".to_string(),
        NsSource::Shared => "the host's System V IPC".to_string(),
        NsSource::Path(path) => format!("the System V IPC of {}", path.display()),
        NsSource::Sandbox(name) => format!("sandbox {name}'s System V IPC and /dev/shm"),
    });
    for channel in &spec.ipc.sockets {
        list.push(format!("the unix socket {} at {}", channel.src.display(), channel.dest.display()));
    }
    for channel in &spec.ipc.fifos {
        list.push(format!("the FIFO {} at {}", channel.src.display(), channel.dest.display()));
    }
    for name in &spec.ipc.shm {
        list.push(format!("the shared memory object {name} of the host's /dev/shm"));
    }
    if spec.network.mode == NetMode::None && spec.namespaces.ipc.is_new() && spec.ipc.sockets.is_empty() {
        list.push("the host's abstract unix sockets are out of reach: its network namespace is its own".into());
    }
    list
}

fn seccomp(spec: &Spec) -> Seccomp {
    match &spec.security.seccomp {
        SeccompMode::Default => Seccomp {
            mode: "default".into(),
            denies: crate::security::default_seccomp_denials(spec.security.allow_userns),
        },
        SeccompMode::Unconfined => Seccomp { mode: "unconfined".into(), denies: Vec::new() },
        SeccompMode::Profile(path) => Seccomp { mode: format!("the profile {}", path.display()), denies: Vec::new() },
    }
}

fn limits(spec: &Spec) -> Vec<String> {
    let limits = &spec.limits;
    let mut list = Vec::new();
    if let Some(memory) = limits.memory {
        list.push(format!("memory: {}", format_size(memory)));
    }
    if let Some(swap) = limits.memory_swap {
        list.push(format!("memory and swap: {}", format_size(swap)));
    }
    if let Some(pids) = limits.pids {
        list.push(format!("processes: {pids}"));
    }
    if let Some(cpus) = limits.cpus {
        list.push(format!("CPUs: {cpus}"));
    }
    if let Some(weight) = limits.cpu_weight {
        list.push(format!("CPU weight: {weight}"));
    }
    if let Some(cpuset) = &limits.cpuset {
        list.push(format!("CPU set: {cpuset}"));
    }
    if let Some(weight) = limits.io_weight {
        list.push(format!("I/O weight: {weight}"));
    }
    list.extend(limits.rlimits.iter().map(|rlimit| format!("rlimit {rlimit}")));
    if let Some(timeout) = limits.timeout {
        list.push(format!("time: {}, then SIGTERM", format_duration(timeout)));
    }
    list
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(problem) = &self.cannot_start {
            writeln!(f, "Cannot start here: {problem}\n")?;
        }
        if self.command.is_empty() {
            writeln!(f, "Runs: no command yet; give one after --")?;
        } else {
            writeln!(f, "Runs: {}", shell_words(&self.command))?;
        }
        writeln!(f, "As: {}", self.runs_as)?;
        let namespaces: Vec<String> = self.namespaces.iter().map(|(kind, source)| format!("{kind} {source}")).collect();
        writeln!(f, "Namespaces: {}", namespaces.join(", "))?;

        writeln!(f, "\nFiles, in the order the grants apply:")?;
        for file in &self.files {
            writeln!(f, "  {:<24} {:<19} {}", file.path, file.access, file.what)?;
        }
        writeln!(f, "  Everything else of the host is invisible.")?;
        if !self.hidden.is_empty() {
            writeln!(f, "  Not visible, for example: {}", self.hidden.join(", "))?;
        }
        writeln!(f, "  It may execute what it can read, except on the special file systems.")?;

        writeln!(f, "\nNetwork: {}", self.network.mode)?;
        writeln!(f, "  Reaches {}", self.network.reaches)?;
        if self.network.listens.is_empty() {
            writeln!(f, "  No port is published.")?;
        }
        for port in &self.network.listens {
            writeln!(f, "  Listens on {port}")?;
        }
        if !self.network.addresses.is_empty() {
            writeln!(f, "  Fixed address: {}", self.network.addresses.join(", "))?;
        }
        if !self.network.dns.is_empty() {
            writeln!(f, "  Resolvers: {}", self.network.dns.join(", "))?;
        }

        writeln!(f, "\nIPC:")?;
        for channel in &self.ipc {
            writeln!(f, "  {channel}")?;
        }

        writeln!(f, "\nPrivileges:")?;
        if self.capabilities.is_empty() {
            writeln!(f, "  Capabilities: none, also as uid 0 inside")?;
        } else {
            writeln!(f, "  Capabilities: {}", self.capabilities.join(", "))?;
        }
        writeln!(f, "  no_new_privs: set; setuid and file capabilities give nothing")?;
        match self.seccomp.mode.as_str() {
            "default" => writeln!(f, "  Seccomp: the default filter denies {}", self.seccomp.denies.join(", "))?,
            "unconfined" => writeln!(f, "  Seccomp: unconfined, no filter")?,
            mode => writeln!(f, "  Seccomp: {mode}")?,
        }
        writeln!(f, "  Landlock: {}", self.landlock)?;

        writeln!(f, "\nLimits:")?;
        if self.limits.is_empty() {
            writeln!(f, "  none beyond the host's own")?;
        }
        for limit in &self.limits {
            writeln!(f, "  {limit}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

/// Quotes the command as a person would type it.
fn shell_words(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|word| {
            if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect();
    quoted.join(" ")
}
