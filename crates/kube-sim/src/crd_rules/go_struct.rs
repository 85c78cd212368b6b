//! The root's fields under a status subresource, and the internal Go structs the server prints
//! as invalid values (`encoding/json` of JSONSchemaProps and of `spec.versions`).

use super::{
    EMBEDDED, INT_OR_STRING, LIST_MAP_KEYS, LIST_TYPE, MAP_TYPE, PRESERVE, Spec, VALIDATIONS, has,
    str_at, ty,
};
use crate::field_error::{FieldError, go_json, write_go_string};
use serde_json::{Value, json};

/// With a status subresource the root may only set these (Go field names).
const ALLOWED_AT_ROOT: &[&str] = &[
    "Description",
    "Type",
    "Format",
    "Title",
    "Maximum",
    "ExclusiveMaximum",
    "Minimum",
    "ExclusiveMinimum",
    "MaxLength",
    "MinLength",
    "Pattern",
    "MaxItems",
    "MinItems",
    "UniqueItems",
    "MultipleOf",
    "Required",
    "Items",
    "Properties",
    "ExternalDocs",
    "Example",
    "XPreserveUnknownFields",
    "XValidations",
];

pub(super) fn root_fields_under_status(schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for (go, json_key, shape) in FIELDS {
        let value = schema.get(*json_key);
        if is_zero(value, *shape) {
            continue;
        }
        if *go == "Type" {
            if ty(schema) != "object" {
                errs.push(FieldError::invalid(
                    format!("{path}.type"),
                    json!(ty(schema)),
                    "only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled",
                ));
                break;
            }
            continue;
        }
        if !ALLOWED_AT_ROOT.contains(go) {
            let mut shown = String::new();
            dump_schema(schema, &mut shown);
            errs.push(FieldError::invalid_shown(
                path,
                shown,
                format!(
                    "only [{}] fields are allowed at the root of the schema if the status subresource is enabled",
                    ALLOWED_AT_ROOT.join(" ")
                ),
            ));
            break;
        }
    }
}

/// How a field of the internal JSONSchemaProps is held in Go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Shape {
    Str,
    Bool,
    /// A pointer to a scalar or to arbitrary JSON (`*string`, `*float64`, `*JSON`, `*bool`).
    Ptr,
    List,
    Schema,
    Schemas,
    SchemaMap,
    Items,
    OrBool,
    Dependencies,
    Docs,
    Rules,
}

/// The internal JSONSchemaProps in Go field order: (Go name, JSON key, shape).
const FIELDS: &[(&str, &str, Shape)] = &[
    ("ID", "id", Shape::Str),
    ("Schema", "$schema", Shape::Str),
    ("Ref", "$ref", Shape::Ptr),
    ("Description", "description", Shape::Str),
    ("Type", "type", Shape::Str),
    ("Nullable", "nullable", Shape::Bool),
    ("Format", "format", Shape::Str),
    ("Title", "title", Shape::Str),
    ("Default", "default", Shape::Ptr),
    ("Maximum", "maximum", Shape::Ptr),
    ("ExclusiveMaximum", "exclusiveMaximum", Shape::Bool),
    ("Minimum", "minimum", Shape::Ptr),
    ("ExclusiveMinimum", "exclusiveMinimum", Shape::Bool),
    ("MaxLength", "maxLength", Shape::Ptr),
    ("MinLength", "minLength", Shape::Ptr),
    ("Pattern", "pattern", Shape::Str),
    ("MaxItems", "maxItems", Shape::Ptr),
    ("MinItems", "minItems", Shape::Ptr),
    ("UniqueItems", "uniqueItems", Shape::Bool),
    ("MultipleOf", "multipleOf", Shape::Ptr),
    ("Enum", "enum", Shape::List),
    ("MaxProperties", "maxProperties", Shape::Ptr),
    ("MinProperties", "minProperties", Shape::Ptr),
    ("Required", "required", Shape::List),
    ("Items", "items", Shape::Items),
    ("AllOf", "allOf", Shape::Schemas),
    ("OneOf", "oneOf", Shape::Schemas),
    ("AnyOf", "anyOf", Shape::Schemas),
    ("Not", "not", Shape::Schema),
    ("Properties", "properties", Shape::SchemaMap),
    (
        "AdditionalProperties",
        "additionalProperties",
        Shape::OrBool,
    ),
    ("PatternProperties", "patternProperties", Shape::SchemaMap),
    ("Dependencies", "dependencies", Shape::Dependencies),
    ("AdditionalItems", "additionalItems", Shape::OrBool),
    ("Definitions", "definitions", Shape::SchemaMap),
    ("ExternalDocs", "externalDocs", Shape::Docs),
    ("Example", "example", Shape::Ptr),
    ("XPreserveUnknownFields", PRESERVE, Shape::Ptr),
    ("XEmbeddedResource", EMBEDDED, Shape::Bool),
    ("XIntOrString", INT_OR_STRING, Shape::Bool),
    ("XListMapKeys", LIST_MAP_KEYS, Shape::List),
    ("XListType", LIST_TYPE, Shape::Ptr),
    ("XMapType", MAP_TYPE, Shape::Ptr),
    ("XValidations", VALIDATIONS, Shape::Rules),
];

