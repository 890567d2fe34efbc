//! `exec`: another process in a running named sandbox, with the payload's restrictions.
//!
//! ```text
//! airlock exec ──setns(pidfd of init: user, mnt, pid, net, ipc, uts, cgroup)──► in the
//!     │           sandbox's namespaces, with its root
//!     └─fork──► process: moved into the sandbox's cgroups, then ids, rlimits,
//!               capabilities, no_new_privs, Landlock, seccomp, exec
//! ```
//!
//! `airlock exec` itself stays outside the sandbox's PID namespace (joining one only takes
//! effect for children), waits for the process, forwards signals and relays the terminal.

use super::{NamedError, StateDir};
use crate::child::{AtStep, SetupError};
use crate::error::{describe, Error};
use crate::launch::channel::{ExitStatus, Step};
use crate::spec::{Caller, NamespaceKind, NsSource};
use nix::sys::signal::Signal;
use rustix::event::{poll, PollFd, PollFlags};
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

/// What to run in a sandbox, and how.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The program and its arguments, taken literally.
    pub command: Vec<String>,
    /// Variables set on top of the payload's environment.
    pub env: Vec<(String, String)>,
    /// The uid to run as; by default the payload's.
    pub uid: Option<u32>,
    /// The working directory; by default the payload's, else `/`.
    pub chdir: Option<PathBuf>,
    /// A pseudo-terminal of its own, relayed to the caller's.
    pub tty: bool,
    /// Join only these namespaces (the `ip netns exec` case), without the sandbox's
    /// restrictions. An ordinary user joins the user namespace too, since the others belong
    /// to it.
    pub only: Option<Vec<NamespaceKind>>,
}

/// Runs a command in the running sandbox `name` and returns how it ended.
///
/// The calling process must be single-threaded, as for [`crate::launch`].
pub fn exec(state: &StateDir, name: &str, options: &ExecOptions) -> Result<ExitStatus, Error> {
    if options.command.is_empty() {
        return Err(crate::spec::SpecError::NoCommand.into());
    }
    let record = state.read(name)?;
    let init = record.verify_running()?;
    let pidfd = init.open().ok_or_else(|| NamedError::NotRunning(name.to_string()))?;

    let mut spec = record.spec.clone();
    spec.process.command = options.command.clone();
    spec.process.tty = options.tty;
    for (key, value) in &options.env {
        spec.process.env.insert(key.clone(), value.clone());
    }
    if let Some(dir) = &options.chdir {
        spec.process.chdir = Some(dir.clone());
    }
    let caller = Caller::current();
    let mut ids = spec.resolve_ids(&caller)?;
    if let Some(uid) = options.uid {
        ids.uid = uid;
    }
    let restricted = options.only.is_none();
    let filter = if restricted { crate::security::seccomp::build(&spec)? } else { None };
    let mounts = crate::fs::plan(&spec);

    // The cgroup files are host paths, so they are opened before the mount namespace changes.
    let cgroups = CgroupFiles::open(&record.cgroups)?;

    let forwarder = crate::launch::signals::Forwarder::install().map_err(|error| Error::io("cannot set up signal forwarding", error))?;
    join(&pidfd, init.pid, &spec, options.only.as_deref())?;

    let terminal = if options.tty {
        let (master, slave) = crate::child::terminal::open().map_err(setup_error)?;
        Some((master, slave))
    } else {
        None
    };
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|error| Error::io("cannot create the report pipe", error.into()))?;
    let (go_read, go_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|error| Error::io("cannot create the start pipe", error.into()))?;

    // SAFETY: the caller is single-threaded, so the child may run arbitrary code.
    let child = match unsafe { libc::fork() } {
        -1 => return Err(Error::io("cannot fork the process", std::io::Error::last_os_error())),
        0 => {
            drop(report_read);
            drop(go_write);
            let mut byte = [0u8; 1];
            if !matches!(rustix::io::read(&go_read, &mut byte), Ok(1)) {
                crate::child::exit_now(125);
            }
            if let Err(message) = cgroups.join_v1().and_then(|()| cgroups.check_limit(0)) {
                let _ = rustix::io::write(&report_write, format!("125:{message}").as_bytes());
                crate::child::exit_now(125);
            }
            let slave = terminal.as_ref().map(|(_, slave)| slave.as_path());
            let failure = run_process(&spec, &ids, &caller, slave, &mounts, filter.as_deref(), restricted);
            let (code, message) = failure;
            let _ = rustix::io::write(&report_write, format!("{code}:{message}").as_bytes());
            crate::child::exit_now(i32::from(code))
        }
        pid => pid,
    };
    drop(report_write);
    drop(go_read);

    if let Err(error) = cgroups.attach_v2(child) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
        return Err(error);
    }
    let _ = rustix::io::write(&go_write, b"x");
    drop(go_write);

    let mut relay = match terminal {
        Some((master, _)) => Some(crate::launch::terminal::Relay::start(master).map_err(|error| Error::io("cannot relay the terminal", error))?),
        None => None,
    };
    let status = wait(child, &forwarder, relay.as_mut())?;
    drop(relay);

    let mut report = String::new();
    let _ = std::fs::File::from(report_read).read_to_string(&mut report);
    if let Some((code, message)) = report.split_once(':') {
        let code: u8 = code.parse().unwrap_or(125);
        return Err(if code == 125 {
            Error::Setup { step: Step::Start, message: message.to_string() }
        } else {
            Error::Exec { code, message: message.to_string() }
        });
    }
    Ok(status)
}

