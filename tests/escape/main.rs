//! The escape suite: attacks a payload performs from inside its sandbox, each of which must
//! fail, as root and as the unprivileged test user.
//!
//! The attacks are subcommands of `probe.c`, compiled once per run. A probe prints `ok` when
//! its attack worked and `err ERRNO` otherwise. Dangerous system calls get an invalid
//! descriptor or pointer, so one that reaches the kernel fails there (EBADF, EFAULT,
//! EINVAL) and does no harm. Wherever it is safe, each attack also runs once with the layer
//! that stops it turned off, and the probe must then see the attack succeed (or reach the
//! kernel): that shows the check can fail.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use rstest::rstest;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

/// The probe, compiled statically into a directory the test user can read, removed at exit.
fn probe_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("airlock-probe-").tempdir_in("/tmp").unwrap().keep();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/escape/probe.c");
        let status = std::process::Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(dir.join("probe"))
            .arg(&source)
            .status()
            .expect("gcc is needed to build the escape probe (run .ci/setup)");
        assert!(status.success(), "cannot compile {}", source.display());
        remove_at_exit(dir.clone());
        dir
    })
}

fn remove_at_exit(dir: PathBuf) {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.set(dir).unwrap();
    extern "C" fn remove() {
        if let Some(dir) = DIR.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    // SAFETY: atexit registers a plain function that runs at process exit.
    unsafe { libc::atexit(remove) };
}

/// The grants of airlock's default view, spelled out so the probe can be added to them.
fn default_view() -> Vec<String> {
    let mut args = system();
    for entry in ["passwd", "group", "hosts", "resolv.conf", "nsswitch.conf", "localtime", "ld.so.cache", "alternatives", "ssl/certs"] {
        let path = format!("/etc/{entry}");
        args.extend(["--ro-bind-try".into(), path.clone(), path]);
    }
    args.extend(["--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"].map(String::from));
    args.extend(["--ro-bind".into(), probe_dir().display().to_string(), "/probe".into()]);
    args
}

/// Runs the probe in a sandbox with the default view plus `options`; returns its verdict.
fn probe(who: As, options: &[&str], attack: &[&str]) -> String {
    let out = run(who, probe_args(options, attack));
    assert!(out.code == Some(0), "airlock or the probe failed ({:?}): {}", out.code, out.stderr);
    out.stdout.trim().to_string()
}

fn probe_args(options: &[&str], attack: &[&str]) -> Vec<String> {
    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    args.extend(options.iter().map(|s| s.to_string()));
    args.push("--".into());
    args.push("/probe/probe".into());
    args.extend(attack.iter().map(|s| s.to_string()));
    args
}

fn assert_blocked(verdict: &str, expected: &str, what: &str) {
    assert_eq!(verdict, format!("err {expected}"), "{what} was not blocked as expected");
}

/// Whether a verdict shows the call got past every sandbox layer to the kernel's own checks.
fn reached_kernel(verdict: &str) -> bool {
    verdict == "ok" || (verdict.starts_with("err ") && verdict != "err EPERM")
}

// Kernel interfaces the default seccomp filter closes. Turned off (root with real
// capabilities, no filter), each call reaches the kernel and fails on its invalid arguments.
#[rstest]
fn kernel_interface_denied(
    #[values(
        "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "bpf",
        "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup", "io_uring_enter",
        "io_uring_register", "clock_settime", "settimeofday", "adjtimex", "swapon", "quotactl", "mount", "umount2",
        "pivot_root", "fsopen", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr", "setns",
        "open_by_handle_at", "personality", "iopl", "syslog"
    )]
    call: &str,
    #[values(As::Root, As::User)] who: As,
) {
    assert_blocked(&probe(who, &[], &["call", call]), "EPERM", call);
    if who == As::Root {
        let open = probe(who, &["--seccomp", "unconfined", "--share", "user", "--cap-add", "ALL"], &["call", call]);
        assert!(reached_kernel(&open), "{call} with the filter off: {open}");
    }
}

#[rstest]
fn nested_user_namespace_denied(#[values("unshare", "clone", "clone3")] how: &str, #[values(As::Root, As::User)] who: As) {
    let expected = if how == "clone3" { "ENOSYS" } else { "EPERM" };
    assert_blocked(&probe(who, &[], &["userns", how]), expected, how);
    assert_eq!(probe(who, &["--allow-userns"], &["userns", how]), "ok", "{how} with --allow-userns");
}

