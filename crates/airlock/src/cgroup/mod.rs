//! cgroup limits: memory, processes, CPU, cpuset and I/O, on cgroup v2 where the host has
//! the controller there, else on cgroup v1.
//!
//! A sandbox gets one cgroup per hierarchy it needs, named `airlock-PID-START` after its
//! supervisor's PID and start time, below airlock's own cgroup or `--cgroup-parent`. Every
//! check happens before the first directory is made, so a limit that cannot be enforced
//! leaves nothing behind. The supervisor removes the cgroups when the sandbox ends; if it
//! was killed, the next airlock that uses the same parent (or `airlock gc`) removes cgroups
//! whose supervisor is gone.

mod hierarchy;
mod settings;

pub(crate) use hierarchy::Controller;
use hierarchy::Hierarchy;
use serde::{Deserialize, Serialize};
use settings::Setting;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::named::process::ProcessRef;
use crate::spec::Limits;
use crate::spec::units::format_size;

/// A limit that cannot be put in place.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot enforce {option}: this host has no cgroup {controller} controller (neither cgroup v2 nor v1 offers it)")]
    NoController { option: &'static str, controller: &'static str },

    #[error("cannot enforce {option}: {reason}")]
    Unsupported { option: &'static str, reason: String },

    #[error(
        "cannot create a cgroup in {}: it is not writable by you; run airlock in a cgroup delegated to you, for example \
         `systemd-run --user --scope -p Delegate=yes airlock run ...`, or choose one with --cgroup-parent",
        .parent.display()
    )]
    NotDelegated { parent: PathBuf },

    #[error("cannot use {} as the cgroup parent: {reason}", .parent.display())]
    Parent { parent: PathBuf, reason: String },

    #[error("cannot {what} {}: {reason}", .path.display())]
    Io { what: &'static str, path: PathBuf, reason: String },
}

impl CgroupError {
    fn io(what: &'static str, path: &Path, error: io::Error) -> CgroupError {
        CgroupError::Io {
            what,
            path: path.to_path_buf(),
            reason: crate::error::describe(&error),
        }
    }
}

/// The limit a payload ran into, as the cgroup counted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "limit")]
pub enum LimitHit {
    /// The memory limit: the kernel's OOM killer killed a process.
    Memory { bytes: u64 },
    /// The process limit refused a fork.
    Pids { max: u64 },
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitHit::Memory { bytes } => write!(f, "the memory limit ({}) was reached and the kernel killed a process", format_size(*bytes)),
            LimitHit::Pids { max } => write!(f, "the process limit ({max}) refused to start more processes"),
        }
    }
}

/// What the sandbox's cgroups have counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Usage {
    pub memory_bytes: Option<u64>,
    pub memory_peak_bytes: Option<u64>,
    pub cpu_usec: Option<u64>,
    pub processes: Option<u64>,
}

/// One cgroup of the sandbox, in one hierarchy.
#[derive(Debug)]
struct Group {
    dir: PathBuf,
    v2: bool,
    controllers: Vec<Controller>,
    /// airlock's own cgroup in the same hierarchy.
    own: PathBuf,
}

/// A group before it exists: where it goes and what to write.
struct Planned {
    hierarchy: Hierarchy,
    parent: PathBuf,
    controllers: Vec<Controller>,
    settings: Vec<Setting>,
    /// v2 controllers to enable in the parent's `cgroup.subtree_control`.
    enable: Vec<&'static str>,
}

/// The cgroups a sandbox's limits need, checked but not created yet.
pub(crate) struct Plan {
    groups: Vec<Planned>,
    limits: Limits,
}

impl Plan {
    /// Tells whether every group is on cgroup v2, where `clone3` can start the sandbox inside
    /// its cgroup. The group must then exist before the clone.
    pub(crate) fn all_v2(&self) -> bool {
        self.groups.iter().all(|planned| planned.hierarchy.is_v2())
    }

    /// Creates the groups, named after this supervisor (see [`group_name`]).
    pub(crate) fn create(self) -> Result<Cgroups, CgroupError> {
        self.create_named(&group_name())
    }

    fn create_named(self, name: &str) -> Result<Cgroups, CgroupError> {
        for planned in &self.groups {
            collect_garbage(&planned.parent);
        }
        let mut cgroups = Cgroups { groups: Vec::new(), limits: self.limits };
        for planned in self.groups {
            // Dropping `cgroups` on an error removes the groups made so far.
            cgroups.make(planned, name)?;
        }
        Ok(cgroups)
    }
}

