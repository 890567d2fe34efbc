//! Profiles end to end: each built-in profile running its real program, `explain` checked
//! against what the sandbox can really do, profile errors, reviewed `explain` snapshots,
//! and the man pages and completions generated from the command line's definitions.

mod common;

use common::*;
use rstest::rstest;
use std::path::Path;

/// Runs `body` with `sh` in a network and mount namespace of its own, as `who`, in a
/// working directory `who` owns (also HOME), with `al` calling airlock with a state
/// directory of the test's own. The namespace has a default route through an "upstream"
/// namespace, as user-mode networking wants, and resolv.conf names a resolver there that
/// refuses at once, so that no name lookup waits or leaves.
fn profile_script(who: As, body: &str) -> Output {
    let work = shared_tempdir();
    let home = work.path().join("home");
    std::fs::create_dir(&home).unwrap();
    give_to(who, &home);
    let script = format!(
        r#"
{QUIET_RESOLVER}
cd "$HOME"
as_user() {{ $AS env HOME="$HOME" PATH="$PATH" AIRLOCK_STATE_DIR="$HOME/.state" "$@"; }}
al() {{ as_user "$AIRLOCK" "$@"; }}
{body}
if [ -n "$(ls -A "$HOME/.state/sandboxes" 2>/dev/null)" ]; then echo "a named sandbox was left behind"; fi
"#
    );
    let out = in_host_with_upstream(who, &script, &[("HOME", home.as_os_str())]);
    drop(work);
    out
}

fn assert_lines(out: &Output, expected: &[&str]) {
    out.expect_success();
    assert_eq!(out.stdout_lines(), expected, "stderr:\n{}", out.stderr);
}

#[rstest]
fn default_profile_shows_the_system_and_no_secrets(#[values(As::Root, As::User)] who: As) {
    let out = profile_script(
        who,
        r#"
al run --profile default -- sh -c 'test -x /usr/bin/python3 && echo system; test -e /etc/shadow || echo no-shadow; test -e "$HOME" || echo no-home; touch /usr/x 2>/dev/null || echo usr-read-only'
"#,
    );
    assert_lines(&out, &["system", "no-shadow", "no-home", "usr-read-only"]);
}

#[rstest]
fn shell_profile_runs_in_current_directory(#[values(As::Root, As::User)] who: As) {
    let out = profile_script(
        who,
        r#"
printf 'echo made inside > made.txt\ntest -e /etc/shadow || echo no-shadow\n' | al run --profile shell
cat made.txt
"#,
    );
    assert_lines(&out, &["no-shadow", "made inside"]);
}

#[rstest]
fn build_profile_compiles_c_offline(#[values(As::Root, As::User)] who: As) {
    let out = profile_script(
        who,
        r#"
printf '#include <stdio.h>\nint main(void) { puts("hello from gcc"); return 0; }\n' > hello.c
al run --profile build -- gcc -o hello hello.c
al run --profile build -- ./hello
al run --profile build -- python3 -c 'import socket; socket.create_connection(("10.200.0.2", 80), timeout=2)' 2>&1 | tail -1
"#,
    );
    assert_lines(&out, &["hello from gcc", "OSError: [Errno 101] Network is unreachable"]);
}

#[test]
fn build_profile_compiles_a_rust_crate_offline() {
    // The toolchain that runs this test, bound read-only where it is, as the profile binds
    // ~/.cargo and ~/.rustup for a user whose toolchain lives there.
    let cargo = std::path::PathBuf::from(std::env::var("CARGO").expect("cargo test sets CARGO"));
    let toolchain = cargo.parent().and_then(Path::parent).expect("cargo lives in a toolchain's bin directory");
    let out = profile_script(
        As::Root,
        &format!(
            r#"
TOOLCHAIN='{}'
mkdir -p crate/src
printf '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n' > crate/Cargo.toml
echo 'fn main() {{ println!("hello from cargo"); }}' > crate/src/main.rs
cd crate
PATH="$TOOLCHAIN/bin:$PATH" al run --profile build --ro-bind "$TOOLCHAIN" "$TOOLCHAIN" -- cargo run --quiet --offline
al run --profile build --ro-bind "$TOOLCHAIN" "$TOOLCHAIN" -- sh -c "touch '$TOOLCHAIN/x' 2>/dev/null || echo toolchain-read-only"
"#,
            toolchain.display()
        ),
    );
    assert_lines(&out, &["hello from cargo", "toolchain-read-only"]);
}

#[rstest]
fn service_profile_serves_files_on_a_published_port(#[values(As::Root, As::User)] who: As) {
    let out = profile_script(
        who,
        r#"
mkdir site && echo '<h1>served</h1>' > site/index.html
cd site && al create web --profile service >/dev/null && cd ..
python3 -c '
import time, urllib.request
for _ in range(100):
    try:
        print(urllib.request.urlopen("http://127.0.0.1:8000/", timeout=2).read().decode().strip())
        break
    except OSError:
        time.sleep(0.1)
else:
    print("never served")
'
al exec web -- sh -c 'test -e "$HOME" || echo no-home; touch /srv/x 2>/dev/null || echo srv-read-only'
al rm --force web
"#,
    );
    assert_lines(&out, &["<h1>served</h1>", "no-home", "srv-read-only"]);
}

