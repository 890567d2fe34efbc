//! Runs every example of docs/guide.md and compares its output with the output the guide
//! shows, so the guide cannot drift from the program.
//!
//! An example is a `sh` block after an `<!-- example -->` comment (`<!-- example: as root -->`
//! for those that need root), followed by a `text` block with its output, standard output
//! and error together. Examples that work for any user run as the unprivileged test user.
//! Each runs in a network and mount namespace of its own, with an "upstream" namespace behind
//! a veth pair for the default route user-mode networking wants, a private /run and
//! resolv.conf, `airlock` on the PATH, and an empty working directory that is also HOME.

mod common;

use common::*;

struct Example {
    title: String,
    who: As,
    script: String,
    output: String,
}

/// Reads the examples of the guide, in order.
fn examples() -> Vec<Example> {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/guide.md")).unwrap();
    let mut examples = Vec::new();
    let mut title = String::new();
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        if let Some(heading) = line.strip_prefix("## ") {
            title = heading.to_string();
        }
        let Some(marker) = line.strip_prefix("<!-- example").and_then(|rest| rest.strip_suffix("-->")) else {
            continue;
        };
        let who = if marker.contains("as root") { As::Root } else { As::User };
        let script = block(&mut lines, "```sh");
        let output = block(&mut lines, "```text");
        examples.push(Example { title: title.clone(), who, script, output });
    }
    examples
}

/// Returns the next fenced block that opens with `fence`.
fn block<'a>(lines: &mut impl Iterator<Item = &'a str>, fence: &str) -> String {
    for line in lines.by_ref() {
        if line == fence {
            break;
        }
    }
    let mut text = String::new();
    for line in lines.by_ref() {
        if line == "```" {
            return text;
        }
        text.push_str(line);
        text.push('\n');
    }
    panic!("a {fence} block in docs/guide.md is not closed");
}

fn run_example(example: &Example) -> Output {
    let work = shared_tempdir();
    let home = work.path().join("home");
    std::fs::create_dir(&home).unwrap();
    give_to(example.who, &home);
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(airlock_bin(), bin.join("airlock")).unwrap();
    let script = format!(
        r#"
{QUIET_RESOLVER}
cd "$HOME"
as_user() {{ $AS env HOME="$HOME" PATH="$BIN:/usr/local/bin:/usr/bin:/bin" AIRLOCK_STATE_DIR="$HOME/.state" "$@"; }}
status=0
as_user sh -euc "$EXAMPLE" 2>&1 || status=$?
# An example that failed half-way may leave a named sandbox running.
names=$(as_user airlock ls --json | python3 -c 'import json, sys; print(" ".join(entry["name"] for entry in json.load(sys.stdin)))')
[ -z "$names" ] || as_user airlock rm --force $names >/dev/null 2>&1
exit $status
"#
    );
    let env = [("HOME", home.as_os_str()), ("BIN", bin.as_os_str()), ("EXAMPLE", example.script.as_ref())];
    let out = in_host_with_upstream(example.who, &script, &env);
    drop(work);
    out
}

#[test]
fn every_example_prints_what_the_guide_shows() {
    let examples = examples();
    assert!(examples.len() >= 7, "the guide lost examples: {}", examples.len());
    let mut failures = Vec::new();
    for example in &examples {
        let out = run_example(example);
        if out.code != Some(0) || out.stdout != example.output {
            failures.push(format!(
                "## {} (exit {:?})\nexpected:\n{}got:\n{}stderr:\n{}",
                example.title, out.code, example.output, out.stdout, out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
