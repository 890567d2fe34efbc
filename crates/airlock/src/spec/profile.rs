//! Profiles: TOML files that describe a sandbox, or part of one.
//!
//! A profile has the tables of a [`Spec`] (`[namespaces]`, `[identity]`, `[process]`,
//! `[filesystem]`, `[network]`, `[ipc]`, `[security]`, `[limits]`), an optional
//! `description`, and an optional `include` list of other profiles. Loading several
//! profiles merges them in order, each include before the profile that names it:
//!
//! - tables merge key by key;
//! - lists add up (mounts, published ports, capabilities, ...), except `process.command`,
//!   which the later profile replaces;
//! - single values are replaced by the later profile.
//!
//! Before merging, every string may use `${HOME}`, `${UID}`, `${GID}`, `${PWD}` and
//! `${XDG_RUNTIME_DIR}`. Each file is checked on its own first, so that a misspelt key or
//! a bad value is reported with the file, line and column where it is.

use super::{Filesystem, Identity, Ipc, Limits, Namespaces, Network, Process, Security, Spec};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in profiles, embedded in the binary: name and TOML text.
pub const BUILTIN: [(&str, &str); 5] = [
    ("default", include_str!("../../../../profiles/default.toml")),
    ("shell", include_str!("../../../../profiles/shell.toml")),
    ("build", include_str!("../../../../profiles/build.toml")),
    ("service", include_str!("../../../../profiles/service.toml")),
    ("untrusted", include_str!("../../../../profiles/untrusted.toml")),
];

/// The variables a profile's strings may use.
const VARIABLES: [&str; 5] = ["HOME", "UID", "GID", "PWD", "XDG_RUNTIME_DIR"];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no profile {name:?}: it is not a built-in profile ({}); name a file with a path, such as ./{name}.toml{}", builtin_names(), suggest(name, BUILTIN.iter().map(|(name, _)| *name)))]
    NotFound { name: String },
    #[error("cannot read profile {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid { origin: String, line: usize, column: usize, message: String },
    #[error("{origin}: {message}")]
    Merged { origin: String, message: String },
    #[error("profiles include each other in a loop: {0}")]
    Loop(String),
    #[error("{origin}: include: {error}")]
    Include { origin: String, error: Box<ProfileError> },
    #[error("{origin}: {key}: {why}")]
    Variable { origin: String, key: String, why: String },
}

fn builtin_names() -> String {
    BUILTIN.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

/// The values of the variables profiles may use, taken from the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables(BTreeMap<&'static str, String>);

impl Variables {
    /// The caller's home, ids, working directory and runtime directory; a variable whose
    /// value is unknown (no `XDG_RUNTIME_DIR`, say) is an error only where a profile uses it.
    pub fn from_caller() -> Variables {
        let mut values = BTreeMap::new();
        if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
            values.insert("HOME", home.to_string_lossy().into_owned());
        }
        values.insert("UID", rustix::process::getuid().as_raw().to_string());
        values.insert("GID", rustix::process::getgid().as_raw().to_string());
        if let Ok(pwd) = std::env::current_dir() {
            values.insert("PWD", pwd.to_string_lossy().into_owned());
        }
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
            values.insert("XDG_RUNTIME_DIR", dir.to_string_lossy().into_owned());
        }
        Variables(values)
    }

    /// Sets one variable, for callers that know better than the environment.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.0.insert(name, value.into());
    }

    /// Replaces every `${NAME}` in `text`.
    fn expand<'t>(&self, text: &'t str) -> Result<Cow<'t, str>, String> {
        if !text.contains("${") {
            return Ok(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("{text:?} has a ${{ without a closing }}"));
            };
            let name = &after[..end];
            if !VARIABLES.contains(&name) {
                return Err(format!("unknown variable ${{{name}}}; profiles may use ${{{}}}", VARIABLES.join("}, ${")));
            }
            match self.0.get(name) {
                Some(value) => out.push_str(value),
                None => return Err(format!("${{{name}}} is used but not set in airlock's environment")),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Cow::Owned(out))
    }
}

