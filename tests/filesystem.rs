//! The filesystem view: grants, the default view, `--rootfs`, symlink safety, `/proc` masks
//! and mount propagation, as root and as the unprivileged test user. Every test checks
//! that the host's mount table is the same afterwards.

mod common;

use common::*;
use rstest::rstest;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

/// Runs a test body and checks that the host's mount table did not change.
fn keeps_mounts<T>(body: impl FnOnce() -> T) -> T {
    let before = host_mounts();
    let result = body();
    assert_eq!(host_mounts(), before, "the host's mount table changed");
    result
}

fn run_with(who: As, grants: &[&str], script: &str) -> Output {
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(system());
    args.extend(grants.iter().map(|s| s.to_string()));
    args.extend(["--".into(), "sh".into(), "-c".into(), script.into()]);
    run(who, &args)
}

#[rstest]
fn bind_is_writable(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let dir = shared_tempdir();
        give_to(who, dir.path());
        let host = dir.path().display().to_string();
        run_with(who, &["--bind", &host, "/data"], "echo hello > /data/out").expect_success();
        assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "hello\n");
    });
}

#[rstest]
fn ro_bind_refuses_writes(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let dir = shared_tempdir();
        give_to(who, dir.path());
        std::fs::write(dir.path().join("file"), "original").unwrap();
        let host = dir.path().display().to_string();
        let out = run_with(who, &["--ro-bind", &host, "/data"], "cat /data/file; echo x > /data/file; echo x > /data/new");
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert_eq!(out.stdout, "original");
        assert_eq!(out.stderr.matches("Read-only file system").count(), 2, "{}", out.stderr);
        assert_eq!(std::fs::read_to_string(dir.path().join("file")).unwrap(), "original");
        assert!(!dir.path().join("new").exists());
    });
}

#[rstest]
fn ro_bind_covers_submounts(#[values(As::Root, As::User)] who: As) {
    // A tmpfs mounted below the source, in a mount namespace of the test's own.
    let dir = shared_tempdir();
    let host = dir.path().display().to_string();
    let script = format!(
        "mkdir -p {host}/sub && mount -t tmpfs -o mode=0777 none {host}/sub && echo below > {host}/sub/file && \
         $AS $AIRLOCK run --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
         --ro-bind {host} /data -- sh -c 'cat /data/sub/file; echo x > /data/sub/file && echo WROTE; true'"
    );
    let out = keeps_mounts(|| in_private_mounts(who, &script));
    out.expect_success();
    assert_eq!(out.stdout, "below\n");
    assert!(out.stderr.contains("Read-only file system"), "{}", out.stderr);
}

#[rstest]
fn dev_bind_and_try_variants(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let out = run_with(
            who,
            &["--dev-bind", "/dev/null", "/null", "--ro-bind-try", "/no/such/source", "/skipped", "--bind-try", "/no/such/either", "/skipped2"],
            "echo data > /null && echo wrote; test -e /skipped || echo skipped; test -e /skipped2 || echo skipped2",
        );
        out.expect_success();
        assert_eq!(out.stdout_lines(), vec!["wrote", "skipped", "skipped2"]);
    });
}

#[rstest]
fn tmpfs_dir_symlink_and_perms(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let out = run_with(
            who,
            &["--proc", "/proc", "--dev", "/dev", "--size", "1M", "--perms", "1777", "--tmpfs", "/scratch", "--perms", "0700", "--dir", "/made/deep", "--symlink", "/made/deep", "/link"],
            "stat -c %a /scratch /made/deep; df -k --output=size /scratch | tail -1 | tr -d ' '; cd /link && pwd -P; \
             dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>&1 | head -1",
        );
        let lines = out.stdout_lines();
        assert_eq!(lines[0], "1777");
        assert_eq!(lines[1], "700");
        assert_eq!(lines[2], "1024", "tmpfs size in KiB: {}", out.stdout);
        assert_eq!(lines[3], "/made/deep");
        assert!(out.stdout.contains("No space left") || out.stderr.contains("No space left"), "{}{}", out.stdout, out.stderr);
    });
}

