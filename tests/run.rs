//! `airlock run`: namespaces, ids, PID 1, exit statuses, signals, descriptors and terminals,
//! each as root and as the unprivileged test user.

mod common;

use common::*;
use rstest::rstest;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

#[rstest]
fn ps_shows_only_sandbox(#[values(As::Root, As::User)] who: As) {
    let host_pid = std::process::id();
    let out = run(
        who,
        ["run", "--", "sh", "-c", &format!("ps -eo pid=,comm=; echo self=$$; kill -0 {host_pid} 2>/dev/null && echo host-visible; true")],
    );
    out.expect_success();
    let pids: Vec<&str> = out.stdout.lines().filter(|l| !l.starts_with("self=")).collect();
    assert_eq!(pids.len(), 3, "expected init, sh and ps only: {pids:?}");
    assert!(pids[0].trim().starts_with("1 "), "PID 1 should be init: {pids:?}");
    assert!(out.stdout.contains("self=2\n"), "payload should be PID 2: {}", out.stdout);
    assert!(!out.stdout.contains("host-visible"), "a host process could be signalled");
}

#[rstest]
fn as_pid_1_runs_payload_as_pid_1(#[values(As::Root, As::User)] who: As) {
    let out = run(who, ["run", "--as-pid-1", "--", "sh", "-c", "echo self=$$; ps -o comm= -p 1"]);
    out.expect_success();
    assert_eq!(out.stdout_lines(), vec!["self=1", "sh"]);
}

#[rstest]
fn ids_default_to_caller(#[values(As::Root, As::User)] who: As) {
    let out = run(who, ["run", "--", "sh", "-c", "id -u; id -g"]);
    out.expect_success();
    let (uid, gid) = match who {
        As::Root => (0, 0),
        As::User => test_user_ids(),
    };
    assert_eq!(out.stdout_lines(), vec![uid.to_string(), gid.to_string()]);
}

#[rstest]
fn requested_ids_apply(#[values(As::Root, As::User)] who: As) {
    let out = run(who, ["run", "--uid", "0", "--gid", "0", "--", "sh", "-c", "id -u; id -g"]);
    out.expect_success();
    assert_eq!(out.stdout_lines(), vec!["0", "0"]);
    let out = run(who, ["run", "--uid", "1234", "--gid", "4321", "--", "sh", "-c", "id -u; id -g"]);
    out.expect_success();
    assert_eq!(out.stdout_lines(), vec!["1234", "4321"]);
}

#[rstest]
fn range_map_is_complete(#[values(As::Root, As::User)] who: As) {
    let (own_uid, own_gid) = match who {
        As::Root => (0, 0),
        As::User => test_user_ids(),
    };
    let start = subordinate_start(who);
    let users = [format!("0:{own_uid}:1"), format!("1:{start}:1000")];
    let groups = [format!("0:{own_gid}:1"), format!("1:{start}:1000")];
    let out = run(
        who,
        [
            "run", "--map-users", &users[0], "--map-users", &users[1], "--map-groups", &groups[0], "--map-groups",
            &groups[1], "--", "sh", "-c", "cat /proc/self/uid_map; id -u",
        ],
    );
    out.expect_success();
    let lines: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], vec!["0", &own_uid.to_string(), "1"]);
    assert_eq!(lines[1], vec!["1", &start.to_string(), "1000"]);
    assert_eq!(lines[2], vec!["0"]);
}

/// The first subordinate uid of the test user (root may map any range; use the same one).
fn subordinate_start(_who: As) -> u32 {
    let text = std::fs::read_to_string("/etc/subuid").unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{TEST_USER}:")))
        .and_then(|rest| rest.split(':').next())
        .map(|start| start.parse().unwrap())
        .expect("the test user has no /etc/subuid range: run .ci/setup")
}

#[rstest]
fn orphans_are_reaped(#[values(As::Root, As::User)] who: As) {
    // 50 grandchildren that outlive their parents; init must reap every one.
    let script = "for i in $(seq 50); do (sleep 0.2 &); done; sleep 1; ps -eo stat= | grep -c '^Z' || true";
    let out = run(who, ["run", "--", "sh", "-c", script]);
    out.expect_success();
    assert_eq!(out.stdout.trim(), "0", "zombies were left: {}", out.stdout);
}

