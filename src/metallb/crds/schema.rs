//! Where the derived schemas need help: integer shapes schemars cannot express through `with`,
//! and the clean-up that turns a derived CRD into what MetalLB's controller-gen CRDs declare.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

/// An integer with no declared width (Go's `int`).
pub fn plain_integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}

/// A TCP port as v1beta1 BGPPeer accepts it (0 meaning "the default").
pub fn port_0_16384(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 0, "maximum": 16384 })
}

/// A TCP port as v1beta2 BGPPeer accepts it, BGP's port by default.
pub fn port_1_16384_default_179(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 1, "maximum": 16384, "default": 179 })
}

/// Removes `nullable` markers (and the `null` that optional enums add to their values)
/// everywhere: optional fields are simply absent in MetalLB's objects, and a `null` would only
/// hide a typo.
pub fn strip_nullable(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("nullable");
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            for child in map.values_mut() {
                strip_nullable(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nullable),
        _ => {}
    }
}

/// Drops empty `properties` maps so a field-less spec or status reads as a plain object.
pub fn drop_empty_properties(schema: &mut Value) {
    if let Value::Object(map) = schema {
        if map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|props| props.is_empty())
        {
            map.remove("properties");
        }
        for child in map.values_mut() {
            drop_empty_properties(child);
        }
    }
}

/// Gives the root the standard object fields every Kubernetes schema declares, without the
/// derive's `title`. `metadata` is a bare `{"type": "object"}`, as controller-gen writes it: a
/// structural schema may say nothing else about the root's metadata (not even a description;
/// only `name` and `generateName` may be restricted), and the API server refuses the CRD
/// otherwise (422, `must not specify anything other than name and generateName`).
pub fn standard_root(root: &mut Value) {
    let Some(map) = root.as_object_mut() else {
        return;
    };
    map.remove("title");
    let props = map
        .entry("properties")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(props) = props.as_object_mut() {
        props.insert(
            "apiVersion".into(),
            json!({"type": "string", "description": "The versioned schema of this object, `group/version`."}),
        );
        props.insert(
            "kind".into(),
            json!({"type": "string", "description": "The REST resource this object represents."}),
        );
        props.insert("metadata".into(), json!({"type": "object"}));
    }
}

/// Makes `spec` optional at the root (the derive always requires it).
pub fn spec_optional(root: &mut Value) {
    if let Some(Value::Array(required)) = root.get_mut("required") {
        required.retain(|name| name != "spec");
        if required.is_empty() {
            root.as_object_mut().map(|m| m.remove("required"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_nullable_at_every_depth() {
        let mut v = json!({"type": "object", "nullable": true, "properties": {
            "a": {"type": "array", "nullable": true, "items": {"type": "string", "nullable": true}}
        }});
        strip_nullable(&mut v);
        assert_eq!(
            v,
            json!({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}})
        );
    }

    #[test]
    fn optional_enums_lose_their_null() {
        let mut v = json!({"type": "string", "enum": ["a", null]});
        strip_nullable(&mut v);
        assert_eq!(v, json!({"type": "string", "enum": ["a"]}));
    }

    #[test]
    fn root_gets_standard_fields_and_no_title() {
        let mut v =
            json!({"title": "X", "type": "object", "properties": {"spec": {"type": "object"}}});
        standard_root(&mut v);
        assert!(v.get("title").is_none());
        for field in ["apiVersion", "kind", "metadata", "spec"] {
            assert!(v["properties"].get(field).is_some(), "{field}");
        }
        assert_eq!(v["properties"]["metadata"], json!({"type": "object"}));
    }

    #[test]
    fn spec_optional_keeps_other_required_fields() {
        let mut v = json!({"required": ["spec", "status"]});
        spec_optional(&mut v);
        assert_eq!(v, json!({"required": ["status"]}));
        let mut v = json!({"required": ["spec"]});
        spec_optional(&mut v);
        assert_eq!(v, json!({}));
    }

    #[test]
    fn empty_properties_disappear() {
        let mut v = json!({"properties": {"spec": {"type": "object", "properties": {}}}});
        drop_empty_properties(&mut v);
        assert_eq!(v, json!({"properties": {"spec": {"type": "object"}}}));
    }
}