/// The sandbox's cgroups; removed on drop.
#[derive(Debug)]
pub(crate) struct Cgroups {
    groups: Vec<Group>,
    limits: Limits,
}

impl Cgroups {
    /// Plans the cgroups `limits` needs, or returns `None` when no limit needs one. Checks
    /// everything that can be checked without creating anything.
    pub(crate) fn plan(limits: &Limits) -> Result<Option<Plan>, CgroupError> {
        if !limits.needs_cgroup() {
            return Ok(None);
        }
        let groups = plan(&own_hierarchies()?, limits)?;
        Ok(Some(Plan { groups, limits: limits.clone() }))
    }

    #[cfg(test)]
    fn create_in(hierarchies: &[Hierarchy], limits: &Limits, name: &str) -> Result<Cgroups, CgroupError> {
        Plan { groups: plan(hierarchies, limits)?, limits: limits.clone() }.create_named(name)
    }

    fn make(&mut self, planned: Planned, name: &str) -> Result<(), CgroupError> {
        for controller in &planned.enable {
            let control = planned.parent.join("cgroup.subtree_control");
            std::fs::write(&control, format!("+{controller}")).map_err(|error| {
                let reason = if error.raw_os_error() == Some(libc::EBUSY) {
                    "it holds processes, and cgroup v2 enables controllers only for cgroups without any; choose an empty one with --cgroup-parent".to_string()
                } else {
                    format!("cannot enable the {controller} controller: {}", crate::error::describe(&error))
                };
                CgroupError::Parent { parent: planned.parent.clone(), reason }
            })?;
        }
        let dir = planned.parent.join(name);
        std::fs::create_dir(&dir).map_err(|e| CgroupError::io("create the cgroup", &dir, e))?;
        let own = planned.hierarchy.mount.join(&planned.hierarchy.own);
        self.groups.push(Group { dir: dir.clone(), v2: planned.hierarchy.is_v2(), controllers: planned.controllers.clone(), own });

        if !planned.hierarchy.is_v2() && planned.controllers.contains(&Controller::Cpuset) {
            // A v1 cpuset cgroup takes no process until it has CPUs and memory nodes.
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let inherited = std::fs::read_to_string(planned.parent.join(file)).unwrap_or_default();
                write_setting(&dir, file, inherited.trim())?;
            }
        }
        for setting in &planned.settings {
            write_setting(&dir, setting.file, &setting.value)?;
        }
        tracing::debug!(dir = %dir.display(), "created cgroup");
        Ok(())
    }

    /// A descriptor of the v2 cgroup, for `clone3` to start the sandbox inside it.
    pub(crate) fn v2_directory(&self) -> Option<OwnedFd> {
        let group = self.groups.iter().find(|group| group.v2)?;
        rustix::fs::open(&group.dir, rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()).ok()
    }

    /// Whether some group still needs the sandbox moved in after the clone: every v1 group,
    /// and the v2 one unless `clone3` started the sandbox inside it (`in_v2`).
    pub(crate) fn needs_attach(&self, in_v2: bool) -> bool {
        self.groups.iter().any(|group| !group.v2 || !in_v2)
    }

    /// Moves `pid` into the v2 group when `clone3` did not start it there (`in_v2` false).
    /// The v1 groups are joined by the sandbox itself, through [`Cgroups::v1_tasks`].
    pub(crate) fn attach_v2(&self, pid: i32, in_v2: bool) -> Result<(), CgroupError> {
        for group in self.groups.iter().filter(|group| group.v2 && !in_v2) {
            write_setting(&group.dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Opens the `tasks` file of every v1 group, for the sandbox to move itself in.
    ///
    /// A process that moves another one into a cgroup takes a global lock that first waits
    /// for an RCU grace period (4.7 ms median, measured on a machine with two CPUs). A
    /// thread that writes `0` to `tasks` moves only itself and skips that lock. The kernel
    /// checks the permission of the process that opened the file, so the supervisor opens it.
    pub(crate) fn v1_tasks(&self) -> Result<Vec<(PathBuf, OwnedFd)>, CgroupError> {
        let mut files = Vec::new();
        for group in self.groups.iter().filter(|group| !group.v2) {
            let path = group.dir.join("tasks");
            let file = open_for_writing(&path).map_err(|e| CgroupError::io("open", &path, e))?;
            files.push((path, file));
        }
        Ok(files)
    }

    /// Opens the `tasks` file of airlock's own cgroup in each group's hierarchy, for init
    /// to move back to once the rest of the sandbox has ended, so that the groups can be
    /// removed before init's exit. Init ends there after airlock has returned, as it does in
    /// a run without limits; a `--cgroup-parent` is never left busy. Empty when a group is
    /// on v2 (a process cannot move itself there that cheaply) or a file cannot be opened:
    /// the supervisor then waits for init's exit instead.
    pub(crate) fn v1_own_tasks(&self) -> Vec<(PathBuf, OwnedFd)> {
        if self.groups.iter().any(|group| group.v2) {
            return Vec::new();
        }
        let mut files = Vec::new();
        for group in &self.groups {
            let path = group.own.join("tasks");
            match open_for_writing(&path) {
                Ok(file) => files.push((path, file)),
                Err(error) => {
                    tracing::debug!(path = %path.display(), %error, "init cannot leave the cgroups; waiting for its exit instead");
                    return Vec::new();
                }
            }
        }
        files
    }

    /// Tells whether the process `pid` (in the host's PID namespace) is the only one in every
    /// group.
    pub(crate) fn hold_only(&self, pid: i32) -> bool {
        self.groups.iter().all(|group| {
            let Ok(procs) = std::fs::read_to_string(group.dir.join("cgroup.procs")) else {
                return false;
            };
            let mut listed = procs.split_whitespace();
            listed.next() == Some(pid.to_string().as_str()) && listed.next().is_none()
        })
    }

    /// Removes the groups if no process is left in any; returns whether it did.
    pub(crate) fn remove_if_empty(&mut self) -> bool {
        let removed = self.groups.iter().rev().take_while(|group| std::fs::remove_dir(&group.dir).is_ok()).count();
        let left = self.groups.len() - removed;
        self.groups.truncate(left);
        left == 0
    }

    /// The limit the payload ran into, if the cgroups counted one.
    pub(crate) fn limit_hit(&self) -> Option<LimitHit> {
        for group in &self.groups {
            if group.controllers.contains(&Controller::Memory) {
                let (file, key) = if group.v2 { ("memory.events", "oom_kill") } else { ("memory.oom_control", "oom_kill") };
                if counter(&group.dir.join(file), key).unwrap_or(0) > 0 {
                    return Some(LimitHit::Memory { bytes: self.limits.memory.unwrap_or(0) });
                }
            }
            if group.controllers.contains(&Controller::Pids) && counter(&group.dir.join("pids.events"), "max").unwrap_or(0) > 0 {
                return Some(LimitHit::Pids { max: self.limits.pids.unwrap_or(0) });
            }
        }
        None
    }

    /// What the cgroups have counted so far.
    pub(crate) fn usage(&self) -> Usage {
        usage_of(&self.paths())
    }

    /// The cgroup directories, for reports.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.groups.iter().map(|group| group.dir.clone()).collect()
    }

    /// Kills every process left in the cgroups and removes them.
    pub(crate) fn remove(&mut self) {
        for group in self.groups.drain(..).rev() {
            remove_group(&group.dir);
        }
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        self.remove();
    }
}

/// What the cgroups at `paths` have counted so far, from whichever of the v1 and v2 files
/// each has.
pub(crate) fn usage_of(paths: &[PathBuf]) -> Usage {
    let mut usage = Usage::default();
    for dir in paths {
        let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok().and_then(|text| text.trim().parse::<u64>().ok());
        usage.memory_bytes = usage.memory_bytes.or_else(|| read("memory.current")).or_else(|| read("memory.usage_in_bytes"));
        usage.memory_peak_bytes = usage.memory_peak_bytes.or_else(|| read("memory.peak")).or_else(|| read("memory.max_usage_in_bytes"));
        usage.processes = usage.processes.or_else(|| read("pids.current"));
        usage.cpu_usec = usage
            .cpu_usec
            .or_else(|| counter(&dir.join("cpu.stat"), "usage_usec"))
            .or_else(|| read("cpuacct.usage").map(|nanoseconds| nanoseconds / 1000));
    }
    usage
}

/// Decides where each controller's group goes, and checks it can be made there.
fn plan(hierarchies: &[Hierarchy], limits: &Limits) -> Result<Vec<Planned>, CgroupError> {
    let mut plans: Vec<Planned> = Vec::new();
    for controller in settings::controllers(limits) {
        let option = option_of(controller, limits);
        let (hierarchy, parent, v2) = locate(hierarchies, controller, limits)
            .ok_or(CgroupError::NoController { option, controller: controller.v2_name() })?;

        let settings = if v2 {
            settings::v2(controller, limits)
        } else {
            let io_file = if controller == Controller::Io {
                Some(
                    ["blkio.weight", "blkio.bfq.weight"]
                        .into_iter()
                        .find(|file| parent.join(file).exists())
                        .ok_or(CgroupError::Unsupported { option, reason: "this host's blkio controller has no weight (it needs the BFQ or CFQ I/O scheduler)".into() })?,
                )
            } else {
                None
            };
            settings::v1(controller, limits, io_file)
        };
        if !v2 && controller == Controller::Cpuset {
            // The new cgroup inherits these, and takes no process while either is empty.
            for (file, what) in [("cpuset.cpus", "CPUs"), ("cpuset.mems", "memory nodes")] {
                let value = std::fs::read_to_string(parent.join(file)).unwrap_or_default();
                if value.trim().is_empty() {
                    let reason = format!("its {file} is empty, so no process can join a cgroup below it; give it {what}, as its own parent has");
                    return Err(CgroupError::Parent { parent, reason });
                }
            }
        }
        for setting in &settings {
            if !v2 && !parent.join(setting.file).exists() && setting.file.starts_with("memory.memsw") {
                return Err(CgroupError::Unsupported { option: "--memory-swap", reason: "swap accounting is off on this host (boot with swapaccount=1)".into() });
            }
        }

        match plans.iter_mut().find(|existing| existing.parent == parent) {
            Some(existing) => {
                existing.controllers.push(controller);
                existing.settings.extend(settings);
                if v2 && !enabled(&parent, controller) {
                    existing.enable.push(controller.v2_name());
                }
            }
            None => {
                check_writable(&parent)?;
                let enable = if v2 && !enabled(&parent, controller) { vec![controller.v2_name()] } else { Vec::new() };
                plans.push(Planned { hierarchy: hierarchy.clone(), parent, controllers: vec![controller], settings, enable });
            }
        }
    }
    Ok(plans)
}

/// Finds the hierarchy for a controller: v2 when its parent offers it, else v1. Returns the
/// hierarchy, the parent directory, and whether it is v2.
fn locate<'a>(hierarchies: &'a [Hierarchy], controller: Controller, limits: &Limits) -> Option<(&'a Hierarchy, PathBuf, bool)> {
    let parent_of = |hierarchy: &Hierarchy| {
        let relative = match &limits.cgroup_parent {
            Some(parent) => parent.strip_prefix("/").unwrap_or(parent).to_path_buf(),
            None => hierarchy.own.clone(),
        };
        hierarchy.mount.join(relative)
    };
    for hierarchy in hierarchies.iter().filter(|h| h.is_v2()) {
        let parent = parent_of(hierarchy);
        let offered = std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
        if offered.split_whitespace().any(|name| name == controller.v2_name()) {
            return Some((hierarchy, parent, true));
        }
    }
    hierarchies
        .iter()
        .find(|h| h.controllers.iter().any(|name| name == controller.v1_name()))
        .map(|hierarchy| (hierarchy, parent_of(hierarchy), false))
}