#[rstest]
fn foreign_abis_denied(#[values(As::Root, As::User)] who: As) {
    assert_blocked(&probe(who, &[], &["x32"]), "EPERM", "an x32 system call");
    assert_blocked(&probe(who, &[], &["int80"]), "EPERM", "an i386 system call through int 0x80");
    // Without the filter the kernel answers: x32 is compiled out here (ENOSYS), int 0x80 works.
    assert_eq!(probe(who, &["--seccomp", "unconfined"], &["x32"]), "err ENOSYS");
    assert_eq!(probe(who, &["--seccomp", "unconfined"], &["int80"]), "ok");
}

/// Runs the probe with a pseudo-terminal as the caller's terminal and standard input.
fn probe_on_terminal(who: As, options: &[&str], attack: &[&str]) -> String {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut command = airlock(who, probe_args(options, attack));
    let slave = pty.slave.as_raw_fd();
    // SAFETY: setsid, ioctl and dup2 are async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(move || {
            libc::setsid();
            libc::ioctl(slave, libc::TIOCSCTTY, 0);
            libc::dup2(slave, 0);
            Ok(())
        });
    }
    let out = run_command(command);
    drop(pty);
    out.stdout.trim().to_string()
}

#[rstest]
fn terminal_injection_denied(#[values("tiocsti", "tioclinux")] request: &str, #[values("", "high")] variant: &str, #[values(As::Root, As::User)] who: As) {
    assert_blocked(&probe_on_terminal(who, &[], &[request, variant]), "EPERM", request);
    let open = probe_on_terminal(who, &["--seccomp", "unconfined"], &[request, variant]);
    if request == "tioclinux" {
        // Not a virtual console: the kernel itself refuses, with another error.
        assert!(reached_kernel(&open), "TIOCLINUX without the filter: {open}");
    } else {
        // The payload's own session has no controlling terminal, so the kernel refuses too.
        assert_blocked(&open, "EPERM", "TIOCSTI without the filter");
    }
}

#[test]
fn terminal_injection_works_outside() {
    // The probe detects a working TIOCSTI: on this machine's terminals it works outside.
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut command = std::process::Command::new(probe_dir().join("probe"));
    command.arg("tiocsti");
    let slave = pty.slave.as_raw_fd();
    // SAFETY: as above.
    unsafe {
        command.pre_exec(move || {
            libc::setsid();
            libc::ioctl(slave, libc::TIOCSCTTY, 0);
            libc::dup2(slave, 0);
            Ok(())
        });
    }
    let legacy = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").unwrap_or_default();
    let out = command.output().unwrap();
    if legacy.trim() == "1" {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    }
}

#[rstest]
fn leaked_descriptor_unreachable(#[values(As::Root, As::User)] who: As) {
    let check = |extra: &[&str]| {
        let mut command = airlock(who, probe_args(extra, &["fd", "9"]));
        let file = std::fs::File::open("/etc/hostname").unwrap();
        let raw = file.as_raw_fd();
        // SAFETY: dup2 is async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(move || {
                // dup2 onto itself keeps close-on-exec, so clear it explicitly.
                libc::dup2(raw, 9);
                libc::fcntl(9, libc::F_SETFD, 0);
                Ok(())
            });
        }
        let out = run_command(command);
        drop(file);
        out.stdout.trim().to_string()
    };
    assert_blocked(&check(&[]), "EBADF", "a descriptor leaked without close-on-exec");
    assert_eq!(check(&["--keep-fd", "9"]), "ok");
}

#[rstest]
fn callers_directory_unreachable(#[values(As::Root, As::User)] who: As) {
    let dir = shared_tempdir();
    std::fs::write(dir.path().join("secret"), "host data").unwrap();
    let mut command = airlock(who, probe_args(&[], &["open-read", "secret"]));
    command.current_dir(dir.path());
    let out = run_command(command);
    assert_blocked(out.stdout.trim(), "ENOENT", "the caller's working directory");
    let bound = dir.path().display().to_string();
    let mut command = airlock(who, probe_args(&["--ro-bind", &bound, &bound], &["open-read", "secret"]));
    command.current_dir(dir.path());
    assert_eq!(run_command(command).stdout.trim(), "ok");
}

#[rstest]
fn init_cannot_be_attacked(#[values(As::Root, As::User)] who: As) {
    for (attack, argument, expected) in [
        ("open-write", "/proc/1/exe", "EACCES"),
        ("open-read", "/proc/1/exe", "EACCES"),
        ("open-read", "/proc/1/environ", "EACCES"),
        ("open-read", "/proc/1/mem", "EACCES"),
        ("ptrace", "1", "EPERM"),
        ("vm-read", "1", "EPERM"),
        ("pidfd-getfd", "1", "EPERM"),
    ] {
        assert_blocked(&probe(who, &[], &[attack, argument]), expected, &format!("{attack} {argument}"));
    }
    // The payload's own binary is busy while it runs (and belongs to root, so the test user
    // may not write it at all).
    let verdict = probe(who, &[], &["open-write", "/proc/self/exe"]);
    assert!(verdict == "err ETXTBSY" || verdict == "err EACCES", "writing /proc/self/exe: {verdict}");
}

