//! `create`: starting a named sandbox under a supervisor that runs in the background.

use super::{now, ExitRecord, NamedError, ProcessRef, Record, StateDir};
use crate::error::Error;
use crate::launch::{launch, LaunchOptions};
use crate::spec::{Caller, Spec};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::os::fd::{AsRawFd, OwnedFd};

/// What the background supervisor tells `create` once the payload runs or failed to start.
#[derive(serde::Serialize, serde::Deserialize)]
enum Report {
    Started,
    Failed { code: u8, message: String },
}

/// Starts a named sandbox in the background and returns its record once the payload runs.
///
/// The supervisor is a daemon: it leaves the caller's session, takes `/dev/null` as its
/// input and the sandbox's log as its output (which the payload inherits), and records the
/// payload's end. On failure nothing stays: neither the record nor a process.
///
/// The calling process must be single-threaded, as for [`launch`].
pub fn create(state: &StateDir, name: &str, spec: &Spec) -> Result<Record, Error> {
    spec.validate(&Caller::current())?;
    let slot = {
        let _lock = state.lock()?;
        state.claim(name)?
    };
    let record = Record {
        name: name.to_string(),
        spec: spec.clone(),
        created: now(),
        supervisor: None,
        init: None,
        namespaces: BTreeMap::new(),
        cgroups: Vec::new(),
        applied: None,
        addresses: Vec::new(),
        exit: None,
    };
    let result = start_daemon(state, &slot, record);
    if result.is_err() {
        let _lock = state.lock();
        let _ = state.remove(name);
    }
    result
}

fn start_daemon(state: &StateDir, slot: &std::path::Path, record: Record) -> Result<Record, Error> {
    state.write(&record)?;
    let shm = slot.join("shm");
    std::fs::DirBuilder::new()
        .mode(0o1777)
        .create(&shm)
        .map_err(|e| NamedError::io("create", &shm, e))?;
    // The mode passed to mkdir loses the sticky bit to the umask; set it explicitly.
    std::fs::set_permissions(&shm, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).map_err(|e| NamedError::io("create", &shm, e))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(slot.join("log"))
        .map_err(|e| NamedError::io("create", &slot.join("log"), e))?;
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|error| Error::io("cannot create the report pipe", error.into()))?;

    // SAFETY: the caller is single-threaded (as launch requires), so the child may run
    // arbitrary code after the fork.
    match unsafe { libc::fork() } {
        -1 => return Err(Error::io("cannot start the supervisor", std::io::Error::last_os_error())),
        0 => {
            drop(report_read);
            // The second fork leaves an orphan that init adopts, so the caller has no child
            // to reap and the supervisor outlives it.
            // SAFETY: as above; this process is single-threaded too.
            match unsafe { libc::fork() } {
                0 => supervise(state, record, &log, report_write, shm),
                _ => crate::child::exit_now(0),
            }
        }
        child => {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
        }
    }
    drop(report_write);

    // One line, not the end of file: the sandbox's init inherits the pipe's write end.
    let mut line = String::new();
    let _ = std::io::BufReader::new(std::fs::File::from(report_read)).read_line(&mut line);
    match serde_json::from_str::<Report>(line.trim()) {
        Ok(Report::Started) => Ok(state.read(&record_name(slot))?),
        Ok(Report::Failed { code, message }) => Err(if code == 125 {
            Error::Setup { step: crate::launch::channel::Step::Start, message }
        } else {
            Error::Exec { code, message }
        }),
        Err(_) => Err(Error::io("the sandbox's supervisor ended without a report", std::io::Error::other("no report"))),
    }
}

fn record_name(slot: &std::path::Path) -> String {
    slot.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The background supervisor: launches, records, reports, waits, records the end.
fn supervise(state: &StateDir, mut record: Record, log: &std::fs::File, report: OwnedFd, shm: std::path::PathBuf) -> ! {
    let _ = rustix::process::setsid();
    redirect_stdio(log);
    let send = |message: &Report| {
        if let Ok(mut text) = serde_json::to_vec(message) {
            text.push(b'\n');
            let _ = rustix::io::write(&report, &text);
        }
    };

    let options = LaunchOptions {
        shm_dir: Some(shm),
        ..LaunchOptions::default()
    };
    let sandbox = match launch(&record.spec, &options) {
        Ok(sandbox) => sandbox,
        Err(error) => {
            send(&Report::Failed { code: error.exit_code(), message: error.to_string() });
            crate::child::exit_now(i32::from(error.exit_code()));
        }
    };

    record.supervisor = ProcessRef::of(std::process::id() as i32);
    record.init = ProcessRef::of(sandbox.pid());
    record.applied = sandbox.applied().cloned();
    record.cgroups = sandbox.cgroup_paths();
    record.addresses = sandbox.addresses();
    for kind in crate::spec::NamespaceKind::ALL {
        let file = if kind == crate::spec::NamespaceKind::Time { "time_for_children" } else { kind.proc_name() };
        if let Some(id) = super::process::namespace_id(sandbox.pid(), file) {
            record.namespaces.insert(kind.proc_name().to_string(), id);
        }
    }
    let written = state.lock().and_then(|_lock| state.write(&record));
    if let Err(error) = written {
        send(&Report::Failed { code: 125, message: error.to_string() });
        crate::child::exit_now(125);
    }
    send(&Report::Started);
    drop(report);

    let outcome = sandbox.wait();
    let (status, limit) = match outcome {
        Ok(outcome) => (outcome.status, outcome.limit),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "airlock: {error}");
            (crate::ExitStatus::Exited(125), None)
        }
    };
    record.exit = Some(ExitRecord { status, limit, at: now() });
    if let Ok(_lock) = state.lock() {
        // The record is gone when the sandbox was removed while it ran.
        if state.read(&record.name).is_ok() {
            let _ = state.write(&record);
        }
    }
    crate::child::exit_now(0)
}

/// Points standard input at `/dev/null` and standard output and error at the log.
fn redirect_stdio(log: &std::fs::File) {
    if let Ok(null) = std::fs::File::open("/dev/null") {
        // SAFETY: dup2 onto the standard descriptors of this single-threaded process.
        unsafe { libc::dup2(null.as_raw_fd(), 0) };
    }
    // SAFETY: as above.
    unsafe {
        libc::dup2(log.as_raw_fd(), 1);
        libc::dup2(log.as_raw_fd(), 2);
    }
}

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