/// Whether a v2 parent already passes a controller on to its children.
fn enabled(parent: &Path, controller: Controller) -> bool {
    std::fs::read_to_string(parent.join("cgroup.subtree_control"))
        .unwrap_or_default()
        .split_whitespace()
        .any(|name| name == controller.v2_name())
}

fn check_writable(parent: &Path) -> Result<(), CgroupError> {
    if !parent.is_dir() {
        return Err(CgroupError::Parent { parent: parent.to_path_buf(), reason: "no such cgroup".into() });
    }
    match rustix::fs::access(parent, rustix::fs::Access::WRITE_OK) {
        Ok(()) => Ok(()),
        Err(_) => Err(CgroupError::NotDelegated { parent: parent.to_path_buf() }),
    }
}

/// The option a controller serves, for error messages.
fn option_of(controller: Controller, limits: &Limits) -> &'static str {
    match controller {
        Controller::Memory if limits.memory.is_none() => "--memory-swap",
        Controller::Memory => "--memory",
        Controller::Pids => "--pids",
        Controller::Cpu if limits.cpus.is_none() => "--cpu-weight",
        Controller::Cpu => "--cpus",
        Controller::Cpuset => "--cpuset",
        Controller::Io => "--io-weight",
    }
}

fn write_setting(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|error| CgroupError::Io {
        what: "write",
        path: path.clone(),
        reason: format!("{} (value {value:?})", crate::error::describe(&error)),
    })
}

