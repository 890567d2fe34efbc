//! The command line: clap definitions, written for people reading `--help`.

use crate::spec_args::SpecArgs;
use clap::{Args, Parser, Subcommand};

/// Run programs in their own Linux namespaces with exactly the access they were granted.
#[derive(Debug, Parser)]
#[command(
    name = "airlock",
    version,
    about,
    long_about = "Run programs in their own Linux namespaces (user, PID, mount, IPC, UTS, cgroup, \
network) with exactly the access they were granted. Works as root and as an ordinary user.",
    after_help = "Examples:\n  airlock run -- sh -c 'ps -ef; id; hostname'\n  airlock run --uid 0 -- id\n  \
airlock run --share net -- ip addr\n\nRun `airlock help run` for every option of a sandbox.",
    propagate_version = true
)]
pub struct Cli {
    /// Log what airlock does to standard error: -v for the main steps, -vv for every step.
    /// AIRLOCK_LOG (for example AIRLOCK_LOG=debug) sets the filter directly.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command in a new sandbox, in the foreground, and exit with its status.
    #[command(
        after_help = "Exit status: the command's own, or 128+N when signal N killed it. airlock's own \
failures: 125 when the sandbox could not be set up, 126 when the command cannot be executed, \
127 when it was not found.\n\nExamples:\n  airlock run -- sh -c 'ps -ef; id; hostname'\n  \
airlock run --uid 0 --hostname build -- id\n  airlock run --tty -- bash"
    )]
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub spec: SpecArgs,

    /// Write one JSON object per line to descriptor FD: when the payload starts (its PID on
    /// the host, its namespace ids) and when it ends (exit code or signal).
    #[arg(long, value_name = "FD", help_heading = "Process")]
    pub json_status_fd: Option<i32>,

    /// Let the payload inherit descriptor FD (repeatable). Every other descriptor above 2 is
    /// closed before the payload starts.
    #[arg(long, value_name = "FD", help_heading = "Process")]
    pub keep_fd: Vec<i32>,

    /// The program to run and its arguments. Everything after `--`, or after the first
    /// argument that is not an option, is taken literally.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}