/// One profile file as written, checked key by key against the spec's types.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code, reason = "the spec's tables are read only to check their keys and values")]
struct Document {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    namespaces: Namespaces,
    #[serde(default)]
    identity: Identity,
    #[serde(default)]
    process: Process,
    #[serde(default)]
    filesystem: Filesystem,
    #[serde(default)]
    network: Network,
    #[serde(default)]
    ipc: Ipc,
    #[serde(default)]
    security: Security,
    #[serde(default)]
    limits: Limits,
}

/// A profile's text and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// How errors name it: the file's path, or `built-in:NAME`.
    pub origin: String,
    /// Where a relative include is looked up: the file's directory, or the working
    /// directory for a built-in profile.
    dir: Option<PathBuf>,
    pub text: Cow<'static, str>,
}

impl Source {
    /// Finds a profile: a path when `name` has a `/` or ends in `.toml` (relative paths
    /// from `dir`), or else a built-in profile.
    pub fn find(name: &str, dir: Option<&Path>) -> Result<Source, ProfileError> {
        if name.contains('/') || name.ends_with(".toml") {
            let path = match dir {
                Some(dir) if Path::new(name).is_relative() => dir.join(name),
                _ => PathBuf::from(name),
            };
            let text = std::fs::read_to_string(&path).map_err(|source| ProfileError::Read { path: path.clone(), source })?;
            let dir = path.parent().map(Path::to_path_buf);
            return Ok(Source { origin: path.display().to_string(), dir, text: Cow::Owned(text) });
        }
        match BUILTIN.iter().find(|(builtin, _)| *builtin == name) {
            Some((name, text)) => Ok(Source { origin: format!("built-in:{name}"), dir: None, text: Cow::Borrowed(text) }),
            None => Err(ProfileError::NotFound { name: name.to_string() }),
        }
    }

    /// Checks the profile's keys and values; returns its description and includes.
    pub fn check(&self) -> Result<(Option<String>, Vec<String>), ProfileError> {
        match toml::from_str::<Document>(&self.text) {
            Ok(document) => Ok((document.description, document.include)),
            Err(error) => Err(self.invalid(&error)),
        }
    }

    /// Converts a parse error into one at its line and column, with the nearest valid key
    /// for an unknown one.
    fn invalid(&self, error: &toml::de::Error) -> ProfileError {
        let offset = error.span().map(|span| span.start).unwrap_or(0).min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |text| text.chars().count()) + 1;
        ProfileError::Invalid { origin: self.origin.clone(), line, column, message: describe(error.message()) }
    }
}

