//! Seccomp profiles in the OCI runtime spec's JSON format, with Docker's extensions
//! (`includes` and `excludes` by capability, architecture and kernel version), so profiles
//! Docker and Podman users already have work unchanged.
//!
//! Names this architecture lacks (a profile lists the calls of several) are skipped, as
//! libseccomp skips them. Only the native ABI is allowed: calls through the i386 or x32 ABI
//! get EPERM whatever the profile says.

use super::bpf::{Action, Compare, Condition, Policy, Rule};
use super::syscalls;
use super::SeccompError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    syscalls: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    names: Vec<String>,
    /// The older, single-name form.
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Vec<Argument>,
    #[serde(default)]
    includes: Option<Selector>,
    #[serde(default)]
    excludes: Option<Selector>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Argument {
    index: u8,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// What a profile's conditional entries are evaluated against.
pub(crate) struct Environment<'a> {
    /// Capabilities the payload keeps, canonical names without `CAP_`.
    pub capabilities: &'a [String],
    /// The running kernel's version, such as (6, 18).
    pub kernel: (u32, u32),
}

/// Reads and compiles a profile file into a policy.
pub(crate) fn load(path: &Path, environment: &Environment<'_>) -> Result<Policy, SeccompError> {
    let text = std::fs::read_to_string(path).map_err(|error| SeccompError::Read {
        path: path.to_path_buf(),
        reason: crate::error::describe(&error),
    })?;
    parse(&text, environment).map_err(|reason| SeccompError::Profile { path: path.to_path_buf(), reason })
}

/// Parses a profile's JSON into a policy; the error says what is wrong, and where.
pub(crate) fn parse(text: &str, environment: &Environment<'_>) -> Result<Policy, String> {
    let profile: Profile = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let default = action(&profile.default_action, profile.default_errno_ret)?;

    let mut rules: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    for (position, entry) in profile.syscalls.iter().enumerate() {
        let place = |reason: String| format!("syscalls[{position}]: {reason}");
        if !applies(entry, environment).map_err(place)? {
            continue;
        }
        let action = action(&entry.action, entry.errno_ret).map_err(place)?;
        let conditions = entry.args.iter().map(condition).collect::<Result<Vec<_>, _>>().map_err(place)?;
        let names = entry.names.iter().chain(entry.name.as_ref());
        for name in names {
            let Some(number) = syscalls::number(name) else {
                continue;
            };
            rules.entry(number).or_default().push(Rule { conditions: conditions.clone(), action });
        }
    }

    Ok(Policy {
        default,
        unknown: Action::Errno(libc::ENOSYS as u16),
        foreign: Action::Errno(libc::EPERM as u16),
        x32: Action::Errno(libc::EPERM as u16),
        max_known: syscalls::max_known(),
        rules,
    })
}

fn action(name: &str, errno: Option<u32>) -> Result<Action, String> {
    let errno = |fallback: i32| -> Result<u16, String> {
        let value = errno.unwrap_or(fallback as u32);
        u16::try_from(value).ok().filter(|value| *value < 4096).ok_or_else(|| format!("errnoRet {value} is out of range (0 to 4095)"))
    };
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno(libc::EPERM)?),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_TRACE" => Action::Trace(errno(0)?),
        "SCMP_ACT_NOTIFY" => return Err("SCMP_ACT_NOTIFY needs a seccomp agent, which airlock does not run".into()),
        other => return Err(format!("unknown action {other:?}; expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, ...")),
    })
}

fn condition(argument: &Argument) -> Result<Condition, String> {
    if argument.index > 5 {
        return Err(format!("argument index {} is out of range (0 to 5)", argument.index));
    }
    let (compare, value) = match argument.op.as_str() {
        "SCMP_CMP_EQ" => (Compare::Equal, argument.value),
        "SCMP_CMP_NE" => (Compare::NotEqual, argument.value),
        "SCMP_CMP_LT" => (Compare::Less, argument.value),
        "SCMP_CMP_LE" => (Compare::LessOrEqual, argument.value),
        "SCMP_CMP_GT" => (Compare::Greater, argument.value),
        "SCMP_CMP_GE" => (Compare::GreaterOrEqual, argument.value),
        // libseccomp's masked comparison: (argument & value) == valueTwo.
        "SCMP_CMP_MASKED_EQ" => (Compare::MaskedEqual { mask: argument.value }, argument.value_two),
        other => return Err(format!("unknown comparison {other:?}")),
    };
    Ok(Condition { index: argument.index, compare, value, low_32: false })
}

