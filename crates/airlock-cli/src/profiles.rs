//! Commands that describe sandboxes without starting one: `explain`, `check`, `profile`,
//! and the shell integration generated from the clap definitions (`completions`, `man`).

use crate::cli::{CheckArgs, CompletionsArgs, ExplainArgs, ManArgs, ProfileCommand};
use airlock::spec::explain::{explain, Explanation};
use airlock::spec::profile::{Source, BUILTIN};
use airlock::spec::{Caller, Spec};
use clap::CommandFactory;

/// `airlock explain`, and `airlock run --dry-run` through [`print_explanation`].
pub fn explain_command(args: &ExplainArgs, matches: &clap::ArgMatches) -> Result<u8, airlock::Error> {
    let spec = args.spec.to_spec(&args.command, matches)?;
    print_explanation(&spec, args.json)
}

pub fn print_explanation(spec: &Spec, json: bool) -> Result<u8, airlock::Error> {
    let explanation: Explanation = explain(spec, &Caller::current());
    if json {
        let text = serde_json::to_string_pretty(&explanation).expect("an explanation serializes");
        println!("{text}");
    } else {
        print!("{explanation}");
    }
    Ok(0)
}

/// `airlock check`: every profile on its own, then all of them merged; one line per error.
pub fn check(args: &CheckArgs) -> Result<u8, airlock::Error> {
    let mut failed = false;
    for name in &args.profiles {
        let result = Source::find(name, None).and_then(|source| source.check().map(|_| source));
        match result {
            Ok(source) => println!("{}: ok", source.origin),
            Err(error) => {
                eprintln!("airlock: {error}");
                failed = true;
            }
        }
    }
    if failed {
        return Ok(1);
    }
    // Includes, variables and the merged result.
    match airlock::spec::profile::load(&args.profiles, &airlock::spec::profile::Variables::from_caller()) {
        Ok(_) => Ok(0),
        Err(error) => {
            eprintln!("airlock: {error}");
            Ok(1)
        }
    }
}

pub fn profile(command: &ProfileCommand) -> Result<u8, airlock::Error> {
    match command {
        ProfileCommand::Ls => {
            for (name, _) in BUILTIN {
                let source = Source::find(name, None).expect("a built-in profile exists");
                let (description, _) = source.check().expect("built-in profiles are valid");
                println!("{name:<10} {}", description.unwrap_or_default());
            }
        }
        ProfileCommand::Show(args) => {
            let source = Source::find(&args.name, None).map_err(|error| crate::usage(error.to_string()))?;
            print!("{}", source.text);
        }
        ProfileCommand::Schema => {
            let text = serde_json::to_string_pretty(&airlock::spec::json_schema()).expect("a schema serializes");
            println!("{text}");
        }
    }
    Ok(0)
}

pub fn completions(args: &CompletionsArgs) -> Result<u8, airlock::Error> {
    clap_complete::generate(args.shell, &mut crate::cli::Cli::command(), "airlock", &mut std::io::stdout());
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