#[rstest]
fn outside_processes_unreachable(#[values(As::Root, As::User)] who: As) {
    let host = std::process::id().to_string();
    // In its own PID namespace, the test process does not exist for the payload.
    for attack in ["ptrace", "vm-read", "pidfd-getfd", "kill"] {
        assert_blocked(&probe(who, &[], &[attack, &host]), "ESRCH", attack);
    }
    // Sharing the PID namespace, it exists but stays out of reach.
    for attack in ["ptrace", "vm-read", "pidfd-getfd", "kill"] {
        let verdict = probe(who, &["--share", "pid"], &[attack, &host]);
        assert!(verdict == "err EPERM" || verdict == "err EACCES", "{attack} on a host process: {verdict}");
    }
}

#[test]
fn landlock_scopes_signals_with_shared_pids() {
    // As root, the payload's uid is the caller's, which the kernel would let signal the
    // caller's processes; Landlock's signal scope is what stops it.
    let host = std::process::id().to_string();
    assert_blocked(&probe(As::Root, &["--share", "pid"], &["kill", &host]), "EPERM", "signalling a host process");
    assert_eq!(probe(As::Root, &["--share", "pid", "--landlock", "off"], &["kill", &host]), "ok");
}

#[rstest]
fn proc_is_masked(#[values(As::Root, As::User)] who: As) {
    let script = "wc -c < /proc/keys; wc -c < /proc/timer_list; \
                  ( echo x > /proc/sys/kernel/core_pattern ) 2>/dev/null && echo LEAK-core; \
                  ( echo h > /proc/sysrq-trigger ) 2>/dev/null && echo LEAK-sysrq; \
                  mkdir -p /tmp/p; /probe/probe mount-proc /tmp/p";
    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    args.extend(["--", "sh", "-c", script].map(String::from));
    let out = run(who, &args);
    assert_eq!(out.stdout_lines(), vec!["0", "0", "err EPERM"], "{}", out.stderr);

    // With CAP_SYS_ADMIN and no filter, a fresh procfs is still refused: the masks make the
    // sandbox's /proc not fully visible, which the kernel requires.
    let verdict = probe(who, &["--cap-add", "SYS_ADMIN", "--seccomp", "unconfined"], &["mount-proc", "/tmp"]);
    assert_blocked(&verdict, "EPERM", "a fresh procfs with CAP_SYS_ADMIN");
}

#[rstest]
fn mounts_do_not_reach_host(#[values(As::Root, As::User)] who: As) {
    let before = host_mounts();
    let dir = shared_tempdir();
    give_to(who, dir.path());
    let bound = dir.path().display().to_string();
    // Every layer that forbids mounting is off (Landlock refuses mounts too): only the
    // sandbox's private propagation stands between this mount and the host.
    let options = ["--cap-add", "SYS_ADMIN", "--seccomp", "unconfined", "--landlock", "off", "--bind", &bound, "/data"];
    assert_eq!(probe(who, &options, &["mount-tmpfs", "/data"]), "ok", "the payload could not mount at all");
    assert_eq!(host_mounts(), before, "a mount made inside reached the host");
}

#[rstest]
fn no_privileges_by_default(#[values(As::Root, As::User)] who: As) {
    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    args.extend(["--uid", "0", "--", "sh", "-c", "grep -E '^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status"].map(String::from));
    let out = run(who, &args);
    out.expect_success();
    assert_eq!(out.stdout.lines().count(), 7, "{}", out.stdout);
    for line in out.stdout.lines() {
        let (key, value) = line.split_once(':').unwrap();
        let expected = match key {
            "NoNewPrivs" => "1",
            "Seccomp" => "2",
            _ => "0000000000000000",
        };
        assert_eq!(value.trim(), expected, "{key}");
    }
    args.splice(1..1, ["--cap-add".to_string(), "NET_RAW".to_string()]);
    let out = run(who, &args);
    assert!(out.stdout.contains("CapEff:\t0000000000002000"), "--cap-add did not grant: {}", out.stdout);
}