/// Reads `key N` from a flat-keyed cgroup file such as `memory.events`.
fn counter(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok()).flatten()
    })
}

/// Kills what is left in a cgroup and removes it, waiting briefly for dying processes.
pub(crate) fn remove_group(dir: &Path) {
    // Usually the sandbox's processes are gone with its PID namespace already.
    if std::fs::remove_dir(dir).is_ok() {
        return;
    }
    // Opened without O_CREAT: a v1 cgroup has no cgroup.kill, and nothing may be created.
    let killed = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"1"));
    if killed.is_err() {
        // cgroup v1, or v2 before Linux 5.14: kill the processes one by one.
        for _ in 0..10 {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            let pids: Vec<i32> = procs.split_whitespace().filter_map(|pid| pid.parse().ok()).collect();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // Bounded: a killed process leaves its cgroup within milliseconds.
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return,
            Err(error) if error.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return,
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "cannot remove the cgroup");
                return;
            }
        }
    }
    tracing::warn!(dir = %dir.display(), "cannot remove the cgroup: it stays busy");
}

/// The name of a sandbox's cgroup: its supervisor's PID and start time.
pub(crate) fn group_name() -> String {
    let pid = std::process::id() as i32;
    let start_time = ProcessRef::of(pid).map_or(0, |process| process.start_time);
    format!("airlock-{pid}-{start_time}")
}