#[rstest]
fn file_copies_host_file_and_stdin(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let dir = shared_tempdir();
        let source = dir.path().join("source");
        std::fs::write(&source, "from host\n").unwrap();
        let source = source.display().to_string();
        let mut args: Vec<String> = vec!["run".into()];
        args.extend(system());
        args.extend(
            ["--file", &source, "/etc/copied", "--perms", "0600", "--file", "-", "/etc/piped", "--", "sh", "-c", "cat /etc/copied /etc/piped; stat -c %a /etc/piped"]
                .map(String::from),
        );
        let mut command = airlock(who, &args);
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"from stdin\n").unwrap();
        let out = finish(child, COMMAND_LIMIT);
        out.expect_success();
        assert_eq!(out.stdout_lines(), vec!["from host", "from stdin", "600"]);
    });
}

#[rstest]
fn remount_ro_makes_read_only(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let out = run_with(who, &["--tmpfs", "/scratch", "--dir", "/scratch/sub", "--remount-ro", "/scratch"], "touch /scratch/sub/x");
        assert_ne!(out.code, Some(0));
        assert!(out.stderr.contains("Read-only file system"), "{}", out.stderr);
    });
}

#[rstest]
fn special_file_systems(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let out = run_with(
            who,
            &["--proc", "/proc", "--dev", "/dev", "--mqueue", "/dev/mqueue", "--sys", "/sys"],
            "cat /proc/self/mountinfo; echo END; ls /dev | tr '\\n' ' '; echo; touch /sys/x 2>&1 | grep -c Read-only",
        );
        out.expect_success();
        let (mountinfo, rest) = out.stdout.split_once("END\n").unwrap();
        let types: Vec<String> = mountinfo
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let dash = fields.iter().position(|field| *field == "-").unwrap();
                format!("{} {}", fields[4], fields[dash + 1])
            })
            .collect();
        for expected in ["/proc proc", "/dev tmpfs", "/dev/pts devpts", "/dev/shm tmpfs", "/dev/mqueue mqueue", "/sys sysfs"] {
            assert!(types.iter().any(|t| t == expected), "{expected} missing: {types:?}");
        }
        let dev_line = rest.lines().next().unwrap();
        for node in ["full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero", "fd"] {
            assert!(dev_line.split_whitespace().any(|n| n == node), "{node} missing from /dev: {dev_line}");
        }
        assert_eq!(out.stdout.lines().last().unwrap(), "1", "/sys is writable");
    });
}

#[rstest]
fn overlay_writes_go_to_upper(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let lower = shared_tempdir();
        std::fs::write(lower.path().join("kept"), "lower content").unwrap();
        std::fs::write(lower.path().join("removed"), "to be deleted").unwrap();
        // The payload may only change what its uid owns, as anywhere else.
        give_to(who, &lower.path().join("kept"));
        give_to(who, &lower.path().join("removed"));
        let before = snapshot(lower.path());
        let upper_root = shared_tempdir();
        let upper = upper_root.path().join("upper");
        let work = upper_root.path().join("work");
        std::fs::create_dir(&upper).unwrap();
        std::fs::create_dir(&work).unwrap();
        give_to(who, &upper);
        give_to(who, &work);
        let script = "echo changed > /o/kept; echo new > /o/added; rm /o/removed; cat /o/kept /o/added; ls /o | tr '\\n' ' '";
        let lower_path = lower.path().display().to_string();
        let (upper_path, work_path) = (upper.display().to_string(), work.display().to_string());
        let out = run_with(who, &["--overlay-src", &lower_path, "--overlay", &upper_path, &work_path, "/o"], script);
        out.expect_success();
        assert_eq!(out.stdout, "changed\nnew\nadded kept ");
        assert_eq!(snapshot(lower.path()), before, "the lower directory changed");
        assert_eq!(std::fs::read_to_string(upper.join("added")).unwrap(), "new\n");
        assert_eq!(std::fs::read_to_string(upper.join("kept")).unwrap(), "changed\n");

        // With a tmpfs upper layer nothing persists anywhere.
        let out = run_with(who, &["--overlay-src", &lower_path, "--tmp-overlay", "/o"], "echo temp > /o/kept; cat /o/kept");
        out.expect_success();
        assert_eq!(out.stdout, "temp\n");
        assert_eq!(snapshot(lower.path()), before, "the lower directory changed");
    });
}

