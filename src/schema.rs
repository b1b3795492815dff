//! JSON Schemas of the files people write, for editors (completion, inline
//! docs, red squiggles before `squall validate` runs) and `squall schema`.
//!
//! Generated from the raw serde mirrors, so the schema cannot drift from what
//! the parser accepts; every field's doc comment becomes its description.

use crate::config::raw::RawConfig;
use crate::playbook::raw::RawPlaybook;

/// JSON Schema of a playbook file.
pub fn playbook_schema() -> serde_json::Value {
    schemars::schema_for!(RawPlaybook).to_value()
}

/// JSON Schema of `squall.yaml`.
pub fn config_schema() -> serde_json::Value {
    schemars::schema_for!(RawConfig).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property in a schema, with its description if any.
    fn properties(schema: &serde_json::Value, out: &mut Vec<(String, bool)>) {
        match schema {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                    // An enum variant (`{surge: ...}`) carries its doc on the wrapping object.
                    let variant_described = props.len() == 1 && map.get("description").is_some();
                    for (name, prop) in props {
                        let described = prop.get("description").is_some()
                            || prop.get("$ref").is_some()
                            || variant_described;
                        out.push((name.clone(), described));
                    }
                }
                map.values().for_each(|v| properties(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| properties(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_playbook_and_config_field_is_described() {
        for schema in [playbook_schema(), config_schema()] {
            let mut props = Vec::new();
            properties(&schema, &mut props);
            assert!(props.len() > 10);
            let undocumented: Vec<&String> = props
                .iter()
                .filter(|(_, described)| !described)
                .map(|(name, _)| name)
                .collect();
            assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
        }
    }

    #[test]
    fn durations_are_strings_with_a_pattern() {
        let schema = playbook_schema();
        let duration = &schema["$defs"]["Duration"];
        assert_eq!(duration["type"], "string");
        assert!(duration["pattern"].is_string());
    }

    #[test]
    fn the_playbook_schema_lists_every_trigger_and_action_kind() {
        let text = playbook_schema().to_string();
        for kind in crate::playbook::raw::TRIGGER_KINDS
            .iter()
            .chain(crate::playbook::raw::ACTION_KINDS.iter())
        {
            assert!(text.contains(&format!("\"{kind}\"")), "{kind} missing");
        }
    }

    #[test]
    fn credential_values_are_described_as_environment_variable_names() {
        let text = config_schema().to_string();
        assert!(text.contains("^[A-Z_][A-Z0-9_]*$"));
    }
}
