//! The spec: the complete description of one sandbox.
//!
//! Every front end (command-line flags, TOML profiles) only builds a [`Spec`]; the launcher only
//! reads one. [`Spec::validate`] checks it against the caller and the host before anything is
//! created, so a bad path or an unowned id range is one clear error and nothing is left behind.

mod error;
mod filesystem;
mod identity;
mod limits;
mod namespaces;
mod network;
mod process;
mod security;
pub mod explain;
pub mod profile;
pub mod units;
pub(crate) mod validate;

pub use error::SpecError;
pub use filesystem::{BindMode, FileSource, Filesystem, Mount};
pub use identity::{IdRange, Identity};
pub use limits::{parse_cpu_list, Cpus, Limits, Rlimit, RlimitResource, UNLIMITED};
pub use namespaces::{NamespaceKind, Namespaces, NsSource};
pub use network::{EgressRule, NetMode, Network, PortMapping, Protocol, DEFAULT_NETWORK};
pub use process::Process;
pub use security::{capability_names, parse_capability, Channel, Ipc, LandlockMode, SeccompMode, Security};
pub use validate::Caller;

use serde::{Deserialize, Serialize};

/// The complete description of one sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    pub namespaces: Namespaces,
    pub identity: Identity,
    pub process: Process,
    pub filesystem: Filesystem,
    pub network: Network,
    pub ipc: Ipc,
    pub security: Security,
    pub limits: Limits,
}

impl Spec {
    /// Builds a spec that runs `command` with every default: all namespaces new, the default
    /// filesystem view, no network, no capabilities.
    pub fn for_command<I, S>(command: I) -> Spec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut spec = Spec::default();
        spec.process.command = command.into_iter().map(Into::into).collect();
        spec
    }
}

/// Generates the JSON Schema (draft 2020-12) of a TOML profile for editors: the keys of a
/// [`Spec`] as serde reads them, plus the profile's own `description` and `include` keys.
pub fn json_schema() -> serde_json::Value {
    use serde_json::Value;

    /// Removes the `null` that schemars adds for every `Option`, from types, `anyOf`
    /// variants and defaults, because TOML has no null.
    fn drop_null(schema: &mut schemars::Schema) {
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        match object.get_mut("default") {
            Some(Value::Null) => {
                object.remove("default");
            }
            Some(Value::Object(defaults)) => defaults.retain(|_, value| !value.is_null()),
            _ => {}
        }
        if let Some(Value::Array(types)) = object.get_mut("type") {
            types.retain(|kind| kind != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                object.insert("type".into(), only);
            }
        }
        // An `Option` of a referenced type is `anyOf: [{"$ref": …}, {"type": "null"}]`, which
        // becomes the reference itself.
        let single_variant = match object.get_mut("anyOf") {
            Some(Value::Array(variants)) => {
                variants.retain(|variant| *variant != serde_json::json!({ "type": "null" }));
                if variants.len() == 1 { variants.pop() } else { None }
            }
            _ => None,
        };
        if let Some(Value::Object(variant)) = single_variant {
            object.remove("anyOf");
            for (key, value) in variant {
                object.entry(key).or_insert(value);
            }
        }
    }

    let settings = schemars::generate::SchemaSettings::draft2020_12()
        .with_transform(schemars::transform::RecursiveTransform(drop_null));
    let mut schema = settings.into_generator().into_root_schema_for::<Spec>().to_value();

    schema["title"] = "airlock profile".into();
    schema["description"] =
        "A partial spec. Several profiles and command-line options merge into one spec.".into();

    // The two keys a profile has besides the spec's tables. `profile::load` removes them
    // before it reads the merged tables as a `Spec`.
    schema["properties"]["description"] = serde_json::json!({
        "description": "What the profile is for.",
        "type": "string",
    });
    schema["properties"]["include"] = serde_json::json!({
        "description": "Profiles merged before this one, each a built-in profile's name or a path \
                        (one with a `/` or ending in `.toml`, relative to this file's directory).",
        "type": "array",
        "items": { "type": "string" },
    });
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Follows a local `$ref` such as `#/$defs/Limits`, or returns `schema` itself.
    fn resolve<'a>(root: &'a serde_json::Value, schema: &'a serde_json::Value) -> &'a serde_json::Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let pointer = reference.strip_prefix('#').expect("a local reference");
                root.pointer(pointer).unwrap_or_else(|| panic!("{reference} is not in the schema"))
            }
            None => schema,
        }
    }

    #[test]
    fn schema_lists_every_spec_key() {
        let schema = json_schema();
        let properties = schema["properties"].as_object().expect("top-level properties");
        let spec = serde_json::to_value(Spec::default()).unwrap();
        let keys = spec.as_object().expect("a spec serializes as a map");

        assert!(!keys.is_empty());
        for key in keys.keys() {
            assert!(properties.contains_key(key), "{key} is missing from the schema");
        }
        for key in ["description", "include"] {
            assert!(properties.contains_key(key), "{key} is missing from the schema");
        }
        assert_eq!(properties.len(), keys.len() + 2, "the schema has keys a profile does not");
    }

    #[test]
    fn schema_rejects_unknown_keys() {
        let schema = json_schema();
        assert_eq!(schema["additionalProperties"], false, "at the top level");

        let limits = resolve(&schema, &schema["properties"]["limits"]);
        assert_eq!(limits["additionalProperties"], false, "in limits");
    }

    #[test]
    fn schema_has_title_and_dialect() {
        let schema = json_schema();
        assert_eq!(schema["title"], "airlock profile");
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    }
}
