//! Named sandboxes: the create → ls → exec → ps → logs → stop → rm cycle, joining and
//! sharing between sandboxes, IPC channels, forged records, concurrency and cleanup.

mod common;

use common::*;
use rstest::rstest;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A state directory of the test's own, so parallel tests never see each other's sandboxes;
/// removes whatever is left in it on drop.
struct State {
    who: As,
    dir: tempfile::TempDir,
}

impl State {
    fn new(who: As) -> State {
        let dir = shared_tempdir();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        give_to(who, dir.path());
        State { who, dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = airlock(self.who, args);
        command.env("AIRLOCK_STATE_DIR", self.path());
        command
    }

    fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        run_command(self.command(args))
    }

    fn record(&self, name: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path().join("sandboxes").join(name).join("state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for State {
    fn drop(&mut self) {
        let listing = self.run(["ls", "--json"]);
        if let Ok(list) = serde_json::from_str::<Vec<serde_json::Value>>(&listing.stdout) {
            for entry in list {
                let name = entry["name"].as_str().unwrap_or_default().to_string();
                let _ = self.run(["rm", "--force", &name]);
            }
        }
    }
}

#[rstest]
fn lifecycle_end_to_end(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    let out = state.run(["create", "web", "--", "sh", "-c", "echo started; echo from-payload > /tmp/shared; exec sleep 1000"]);
    out.expect_success();
    assert_eq!(out.stdout.trim(), "web");

    let out = state.run(["ls"]);
    out.expect_success();
    let line = out.stdout.lines().find(|line| line.starts_with("web ")).expect("web is listed");
    assert!(line.contains("running"), "{line}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&state.run(["ls", "--json"]).stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "running");

    // exec sees the payload's PID namespace, files and network.
    let out = state.run(["exec", "web", "--", "sh", "-c", "cat /tmp/shared; ps -eo comm= | sort | tr '\\n' ' '; echo; readlink /proc/self/ns/net"]);
    out.expect_success();
    let lines = out.stdout_lines();
    assert_eq!(lines[0], "from-payload");
    assert!(lines[1].contains("sleep"), "the payload is not visible: {}", lines[1]);
    let record = state.record("web");
    assert_eq!(lines[2], format!("net:[{}]", record["namespaces"]["net"]));
    assert_eq!(state.run(["exec", "web", "--", "sh", "-c", "exit 7"]).code, Some(7));
    assert_eq!(state.run(["exec", "web", "--", "airlock-no-such-command"]).code, Some(127));

    let out = state.run(["ps", "--tree", "web"]);
    out.expect_success();
    assert!(out.stdout.lines().any(|line| line.contains("sleep 1000")), "{}", out.stdout);
    let processes: Vec<serde_json::Value> = serde_json::from_str(&state.run(["ps", "--json", "web"]).stdout).unwrap();
    let sleep = processes.iter().find(|p| p["command"].as_str().unwrap().starts_with("sleep")).unwrap();
    assert_eq!(sleep["pid"], 2);
    assert!(sleep["host-pid"].as_i64().unwrap() > 2);

    let out = state.run(["logs", "web"]);
    out.expect_success();
    assert_eq!(out.stdout, "started\n");

    let init_pid = record["init"]["pid"].as_i64().unwrap() as i32;
    let out = state.run(["stop", "--timeout", "5s", "web"]);
    out.expect_success();
    assert!(out.stdout.contains("killed by SIGTERM"), "{}", out.stdout);
    // stop returns once the supervisor recorded the end; init may still be on its way out.
    assert!(eventually(Duration::from_secs(2), || !process_alive(init_pid)), "init outlived stop");
    let list: Vec<serde_json::Value> = serde_json::from_str(&state.run(["ls", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["state"], "exited");
    assert_eq!(list[0]["exit-code"], 143);

    state.run(["rm", "web"]).expect_success();
    assert!(!state.path().join("sandboxes/web").exists());
    assert_eq!(state.run(["ls", "--json"]).stdout.trim(), "[]");
}

#[rstest]
fn exec_is_as_restricted_as_payload(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    state.run(["create", "box", "--", "sleep", "1000"]).expect_success();
    let script = "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; unshare -U true 2>/dev/null && echo USERNS; \
                  python3 -c 'import ctypes; print(\"mount\", ctypes.CDLL(None, use_errno=True).mount(None, None, None, 0, None), ctypes.get_errno())'";
    let out = state.run(["exec", "box", "--", "sh", "-c", script]);
    out.expect_success();
    assert!(out.stdout.contains("CapEff:\t0000000000000000"), "{}", out.stdout);
    assert!(out.stdout.contains("CapBnd:\t0000000000000000"), "{}", out.stdout);
    assert!(out.stdout.contains("NoNewPrivs:\t1"), "{}", out.stdout);
    assert!(out.stdout.contains("Seccomp:\t2"), "{}", out.stdout);
    assert!(!out.stdout.contains("USERNS"), "exec could create a user namespace");
    assert!(out.stdout.contains("mount -1 1"), "mount was not refused by the filter: {}", out.stdout);
}

#[rstest]
fn exec_only_network_sees_host_files(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    state.run(["create", "box", "--", "sleep", "1000"]).expect_success();
    let marker = state.dir.path().display().to_string();
    let out = state.run(["exec", "--ns", "net", "box", "--", "sh", "-c", &format!("readlink /proc/self/ns/net; test -d {marker} && echo host-files")]);
    out.expect_success();
    let record = state.record("box");
    assert_eq!(out.stdout_lines(), vec![format!("net:[{}]", record["namespaces"]["net"]), "host-files".to_string()]);
}

#[rstest]
fn forged_record_is_refused(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    state.run(["create", "real", "--", "sleep", "1000"]).expect_success();
    // A record for "fake" that points at an unrelated process pair: this test process and
    // a child of it.
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let start = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        stat.rsplit_once(')').unwrap().1.split_whitespace().nth(19).unwrap().parse().unwrap()
    };
    let mut record = state.record("real");
    record["name"] = "fake".into();
    record["supervisor"] = serde_json::json!({ "pid": std::process::id(), "start-time": start(std::process::id()) });
    record["init"] = serde_json::json!({ "pid": child.id(), "start-time": start(child.id()) });
    let slot = state.path().join("sandboxes/fake");
    std::fs::create_dir(&slot).unwrap();
    std::fs::set_permissions(&slot, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(slot.join("state.json"), record.to_string()).unwrap();
    std::fs::set_permissions(slot.join("state.json"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    give_to(who, &slot);
    give_to(who, &slot.join("state.json"));

    for args in [vec!["exec", "fake", "--", "true"], vec!["stop", "fake"]] {
        let out = state.run(&args);
        assert_eq!(out.code, Some(125), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("refusing") || out.stderr.contains("not running"), "{args:?}: {}", out.stderr);
    }
    assert!(child.try_wait().unwrap().is_none(), "the unrelated process was signalled");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&slot).unwrap();
}

#[rstest]
fn concurrent_creates_make_one(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    let spawn = || {
        let mut command = state.command(["create", "same", "--", "sleep", "1000"]);
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        command.spawn().unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outs = [finish(first, COMMAND_LIMIT), finish(second, COMMAND_LIMIT)];
    let successes = outs.iter().filter(|out| out.code == Some(0)).count();
    assert_eq!(successes, 1, "{outs:?}");
    let failure = outs.iter().find(|out| out.code != Some(0)).unwrap();
    assert_eq!(failure.code, Some(125));
    assert!(failure.stderr.contains("already exists"), "{}", failure.stderr);
    let list: Vec<serde_json::Value> = serde_json::from_str(&state.run(["ls", "--json"]).stdout).unwrap();
    assert_eq!(list.len(), 1);
}

#[rstest]
fn killed_supervisor_leaves_nothing(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    let before = host_mounts();
    // An ordinary user has no delegated cgroup here, so only root's sandbox gets limits.
    let limits: &[&str] = if who == As::Root { &["--memory", "64M"] } else { &[] };
    let mut args = vec!["create", "doomed"];
    args.extend(limits);
    args.extend(["--", "sh", "-c", "sleep 1000 & sleep 1000"]);
    state.run(args).expect_success();
    let record = state.record("doomed");
    let supervisor = record["supervisor"]["pid"].as_i64().unwrap() as i32;
    let init = record["init"]["pid"].as_i64().unwrap() as i32;
    let mut everyone = descendants(init);
    everyone.push(init);
    let cgroups: Vec<PathBuf> = record["cgroups"].as_array().unwrap().iter().map(|p| PathBuf::from(p.as_str().unwrap())).collect();
    assert_eq!(cgroups.is_empty(), who != As::Root);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(supervisor), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(1), || everyone.iter().all(|pid| !process_alive(*pid))), "the payload outlived its supervisor");
    let list: Vec<serde_json::Value> = serde_json::from_str(&state.run(["ls", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["state"], "died");

    let out = state.run(["gc"]);
    out.expect_success();
    assert!(out.stdout.contains("removed doomed"), "{}", out.stdout);
    assert!(!state.path().join("sandboxes/doomed").exists());
    for cgroup in cgroups {
        assert!(!cgroup.exists(), "{} was left behind", cgroup.display());
    }
    assert_eq!(host_mounts(), before);
}

#[test]
fn exec_joins_the_sandbox_cgroups() {
    let state = State::new(As::Root);
    state.run(["create", "limited", "--pids", "50", "--memory", "64M", "--", "sleep", "1000"]).expect_success();

    // The exec'd process is in the sandbox's cgroup namespace, whose root is the sandbox's
    // cgroup. A process in that cgroup reads "/" there, and one outside reads "/..".
    let out = state.run(["exec", "limited", "--", "cat", "/proc/self/cgroup"]);
    out.expect_success();
    let lines: Vec<&str> = out.stdout.lines().filter(|line| line.contains(":pids:") || line.contains(":memory:")).collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    for line in lines {
        assert!(line.ends_with(":/"), "the exec'd process is outside the sandbox's cgroup: {line}");
    }
    state.run(["stop", "limited"]).expect_success();
}

#[test]
fn exec_respects_process_limit() {
    let state = State::new(As::Root);
    // Init and sleep: the limit of 2 is reached.
    state.run(["create", "full", "--pids", "2", "--", "sleep", "1000"]).expect_success();
    let out = state.run(["exec", "full", "--", "true"]);
    out.expect_code(125);
    assert!(out.stderr.contains("its process limit (2) is reached"), "{}", out.stderr);
    state.run(["stop", "full"]).expect_success();

    // Room for one more: of eight execs at once, at most one runs.
    state.run(["create", "room", "--pids", "3", "--", "sleep", "1000"]).expect_success();
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut command = state.command(["exec", "room", "--", "sleep", "1"]);
            command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let outs: Vec<Output> = children.into_iter().map(|child| finish(child, COMMAND_LIMIT)).collect();
    let ran = outs.iter().filter(|out| out.code == Some(0)).count();
    assert!(ran <= 1, "{ran} execs ran under a limit that leaves room for one");
    for out in outs.iter().filter(|out| out.code != Some(0)) {
        assert!(out.stderr.contains("its process limit (3) is reached"), "{}", out.stderr);
    }
    state.run(["stop", "room"]).expect_success();
}

#[test]
fn force_removal_while_payload_ends() {
    // The payload ends around the moment of `rm --force`, at a different point each round.
    let state = State::new(As::Root);
    for round in 0..20u64 {
        state.run(["create", "brief", "--", "sleep", "0.05"]).expect_success();
        std::thread::sleep(Duration::from_millis(round * 5));
        let out = state.run(["rm", "--force", "brief"]);
        assert_eq!(out.code, Some(0), "round {round}: {}", out.stderr);
    }
}

#[test]
fn killed_supervisor_reclaimed_by_rm() {
    let state = State::new(As::Root);
    state.run(["create", "doomed", "--pids", "50", "--", "sleep", "1000"]).expect_success();
    let record = state.record("doomed");
    let supervisor = record["supervisor"]["pid"].as_i64().unwrap() as i32;
    let cgroups: Vec<PathBuf> = record["cgroups"].as_array().unwrap().iter().map(|p| PathBuf::from(p.as_str().unwrap())).collect();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(supervisor), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(2), || !process_alive(supervisor)));
    state.run(["rm", "doomed"]).expect_success();
    assert!(cgroups.iter().all(|cgroup| !cgroup.exists()));
    assert!(!state.path().join("sandboxes/doomed").exists());
}

#[rstest]
fn bad_names_and_missing_sandboxes(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    for name in ["a/b", ".hidden", &"x".repeat(64)] {
        let out = state.run(["create", name, "--", "true"]);
        assert_eq!(out.code, Some(125), "{name}");
        assert!(out.stderr.contains("invalid sandbox name"), "{}", out.stderr);
    }
    for args in [vec!["exec", "ghost", "--", "true"], vec!["stop", "ghost"], vec!["rm", "ghost"], vec!["logs", "ghost"], vec!["ps", "ghost"]] {
        let out = state.run(&args);
        assert_eq!(out.code, Some(125), "{args:?}");
        assert!(out.stderr.contains("no sandbox named ghost"), "{args:?}: {}", out.stderr);
    }
    let out = state.run(["create", "failing", "--", "airlock-no-such-command"]);
    assert_eq!(out.code, Some(127), "{}", out.stderr);
    assert!(!state.path().join("sandboxes/failing").exists(), "a failed create left its record");
}

#[rstest]
fn ipc_channels_between_sandboxes(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    let shared = shared_tempdir();
    give_to(who, shared.path());
    let sockets = shared.path().join("sockets");
    std::fs::create_dir(&sockets).unwrap();
    give_to(who, &sockets);
    let fifo = shared.path().join("pipe");
    let shm = format!("airlock-test-{}-{}", std::process::id(), who as u8);
    let (sockets, fifo) = (sockets.display().to_string(), fifo.display().to_string());

    let server = r#"
import socket, os, ctypes
from multiprocessing import shared_memory
s = socket.socket(socket.AF_UNIX); s.bind("/ipc/server.sock"); s.listen()
memory = shared_memory.SharedMemory("posix-seg", create=True, size=64); memory.buf[:5] = b"posix"
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
segment = libc.shmget(4242, 64, 0o1600)
ctypes.memmove(libc.shmat(segment, None, 0), b"sysv!", 5)
with open("/dev/shm/SHM", "r+b") as f: f.write(b"grant")
print("ready", flush=True)
connection, _ = s.accept(); print("socket", connection.recv(16).decode(), flush=True)
with open("/pipe") as p: print("fifo", p.read().strip(), flush=True)
"#
    .replace("SHM", &shm);
    state
        .run(["create", "server", "--socket", &sockets, "/ipc", "--fifo", &fifo, "/pipe", "--shm", &shm, "--", "python3", "-c", &server])
        .expect_success();
    assert!(eventually(Duration::from_secs(10), || state.run(["logs", "server"]).stdout.contains("ready")), "the server never got ready: {}", state.run(["logs", "server"]).stdout);

    let client = r#"
import socket, ctypes
from multiprocessing import shared_memory, resource_tracker
c = socket.socket(socket.AF_UNIX); c.connect("/ipc/server.sock"); c.send(b"hello")
with open("/pipe", "w") as p: p.write("through\n")
memory = shared_memory.SharedMemory("posix-seg"); print(bytes(memory.buf[:5]).decode())
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
print(ctypes.string_at(libc.shmat(libc.shmget(4242, 0, 0), None, 0), 5).decode())
print(open("/dev/shm/SHM", "rb").read(5).decode())
"#
    .replace("SHM", &shm);
    let out = state.run(["run", "--ipc", "sandbox:server", "--socket", &sockets, "/ipc", "--fifo", &fifo, "/pipe", "--shm", &shm, "--", "python3", "-c", &client]);
    out.expect_success();
    assert_eq!(out.stdout_lines(), vec!["posix", "sysv!", "grant"], "{}", out.stderr);
    assert!(eventually(Duration::from_secs(10), || state.run(["logs", "server"]).stdout.contains("fifo through")));
    assert!(state.run(["logs", "server"]).stdout.contains("socket hello"));

    // A third sandbox without the grants sees none of it.
    let outsider = "import os, ctypes\n\
                    for path in ['/ipc/server.sock', '/pipe', '/dev/shm/posix-seg', '/dev/shm/SHM']: print(path, os.path.exists(path))\n\
                    print('sysv', ctypes.CDLL(None).shmget(4242, 0, 0))"
        .replace("SHM", &shm);
    let out = state.run(["run", "--", "python3", "-c", &outsider]);
    out.expect_success();
    for line in out.stdout.lines() {
        assert!(line.ends_with("False") || line == "sysv -1", "a third sandbox sees {line}");
    }
    let _ = std::fs::remove_file(Path::new("/dev/shm").join(&shm));
}

#[test]
fn hundred_sandboxes_leave_nothing() {
    let state = State::new(As::Root);
    let before = host_mounts();
    for index in 0..100 {
        state.run(["create", &format!("s{index}"), "--", "sleep", "1000"]).expect_success();
    }
    let list: Vec<serde_json::Value> = serde_json::from_str(&state.run(["ls", "--json"]).stdout).unwrap();
    assert_eq!(list.len(), 100);
    assert!(list.iter().all(|entry| entry["state"] == "running"));
    let inits: Vec<i32> = (0..100).map(|index| state.record(&format!("s{index}"))["init"]["pid"].as_i64().unwrap() as i32).collect();
    let names: Vec<String> = (0..100).map(|index| format!("s{index}")).collect();
    let mut args = vec!["rm".to_string(), "--force".to_string()];
    args.extend(names);
    state.run(&args).expect_success();
    assert_eq!(state.run(["ls", "--json"]).stdout.trim(), "[]");
    assert!(inits.iter().all(|pid| !process_alive(*pid)));
    assert_eq!(host_mounts(), before);
}

#[rstest]
fn pod_style_sharing(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    state.run(["create", "pod", "--hostname", "podhost", "--", "sleep", "1000"]).expect_success();
    let record = state.record("pod");
    let ids = &record["namespaces"];

    let script = "readlink /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/ipc /proc/self/ns/pid; hostname; ps -eo comm= | grep -c sleep";
    let out = state.run(["run", "--net", "sandbox:pod", "--uts", "sandbox:pod", "--ipc", "sandbox:pod", "--pid", "sandbox:pod", "--", "sh", "-c", script]);
    out.expect_success();
    let expected: Vec<String> = ["net", "uts", "ipc", "pid"].iter().map(|kind| format!("{kind}:[{}]", ids[kind])).collect();
    let lines = out.stdout_lines();
    assert_eq!(&lines[..4], &expected[..], "{}", out.stderr);
    assert_eq!(lines[4], "podhost");
    assert_eq!(lines[5], "1", "the pod's payload is not visible");

    // The same network through its namespace file, as `ip netns exec` users pass it.
    let init = record["init"]["pid"].as_i64().unwrap();
    let netns = format!("/proc/{init}/ns/net");
    let out = state.run(["run", "--netns", &netns, "--", "readlink", "/proc/self/ns/net"]);
    if who == As::User {
        // A new user namespace has no privilege over the sandbox's: the user must join that too.
        assert_eq!(out.code, Some(125));
        assert!(out.stderr.contains("--userns"), "{}", out.stderr);
        let out = state.run(["run", "--userns", &format!("/proc/{init}/ns/user"), "--netns", &netns, "--", "readlink", "/proc/self/ns/net"]);
        out.expect_success();
        assert_eq!(out.stdout.trim(), format!("net:[{}]", ids["net"]));
        return;
    }
    out.expect_success();
    assert_eq!(out.stdout.trim(), format!("net:[{}]", ids["net"]));

    // A sandbox that is not running cannot be joined.
    let out = state.run(["run", "--net", "sandbox:absent", "--", "true"]);
    assert_eq!(out.code, Some(125));
    assert!(out.stderr.contains("no sandbox named absent"), "{}", out.stderr);
}

#[rstest]
fn inspect_and_follow_logs(#[values(As::Root, As::User)] who: As) {
    let state = State::new(who);
    // An ordinary user has no delegated cgroup here, so only root's sandbox gets a limit.
    let limits: &[&str] = if who == As::Root { &["--pids", "64"] } else { &[] };
    let mut args = vec!["create", "talker"];
    args.extend(limits);
    args.extend(["--", "sh", "-c", "echo one; sleep 0.5; echo two; exec sleep 1000"]);
    state.run(args).expect_success();

    let out = state.run(["inspect", "--json", "talker"]);
    out.expect_success();
    let inspected: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(inspected["name"], "talker");
    assert_eq!(inspected["state"], "running");
    if who == As::Root {
        assert_eq!(inspected["spec"]["limits"]["pids"], 64);
    }
    assert_eq!(inspected["applied"]["seccomp"], "default");
    assert_eq!(inspected["applied"]["no-new-privs"], true);
    assert_eq!(inspected["usage"]["processes"].as_u64().is_some(), who == As::Root, "{}", out.stdout);
    let out = state.run(["inspect", "talker"]);
    out.expect_success();
    assert!(out.stdout.lines().any(|line| line.starts_with("state:") && line.contains("running")), "{}", out.stdout);

    // --follow keeps printing what the payload writes until it is stopped.
    let mut follow = state.command(["logs", "--follow", "talker"]);
    follow.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = follow.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    state.run(["stop", "talker"]).expect_success();
    let out = finish(child, COMMAND_LIMIT);
    assert_eq!(out.stdout, "one\ntwo\n");
}

#[rstest]
fn abstract_sockets_belong_to_the_network(#[values(As::Root, As::User)] who: As) {
    // A host server on an abstract socket, in a network namespace of the test's own so
    // that it touches nothing of the machine's. With --net host the socket is in reach of
    // the namespace, yet Landlock's scope still refuses it unless Landlock is off.
    // The client's code has no single quotes, so
    // the shell passes it through as one argument.
    let name = format!("airlock-test-abstract-{}-{}", std::process::id(), who as u8);
    let server = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX); s.bind(\"\\0{name}\"); s.listen()\n\
         for _ in range(3):\n    c, _ = s.accept(); c.send(b\"reached\"); c.close()"
    );
    let client = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect(\"\\0{name}\"); print(s.recv(16).decode())\nexcept OSError as e:\n    print(\"refused\", e.errno)"
    );
    let state = State::new(who);
    let script = format!(
        "python3 -c '{server}' & sleep 0.5; trap \"kill $! 2>/dev/null\" EXIT; \
         AIRLOCK_STATE_DIR={state} {airlock} run -- python3 -c '{client}'; \
         AIRLOCK_STATE_DIR={state} {airlock} run --net host -- python3 -c '{client}'; \
         AIRLOCK_STATE_DIR={state} {airlock} run --net host --landlock off -- python3 -c '{client}'",
        state = state.path().display(),
        airlock = airlock_bin().display(),
    );
    let out = run_command(in_own_network(who, &script));
    out.expect_success();
    assert_eq!(out.stdout_lines(), vec!["refused 111", "refused 1", "reached"], "{}", out.stderr);
}