#[rstest]
fn untrusted_profile_allows_only_a_small_tmp(#[values(As::Root, As::User)] who: As) {
    let out = profile_script(
        who,
        r#"
al run --profile untrusted -- sh -c '
echo scratch > /tmp/scratch && echo tmp-writable
touch "$PWD/x" 2>/dev/null || echo cwd-invisible-or-read-only
dd if=/dev/zero of=/tmp/big bs=1M count=32 2>/dev/null || echo tmp-capped
hostname
'
al run --profile untrusted -- python3 -c 'import socket; socket.create_connection(("10.200.0.2", 80), timeout=2)' 2>&1 | tail -1
"#,
    );
    assert_lines(
        &out,
        &["tmp-writable", "cwd-invisible-or-read-only", "tmp-capped", "untrusted", "OSError: [Errno 101] Network is unreachable"],
    );
}

/// What `explain --json` reports of one built-in profile, checked inside that sandbox: a path
/// it calls hidden cannot be seen, a system call its seccomp filter denies fails with
/// EPERM, and a server on the host's loopback, which no profile reaches, stays out of reach.
#[rstest]
fn explain_agrees_with_reality(#[values("default", "shell", "build", "service", "untrusted")] profile: &str) {
    let out = profile_script(
        As::Root,
        &format!(
            r#"
mkdir -p "$HOME/private" && echo secret > "$HOME/private/key"
al explain --json --profile {profile} -- true > explain.json
read hidden denied reaches <<EOF
$(python3 -c '
import json
e = json.load(open("explain.json"))
print(e["hidden"][0], "keyctl" if "keyctl" in e["seccomp"]["denies"] else "none", "loopback-reachable" if e["network"]["mode"] == "host" else "loopback-out-of-reach")
')
EOF
echo "$hidden $denied $reaches"
python3 -c '
import socket, time, os
s = socket.socket(); s.bind(("127.0.0.1", 9000)); s.listen(); s.settimeout(20)
open("/run/listening", "w").close()
try:
    s.accept()
except OSError:
    pass
' &
for _ in $(seq 50); do [ -e /run/listening ] && break; sleep 0.1; done
al run --profile {profile} -- python3 -c '
import ctypes, os, socket, sys
hidden = sys.argv[1]
print("hidden-visible" if os.path.exists(hidden) else "hidden-invisible")
libc = ctypes.CDLL(None, use_errno=True)
result = libc.syscall(250, 0, 0, 0, 0, 0)
print("keyctl", "EPERM" if result == -1 and ctypes.get_errno() == 1 else "allowed")
try:
    socket.create_connection(("127.0.0.1", 9000), timeout=2)
    print("host-loopback-reached")
except OSError:
    print("host-loopback-out-of-reach")
' "$hidden" 2>/dev/null || true
python3 -c 'import socket; socket.create_connection(("127.0.0.1", 9000), timeout=2)'
wait
"#
        ),
    );
    out.expect_success();
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 4, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let claims: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(claims[1..], ["keyctl", "loopback-out-of-reach"], "explain: {}", lines[0]);
    assert!(claims[0].starts_with('/'), "explain lists no hidden path: {}", lines[0]);
    assert_eq!(lines[1..], ["hidden-invisible", "keyctl EPERM", "host-loopback-out-of-reach"], "{profile}: {}", out.stderr);
}

/// Writes a profile file into `dir` and returns its path.
fn profile_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[rstest]
#[case::misspelt_key("[network]\nmode = \"none\"\npublsh = [\"8080:80\"]\n", ":3:1: unknown key \"publsh\"; did you mean \"publish\"?")]
#[case::misspelt_table("[limts]\npids = 10\n", ":1:2: unknown key \"limts\"; did you mean \"limits\"?")]
#[case::wrong_type("[limits]\npids = \"many\"\n", ":2:8: invalid type: string \"many\", expected a whole number")]
#[case::bad_size("[limits]\nmemory = \"12 parsecs\"\n", ":2:10: ")]
#[case::bad_value("[network]\nmode = \"wifi\"\n", ":2:8: ")]
fn profile_errors_are_one_line_with_position(#[case] text: &str, #[case] expected: &str) {
    let dir = shared_tempdir();
    let path = profile_file(dir.path(), "bad.toml", text);
    for args in [vec!["check", path.as_str()], vec!["run", "--profile", path.as_str(), "--", "true"]] {
        let out = run(As::Root, &args);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", out.stderr);
        assert!(lines[0].starts_with(&format!("airlock: {path}{expected}")), "{args:?}: {}", lines[0]);
        assert_eq!(out.code, Some(if args[0] == "check" { 1 } else { 125 }), "{args:?}");
    }
}

#[test]
fn check_rejects_values_run_would_reject() {
    let dir = shared_tempdir();
    let path = profile_file(dir.path(), "caps.toml", "include = [\"default\"]\n[security]\ncap-add = [\"NET_BIND_SERVIC\"]\n");
    let out = run(As::Root, ["check", &path]);
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!("airlock: {path}: invalid capability \"NET_BIND_SERVIC\": no such capability; did you mean NET_BIND_SERVICE?\n")
    );
    // explain still describes it, starts with why it cannot start, and exits with 1.
    let out = run(As::Root, ["explain", "--profile", &path]);
    out.expect_code(1);
    assert!(out.stdout.starts_with("Cannot start here: invalid capability"), "{}", out.stdout);
}

