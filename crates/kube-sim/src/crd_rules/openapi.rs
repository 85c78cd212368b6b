//! The OpenAPI rules of a CRD schema (`ValidateCustomResourceDefinitionOpenAPISchema`):
//! supported keywords and types, defaults, and where the `x-kubernetes-*` extensions may go.

use super::go_struct::{Shape, dump_field};
use super::{
    EMBEDDED, LIST_MAP_KEYS, LIST_TYPE, MAP_TYPE, PRESERVE, TYPES, VALIDATIONS, flag, has, key,
    props, strings, ty,
};
use crate::field_error::FieldError;
use serde_json::{Value, json};

#[derive(Clone)]
pub(super) struct Ctx {
    allow_defaults: bool,
    defaults_reason: String,
    inside_meta: bool,
}

impl Default for Ctx {
    fn default() -> Ctx {
        Ctx {
            allow_defaults: true,
            defaults_reason: String::new(),
            inside_meta: false,
        }
    }
}

impl Ctx {
    fn without_defaults(&self, reason: String) -> Ctx {
        Ctx {
            allow_defaults: false,
            defaults_reason: reason,
            ..self.clone()
        }
    }
}

pub(super) fn openapi(s: &Value, path: &str, ctx: &Ctx, is_root: bool, errs: &mut Vec<FieldError>) {
    let Some(map) = s.as_object() else {
        return;
    };
    let at = |field: &str| format!("{path}.{field}");
    let nonempty_map = |k: &str| {
        map.get(k)
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
    };
    let t = ty(s);
    let embedded = flag(s, EMBEDDED);

    // specStandardValidatorV3.validate
    if !t.is_empty() && !TYPES.contains(&t) {
        errs.push(FieldError::not_supported(at("type"), json!(t), TYPES));
    }
    if has(s, "default") && !ctx.allow_defaults {
        let mut detail = "must not be set".to_string();
        if !ctx.defaults_reason.is_empty() {
            detail = format!("{detail} {}", ctx.defaults_reason);
        }
        errs.push(FieldError::forbidden(at("default"), detail));
    }
    if map
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|i| !i.is_empty())
    {
        errs.push(FieldError::forbidden(at("id"), "id is not supported"));
    }
    if has(s, "additionalItems") {
        errs.push(FieldError::forbidden(
            at("additionalItems"),
            "additionalItems is not supported",
        ));
    }
    if nonempty_map("patternProperties") {
        errs.push(FieldError::forbidden(
            at("patternProperties"),
            "patternProperties is not supported",
        ));
    }
    if nonempty_map("definitions") {
        errs.push(FieldError::forbidden(
            at("definitions"),
            "definitions is not supported",
        ));
    }
    if has(s, "dependencies") {
        errs.push(FieldError::forbidden(
            at("dependencies"),
            "dependencies is not supported",
        ));
    }
    if has(s, "$ref") {
        errs.push(FieldError::forbidden(at("$ref"), "$ref is not supported"));
    }
    if t == "null" {
        errs.push(FieldError::forbidden(
            at("type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if map
        .get("items")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        errs.push(FieldError::forbidden(
            at("items"),
            "items must be a schema object and not an array",
        ));
    }
    if ctx.inside_meta && embedded {
        errs.push(FieldError::forbidden(
            at(EMBEDDED),
            "must not be used inside of resource meta",
        ));
    }

    if flag(s, "uniqueItems") {
        errs.push(FieldError::forbidden(
            at("uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    let properties = props(s);
    if let Some(additional) = map.get("additionalProperties").filter(|a| !a.is_null()) {
        if properties.is_some() && (*additional == Value::Bool(false) || additional.is_object()) {
            errs.push(FieldError::forbidden(
                at("additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if additional.is_object() {
            let sub = if ctx.inside_meta {
                ctx.without_defaults(
                    "inside additionalProperties applying to object metadata".into(),
                )
            } else {
                ctx.clone()
            };
            openapi(additional, &at("additionalProperties"), &sub, false, errs);
        }
    }
    if let Some(properties) = properties {
        for (k, child) in properties {
            let mut sub = ctx.clone();
            if (is_root || embedded) && matches!(k.as_str(), "metadata" | "kind" | "apiVersion") {
                sub.inside_meta = true;
                if is_root {
                    sub = sub.without_defaults(format!("in top-level {k}"));
                }
            }
            openapi(child, &key(&at("properties"), k), &sub, false, errs);
        }
    }
    if let Some(not) = map.get("not").filter(|n| n.is_object()) {
        openapi(not, &at("not"), ctx, false, errs);
    }
    for junctor in ["allOf", "oneOf", "anyOf"] {
        for (i, clause) in map
            .get(junctor)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            openapi(clause, &format!("{path}.{junctor}[{i}]"), ctx, false, errs);
        }
    }
    if let Some(definitions) = map.get("definitions").and_then(Value::as_object) {
        for (k, child) in definitions {
            openapi(child, &key(&at("definitions"), k), ctx, false, errs);
        }
    }
    match map.get("items") {
        Some(items @ Value::Object(_)) => openapi(items, &at("items"), ctx, false, errs),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                openapi(item, &format!("{path}.items[{i}]"), ctx, false, errs);
            }
        }
        _ => {}
    }
    if let Some(dependencies) = map.get("dependencies").and_then(Value::as_object) {
        for (k, child) in dependencies {
            if child.is_object() {
                openapi(child, &key(&at("dependencies"), k), ctx, false, errs);
            }
        }
    }

    if map.get(PRESERVE) == Some(&Value::Bool(false)) {
        errs.push(FieldError::invalid(
            at(PRESERVE),
            json!(false),
            "must be true or undefined",
        ));
    }
    let map_type = map.get(MAP_TYPE).and_then(Value::as_str);
    if let Some(map_type) = map_type {
        if t != "object" {
            let detail = "must be object if x-kubernetes-map-type is specified";
            errs.push(if t.is_empty() {
                FieldError::required(at("type"), detail)
            } else {
                FieldError::invalid(at("type"), json!(t), detail)
            });
        }
        if map_type != "atomic" && map_type != "granular" {
            errs.push(FieldError::not_supported(
                at(MAP_TYPE),
                json!(map_type),
                &["atomic", "granular"],
            ));
        }
    }
    let list_type = map.get(LIST_TYPE).and_then(Value::as_str);
    let items = map.get("items").filter(|i| i.is_object());
    if let Some(list_type) = list_type {
        if t != "array" {
            let detail = "must be array if x-kubernetes-list-type is specified";
            errs.push(if t.is_empty() {
                FieldError::required(at("type"), detail)
            } else {
                FieldError::invalid(at("type"), json!(t), detail)
            });
        } else if list_type == "set"
            && let Some(items) = items
        {
            let detail = "must be atomic as item of a list with x-kubernetes-list-type=set";
            match ty(items) {
                "array" => {
                    if let Some(inner) = items.get(LIST_TYPE).and_then(Value::as_str)
                        && inner != "atomic"
                    {
                        errs.push(FieldError::invalid(
                            format!("{path}.items.{LIST_TYPE}"),
                            json!(inner),
                            detail,
                        ));
                    }
                }
                // The server shows the item's list type here, not its map type.
                "object" if items.get(MAP_TYPE).and_then(Value::as_str) != Some("atomic") => {
                    errs.push(FieldError::invalid(
                        format!("{path}.items.{MAP_TYPE}"),
                        items.get(LIST_TYPE).cloned().unwrap_or(Value::Null),
                        detail,
                    ));
                }
                _ => {}
            }
        }
        if !matches!(list_type, "atomic" | "set" | "map") {
            errs.push(FieldError::not_supported(
                at(LIST_TYPE),
                json!(list_type),
                &["atomic", "set", "map"],
            ));
        }
    }
    let keys = strings(map.get(LIST_MAP_KEYS));
    if !keys.is_empty() {
        let detail = "must be map if x-kubernetes-list-map-keys is non-empty";
        match list_type {
            None => errs.push(FieldError::required(at(LIST_TYPE), detail)),
            Some("map") => {}
            Some(other) => errs.push(FieldError::invalid(at(LIST_TYPE), json!(other), detail)),
        }
    }
    if list_type == Some("map") {
        if keys.is_empty() {
            errs.push(FieldError::required(
                at(LIST_MAP_KEYS),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match map.get("items").filter(|i| !i.is_null()) {
            None => errs.push(FieldError::required(
                at("items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(Value::Array(_)) => {
                let mut shown = String::new();
                dump_field(map.get("items"), Shape::Items, &mut shown);
                errs.push(FieldError::invalid_shown(
                    at("items"),
                    shown,
                    "must only have a single schema if x-kubernetes-list-type is map",
                ));
            }
            Some(items) if ty(items) != "object" => errs.push(FieldError::invalid(
                format!("{path}.items.type"),
                json!(ty(items)),
                "must be object if parent array's x-kubernetes-list-type is map",
            )),
            Some(items) => {
                let mut seen = Vec::new();
                for k in &keys {
                    match props(items).and_then(|p| p.get(*k)) {
                        Some(key_schema) => {
                            if matches!(ty(key_schema), "array" | "object") {
                                errs.push(FieldError::invalid(
                                    format!("{}.type", key(&format!("{path}.items.properties"), k)),
                                    json!(ty(items)),
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                ));
                            }
                        }
                        None => errs.push(FieldError::invalid(
                            at(LIST_MAP_KEYS),
                            json!(keys),
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(k) {
                        errs.push(FieldError::invalid(
                            at(LIST_MAP_KEYS),
                            json!(keys),
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(*k);
                }
            }
        }
    }
    if let (Some(items), Some(list_type @ ("set" | "map"))) = (items, list_type) {
        if flag(items, "nullable") {
            errs.push(FieldError::forbidden(
                format!("{path}.items.nullable"),
                format!("cannot be nullable when x-kubernetes-list-type is {list_type}"),
            ));
        }
        if list_type == "map" {
            let required = strings(items.get("required"));
            for k in &keys {
                let Some(key_schema) = props(items).and_then(|p| p.get(*k)) else {
                    continue;
                };
                let at_key = key(&format!("{path}.items.properties"), k);
                if !required.contains(k) && !has(key_schema, "default") {
                    errs.push(FieldError::required(
                        format!("{at_key}.default"),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if flag(key_schema, "nullable") {
                    errs.push(FieldError::forbidden(
                        format!("{at_key}.nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
    for (i, rule) in map
        .get(VALIDATIONS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        rule_errors(rule, &format!("{path}.{VALIDATIONS}[{i}]"), errs);
    }
}

fn rule_errors(rule: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let text = |k: &str| rule.get(k).and_then(Value::as_str).unwrap_or_default();
    let lines = |s: &str| s.contains('\n') || s.contains('\r');
    let (body, message, expression, field_path) = (
        text("rule"),
        text("message"),
        text("messageExpression"),
        text("fieldPath"),
    );
    if body.trim().is_empty() {
        errs.push(FieldError::required(
            format!("{path}.rule"),
            "rule is not specified",
        ));
    } else if !message.is_empty() && message.trim().is_empty() {
        errs.push(FieldError::invalid(
            format!("{path}.message"),
            json!(message),
            "must be non-empty if specified",
        ));
    } else if lines(message.trim()) {
        errs.push(FieldError::invalid(
            format!("{path}.message"),
            json!(message),
            "must not contain line breaks",
        ));
    } else if lines(body.trim()) && message.trim().is_empty() {
        errs.push(FieldError::required(
            format!("{path}.message"),
            "message must be specified if rule contains line breaks",
        ));
    }
    if !expression.is_empty() && expression.trim().is_empty() {
        errs.push(FieldError::required(
            format!("{path}.messageExpression"),
            "messageExpression must be non-empty if specified",
        ));
    }
    if let Some(reason) = rule.get("reason").and_then(Value::as_str)
        && !matches!(
            reason,
            "FieldValueDuplicate"
                | "FieldValueForbidden"
                | "FieldValueInvalid"
                | "FieldValueRequired"
        )
    {
        errs.push(FieldError::not_supported(
            format!("{path}.reason"),
            json!(reason),
            &[
                "FieldValueDuplicate",
                "FieldValueForbidden",
                "FieldValueInvalid",
                "FieldValueRequired",
            ],
        ));
    }
    if !field_path.is_empty() && field_path.trim().is_empty() {
        errs.push(FieldError::invalid(
            format!("{path}.fieldPath"),
            json!(field_path),
            "must be non-empty if specified",
        ));
    }
    if lines(field_path) {
        errs.push(FieldError::invalid(
            format!("{path}.fieldPath"),
            json!(field_path),
            "must not contain line breaks",
        ));
    }
}
