//! Commands that describe sandboxes without starting one: `explain`, `check`, `profile`,
//! and the shell integration generated from the clap definitions (`completions`, `man`).

use crate::cli::{CheckArgs, CompletionsArgs, ExplainArgs, ManArgs, ProfileCommand};
use airlock::spec::explain::{explain, Explanation};
use airlock::spec::profile::{Source, BUILTIN};
use airlock::spec::{Caller, Spec};
use clap::CommandFactory;

/// `airlock explain`: exits with 1 when `run` would refuse the sandbox.
pub fn explain_command(args: &ExplainArgs, matches: &clap::ArgMatches) -> Result<u8, airlock::Error> {
    let spec = args.spec.to_spec(&args.command, matches)?;
    Ok(if print_explanation(&spec, args.json) { 0 } else { 1 })
}

/// Prints what `spec` allows; returns whether the sandbox could start here.
pub fn print_explanation(spec: &Spec, json: bool) -> bool {
    let explanation: Explanation = explain(spec, &Caller::current());
    if json {
        print_out(&(serde_json::to_string_pretty(&explanation).expect("an explanation serializes") + "\n"));
    } else {
        print_out(&explanation.to_string());
    }
    explanation.cannot_start.is_none()
}

/// Writes to standard output; a reader that went away (`| head`) ends the output quietly.
fn print_out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `airlock check`: every profile on its own, then all of them merged with their includes
/// and variables, then the values `run` checks (capability names, limits, paths). One line
/// per error, and "ok" lines only when all of it passes.
pub fn check(args: &CheckArgs) -> Result<u8, airlock::Error> {
    let mut origins = Vec::new();
    let mut failed = false;
    for name in &args.profiles {
        match Source::find(name, None).and_then(|source| source.check().map(|_| source.origin)) {
            Ok(origin) => origins.push(origin),
            Err(error) => {
                eprintln!("airlock: {error}");
                failed = true;
            }
        }
    }
    if failed {
        return Ok(1);
    }
    let spec = match airlock::spec::profile::load(&args.profiles, &airlock::spec::profile::Variables::from_caller()) {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("airlock: {error}");
            return Ok(1);
        }
    };
    if let Err(error) = spec.validate_without_command(&Caller::current()) {
        eprintln!("airlock: {}: {error}", origins.join(", "));
        return Ok(1);
    }
    print_out(&origins.iter().map(|origin| format!("{origin}: ok\n")).collect::<String>());
    Ok(0)
}

pub fn profile(command: &ProfileCommand) -> Result<u8, airlock::Error> {
    match command {
        ProfileCommand::Ls => {
            for (name, _) in BUILTIN {
                let source = Source::find(name, None).expect("a built-in profile exists");
                let (description, _) = source.check().expect("built-in profiles are valid");
                print_out(&format!("{name:<10} {}\n", description.unwrap_or_default()));
            }
        }
        ProfileCommand::Show(args) => {
            let source = Source::find(&args.name, None).map_err(|error| crate::usage(error.to_string()))?;
            print_out(&source.text);
        }
        ProfileCommand::Schema => {
            print_out(&(serde_json::to_string_pretty(&airlock::spec::json_schema()).expect("a schema serializes") + "\n"));
        }
    }
    Ok(0)
}

pub fn completions(args: &CompletionsArgs) -> Result<u8, airlock::Error> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut crate::cli::Cli::command(), "airlock", &mut script);
    print_out(&String::from_utf8_lossy(&script));
    Ok(0)
}

/// Writes `airlock.1` and `airlock-SUBCOMMAND.1` (and deeper) into the directory.
pub fn man(args: &ManArgs) -> Result<u8, airlock::Error> {
    std::fs::create_dir_all(&args.dir).map_err(|error| airlock::Error::io(format!("cannot create {}", args.dir.display()), error))?;
    let mut command = crate::cli::Cli::command();
    command.build();
    write_pages(&command, "airlock", &args.dir)?;
    Ok(0)
}

fn write_pages(command: &clap::Command, name: &str, dir: &std::path::Path) -> Result<(), airlock::Error> {
    let page = command.clone().name(name.to_string());
    let path = dir.join(format!("{name}.1"));
    let mut text = Vec::new();
    clap_mangen::Man::new(page).render(&mut text).map_err(|error| airlock::Error::io(format!("cannot render {}", path.display()), error))?;
    std::fs::write(&path, text).map_err(|error| airlock::Error::io(format!("cannot write {}", path.display()), error))?;
    for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
