//! Helpers shared by the end-to-end tests: the airlock binary, running it as root or as the
//! unprivileged test user, bounded waits, and checks that nothing was left behind.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The unprivileged user `.ci/setup` creates, with subordinate id ranges.
pub const TEST_USER: &str = "airlock-test";

/// Longest time any single airlock command in a test may take before the test kills it.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// Who runs airlock in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    Root,
    User,
}

/// The test user's uid and gid, read from /etc/passwd.
pub fn test_user_ids() -> (u32, u32) {
    static IDS: OnceLock<(u32, u32)> = OnceLock::new();
    *IDS.get_or_init(|| {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        passwd
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields[0] == TEST_USER).then(|| (fields[2].parse().unwrap(), fields[3].parse().unwrap()))
            })
            .unwrap_or_else(|| panic!("the test user {TEST_USER} is missing: run .ci/setup as root first"))
    })
}

/// A copy of the airlock binary that the test user can execute, removed when the test
/// process exits. The build directory may sit under a home the test user cannot enter.
pub fn airlock_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("airlock-e2e-").tempdir_in("/tmp").unwrap().keep();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let bin = dir.join("airlock");
        std::fs::copy(env!("CARGO_BIN_EXE_airlock"), &bin).unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        register_removal(dir);
        bin
    })
}

fn register_removal(dir: PathBuf) {
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

/// A command that runs airlock with `args`, as root or as the test user, with a small clean
/// environment.
pub fn airlock<I, S>(who: As, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(airlock_bin());
    command.args(args);
    command.env_clear();
    command.env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    command.env("LANG", "C.UTF-8");
    command.current_dir("/");
    if who == As::User {
        let (uid, gid) = test_user_ids();
        command.env("HOME", format!("/home/{TEST_USER}"));
        command.env("USER", TEST_USER);
        // std clears the supplementary groups when root sets a uid.
        command.uid(uid).gid(gid);
    } else {
        command.env("HOME", "/root");
        command.env("USER", "root");
    }
    command
}

/// What a finished command printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing both outputs when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    pub fn expect_success(&self) -> &Self {
        self.expect_code(0)
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Runs a command to its end, killing it after [`COMMAND_LIMIT`].
pub fn run_command(mut command: Command) -> Output {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("cannot start airlock");
    finish(child, COMMAND_LIMIT)
}

/// Runs airlock with `args` as `who` and collects its output.
pub fn run<I, S>(who: As, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_command(airlock(who, args))
}

/// Waits for a spawned child with piped output, killing it after `limit`.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let mut stdout = child.stdout.take().expect("stdout must be piped");
    let mut stderr = child.stderr.take().expect("stderr must be piped");
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = wait_with_limit(&mut child, limit);
    Output {
        code: status.and_then(|s| s.code()).or_else(|| {
            status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)).map(|sig| 128 + sig)
        }),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Waits up to `limit` for the child; kills it and panics when it takes longer.
pub fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("airlock did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `condition` every 10 ms until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process with this host PID exists (zombies count as gone).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").split_whitespace().next().unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// Every descendant of `pid`, as host PIDs.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

/// The host's mount table, to compare before and after a test.
pub fn host_mounts() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut mounts: Vec<String> = text
        .lines()
        .map(|line| {
            // Drop the mount id and parent id, which change whenever anything remounts.
            line.split_whitespace().skip(2).collect::<Vec<_>>().join(" ")
        })
        .collect();
    mounts.sort();
    mounts
}

/// Reads the JSON lines a `--json-status-fd` pipe received.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|line| serde_json::from_str(line).expect("status line is JSON")).collect()
}

/// The prefix that runs a command as `who` from a root shell: nothing for root, `setpriv`
/// for the test user.
pub fn as_user_prefix(who: As) -> String {
    match who {
        As::Root => String::new(),
        As::User => {
            let (uid, gid) = test_user_ids();
            format!("setpriv --reuid={uid} --regid={gid} --clear-groups --reset-env --")
        }
    }
}

/// Runs `script` with `sh` in a mount namespace of its own, as root, so it can set up
/// mounts around an airlock run without touching the host's mount table. `$AIRLOCK` is the
/// binary and `$AS` the prefix that runs a command as `who`.
pub fn in_private_mounts(who: As, script: &str) -> Output {
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "--", "sh", "-euc", script]);
    command.env_clear();
    command.env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    command.env("AIRLOCK", airlock_bin());
    command.env("AS", as_user_prefix(who));
    command.current_dir("/");
    run_command(command)
}

