//! The `airlock` command.

mod cli;
mod spec_args;

use clap::Parser;
use std::process::ExitCode;

/// The exit status for a sandbox that could not be set up, bad options included.
const SETUP_FAILED: u8 = 125;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    init_logging(cli.verbose);

    let result = match &cli.command {
        cli::Command::Run(args) => run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("airlock: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(args: &cli::RunArgs) -> Result<u8, airlock::Error> {
    let spec = args.spec.to_spec(&args.command);
    let options = airlock::LaunchOptions {
        keep_fds: args.keep_fd.clone(),
        status_fd: args.json_status_fd,
    };
    let outcome = airlock::launch(&spec, &options)?.wait()?;
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

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("AIRLOCK_LOG") {
        Ok(filter) if !filter.is_empty() => EnvFilter::new(filter),
        _ => match verbose {
            0 => return,
            1 => EnvFilter::new("airlock=info"),
            _ => EnvFilter::new("airlock=debug"),
        },
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
}