fn is_zero(value: Option<&Value>, shape: Shape) -> bool {
    match (value, shape) {
        (None | Some(Value::Null), _) => true,
        (Some(v), Shape::Str) => v.as_str().is_none_or(str::is_empty),
        (Some(v), Shape::Bool) => *v != Value::Bool(true),
        _ => false,
    }
}

/// The internal JSONSchemaProps of `s` as Go's `encoding/json` writes the struct.
fn dump_schema(s: &Value, out: &mut String) {
    out.push('{');
    for (i, (go, json_key, shape)) in FIELDS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_go_string(go, out);
        out.push(':');
        dump_field(s.get(*json_key), *shape, out);
    }
    out.push('}');
}

pub(super) fn dump_field(value: Option<&Value>, shape: Shape, out: &mut String) {
    let value = value.filter(|v| !v.is_null());
    let null = |out: &mut String| out.push_str("null");
    match (shape, value) {
        (Shape::Str, v) => write_go_string(v.and_then(Value::as_str).unwrap_or_default(), out),
        (Shape::Bool, v) => out.push_str(if v == Some(&Value::Bool(true)) {
            "true"
        } else {
            "false"
        }),
        (_, None) => null(out),
        (Shape::Ptr | Shape::List, Some(v)) => out.push_str(&go_json(v)),
        (Shape::Schema, Some(v)) => dump_schema(v, out),
        (Shape::Schemas, Some(v)) => {
            out.push('[');
            for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dump_schema(item, out);
            }
            out.push(']');
        }
        (Shape::SchemaMap, Some(v)) => {
            out.push('{');
            for (i, (k, item)) in v.as_object().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                dump_schema(item, out);
            }
            out.push('}');
        }
        (Shape::Items, Some(v)) => {
            out.push_str("{\"Schema\":");
            if v.is_object() {
                dump_schema(v, out);
                out.push_str(",\"JSONSchemas\":null}");
            } else {
                out.push_str("null,\"JSONSchemas\":");
                dump_field(Some(v), Shape::Schemas, out);
                out.push('}');
            }
        }
        (Shape::OrBool, Some(v)) => {
            let allows = *v != Value::Bool(false);
            out.push_str(&format!("{{\"Allows\":{allows},\"Schema\":"));
            if v.is_object() {
                dump_schema(v, out);
            } else {
                null(out);
            }
            out.push('}');
        }
        (Shape::Dependencies, Some(v)) => {
            out.push('{');
            for (i, (k, item)) in v.as_object().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push_str(":{\"Schema\":");
                if item.is_object() {
                    dump_schema(item, out);
                    out.push_str(",\"Property\":null}");
                } else {
                    out.push_str("null,\"Property\":");
                    out.push_str(&go_json(item));
                    out.push('}');
                }
            }
            out.push('}');
        }
        (Shape::Docs, Some(v)) => {
            out.push_str("{\"Description\":");
            write_go_string(str_at(v, "/description"), out);
            out.push_str(",\"URL\":");
            write_go_string(str_at(v, "/url"), out);
            out.push('}');
        }
        (Shape::Rules, Some(v)) => {
            out.push('[');
            for (i, rule) in v.as_array().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('{');
                for (j, (go, json_key)) in [
                    ("Rule", "rule"),
                    ("Message", "message"),
                    ("MessageExpression", "messageExpression"),
                ]
                .iter()
                .enumerate()
                {
                    if j > 0 {
                        out.push(',');
                    }
                    write_go_string(go, out);
                    out.push(':');
                    write_go_string(str_at(rule, &format!("/{json_key}")), out);
                }
                out.push_str(",\"Reason\":");
                dump_field(rule.get("reason"), Shape::Ptr, out);
                out.push_str(",\"FieldPath\":");
                write_go_string(str_at(rule, "/fieldPath"), out);
                out.push_str(",\"OptionalOldSelf\":");
                dump_field(rule.get("optionalOldSelf"), Shape::Ptr, out);
                out.push('}');
            }
            out.push(']');
        }
    }
}

