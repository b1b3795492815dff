pub fn playbook_schema() -> serde_json::Value { todo!() }
pub fn config_schema() -> serde_json::Value { todo!() }