#[rstest]
fn setuid_and_file_capabilities_gain_nothing(#[values(As::Root, As::User)] who: As) {
    let dir = shared_tempdir();
    let setuid_id = dir.path().join("id");
    std::fs::copy("/usr/bin/id", &setuid_id).unwrap();
    std::fs::set_permissions(&setuid_id, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    let fcap_cat = dir.path().join("cat");
    std::fs::copy("/usr/bin/cat", &fcap_cat).unwrap();
    let status = std::process::Command::new("setcap").arg("cap_dac_override,cap_sys_admin+ep").arg(&fcap_cat).status().unwrap();
    assert!(status.success(), "setcap failed");

    let bound = dir.path().display().to_string();
    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    args.extend(["--ro-bind", &bound, "/x", "--uid", "1234", "--", "sh", "-c", "/x/id -u; /x/cat /proc/self/status | grep CapEff"].map(String::from));
    let out = run(who, &args);
    out.expect_success();
    assert_eq!(out.stdout_lines(), vec!["1234", "CapEff:\t0000000000000000"]);
}

#[rstest]
fn host_abstract_socket_unreachable(#[values(As::Root, As::User)] who: As) {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("airlock-test-{}-{}", std::process::id(), who as u8);
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = std::os::unix::net::UnixListener::bind_addr(&address).unwrap();
    listener.set_nonblocking(true).unwrap();

    assert_blocked(&probe(who, &[], &["connect-abstract", &name]), "ECONNREFUSED", "the host's abstract socket");
    // Sharing the host's network namespace, Landlock's abstract-socket scope still refuses.
    assert_blocked(&probe(who, &["--net", "host"], &["connect-abstract", &name]), "EPERM", "the host's abstract socket with --net host");
    assert_eq!(probe(who, &["--net", "host", "--landlock", "off"], &["connect-abstract", &name]), "ok");
}

#[rstest]
fn host_session_sockets_hidden(#[values(As::Root, As::User)] who: As) {
    let dir = shared_tempdir();
    let agent = dir.path().join("agent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&agent).unwrap();
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let agent_path = agent.display().to_string();

    let mut command = airlock(who, probe_args(&[], &["connect", &agent_path]));
    for (key, value) in [
        ("SSH_AUTH_SOCK", agent_path.as_str()),
        ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/0/bus"),
        ("DISPLAY", ":0"),
        ("XAUTHORITY", "/root/.Xauthority"),
    ] {
        command.env(key, value);
    }
    assert_blocked(run_command(command).stdout.trim(), "ENOENT", "an SSH agent socket in the caller's /tmp");

    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    args.extend(["--", "sh", "-c", "env; ls /run /tmp/.X11-unix 2>&1 | head -2"].map(String::from));
    let mut command = airlock(who, &args);
    command.env("SSH_AUTH_SOCK", &agent_path).env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/0/bus").env("DISPLAY", ":0");
    let out = run_command(command);
    for variable in ["SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY"] {
        assert!(!out.stdout.contains(variable), "{variable} reached the payload");
    }
    assert!(out.stdout.contains("No such file"), "host socket directories are visible: {}", out.stdout);
}

#[rstest]
fn options_after_separator_are_literal(#[values(As::Root, As::User)] who: As) {
    for injected in [vec!["--bind", "/", "/"], vec!["--share", "user", "sh"], vec!["-v"]] {
        let mut args = vec!["run", "--"];
        args.extend_from_slice(&injected);
        let out = run(who, &args);
        assert_eq!(out.code, Some(127), "{injected:?}: {}", out.stderr);
        assert!(out.stderr.contains(&format!("cannot run {}", injected[0])), "{}", out.stderr);
    }
}

#[rstest]
fn nothing_planted_in_shared_tmp(#[values(As::Root, As::User)] who: As) {
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir("/tmp").unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    // A symlink planted where a careless tool would write.
    let victim = shared_tempdir();
    let target = victim.path().join("target");
    std::fs::write(&target, "untouched").unwrap();
    let planted = Path::new("/tmp").join(format!("airlock-{}-{}", std::process::id(), who as u8));
    let _ = std::fs::remove_file(&planted);
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    let before = listing();
    run(who, ["run", "--", "true"]).expect_success();
    let after = listing();
    std::fs::remove_file(&planted).unwrap();
    // Other tests of this process create temporary directories meanwhile; skip those.
    let ours = format!("airlock-{}-", std::process::id());
    let from_tests = |name: &str| {
        ["airlock-test-", "airlock-e2e-", "airlock-probe-", ".tmp", ours.as_str()].iter().any(|prefix| name.starts_with(prefix))
    };
    let added: Vec<&String> = after.iter().filter(|name| !before.contains(name) && !from_tests(name)).collect();
    assert!(added.is_empty(), "airlock left files in /tmp: {added:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
}

#[rstest]
fn hostile_environment_is_ignored(#[values(As::Root, As::User)] who: As) {
    let dir = shared_tempdir();
    let marker = dir.path().join("preloaded");
    let source = dir.path().join("evil.c");
    std::fs::write(
        &source,
        format!("#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {{ FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f); }}\n", marker.display()),
    )
    .unwrap();
    let library = dir.path().join("evil.so");
    let status = std::process::Command::new("gcc").args(["-shared", "-fPIC", "-o"]).arg(&library).arg(&source).status().unwrap();
    assert!(status.success());
    let marker_dir = dir.path().display().to_string();

    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    // The payload could see the marker's directory, so a preload that reached it would show.
    args.extend(["--bind", &marker_dir, &marker_dir, "--", "sh", "-c", "env | wc -l"].map(String::from));
    let mut command = airlock(who, &args);
    command.env("LD_PRELOAD", &library).env("LD_LIBRARY_PATH", dir.path());
    for index in 0..200 {
        command.env(format!("HUGE_{index}"), "x".repeat(10_000));
    }
    let out = run_command(command);
    out.expect_success();
    assert!(!marker.exists(), "LD_PRELOAD ran code in airlock or the payload");
    let count: usize = out.stdout.trim().parse().unwrap();
    assert!(count < 20, "the caller's environment reached the payload ({count} variables)");
}

#[rstest]
fn landlock_guards_passed_directories(#[values(As::Root, As::User)] who: As) {
    // A directory descriptor from outside, passed in: the mounts do not show its files, so
    // only Landlock stands between the payload and them.
    let dir = shared_tempdir();
    std::fs::write(dir.path().join("secret"), "host data").unwrap();
    std::fs::set_permissions(dir.path().join("secret"), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let check = |extra: &[&str]| {
        let mut options = vec!["--keep-fd", "9"];
        options.extend_from_slice(extra);
        let mut command = airlock(who, probe_args(&options, &["openat-fd", "9", "secret"]));
        let directory = std::fs::File::open(dir.path()).unwrap();
        let raw = directory.as_raw_fd();
        // SAFETY: dup2 is async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(move || {
                // dup2 onto itself keeps close-on-exec, so clear it explicitly.
                libc::dup2(raw, 9);
                libc::fcntl(9, libc::F_SETFD, 0);
                Ok(())
            });
        }
        let out = run_command(command);
        drop(directory);
        out.stdout.trim().to_string()
    };
    assert_blocked(&check(&[]), "EACCES", "a file outside the grants through a passed descriptor");
    assert_eq!(check(&["--landlock", "off"]), "ok");
}

#[rstest]
fn docker_profile_applies(#[values(As::Root, As::User)] who: As) {
    let dir = shared_tempdir();
    let profile = dir.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    )
    .unwrap();
    let path = profile.display().to_string();
    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    args.extend(["--seccomp", &path, "--", "sh", "-c", "mkdir /tmp/x"].map(String::from));
    let out = run(who, &args);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("Permission denied"), "mkdir did not fail with EACCES (13): {}", out.stderr);

    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_MAYBE"}]}"#).unwrap();
    let out = run(who, ["run", "--seccomp", &path, "--", "true"]);
    out.expect_code(125);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("invalid seccomp profile") && out.stderr.contains("SCMP_ACT_MAYBE"), "{}", out.stderr);
}

#[test]
fn unknown_capability_suggests_name() {
    let out = run(As::Root, ["run", "--cap-add", "NET_BIND_SERVIC", "--", "true"]);
    out.expect_code(125);
    assert!(out.stderr.contains("did you mean NET_BIND_SERVICE"), "{}", out.stderr);
}

#[rstest]
fn cap_add_reaches_ordinary_user(#[values(As::Root, As::User)] who: As) {
    // A payload that is not uid 0 gets granted capabilities through the ambient set.
    let mut args = vec!["run".to_string()];
    args.extend(default_view());
    args.extend(["--uid", "1000", "--cap-add", "NET_BIND_SERVICE", "--", "python3", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 80)); print('bound')"].map(String::from));
    let out = run(who, &args);
    out.expect_success();
    assert_eq!(out.stdout.trim(), "bound");
    let without: Vec<String> = args.iter().filter(|arg| *arg != "--cap-add" && *arg != "NET_BIND_SERVICE").cloned().collect();
    let out = run(who, &without);
    assert_ne!(out.code, Some(0), "binding port 80 worked without the capability");
}

#[allow(dead_code)]
fn unused(_: Duration, _: Stdio, _: &mut dyn Read) {}
