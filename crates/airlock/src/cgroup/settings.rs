//! The files that carry each limit, in cgroup v1 and v2, and the values written to them.

use super::hierarchy::Controller;
use crate::spec::Limits;

/// The CPU bandwidth period in microseconds; `--cpus` sets the quota within it.
const PERIOD_US: u64 = 100_000;

/// One file of a cgroup and the value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    pub file: &'static str,
    pub value: String,
}

fn set(file: &'static str, value: impl ToString) -> Setting {
    Setting { file, value: value.to_string() }
}

/// The controllers `limits` needs.
pub(crate) fn controllers(limits: &Limits) -> Vec<Controller> {
    let mut needed = Vec::new();
    if limits.memory.is_some() || limits.memory_swap.is_some() {
        needed.push(Controller::Memory);
    }
    if limits.pids.is_some() {
        needed.push(Controller::Pids);
    }
    if limits.cpus.is_some() || limits.cpu_weight.is_some() {
        needed.push(Controller::Cpu);
    }
    if limits.cpuset.is_some() {
        needed.push(Controller::Cpuset);
    }
    if limits.io_weight.is_some() {
        needed.push(Controller::Io);
    }
    needed
}

/// The settings of one controller on cgroup v2, in the order they are written.
pub(crate) fn v2(controller: Controller, limits: &Limits) -> Vec<Setting> {
    let mut settings = Vec::new();
    match controller {
        Controller::Memory => {
            if let Some(memory) = limits.memory {
                settings.push(set("memory.max", memory));
            }
            if let (Some(memory), Some(total)) = (limits.memory, limits.memory_swap) {
                // v2 limits swap alone; the option counts memory and swap together.
                settings.push(set("memory.swap.max", total - memory));
            }
        }
        Controller::Pids => settings.extend(limits.pids.map(|pids| set("pids.max", pids))),
        Controller::Cpu => {
            if let Some(cpus) = limits.cpus {
                settings.push(set("cpu.max", format!("{} {PERIOD_US}", cpus.quota_us(PERIOD_US))));
            }
            settings.extend(limits.cpu_weight.map(|weight| set("cpu.weight", weight)));
        }
        Controller::Cpuset => settings.extend(limits.cpuset.as_ref().map(|cpus| set("cpuset.cpus", cpus))),
        Controller::Io => settings.extend(limits.io_weight.map(|weight| set("io.weight", format!("default {weight}")))),
    }
    settings
}

/// The settings of one controller on cgroup v1, in the order they are written. `io_file`
/// is the weight file this host's blkio controller has.
pub(crate) fn v1(controller: Controller, limits: &Limits, io_file: Option<&'static str>) -> Vec<Setting> {
    let mut settings = Vec::new();
    match controller {
        Controller::Memory => {
            if let Some(memory) = limits.memory {
                settings.push(set("memory.limit_in_bytes", memory));
            }
            // memsw counts memory and swap, like the option; it must come after the memory limit.
            settings.extend(limits.memory_swap.map(|total| set("memory.memsw.limit_in_bytes", total)));
        }
        Controller::Pids => settings.extend(limits.pids.map(|pids| set("pids.max", pids))),
        Controller::Cpu => {
            if let Some(cpus) = limits.cpus {
                settings.push(set("cpu.cfs_period_us", PERIOD_US));
                settings.push(set("cpu.cfs_quota_us", cpus.quota_us(PERIOD_US)));
            }
            settings.extend(limits.cpu_weight.map(|weight| set("cpu.shares", shares_of(weight))));
        }
        Controller::Cpuset => settings.extend(limits.cpuset.as_ref().map(|cpus| set("cpuset.cpus", cpus))),
        Controller::Io => {
            if let (Some(weight), Some(file)) = (limits.io_weight, io_file) {
                settings.push(set(file, blkio_weight_of(weight)));
            }
        }
    }
    settings
}

/// v1 `cpu.shares` for a v2-style weight: 1024 shares are the default, as weight 100 is.
fn shares_of(weight: u64) -> u64 {
    (weight * 1024 / 100).clamp(2, 262_144)
}

/// v1 blkio weights run from 10 to 1000, with 500 as the default, where v2 weights run
/// from 1 to 10000 around 100.
fn blkio_weight_of(weight: u64) -> u64 {
    (weight * 5).clamp(10, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Cpus;

    fn limits() -> Limits {
        Limits {
            memory: Some(64 << 20),
            memory_swap: Some(96 << 20),
            pids: Some(20),
            cpus: Some("0.5".parse::<Cpus>().unwrap()),
            cpu_weight: Some(200),
            cpuset: Some("0".into()),
            io_weight: Some(50),
            ..Limits::default()
        }
    }

    #[test]
    fn v2_files() {
        let limits = limits();
        assert_eq!(v2(Controller::Memory, &limits), vec![set("memory.max", 64 << 20), set("memory.swap.max", 32 << 20)]);
        assert_eq!(v2(Controller::Cpu, &limits), vec![set("cpu.max", "50000 100000"), set("cpu.weight", 200)]);
        assert_eq!(v2(Controller::Io, &limits), vec![set("io.weight", "default 50")]);
        assert_eq!(v2(Controller::Pids, &limits), vec![set("pids.max", 20)]);
    }

    #[test]
    fn v1_files() {
        let limits = limits();
        assert_eq!(
            v1(Controller::Memory, &limits, None),
            vec![set("memory.limit_in_bytes", 64 << 20), set("memory.memsw.limit_in_bytes", 96 << 20)]
        );
        assert_eq!(
            v1(Controller::Cpu, &limits, None),
            vec![set("cpu.cfs_period_us", 100000), set("cpu.cfs_quota_us", 50000), set("cpu.shares", 2048)]
        );
        assert_eq!(v1(Controller::Io, &limits, Some("blkio.weight")), vec![set("blkio.weight", 250)]);
    }

    #[test]
    fn controllers_needed() {
        assert_eq!(controllers(&Limits::default()), vec![]);
        assert_eq!(controllers(&limits()), vec![Controller::Memory, Controller::Pids, Controller::Cpu, Controller::Cpuset, Controller::Io]);
    }
}