/// Every file of a directory with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// A root file system made of Debian's busybox-static.
fn busybox_rootfs() -> tempfile::TempDir {
    let root = shared_tempdir();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for dir in ["bin", "proc", "dev", "tmp", "opt"] {
        std::fs::create_dir(root.path().join(dir)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.path().join("bin/busybox")).unwrap();
    for tool in ["sh", "ls", "cat", "touch", "mkdir", "stat", "id", "echo", "mount"] {
        std::os::unix::fs::symlink("busybox", root.path().join("bin").join(tool)).unwrap();
    }
    root
}

#[rstest]
fn rootfs_from_busybox(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let root = busybox_rootfs();
        let rootfs = root.path().display().to_string();
        let out = run(who, ["run", "--rootfs", &rootfs, "--proc", "/proc", "--env", "PATH=/bin", "--", "sh", "-c", "ls /; cat /proc/1/status | head -1"]);
        out.expect_success();
        assert!(out.stdout.contains("bin\n"), "{}", out.stdout);
        assert!(out.stdout.contains("Name:"), "{}", out.stdout);
    });
}

#[rstest]
fn absolute_symlink_cannot_escape(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let root = busybox_rootfs();
        let marker = Path::new("/tmp").join(format!("airlock-host-marker-{}-{}", std::process::id(), who as u8));
        std::os::unix::fs::symlink(&marker, root.path().join("opt/x")).unwrap();
        if who == As::User {
            // The rootless sandbox needs to create its mount points in the rootfs.
            let (uid, gid) = test_user_ids();
            for entry in ["", "opt", "tmp"] {
                std::os::unix::fs::chown(root.path().join(entry), Some(uid), Some(gid)).unwrap();
            }
        }
        let rootfs = root.path().display().to_string();
        let out = run(who, ["run", "--rootfs", &rootfs, "--tmpfs", "/opt/x/dir", "--env", "PATH=/bin", "--", "sh", "-c", "ls -d /opt/x/dir"]);
        out.expect_success();
        assert!(!marker.exists(), "a grant followed a symlink out of the rootfs to {}", marker.display());
        let inside = root.path().join(marker.strip_prefix("/").unwrap()).join("dir");
        assert!(inside.is_dir(), "the grant should resolve inside the rootfs, at {}", inside.display());
    });
}

#[rstest]
fn default_view_runs_ordinary_programs(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let script = "python3 -c 'print(1)' && printf 'int main(void){return 42;}' > /tmp/t.c && gcc -o /tmp/t /tmp/t.c && { /tmp/t; echo rc=$?; }; \
                      for secret in /etc/shadow /root /home /run; do cat $secret >/dev/null 2>&1 || ls $secret >/dev/null 2>&1 && echo LEAK $secret; done; \
                      touch /usr/x 2>/dev/null && echo LEAK-usr; touch /x 2>/dev/null && echo LEAK-root; ls /tmp/t.c";
        let out = run(who, ["run", "--", "sh", "-c", script]);
        out.expect_success();
        assert_eq!(out.stdout_lines(), vec!["1", "rc=42", "/tmp/t.c"], "{}", out.stderr);
    });
}

#[rstest]
fn proc_hides_sensitive_files(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let script = "for f in /proc/keys /proc/timer_list /proc/kcore /proc/sched_debug; do \
                        if [ -e $f ]; then echo \"$f $(cat $f 2>/dev/null | wc -c)\"; fi; done; \
                      echo 1 > /proc/sys/kernel/core_pattern 2>/dev/null && echo LEAK-sys; \
                      if [ -e /proc/sysrq-trigger ]; then echo h > /proc/sysrq-trigger 2>/dev/null && echo LEAK-sysrq; fi; \
                      ls /proc/acpi 2>/dev/null | wc -l; true";
        let out = run(who, ["run", "--", "sh", "-c", script]);
        out.expect_success();
        for line in out.stdout.lines().filter(|line| line.starts_with("/proc")) {
            assert!(line.ends_with(" 0"), "a masked file has content: {line}");
        }
        assert!(!out.stdout.contains("LEAK"), "{}", out.stdout);
        assert_eq!(out.stdout.lines().last(), Some("0"));
    });
}