#[test]
fn include_loop_is_one_line() {
    let dir = shared_tempdir();
    let a = profile_file(dir.path(), "a.toml", "include = [\"b.toml\"]\n");
    let b = profile_file(dir.path(), "b.toml", "include = [\"a.toml\"]\n");
    let out = run(As::Root, ["run", "--profile", &a, "--", "true"]);
    out.expect_code(125);
    assert_eq!(out.stderr, format!("airlock: profiles include each other in a loop: {a} includes {b} includes {a}\n"));
}

#[test]
fn options_merge_on_top_of_profiles() {
    let dir = shared_tempdir();
    let base = profile_file(
        dir.path(),
        "base.toml",
        "include = [\"default\"]\n[process]\ncommand = [\"sh\", \"-c\", \"echo from-profile\"]\nhostname = \"base\"\n[limits]\nrlimits = [\"nofile=100\"]\n",
    );
    let out = run(As::Root, ["run", "--profile", &base]);
    out.expect_success();
    assert_eq!(out.stdout, "from-profile\n");
    // Single values from the command line replace the profile's; lists add up, and a later
    // rlimit of the same resource replaces an earlier one, looser or not.
    let limits = "hostname; ulimit -n; grep 'Max processes' /proc/self/limits | tr -s ' ' | cut -d' ' -f3";
    let out = run(As::Root, ["run", "--profile", &base, "--hostname", "cli", "--rlimit", "nproc=50", "--", "sh", "-c", limits]);
    out.expect_success();
    assert_eq!(out.stdout, "cli\n100\n50\n");
    let out = run(As::Root, ["run", "--profile", &base, "--rlimit", "nofile=200", "--", "sh", "-c", "ulimit -n"]);
    out.expect_success();
    assert_eq!(out.stdout, "200\n");
}

#[test]
fn dry_run_starts_nothing() {
    let dir = shared_tempdir();
    let marker = dir.path().join("ran");
    let out = run(As::Root, ["run", "--dry-run", "--bind", &dir.path().display().to_string(), "/out", "--", "touch", "/out/ran"]);
    out.expect_success();
    assert!(out.stdout.starts_with("Runs: touch /out/ran\n"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("/out                     read-write          the host's {}", dir.path().display())), "{}", out.stdout);
    assert!(!marker.exists(), "--dry-run ran the command");
}

/// The explanation of each built-in profile, as reviewed in tests/snapshots. Paths and
/// numbers that belong to the machine are replaced by placeholders. With
/// AIRLOCK_UPDATE_SNAPSHOTS=1 the test writes the snapshots instead of comparing them.
#[rstest]
fn explain_matches_its_reviewed_snapshot(#[values("default", "shell", "build", "service", "untrusted")] profile: &str) {
    let dir = shared_tempdir();
    let mut command = airlock(As::Root, ["explain", "--profile", profile]);
    command.current_dir(dir.path());
    // A home that does not exist, so the binds of the build profile into it are skipped on
    // every machine alike.
    command.env("HOME", "/home/nobody-here");
    let out = run_command(command);
    out.expect_success();
    let abi = airlock::security::landlock_abi();
    let text = out.stdout.replace(&dir.path().display().to_string(), "$PWD").replace(&format!("(ABI {abi})"), "(ABI N)");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/snapshots/explain-{profile}.txt"));
    if std::env::var_os("AIRLOCK_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_eq!(text, expected, "explain --profile {profile} changed; review it and update {}", path.display());
}

#[test]
fn man_pages_and_completions_generated() {
    let dir = shared_tempdir();
    let out = run(As::Root, ["man", &dir.path().display().to_string()]);
    out.expect_success();
    for page in ["airlock.1", "airlock-run.1", "airlock-net-create.1", "airlock-profile-show.1", "airlock-explain.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|error| panic!("{page}: {error}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page} is not a man page");
    }
    let run_page = std::fs::read_to_string(dir.path().join("airlock-run.1")).unwrap();
    assert!(run_page.contains("allow\\-egress"), "airlock-run.1 lacks --allow-egress");

    for (shell, marker) in [("bash", "_airlock()"), ("zsh", "#compdef airlock"), ("fish", "complete -c airlock")] {
        let out = run(As::Root, ["completions", shell]);
        out.expect_success();
        assert!(out.stdout.contains(marker), "{shell} completion lacks {marker}");
        assert!(out.stdout.contains("allow-egress"), "{shell} completion lacks --allow-egress");
    }
}
