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

    /// Start a named sandbox in the background; returns once its payload runs. Its output
    /// goes to a log that `airlock logs` shows.
    #[command(after_help = "Examples:\n  airlock create web --net bridge --publish 8080:80 -- python3 -m http.server 80\n  \
airlock create worker --memory 512M -- sleep infinity")]
    Create(CreateArgs),

    /// Run a command in a running named sandbox, in all of its namespaces and with the same
    /// restrictions as its payload (ids, capabilities, no_new_privs, seccomp, Landlock, cgroup).
    #[command(after_help = "Exit status: the command's, as with `airlock run`.\n\nExamples:\n  airlock exec web -- ps -ef\n  \
airlock exec -t web -- sh\n  airlock exec --ns net web -- ip addr")]
    Exec(ExecArgs),

    /// List named sandboxes: name, state, command, uptime, addresses.
    #[command(alias = "list")]
    Ls(LsArgs),

    /// Show the processes of a named sandbox, with their PIDs inside and on the host.
    Ps(PsArgs),

    /// Show everything about a named sandbox: its spec, what was applied, namespaces, cgroups,
    /// addresses, limits and usage.
    Inspect(InspectArgs),

    /// Stop a named sandbox: send a signal, wait, then kill what remains.
    Stop(StopArgs),

    /// Remove stopped named sandboxes and everything they owned.
    Rm(RmArgs),

    /// Show the output of a named sandbox's payload.
    Logs(LogsArgs),

    /// Remove what sandboxes whose supervisor was killed left behind: records, cgroups,
    /// address leases, host links and firewall rules.
    Gc,

    /// Manage bridge networks (root only): `airlock net create|ls|inspect|rm`.
    #[command(subcommand)]
    Net(NetCommand),

    /// Say in plain words what a sandbox would be allowed to do: what it reads, writes and
    /// executes, which network it reaches, its IPC, capabilities, seccomp filter and limits,
    /// and what this machine cannot enforce. Takes the options of `airlock run`.
    #[command(after_help = "Examples:\n  airlock explain --profile untrusted -- ./script.sh\n  \
airlock explain --net user --publish 8000:8000 -- python3 -m http.server\n  airlock explain --json --profile build")]
    Explain(ExplainArgs),

    /// Check profiles: unknown keys and bad values, with file, line and column.
    #[command(after_help = "Examples:\n  airlock check ./web.toml\n  airlock check default shell build")]
    Check(CheckArgs),

    /// List, show and describe profiles: `airlock profile ls|show|schema`.
    #[command(subcommand)]
    Profile(ProfileCommand),

    /// Print a completion script for a shell.
    #[command(after_help = "Examples:\n  airlock completions bash > /etc/bash_completion.d/airlock\n  \
airlock completions zsh > \"${fpath[1]}/_airlock\"\n  airlock completions fish > ~/.config/fish/completions/airlock.fish")]
    Completions(CompletionsArgs),

    /// Write man pages: airlock.1 and one per subcommand.
    #[command(after_help = "Example:\n  airlock man /usr/local/share/man/man1")]
    Man(ManArgs),
}

/// The subcommands of `airlock net`.
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Create a bridge network that sandboxes join with --net bridge:NAME.
    #[command(after_help = "Examples:\n  airlock net create web\n  airlock net create db --subnet 10.50.0.0/24 --internal\n  \
airlock net create v6 --ipv6 fd00:a1::/64")]
    Create(NetCreateArgs),

    /// List bridge networks: name, bridge, subnets, sandboxes on them.
    #[command(alias = "list")]
    Ls(LsArgs),

    /// Show a bridge network and the addresses leased on it.
    Inspect(NetInspectArgs),

    /// Remove a bridge network: its bridge, firewall rules and record. Refused while
    /// sandboxes use it.
    Rm(NetRmArgs),
}

