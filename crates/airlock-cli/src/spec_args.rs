//! The options that describe a sandbox, shared by every command that starts one, and their
//! translation into a [`Spec`].

use airlock::spec::{EgressRule, IdRange, NamespaceKind, NetMode, NsSource, PortMapping, Spec};
use clap::builder::TypedValueParser;
use clap::Args;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Start from this profile: a built-in name (`airlock profile ls`) or a TOML file
    /// (repeatable; later profiles and then the other options merge on top).
    #[arg(long, value_name = "NAME|PATH", help_heading = "Profiles")]
    pub profile: Vec<String>,

    /// Keep the caller's namespace of this kind instead of a new one (repeatable): net, ipc,
    /// uts, pid, cgroup, or user (root only; the payload then runs with real ids).
    #[arg(long, value_name = "NS", value_parser = clap::builder::PossibleValuesParser::new(["net", "ipc", "uts", "pid", "cgroup", "user"]).try_map(|text: String| parse_shareable(&text)), help_heading = "Namespaces")]
    pub share: Vec<NamespaceKind>,

    /// The IPC namespace: sandbox:NAME shares a running named sandbox's System V IPC and its
    /// /dev/shm.
    #[arg(long, value_name = "sandbox:NAME", value_parser = parse_sandbox_source, help_heading = "Namespaces")]
    pub ipc: Option<NsSource>,

    /// The UTS namespace (host name) of a running named sandbox: sandbox:NAME.
    #[arg(long, value_name = "sandbox:NAME", value_parser = parse_sandbox_source, help_heading = "Namespaces")]
    pub uts: Option<NsSource>,

    /// The PID namespace of a running named sandbox: sandbox:NAME.
    #[arg(long, value_name = "sandbox:NAME", value_parser = parse_sandbox_source, help_heading = "Namespaces")]
    pub pid: Option<NsSource>,

    /// Join an existing network namespace file, such as /run/netns/NAME (same as --net
    /// netns:PATH).
    #[arg(long, value_name = "PATH", help_heading = "Namespaces")]
    pub netns: Option<PathBuf>,

    /// Join an existing IPC namespace file, such as /proc/PID/ns/ipc.
    #[arg(long, value_name = "PATH", help_heading = "Namespaces")]
    pub ipcns: Option<PathBuf>,

    /// Join an existing user namespace file, such as /proc/PID/ns/user: the one that owns
    /// the namespaces joined with --netns or --ipcns, which an ordinary user must join too.
    #[arg(long, value_name = "PATH", help_heading = "Namespaces")]
    pub userns: Option<PathBuf>,

    /// Add a namespace that is not new by default: time.
    #[arg(long, value_name = "NS", value_parser = clap::builder::PossibleValuesParser::new(["time"]).try_map(|text: String| parse_unshareable(&text)), help_heading = "Namespaces")]
    pub unshare: Vec<NamespaceKind>,

    /// The payload's uid inside the sandbox (default: yours). 0 is root inside the user
    /// namespace, with no capabilities unless granted.
    #[arg(long, value_name = "N", help_heading = "Identity")]
    pub uid: Option<u32>,

    /// The payload's gid inside the sandbox (default: yours).
    #[arg(long, value_name = "N", help_heading = "Identity")]
    pub gid: Option<u32>,

    /// Map COUNT uids from INSIDE to OUTSIDE (repeatable). An ordinary user may map its own
    /// uid and the ranges /etc/subuid gives it (through newuidmap).
    #[arg(long, value_name = "INSIDE:OUTSIDE:COUNT", value_parser = parse_range, help_heading = "Identity")]
    pub map_users: Vec<IdRange>,

    /// Map COUNT gids from INSIDE to OUTSIDE (repeatable), from /etc/subgid for an ordinary user.
    #[arg(long, value_name = "INSIDE:OUTSIDE:COUNT", value_parser = parse_range, help_heading = "Identity")]
    pub map_groups: Vec<IdRange>,

    /// Set an environment variable for the payload (repeatable). The environment starts clean:
    /// PATH, HOME, USER, LOGNAME, TERM, LANG and LC_* only.
    #[arg(short, long, value_name = "KEY=VALUE", value_parser = parse_env, help_heading = "Process")]
    pub env: Vec<(String, String)>,

    /// Copy one of your environment variables to the payload (repeatable).
    #[arg(long, value_name = "KEY", help_heading = "Process")]
    pub env_keep: Vec<String>,

    /// The payload's working directory inside the sandbox (default: yours when the sandbox
    /// has it, else /).
    #[arg(long, value_name = "DIR", help_heading = "Process")]
    pub chdir: Option<PathBuf>,

    /// The sandbox's host name (default: airlock).
    #[arg(long, value_name = "NAME", help_heading = "Process")]
    pub hostname: Option<String>,

    /// Run the payload itself as PID 1, without airlock's init. The payload must then reap
    /// its own orphans, and signals it has no handler for are ignored.
    #[arg(long, help_heading = "Process")]
    pub as_pid_1: bool,

    /// Give the payload a terminal of its own, relayed to yours in raw mode.
    #[arg(short, long, help_heading = "Process")]
    pub tty: bool,

    #[command(flatten)]
    pub grants: crate::grants::GrantArgs,

    /// Grant the payload a capability (repeatable), such as NET_BIND_SERVICE. By default it has
    /// none, also as uid 0 inside.
    #[arg(long, value_name = "CAP", value_parser = parse_capability, help_heading = "Security")]
    pub cap_add: Vec<String>,

    /// Take a capability back that --cap-add or a profile granted (repeatable).
    #[arg(long, value_name = "CAP", value_parser = parse_capability, help_heading = "Security")]
    pub cap_drop: Vec<String>,

    /// The seccomp filter: default (denies module loading, kexec, bpf, perf events, keyrings,
    /// io_uring, mounts, new user namespaces, terminal injection, 32-bit and x32 calls, ...),
    /// unconfined, or the path of an OCI/Docker JSON profile.
    #[arg(long, value_name = "MODE|FILE", value_parser = parse_seccomp, help_heading = "Security")]
    pub seccomp: Option<airlock::spec::SeccompMode>,

    /// Let the payload create user namespaces, which the default seccomp filter refuses.
    #[arg(long, help_heading = "Security")]
    pub allow_userns: bool,

    /// Landlock: auto (use it when the kernel has it, the default), required (refuse to start
    /// without it) or off.
    #[arg(long, value_name = "MODE", value_parser = clap::builder::PossibleValuesParser::new(["auto", "required", "off"]).try_map(|text: String| parse_landlock(&text)), help_heading = "Security")]
    pub landlock: Option<airlock::spec::LandlockMode>,

    /// Maximum memory, such as 512M or 2G; past it the kernel's OOM killer ends the payload.
    #[arg(long, value_name = "SIZE", value_parser = airlock::spec::units::parse_size, help_heading = "Limits")]
    pub memory: Option<u64>,

    /// Maximum memory plus swap, such as 1G (at least --memory).
    #[arg(long, value_name = "SIZE", value_parser = airlock::spec::units::parse_size, help_heading = "Limits")]
    pub memory_swap: Option<u64>,

    /// Maximum number of processes and threads.
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub pids: Option<u64>,

    /// CPU time per wall-clock time, as a number of CPUs, such as 0.5.
    #[arg(long, value_name = "N.N", help_heading = "Limits")]
    pub cpus: Option<airlock::spec::Cpus>,

    /// Relative CPU weight, 1 to 10000 (100 is every cgroup's default).
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub cpu_weight: Option<u64>,

    /// The CPUs the payload may run on, such as 0-1,3.
    #[arg(long, value_name = "LIST", help_heading = "Limits")]
    pub cpuset: Option<String>,

    /// Relative I/O weight, 1 to 10000.
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub io_weight: Option<u64>,

    /// Set a resource limit (repeatable): nofile, nproc, fsize, core, as, cpu, stack, memlock,
    /// data, rss, locks, msgqueue, nice, rtprio, rttime, sigpending. Values are numbers,
    /// "unlimited", or sizes such as 64M for byte limits; HARD defaults to SOFT.
    #[arg(long, value_name = "NAME=SOFT[:HARD]", value_parser = parse_rlimit, help_heading = "Limits")]
    pub rlimit: Vec<airlock::spec::Rlimit>,

    /// Send SIGTERM to the payload after this time, such as 30s or 5m.
    #[arg(long, value_name = "DURATION", value_parser = airlock::spec::units::parse_duration, help_heading = "Limits")]
    pub timeout: Option<std::time::Duration>,

    /// After --timeout's SIGTERM, kill everything left after this grace period (default 10s).
    #[arg(long, value_name = "DURATION", value_parser = airlock::spec::units::parse_duration, help_heading = "Limits")]
    pub kill_after: Option<std::time::Duration>,

    /// Create the sandbox's cgroup below this cgroup, relative to the root of each cgroup
    /// hierarchy (default: airlock's own cgroup).
    #[arg(long, value_name = "PATH", help_heading = "Limits")]
    pub cgroup_parent: Option<PathBuf>,

    /// The sandbox's network: none (only lo, the default), host (yours), bridge[:NETWORK]
    /// (an address on a bridge network with NAT; root only), user (pasta's user-mode
    /// networking), netns:PATH (an existing network namespace) or sandbox:NAME.
    #[arg(long, value_name = "MODE", value_parser = NetMode::from_str, help_heading = "Network")]
    pub net: Option<NetMode>,

    /// Forward a host port to the sandbox (repeatable): [HOSTIP:]HOSTPORT:PORT[/tcp|/udp],
    /// TCP by default; with --net bridge or user.
    #[arg(long, short = 'p', value_name = "PORTS", value_parser = PortMapping::from_str, help_heading = "Network")]
    pub publish: Vec<PortMapping>,

    /// Allow outbound traffic to this destination only (repeatable):
    /// CIDR[:PORT[-PORT]][/tcp|/udp], an IPv6 network in brackets when a port follows. All
    /// other outbound traffic is dropped, except DNS to the sandbox's resolvers.
    #[arg(long, value_name = "DEST", value_parser = EgressRule::from_str, help_heading = "Network")]
    pub allow_egress: Vec<EgressRule>,

    /// Use this resolver in the sandbox's /etc/resolv.conf (repeatable).
    #[arg(long, value_name = "IP", help_heading = "Network")]
    pub dns: Vec<std::net::IpAddr>,

    /// A fixed address for the sandbox on its bridge network (one IPv4, one IPv6).
    #[arg(long, value_name = "ADDR", help_heading = "Network")]
    pub ip: Vec<std::net::IpAddr>,

    /// Expose a host unix socket, or a directory where sockets are made, at DEST (repeatable);
    /// servers and clients may be on either side.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "IPC")]
    pub socket: Vec<PathBuf>,

    /// Expose a named pipe at DEST, creating it on the host when missing (repeatable).
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "IPC")]
    pub fifo: Vec<PathBuf>,

    /// Expose one POSIX shared-memory object of the host's /dev/shm, created when missing, at
    /// the same name in the sandbox's /dev/shm (repeatable).
    #[arg(long, value_name = "NAME", help_heading = "IPC")]
    pub shm: Vec<String>,
}

