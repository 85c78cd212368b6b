//! One `openAPIV3Schema` (`validateCustomResourceDefinitionValidation`): the structural-schema
//! invariants of `apiserver/schema` and the root's completeness.

use super::defaults::walk_defaults;
use super::go_struct::root_fields_under_status;
use super::openapi::{Ctx, openapi};
use super::{
    EMBEDDED, INT_OR_STRING, LIST_MAP_KEYS, LIST_TYPE, MAP_TYPE, PRESERVE, VALIDATIONS, flag, has,
    key, props, strings, ty,
};
use crate::field_error::FieldError;
use serde_json::{Value, json};

/// The findings about one `openAPIV3Schema` at `path`: the root's fields under a status
/// subresource, `nullable` at the root, the structural invariants (sorted, as the server sorts
/// them) or else the defaults, then the OpenAPI rules.
pub(super) fn schema_errors(
    schema: &Value,
    path: &str,
    status_enabled: bool,
    errs: &mut Vec<FieldError>,
) {
    let mut found = Vec::new();
    if status_enabled {
        root_fields_under_status(schema, path, &mut found);
    }
    if flag(schema, "nullable") {
        found.push(FieldError::forbidden(
            format!("{path}.nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let unstructurable = unstructurable(schema);
    if unstructurable.is_none() {
        let mut invariants = Vec::new();
        structural(schema, Level::Root, path, &mut invariants);
        completeness(schema, path, &mut invariants);
        invariants.sort_by_key(FieldError::text);
        if invariants.is_empty() {
            walk_defaults(schema, path, true, false, &mut found);
        } else {
            found.extend(invariants);
        }
    }
    openapi(schema, path, &Ctx::default(), true, &mut found);
    if found.is_empty()
        && let Some(why) = unstructurable
    {
        found.push(FieldError::invalid(path, json!(""), why));
    }
    errs.extend(found);
}

/// Why `NewStructural` cannot read a schema, if it cannot.
fn unstructurable(s: &Value) -> Option<&'static str> {
    let map = s.as_object()?;
    let nonempty = |k: &str| {
        map.get(k).is_some_and(|v| match v {
            Value::Null => false,
            Value::String(t) => !t.is_empty(),
            Value::Object(m) => !m.is_empty(),
            _ => true,
        })
    };
    for (field, message) in [
        ("id", "OpenAPIV3Schema 'id' is not supported"),
        ("$schema", "OpenAPIV3Schema 'schema' is not supported"),
        ("$ref", "OpenAPIV3Schema '$ref' is not supported"),
        (
            "patternProperties",
            "OpenAPIV3Schema 'patternProperties' is not supported",
        ),
        (
            "dependencies",
            "OpenAPIV3Schema 'dependencies' is not supported",
        ),
        (
            "additionalItems",
            "OpenAPIV3Schema 'additionalItems' is not supported",
        ),
        (
            "definitions",
            "OpenAPIV3Schema 'definitions' is not supported",
        ),
    ] {
        if nonempty(field) {
            return Some(message);
        }
    }
    if map.get(PRESERVE) == Some(&Value::Bool(false)) {
        return Some(
            "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined",
        );
    }
    if map
        .get("items")
        .is_some_and(|i| i.as_array().is_some_and(|a| !a.is_empty()))
    {
        return Some("OpenAPIV3Schema 'items' must be a schema, but is an array");
    }
    let children = map
        .get("items")
        .filter(|i| i.is_object())
        .into_iter()
        .chain(props(s).into_iter().flat_map(|p| p.values()))
        .chain(map.get("additionalProperties").filter(|a| a.is_object()))
        .chain(map.get("not").filter(|n| n.is_object()))
        .chain(
            ["allOf", "anyOf", "oneOf"]
                .iter()
                .filter_map(|k| map.get(*k).and_then(Value::as_array))
                .flatten(),
        );
    for child in children {
        if let Some(why) = unstructurable(child) {
            return Some(why);
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Level {
    Root,
    Item,
    Field,
}

/// `validateStructuralInvariants`.
fn structural(s: &Value, level: Level, path: &str, errs: &mut Vec<FieldError>) {
    if !s.is_object() {
        return;
    }
    let t = ty(s);
    if t == "array" && !has(s, "items") {
        errs.push(FieldError::required(
            format!("{path}.items"),
            "must be specified",
        ));
    }
    if let Some(items) = s.get("items").filter(|i| i.is_object()) {
        structural(items, Level::Item, &format!("{path}.items"), errs);
    }
    if let Some(properties) = props(s) {
        for (k, child) in properties {
            structural(
                child,
                Level::Field,
                &key(&format!("{path}.properties"), k),
                errs,
            );
        }
    }
    let additional = s.get("additionalProperties").filter(|a| !a.is_null());
    if let Some(additional) = additional {
        if level == Level::Root {
            errs.push(FieldError::forbidden(
                format!("{path}.additionalProperties"),
                "must not be used at the root",
            ));
        }
        if additional.is_object() {
            structural(
                additional,
                Level::Field,
                &format!("{path}.additionalProperties"),
                errs,
            );
        }
    }
    let int_or_string = flag(s, INT_OR_STRING);
    let preserve = flag(s, PRESERVE);
    let embedded = flag(s, EMBEDDED);
    if int_or_string && preserve {
        errs.push(FieldError::invalid(
            format!("{path}.{PRESERVE}"),
            json!(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if int_or_string && embedded {
        errs.push(FieldError::invalid(
            format!("{path}.{EMBEDDED}"),
            json!(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    value_validation(
        s,
        int_or_string_any_of(s.get("anyOf")),
        s.get("allOf")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .is_some_and(|first| int_or_string_any_of(first.get("anyOf"))),
        level,
        path,
        errs,
    );
    let check_metadata = level == Level::Root || embedded;
    if embedded && t != "object" {
        let detail = "must be object if x-kubernetes-embedded-resource is true";
        errs.push(if t.is_empty() {
            FieldError::required(format!("{path}.type"), detail)
        } else {
            FieldError::invalid(format!("{path}.type"), json!(t), detail)
        });
    } else if t.is_empty() && !int_or_string && !preserve {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(format!("{path}.type"), detail));
    }
    if embedded && additional.is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if level == Level::Root && !t.is_empty() && t != "object" {
        errs.push(FieldError::invalid(
            format!("{path}.type"),
            json!(t),
            "must be object at the root",
        ));
    }
    let properties = props(s);
    for meta_string in ["kind", "apiVersion"] {
        if let Some(child) = properties.and_then(|p| p.get(meta_string))
            && check_metadata
            && ty(child) != "string"
        {
            errs.push(FieldError::invalid(
                format!("{}.type", key(&format!("{path}.properties"), meta_string)),
                json!(ty(child)),
                "must be string",
            ));
        }
    }
    if let Some(metadata) = properties.and_then(|p| p.get("metadata")) {
        let at = key(&format!("{path}.properties"), "metadata");
        if check_metadata && ty(metadata) != "object" {
            errs.push(FieldError::invalid(
                format!("{at}.type"),
                json!(ty(metadata)),
                "must be object",
            ));
        }
        if level == Level::Root && metadata_says_more(metadata) {
            errs.push(FieldError::forbidden(
                at,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if embedded && !preserve && properties.is_none() {
        errs.push(FieldError::required(
            format!("{path}.properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// Whether the root's `metadata` schema says anything but `type`, a `default` (refused
/// elsewhere) and properties restricting only `name` and `generateName`: the structural
/// schema's form of it must otherwise be empty. Fields at their Go zero value (false, "",
/// null, an empty list the server drops) say nothing.
fn metadata_says_more(metadata: &Value) -> bool {
    let Some(map) = metadata.as_object() else {
        return false;
    };
    map.iter().any(|(k, v)| match k.as_str() {
        "type" | "default" => false,
        "properties" => v.as_object().is_some_and(|p| {
            p.keys()
                .any(|name| name != "name" && name != "generateName")
        }),
        "enum" | "allOf" | "anyOf" | "oneOf" => v.as_array().is_some_and(|a| !a.is_empty()),
        "description" | "title" | "format" | "pattern" => v.as_str().is_some_and(|s| !s.is_empty()),
        // Not part of a structural schema (or refused on their own).
        "id" | "$schema" | "$ref" | "patternProperties" | "dependencies" | "additionalItems"
        | "definitions" => false,
        _ => !(v.is_null() || *v == Value::Bool(false)),
    })
}

/// Whether `anyOf` is exactly `[{type: integer}, {type: string}]` (the int-or-string form).
fn int_or_string_any_of(any_of: Option<&Value>) -> bool {
    let only_type = |clause: &Value, want: &str| {
        clause.as_object().is_some_and(|m| {
            m.iter().all(|(k, v)| match k.as_str() {
                "type" => v == want,
                _ => v.is_null() || *v == Value::Bool(false) || *v == json!(""),
            }) && m.get("type").is_some_and(|t| t == want)
        })
    };
    any_of
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() == 2 && only_type(&a[0], "integer") && only_type(&a[1], "string"))
}

/// `validateValueValidation`: the clauses under `anyOf`, `allOf`, `oneOf` and `not`.
fn value_validation(
    s: &Value,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    level: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let clauses = |k: &str| {
        s.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    if !skip_any_of {
        for (i, clause) in clauses("anyOf").iter().enumerate() {
            nested(
                clause,
                false,
                false,
                level,
                &format!("{path}.anyOf[{i}]"),
                errs,
            );
        }
    }
    for (i, clause) in clauses("allOf").iter().enumerate() {
        let skip = skip_first_all_of_any_of && i == 0;
        nested(
            clause,
            skip,
            false,
            level,
            &format!("{path}.allOf[{i}]"),
            errs,
        );
    }
    for (i, clause) in clauses("oneOf").iter().enumerate() {
        nested(
            clause,
            false,
            false,
            level,
            &format!("{path}.oneOf[{i}]"),
            errs,
        );
    }
    if let Some(not) = s.get("not").filter(|n| n.is_object()) {
        nested(not, false, false, level, &format!("{path}.not"), errs);
    }
}

/// `validateNestedValueValidation`: a clause may only restrict values, not shape them.
fn nested(
    v: &Value,
    skip_any_of: bool,
    skip_all_of_any_of: bool,
    level: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if !v.is_object() {
        return;
    }
    value_validation(v, skip_any_of, skip_all_of_any_of, level, path, errs);
    if let Some(items) = v.get("items").filter(|i| i.is_object()) {
        nested(items, false, false, level, &format!("{path}.items"), errs);
    }
    if let Some(properties) = props(v) {
        for (k, child) in properties {
            nested(
                child,
                false,
                false,
                Level::Field,
                &key(&format!("{path}.properties"), k),
                errs,
            );
        }
    }
    let forbid = |field: &str, detail: &str, errs: &mut Vec<FieldError>| {
        errs.push(FieldError::forbidden(format!("{path}.{field}"), detail));
    };
    let nonempty_str = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if nonempty_str("type") {
        forbid("type", "must be empty to be structural", errs);
    }
    match v.get("additionalProperties") {
        Some(Value::Bool(true)) | Some(Value::Object(_)) => forbid(
            "additionalProperties",
            "must be undefined to be structural",
            errs,
        ),
        _ => {}
    }
    if has(v, "default") {
        forbid("default", "must be undefined to be structural", errs);
    }
    if nonempty_str("title") {
        forbid("title", "must be empty to be structural", errs);
    }
    if nonempty_str("description") {
        forbid("description", "must be empty to be structural", errs);
    }
    if flag(v, "nullable") {
        forbid("nullable", "must be false to be structural", errs);
    }
    if has(v, "externalDocs") {
        forbid("externalDocs", "must be undefined to be structural", errs);
    }
    if flag(v, PRESERVE) {
        forbid(PRESERVE, "must be false to be structural", errs);
    }
    if flag(v, EMBEDDED) {
        forbid(EMBEDDED, "must be false to be structural", errs);
    }
    if flag(v, INT_OR_STRING) {
        forbid(INT_OR_STRING, "must be false to be structural", errs);
    }
    if !strings(v.get(LIST_MAP_KEYS)).is_empty() {
        forbid(LIST_MAP_KEYS, "must be empty to be structural", errs);
    }
    if has(v, LIST_TYPE) {
        forbid(LIST_TYPE, "must be undefined to be structural", errs);
    }
    if has(v, MAP_TYPE) {
        forbid(MAP_TYPE, "must be undefined to be structural", errs);
    }
    if v.get(VALIDATIONS)
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        forbid(VALIDATIONS, "must be empty to be structural", errs);
    }
    if props(v).is_some_and(|p| p.contains_key("metadata")) {
        errs.push(FieldError::forbidden(
            key(&format!("{path}.properties"), "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// `validateStructuralCompleteness`: the properties and items the root's clauses restrict must
/// be specified by the schema itself.
fn completeness(root: &Value, path: &str, errs: &mut Vec<FieldError>) {
    value_completeness(root, Some(root), path, path, errs);
}

fn value_completeness(
    v: &Value,
    s: Option<&Value>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        errs.push(FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        ));
        return;
    };
    if let Some(not) = v.get("not").filter(|n| n.is_object()) {
        nested_completeness(not, Some(s), s_path, &format!("{v_path}.not"), errs);
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (i, clause) in v
            .get(junctor)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            nested_completeness(
                clause,
                Some(s),
                s_path,
                &format!("{v_path}.{junctor}[{i}]"),
                errs,
            );
        }
    }
}

fn nested_completeness(
    v: &Value,
    s: Option<&Value>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) {
    if !v.is_object() {
        return;
    }
    let Some(s) = s else {
        errs.push(FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        ));
        return;
    };
    value_completeness(v, Some(s), s_path, v_path, errs);
    if let Some(items) = v.get("items").filter(|i| i.is_object()) {
        nested_completeness(
            items,
            s.get("items").filter(|i| i.is_object()),
            &format!("{s_path}.items"),
            &format!("{v_path}.items"),
            errs,
        );
    }
    if let Some(properties) = props(v) {
        for (k, child) in properties {
            let s_child = key(&format!("{s_path}.properties"), k);
            let v_child = key(&format!("{v_path}.properties"), k);
            match props(s).and_then(|p| p.get(k)) {
                Some(specified) => {
                    nested_completeness(child, Some(specified), &s_child, &v_child, errs)
                }
                None => errs.push(FieldError::required(
                    s_child,
                    format!("because it is defined in {v_child}"),
                )),
            }
        }
    }
}