#[rstest]
fn host_mounts_stay_outside(#[values(As::Root, As::User)] who: As) {
    // A shared host directory, a sandbox that binds it, and a host mount made while the
    // sandbox runs: propagation must not carry the new mount into the sandbox.
    let dir = shared_tempdir();
    let host = dir.path().display().to_string();
    let script = format!(
        "mount --bind {host} {host} && mount --make-shared {host} && mkdir -p {host}/later && chmod 777 {host}/later && \
         ($AS $AIRLOCK run --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
            --proc /proc --bind {host} /data -- sh -c 'while [ ! -e /data/go ]; do sleep 0.05; done; \
            grep -c \" /data/later \" /proc/self/mountinfo; true' > {host}/result) & \
         sleep 0.5; mount -t tmpfs none {host}/later; touch {host}/go; wait; cat {host}/result"
    );
    let out = keeps_mounts(|| in_private_mounts(who, &script));
    out.expect_success();
    assert_eq!(out.stdout.trim(), "0", "a host mount reached the sandbox: {}", out.stderr);
}

#[rstest]
fn odd_paths_work(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let dir = shared_tempdir();
        let odd = dir.path().join("with space:colon-ünï");
        std::fs::create_dir(&odd).unwrap();
        std::fs::write(odd.join("f"), "odd").unwrap();
        let src = odd.display().to_string();
        let out = run_with(who, &["--ro-bind", &src, "/mnt/dest with space:ü"], "cat '/mnt/dest with space:ü/f'");
        out.expect_success();
        assert_eq!(out.stdout, "odd");
    });
}

#[rstest]
fn chdir_resolves_inside(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let out = run_with(who, &["--dir", "/work/here", "--chdir", "/work/here"], "pwd");
        out.expect_success();
        assert_eq!(out.stdout.trim(), "/work/here");
    });
}

#[rstest]
fn bad_grants_fail_before_start(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let dir = shared_tempdir();
        let probe = dir.path().join("created-by-airlock");
        let probe_arg = probe.display().to_string();
        let cases: Vec<Vec<&str>> = vec![
            vec!["--bind", "/no/such/source", "/x"],
            vec!["--bind", "/usr", "relative/dest"],
            vec!["--bind", "/usr", "/a/../b"],
            vec!["--tmpfs", "/proc/sys"],
            vec!["--file", "/etc", "/x"],
            vec!["--rootfs", "/etc/passwd"],
            vec!["--overlay-src", "/etc/passwd", "--tmp-overlay", "/o"],
            vec!["--overlay-src", "/usr"],
            vec!["--dir", "/a", "--symlink", "x", "/a"],
            vec!["--file", "/etc/hostname", "/a", "--dir", "/a/b"],
            vec!["--size", "1M", "--dir", "/a"],
            vec!["--size", "12Q", "--tmpfs", "/a"],
            vec!["--bind", "/usr", "/"],
            vec!["--dir", &probe_arg, "--bind", "/no/such/source", "/y"],
        ];
        for grants in cases {
            let mut args = vec!["run"];
            args.extend_from_slice(&grants);
            args.extend_from_slice(&["--", "true"]);
            let out = run(who, &args);
            assert_eq!(out.code, Some(125), "{grants:?}: {}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{grants:?}: {}", out.stderr);
            assert!(out.stderr.starts_with("airlock: "), "{grants:?}: {}", out.stderr);
        }
        assert!(!probe.exists());
    });
}

#[rstest]
fn wrong_destination_type_fails_clearly(#[values(As::Root, As::User)] who: As) {
    keeps_mounts(|| {
        let root = busybox_rootfs();
        std::fs::write(root.path().join("notadir"), "").unwrap();
        if who == As::User {
            let (uid, gid) = test_user_ids();
            std::os::unix::fs::chown(root.path(), Some(uid), Some(gid)).unwrap();
        }
        let rootfs = root.path().display().to_string();
        let out = run(who, ["run", "--rootfs", &rootfs, "--dev", "/notadir", "--", "/bin/sh", "-c", "true"]);
        out.expect_code(125);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains("/notadir") && out.stderr.contains("not a directory"), "{}", out.stderr);
    });
}
