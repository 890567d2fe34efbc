//! The sandbox's view of the file system: the mount plan and how it is built.
//!
//! The plan is an ordered list of grants (the spec's, or the default view). Building it has
//! three phases, all inside the sandbox's new mount namespace:
//!
//! 1. Prepare: every host source is captured while the caller's view is intact. Binds become
//!    detached mount trees (`open_tree`), `--file` sources are read, overlays are mounted
//!    detached. Read-only binds are made read-only recursively here.
//! 2. Apply: the new root (a fresh tmpfs, or the `--rootfs` tree) is attached at a staging
//!    directory, and each grant is applied in order. Every destination is resolved inside
//!    the new root (see [`resolve`]), so no symlink can lead outside it.
//! 3. Switch: `pivot_root` into the new root and detach the old one.

mod default_view;
mod dev;
mod mount_api;
mod overlay;
mod proc;
mod resolve;

use crate::child::{AtStep, Context, SetupError};
use crate::launch::channel::Step;
use crate::spec::{BindMode, FileSource, Mount, NsSource, Spec};
use mount_api::Flags;
use resolve::{Resolver, Target};
use rustix::fs::{Mode, OFlags};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

pub(crate) use default_view::mounts as default_view;

/// The sandbox's file system once it is built.
pub(crate) struct Built {
    /// The grants that were mounted (optional ones whose source was missing are left out).
    pub mounts: Vec<Mount>,
    /// Detached mount trees that served only as sources for other mounts. Closing the last
    /// descriptor of such a tree unmounts it, and the kernel then waits for an RCU grace
    /// period. So init closes them once the payload runs, where the wait delays nothing.
    pub sources: Vec<OwnedFd>,
    /// `/proc/sys/kernel/ns_last_pid` of the new procfs, opened for writing before
    /// `/proc/sys` became read-only, when a network helper took a PID (see `child::netns`).
    /// Taken and closed once the PID numbering is restored.
    pub last_pid: Option<OwnedFd>,
}

/// Builds the sandbox's file system and switches to it.
pub(crate) fn setup(context: &Context<'_>, captured: Captured) -> Result<Built, SetupError> {
    let spec = context.spec;
    let Captured { plan, prepared } = captured;
    let resolv_conf = context.network.resolv_conf.as_deref().map(resolv_conf_tree).transpose()?;

    let root_tree = match &spec.filesystem.rootfs {
        Some(rootfs) => mount_api::clone_tree(rustix::fs::CWD, rootfs, Flags::NONE)
            .at(Step::Mounts, || format!("cannot use {} as the root", rootfs.display()))?,
        None => mount_api::new_filesystem("tmpfs", &[("mode", "0755")], Flags { nosuid: true, nodev: true, ..Flags::NONE })
            .at(Step::Mounts, || "cannot create the root tmpfs".into())?,
    };
    let root = attach_staging(root_tree)?;

    let resolver = Resolver::new(root.as_fd());
    let mut mounted = Vec::with_capacity(plan.len());
    let mut sources = Vec::new();
    let mut last_pid = None;
    for (mount, prepared) in plan.into_iter().zip(prepared) {
        tracing::debug!(?mount, "applying grant");
        if matches!(prepared, Prepared::Skipped) {
            continue;
        }
        apply(&resolver, &mount, prepared, context, &mut sources, &mut last_pid)?;
        mounted.push(mount);
    }
    if let Some(tree) = resolv_conf {
        attach_resolv_conf(&resolver, tree)?;
    }
    if spec.filesystem.rootfs.is_none() {
        // Only the grants are writable; the tmpfs that holds their mount points is not.
        mount_api::set_flags(root.as_fd(), Flags { read_only: true, ..Flags::NONE }, false)
            .at(Step::Mounts, || "cannot make the root read-only".into())?;
    }
    switch_root(root.as_fd())?;
    Ok(Built { mounts: mounted, sources, last_pid })
}

/// The plan and its host-side sources, captured while the caller's view is intact: the
/// first phase of [`setup`].
pub(crate) struct Captured {
    plan: Vec<Mount>,
    prepared: Vec<Prepared>,
}