impl SpecArgs {
    /// Builds the spec these options describe: the profiles merged in order, then the
    /// options on top of them (lists add up, single values replace the profiles'), running
    /// `command`, or the profiles' command when it is empty. `matches` gives the order of
    /// the filesystem grants.
    pub fn to_spec(&self, command: &[String], matches: &clap::ArgMatches) -> Result<Spec, airlock::Error> {
        let mut spec = if self.profile.is_empty() {
            Spec::default()
        } else {
            airlock::spec::profile::load(&self.profile, &airlock::spec::profile::Variables::from_caller())
                .map_err(|error| crate::usage(error.to_string()))?
        };
        if !command.is_empty() {
            spec.process.command = command.to_vec();
        }
        self.apply(&mut spec, matches).map_err(crate::usage)?;
        Ok(spec)
    }

    fn apply(&self, spec: &mut Spec, matches: &clap::ArgMatches) -> Result<(), String> {
        for kind in &self.share {
            if let Some(source) = spec.namespaces.source_mut(*kind) {
                *source = NsSource::Shared;
            } else if *kind == NamespaceKind::Net {
                spec.network.mode = NetMode::Host;
            }
        }
        for kind in &self.unshare {
            if let Some(source) = spec.namespaces.source_mut(*kind) {
                *source = NsSource::New;
            }
        }
        replace(&mut spec.identity.uid, self.uid);
        replace(&mut spec.identity.gid, self.gid);
        spec.identity.uid_map.extend(self.map_users.iter().cloned());
        spec.identity.gid_map.extend(self.map_groups.iter().cloned());

        spec.process.env.extend(self.env.iter().cloned());
        spec.process.env_keep.extend(self.env_keep.iter().cloned());
        replace(&mut spec.process.chdir, self.chdir.clone());
        replace(&mut spec.process.hostname, self.hostname.clone());
        spec.process.as_pid_1 |= self.as_pid_1;
        spec.process.tty |= self.tty;
        if let Some(mode) = &self.net {
            spec.network.mode = mode.clone();
        }
        spec.network.publish.extend(self.publish.iter().cloned());
        spec.network.allow_egress.extend(self.allow_egress.iter().cloned());
        spec.network.dns.extend(self.dns.iter().cloned());
        spec.network.ip.extend(self.ip.iter().cloned());
        for (kind, source) in [(NamespaceKind::Ipc, &self.ipc), (NamespaceKind::Uts, &self.uts), (NamespaceKind::Pid, &self.pid)] {
            if let (Some(source), Some(slot)) = (source, spec.namespaces.source_mut(kind)) {
                *slot = source.clone();
            }
        }
        if let Some(path) = &self.userns {
            spec.namespaces.user = NsSource::Path(std::path::absolute(path).unwrap_or_else(|_| path.clone()));
        }
        if let Some(path) = &self.ipcns {
            spec.namespaces.ipc = NsSource::Path(std::path::absolute(path).unwrap_or_else(|_| path.clone()));
        }
        if let Some(path) = &self.netns {
            spec.network.mode = NetMode::Netns(std::path::absolute(path).unwrap_or_else(|_| path.clone()));
        }
        let channel = |pair: &[PathBuf]| airlock::spec::Channel {
            src: std::path::absolute(&pair[0]).unwrap_or_else(|_| pair[0].clone()),
            dest: pair[1].clone(),
        };
        spec.ipc.sockets.extend(self.socket.chunks(2).map(channel));
        spec.ipc.fifos.extend(self.fifo.chunks(2).map(channel));
        spec.ipc.shm.extend(self.shm.iter().cloned());
        spec.security.cap_add.extend(self.cap_add.iter().cloned());
        spec.security.cap_drop.extend(self.cap_drop.iter().cloned());
        if let Some(mode) = &self.seccomp {
            spec.security.seccomp = mode.clone();
        }
        spec.security.allow_userns |= self.allow_userns;
        if let Some(mode) = self.landlock {
            spec.security.landlock = mode;
        }
        let limits = &mut spec.limits;
        replace(&mut limits.memory, self.memory);
        replace(&mut limits.memory_swap, self.memory_swap);
        replace(&mut limits.pids, self.pids);
        replace(&mut limits.cpus, self.cpus);
        replace(&mut limits.cpu_weight, self.cpu_weight);
        replace(&mut limits.cpuset, self.cpuset.clone());
        replace(&mut limits.io_weight, self.io_weight);
        limits.rlimits.extend(self.rlimit.iter().cloned());
        limits.keep_last_rlimits();
        replace(&mut limits.timeout, self.timeout);
        replace(&mut limits.kill_after, self.kill_after);
        replace(&mut limits.cgroup_parent, self.cgroup_parent.clone());
        replace(&mut spec.filesystem.rootfs, self.grants.rootfs.clone().map(|dir| std::path::absolute(&dir).unwrap_or(dir)));
        spec.filesystem.default_view |= self.grants.default_view;
        spec.filesystem.mounts.extend(crate::grants::mounts(matches)?);
        Ok(())
    }
}

