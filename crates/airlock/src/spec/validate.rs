use super::identity::IdRange;
use super::{NsSource, Spec, SpecError};
use std::path::{Path, PathBuf};

/// The person and process starting a sandbox: their ids, home, working directory and the
/// subordinate id ranges `/etc/subuid` and `/etc/subgid` give them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub user_name: Option<String>,
    pub home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// Subordinate uid and gid ranges, read on first use: only mapping ranges needs them.
    subordinate: std::cell::OnceCell<SubordinateIds>,
}

/// Ranges of `/etc/subuid` and `/etc/subgid`, as (start, count) pairs.
type SubordinateIds = (Vec<(u32, u32)>, Vec<(u32, u32)>);

impl Caller {
    /// Describes the current process, reading the subordinate id files it may use.
    pub fn current() -> Caller {
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        Caller {
            uid,
            gid,
            user_name: user_name_of(uid),
            home: std::env::var_os("HOME").map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
            subordinate: std::cell::OnceCell::new(),
        }
    }

    /// Describes a caller with the given subordinate id ranges, for tests.
    pub fn with_ranges(uid: u32, gid: u32, subuids: Vec<(u32, u32)>, subgids: Vec<(u32, u32)>) -> Caller {
        Caller {
            uid,
            gid,
            user_name: None,
            home: None,
            cwd: None,
            subordinate: std::cell::OnceCell::from((subuids, subgids)),
        }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// The caller's ranges in `/etc/subuid`.
    pub fn subuids(&self) -> &[(u32, u32)] {
        &self.subordinate_ranges().0
    }

    /// The caller's ranges in `/etc/subgid`.
    pub fn subgids(&self) -> &[(u32, u32)] {
        &self.subordinate_ranges().1
    }

    fn subordinate_ranges(&self) -> &SubordinateIds {
        self.subordinate.get_or_init(|| {
            let name = self.user_name.as_deref();
            (
                subordinate_ranges(Path::new("/etc/subuid"), self.uid, name),
                subordinate_ranges(Path::new("/etc/subgid"), self.uid, name),
            )
        })
    }
}

/// Looks the uid up in `/etc/passwd` without NSS, which a static binary cannot load.
fn user_name_of(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

/// Reads the `NAME:START:COUNT` lines of a subordinate id file that belong to the user,
/// named either by name or by uid.
pub(crate) fn subordinate_ranges(file: &Path, uid: u32, name: Option<&str>) -> Vec<(u32, u32)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let uid_text = uid.to_string();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split(':');
            let owner = fields.next()?;
            let start = fields.next()?.parse().ok()?;
            let count = fields.next()?.parse().ok()?;
            (owner == uid_text || Some(owner) == name).then_some((start, count))
        })
        .collect()
}

/// The id mapping the launcher applies: resolved from the spec and the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedIds {
    pub uid: u32,
    pub gid: u32,
    pub uid_map: Vec<IdRange>,
    pub gid_map: Vec<IdRange>,
    /// Maps go through `newuidmap`/`newgidmap` because the caller is not root and maps
    /// more than its own ids.
    pub use_helpers: bool,
    /// `setgroups` stays usable inside; the kernel forbids it for a single-id unprivileged map.
    pub setgroups: bool,
}

impl ResolvedIds {
    /// Tells whether the payload's ids map back to the caller's own uid and gid, and the
    /// supplementary groups the sandbox clears are at most that gid. Then the sandbox has the
    /// same access to host files before its id maps are written as after.
    pub fn keep_caller_access(&self, caller: &Caller) -> bool {
        let outside = |map: &[IdRange], id: u32| {
            map.iter()
                .find(|range| id >= range.inside && id - range.inside < range.count)
                .map(|range| range.outside + (id - range.inside))
        };
        let groups_kept = !self.setgroups
            || rustix::process::getgroups().is_ok_and(|groups| groups.iter().all(|group| group.as_raw() == caller.gid));
        outside(&self.uid_map, self.uid) == Some(caller.uid) && outside(&self.gid_map, self.gid) == Some(caller.gid) && groups_kept
    }
}