/// Makes the sandbox's mounts private and captures the plan's host-side sources.
pub(crate) fn capture(context: &Context<'_>) -> Result<Captured, SetupError> {
    mount_api::make_all_private().at(Step::Mounts, || "cannot make the sandbox's mounts private".into())?;
    let plan = context.plan.to_vec();
    let prepared = plan.iter().map(|mount| prepare(mount, context.spec, context.shm_dir)).collect::<Result<_, _>>()?;
    Ok(Captured { plan, prepared })
}

/// The grants to apply: the default view where it applies, then the spec's own.
pub(crate) fn plan(spec: &Spec) -> Vec<Mount> {
    let mut plan = if spec.filesystem.is_default_view() { default_view() } else { Vec::new() };
    plan.extend(spec.filesystem.mounts.iter().cloned());
    plan.extend(spec.ipc.mounts());
    plan
}

/// A host-side resource captured before the new root hides any of the caller's view.
enum Prepared {
    Tree(OwnedFd),
    Content(Vec<u8>),
    Dev(dev::Sources),
    /// The host's `/dev/null`, which masks files of a new `/proc`.
    Proc(OwnedFd),
    /// A fresh sysfs cannot be mounted here; this is a read-only copy of the host's.
    SysCopy(OwnedFd),
    Nothing,
    Skipped,
}

fn prepare(mount: &Mount, spec: &Spec, shm_dir: Option<&Path>) -> Result<Prepared, SetupError> {
    match mount {
        Mount::Bind { src, mode, optional, dest } => {
            let flags = match mode {
                BindMode::ReadOnly => Flags { read_only: true, nosuid: true, nodev: true, ..Flags::NONE },
                BindMode::ReadWrite => Flags { nosuid: true, nodev: true, ..Flags::NONE },
                BindMode::Device => Flags { nosuid: true, ..Flags::NONE },
            };
            match mount_api::clone_tree(rustix::fs::CWD, src, flags) {
                Ok(tree) => Ok(Prepared::Tree(tree)),
                Err(error) if *optional && error.raw_os_error() == Some(libc::ENOENT) => Ok(Prepared::Skipped),
                Err(error) => Err(error).at(Step::Mounts, || format!("cannot bind {} on {}", src.display(), dest.display())),
            }
        }
        Mount::File { src, dest, .. } => {
            let mut content = Vec::new();
            let result = match src {
                FileSource::Path(path) => std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut content)),
                FileSource::Stdin => std::io::stdin().lock().read_to_end(&mut content),
            };
            let shown = match src {
                FileSource::Path(path) => path.display().to_string(),
                FileSource::Stdin => "standard input".to_string(),
            };
            result.at(Step::Mounts, || format!("cannot read {shown} for {}", dest.display()))?;
            Ok(Prepared::Content(content))
        }
        Mount::Overlay { .. } => Ok(Prepared::Tree(overlay::prepare(mount, spec)?)),
        Mount::Proc { dest } => Ok(Prepared::Proc(
            mount_api::clone_tree(rustix::fs::CWD, Path::new("/dev/null"), Flags::NONE)
                .at(Step::Mounts, || format!("cannot prepare the masks for {}", dest.display()))?,
        )),
        Mount::Dev { dest } => Ok(Prepared::Dev(
            dev::Sources::capture(shm_dir).at(Step::Mounts, || format!("cannot prepare the device nodes for {}", dest.display()))?,
        )),
        Mount::Sys { dest } if !owns_network_namespace(spec) => {
            let flags = Flags { read_only: true, nosuid: true, nodev: true, noexec: true };
            let tree = mount_api::clone_tree(rustix::fs::CWD, Path::new("/sys"), flags)
                .at(Step::Mounts, || format!("cannot mount sysfs on {}", dest.display()))?;
            Ok(Prepared::SysCopy(tree))
        }
        _ => Ok(Prepared::Nothing),
    }
}

