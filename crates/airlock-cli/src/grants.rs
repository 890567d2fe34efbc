//! Filesystem grants on the command line. They apply in the order given, and that order
//! spans different options (`--ro-bind /usr /usr --tmpfs /usr/tmp`), which clap does not
//! keep in its typed fields, so the grants are read back from the matches with their
//! positions.

use airlock::spec::units::{parse_mode, parse_size};
use airlock::spec::{BindMode, FileSource, Mount};
use clap::{ArgMatches, Args};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Use DIR as the sandbox's root. Without it the root is an empty, read-only tmpfs that
    /// holds only the grants; without any grant it is the default view (system directories
    /// read-only, private /tmp, minimal /dev, fresh /proc).
    #[arg(long, value_name = "DIR", help_heading = "Filesystem")]
    pub rootfs: Option<PathBuf>,

    /// Start from the default view and apply the grants on top of it, instead of on an
    /// empty root.
    #[arg(long, help_heading = "Filesystem")]
    pub default_view: bool,

    /// Bind SRC (your view) at DEST in the sandbox, read-write.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "Filesystem")]
    pub bind: Vec<PathBuf>,

    /// Bind SRC at DEST read-only, including every mount below SRC.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "Filesystem")]
    pub ro_bind: Vec<PathBuf>,

    /// Bind SRC at DEST read-write with device nodes usable.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "Filesystem")]
    pub dev_bind: Vec<PathBuf>,

    /// Like --bind, but skip the grant when SRC does not exist.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "Filesystem")]
    pub bind_try: Vec<PathBuf>,

    /// Like --ro-bind, but skip the grant when SRC does not exist.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "Filesystem")]
    pub ro_bind_try: Vec<PathBuf>,

    /// Like --dev-bind, but skip the grant when SRC does not exist.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "Filesystem")]
    pub dev_bind_try: Vec<PathBuf>,

    /// Mount a new tmpfs at DEST (see --size and --perms).
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub tmpfs: Vec<PathBuf>,

    /// Create the directory DEST (see --perms).
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub dir: Vec<PathBuf>,

    /// Create a symlink at LINK that points to TARGET.
    #[arg(long, num_args = 2, value_names = ["TARGET", "LINK"], help_heading = "Filesystem")]
    pub symlink: Vec<PathBuf>,

    /// Copy the host file SRC (or standard input, with -) to DEST (see --perms).
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], help_heading = "Filesystem")]
    pub file: Vec<PathBuf>,

    /// Make DEST read-only, with everything mounted below it.
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub remount_ro: Vec<PathBuf>,

    /// Mount a procfs of the sandbox's PID namespace at DEST, with sensitive files masked.
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub proc: Vec<PathBuf>,

    /// Mount a minimal /dev at DEST: null, zero, full, random, urandom, tty, a devpts of its
    /// own with ptmx, a shm tmpfs, and the fd, stdin, stdout and stderr links.
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub dev: Vec<PathBuf>,

    /// Mount a POSIX message queue file system at DEST.
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub mqueue: Vec<PathBuf>,

    /// Mount a read-only sysfs at DEST.
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub sys: Vec<PathBuf>,

    /// Add DIR as a lower, read-only layer of the next --overlay or --tmp-overlay (repeatable;
    /// the first given is the lowest).
    #[arg(long, value_name = "DIR", help_heading = "Filesystem")]
    pub overlay_src: Vec<PathBuf>,

    /// Mount an overlay of the pending --overlay-src layers at DEST, with writes going to the
    /// host directory UPPER (WORK: an empty directory on the same file system).
    #[arg(long, num_args = 3, value_names = ["UPPER", "WORK", "DEST"], help_heading = "Filesystem")]
    pub overlay: Vec<PathBuf>,

    /// Mount an overlay of the pending --overlay-src layers at DEST, with writes going to a
    /// tmpfs that vanishes with the sandbox.
    #[arg(long, value_name = "DEST", help_heading = "Filesystem")]
    pub tmp_overlay: Vec<PathBuf>,

    /// Permissions (octal) of the next --tmpfs, --dir or --file.
    #[arg(long, value_name = "OCTAL", value_parser = parse_mode, help_heading = "Filesystem")]
    pub perms: Vec<u32>,

    /// Maximum size of the next --tmpfs, such as 64M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Filesystem")]
    pub size: Vec<u64>,
}

/// One grant option as given, with its position on the command line.
struct Given {
    position: usize,
    option: &'static str,
    values: Vec<PathBuf>,
}

/// Options that take paths, with the number of values each takes.
const PATH_OPTIONS: [(&str, usize); 18] = [
    ("bind", 2),
    ("ro_bind", 2),
    ("dev_bind", 2),
    ("bind_try", 2),
    ("ro_bind_try", 2),
    ("dev_bind_try", 2),
    ("tmpfs", 1),
    ("dir", 1),
    ("symlink", 2),
    ("file", 2),
    ("remount_ro", 1),
    ("proc", 1),
    ("dev", 1),
    ("mqueue", 1),
    ("sys", 1),
    ("overlay_src", 1),
    ("overlay", 3),
    ("tmp_overlay", 1),
];

