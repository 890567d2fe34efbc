//! Run a program in its own Linux namespaces with exactly the access it was granted.
//!
//! A [`Spec`] describes one sandbox: its namespaces, ids, files, network, IPC, security
//! and limits. [`launch`] validates it, creates the sandbox and starts the payload;
//! [`Sandbox::wait`] relays signals (and the terminal) until the payload ends.
//!
//! ```
//! use airlock::{launch, LaunchOptions, Spec};
//!
//! let spec = Spec::for_command(["sh", "-c", "exit 3"]);
//! let sandbox = launch(&spec, &LaunchOptions::default())?;
//! let outcome = sandbox.wait()?;
//! assert_eq!(outcome.status.code(), 3);
//! # Ok::<(), airlock::Error>(())
//! ```
//!
//! The process that calls [`launch`] must be single-threaded, because the sandbox is a fork
//! of it.

pub mod cgroup;
mod child;
mod error;
mod fs;
mod init;
pub mod launch;
pub mod named;
pub mod net;
pub mod security;
pub mod spec;
mod sys;

pub use error::{describe, Error};
pub use launch::channel::ExitStatus;
pub use launch::{launch, LaunchOptions, Limit, Outcome, Sandbox};
pub use spec::Spec;

/// Launches `spec` and waits for its payload, with default options.
pub fn run(spec: &Spec) -> Result<Outcome, Error> {
    launch(spec, &LaunchOptions::default())?.wait()
}