/// Replaces a profile's value with the command line's, when the command line gives one.
fn replace<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

const SHAREABLE: [NamespaceKind; 6] = [
    NamespaceKind::Net,
    NamespaceKind::Ipc,
    NamespaceKind::Uts,
    NamespaceKind::Pid,
    NamespaceKind::Cgroup,
    NamespaceKind::User,
];

fn parse_shareable(text: &str) -> Result<NamespaceKind, String> {
    NamespaceKind::parse(text)
        .filter(|kind| SHAREABLE.contains(kind))
        .ok_or_else(|| "expected one of net, ipc, uts, pid, cgroup, user".to_string())
}

fn parse_unshareable(text: &str) -> Result<NamespaceKind, String> {
    match NamespaceKind::parse(text) {
        Some(NamespaceKind::Time) => Ok(NamespaceKind::Time),
        Some(_) => Err("every other namespace is new by default; only time can be added".to_string()),
        None => Err("expected time".to_string()),
    }
}

fn parse_range(text: &str) -> Result<IdRange, String> {
    text.parse::<IdRange>().map_err(|error| match error {
        airlock::spec::SpecError::Invalid { why, .. } => why,
        other => other.to_string(),
    })
}

pub fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some(("", _)) => Err("the variable name before '=' is empty".to_string()),
        Some((key, value)) => Ok((key.to_string(), value.to_string())),
        None => Err("expected KEY=VALUE".to_string()),
    }
}