/// Turns the grant options into mounts, in command-line order.
pub fn mounts(matches: &ArgMatches) -> Result<Vec<Mount>, String> {
    let mut given = Vec::new();
    for (option, arity) in PATH_OPTIONS {
        let (Some(values), Some(positions)) = (matches.get_many::<PathBuf>(option), matches.indices_of(option)) else {
            continue;
        };
        let values: Vec<PathBuf> = values.cloned().collect();
        let positions: Vec<usize> = positions.collect();
        for (chunk, position) in values.chunks(arity).zip(positions.chunks(arity)) {
            given.push(Given { position: position[0], option, values: chunk.to_vec() });
        }
    }
    let mut perms = modifiers::<u32>(matches, "perms");
    let mut sizes = modifiers::<u64>(matches, "size");
    given.sort_by_key(|grant| grant.position);

    let mut mounts = Vec::new();
    let mut lower = Vec::new();
    for grant in given {
        let mode = take_before(&mut perms, grant.position);
        let size = take_before(&mut sizes, grant.position);
        if size.is_some() && grant.option != "tmpfs" {
            return Err(format!("--size applies to the next --tmpfs, but the next grant is --{}", flag(grant.option)));
        }
        if mode.is_some() && !matches!(grant.option, "tmpfs" | "dir" | "file") {
            return Err(format!("--perms applies to the next --tmpfs, --dir or --file, but the next grant is --{}", flag(grant.option)));
        }
        let mut values = grant.values.into_iter();
        let mut next = || values.next().expect("clap enforces the number of values");
        let mount = match grant.option {
            "bind" => bind(next(), next(), BindMode::ReadWrite, false),
            "ro_bind" => bind(next(), next(), BindMode::ReadOnly, false),
            "dev_bind" => bind(next(), next(), BindMode::Device, false),
            "bind_try" => bind(next(), next(), BindMode::ReadWrite, true),
            "ro_bind_try" => bind(next(), next(), BindMode::ReadOnly, true),
            "dev_bind_try" => bind(next(), next(), BindMode::Device, true),
            "tmpfs" => Mount::Tmpfs { dest: next(), size, mode },
            "dir" => Mount::Dir { dest: next(), mode },
            "symlink" => Mount::Symlink { target: next().to_string_lossy().into_owned(), link: next() },
            "file" => {
                let src = next();
                let src = if src.as_os_str() == "-" { FileSource::Stdin } else { FileSource::Path(absolute(src)) };
                Mount::File { src, dest: next(), mode }
            }
            "remount_ro" => Mount::RemountRo { dest: next() },
            "proc" => Mount::Proc { dest: next() },
            "dev" => Mount::Dev { dest: next() },
            "mqueue" => Mount::Mqueue { dest: next() },
            "sys" => Mount::Sys { dest: next() },
            "overlay_src" => {
                lower.push(absolute(next()));
                continue;
            }
            "overlay" => {
                let (upper, work, dest) = (absolute(next()), absolute(next()), next());
                Mount::Overlay { dest, lower: std::mem::take(&mut lower), upper: Some(upper), work: Some(work) }
            }
            "tmp_overlay" => Mount::Overlay { dest: next(), lower: std::mem::take(&mut lower), upper: None, work: None },
            other => unreachable!("unknown grant option {other}"),
        };
        mounts.push(mount);
    }
    if !lower.is_empty() {
        return Err("--overlay-src needs a following --overlay or --tmp-overlay".to_string());
    }
    if let Some((_, _)) = perms.first() {
        return Err("--perms needs a following --tmpfs, --dir or --file".to_string());
    }
    if let Some((_, _)) = sizes.first() {
        return Err("--size needs a following --tmpfs".to_string());
    }
    Ok(mounts)
}

fn bind(src: PathBuf, dest: PathBuf, mode: BindMode, optional: bool) -> Mount {
    Mount::Bind { src: absolute(src), dest, mode, optional }
}

/// Makes a source path absolute against the working directory, so the spec does not depend
/// on where it is read; symlinks are left for the kernel to follow.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

fn modifiers<T: Clone + Send + Sync + 'static>(matches: &ArgMatches, option: &str) -> Vec<(usize, T)> {
    match (matches.get_many::<T>(option), matches.indices_of(option)) {
        (Some(values), Some(positions)) => positions.zip(values.cloned()).collect(),
        _ => Vec::new(),
    }
}

/// Takes the modifier given last before `position`; an earlier unused one is an error the
/// caller reports when no grant takes it.
fn take_before<T>(modifiers: &mut Vec<(usize, T)>, position: usize) -> Option<T> {
    let count = modifiers.iter().take_while(|(at, _)| *at < position).count();
    let taken: Vec<(usize, T)> = modifiers.drain(..count).collect();
    taken.into_iter().last().map(|(_, value)| value)
}

fn flag(option: &str) -> String {
    option.replace('_', "-")
}
