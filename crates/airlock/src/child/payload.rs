//! The payload's own steps, after the mounts and before `execve`: its session and
//! terminal, environment, working directory, signals, descriptors, then capabilities,
//! rlimits, no_new_privs, Landlock and seccomp, in that order, so the seccomp filter does not
//! see the setup's own system calls.

use super::{env, exec, terminal, AtStep, Context, SetupError};
use crate::launch::channel::{Step, ToSupervisor};
use std::ffi::CString;
use crate::spec::Mount;
use std::path::{Path, PathBuf};

/// Prepares and executes the payload. `mounts` are the grants that were mounted; `report`
/// sends what was applied on its way to the supervisor. Returns only on failure, with the
/// message for the supervisor.
pub(crate) fn exec_payload(context: &Context<'_>, terminal: Option<&Path>, mounts: &[Mount], report: &dyn Fn(&ToSupervisor)) -> ToSupervisor {
    let (env, path_var) = match prepare(context, terminal, mounts, report) {
        Ok(prepared) => prepared,
        Err(error) => return error.into_message(),
    };
    let failure = exec::execute(&context.spec.process.command, &env, &path_var);
    ToSupervisor::ExecFailed {
        code: failure.code,
        message: failure.message,
    }
}

/// Runs every step before `execve`; returns the environment and the `PATH` to search.
fn prepare(context: &Context<'_>, terminal: Option<&Path>, mounts: &[Mount], report: &dyn Fn(&ToSupervisor)) -> Result<(Vec<CString>, String), SetupError> {
    if !context.spec.process.as_pid_1 {
        // A session of its own, so it has no controlling terminal to push input into.
        rustix::process::setsid().at(Step::Start, || "cannot start a new session".into())?;
    }
    if let Some(slave) = terminal {
        terminal::attach(slave)?;
    }

    let env = env::build(context.spec, context.caller, context.caller_env, context.ids.uid);
    let path_var = env.get("PATH").cloned().unwrap_or_else(|| env::DEFAULT_PATH.to_string());
    let env: Vec<CString> = env
        .iter()
        .map(|(key, value)| CString::new(format!("{key}={value}")))
        .collect::<Result<_, _>>()
        .map_err(|_| SetupError::new(Step::Environment, "an environment value contains a NUL byte"))?;

    change_directory(context)?;
    reset_signals();
    pass_descriptors(context.keep_fds)?;
    let applied = crate::security::restrict(context.spec, context.ids.uid, mounts, context.filter)?;
    report(&ToSupervisor::Applied(applied));
    Ok((env, path_var))
}

fn change_directory(context: &Context<'_>) -> Result<(), SetupError> {
    match &context.spec.process.chdir {
        Some(dir) => rustix::process::chdir(dir)
            .at(Step::Start, || format!("cannot change to the working directory {}", dir.display())),
        None => {
            // The caller's directory when the sandbox has one at the same path, else /.
            let fallback = PathBuf::from("/");
            let dir = context.caller.cwd.as_ref().filter(|dir| dir.is_dir()).unwrap_or(&fallback);
            if rustix::process::chdir(dir).is_err() {
                rustix::process::chdir("/").at(Step::Start, || "cannot change to /".into())?;
            }
            Ok(())
        }
    }
}

/// Gives the payload default signal dispositions and an empty mask, whatever airlock's
/// caller ignored or blocked: a trapped signal must reach the payload's handler.
///
/// `execve` resets every handled signal to its default already; only ignored ones survive
/// it, so only those are reset here.
pub(crate) fn reset_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for signal in Signal::iterator() {
        if signal != Signal::SIGKILL && signal != Signal::SIGSTOP && is_ignored(signal) {
            // SAFETY: installing SIG_DFL runs no code of ours in signal context.
            let _ = unsafe { sigaction(signal, &default) };
        }
    }
    let _ = SigSet::empty().thread_set_mask();
}

/// Tells whether `signal` is ignored; an error counts as ignored, so that it gets reset.
/// One query per signal costs less than reading `SigIgn` from `/proc/self/status`.
fn is_ignored(signal: nix::sys::signal::Signal) -> bool {
    let mut current = std::mem::MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: a null new action only reads the current one into `current`.
    let result = unsafe { libc::sigaction(signal as libc::c_int, std::ptr::null(), current.as_mut_ptr()) };
    if result != 0 {
        return true;
    }
    // SAFETY: the kernel filled `current` since the call succeeded.
    unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
}

/// Closes every descriptor above 2 at exec, except those the spec keeps.
pub(crate) fn pass_descriptors(keep: &[i32]) -> Result<(), SetupError> {
    crate::sys::cloexec_from(3).at(Step::Descriptors, || "cannot mark descriptors close-on-exec".into())?;
    for &fd in keep {
        crate::sys::clear_cloexec(fd).at(Step::Descriptors, || format!("cannot pass descriptor {fd}"))?;
    }
    Ok(())
}