/// `spec.versions` of the internal CRD (hoisted fields left null) as `encoding/json` writes it.
pub(super) fn versions_dump(spec: &Spec) -> String {
    let mut out = String::from("[");
    for (i, v) in spec.versions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"Name\":");
        write_go_string(str_at(v, "/name"), &mut out);
        for (go, json_key) in [
            ("Served", "served"),
            ("Storage", "storage"),
            ("Deprecated", "deprecated"),
        ] {
            out.push_str(&format!(",\"{go}\":{}", v[json_key] == true));
        }
        out.push_str(",\"DeprecationWarning\":");
        dump_field(v.get("deprecationWarning"), Shape::Ptr, &mut out);
        out.push_str(",\"Schema\":");
        match spec.own(v, "schema", spec.hoisted_schema) {
            Some(schema) => {
                out.push_str("{\"OpenAPIV3Schema\":");
                dump_field(schema.get("openAPIV3Schema"), Shape::Schema, &mut out);
                out.push('}');
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"Subresources\":");
        match spec.own(v, "subresources", spec.hoisted_subresources) {
            Some(sub) => {
                out.push_str("{\"Status\":");
                out.push_str(if has(sub, "status") { "{}" } else { "null" });
                out.push_str(",\"Scale\":");
                match sub.get("scale").filter(|s| !s.is_null()) {
                    Some(scale) => {
                        out.push_str("{\"SpecReplicasPath\":");
                        write_go_string(str_at(scale, "/specReplicasPath"), &mut out);
                        out.push_str(",\"StatusReplicasPath\":");
                        write_go_string(str_at(scale, "/statusReplicasPath"), &mut out);
                        out.push_str(",\"LabelSelectorPath\":");
                        dump_field(scale.get("labelSelectorPath"), Shape::Ptr, &mut out);
                        out.push('}');
                    }
                    None => out.push_str("null"),
                }
                out.push('}');
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"AdditionalPrinterColumns\":");
        match spec.own(v, "additionalPrinterColumns", spec.hoisted_columns) {
            Some(Value::Array(columns)) => {
                out.push('[');
                for (j, c) in columns.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"Name\":");
                    write_go_string(str_at(c, "/name"), &mut out);
                    out.push_str(",\"Type\":");
                    write_go_string(str_at(c, "/type"), &mut out);
                    out.push_str(",\"Format\":");
                    write_go_string(str_at(c, "/format"), &mut out);
                    out.push_str(",\"Description\":");
                    write_go_string(str_at(c, "/description"), &mut out);
                    out.push_str(&format!(
                        ",\"Priority\":{}",
                        c["priority"].as_i64().unwrap_or_default()
                    ));
                    out.push_str(",\"JSONPath\":");
                    write_go_string(str_at(c, "/jsonPath"), &mut out);
                    out.push('}');
                }
                out.push(']');
            }
            _ => out.push_str("null"),
        }
        out.push_str(",\"SelectableFields\":");
        match spec.own(v, "selectableFields", spec.hoisted_selectable) {
            Some(Value::Array(fields)) => {
                out.push('[');
                for (j, f) in fields.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"JSONPath\":");
                    write_go_string(str_at(f, "/jsonPath"), &mut out);
                    out.push('}');
                }
                out.push(']');
            }
            _ => out.push_str("null"),
        }
        out.push('}');
    }
    out.push(']');
    out
}