#[rstest]
fn exit_codes_pass_through(#[values(As::Root, As::User)] who: As) {
    for (script, code) in [
        ("exit 0", 0),
        ("exit 1", 1),
        ("exit 42", 42),
        ("exit 255", 255),
        ("kill -KILL $$", 137),
        ("kill -SEGV $$", 139),
        ("kill -TERM $$", 143),
    ] {
        let out = run(who, ["run", "--", "sh", "-c", script]);
        assert_eq!(out.code, Some(code), "{script}: stderr {}", out.stderr);
        assert!(out.stderr.is_empty(), "{script}: airlock printed {}", out.stderr);
    }
}

#[rstest]
fn unrunnable_commands_fail_clearly(#[values(As::Root, As::User)] who: As) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "echo hi\n").unwrap();
    std::fs::set_permissions(&plain, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let script = dir.path().join("script");
    std::fs::write(&script, "#!/no/such/interpreter\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let cases = [
        ("airlock-no-such-command", 127, "command not found"),
        ("/no/such/file", 127, "no such file"),
        ("/t", 126, "is a directory"),
        ("/t/plain", 126, "permission denied"),
        ("/t/script", 126, "/no/such/interpreter"),
    ];
    let host_dir = dir.path().display().to_string();
    for (command, code, text) in cases {
        let mut args: Vec<String> = vec!["run".into()];
        args.extend(system());
        args.extend(["--ro-bind", &host_dir, "/t", "--", command].map(String::from));
        let out = run(who, &args);
        assert_eq!(out.code, Some(code), "{command}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{command}: expected one line, got {lines:?}");
        assert!(lines[0].starts_with("airlock: "), "{}", lines[0]);
        assert!(lines[0].contains(text), "{command}: {}", lines[0]);
    }
}

#[rstest]
fn literal_arguments_after_separator(#[values(As::Root, As::User)] who: As) {
    let out = run(who, ["run", "--", "--bind", "/", "/"]);
    out.expect_code(127);
    assert!(out.stderr.contains("cannot run --bind"), "{}", out.stderr);
    let out = run(who, ["run", "sh", "-c", "echo $0 $1", "--uid", "5"]);
    out.expect_success();
    assert_eq!(out.stdout.trim(), "--uid 5");
}

#[rstest]
fn inherited_descriptor_is_closed(#[values(As::Root, As::User)] who: As) {
    let listing = |extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sh", "-c", "ls /proc/self/fd"]);
        let mut command = airlock(who, args);
        // A descriptor left open without close-on-exec, as a careless caller would.
        let file = std::fs::File::open("/etc/hostname").unwrap();
        inherit_fd(&mut command, file.as_raw_fd(), 9);
        let out = run_command(command);
        drop(file);
        out
    };
    let out = listing(&[]);
    out.expect_success();
    let fds: Vec<&str> = out.stdout.split_whitespace().collect();
    assert!(!fds.contains(&"9"), "descriptor 9 leaked into the sandbox: {fds:?}");
    assert!(fds.iter().all(|fd| fd.parse::<i32>().unwrap() <= 3), "{fds:?}");

    let out = listing(&["--keep-fd", "9"]);
    out.expect_success();
    assert!(out.stdout.split_whitespace().any(|fd| fd == "9"), "--keep-fd 9 was not kept: {}", out.stdout);
}

#[rstest]
fn forwarded_signals_reach_payload(#[values(As::Root, As::User)] who: As) {
    let signals = ["TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "WINCH", "CONT"];
    let traps: String = signals.iter().map(|s| format!("trap 'echo got-{s}' {s}; ")).collect();
    let script = format!("{traps} echo ready; i=0; while [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done");
    let mut command = airlock(who, ["run", "--", "sh", "-c", &script]);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(count) = stdout.read(&mut buffer) {
            if count == 0 || sender.send(String::from_utf8_lossy(&buffer[..count]).to_string()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |text: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(text) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match receiver.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&chunk),
                Err(_) => return false,
            }
        }
        true
    };
    assert!(wait_for("ready"), "the payload never started");
    for signal in signals {
        let number = nix::sys::signal::Signal::try_from(signal_number(signal)).unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), number).unwrap();
        assert!(wait_for(&format!("got-{signal}")), "SIG{signal} did not reach the payload");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