impl Spec {
    /// Checks the spec against the caller before anything is created.
    /// Checks everything [`Spec::validate`] checks except that a command is given, for
    /// `check` and `explain`, which describe profiles before a command is chosen.
    pub fn validate_without_command(&self, caller: &Caller) -> Result<(), SpecError> {
        if !self.process.command.is_empty() {
            return self.validate(caller);
        }
        let mut probe = self.clone();
        probe.process.command = vec!["true".to_string()];
        probe.validate(caller)
    }

    pub fn validate(&self, caller: &Caller) -> Result<(), SpecError> {
        if self.process.command.is_empty() {
            return Err(SpecError::NoCommand);
        }
        if self.process.command[0].is_empty() {
            return Err(SpecError::invalid("command", "", "the program name is empty"));
        }
        self.validate_namespaces(caller)?;
        self.resolve_ids(caller)?;
        self.validate_process()?;
        self.filesystem.validate()?;
        self.security.validate()?;
        let net_admin = self.security.capabilities().iter().any(|cap| cap == "NET_ADMIN");
        self.network.validate(caller.is_root(), net_admin)?;
        self.limits.validate()?;
        if self.limits.pids == Some(1) && !self.process.as_pid_1 {
            return Err(SpecError::invalid(
                "process limit",
                "1",
                "the sandbox's init and the payload are 2 processes; use --pids 2 or more, or --as-pid-1",
            ));
        }
        Ok(())
    }