/// A read-only tree holding just the sandbox's resolv.conf, with `text`.
///
/// The file lives on a small tmpfs that is first attached at the staging directory: the
/// kernel clones only mounts of the current namespace, and the new root covers this tmpfs
/// once it is attached there in turn.
fn resolv_conf_tree(text: &str) -> Result<OwnedFd, SetupError> {
    let what = || "cannot write the sandbox's /etc/resolv.conf".to_string();
    let scratch = mount_api::new_filesystem("tmpfs", &[("mode", "0755"), ("size", "16k")], Flags { nosuid: true, nodev: true, noexec: true, ..Flags::NONE })
        .at(Step::Mounts, what)?;
    let staging = staging_dir();
    let target = rustix::fs::open(staging, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).at(Step::Mounts, what)?;
    mount_api::attach(scratch.as_fd(), target.as_fd()).at(Step::Mounts, what)?;

    let file = rustix::fs::openat(&scratch, "resolv.conf", OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC, Mode::from_raw_mode(0o644))
        .at(Step::Mounts, what)?;
    let mut written = 0;
    while written < text.len() {
        written += rustix::io::write(&file, &text.as_bytes()[written..]).at(Step::Mounts, what)?;
    }
    mount_api::clone_tree(scratch.as_fd(), Path::new("resolv.conf"), Flags { read_only: true, nosuid: true, nodev: true, noexec: true })
        .at(Step::Mounts, what)
}

/// Mounts the sandbox's resolv.conf over `/etc/resolv.conf`, when the root has an `/etc`.
fn attach_resolv_conf(resolver: &Resolver<'_>, tree: OwnedFd) -> Result<(), SetupError> {
    if resolver.open(Path::new("/etc"), OFlags::PATH | OFlags::DIRECTORY).is_err() {
        tracing::debug!("the sandbox has no /etc; it gets no resolv.conf");
        return Ok(());
    }
    let dest = Path::new("/etc/resolv.conf");
    attach_at(resolver, dest, Target::File, tree.as_fd())
        .map_err(|why| SetupError::new(Step::Mounts, format!("cannot mount the sandbox's resolv.conf on {}: {why}", dest.display())))
}

/// Whether a fresh sysfs can be mounted: the kernel allows it when the sandbox's network
/// namespace is its own, or when no user namespace stands between airlock and the host.
fn owns_network_namespace(spec: &Spec) -> bool {
    spec.network.mode.has_own_namespace() || spec.namespaces.user != NsSource::New
}

/// Directories that can hold the new root until the switch; the first that exists is used.
/// Whatever the staging directory covers was captured in the prepare phase already.
const STAGING: [&str; 3] = ["/tmp", "/mnt", "/"];

fn staging_dir() -> &'static str {
    STAGING.iter().find(|dir| Path::new(dir).is_dir()).copied().unwrap_or("/")
}