/// Rewords serde's messages for people editing a file: an unknown field becomes an unknown
/// key with the nearest valid one.
fn describe(message: &str) -> String {
    let message = message.trim();
    let Some(rest) = message.strip_prefix("unknown field `") else {
        let mut message = message.replace("variant", "value").replace('`', "\"");
        for (rust, words) in RUST_TYPES {
            message = message.replace(rust, words);
        }
        return message;
    };
    let Some((key, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match suggest(key, valid.iter().copied()) {
        hint if !hint.is_empty() => format!("unknown key \"{key}\"{hint}"),
        _ => format!("unknown key \"{key}\"; valid keys here: {}", valid.join(", ")),
    }
}

/// serde's names of Rust types in "expected ..." messages, and the words for a profile.
const RUST_TYPES: [(&str, &str); 8] = [
    ("expected u64", "expected a whole number"),
    ("expected u32", "expected a whole number"),
    ("expected u16", "expected a whole number"),
    ("expected u8", "expected a whole number"),
    ("expected i64", "expected a whole number"),
    ("expected i32", "expected a whole number"),
    ("expected f64", "expected a number"),
    ("expected a string", "expected a string in quotes"),
];

/// "; did you mean X?" for the candidate nearest to `word`, when one is near enough.
fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let nearest = candidates.map(|candidate| (edit_distance(word, candidate), candidate)).min();
    match nearest {
        Some((distance, candidate)) if distance <= (word.chars().count() / 3).max(2) => format!("; did you mean \"{candidate}\"?"),
        _ => String::new(),
    }
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// Loads `names` in order (built-in names or paths) with their includes, merges them, and
/// returns the spec they describe.
///
/// Each profile loads once: a profile that an earlier one already loaded (every built-in
/// profile includes `default`, for one) is skipped, so it cannot undo what came after it.
pub fn load(names: &[String], variables: &Variables) -> Result<Spec, ProfileError> {
    let mut loading = Loading { variables, stack: Vec::new(), loaded: Vec::new(), merged: toml::Table::new() };
    for name in names {
        loading.load(name, None)?;
    }
    let origin = names.join(", ");
    let mut spec = Spec::deserialize(loading.merged).map_err(|error| ProfileError::Merged { origin, message: describe(error.message()) })?;
    spec.limits.keep_last_rlimits();
    Ok(spec)
}

/// The state of one [`load`]: the include chain being followed, the profiles already
/// merged, and the merged tables.
struct Loading<'v> {
    variables: &'v Variables,
    stack: Vec<String>,
    loaded: Vec<String>,
    merged: toml::Table,
}

impl Loading<'_> {
    fn load(&mut self, name: &str, dir: Option<&Path>) -> Result<(), ProfileError> {
        let source = Source::find(name, dir)?;
        if self.stack.contains(&source.origin) {
            self.stack.push(source.origin);
            return Err(ProfileError::Loop(self.stack.join(" includes ")));
        }
        if self.loaded.contains(&source.origin) {
            return Ok(());
        }
        let (_, includes) = source.check()?;
        self.stack.push(source.origin.clone());
        for include in &includes {
            let include = self
                .variables
                .expand(include)
                .map_err(|why| ProfileError::Variable { origin: source.origin.clone(), key: "include".into(), why })?;
            self.load(&include, source.dir.as_deref()).map_err(|error| match error {
                error @ (ProfileError::NotFound { .. } | ProfileError::Read { .. }) => {
                    ProfileError::Include { origin: source.origin.clone(), error: Box::new(error) }
                }
                error => error,
            })?;
        }
        self.stack.pop();
        self.loaded.push(source.origin.clone());
        self.merge(&source)
    }


    fn merge(&mut self, source: &Source) -> Result<(), ProfileError> {
        let mut table: toml::Table = toml::from_str(&source.text).map_err(|error| source.invalid(&error))?;
        table.remove("include");
        table.remove("description");
        expand(&mut table, self.variables, &source.origin, "")?;
        merge(&mut self.merged, table, "");
        Ok(())
    }
}

/// Expands the variables in every string of `table`.
fn expand(table: &mut toml::Table, variables: &Variables, origin: &str, path: &str) -> Result<(), ProfileError> {
    for (key, value) in table.iter_mut() {
        expand_value(value, variables, origin, &join(path, key))?;
    }
    Ok(())
}

fn expand_value(value: &mut toml::Value, variables: &Variables, origin: &str, path: &str) -> Result<(), ProfileError> {
    match value {
        toml::Value::String(text) => {
            let expanded = variables.expand(text).map_err(|why| ProfileError::Variable { origin: origin.into(), key: path.into(), why })?;
            if let Cow::Owned(expanded) = expanded {
                *text = expanded;
            }
        }
        toml::Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                expand_value(item, variables, origin, &format!("{path}[{index}]"))?;
            }
        }
        toml::Value::Table(table) => expand(table, variables, origin, path)?,
        _ => {}
    }
    Ok(())
}

/// Lists that a later profile replaces instead of extending.
const REPLACED_LISTS: [&str; 1] = ["process.command"];