    fn validate_namespaces(&self, caller: &Caller) -> Result<(), SpecError> {
        if self.namespaces.user == NsSource::Shared && !caller.is_root() {
            return Err(SpecError::NotPermitted(
                "--share user is for root only: an ordinary user needs a user namespace of its own to \
                 create the other namespaces; keep the default or share the other kinds instead"
                    .into(),
            ));
        }
        for kind in super::NamespaceKind::ALL {
            match self.namespaces.source(kind) {
                NsSource::Path(path) if !path.exists() => {
                    return Err(SpecError::path(path, format!("no such {kind} namespace file")));
                }
                NsSource::Sandbox(name) => {
                    if crate::named::check_name(name).is_err() {
                        return Err(SpecError::invalid("sandbox name", name, "use 1 to 63 letters, digits, '_', '.' and '-'"));
                    }
                    if kind == super::NamespaceKind::User {
                        return Err(SpecError::invalid("namespace source", format!("sandbox:{name}"), "the user namespace is joined with the others, not on its own"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn validate_process(&self) -> Result<(), SpecError> {
        let hostname = self.process.hostname();
        if hostname.is_empty() || hostname.len() > 64 || hostname.contains(['/', '\0']) {
            return Err(SpecError::invalid(
                "host name",
                hostname,
                "use 1 to 64 characters without '/'",
            ));
        }
        if self.process.hostname.is_some() && !self.namespaces.uts.is_new() {
            return Err(SpecError::Conflict(
                "--hostname needs a UTS namespace of the sandbox's own; drop --share uts".into(),
            ));
        }
        for name in self.process.env.keys().chain(&self.process.env_keep) {
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(SpecError::invalid(
                    "environment variable name",
                    name,
                    "a name must be non-empty and contain neither '=' nor NUL",
                ));
            }
        }
        if let Some(dir) = &self.process.chdir {
            if !dir.is_absolute() {
                return Err(SpecError::invalid(
                    "working directory",
                    dir.display(),
                    "give an absolute path inside the sandbox",
                ));
            }
        }
        Ok(())
    }

    /// Resolves the payload's ids and the maps to write, or returns why they cannot be used.
    pub fn resolve_ids(&self, caller: &Caller) -> Result<ResolvedIds, SpecError> {
        let identity = &self.identity;
        if self.namespaces.user != NsSource::New {
            if !identity.uid_map.is_empty() || !identity.gid_map.is_empty() {
                return Err(SpecError::Conflict(
                    "--map-users and --map-groups need a new user namespace; drop --share user".into(),
                ));
            }
            return Ok(ResolvedIds {
                uid: identity.uid.unwrap_or(caller.uid),
                gid: identity.gid.unwrap_or(caller.gid),
                uid_map: Vec::new(),
                gid_map: Vec::new(),
                use_helpers: false,
                // A user namespace an ordinary user made with a single-id map denies setgroups;
                // root's joined namespaces allow it.
                setgroups: caller.is_root(),
            });
        }

        // An ordinary user may write only a map of its own id. Anything more goes through
        // newuidmap and newgidmap, which allow the ranges in /etc/subuid and /etc/subgid.
        let own_only = |map: &[IdRange], own: u32| map.iter().all(|r| r.count == 1 && r.outside == own);
        let own_ids_only = own_only(&identity.uid_map, caller.uid) && own_only(&identity.gid_map, caller.gid);
        let use_helpers = !caller.is_root() && !own_ids_only;
        if use_helpers {
            check_owned("uid", "/etc/subuid", &identity.uid_map, caller.uid, caller.subuids(), caller)?;
            check_owned("gid", "/etc/subgid", &identity.gid_map, caller.gid, caller.subgids(), caller)?;
        }
        let (uid, uid_map) = resolve_map("uid", identity.uid, &identity.uid_map, caller.uid)?;
        let (gid, gid_map) = resolve_map("gid", identity.gid, &identity.gid_map, caller.gid)?;
        Ok(ResolvedIds {
            uid,
            gid,
            uid_map,
            gid_map,
            use_helpers,
            setgroups: caller.is_root() || use_helpers,
        })
    }
}

/// Picks the payload's id and the map to write for one kind of id (`what` is "uid" or "gid").
fn resolve_map(
    what: &'static str,
    requested: Option<u32>,
    ranges: &[IdRange],
    caller_id: u32,
) -> Result<(u32, Vec<IdRange>), SpecError> {
    if ranges.is_empty() {
        let inside = requested.unwrap_or(caller_id);
        return Ok((inside, vec![IdRange::single(inside, caller_id)]));
    }
    for (index, range) in ranges.iter().enumerate() {
        if let Some(other) = ranges[..index].iter().find(|other| other.overlaps(range)) {
            return Err(SpecError::invalid(
                "id range",
                range,
                format!("it overlaps {other}; the ranges of one map must not share an id on either side"),
            ));
        }
    }
    if ranges.len() > 340 {
        return Err(SpecError::invalid(
            "id map",
            format!("{} ranges", ranges.len()),
            "the kernel accepts at most 340 ranges",
        ));
    }
    let inside = match requested {
        Some(id) => id,
        None => ranges
            .iter()
            .find_map(|range| range.to_inside(caller_id))
            .ok_or_else(|| {
                SpecError::Conflict(format!(
                    "your {what} {caller_id} is not in the {what} map; map it or choose the payload's {what} \
                     with --{what} N"
                ))
            })?,
    };
    if !ranges.iter().any(|range| range.to_outside(inside).is_some()) {
        return Err(SpecError::Conflict(format!(
            "the payload's {what} {inside} is not mapped; add a range that covers it"
        )));
    }
    Ok((inside, ranges.to_vec()))
}

/// Checks that an ordinary user owns every outside id of a map.
fn check_owned(
    what: &str,
    file: &str,
    map: &[IdRange],
    own: u32,
    owned: &[(u32, u32)],
    caller: &Caller,
) -> Result<(), SpecError> {
    for range in map {
        let is_own = range.count == 1 && range.outside == own;
        if is_own || owned.iter().any(|&(start, len)| range.outside_within(start, len)) {
            continue;
        }
        let who = caller.user_name.clone().unwrap_or_else(|| caller.uid.to_string());
        let have = if owned.is_empty() {
            format!("{file} gives {who} no range")
        } else {
            let list: Vec<String> = owned.iter().map(|(s, c)| format!("{s}-{}", u64::from(*s) + u64::from(*c) - 1)).collect();
            format!("{file} gives {who} only {}", list.join(", "))
        };
        return Err(SpecError::NotPermitted(format!(
            "cannot map outside {what}s {}-{}: {have}",
            range.outside,
            u64::from(range.outside) + u64::from(range.count) - 1
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_access_kept_only_by_own_ids() {
        let ids = |uid: u32, uid_map: Vec<IdRange>, gid_map: Vec<IdRange>| ResolvedIds { uid, gid: uid, uid_map, gid_map, use_helpers: false, setgroups: false };
        let caller = caller(1000);
        assert!(ids(1000, vec![IdRange::single(1000, 1000)], vec![IdRange::single(1000, 1000)]).keep_caller_access(&caller));
        assert!(ids(0, vec![IdRange::single(0, 1000)], vec![IdRange::single(0, 1000)]).keep_caller_access(&caller));
        let ranges = vec![IdRange::single(0, 1000), IdRange { inside: 1, outside: 100000, count: 65536 }];
        assert!(!ids(5, ranges.clone(), ranges.clone()).keep_caller_access(&caller), "uid 5 maps to a subordinate id");
        assert!(!ids(1000, vec![IdRange::single(1000, 1000)], vec![IdRange::single(1000, 100000)]).keep_caller_access(&caller));
    }

    fn caller(uid: u32) -> Caller {
        let mut caller = Caller::with_ranges(uid, uid, vec![(100000, 65536)], vec![(100000, 65536)]);
        caller.user_name = Some("tester".into());
        caller
    }

    #[test]
    fn default_maps_caller_to_itself() {
        let spec = Spec::for_command(["true"]);
        let ids = spec.resolve_ids(&caller(1000)).unwrap();
        assert_eq!(ids.uid, 1000);
        assert_eq!(ids.uid_map, vec![IdRange::single(1000, 1000)]);
        assert!(!ids.use_helpers);
        assert!(!ids.setgroups);
    }

    #[test]
    fn uid_zero_inside_maps_to_caller() {
        let mut spec = Spec::for_command(["true"]);
        spec.identity.uid = Some(0);
        let ids = spec.resolve_ids(&caller(1000)).unwrap();
        assert_eq!(ids.uid_map, vec![IdRange::single(0, 1000)]);
    }

    #[test]
    fn ranges_need_ownership() {
        let mut spec = Spec::for_command(["true"]);
        spec.identity.uid_map = vec!["0:1000:1".parse().unwrap(), "1:100000:65536".parse().unwrap()];
        spec.identity.gid_map = spec.identity.uid_map.clone();
        let ids = spec.resolve_ids(&caller(1000)).unwrap();
        assert!(ids.use_helpers);
        assert_eq!(ids.uid, 0);

        spec.identity.uid_map = vec!["0:1000:1".parse().unwrap(), "1:200000:10".parse().unwrap()];
        let err = spec.resolve_ids(&caller(1000)).unwrap_err().to_string();
        assert!(err.contains("cannot map outside uids 200000-200009"), "{err}");
    }

    #[test]
    fn overlapping_ranges_rejected() {
        let mut spec = Spec::for_command(["true"]);
        spec.identity.uid_map = vec!["0:100000:10".parse().unwrap(), "5:100100:10".parse().unwrap()];
        let err = spec.resolve_ids(&caller(0)).unwrap_err().to_string();
        assert!(err.contains("overlaps"), "{err}");
    }

    #[test]
    fn unmapped_payload_uid_rejected() {
        let mut spec = Spec::for_command(["true"]);
        spec.identity.uid_map = vec!["0:100000:10".parse().unwrap()];
        spec.identity.uid = Some(50);
        assert!(spec.resolve_ids(&caller(0)).is_err());
    }

    #[test]
    fn share_user_is_root_only() {
        let mut spec = Spec::for_command(["true"]);
        spec.namespaces.user = NsSource::Shared;
        assert!(spec.validate(&caller(1000)).is_err());
        assert!(spec.validate(&caller(0)).is_ok());
    }

    #[test]
    fn one_process_only_as_pid_1() {
        let mut spec = Spec::for_command(["true"]);
        spec.limits.pids = Some(1);
        let error = spec.validate(&caller(0)).unwrap_err().to_string();
        assert!(error.contains("use --pids 2 or more, or --as-pid-1"), "{error}");

        spec.process.as_pid_1 = true;
        assert!(spec.validate(&caller(0)).is_ok());
    }
}
