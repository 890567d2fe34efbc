use std::path::PathBuf;

/// A spec that cannot be launched as written, found before anything is created.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command given: name the program to run after the options, as in `airlock run -- sh`, or use a profile that sets process.command")]
    NoCommand,

    #[error("invalid {what} {value:?}: {why}")]
    Invalid {
        what: &'static str,
        value: String,
        why: String,
    },

    #[error("{0}")]
    Conflict(String),

    #[error("cannot use {path}: {why}")]
    Path { path: PathBuf, why: String },

    #[error("{0}")]
    NotPermitted(String),
}

impl SpecError {
    pub(crate) fn invalid(what: &'static str, value: impl ToString, why: impl ToString) -> SpecError {
        SpecError::Invalid {
            what,
            value: value.to_string(),
            why: why.to_string(),
        }
    }

    pub(crate) fn path(path: impl Into<PathBuf>, why: impl ToString) -> SpecError {
        SpecError::Path {
            path: path.into(),
            why: why.to_string(),
        }
    }
}