fn parse_sandbox_source(text: &str) -> Result<NsSource, String> {
    match text.strip_prefix("sandbox:") {
        Some(name) if !name.is_empty() => Ok(NsSource::Sandbox(name.to_string())),
        _ => Err("expected sandbox:NAME".to_string()),
    }
}

fn parse_capability(text: &str) -> Result<String, String> {
    airlock::spec::parse_capability(text).map_err(|error| match error {
        airlock::spec::SpecError::Invalid { why, .. } => why,
        other => other.to_string(),
    })
}

fn parse_seccomp(text: &str) -> Result<airlock::spec::SeccompMode, String> {
    use airlock::spec::SeccompMode;
    Ok(match text {
        "default" => SeccompMode::Default,
        "unconfined" => SeccompMode::Unconfined,
        path => SeccompMode::Profile(std::path::absolute(path).map_err(|error| error.to_string())?),
    })
}

fn parse_landlock(text: &str) -> Result<airlock::spec::LandlockMode, String> {
    use airlock::spec::LandlockMode;
    match text {
        "auto" => Ok(LandlockMode::Auto),
        "required" => Ok(LandlockMode::Required),
        "off" => Ok(LandlockMode::Off),
        _ => Err("expected auto, required or off".to_string()),
    }
}

fn parse_rlimit(text: &str) -> Result<airlock::spec::Rlimit, String> {
    text.parse::<airlock::spec::Rlimit>().map_err(|error| match error {
        airlock::spec::SpecError::Invalid { why, .. } => why,
        other => other.to_string(),
    })
}

/// Parses a namespace name as `--ns` takes it.
pub fn parse_namespace(text: &str) -> Result<NamespaceKind, String> {
    NamespaceKind::parse(text).ok_or_else(|| "expected one of net, ipc, uts, pid, mnt, cgroup, user, time".to_string())
}

/// Parses a signal by name (`TERM`, `SIGTERM`) or number.
pub fn parse_signal(text: &str) -> Result<i32, String> {
    if let Ok(number) = text.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(number).map(|s| s as i32).map_err(|_| format!("no signal numbered {number}"));
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse::<nix::sys::signal::Signal>().map(|s| s as i32).map_err(|_| format!("unknown signal {text:?}; use a name such as TERM or a number"))
}
