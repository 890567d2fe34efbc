//! Finding the payload's program and executing it, with the exit codes shells use when
//! that fails: 127 when the command is not found, 126 when it cannot be executed.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why the payload's program could not be started.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ExecFailure {
    pub code: u8,
    pub message: String,
}

impl ExecFailure {
    fn not_found(message: String) -> ExecFailure {
        ExecFailure { code: 127, message }
    }

    fn not_executable(message: String) -> ExecFailure {
        ExecFailure { code: 126, message }
    }
}

/// Executes `argv` with `env`, looking the program up in `path_var` when its name has no
/// `/`. Returns only on failure.
pub(crate) fn execute(argv: &[String], env: &[CString], path_var: &str) -> ExecFailure {
    let program = &argv[0];
    let Ok(args) = argv.iter().map(|arg| CString::new(arg.as_bytes())).collect::<Result<Vec<_>, _>>() else {
        return ExecFailure::not_executable(format!("cannot run {program}: an argument contains a NUL byte"));
    };

    if program.contains('/') {
        let error = try_exec(Path::new(program), &args, env);
        return classify(program, Path::new(program), error);
    }

    // Like execvp: skip directories of PATH that lack the program, and report "permission
    // denied" only when no later directory has a program that runs.
    let mut denied: Option<(PathBuf, std::io::Error)> = None;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(program);
        let error = try_exec(&candidate, &args, env);
        match error.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENOTDIR) if !candidate.exists() => continue,
            Some(libc::EACCES) => {
                denied.get_or_insert((candidate, error));
                continue;
            }
            _ => return classify(program, &candidate, error),
        }
    }
    match denied {
        Some((candidate, error)) => classify(program, &candidate, error),
        None => ExecFailure::not_found(format!("cannot run {program}: command not found in PATH ({path_var})")),
    }
}

fn try_exec(path: &Path, args: &[CString], env: &[CString]) -> std::io::Error {
    let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
        return std::io::Error::from_raw_os_error(libc::ENOENT);
    };
    match nix::unistd::execve(&path, args, env) {
        Ok(never) => match never {},
        Err(errno) => std::io::Error::from(errno),
    }
}

/// Turns an execve error on `path` into the message and exit code the user sees.
fn classify(program: &str, path: &Path, error: std::io::Error) -> ExecFailure {
    let shown = path.display();
    match error.raw_os_error() {
        Some(libc::ENOENT) if path.exists() => ExecFailure::not_executable(match interpreter_of(path) {
            Some(interpreter) => {
                format!("cannot run {shown}: its interpreter {interpreter} was not found in the sandbox")
            }
            None => format!("cannot run {shown}: its program loader was not found in the sandbox"),
        }),
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => {
            ExecFailure::not_found(format!("cannot run {program}: no such file or directory"))
        }
        Some(libc::EACCES) if path.is_dir() => {
            ExecFailure::not_executable(format!("cannot run {shown}: it is a directory"))
        }
        Some(libc::EACCES) => {
            let mode = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0);
            let why = if mode & 0o111 == 0 {
                "permission denied (the file is not executable)"
            } else {
                "permission denied"
            };
            ExecFailure::not_executable(format!("cannot run {shown}: {why}"))
        }
        Some(libc::ENOEXEC) => {
            ExecFailure::not_executable(format!("cannot run {shown}: not an executable format this kernel runs"))
        }
        _ => ExecFailure::not_executable(format!("cannot run {shown}: {}", crate::error::describe(&error))),
    }
}

/// The interpreter a `#!` line names, if the file starts with one.
fn interpreter_of(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let count = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..count].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let name = line.split(|&b| b == b' ' || b == b'\t').find(|part| !part.is_empty())?;
    Some(OsStr::from_bytes(name).to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("script");
        std::fs::File::create(&script).unwrap().write_all(b"#!  /no/such/sh -e\necho\n").unwrap();
        assert_eq!(interpreter_of(&script).as_deref(), Some("/no/such/sh"));
    }

    #[test]
    fn classifies_missing_and_directory() {
        let missing = classify("nope", Path::new("/no/such/file"), std::io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(missing.code, 127);
        let dir = classify("/tmp", Path::new("/tmp"), std::io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(dir.code, 126);
        assert!(dir.message.contains("directory"), "{}", dir.message);
    }

    #[test]
    fn path_search_reports_not_found() {
        let failure = execute(&["airlock-no-such-command".to_string()], &[], "/nonexistent-dir:/also-missing");
        assert_eq!(failure.code, 127);
        assert!(failure.message.contains("command not found"), "{}", failure.message);
    }
}
