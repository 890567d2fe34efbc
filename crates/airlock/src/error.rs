//! The library's top-level error and the helpers that turn system errors into the words of
//! airlock's messages.

use crate::launch::channel::Step;
use std::io;

/// Everything that can stop a sandbox from starting or being waited for.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),

    #[error(transparent)]
    Seccomp(#[from] crate::security::SeccompError),

    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),

    #[error(transparent)]
    Named(#[from] crate::named::NamedError),

    #[error(transparent)]
    Network(#[from] crate::net::NetError),

    /// A setup step failed inside the sandbox or in the supervisor.
    #[error("{message}")]
    Setup { step: Step, message: String },

    /// The command was found but cannot be executed (126), or was not found (127).
    #[error("{message}")]
    Exec { code: u8, message: String },

    /// The supervisor itself failed; `what` names the operation.
    #[error("{what}: {}", describe(.source))]
    Io { what: String, source: io::Error },
}

impl Error {
    /// Returns the exit status `airlock run` uses for this error: 125 when the sandbox could not be
    /// set up, 126 when the command cannot be executed, 127 when it was not found.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Exec { code, .. } => *code,
            _ => 125,
        }
    }

    /// An I/O failure of the supervisor or a command; `what` names the operation.
    pub fn io(what: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// Returns the system's text for an error, in lower case and without the "(os error N)" suffix,
/// so it reads as the end of an airlock message.
pub fn describe(error: &io::Error) -> String {
    let text = match error.raw_os_error() {
        Some(code) => rustix::io::Errno::from_raw_os_error(code).to_string(),
        None => error.to_string(),
    };
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    lowercase_first(&text)
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Keep acronyms such as "I/O error" as they are.
        Some(first) if chars.clone().next().is_some_and(|c| c.is_lowercase()) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_errno_in_lower_case() {
        let error = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(describe(&error), "no such file or directory");
        let error = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(describe(&error), "permission denied");
        assert_eq!(lowercase_first("I/O error"), "I/O error");
    }
}