/// A temporary directory the test user can enter, removed on drop.
pub fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("airlock-test-").tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    dir
}

/// Gives the test user ownership of `path`, so a rootless sandbox can write to it.
pub fn give_to(who: As, path: &Path) {
    if who == As::User {
        let (uid, gid) = test_user_ids();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

/// Makes the child of `command` inherit `fd` as descriptor `target`, open across its exec.
pub fn inherit_fd(command: &mut Command, fd: std::os::fd::RawFd, target: std::os::fd::RawFd) {
    // SAFETY: dup2 and fcntl are async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(fd, target) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // dup2 onto the same number keeps close-on-exec, so it is cleared explicitly.
            libc::fcntl(target, libc::F_SETFD, 0);
            Ok(())
        });
    }
}

/// A minimal system for grants-only sandboxes: /usr read-only and the merged-/usr links.
pub fn system() -> Vec<String> {
    let mut args = vec!["--ro-bind".into(), "/usr".into(), "/usr".into()];
    for dir in ["bin", "sbin", "lib", "lib64"] {
        let path = Path::new("/").join(dir);
        match std::fs::read_link(&path) {
            Ok(target) => args.extend(["--symlink".into(), target.display().to_string(), path.display().to_string()]),
            Err(_) if path.is_dir() => args.extend(["--ro-bind".into(), path.display().to_string(), path.display().to_string()]),
            Err(_) => {}
        }
    }
    args
}


/// A command that runs `script` with `sh` as `who`, inside a network namespace (only `lo`,
/// up) and a private mount namespace that root creates for the test, so that whatever the
/// script serves or configures never reaches the machine's own network.
pub fn in_own_network(who: As, script: &str) -> Command {
    let mut command = Command::new("unshare");
    let inner = format!("ip link set lo up && exec {} sh -euc \"$SCRIPT\"", as_user_prefix(who));
    command.args(["--net", "--mount", "--propagation", "private", "--", "sh", "-euc", &inner]);
    command.env_clear();
    command.env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    command.env("SCRIPT", script);
    command.current_dir("/");
    command
}

/// Shell lines that make the test's own network and mount namespace stand for a host: `lo`
/// up, a private /run, and an "upstream" namespace `up` behind a veth pair (`up0`
/// 10.200.0.1 here, `up1` 10.200.0.2 there) that holds the default route, as user-mode
/// networking wants. Run as root, in namespaces the test created.
pub const HOST_WITH_UPSTREAM: &str = "
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /run
ip netns add up
ip link add up0 type veth peer name up1 netns up
ip addr add 10.200.0.1/24 dev up0
ip link set up0 up
ip -n up addr add 10.200.0.2/24 dev up1
ip -n up link set up1 up
ip -n up link set lo up
ip route add default via 10.200.0.2
";

/// Shell lines that make name lookups fail at once: the resolver they name, in the upstream
/// namespace, has nothing listening. Python's http.server, for one, looks up a name.
pub const QUIET_RESOLVER: &str = "
printf 'nameserver 10.200.0.2\\noptions timeout:1 attempts:1\\n' > /run/resolv.conf
mount --bind /run/resolv.conf /etc/resolv.conf
";

/// Runs `script` with `sh -euc` as root, in a new network and mount namespace that
/// [`HOST_WITH_UPSTREAM`] sets up first. The environment holds only `PATH`, `$AIRLOCK`,
/// `$AS` (the prefix that runs a command as `who`) and `env`.
pub fn in_host_with_upstream(who: As, script: &str, env: &[(&str, &OsStr)]) -> Output {
    let script = format!("{HOST_WITH_UPSTREAM}{script}");
    let mut command = Command::new("unshare");
    command.args(["--net", "--mount", "--propagation", "private", "--", "sh", "-euc", &script]);
    command.env_clear();
    command.env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    command.env("AIRLOCK", airlock_bin());
    command.env("AS", as_user_prefix(who));
    for (name, value) in env {
        command.env(name, value);
    }
    command.current_dir("/");
    run_command(command)
}
