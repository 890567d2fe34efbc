//! The payload's environment: clean defaults, then what the spec keeps and sets.

use crate::spec::{Caller, Spec};
use std::collections::BTreeMap;
use std::path::Path;

/// The `PATH` a payload gets unless the spec sets one.
pub(crate) const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Builds the payload's environment.
///
/// Nothing of the caller's environment passes by default, so neither `LD_PRELOAD` nor the
/// addresses of the caller's D-Bus, X11 or SSH agent sockets reach the payload. The
/// defaults are `PATH`, `HOME`, `USER` and `LOGNAME` for the payload's uid (from the
/// sandbox's own `/etc/passwd` when it has one), and the caller's `TERM`, `LANG`,
/// `LANGUAGE` and `LC_*`, which only say how to display text.
pub(crate) fn build(spec: &Spec, caller: &Caller, caller_env: &[(String, String)], uid: u32) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PATH".to_string(), DEFAULT_PATH.to_string());

    let (user, home) = account(uid, caller);
    env.insert("HOME".to_string(), home);
    env.insert("USER".to_string(), user.clone());
    env.insert("LOGNAME".to_string(), user);

    for (key, value) in caller_env {
        let display = key == "TERM" || key == "LANG" || key == "LANGUAGE" || key.starts_with("LC_");
        if display {
            env.insert(key.clone(), value.clone());
        }
    }
    if spec.process.tty && !env.contains_key("TERM") {
        env.insert("TERM".to_string(), "xterm".to_string());
    }
    for key in &spec.process.env_keep {
        if let Some((_, value)) = caller_env.iter().find(|(name, _)| name == key) {
            env.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in &spec.process.env {
        env.insert(key.clone(), value.clone());
    }
    env
}

/// The user name and home directory of `uid` as the sandbox sees them.
fn account(uid: u32, caller: &Caller) -> (String, String) {
    if let Some(found) = passwd_entry(Path::new("/etc/passwd"), uid) {
        return found;
    }
    if uid == caller.uid {
        if let (Some(name), Some(home)) = (&caller.user_name, &caller.home) {
            return (name.clone(), home.display().to_string());
        }
    }
    if uid == 0 {
        return ("root".to_string(), "/root".to_string());
    }
    (uid.to_string(), "/".to_string())
}

fn passwd_entry(file: &Path, uid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let id: u32 = fields.get(2)?.parse().ok()?;
        let home = fields.get(5)?;
        (id == uid).then(|| (fields[0].to_string(), home.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        let mut caller = Caller::with_ranges(4242, 4242, vec![], vec![]);
        caller.user_name = Some("tester".into());
        caller.home = Some("/home/tester".into());
        caller
    }

    #[test]
    fn caller_environment_is_dropped() {
        let spec = Spec::for_command(["true"]);
        let caller_env = vec![
            ("LD_PRELOAD".to_string(), "/tmp/evil.so".to_string()),
            ("SSH_AUTH_SOCK".to_string(), "/tmp/agent".to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
        ];
        let env = build(&spec, &caller(), &caller_env, 4242);
        assert!(!env.contains_key("LD_PRELOAD"));
        assert!(!env.contains_key("SSH_AUTH_SOCK"));
        assert_eq!(env["LANG"], "C.UTF-8");
        assert_eq!(env["PATH"], DEFAULT_PATH);
    }

    #[test]
    fn keep_and_set_override_defaults() {
        let mut spec = Spec::for_command(["true"]);
        spec.process.env_keep = vec!["SSH_AUTH_SOCK".into(), "MISSING".into()];
        spec.process.env.insert("PATH".into(), "/opt/bin".into());
        let caller_env = vec![("SSH_AUTH_SOCK".to_string(), "/tmp/agent".to_string())];
        let env = build(&spec, &caller(), &caller_env, 4242);
        assert_eq!(env["SSH_AUTH_SOCK"], "/tmp/agent");
        assert!(!env.contains_key("MISSING"));
        assert_eq!(env["PATH"], "/opt/bin");
    }
}
