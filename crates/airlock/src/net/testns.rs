//! Network namespaces that tests create and enter from their own threads, so no test touches
//! the machine's interfaces, addresses or firewall, and parallel tests never collide.
//!
//! A network namespace belongs to a thread, not to the process: `unshare(CLONE_NEWNET)` and
//! `setns` on one thread leave the others (and the test harness) where they were, and a
//! program spawned from that thread starts in the thread's namespace.

use nix::sched::CloneFlags;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::process::Command;

/// A new network namespace, alive while this descriptor or a thread inside it is.
pub(crate) struct TestNetns {
    handle: OwnedFd,
}

impl TestNetns {
    /// Creates a namespace with only `lo`, down.
    pub(crate) fn new() -> TestNetns {
        let handle = std::thread::spawn(|| {
            nix::sched::unshare(CloneFlags::CLONE_NEWNET).expect("cannot create a network namespace (tests need root)");
            OwnedFd::from(File::open("/proc/thread-self/ns/net").expect("cannot open the new network namespace"))
        })
        .join()
        .expect("the thread creating a network namespace panicked");
        TestNetns { handle }
    }

    /// Returns the namespace's descriptor, for `IFLA_NET_NS_FD`.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.handle.as_fd()
    }

    /// Runs `work` on a new thread inside this namespace and returns its result; a panic in
    /// `work` is raised again here.
    pub(crate) fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|scope| {
            let thread = scope.spawn(|| {
                nix::sched::setns(&self.handle, CloneFlags::CLONE_NEWNET)
                    .expect("cannot enter the test's network namespace");
                assert_ne!(
                    namespace_inode("/proc/thread-self/ns/net"),
                    namespace_inode("/proc/self/ns/net"),
                    "the test thread is still in the process's own network namespace"
                );
                work()
            });
            thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

fn namespace_inode(path: &str) -> u64 {
    std::fs::metadata(path).unwrap_or_else(|error| panic!("cannot stat {path}: {error}")).ino()
}

/// Runs `program` in the calling thread's network namespace and returns its standard output;
/// panics if it cannot start or exits with failure.
pub(crate) fn run_program(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error} (Debian packages iproute2 and nftables)"));
    assert!(
        output.status.success(),
        "{program} {} failed with {}: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("program output is not UTF-8")
}

/// Runs `program` like [`run_program`] and parses its output as JSON.
pub(crate) fn run_json(program: &str, args: &[&str]) -> serde_json::Value {
    let output = run_program(program, args);
    serde_json::from_str(&output)
        .unwrap_or_else(|error| panic!("{program} {} printed invalid JSON: {error}\n{output}", args.join(" ")))
}

/// Writes `value` to a sysctl under `/proc/sys/net`, which shows the settings of the calling
/// thread's network namespace.
pub(crate) fn set_net_sysctl(path: &str, value: &str) {
    let full_path = format!("/proc/sys/net/{path}");
    std::fs::write(&full_path, value).unwrap_or_else(|error| panic!("cannot write {value} to {full_path}: {error}"));
}