fn signal_number(name: &str) -> i32 {
    match name {
        "TERM" => libc::SIGTERM,
        "INT" => libc::SIGINT,
        "HUP" => libc::SIGHUP,
        "QUIT" => libc::SIGQUIT,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "WINCH" => libc::SIGWINCH,
        "CONT" => libc::SIGCONT,
        _ => unreachable!(),
    }
}

#[rstest]
fn sigkill_of_airlock_ends_sandbox(#[values(As::Root, As::User)] who: As) {
    let (status_read, status_write) = nix::unistd::pipe().unwrap();
    let mut command = airlock(who, ["run", "--json-status-fd", "5", "--", "sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000"]);
    inherit_fd(&mut command, status_write.as_raw_fd(), 5);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    drop(status_write);

    let start = read_status_line(&status_read);
    let sandbox_pid = start["pid"].as_i64().unwrap() as i32;
    assert!(eventually(Duration::from_secs(10), || descendants(sandbox_pid).len() >= 4), "payload did not start its children");
    let mut everyone = descendants(sandbox_pid);
    everyone.push(sandbox_pid);

    child.kill().unwrap();
    child.wait().unwrap();
    let gone = eventually(Duration::from_secs(1), || everyone.iter().all(|pid| !process_alive(*pid)));
    let left: Vec<i32> = everyone.iter().copied().filter(|pid| process_alive(*pid)).collect();
    assert!(gone, "processes outlived airlock by more than a second: {left:?}");
}

/// airlock returns as soon as init reports the payload's status, without waiting for init
/// itself to exit. By then every other process of the sandbox must be gone. With a shared
/// PID namespace the kernel ends nothing when init exits, so init itself must kill the
/// payload's descendants, orphans included, before it reports.
#[rstest]
fn nothing_of_the_sandbox_runs_after_airlock_returns(#[values(As::Root, As::User)] who: As, #[values(false, true)] share_pid: bool) {
    let (status_read, status_write) = nix::unistd::pipe().unwrap();
    let script = "sleep 1000 & sleep 1000 & (sleep 1000 &); read line || true";
    let share: &[&str] = if share_pid { &["--share", "pid"] } else { &[] };
    let args: Vec<&str> = ["run", "--json-status-fd", "5"].into_iter().chain(share.iter().copied()).chain(["--", "sh", "-c", script]).collect();
    let mut command = airlock(who, args);
    inherit_fd(&mut command, status_write.as_raw_fd(), 5);
    command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    drop(status_write);

    let start = read_status_line(&status_read);
    let init = start["pid"].as_i64().unwrap() as i32;
    assert!(eventually(Duration::from_secs(10), || descendants(init).len() >= 4), "the payload did not start its children");
    let others = descendants(init);

    // The payload ends when its standard input closes.
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let left: Vec<i32> = others.iter().copied().filter(|pid| process_alive(*pid)).collect();
    assert!(left.is_empty(), "processes of the sandbox still ran when airlock returned: {left:?}");
}

fn read_status_line(fd: &OwnedFd) -> serde_json::Value {
    let mut file = std::fs::File::from(fd.try_clone().unwrap());
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while file.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    serde_json::from_slice(&line).expect("a JSON status line")
}