/// Removes the cgroups that killed supervisors left in airlock's own cgroup of every
/// hierarchy, where they go without `--cgroup-parent`; returns how many. The cgroups in
/// another parent are removed by the next run that uses it.
pub fn collect_all_garbage() -> usize {
    let Ok(hierarchies) = own_hierarchies() else {
        return 0;
    };
    hierarchies.iter().map(|hierarchy| collect_garbage(&hierarchy.mount.join(&hierarchy.own))).sum()
}

/// Finds the cgroup hierarchies mounted here, each with this process's cgroup in it.
fn own_hierarchies() -> Result<Vec<Hierarchy>, CgroupError> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| CgroupError::io("read", Path::new("/proc/self/mountinfo"), e))?;
    let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| CgroupError::io("read", Path::new("/proc/self/cgroup"), e))?;
    Ok(hierarchy::discover(&mountinfo, &own))
}

/// Opens a cgroup control file such as `tasks` for writing, closed on exec.
pub(crate) fn open_for_writing(path: &Path) -> io::Result<OwnedFd> {
    Ok(OwnedFd::from(std::fs::OpenOptions::new().write(true).open(path)?))
}

/// Removes the cgroups in `parent` that supervisors which are gone left behind; returns
/// how many.
pub(crate) fn collect_garbage(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|name| name.strip_prefix("airlock-")) else {
            continue;
        };
        let Some((pid, start)) = rest.split_once('-') else {
            continue;
        };
        let (Ok(pid), Ok(start)) = (pid.parse::<i32>(), start.parse::<u64>()) else {
            continue;
        };
        // A killed supervisor whose parent does not reap it stays a zombie: gone all the same.
        if (ProcessRef { pid, start_time: start }).is_alive() {
            continue;
        }
        tracing::info!(cgroup = %entry.path().display(), "removing the cgroup of a sandbox whose supervisor is gone");
        remove_group(&entry.path());
        removed += usize::from(!entry.path().exists());
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Cpus;

    /// A fake cgroup tree: plain directories and files, as the kernel's would look.
    fn tree(v2_controllers: &str) -> (tempfile::TempDir, Vec<Hierarchy>) {
        let root = tempfile::tempdir().unwrap();
        let unified = root.path().join("unified");
        std::fs::create_dir_all(unified.join("parent")).unwrap();
        std::fs::write(unified.join("parent/cgroup.controllers"), v2_controllers).unwrap();
        std::fs::write(unified.join("parent/cgroup.subtree_control"), "").unwrap();
        let memory = root.path().join("memory");
        std::fs::create_dir_all(memory.join("parent")).unwrap();
        std::fs::write(memory.join("parent/memory.memsw.limit_in_bytes"), "").unwrap();
        let hierarchies = vec![
            Hierarchy { mount: unified, controllers: vec![], own: PathBuf::from("parent") },
            Hierarchy { mount: memory, controllers: vec!["memory".into()], own: PathBuf::from("parent") },
        ];
        (root, hierarchies)
    }

    #[test]
    fn prefers_v2_and_writes_its_files() {
        let (root, hierarchies) = tree("cpu memory pids");
        let limits = Limits {
            memory: Some(64 << 20),
            pids: Some(20),
            cpus: Some("1.5".parse::<Cpus>().unwrap()),
            ..Limits::default()
        };
        let mut cgroups = Cgroups::create_in(&hierarchies, &limits, "airlock-test").unwrap();
        let dir = root.path().join("unified/parent/airlock-test");
        assert_eq!(std::fs::read_to_string(dir.join("memory.max")).unwrap(), (64u64 << 20).to_string());
        assert_eq!(std::fs::read_to_string(dir.join("pids.max")).unwrap(), "20");
        assert_eq!(std::fs::read_to_string(dir.join("cpu.max")).unwrap(), "150000 100000");
        let control = std::fs::read_to_string(root.path().join("unified/parent/cgroup.subtree_control")).unwrap();
        assert_eq!(control, "+cpu", "the last controller enabled in the parent");
        assert_eq!(cgroups.paths(), vec![dir.clone()]);

        // Files of a real cgroup vanish with it; these are plain files, so clear them first.
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        cgroups.remove();
        assert!(!dir.exists());
    }

    #[test]
    fn falls_back_to_v1() {
        let (root, hierarchies) = tree("cpu pids");
        let limits = Limits { memory: Some(1 << 30), memory_swap: Some(2 << 30), ..Limits::default() };
        let mut cgroups = Cgroups::create_in(&hierarchies, &limits, "airlock-test").unwrap();
        let dir = root.path().join("memory/parent/airlock-test");
        assert_eq!(std::fs::read_to_string(dir.join("memory.limit_in_bytes")).unwrap(), (1u64 << 30).to_string());
        assert_eq!(std::fs::read_to_string(dir.join("memory.memsw.limit_in_bytes")).unwrap(), (2u64 << 30).to_string());
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        cgroups.remove();
    }

    #[test]
    fn missing_controller_creates_nothing() {
        let (root, hierarchies) = tree("");
        let limits = Limits { io_weight: Some(100), ..Limits::default() };
        let error = Cgroups::create_in(&hierarchies, &limits, "airlock-test").unwrap_err().to_string();
        assert!(error.contains("--io-weight") && error.contains("io controller"), "{error}");
        assert!(!root.path().join("unified/parent/airlock-test").exists());
        assert!(!root.path().join("memory/parent/airlock-test").exists());
    }

    #[test]
    fn cpuset_parent_without_memory_nodes_creates_nothing() {
        let (root, mut hierarchies) = tree("");
        let cpuset = root.path().join("cpuset");
        std::fs::create_dir_all(cpuset.join("parent")).unwrap();
        std::fs::write(cpuset.join("parent/cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(cpuset.join("parent/cpuset.mems"), "\n").unwrap();
        hierarchies.push(Hierarchy { mount: cpuset, controllers: vec!["cpuset".into()], own: PathBuf::from("parent") });
        let limits = Limits { cpuset: Some("0".parse().unwrap()), ..Limits::default() };

        let error = Cgroups::create_in(&hierarchies, &limits, "airlock-test").unwrap_err().to_string();
        assert!(error.contains("its cpuset.mems is empty"), "{error}");
        assert!(!root.path().join("cpuset/parent/airlock-test").exists());
    }

    #[test]
    fn garbage_of_dead_supervisors_goes() {
        let root = tempfile::tempdir().unwrap();
        let own = group_name();
        std::fs::create_dir(root.path().join(&own)).unwrap();
        std::fs::create_dir(root.path().join("airlock-999999999-1")).unwrap();
        std::fs::create_dir(root.path().join("other")).unwrap();
        assert_eq!(collect_garbage(root.path()), 1);
        assert!(root.path().join(&own).exists(), "a live supervisor's cgroup was removed");
        assert!(!root.path().join("airlock-999999999-1").exists());
        assert!(root.path().join("other").exists());
    }

    #[test]
    fn counters_parse() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n").unwrap();
        assert_eq!(counter(&dir.path().join("memory.events"), "oom_kill"), Some(1));
        assert_eq!(counter(&dir.path().join("memory.events"), "missing"), None);
    }
}