fn setup_error(error: SetupError) -> Error {
    Error::Setup { step: error.step, message: error.message }
}

/// Joins the sandbox's namespaces: all that differ from this process's, or `only`.
fn join(pidfd: &OwnedFd, pid: i32, spec: &crate::spec::Spec, only: Option<&[NamespaceKind]>) -> Result<(), Error> {
    let root = rustix::process::geteuid().is_root();
    let mut wanted: Vec<NamespaceKind> = match only {
        Some(kinds) => kinds.to_vec(),
        None => vec![
            NamespaceKind::User,
            NamespaceKind::Mount,
            NamespaceKind::Pid,
            NamespaceKind::Net,
            NamespaceKind::Ipc,
            NamespaceKind::Uts,
            NamespaceKind::Cgroup,
        ],
    };
    if !root && !wanted.contains(&NamespaceKind::User) {
        wanted.push(NamespaceKind::User);
    }
    let mut flags = 0;
    for kind in &wanted {
        let theirs = super::process::namespace_id(pid, kind.proc_name());
        let ours = super::process::namespace_id(std::process::id() as i32, kind.proc_name());
        if theirs != ours && *kind != NamespaceKind::Time {
            flags |= kind.clone_flag() as i32;
        }
    }
    // SAFETY: setns takes a descriptor and flags; this process is single-threaded, which
    // joining a user namespace requires.
    if flags != 0 && unsafe { libc::setns(pidfd.as_raw_fd(), flags) } == -1 {
        let error = std::io::Error::last_os_error();
        return Err(Error::Setup {
            step: Step::Start,
            message: format!("cannot join the sandbox's namespaces: {}", crate::error::describe(&error)),
        });
    }
    // Init created the payload's time namespace for its children only.
    let wants_time = only.is_none_or(|kinds| kinds.contains(&NamespaceKind::Time));
    if wants_time && spec.namespaces.time == NsSource::New {
        let file = std::fs::File::open(format!("/proc/{pid}/ns/time_for_children"))
            .map_err(|error| Error::io("cannot open the sandbox's time namespace", error))?;
        // SAFETY: as above.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWTIME) } == -1 {
            return Err(Error::io("cannot join the sandbox's time namespace", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// The sandbox's cgroup files that an exec'd process joins. On cgroup v1 the process moves
/// itself by writing `0` to `tasks`, so it skips the global lock and its RCU grace period
/// (see `Cgroups::v1_tasks`). v2 has no `tasks` file, so the process is moved through
/// `cgroup.procs`.
struct CgroupFiles {
    v1_tasks: Vec<(PathBuf, OwnedFd)>,
    v2_procs: Vec<(PathBuf, OwnedFd)>,
    /// `pids.current` of the group with a process limit, and that limit. Moving a process
    /// into a cgroup ignores the limit, so `exec` checks it before the move and again after
    /// it, since several execs at once all pass the first check.
    pids: Option<(OwnedFd, u64)>,
}

impl CgroupFiles {
    fn open(dirs: &[PathBuf]) -> Result<CgroupFiles, Error> {
        let mut files = CgroupFiles { v1_tasks: Vec::new(), v2_procs: Vec::new(), pids: None };
        for dir in dirs {
            let max = std::fs::read_to_string(dir.join("pids.max")).ok().and_then(|text| text.trim().parse::<u64>().ok());
            let current = rustix::fs::open(dir.join("pids.current"), rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty());
            if let (Some(max), Ok(current)) = (max, current) {
                files.pids = Some((current, max));
            }
            if let Ok(fd) = crate::cgroup::open_for_writing(&dir.join("tasks")) {
                files.v1_tasks.push((dir.clone(), fd));
                continue;
            }
            let procs = dir.join("cgroup.procs");
            let fd = crate::cgroup::open_for_writing(&procs).map_err(|error| Error::io(format!("cannot open {}", procs.display()), error))?;
            files.v2_procs.push((dir.clone(), fd));
        }
        // The process about to join counts too.
        files.check_limit(1).map_err(|message| Error::io(message, std::io::Error::from_raw_os_error(libc::EAGAIN)))?;
        Ok(files)
    }

    /// Moves the calling process, which must have one thread, into the v1 cgroups.
    fn join_v1(&self) -> Result<(), String> {
        for (dir, tasks) in &self.v1_tasks {
            rustix::io::write(tasks, b"0")
                .map_err(|error| format!("cannot move the process into the cgroup {}: {}", dir.display(), describe(&std::io::Error::from(error))))?;
        }
        Ok(())
    }

    /// Fails when the processes in the group, plus `joining` processes not counted yet,
    /// exceed the process limit.
    fn check_limit(&self, joining: u64) -> Result<(), String> {
        let Some((current, max)) = &self.pids else {
            return Ok(());
        };
        let mut text = [0u8; 32];
        let read = rustix::io::pread(current, &mut text, 0).unwrap_or(0);
        let count = std::str::from_utf8(&text[..read]).ok().and_then(|text| text.trim().parse::<u64>().ok());
        match count {
            Some(count) if count + joining > *max => Err(format!("cannot run another process in the sandbox: its process limit ({max}) is reached")),
            _ => Ok(()),
        }
    }

    /// Moves the process `pid` into the v2 cgroup.
    fn attach_v2(&self, pid: i32) -> Result<(), Error> {
        for (dir, procs) in &self.v2_procs {
            rustix::io::write(procs, pid.to_string().as_bytes())
                .map_err(|error| Error::io(format!("cannot move the process into the cgroup {}", dir.display()), error.into()))?;
        }
        Ok(())
    }
}

/// Sets up and executes the process; returns only on failure, with its exit code and message.
fn run_process(
    spec: &crate::spec::Spec,
    ids: &crate::spec::validate::ResolvedIds,
    caller: &Caller,
    terminal: Option<&std::path::Path>,
    mounts: &[crate::spec::Mount],
    filter: Option<&[crate::security::seccomp::Instruction]>,
    restricted: bool,
) -> (u8, String) {
    let prepared = (|| -> Result<(Vec<CString>, String), SetupError> {
        rustix::process::setsid().at(Step::Start, || "cannot start a new session".into())?;
        if let Some(slave) = terminal {
            crate::child::terminal::attach(slave)?;
        }
        if restricted {
            crate::child::identity::become_ids(ids)?;
        }
        let caller_env: Vec<(String, String)> = std::env::vars().collect();
        let env = crate::child::env::build(spec, caller, &caller_env, ids.uid);
        let path_var = env.get("PATH").cloned().unwrap_or_default();
        let env: Vec<CString> = env
            .iter()
            .filter_map(|(key, value)| CString::new(format!("{key}={value}")).ok())
            .collect();
        let dir = spec.process.chdir.clone().unwrap_or_else(|| PathBuf::from("/"));
        rustix::process::chdir(&dir).at(Step::Start, || format!("cannot change to the working directory {}", dir.display()))?;
        crate::child::payload::reset_signals();
        crate::child::payload::pass_descriptors(&[])?;
        if restricted {
            crate::security::restrict(spec, ids.uid, mounts, filter)?;
        }
        Ok((env, path_var))
    })();
    match prepared {
        Err(error) => (125, error.message),
        Ok((env, path_var)) => {
            let failure = crate::child::exec::execute(&spec.process.command, &env, &path_var);
            (failure.code, failure.message)
        }
    }
}

/// Waits for the process, forwarding signals and relaying the terminal.
fn wait(child: i32, forwarder: &crate::launch::signals::Forwarder, mut relay: Option<&mut crate::launch::terminal::Relay>) -> Result<ExitStatus, Error> {
    let pid = rustix::process::Pid::from_raw(child).expect("fork returns a positive PID");
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .map_err(|error| Error::io("cannot watch the process", error.into()))?;
    loop {
        let stdin = rustix::stdio::stdin();
        let mut fds = vec![PollFd::new(&forwarder.fd, PollFlags::IN), PollFd::new(&pidfd, PollFlags::IN)];
        let (master_index, stdin_index) = match relay.as_deref() {
            Some(relay) => relay.poll_on(&mut fds, stdin),
            None => (None, None),
        };
        match poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(Error::io("cannot wait for the process", error.into())),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|fd| fd.revents()).collect();
        drop(fds);
        if !ready[0].is_empty() {
            while let Ok(Some(info)) = forwarder.fd.read_signal() {
                if let Ok(signal) = Signal::try_from(info.ssi_signo as i32) {
                    if signal == Signal::SIGWINCH {
                        if let Some(relay) = relay.as_deref() {
                            relay.resize();
                            continue;
                        }
                    }
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), signal);
                }
            }
        }
        if let Some(relay) = relay.as_deref_mut() {
            if let Some(index) = master_index {
                if ready[index].contains(PollFlags::OUT) {
                    relay.write_input();
                }
                if ready[index].intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                    relay.copy_output();
                }
            }
            if stdin_index.is_some_and(|index| !ready[index].is_empty()) {
                relay.read_input();
            }
        }
        if !ready[1].is_empty() {
            break;
        }
    }
    if let Some(relay) = relay {
        relay.drain();
    }
    match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None) {
        Ok(status) => Ok(ExitStatus::from_wait(status).unwrap_or(ExitStatus::Exited(125))),
        Err(error) => Err(Error::io("cannot reap the process", error.into())),
    }
}