fn attach_staging(tree: OwnedFd) -> Result<OwnedFd, SetupError> {
    let staging = staging_dir();
    let target = rustix::fs::open(staging, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .at(Step::Mounts, || format!("cannot open {staging} to build the new root"))?;
    mount_api::attach(tree.as_fd(), target.as_fd()).at(Step::Mounts, || format!("cannot attach the new root at {staging}"))?;
    rustix::fs::open(staging, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .at(Step::Mounts, || "cannot open the new root".into())
}

fn apply(
    resolver: &Resolver<'_>,
    mount: &Mount,
    prepared: Prepared,
    context: &Context<'_>,
    sources: &mut Vec<OwnedFd>,
    last_pid: &mut Option<OwnedFd>,
) -> Result<(), SetupError> {
    let dest = mount.dest();
    match (mount, prepared) {
        (_, Prepared::Skipped) => Ok(()),
        (Mount::Bind { src, .. }, Prepared::Tree(tree)) => {
            let is_dir = rustix::fs::fstat(&tree).map(|stat| rustix::fs::FileType::from_raw_mode(stat.st_mode).is_dir());
            let target = if is_dir.unwrap_or(true) { Target::Dir } else { Target::File };
            attach_at(resolver, dest, target, tree.as_fd())
                .map_err(|error| SetupError::new(Step::Mounts, format!("cannot bind {} on {}: {error}", src.display(), dest.display())))
        }
        (Mount::Overlay { .. }, Prepared::Tree(tree)) => attach_at(resolver, dest, Target::Dir, tree.as_fd())
            .map_err(|error| SetupError::new(Step::Mounts, format!("cannot mount the overlay on {}: {error}", dest.display()))),
        (Mount::Tmpfs { size, mode, .. }, _) => {
            let mode = format!("{:o}", mode.unwrap_or(0o755));
            let size = size.map(|bytes| bytes.to_string());
            let mut options = vec![("mode", mode.as_str())];
            if let Some(size) = &size {
                options.push(("size", size.as_str()));
            }
            mount_new(resolver, dest, "tmpfs", &options, Flags { nosuid: true, nodev: true, ..Flags::NONE })
        }
        (Mount::Dir { mode, .. }, _) => {
            let dir = resolver
                .make_dirs(dest, mode.unwrap_or(0o755))
                .at(Step::Mounts, || format!("cannot create the directory {}", dest.display()))?;
            if let Some(mode) = mode {
                chmod_path(&dir, *mode).at(Step::Mounts, || format!("cannot set the permissions of {}", dest.display()))?;
            }
            Ok(())
        }
        (Mount::Symlink { target, link }, _) => make_symlink(resolver, target, link),
        (Mount::File { mode, .. }, Prepared::Content(content)) => write_file(resolver, dest, &content, mode.unwrap_or(0o644)),
        (Mount::RemountRo { .. }, _) => remount_read_only(resolver, dest),
        (Mount::Proc { .. }, Prepared::Proc(null)) => {
            let want_last_pid = context.network_in_parallel && context.spec.namespaces.pid == NsSource::New;
            let mounted = proc::mount(resolver, dest, context.spec, null.as_fd(), want_last_pid)?;
            sources.extend([null, mounted.empty]);
            if mounted.last_pid.is_some() {
                *last_pid = mounted.last_pid;
            }
            Ok(())
        }
        (Mount::Dev { .. }, Prepared::Dev(sources)) => dev::build(resolver, dest, sources, group_mapped(5)),
        (Mount::Mqueue { .. }, _) => mount_new(resolver, dest, "mqueue", &[], Flags { nosuid: true, nodev: true, noexec: true, ..Flags::NONE }),
        (Mount::Sys { .. }, Prepared::SysCopy(tree)) => attach_at(resolver, dest, Target::Dir, tree.as_fd())
            .map_err(|error| SetupError::new(Step::Mounts, format!("cannot mount sysfs on {}: {error}", dest.display()))),
        (Mount::Sys { .. }, _) => {
            mount_new(resolver, dest, "sysfs", &[], Flags { read_only: true, nosuid: true, nodev: true, noexec: true })?;
            proc::mask_sysfs(resolver, dest)
        }
        (other, _) => Err(SetupError::new(Step::Mounts, format!("cannot apply the grant for {}: nothing was prepared for it", other.dest().display()))),
    }
}

/// Attaches a detached tree at `dest`, creating the mount point; the error is the reason.
pub(crate) fn attach_at(resolver: &Resolver<'_>, dest: &Path, target: Target, tree: BorrowedFd<'_>) -> Result<(), String> {
    let point = resolver
        .mount_point(dest, target)
        .map_err(|error| format!("cannot create the mount point {}: {}", dest.display(), crate::error::describe(&error)))?;
    mount_api::attach(tree, point.as_fd()).map_err(|error| crate::error::describe(&error))?;
    resolver.mounted(dest);
    Ok(())
}

/// Mounts a new file system of `fstype` at `dest`.
pub(crate) fn mount_new(resolver: &Resolver<'_>, dest: &Path, fstype: &str, options: &[(&str, &str)], flags: Flags) -> Result<(), SetupError> {
    let what = || format!("cannot mount {fstype} on {}", dest.display());
    let point = resolver.mount_point(dest, Target::Dir).at(Step::Mounts, what)?;
    mount_api::mount_at(point.as_fd(), fstype, options, flags).at(Step::Mounts, what)?;
    resolver.mounted(dest);
    Ok(())
}

fn make_symlink(resolver: &Resolver<'_>, target: &str, link: &Path) -> Result<(), SetupError> {
    let fail = |error: std::io::Error| SetupError::new(Step::Mounts, format!("cannot create the symlink {}: {}", link.display(), crate::error::describe(&error)));
    let (parent, name) = resolver.parent(link).map_err(fail)?;
    match rustix::fs::symlinkat(target, &*parent, name) {
        Ok(()) => Ok(()),
        // A rootfs may already have the same link, as merged-/usr trees do.
        Err(rustix::io::Errno::EXIST) if rustix::fs::readlinkat(&*parent, name, Vec::new()).is_ok_and(|existing| existing.to_bytes() == target.as_bytes()) => Ok(()),
        Err(error) => Err(fail(error.into())),
    }
}

fn write_file(resolver: &Resolver<'_>, dest: &Path, content: &[u8], mode: u32) -> Result<(), SetupError> {
    let what = || format!("cannot create the file {}", dest.display());
    let file = resolver.create_file(dest, mode).at(Step::Mounts, what)?;
    let mut written = 0;
    while written < content.len() {
        written += rustix::io::write(&file, &content[written..]).at(Step::Mounts, what)?;
    }
    rustix::fs::fchmod(&file, Mode::from_raw_mode(mode)).at(Step::Mounts, what)
}

/// Makes whatever is at `dest` read-only, with everything mounted below it. A path that is
/// not a mount point is first bound onto itself so that only it changes.
fn remount_read_only(resolver: &Resolver<'_>, dest: &Path) -> Result<(), SetupError> {
    let what = || format!("cannot make {} read-only", dest.display());
    let target = resolver.open(dest, OFlags::PATH).at(Step::Mounts, what)?;
    let read_only = Flags { read_only: true, ..Flags::NONE };
    let is_mount_root = rustix::fs::statx(&target, c"", rustix::fs::AtFlags::EMPTY_PATH, rustix::fs::StatxFlags::empty())
        .map(|stat| stat.stx_attributes.contains(rustix::fs::StatxAttributes::MOUNT_ROOT))
        .at(Step::Mounts, what)?;
    if is_mount_root {
        return mount_api::set_flags(target.as_fd(), read_only, true).at(Step::Mounts, what);
    }
    let tree = mount_api::clone_tree(target.as_fd(), Path::new(""), read_only).at(Step::Mounts, what)?;
    mount_api::attach(tree.as_fd(), target.as_fd()).at(Step::Mounts, what)?;
    resolver.mounted(dest);
    Ok(())
}

fn chmod_path(fd: &OwnedFd, mode: u32) -> std::io::Result<()> {
    // An O_PATH descriptor cannot be fchmod'ed; its /proc/self/fd link can be chmod'ed.
    let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(fd));
    Ok(rustix::fs::chmod(path.as_str(), Mode::from_raw_mode(mode))?)
}

/// Whether `gid` exists in this process's user namespace, as its `gid_map` says.
fn group_mapped(gid: u32) -> bool {
    let map = std::fs::read_to_string("/proc/self/gid_map").unwrap_or_default();
    map.lines().any(|line| {
        let fields: Vec<u64> = line.split_whitespace().filter_map(|field| field.parse().ok()).collect();
        matches!(fields[..], [inside, _, count] if u64::from(gid) >= inside && u64::from(gid) < inside + count)
    })
}

/// Moves into the new root and detaches the old one, so nothing of the host's tree stays
/// reachable.
fn switch_root(root: BorrowedFd<'_>) -> Result<(), SetupError> {
    rustix::process::fchdir(root).at(Step::PivotRoot, || "cannot enter the new root".into())?;
    // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
    // removes the old root and leaves the new one.
    rustix::process::pivot_root(".", ".").at(Step::PivotRoot, || "cannot switch to the new root".into())?;
    rustix::mount::unmount(".", rustix::mount::UnmountFlags::DETACH)
        .at(Step::PivotRoot, || "cannot detach the old root".into())?;
    rustix::process::chdir("/").at(Step::PivotRoot, || "cannot enter the new root".into())
}
