//! `sandbox:NAME` namespace sources: the namespaces of a running named sandbox, joined
//! pod-style. A sandbox that joins another's namespaces joins its user namespace too, which
//! owns them; `--ipc sandbox:NAME` also shares its `/dev/shm`.

use super::{NamedError, StateDir};
use crate::spec::{NamespaceKind, NetMode, NsSource, Spec};
use std::borrow::Cow;
use std::path::PathBuf;

/// The spec with every `sandbox:NAME` source turned into the namespace file of that
/// sandbox's init, and the `/dev/shm` directory to share, if any. Unchanged (borrowed)
/// when nothing names a sandbox.
pub(crate) fn resolve(spec: &Spec) -> Result<(Cow<'_, Spec>, Option<PathBuf>), NamedError> {
    let kinds = [NamespaceKind::Pid, NamespaceKind::Ipc, NamespaceKind::Uts, NamespaceKind::Cgroup, NamespaceKind::Time];
    let named = kinds.iter().any(|kind| matches!(spec.namespaces.source(*kind), NsSource::Sandbox(_)));
    if !named && !matches!(spec.network.mode, NetMode::Sandbox(_)) {
        return Ok((Cow::Borrowed(spec), None));
    }

    let state = StateDir::open()?;
    let mut resolved = spec.clone();
    let mut user: Option<(String, i32)> = None;
    let mut shm = None;
    let mut locate = |name: &str| -> Result<i32, NamedError> {
        let record = state.read(name)?;
        let init = record.verify_running()?;
        match &user {
            Some((first, pid)) if super::process::namespace_id(*pid, "user") != super::process::namespace_id(init.pid, "user") => {
                return Err(NamedError::Forged {
                    name: name.to_string(),
                    why: format!("it is not in the same user namespace as {first}, so one sandbox cannot join both"),
                });
            }
            Some(_) => {}
            None => user = Some((name.to_string(), init.pid)),
        }
        Ok(init.pid)
    };
    for kind in kinds {
        if let NsSource::Sandbox(name) = spec.namespaces.source(kind) {
            let pid = locate(name)?;
            let file = if kind == NamespaceKind::Time { "time_for_children" } else { kind.proc_name() };
            if let Some(source) = resolved.namespaces.source_mut(kind) {
                *source = NsSource::Path(PathBuf::from(format!("/proc/{pid}/ns/{file}")));
            }
            if kind == NamespaceKind::Ipc {
                shm = Some(state.slot(name).join("shm"));
            }
        }
    }
    if let NetMode::Sandbox(name) = &spec.network.mode {
        let pid = locate(name)?;
        resolved.network.mode = NetMode::Netns(PathBuf::from(format!("/proc/{pid}/ns/net")));
    }
    if let Some((_, pid)) = user {
        let ours = super::process::namespace_id(std::process::id() as i32, "user");
        if super::process::namespace_id(pid, "user") != ours {
            resolved.namespaces.user = NsSource::Path(PathBuf::from(format!("/proc/{pid}/ns/user")));
        } else {
            resolved.namespaces.user = NsSource::Shared;
        }
    }
    Ok((Cow::Owned(resolved), shm))
}