/// Whether a conditional entry applies to this sandbox and kernel.
fn applies(entry: &Entry, environment: &Environment<'_>) -> Result<bool, String> {
    let has = |cap: &String| {
        let name = cap.trim_start_matches("CAP_");
        environment.capabilities.iter().any(|granted| granted == name)
    };
    let native = |arch: &String| matches!(arch.as_str(), "amd64" | "x86_64" | "SCMP_ARCH_X86_64");
    if let Some(includes) = &entry.includes {
        if !includes.caps.iter().all(has) {
            return Ok(false);
        }
        if !includes.arches.is_empty() && !includes.arches.iter().any(native) {
            return Ok(false);
        }
        if let Some(minimum) = &includes.min_kernel {
            if environment.kernel < parse_kernel(minimum)? {
                return Ok(false);
            }
        }
    }
    if let Some(excludes) = &entry.excludes {
        if excludes.caps.iter().any(has) || excludes.arches.iter().any(native) {
            return Ok(false);
        }
        if let Some(minimum) = &excludes.min_kernel {
            if environment.kernel >= parse_kernel(minimum)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Parses "6.18" or "6.18.4-rc1" into (major, minor).
pub(crate) fn parse_kernel(text: &str) -> Result<(u32, u32), String> {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse().ok());
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    major.map(|major| (major, minor)).ok_or_else(|| format!("invalid kernel version {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment() -> Environment<'static> {
        Environment { capabilities: &[], kernel: (6, 18) }
    }

    #[test]
    fn denies_mkdir_with_profile_errno() {
        let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#;
        let policy = parse(profile, &environment()).unwrap();
        let mkdir = syscalls::number("mkdir").unwrap();
        assert_eq!(policy.rules[&mkdir][0].action, Action::Errno(13));
        assert_eq!(policy.default, Action::Allow);
    }

    #[test]
    fn includes_and_excludes_by_capability() {
        let profile = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
            {"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.8"}},
            {"names":["chroot"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_SYS_CHROOT"]}},
            {"names":["not_a_syscall_here","getpid"],"action":"SCMP_ACT_ALLOW"}]}"#;
        let policy = parse(profile, &environment()).unwrap();
        assert!(!policy.rules.contains_key(&syscalls::number("mount").unwrap()));
        assert!(policy.rules.contains_key(&syscalls::number("ptrace").unwrap()));
        assert!(policy.rules.contains_key(&syscalls::number("chroot").unwrap()));
        assert!(policy.rules.contains_key(&syscalls::number("getpid").unwrap()));

        let caps = ["SYS_ADMIN".to_string(), "SYS_CHROOT".to_string()];
        let privileged = Environment { capabilities: &caps, kernel: (6, 18) };
        let policy = parse(profile, &privileged).unwrap();
        assert!(policy.rules.contains_key(&syscalls::number("mount").unwrap()));
        assert!(!policy.rules.contains_key(&syscalls::number("chroot").unwrap()));
    }

    #[test]
    fn masked_equal_takes_value_two() {
        let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO",
            "args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#;
        let policy = parse(profile, &environment()).unwrap();
        let rule = &policy.rules[&syscalls::number("clone").unwrap()][0];
        assert_eq!(rule.conditions[0].compare, Compare::MaskedEqual { mask: 2114060288 });
        assert_eq!(rule.conditions[0].value, 0);
    }

    #[test]
    fn broken_profiles_are_errors() {
        for (profile, expected) in [
            ("{", "EOF"),
            (r#"{"defaultAction":"SCMP_ACT_MAYBE"}"#, "unknown action"),
            (r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":9,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#, "syscalls[0]: argument index 9"),
            (r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_ALMOST"}]}]}"#, "unknown comparison"),
        ] {
            let error = parse(profile, &environment()).unwrap_err();
            assert!(error.contains(expected), "{profile}: {error}");
        }
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel("6.18.44-fc").unwrap(), (6, 18));
        assert_eq!(parse_kernel("5").unwrap(), (5, 0));
        assert!(parse_kernel("x").is_err());
    }
}