/// Merges `from` into `into` by the rules in the module's documentation.
fn merge(into: &mut toml::Table, from: toml::Table, path: &str) {
    for (key, value) in from {
        let key_path = join(path, &key);
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(table)) => merge(existing, table, &key_path),
            (Some(toml::Value::Array(existing)), toml::Value::Array(items)) if !REPLACED_LISTS.contains(&key_path.as_str()) => {
                existing.extend(items)
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables() -> Variables {
        let mut variables = Variables::default();
        variables.set("HOME", "/home/ada");
        variables.set("UID", "1000");
        variables
    }

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    #[test]
    fn builtin_profiles_load() {
        let mut variables = Variables::from_caller();
        variables.set("XDG_RUNTIME_DIR", "/run/user/1000");
        for (name, _) in BUILTIN {
            let source = Source::find(name, None).unwrap();
            let (description, _) = source.check().unwrap_or_else(|error| panic!("{error}"));
            assert!(description.is_some_and(|text| !text.is_empty()), "{name} has no description");
            load(&[name.to_string()], &variables).unwrap_or_else(|error| panic!("{error}"));
        }
    }

    #[test]
    fn lists_add_up_and_values_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "base.toml", "[process]\ncommand = [\"sh\"]\nhostname = \"one\"\nenv = { A = \"1\" }\n[security]\ncap-add = [\"CHOWN\"]\n");
        let top = write(
            dir.path(),
            "top.toml",
            "include = [\"base.toml\"]\n[process]\ncommand = [\"ls\", \"${HOME}\"]\nhostname = \"two\"\nenv = { B = \"2\" }\n[security]\ncap-add = [\"KILL\"]\n",
        );
        let spec = load(&[top], &variables()).unwrap();
        assert_eq!(spec.process.command, ["ls", "/home/ada"]);
        assert_eq!(spec.process.hostname.as_deref(), Some("two"));
        assert_eq!(spec.process.env.len(), 2);
        assert_eq!(spec.security.cap_add, ["CHOWN", "KILL"]);
    }

    #[test]
    fn errors_name_file_line_column_and_nearest_key() {
        let dir = tempfile::tempdir().unwrap();
        let misspelt = write(dir.path(), "misspelt.toml", "[network]\nmode = \"none\"\npublsh = [\"8080:80\"]\n");
        let error = load(std::slice::from_ref(&misspelt), &variables()).unwrap_err().to_string();
        assert_eq!(error, format!("{misspelt}:3:1: unknown key \"publsh\"; did you mean \"publish\"?"));

        let wrong_type = write(dir.path(), "type.toml", "[limits]\npids = \"many\"\n");
        let error = load(std::slice::from_ref(&wrong_type), &variables()).unwrap_err().to_string();
        assert!(error.starts_with(&format!("{wrong_type}:2:8: ")), "{error}");

        let bad_size = write(dir.path(), "size.toml", "[limits]\nmemory = \"12 parsecs\"\n");
        let error = load(std::slice::from_ref(&bad_size), &variables()).unwrap_err().to_string();
        assert!(error.starts_with(&format!("{bad_size}:2:10: ")), "{error}");

        let unknown = write(dir.path(), "variable.toml", "[process]\nchdir = \"${HOEM}/src\"\n");
        let error = load(&[unknown], &variables()).unwrap_err().to_string();
        assert!(error.contains("process.chdir: unknown variable ${HOEM}"), "{error}");
    }

    #[test]
    fn profile_loads_once() {
        // The second profile includes the first again, which must not undo what the
        // second set in between.
        let dir = tempfile::tempdir().unwrap();
        let first = write(dir.path(), "first.toml", "[network]\nmode = \"none\"\n[process]\nhostname = \"first\"\n");
        let second = write(dir.path(), "second.toml", "include = [\"first.toml\"]\n[process]\nhostname = \"second\"\n");
        let mode = write(dir.path(), "mode.toml", "[network]\nmode = \"host\"\n");
        let spec = load(&[first, mode, second], &variables()).unwrap();
        assert_eq!(spec.network.mode, crate::spec::NetMode::Host);
        assert_eq!(spec.process.hostname.as_deref(), Some("second"));
    }

    #[test]
    fn include_loop_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.toml", "include = [\"b.toml\"]\n");
        write(dir.path(), "b.toml", "include = [\"a.toml\"]\n");
        let error = load(std::slice::from_ref(&a), &variables()).unwrap_err().to_string();
        let b = dir.path().join("b.toml").display().to_string();
        assert_eq!(error, format!("profiles include each other in a loop: {a} includes {b} includes {a}"));
    }

    #[test]
    fn unknown_builtin_suggests_the_nearest() {
        let error = Source::find("untrusted-ish", None).err().unwrap().to_string();
        assert!(error.starts_with("no profile \"untrusted-ish\": it is not a built-in profile"), "{error}");
        let error = Source::find("shel", None).err().unwrap().to_string();
        assert!(error.ends_with("did you mean \"shell\"?"), "{error}");
    }
}
