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
    if let Some(command) = bare_run_command(std::env::args_os().skip(1)) {
        init_logging(0);
        return finish(execute(bare_run_spec(command), airlock::LaunchOptions::default()));
    }
    let (cli, matches) = match parse_hot_path().map_or_else(parse, Ok) {
        Ok(parsed) => parsed,
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
    finish(result)
}

/// Turns a command's result into airlock's exit status, printing the error if there is one.
fn finish(result: Result<u8, airlock::Error>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("airlock: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Returns the command of `airlock run [--] COMMAND [ARG...]` given without any option,
/// the most common form, or `None` for anything else (an option or a help request too).
///
/// That form's spec is the default one, so it needs no parser. Building clap's definitions
/// of run's many options costs about a fifteenth of a sandbox's start-up on the test machine.
fn bare_run_command(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<Vec<String>> {
    if args.next()? != "run" {
        return None;
    }
    let rest: Vec<String> = args.map(|arg| arg.into_string().ok()).collect::<Option<_>>()?;
    let command = match rest.first()?.as_str() {
        "--" => rest[1..].to_vec(),
        first if first.starts_with('-') => return None,
        _ => rest,
    };
    (!command.is_empty()).then_some(command)
}

/// Builds the spec of `airlock run COMMAND` without options.
fn bare_run_spec(command: Vec<String>) -> airlock::Spec {
    let mut spec = airlock::Spec::default();
    spec.process.command = command;
    spec
}

fn run(args: &cli::RunArgs, matches: &clap::ArgMatches) -> Result<u8, airlock::Error> {
    let spec = args.spec.to_spec(&args.command, matches)?;
    if args.dry_run {
        return Ok(if profiles::print_explanation(&spec, false) { 0 } else { SETUP_FAILED });
    }
    let options = airlock::LaunchOptions {
        keep_fds: args.keep_fd.clone(),
        status_fd: args.json_status_fd,
        ..airlock::LaunchOptions::default()
    };
    execute(spec, options)
}

/// Runs a sandbox to its end; returns the exit status for airlock.
fn execute(spec: airlock::Spec, options: airlock::LaunchOptions) -> Result<u8, airlock::Error> {
    let outcome = airlock::launch(&spec, &options)?.wait()?;
    if let Some(limit) = outcome.limit {
        if outcome.status.code() != 0 {
            eprintln!("airlock: {limit}");
        }
    }
    Ok(outcome.status.code().clamp(0, 255) as u8)
}

/// Parses the command line with the definitions of every subcommand.
fn parse() -> Result<(cli::Cli, clap::ArgMatches), clap::Error> {
    let matches = cli::Cli::command().try_get_matches()?;
    let cli = cli::Cli::from_arg_matches(&matches)?;
    Ok((cli, matches))
}

/// Parses `airlock [-v] run|exec ...` with the definitions of that subcommand alone. Building
/// all of them costs about 0.3 ms and a heap that every fork of the sandbox's setup copies,
/// which is a twentieth of a sandbox's start-up. Anything else, help and errors included,
/// goes to the full parser, which prints them as usual.
fn parse_hot_path() -> Option<(cli::Cli, clap::ArgMatches)> {
    use clap::Args;
    let name = std::env::args().skip(1).find(|arg| !arg.starts_with('-'))?;
    let subcommand = match name.as_str() {
        "run" => cli::RunArgs::augment_args(clap::Command::new("run")),
        "exec" => cli::ExecArgs::augment_args(clap::Command::new("exec")),
        _ => return None,
    };
    let verbose = clap::Arg::new("verbose").short('v').long("verbose").action(clap::ArgAction::Count).global(true);
    let matches = clap::Command::new("airlock").arg(verbose).subcommand(subcommand).try_get_matches().ok()?;
    let (_, sub_matches) = matches.subcommand()?;
    let command = match name.as_str() {
        "run" => cli::Command::Run(cli::RunArgs::from_arg_matches(sub_matches).ok()?),
        _ => cli::Command::Exec(cli::ExecArgs::from_arg_matches(sub_matches).ok()?),
    };
    let verbose = matches.get_count("verbose");
    Some((cli::Cli { verbose, command }, matches))
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
            // clap's first paragraph names the problem; the lines after the first name the
            // missing arguments or the possible values.
            let rendered = error.render().to_string();
            let paragraph: Vec<&str> = rendered.lines().take_while(|line| !line.trim().is_empty()).map(str::trim).collect();
            let mut text = paragraph.join(" ");
            if let Some(tip) = rendered.lines().find_map(|line| line.trim().strip_prefix("tip: ")) {
                text = format!("{text}; {tip}");
            }
            let text = text.strip_prefix("error: ").unwrap_or(&text).to_string();
            let text = if text.is_empty() { "invalid command line".to_string() } else { text };
            eprintln!("airlock: {text}; see `airlock help`");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<std::ffi::OsString> {
        line.split_whitespace().map(Into::into).collect()
    }

    /// Parses `airlock ARGS` with clap into the spec it gives.
    fn parsed_spec(line: &str) -> airlock::Spec {
        let matches = cli::Cli::command().try_get_matches_from(std::iter::once("airlock".into()).chain(words(line))).unwrap();
        let (_, sub_matches) = matches.subcommand().unwrap();
        let args = cli::RunArgs::from_arg_matches(sub_matches).unwrap();
        args.spec.to_spec(&args.command, sub_matches).unwrap()
    }

    #[test]
    fn bare_run_matches_the_parser() {
        for line in ["run -- sh -c true", "run sh -c true", "run true --help", "run -- --bind / /"] {
            let command = bare_run_command(words(line).into_iter()).unwrap_or_else(|| panic!("{line} did not take the path without the parser"));
            assert_eq!(bare_run_spec(command), parsed_spec(line), "{line}");
        }
    }

    #[test]
    fn options_go_to_the_parser() {
        for line in ["run --net host -- true", "run -v true", "run --help", "run --", "run", "exec x true", "-v run true"] {
            assert_eq!(bare_run_command(words(line).into_iter()), None, "{line}");
        }
    }
}
