//! Defaults (`structuraldefaulting.ValidateDefaults`): pruned, and valid against their schema
//! in kube-openapi's words.

use super::{EMBEDDED, INT_OR_STRING, PRESERVE, flag, key, props, strings, ty};
use crate::field_error::{FieldError, go_json, go_quote};
use serde_json::{Value, json};

pub(super) fn walk_defaults(
    s: &Value,
    path: &str,
    resource_root: bool,
    inside_meta: bool,
    errs: &mut Vec<FieldError>,
) {
    if !s.is_object() {
        return;
    }
    let embedded = resource_root || flag(s, EMBEDDED);
    let inside_meta = inside_meta && !embedded;
    if let Some(default) = s.get("default").filter(|d| !d.is_null())
        && !inside_meta
    {
        let mut pruned = default.clone();
        prune(&mut pruned, s, flag(s, EMBEDDED));
        if &pruned != default {
            errs.push(FieldError::invalid(
                format!("{path}.default"),
                default.clone(),
                "must not have unknown fields",
            ));
        }
        check_value(default, s, &format!("{path}.default"), "", errs);
    }
    if let Some(items) = s.get("items").filter(|i| i.is_object()) {
        walk_defaults(items, &format!("{path}.items"), false, inside_meta, errs);
    }
    if let Some(properties) = props(s) {
        for (k, child) in properties {
            let meta_field = embedded && matches!(k.as_str(), "metadata" | "apiVersion" | "kind");
            walk_defaults(
                child,
                &key(&format!("{path}.properties"), k),
                false,
                inside_meta || meta_field,
                errs,
            );
        }
    }
}

/// Drops what the schema does not specify, as the server prunes objects.
fn prune(value: &mut Value, s: &Value, resource_root: bool) {
    match value {
        Value::Object(map) => {
            let preserve = flag(s, PRESERVE);
            let embedded = resource_root || flag(s, EMBEDDED);
            let properties = props(s);
            let additional = s.get("additionalProperties");
            map.retain(|k, child| {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    return true;
                }
                if let Some(schema) = properties.and_then(|p| p.get(k)) {
                    prune(child, schema, false);
                    return true;
                }
                match additional {
                    Some(Value::Object(_)) => {
                        prune(child, additional.expect("matched"), false);
                        true
                    }
                    Some(Value::Bool(true)) => true,
                    _ => preserve,
                }
            });
        }
        Value::Array(items) => {
            if let Some(schema) = s.get("items").filter(|i| i.is_object()) {
                for item in items {
                    prune(item, schema, false);
                }
            }
        }
        _ => {}
    }
}

/// The JSON type kube-openapi names for a value.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => {
            if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() != 0.0) {
                "number"
            } else {
                "integer"
            }
        }
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Validates a default against its schema (kube-openapi's words): `base` is the default's
/// path, `name` the position inside it (`b`, `[1]`, `b.c`).
fn check_value(v: &Value, s: &Value, base: &str, name: &str, errs: &mut Vec<FieldError>) {
    let field = if name.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{name}")
    };
    let t = ty(s);
    let actual = json_type(v);
    if v.is_null() && flag(s, "nullable") {
        return;
    }
    let type_ok = if flag(s, INT_OR_STRING) {
        matches!(actual, "integer" | "string")
    } else {
        t.is_empty() || t == actual || (t == "number" && actual == "integer")
    };
    if !type_ok {
        let want = if t.is_empty() { "integer,string" } else { t };
        errs.push(FieldError::type_invalid(
            &field,
            json!(actual),
            format!(
                "{name} in body must be of type {want}: {}",
                go_quote(actual)
            ),
        ));
        if t == "integer" && actual == "number" {
            errs.push(FieldError::invalid(
                &field,
                json!(""),
                format!("Checked value must be of type integer (default format) in {name}"),
            ));
        }
        return;
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.is_empty()
        && !options.iter().any(|o| same_number(o, v))
    {
        let shown: Vec<String> = options
            .iter()
            .map(|o| match o {
                Value::String(text) => text.clone(),
                other => go_json(other),
            })
            .collect();
        errs.push(FieldError::not_supported(&field, v.clone(), &shown));
    }
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
                let exclusive = flag(s, "exclusiveMinimum");
                if x < min || (exclusive && x == min) {
                    let or_equal = if exclusive { "" } else { "or equal to " };
                    errs.push(FieldError::invalid(
                        &field,
                        v.clone(),
                        format!(
                            "{name} in body should be greater than {or_equal}{}",
                            go_json(&s["minimum"])
                        ),
                    ));
                }
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
                let exclusive = flag(s, "exclusiveMaximum");
                if x > max || (exclusive && x == max) {
                    let or_equal = if exclusive { "" } else { "or equal to " };
                    errs.push(FieldError::invalid(
                        &field,
                        v.clone(),
                        format!(
                            "{name} in body should be less than {or_equal}{}",
                            go_json(&s["maximum"])
                        ),
                    ));
                }
            }
        }
        Value::String(text) => {
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && text.chars().count() as u64 > max
            {
                errs.push(FieldError::too_long(&field, max));
            }
        }
        Value::Array(items) => {
            if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                errs.push(FieldError::invalid(
                    &field,
                    json!(items.len()),
                    format!("{name} in body should have at least {min} items"),
                ));
            }
            if let Some(item_schema) = s.get("items").filter(|i| i.is_object()) {
                for (i, item) in items.iter().enumerate() {
                    check_value(item, item_schema, base, &format!("{name}[{i}]"), errs);
                }
            }
        }
        Value::Object(map) => {
            let child = |k: &str| {
                if name.is_empty() {
                    k.to_string()
                } else {
                    format!("{name}.{k}")
                }
            };
            for required in strings(s.get("required")) {
                if !map.contains_key(required) {
                    errs.push(FieldError::required(
                        format!("{base}.{}", child(required)),
                        "",
                    ));
                }
            }
            let properties = props(s);
            let additional = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, value) in map {
                if let Some(schema) = properties.and_then(|p| p.get(k)).or(additional) {
                    check_value(value, schema, base, &child(k), errs);
                }
            }
        }
        _ => {}
    }
}
