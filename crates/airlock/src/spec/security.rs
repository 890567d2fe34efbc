use super::SpecError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Capabilities, seccomp and Landlock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Security {
    /// Capabilities the payload keeps, by name without the `CAP_` prefix (`NET_BIND_SERVICE`),
    /// or `ALL`. The payload has none unless granted here.
    pub cap_add: Vec<String>,
    /// Capabilities taken back from those added, as when a command line narrows a profile.
    pub cap_drop: Vec<String>,
    /// The seccomp filter.
    pub seccomp: SeccompMode,
    /// Let the payload create user namespaces, which the default filter refuses.
    pub allow_userns: bool,
    /// Whether Landlock backs up the mount grants.
    pub landlock: LandlockMode,
}

/// Whether and how a seccomp filter is installed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SeccompMode {
    /// airlock's default filter.
    #[default]
    Default,
    /// No filter at all.
    Unconfined,
    /// A seccomp profile in the OCI/Docker JSON format.
    Profile(PathBuf),
}

/// Whether Landlock backs up the mount grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LandlockMode {
    /// Use Landlock where the kernel has it; report it as missing where it does not.
    #[default]
    Auto,
    /// Refuse to start without Landlock.
    Required,
    /// Do not use Landlock.
    Off,
}

/// IPC channels granted between the sandbox and the host or other sandboxes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Ipc {
    /// Host unix sockets, or directories where sockets are made, seen at `dest`; both
    /// sides may listen and connect.
    pub sockets: Vec<Channel>,
    /// Named pipes, created on the host when missing, seen at `dest`.
    pub fifos: Vec<Channel>,
    /// Names of POSIX shared-memory objects of the host's `/dev/shm`, created when missing,
    /// seen at the same name in the sandbox's `/dev/shm`.
    pub shm: Vec<String>,
}

/// One IPC channel: a host path and where the sandbox sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub src: PathBuf,
    pub dest: PathBuf,
}

impl Ipc {
    /// The binds these channels need, after the filesystem grants.
    pub fn mounts(&self) -> Vec<super::Mount> {
        let bind = |src: &PathBuf, dest: &PathBuf| super::Mount::Bind {
            src: src.clone(),
            dest: dest.clone(),
            mode: super::BindMode::ReadWrite,
            optional: false,
        };
        let mut mounts: Vec<super::Mount> = self.sockets.iter().chain(&self.fifos).map(|c| bind(&c.src, &c.dest)).collect();
        for name in &self.shm {
            let path = PathBuf::from("/dev/shm").join(name);
            mounts.push(bind(&path, &path));
        }
        mounts
    }

    /// Checks the channels and creates the FIFOs and shared-memory objects that are missing,
    /// as the options promise. Runs before anything of the sandbox exists.
    pub(crate) fn prepare(&self) -> Result<(), SpecError> {
        use std::os::unix::fs::FileTypeExt;
        for channel in &self.sockets {
            let meta = std::fs::metadata(&channel.src).map_err(|error| SpecError::path(&channel.src, crate::error::describe(&error)))?;
            if !meta.file_type().is_socket() && !meta.is_dir() {
                return Err(SpecError::path(&channel.src, "--socket needs a unix socket or a directory for sockets"));
            }
        }
        for channel in &self.fifos {
            match std::fs::metadata(&channel.src) {
                Ok(meta) if meta.file_type().is_fifo() => {}
                Ok(_) => return Err(SpecError::path(&channel.src, "--fifo needs a named pipe; something else is there")),
                Err(_) => rustix::fs::mknodat(rustix::fs::CWD, &channel.src, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)
                    .map_err(|error| SpecError::path(&channel.src, format!("cannot create the named pipe: {}", crate::error::describe(&error.into()))))?,
            }
        }
        for name in &self.shm {
            if name.is_empty() || name.contains('/') || name.starts_with('.') {
                return Err(SpecError::invalid("shared-memory name", name, "use a plain name, as shm_open takes it without the leading '/'"));
            }
            let path = PathBuf::from("/dev/shm").join(name);
            if !path.exists() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|error| SpecError::path(&path, format!("cannot create the shared-memory object: {}", crate::error::describe(&error))))?;
            }
        }
        Ok(())
    }
}

impl Security {
    /// The capabilities the payload keeps: those added, less those dropped.
    pub fn capabilities(&self) -> Vec<String> {
        let added: Vec<String> = if self.cap_add.iter().any(|cap| cap == "ALL") {
            capability_names().map(String::from).collect()
        } else {
            self.cap_add.clone()
        };
        let dropped_all = self.cap_drop.iter().any(|cap| cap == "ALL");
        let mut granted: Vec<String> = added.into_iter().filter(|cap| !dropped_all && !self.cap_drop.contains(cap)).collect();
        granted.sort();
        granted.dedup();
        granted
    }

    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        for name in self.cap_add.iter().chain(&self.cap_drop) {
            parse_capability(name)?;
        }
        Ok(())
    }
}

/// Every capability name the kernel defines, without the `CAP_` prefix.
pub fn capability_names() -> impl Iterator<Item = &'static str> {
    rustix::thread::CapabilitySet::all().iter_names().map(|(name, _)| name)
}

/// Checks a capability name (`net_bind_service`, `CAP_NET_BIND_SERVICE`) and returns it in
/// the canonical form `NET_BIND_SERVICE`. An unknown name is an error that suggests the
/// closest valid one.
pub fn parse_capability(text: &str) -> Result<String, SpecError> {
    let upper = text.trim().to_ascii_uppercase();
    let name = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if name == "ALL" || capability_names().any(|known| known == name) {
        return Ok(name.to_string());
    }
    let closest = capability_names().min_by_key(|known| edit_distance(known, name)).unwrap_or("CHOWN");
    Err(SpecError::invalid(
        "capability",
        text,
        format!("no such capability; did you mean {closest}?"),
    ))
}

/// The Levenshtein distance between two strings, for suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, left) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, right) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(left != *right);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_normalize() {
        assert_eq!(parse_capability("net_bind_service").unwrap(), "NET_BIND_SERVICE");
        assert_eq!(parse_capability("CAP_SYS_ADMIN").unwrap(), "SYS_ADMIN");
    }

    #[test]
    fn unknown_capability_suggests_closest() {
        let error = parse_capability("NET_BIND_SERVIC").unwrap_err().to_string();
        assert!(error.contains("did you mean NET_BIND_SERVICE?"), "{error}");
        let error = parse_capability("SYSADMIN").unwrap_err().to_string();
        assert!(error.contains("SYS_ADMIN"), "{error}");
    }

    #[test]
    fn drop_removes_from_add() {
        let security = Security {
            cap_add: vec!["NET_RAW".into(), "CHOWN".into()],
            cap_drop: vec!["CHOWN".into()],
            ..Security::default()
        };
        assert_eq!(security.capabilities(), vec!["NET_RAW".to_string()]);
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