#[derive(Debug, Args)]
pub struct NetCreateArgs {
    /// The network's name: 1 to 12 letters, digits, '_' and '-'; its bridge is al-NAME.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The IPv4 subnet (default: the first free /24 of 10.89.0.0/16); it must overlap no
    /// route and no other network.
    #[arg(long, value_name = "CIDR")]
    pub subnet: Option<airlock::net::Cidr>,

    /// Also give the network this IPv6 subnet.
    #[arg(long, value_name = "CIDR")]
    pub ipv6: Option<airlock::net::Cidr>,

    /// No NAT and no traffic out of the network: its sandboxes reach each other and the
    /// host only.
    #[arg(long)]
    pub internal: bool,
}

#[derive(Debug, Args)]
pub struct NetInspectArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,

    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct NetRmArgs {
    #[arg(value_name = "NAME", required = true, num_args = 1..)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub spec: SpecArgs,

    /// The sandbox's name: 1 to 63 letters, digits, '_', '.' and '-'.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The program to run and its arguments, taken literally (default: the profile's).
    #[arg(value_name = "COMMAND", trailing_var_arg = true, num_args = 1..)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Give the command a terminal of its own, relayed to yours.
    #[arg(short, long)]
    pub tty: bool,

    /// Set an environment variable for the command (repeatable).
    #[arg(short, long, value_name = "KEY=VALUE", value_parser = crate::spec_args::parse_env)]
    pub env: Vec<(String, String)>,

    /// Run as this uid inside the sandbox (default: the payload's).
    #[arg(long, value_name = "N")]
    pub uid: Option<u32>,

    /// The working directory inside the sandbox (default: the payload's, else /).
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<std::path::PathBuf>,

    /// Join only these namespaces, comma-separated (net, ipc, uts, pid, mnt, cgroup, user,
    /// time), without the sandbox's restrictions: the `ip netns exec` case.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = crate::spec_args::parse_namespace)]
    pub ns: Option<Vec<airlock::spec::NamespaceKind>>,

    /// The sandbox.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The program to run and its arguments, taken literally.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print JSON, one array of objects.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show the processes as a tree.
    #[arg(long)]
    pub tree: bool,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,

    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,

    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// The signal to send first, by name (TERM, INT, KILL, ...) or number.
    #[arg(long, short, value_name = "SIG", default_value = "TERM", value_parser = crate::spec_args::parse_signal)]
    pub signal: i32,

    /// How long to wait before killing what remains.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = airlock::spec::units::parse_duration)]
    pub timeout: std::time::Duration,

    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Stop a running sandbox first (with SIGKILL).
    #[arg(long, short)]
    pub force: bool,

    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new output until the sandbox ends.
    #[arg(long, short)]
    pub follow: bool,

    #[arg(value_name = "NAME")]
    pub name: String,
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

    /// Print what the sandbox would be allowed to do, as `airlock explain` does, and start
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The program to run and its arguments (default: the profile's). Everything after
    /// `--`, or after the first argument that is not an option, is taken literally.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, num_args = 1..)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub spec: SpecArgs,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,

    /// The program the sandbox would run (default: the profile's).
    #[arg(value_name = "COMMAND", trailing_var_arg = true, num_args = 1..)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Profiles to check: built-in names or TOML files.
    #[arg(value_name = "PROFILE", required = true, num_args = 1..)]
    pub profiles: Vec<String>,
}

/// The subcommands of `airlock profile`.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the built-in profiles with their descriptions.
    #[command(alias = "list")]
    Ls,

    /// Print a built-in profile or a profile file, as written.
    Show(ProfileShowArgs),

    /// Print the JSON Schema of profiles, for editors.
    Schema,
}

#[derive(Debug, Args)]
pub struct ProfileShowArgs {
    #[arg(value_name = "NAME|PATH")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write airlock.1 and one page per subcommand into.
    #[arg(value_name = "DIR")]
    pub dir: std::path::PathBuf,
}