#[rstest]
fn json_status_reports_start_and_exit(#[values(As::Root, As::User)] who: As) {
    let out = run(who, ["run", "--json-status-fd", "1", "--", "sh", "-c", "exit 3"]);
    out.expect_code(3);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0]["event"], "start");
    assert!(lines[0]["pid"].as_i64().unwrap() > 1);
    let own_user_ns = std::fs::read_link("/proc/self/ns/user").unwrap();
    let own_id: u64 = own_user_ns.to_str().unwrap().trim_start_matches("user:[").trim_end_matches(']').parse().unwrap();
    assert_ne!(lines[0]["namespaces"]["user"].as_u64().unwrap(), own_id);
    assert_eq!(lines[1]["event"], "exit");
    assert_eq!(lines[1]["exit_code"], 3);

    let out = run(who, ["run", "--json-status-fd", "1", "--", "sh", "-c", "kill -TERM $$"]);
    out.expect_code(143);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[1]["signal"], 15);
}

#[rstest]
fn caller_signal_state_does_not_matter(#[values(As::Root, As::User)] who: As) {
    let mut command = airlock(who, ["run", "--", "sh", "-c", "(sleep 0.1 &); sleep 0.3; exit 7"]);
    // SAFETY: sigprocmask and signal are async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = run_command(command);
    out.expect_code(7);

    // A payload that traps TERM still gets it, though the caller blocked everything.
    let mut command = airlock(who, ["run", "--", "sh", "-c", "trap 'exit 9' TERM; kill -TERM $$; sleep 5; exit 1"]);
    // SAFETY: as above.
    unsafe {
        command.pre_exec(|| {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
            Ok(())
        });
    }
    run_command(command).expect_code(9);
}

