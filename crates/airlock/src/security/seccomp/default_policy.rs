//! airlock's default seccomp policy: everything is allowed except what sandboxed programs
//! have no use for and what escapes have used. Denied calls fail with EPERM.

use super::bpf::{Action, Compare, Condition, Policy, Rule};
use super::syscalls;
use std::collections::BTreeMap;

/// System calls the default filter denies outright.
const DENIED: &[&str] = &[
    // Kernel modules, kexec, reboot.
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    // Kernel interfaces with a history of exploits.
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    // Setting clocks and time.
    "clock_settime",
    "clock_adjtime",
    "settimeofday",
    "adjtimex",
    // Swap, quotas, accounting, the kernel log.
    "swapon",
    "swapoff",
    "quotactl",
    "quotactl_fd",
    "acct",
    "syslog",
    // Mounts, old and new API.
    "mount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "open_tree_attr",
    "mount_setattr",
    // Joining other namespaces, and file handles that bypass the mount view.
    "setns",
    "open_by_handle_at",
    // Hardware and obsolete interfaces.
    "iopl",
    "ioperm",
    "modify_ldt",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "vhangup",
    "lookup_dcookie",
    "nfsservctl",
    "get_kernel_syms",
    "query_module",
    "fanotify_init",
];

/// The numbers of [`DENIED`], found at compile time.
const DENIED_NUMBERS: [Option<u32>; DENIED.len()] = {
    let mut numbers = [None; DENIED.len()];
    let mut index = 0;
    while index < DENIED.len() {
        numbers[index] = syscalls::number(DENIED[index]);
        index += 1;
    }
    numbers
};

/// `ioctl` requests the default filter denies: injecting input into a terminal.
const DENIED_IOCTLS: &[u64] = &[libc::TIOCSTI, libc::TIOCLINUX];

/// `personality` values a program may still set: Linux's own, and the query.
const ALLOWED_PERSONALITIES: &[u64] = &[0x0000_0000, 0x0000_0008, 0xffff_ffff];

/// Builds the default policy; `allow_userns` keeps new user namespaces possible.
pub(crate) fn policy(allow_userns: bool) -> Policy {
    let eperm = Action::Errno(libc::EPERM as u16);
    let deny = || vec![Rule { conditions: vec![], action: eperm }];
    let mut rules: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    for number in DENIED_NUMBERS.into_iter().flatten() {
        rules.insert(number, deny());
    }

    let ioctl_rules = DENIED_IOCTLS
        .iter()
        .map(|&request| Rule {
            conditions: vec![Condition { index: 1, compare: Compare::Equal, value: request, low_32: true }],
            action: eperm,
        })
        .collect();
    rules.insert(const { number("ioctl") }, ioctl_rules);

    let mut personality: Vec<Rule> = ALLOWED_PERSONALITIES
        .iter()
        .map(|&value| Rule {
            conditions: vec![Condition { index: 0, compare: Compare::Equal, value, low_32: false }],
            action: Action::Allow,
        })
        .collect();
    personality.push(Rule { conditions: vec![], action: eperm });
    rules.insert(const { number("personality") }, personality);

    if !allow_userns {
        let new_user = libc::CLONE_NEWUSER as u64;
        let refuse_new_user = || {
            vec![Rule {
                conditions: vec![Condition { index: 0, compare: Compare::MaskedEqual { mask: new_user }, value: new_user, low_32: false }],
                action: eperm,
            }]
        };
        rules.insert(const { number("unshare") }, refuse_new_user());
        rules.insert(const { number("clone") }, refuse_new_user());
        // clone3 passes its flags in memory the filter cannot read; ENOSYS makes C
        // libraries fall back to clone, whose flags it can.
        rules.insert(const { number("clone3") }, vec![Rule { conditions: vec![], action: Action::Errno(libc::ENOSYS as u16) }]);
    }

    Policy {
        default: Action::Allow,
        unknown: Action::Errno(libc::ENOSYS as u16),
        foreign: eperm,
        x32: eperm,
        max_known: syscalls::max_known(),
        rules,
    }
}

/// The number of a system call the table must have; a missing one fails the build.
const fn number(name: &str) -> u32 {
    match syscalls::number(name) {
        Some(number) => number,
        None => panic!("a system call is missing from the table"),
    }
}

/// The names the default filter denies, for `explain`.
pub(crate) fn denied_names(allow_userns: bool) -> Vec<String> {
    let mut names: Vec<String> = DENIED.iter().map(|name| name.to_string()).collect();
    names.push("ioctl TIOCSTI and TIOCLINUX".into());
    names.push("personality changes".into());
    if !allow_userns {
        names.push("unshare and clone with CLONE_NEWUSER".into());
        names.push("clone3 (ENOSYS)".into());
    }
    names
}
