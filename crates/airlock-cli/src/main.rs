//! The `airlock` command.

mod cli;
mod grants;
mod named;
mod network;
mod profiles;
mod spec_args;

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

/// The exit status for a sandbox that could not be set up, bad options included.
const SETUP_FAILED: u8 = 125;

fn main() -> ExitCode {
    let matches = match cli::Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return usage_error(error),
    };
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    init_logging(cli.verbose);

    let (_, sub_matches) = matches.subcommand().expect("clap requires a subcommand");
    let result = match &cli.command {
        cli::Command::Run(args) => run(args, sub_matches),
        cli::Command::Create(args) => named::create(args, sub_matches),
        cli::Command::Exec(args) => named::exec(args),
        cli::Command::Ls(args) => named::ls(args),
        cli::Command::Ps(args) => named::ps(args),
        cli::Command::Inspect(args) => named::inspect(args),
        cli::Command::Stop(args) => named::stop(args),
        cli::Command::Rm(args) => named::rm(args),
        cli::Command::Logs(args) => named::logs(args),
        cli::Command::Gc => named::gc(),
        cli::Command::Net(command) => network::run(command),
        cli::Command::Explain(args) => profiles::explain_command(args, sub_matches),
        cli::Command::Check(args) => profiles::check(args),
        cli::Command::Profile(command) => profiles::profile(command),
        cli::Command::Completions(args) => profiles::completions(args),
        cli::Command::Man(args) => profiles::man(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("airlock: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(args: &cli::RunArgs, matches: &clap::ArgMatches) -> Result<u8, airlock::Error> {
    let spec = args.spec.to_spec(&args.command, matches)?;
    if args.dry_run {
        return profiles::print_explanation(&spec, false);
    }
    let options = airlock::LaunchOptions {
        keep_fds: args.keep_fd.clone(),
        status_fd: args.json_status_fd,
        ..airlock::LaunchOptions::default()
    };
    let outcome = airlock::launch(&spec, &options)?.wait()?;
    if let Some(limit) = outcome.limit {
        if outcome.status.code() != 0 {
            eprintln!("airlock: {limit}");
        }
    }
    Ok(outcome.status.code().clamp(0, 255) as u8)
}

/// Prints a bad command line as one line (help and version requests as clap renders them).
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid command line");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("airlock: {first}; see `airlock help`");
            ExitCode::from(SETUP_FAILED)
        }
    }
}

/// Sends warnings to standard error, and more when asked: `-v` for info, `-vv` for debug,
/// or `AIRLOCK_LOG` with a filter such as `debug` or `airlock=debug,warn`.
fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = match std::env::var("AIRLOCK_LOG") {
        Ok(filter) if !filter.is_empty() => match filter.parse() {
            Ok(filter) => filter,
            Err(error) => {
                eprintln!("airlock: invalid AIRLOCK_LOG {filter:?}: {error}; logging stays off");
                return;
            }
        },
        _ => match verbose {
            0 => "airlock=warn".parse().expect("a valid filter"),
            1 => "airlock=info".parse().expect("a valid filter"),
            _ => "airlock=debug".parse().expect("a valid filter"),
        },
    };
    let colors = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colors)
        .without_time()
        .with_target(false);
    tracing_subscriber::registry().with(format).with(filter).init();
}

/// An error in the options that clap cannot see, such as a --size without a --tmpfs.
pub fn usage(message: String) -> airlock::Error {
    airlock::Error::Spec(airlock::spec::SpecError::Conflict(message))
}