#[rstest]
fn bad_options_give_one_line(#[values(As::Root, As::User)] who: As) {
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", "--share", "bogus", "--", "true"],
        vec!["run", "--map-users", "0:1000", "--", "true"],
        vec!["run", "--map-users", "0:100000:0", "--", "true"],
        vec!["run", "--map-users", "0:100000:10", "--map-users", "5:200000:10", "--", "true"],
        vec!["run", "--unshare", "net", "--", "true"],
        vec!["run", "--keep-fd", "77", "--", "true"],
        vec!["run", "--hostname", "a/b", "--", "true"],
    ];
    for args in cases {
        let out = run(who, &args);
        assert_eq!(out.code, Some(125), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("airlock: "), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn share_user_refused_for_ordinary_user() {
    let out = run(As::User, ["run", "--share", "user", "--", "true"]);
    out.expect_code(125);
    assert!(out.stderr.contains("root only"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1);

    let out = run(As::User, ["run", "--map-users", "0:5000000:10", "--map-groups", "0:5000000:10", "--uid", "0", "--gid", "0", "--", "true"]);
    out.expect_code(125);
    assert!(out.stderr.contains("/etc/subuid"), "{}", out.stderr);
}

#[test]
fn share_user_as_root_runs_with_real_ids() {
    let out = run(As::Root, ["run", "--share", "user", "--uid", "65534", "--", "sh", "-c", "id -u; grep CapEff /proc/self/status"]);
    out.expect_success();
    assert_eq!(out.stdout_lines()[0], "65534");
    assert!(out.stdout.contains("0000000000000000"), "{}", out.stdout);
    let own = std::fs::read_link("/proc/self/ns/user").unwrap();
    let out = run(As::Root, ["run", "--share", "user", "--", "readlink", "/proc/self/ns/user"]);
    assert_eq!(out.stdout.trim(), own.to_str().unwrap());
}

#[rstest]
fn namespaces_are_new_unless_shared(#[values(As::Root, As::User)] who: As) {
    let kinds = ["net", "ipc", "uts", "pid", "cgroup", "mnt", "user"];
    let script: String = kinds.iter().map(|k| format!("readlink /proc/self/ns/{k}; ")).collect();
    let host: Vec<String> = kinds.iter().map(|k| std::fs::read_link(format!("/proc/self/ns/{k}")).unwrap().display().to_string()).collect();

    let out = run(who, ["run", "--", "sh", "-c", &script]);
    out.expect_success();
    for (inside, outside) in out.stdout_lines().iter().zip(&host) {
        assert_ne!(inside, outside, "namespace not new");
    }

    let out = run(who, ["run", "--share", "net", "--share", "ipc", "--share", "uts", "--", "sh", "-c", &script]);
    out.expect_success();
    let lines = out.stdout_lines();
    assert_eq!(lines[0], host[0]);
    assert_eq!(lines[1], host[1]);
    assert_eq!(lines[2], host[2]);
    assert_ne!(lines[3], host[3]);
}

#[rstest]
fn time_namespace_on_request(#[values(As::Root, As::User)] who: As) {
    let host = std::fs::read_link("/proc/self/ns/time").unwrap().display().to_string();
    let out = run(who, ["run", "--unshare", "time", "--", "readlink", "/proc/self/ns/time"]);
    out.expect_success();
    assert_ne!(out.stdout.trim(), host);
    let out = run(who, ["run", "--", "readlink", "/proc/self/ns/time"]);
    assert_eq!(out.stdout.trim(), host);
}

#[rstest]
fn network_has_only_loopback(#[values(As::Root, As::User)] who: As) {
    let out = run(who, ["run", "--", "cat", "/proc/net/dev"]);
    out.expect_success();
    let interfaces: Vec<&str> = out.stdout.lines().skip(2).map(|l| l.split(':').next().unwrap().trim()).collect();
    assert_eq!(interfaces, vec!["lo"]);
    let out = run(who, ["run", "--", "ip", "-o", "link", "show", "lo"]);
    out.expect_success();
    assert!(out.stdout.contains(",UP,"), "lo is not up: {}", out.stdout);
}

/// A helper makes the network namespace while the sandbox builds its mounts, and the
/// sandbox may have switched to a root without /proc by then. The test repeats, because
/// that depends on which of the two is faster.
#[rstest]
fn network_without_proc_at_root(#[values(As::Root, As::User)] who: As) {
    let system = system();
    let system: Vec<&str> = system.iter().map(String::as_str).collect();
    for round in 0..10 {
        let args: Vec<&str> = ["run"].into_iter().chain(system.iter().copied()).chain(["--proc", "/elsewhere", "--", "sh", "-c", "echo $$; cat /elsewhere/net/dev"]).collect();
        let out = run(who, args);
        out.expect_success();
        let lines = out.stdout_lines();
        assert_eq!(lines[0], "2", "round {round}: the payload is not PID 2");
        let interfaces: Vec<&str> = lines[3..].iter().map(|line| line.split(':').next().unwrap().trim()).collect();
        assert_eq!(interfaces, vec!["lo"], "round {round}");

        let args: Vec<&str> = ["run", "--share", "pid"].into_iter().chain(system.iter().copied()).chain(["--", "true"]).collect();
        run(who, args).expect_success();
    }
}

#[rstest]
fn environment_starts_clean(#[values(As::Root, As::User)] who: As) {
    let mut command = airlock(who, ["run", "--env", "ADDED=1", "--env-keep", "KEPT", "--", "env"]);
    command.env("LD_PRELOAD", "/no/such/lib.so").env("SECRET", "x").env("KEPT", "yes").env("TERM", "dumb");
    let out = run_command(command);
    out.expect_success();
    let names: Vec<&str> = out.stdout.lines().map(|l| l.split('=').next().unwrap()).collect();
    for name in ["PATH", "HOME", "USER", "ADDED", "KEPT", "TERM", "LANG"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert!(!names.contains(&"LD_PRELOAD"));
    assert!(!names.contains(&"SECRET"));
}

#[rstest]
fn hostname_and_chdir(#[values(As::Root, As::User)] who: As) {
    let out = run(who, ["run", "--", "hostname"]);
    assert_eq!(out.stdout.trim(), "airlock");
    let out = run(who, ["run", "--hostname", "build-7", "--chdir", "/usr", "--", "sh", "-c", "hostname; pwd"]);
    out.expect_success();
    assert_eq!(out.stdout_lines(), vec!["build-7", "/usr"]);
}

/// airlock running with a pseudo-terminal as its controlling terminal and standard streams,
/// as when a person runs it in a terminal window; a thread collects what it writes.
struct OnTerminal {
    child: std::process::Child,
    master: std::fs::File,
    slave: OwnedFd,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl OnTerminal {
    fn spawn(who: As, args: &[&str]) -> OnTerminal {
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut command = airlock(who, args);
        let slave_raw = pty.slave.as_raw_fd();
        // SAFETY: setsid, ioctl and dup2 are async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(move || {
                libc::setsid();
                if libc::ioctl(slave_raw, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                for fd in 0..3 {
                    libc::dup2(slave_raw, fd);
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        let mut master = std::fs::File::from(pty.master.try_clone().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = std::thread::spawn({
            let seen = seen.clone();
            move || {
                let mut buffer = [0u8; 4096];
                // Ends with EIO once no slave descriptor is open.
                while let Ok(count) = master.read(&mut buffer) {
                    if count == 0 {
                        break;
                    }
                    seen.lock().unwrap().extend_from_slice(&buffer[..count]);
                }
            }
        });
        OnTerminal {
            child,
            master: std::fs::File::from(pty.master),
            slave: pty.slave,
            seen,
            reader,
        }
    }

    /// Waits until airlock has written `text`; returns whether it did within ten seconds.
    fn wait_for(&self, text: &str) -> bool {
        eventually(Duration::from_secs(10), || String::from_utf8_lossy(&self.seen.lock().unwrap()).contains(text))
    }

    /// Waits for airlock; returns its exit code, the terminal's settings afterwards and
    /// everything it wrote.
    fn finish(mut self) -> (Option<i32>, nix::sys::termios::Termios, String) {
        let status = wait_with_limit(&mut self.child, COMMAND_LIMIT);
        let settings = nix::sys::termios::tcgetattr(&self.slave).unwrap();
        drop(self.slave);
        self.reader.join().unwrap();
        let text = String::from_utf8_lossy(&self.seen.lock().unwrap()).to_string();
        (status.and_then(|s| s.code()), settings, text)
    }
}

#[rstest]
fn tiocsti_cannot_reach_caller_terminal(#[values(As::Root, As::User)] who: As) {
    let probe = r#"
import fcntl, termios
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"Z")
    print("INJECTED")
except OSError as error:
    print("refused", error.errno)
"#;
    let terminal = OnTerminal::spawn(who, &["run", "--", "python3", "-c", probe]);
    let (code, _, text) = terminal.finish();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert!(!text.contains("INJECTED"), "{text}");
}

#[rstest]
fn tty_gives_payload_its_own_terminal(#[values(As::Root, As::User)] who: As) {
    let terminal = OnTerminal::spawn(who, &["run", "--tty", "--", "sh", "-c", "tty; test -t 0 && echo stdin-is-tty; exit 4"]);
    let (code, settings, text) = terminal.finish();
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("stdin-is-tty"), "{text}");
    // airlock put the caller's terminal in raw mode; it must have restored it.
    assert!(settings.local_flags.contains(nix::sys::termios::LocalFlags::ICANON), "the caller's terminal was left raw");
    assert!(settings.local_flags.contains(nix::sys::termios::LocalFlags::ECHO), "the caller's terminal was left without echo");
}

#[rstest]
fn tty_restores_terminal_after_failure(#[values(As::Root, As::User)] who: As) {
    let terminal = OnTerminal::spawn(who, &["run", "--tty", "--", "airlock-no-such-command"]);
    let (code, settings, text) = terminal.finish();
    assert_eq!(code, Some(127), "{text}");
    assert!(settings.local_flags.contains(nix::sys::termios::LocalFlags::ICANON), "the caller's terminal was left raw");
}

#[rstest]
fn tty_passes_ctrl_c_to_payload(#[values(As::Root, As::User)] who: As) {
    // Ctrl-C typed on the caller's terminal becomes SIGINT inside the sandbox's terminal.
    let script = "trap 'echo got-int; exit 5' INT; echo ready; i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; exit 1";
    let mut terminal = OnTerminal::spawn(who, &["run", "--tty", "--", "sh", "-c", script]);
    assert!(terminal.wait_for("ready"), "the payload never started");
    terminal.master.write_all(b"\x03").unwrap();
    let (code, _, text) = terminal.finish();
    assert!(text.contains("got-int"), "{text}");
    assert_eq!(code, Some(5), "{text}");
}
