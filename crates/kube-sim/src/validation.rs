//! Field validation of writes (`?fieldValidation=Ignore|Warn|Strict`, Warn by default): fields
//! the kind's schema does not declare, and fields a body sets twice.
//!
//! - Strict: 400 BadRequest, `<Kind> in version "<v>" cannot be handled as a <Kind>: strict
//!   decoding error: unknown field "spec.foo", duplicate field "metadata.name"`.
//! - Warn: the write succeeds without the unknown fields, with one `Warning` header per field.
//! - Ignore: the write succeeds without the unknown fields.
//! - Server-side apply: repeated keys of the YAML body by line under Strict and Warn, and
//!   undeclared fields refused with 500 whatever the directive (see [`apply_unknown`]).
//!
//! What is checked: custom resources against their CRD's structural schema (`properties`,
//! `items`, `additionalProperties`, `x-kubernetes-preserve-unknown-fields`,
//! `x-kubernetes-embedded-resource`); `metadata` of every kind against ObjectMeta; built-in kinds
//! by [`builtin_schema`]: the top-level fields of each kind lbctl touches, Service and workload
//! specs, pod templates and containers. Anything deeper in a built-in kind (probes, volumes,
//! securityContext, affinity, status, ...) is accepted as sent, and kinds without an entry are
//! not checked at all.

use crate::status::Status;
use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// `?fieldValidation=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    Ignore,
    Warn,
    Strict,
}

impl Directive {
    pub fn from_query(value: Option<&str>) -> Result<Directive, Status> {
        match value {
            None | Some("") | Some("Warn") => Ok(Directive::Warn),
            Some("Strict") => Ok(Directive::Strict),
            Some("Ignore") => Ok(Directive::Ignore),
            Some(other) => Err(Status::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// One finding of field validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A field the schema does not declare (`spec.foo`).
    Unknown(String),
    /// A member a JSON object sets twice (`data.a`).
    Duplicate(String),
}

/// What a check found, in the order the API server lists it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    /// The findings of a create, update or patch body in the server's order. For a built-in kind
    /// that is the body's order (its strict JSON decoding meets them one by one; unknown fields
    /// the body scan did not see come last, in key order). For a custom resource the duplicates
    /// come first, then unknown fields of `metadata` (ObjectMeta is decoded strictly), then the
    /// fields pruning drops, in key order.
    pub fn ordered(unknown: Vec<String>, scan: &BodyScan, custom: bool) -> Findings {
        let mut out: Vec<(usize, Finding)> = Vec::new();
        if custom {
            let (mut meta, rest): (Vec<String>, Vec<String>) = unknown
                .into_iter()
                .partition(|p| p.starts_with("metadata."));
            meta.sort_by_key(|p| scan.position(p));
            out.extend(
                scan.duplicates
                    .iter()
                    .map(|(_, p)| (0, Finding::Duplicate(p.clone()))),
            );
            out.extend(meta.into_iter().map(|p| (0, Finding::Unknown(p))));
            out.extend(rest.into_iter().map(|p| (0, Finding::Unknown(p))));
        } else {
            out.extend(
                unknown
                    .into_iter()
                    .map(|p| (scan.position(&p), Finding::Unknown(p))),
            );
            out.extend(
                scan.duplicates
                    .iter()
                    .map(|(at, p)| (*at, Finding::Duplicate(p.clone()))),
            );
            out.sort_by_key(|(at, _)| *at);
        }
        Findings(out.into_iter().map(|(_, f)| f).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `unknown field "spec.foo"`, `duplicate field "a"`.
    pub fn messages(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|f| match f {
                Finding::Unknown(p) => format!("unknown field {}", quote(p)),
                Finding::Duplicate(p) => format!("duplicate field {}", quote(p)),
            })
            .collect()
    }

    /// The Strict answer of a create, update or patch.
    pub fn strict_error(&self, kind: &str, version: &str) -> Status {
        Status::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            self.messages().join(", ")
        ))
    }

    /// `Warning` header values (`299 - "unknown field \"spec.foo\""`).
    pub fn warnings(&self) -> Vec<String> {
        warnings(&self.messages())
    }
}

fn warnings(messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .map(|m| format!("299 - {}", quote(m)))
        .collect()
}

/// A Go `%q`-style quoted string (what the server's messages and warnings use).
fn quote(text: &str) -> String {
    json!(text).to_string()
}

/// Removes the fields `schema` does not declare from `obj` and returns their paths. `metadata`
/// is checked against ObjectMeta whatever the schema says; `apiVersion` and `kind` are always
/// known.
pub fn prune_unknown(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(map) = obj.as_object_mut() else {
        return out;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                if let Some(meta) = map.get_mut("metadata") {
                    walk(&object_meta(), meta, "metadata", &mut out);
                }
            }
            _ => match schema.pointer(&format!("/properties/{}", escape(&key))) {
                Some(child) => {
                    if let Some(value) = map.get_mut(&key) {
                        walk(child, value, &key, &mut out);
                    }
                }
                None if open(schema) => {}
                None => {
                    map.remove(&key);
                    out.push(key);
                }
            },
        }
    }
    out
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Whether a schema node accepts members it does not list.
fn open(schema: &Value) -> bool {
    schema["x-kubernetes-preserve-unknown-fields"] == true || schema["additionalProperties"] == true
}

fn walk(schema: &Value, value: &mut Value, path: &str, out: &mut Vec<String>) {
    if schema[JSON_SCHEMA_PROPS] == true {
        schema_props(value, path, false, out);
        return;
    }
    match value {
        Value::Object(map) => walk_object(schema, map, path, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn walk_object(schema: &Value, map: &mut Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    let embedded = schema["x-kubernetes-embedded-resource"] == true;
    if properties.is_none() && additional.is_none() && (open(schema) || !schema.is_object()) {
        return;
    }
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let child_path = format!("{path}.{key}");
        let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
        match child_schema {
            Some(child) => {
                if let Some(value) = map.get_mut(&key) {
                    walk(child, value, &child_path, out);
                }
            }
            None if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") => {}
            None if open(schema) => {}
            None => {
                map.remove(&key);
                out.push(child_path);
            }
        }
    }
}

/// A JSON body's members in document order: where each path first appears, and the members an
/// object sets twice (paths as in `spec.containers[0].name`, with the rank of the repeated
/// occurrence). Bodies that are not JSON have neither.
#[derive(Debug, Default)]
pub struct BodyScan {
    first: HashMap<String, usize>,
    pub duplicates: Vec<(usize, String)>,
}

impl BodyScan {
    pub fn of(body: &[u8]) -> BodyScan {
        let scan = RefCell::new(BodyScan::default());
        let mut de = serde_json::Deserializer::from_slice(body);
        let seed = Members {
            path: String::new(),
            scan: &scan,
        };
        if seed.deserialize(&mut de).is_err() {
            return BodyScan::default();
        }
        scan.into_inner()
    }

    /// The rank of the first member at `path` (after every member when it is not in the body).
    pub fn position(&self, path: &str) -> usize {
        self.first.get(path).copied().unwrap_or(usize::MAX)
    }

    fn member(&mut self, path: &str, repeated: bool) {
        let rank = self.first.len() + self.duplicates.len();
        if repeated {
            self.duplicates.push((rank, path.to_string()));
        } else {
            self.first.entry(path.to_string()).or_insert(rank);
        }
    }
}

struct Members<'a> {
    path: String,
    scan: &'a RefCell<BodyScan>,
}

impl<'de> DeserializeSeed<'de> for Members<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let repeated = !seen.insert(key);
            self.scan.borrow_mut().member(&path, repeated);
            map.next_value_seed(Members {
                path,
                scan: self.scan,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Members {
                path: format!("{}[{i}]", self.path),
                scan: self.scan,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Server-side apply: the body is YAML (or JSON, read as YAML) and becomes a typed object.

/// Keys a YAML (or JSON) apply body sets twice in one mapping, as `(line, key)` in document
/// order; `key` is written as Go's `%#v` shows it (`"b"`).
pub fn yaml_duplicates(body: &[u8]) -> Vec<(u64, String)> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
    };
    serde_saphyr::from_str_with_options::<YamlKeys>(text, options)
        .map(|keys| keys.0)
        .unwrap_or_default()
}

/// `line 7: key "b" already set in map`, as the YAML decoder words a repeated key.
pub fn yaml_duplicate_messages(duplicates: &[(u64, String)]) -> Vec<String> {
    duplicates
        .iter()
        .map(|(line, key)| format!("line {line}: key {key} already set in map"))
        .collect()
}

/// The Strict answer to an apply body with repeated keys.
pub fn yaml_strict_error(duplicates: &[(u64, String)]) -> Status {
    Status::bad_request(format!(
        "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  {}",
        yaml_duplicate_messages(duplicates).join("\n  ")
    ))
}

/// The Warn answer (`Warning` header values) to an apply body with repeated keys.
pub fn yaml_warnings(duplicates: &[(u64, String)]) -> Vec<String> {
    warnings(&yaml_duplicate_messages(duplicates))
}

#[derive(Default)]
struct YamlKeys(Vec<(u64, String)>);

impl<'de> Deserialize<'de> for YamlKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<YamlKeys, D::Error> {
        deserializer.deserialize_any(YamlKeysVisitor)
    }
}

struct YamlKeysVisitor;

impl<'de> Visitor<'de> for YamlKeysVisitor {
    type Value = YamlKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlKeys, A::Error> {
        let mut out = YamlKeys::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<Value>>()? {
            if seen.contains(&key.value) {
                let shown = match &key.value {
                    Value::String(s) => quote(s),
                    other => other.to_string(),
                };
                out.0.push((key.referenced.line(), shown));
            } else {
                seen.push(key.value);
            }
            out.0.extend(map.next_value::<YamlKeys>()?.0);
        }
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YamlKeys, A::Error> {
        let mut out = YamlKeys::default();
        while let Some(item) = seq.next_element::<YamlKeys>()? {
            out.0.extend(item.0);
        }
        Ok(out)
    }

    fn visit_bool<E>(self, _: bool) -> Result<YamlKeys, E> {
        Ok(YamlKeys::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<YamlKeys, E> {
        Ok(YamlKeys::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<YamlKeys, E> {
        Ok(YamlKeys::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<YamlKeys, E> {
        Ok(YamlKeys::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<YamlKeys, E> {
        Ok(YamlKeys::default())
    }
    fn visit_unit<E>(self) -> Result<YamlKeys, E> {
        Ok(YamlKeys::default())
    }
}

/// The fields of an apply configuration its kind's schema does not declare, as
/// structured-merge-diff meets them making a typed object: members in key order, declared ones
/// walked into, and an object's first undeclared member ending that object's walk (the server
/// walks Go maps, so which of several it reports varies; this is one of its answers). Paths as
/// it writes them: `.spec.foo`, `.spec.containers[name="c"].imagePullPolice`, `.items[0].x`.
pub fn apply_unknown(schema: &Value, obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (key, value) in map {
        let child = format!(".{key}");
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => typed_walk(&object_meta(), value, &child, &mut out),
            _ => match schema.pointer(&format!("/properties/{}", escape(key))) {
                Some(declared) => typed_walk(declared, value, &child, &mut out),
                None if open(schema) => {}
                None => {
                    out.push(child);
                    break;
                }
            },
        }
    }
    out
}

fn typed_walk(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if schema[JSON_SCHEMA_PROPS] == true {
        schema_props(&mut value.clone(), path, true, out);
        return;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let embedded = schema["x-kubernetes-embedded-resource"] == true;
            if properties.is_none() && additional.is_none() && (open(schema) || !schema.is_object())
            {
                return;
            }
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                match properties.and_then(|p| p.get(key)).or(additional) {
                    Some(declared) => typed_walk(declared, child, &child_path, out),
                    None if embedded
                        && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") => {}
                    None if open(schema) => {}
                    None => {
                        out.push(child_path);
                        break;
                    }
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else {
                return;
            };
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                let at = if keys.is_empty() {
                    format!("{path}[{i}]")
                } else {
                    let parts: Vec<String> = keys
                        .iter()
                        .filter_map(|k| item.get(*k).map(|v| format!("{k}={v}")))
                        .collect();
                    format!("{path}[{}]", parts.join(","))
                };
                typed_walk(item_schema, item, &at, out);
            }
        }
        _ => {}
    }
}

/// The answer (500, no reason) to an apply configuration with undeclared fields, whatever the
/// `fieldValidation`: `failed to create typed patch object (<ns>/<name>; <group/version>,
/// Kind=<Kind>): .spec.foo: field not declared in schema` (several as an indented list).
pub fn typed_patch_error(
    config: &Value,
    api_version: &str,
    kind: &str,
    unknown: &[String],
) -> Status {
    let gv = if api_version.contains('/') {
        api_version.to_string()
    } else {
        format!("/{api_version}")
    };
    let field = |p: &str| {
        config
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let errors: Vec<String> = unknown
        .iter()
        .map(|p| format!("{p}: field not declared in schema"))
        .collect();
    let listed = if errors.len() == 1 {
        errors[0].clone()
    } else {
        format!("errors:\n  {}", errors.join("\n  "))
    };
    Status::new(
        500,
        None,
        format!(
            "failed to create typed patch object ({}/{}; {gv}, Kind={kind}): {listed}",
            field("/metadata/namespace"),
            field("/metadata/name"),
        ),
    )
}

/// The served version's structural schema of a CRD.
pub fn crd_schema(crd: &Value, version: &str) -> Option<Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v["name"] == version)?
        .pointer("/schema/openAPIV3Schema")
        .cloned()
}

/// Marks a schema node holding a JSONSchemaProps (a CRD's `openAPIV3Schema`), whose
/// recursion a static schema cannot spell out: [`schema_props`] checks it.
const JSON_SCHEMA_PROPS: &str = "x-kube-sim-json-schema-props";

/// The members of a JSONSchemaProps, with what each holds.
fn schema_props_member(key: &str) -> Option<PropsMember> {
    Some(match key {
        "properties" | "patternProperties" | "definitions" | "dependencies" => PropsMember::Map,
        "items" | "allOf" | "oneOf" | "anyOf" => PropsMember::OneOrMany,
        "not" | "additionalProperties" | "additionalItems" => PropsMember::One,
        "externalDocs" => PropsMember::Fields(&["description", "url"]),
        "x-kubernetes-validations" => PropsMember::Rules,
        "id"
        | "$schema"
        | "$ref"
        | "description"
        | "type"
        | "format"
        | "title"
        | "default"
        | "maximum"
        | "exclusiveMaximum"
        | "minimum"
        | "exclusiveMinimum"
        | "maxLength"
        | "minLength"
        | "pattern"
        | "maxItems"
        | "minItems"
        | "uniqueItems"
        | "multipleOf"
        | "enum"
        | "maxProperties"
        | "minProperties"
        | "required"
        | "example"
        | "nullable"
        | "x-kubernetes-preserve-unknown-fields"
        | "x-kubernetes-embedded-resource"
        | "x-kubernetes-int-or-string"
        | "x-kubernetes-list-map-keys"
        | "x-kubernetes-list-type"
        | "x-kubernetes-map-type" => PropsMember::Value,
        _ => return None,
    })
}

enum PropsMember {
    /// Any JSON (a scalar, or free-form like `default`).
    Value,
    /// A schema (or a boolean).
    One,
    /// A schema or a list of schemas.
    OneOrMany,
    /// Schemas by name (or string lists, under `dependencies`).
    Map,
    Fields(&'static [&'static str]),
    /// `x-kubernetes-validations` rules.
    Rules,
}

/// The members of a JSONSchemaProps (at any depth) the type does not declare, below `path`.
/// Without `typed` they are removed and all reported; with it (structured-merge-diff) an
/// object's first undeclared member ends its walk.
fn schema_props(value: &mut Value, path: &str, typed: bool, out: &mut Vec<String>) {
    let Value::Object(map) = value else {
        return;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let at = format!("{path}.{key}");
        let Some(member) = schema_props_member(&key) else {
            out.push(at);
            if typed {
                return;
            }
            map.remove(&key);
            continue;
        };
        let Some(child) = map.get_mut(&key) else {
            continue;
        };
        match (member, child) {
            (PropsMember::Value, _) => {}
            (PropsMember::One | PropsMember::OneOrMany, child @ Value::Object(_)) => {
                schema_props(child, &at, typed, out)
            }
            (PropsMember::OneOrMany, Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    schema_props(item, &format!("{at}[{i}]"), typed, out);
                }
            }
            (PropsMember::Map, Value::Object(schemas)) => {
                for (name, schema) in schemas.iter_mut() {
                    schema_props(schema, &format!("{at}.{name}"), typed, out);
                }
            }
            (PropsMember::Fields(known), Value::Object(members)) => {
                closed_object(members, known, &at, typed, out)
            }
            (PropsMember::Rules, Value::Array(rules)) => {
                let known = &[
                    "rule",
                    "message",
                    "messageExpression",
                    "reason",
                    "fieldPath",
                    "optionalOldSelf",
                ];
                for (i, rule) in rules.iter_mut().enumerate() {
                    if let Value::Object(members) = rule {
                        closed_object(members, known, &format!("{at}[{i}]"), typed, out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn closed_object(
    members: &mut Map<String, Value>,
    known: &[&str],
    path: &str,
    typed: bool,
    out: &mut Vec<String>,
) {
    let unknown: Vec<String> = members
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        out.push(format!("{path}.{key}"));
        if typed {
            return;
        }
        members.remove(&key);
    }
}

/// A schema node that accepts anything below it.
fn any() -> Value {
    json!({"x-kubernetes-preserve-unknown-fields": true})
}

/// An object with exactly these members (each accepting anything below it).
fn fields(names: &[&str]) -> Value {
    with(names, &[])
}

/// An object with these members: `open_names` accept anything, `typed` have their own schema.
fn with(open_names: &[&str], typed: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for name in open_names {
        properties.insert((*name).to_string(), any());
    }
    for (name, schema) in typed {
        properties.insert((*name).to_string(), schema.clone());
    }
    json!({"type": "object", "properties": properties})
}

fn list_of(item: Value) -> Value {
    json!({"type": "array", "items": item})
}

/// A CustomResourceDefinition's spec, schemas included.
fn crd_spec() -> Value {
    let schema = json!({JSON_SCHEMA_PROPS: true});
    let version = with(
        &[
            "name",
            "served",
            "storage",
            "deprecated",
            "deprecationWarning",
        ],
        &[
            ("schema", with(&[], &[("openAPIV3Schema", schema)])),
            (
                "subresources",
                with(
                    &["status"],
                    &[(
                        "scale",
                        fields(&[
                            "specReplicasPath",
                            "statusReplicasPath",
                            "labelSelectorPath",
                        ]),
                    )],
                ),
            ),
            (
                "additionalPrinterColumns",
                list_of(fields(&[
                    "name",
                    "type",
                    "format",
                    "description",
                    "priority",
                    "jsonPath",
                ])),
            ),
            ("selectableFields", list_of(fields(&["jsonPath"]))),
        ],
    );
    let client = with(
        &["url", "caBundle"],
        &[("service", fields(&["namespace", "name", "path", "port"]))],
    );
    let webhook = with(&["conversionReviewVersions"], &[("clientConfig", client)]);
    with(
        &["group", "scope", "preserveUnknownFields"],
        &[
            (
                "names",
                fields(&[
                    "plural",
                    "singular",
                    "shortNames",
                    "kind",
                    "listKind",
                    "categories",
                ]),
            ),
            ("versions", list_of(version)),
            ("conversion", with(&["strategy"], &[("webhook", webhook)])),
        ],
    )
}

/// A list merged by these keys (`x-kubernetes-list-type: map`), as containers and ports are.
fn keyed_list(item: Value, keys: &[&str]) -> Value {
    json!({"type": "array", "items": item, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": keys})
}

fn object_meta() -> Value {
    fields(&[
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ])
}

fn container() -> Value {
    fields(&[
        "name",
        "image",
        "command",
        "args",
        "workingDir",
        "ports",
        "envFrom",
        "env",
        "resources",
        "resizePolicy",
        "restartPolicy",
        "restartPolicyRules",
        "volumeMounts",
        "volumeDevices",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "securityContext",
        "stdin",
        "stdinOnce",
        "tty",
    ])
}

fn pod_spec() -> Value {
    with(
        &[
            "volumes",
            "ephemeralContainers",
            "restartPolicy",
            "terminationGracePeriodSeconds",
            "activeDeadlineSeconds",
            "dnsPolicy",
            "nodeSelector",
            "serviceAccountName",
            "serviceAccount",
            "automountServiceAccountToken",
            "nodeName",
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "shareProcessNamespace",
            "securityContext",
            "imagePullSecrets",
            "hostname",
            "subdomain",
            "affinity",
            "schedulerName",
            "tolerations",
            "hostAliases",
            "priorityClassName",
            "priority",
            "dnsConfig",
            "readinessGates",
            "runtimeClassName",
            "enableServiceLinks",
            "preemptionPolicy",
            "overhead",
            "topologySpreadConstraints",
            "setHostnameAsFQDN",
            "os",
            "hostUsers",
            "schedulingGates",
            "resourceClaims",
            "resources",
            "hostnameOverride",
        ],
        &[
            ("containers", keyed_list(container(), &["name"])),
            ("initContainers", keyed_list(container(), &["name"])),
        ],
    )
}

fn pod_template() -> Value {
    with(&["metadata"], &[("spec", pod_spec())])
}

fn workload(spec_fields: &[&str]) -> Value {
    with(
        &["status"],
        &[("spec", with(spec_fields, &[("template", pod_template())]))],
    )
}

/// The schema of a built-in kind's top-level and well-known fields (by group and plural), or
/// `None` for kinds this server does not check.
pub fn builtin_schema(group: &str, plural: &str) -> Option<Value> {
    Some(match (group, plural) {
        ("", "configmaps") => fields(&["data", "binaryData", "immutable"]),
        ("", "secrets") => fields(&["data", "stringData", "type", "immutable"]),
        ("", "namespaces") | ("", "nodes") => fields(&["spec", "status"]),
        ("", "serviceaccounts") => fields(&[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ]),
        ("", "pods") => with(&["status"], &[("spec", pod_spec())]),
        ("", "services") => with(
            &["status"],
            &[(
                "spec",
                with(
                    &[
                        "selector",
                        "clusterIP",
                        "clusterIPs",
                        "type",
                        "externalIPs",
                        "sessionAffinity",
                        "loadBalancerIP",
                        "loadBalancerSourceRanges",
                        "externalName",
                        "externalTrafficPolicy",
                        "healthCheckNodePort",
                        "publishNotReadyAddresses",
                        "sessionAffinityConfig",
                        "ipFamilies",
                        "ipFamilyPolicy",
                        "allocateLoadBalancerNodePorts",
                        "loadBalancerClass",
                        "internalTrafficPolicy",
                        "trafficDistribution",
                    ],
                    &[(
                        "ports",
                        keyed_list(
                            fields(&[
                                "name",
                                "protocol",
                                "appProtocol",
                                "port",
                                "targetPort",
                                "nodePort",
                            ]),
                            &["port", "protocol"],
                        ),
                    )],
                ),
            )],
        ),
        ("apps", "daemonsets") => workload(&[
            "selector",
            "updateStrategy",
            "minReadySeconds",
            "revisionHistoryLimit",
        ]),
        ("apps", "deployments") => workload(&[
            "replicas",
            "selector",
            "strategy",
            "minReadySeconds",
            "revisionHistoryLimit",
            "paused",
            "progressDeadlineSeconds",
        ]),
        ("apps", "replicasets") => workload(&["replicas", "minReadySeconds", "selector"]),
        ("rbac.authorization.k8s.io", "roles") => fields(&["rules"]),
        ("rbac.authorization.k8s.io", "clusterroles") => fields(&["rules", "aggregationRule"]),
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            fields(&["subjects", "roleRef"])
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            with(&["status"], &[("spec", crd_spec())])
        }
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations") => {
            fields(&["webhooks"])
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_of_builtin_kinds_are_found_and_dropped() {
        let schema = builtin_schema("apps", "daemonsets").unwrap();
        let mut ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "x", "labelz": {}},
            "spec": {"selector": {}, "foo": 1, "template": {"metadata": {"labels": {}},
                "spec": {"hostNetwork": true, "containers": [{"name": "c", "imagePullPolice": "Always",
                    "securityContext": {"anything": true}}]}}},
            "extra": true});
        let found = prune_unknown(&schema, &mut ds);
        assert_eq!(
            found,
            [
                "extra",
                "metadata.labelz",
                "spec.foo",
                "spec.template.spec.containers[0].imagePullPolice"
            ]
        );
        assert!(ds.get("extra").is_none());
        assert!(ds["spec"].get("foo").is_none());
        assert_eq!(
            ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]["anything"],
            true
        );
    }

    #[test]
    fn crd_schemas_prune_like_structural_schemas() {
        let crd = json!({"spec": {"versions": [{"name": "v1beta1", "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "addresses": {"type": "array", "items": {"type": "string"}},
                    "serviceAllocation": {"type": "object", "properties": {"priority": {"type": "integer"}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                "status": {"type": "object"}}}}}]}});
        let schema = crd_schema(&crd, "v1beta1").unwrap();
        let mut pool = json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "p"},
            "spec": {"addresses": ["10.0.0.1/32"], "autoAsign": false,
                     "serviceAllocation": {"priority": 1, "prio": 2},
                     "labels": {"a": "b"}, "free": {"x": {"y": 1}}},
            "status": {"n": 1}});
        let found = prune_unknown(&schema, &mut pool);
        assert_eq!(
            found,
            ["spec.autoAsign", "spec.serviceAllocation.prio", "status.n"]
        );
        assert_eq!(pool["spec"]["free"]["x"]["y"], 1);
        assert_eq!(pool["spec"]["labels"]["a"], "b");
        assert!(crd_schema(&crd, "v1").is_none());
        let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
        let mut anything = json!({"spec": {"a": 1}, "more": 2});
        assert!(prune_unknown(&open, &mut anything).is_empty());
    }

    #[test]
    fn duplicates_and_messages() {
        let body = br#"{"metadata": {"name": "a", "name": "b"}, "data": [{"k": 1, "k": 2}], "x": 1, "x": 2}"#;
        let scan = BodyScan::of(body);
        let dups: Vec<&str> = scan.duplicates.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(dups, ["metadata.name", "data[0].k", "x"]);
        assert!(
            BodyScan::of(b"key: value").duplicates.is_empty(),
            "YAML is not checked here"
        );
        let findings = Findings(vec![
            Finding::Unknown("spec.foo".into()),
            Finding::Duplicate("x".into()),
        ]);
        let status = findings.strict_error("ConfigMap", "v1");
        assert_eq!(status.code, 400);
        assert_eq!(
            status.message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"spec.foo\", duplicate field \"x\""
        );
        assert_eq!(
            findings.warnings(),
            [
                "299 - \"unknown field \\\"spec.foo\\\"\"",
                "299 - \"duplicate field \\\"x\\\"\""
            ]
        );
        assert_eq!(Directive::from_query(None).unwrap(), Directive::Warn);
        assert!(Directive::from_query(Some("strict")).is_err());
    }

    /// Recorded from a real kube-apiserver v1.36.2: a built-in kind's findings follow the body
    /// (`foo`, `metadata.name` twice, `bar`, `data` twice); a custom resource's list the
    /// duplicates, then metadata, then what pruning drops in key order.
    #[test]
    fn findings_come_in_the_servers_order() {
        let body = br#"{"apiVersion":"v1","kind":"ConfigMap","foo":1,"metadata":{"namespace":"default","name":"c1","name":"c2"},"data":{"b":"1"},"bar":2, "data":{"a":"1"}}"#;
        let scan = BodyScan::of(body);
        let built_in = Findings::ordered(vec!["bar".into(), "foo".into()], &scan, false);
        assert_eq!(
            built_in.strict_error("ConfigMap", "v1").message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"foo\", duplicate field \"metadata.name\", unknown field \"bar\", duplicate field \"data\""
        );
        let body = br#"{"apiVersion":"example.com/v1","kind":"Widget","zeta":1,"metadata":{"labelz":{},"name":"w1","name":"w1"},"spec":{"a":"x","a":"y"},"alpha":2}"#;
        let scan = BodyScan::of(body);
        let custom = Findings::ordered(
            vec!["alpha".into(), "metadata.labelz".into(), "zeta".into()],
            &scan,
            true,
        );
        assert_eq!(
            custom.strict_error("Widget", "v1").message,
            "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: duplicate field \"metadata.name\", duplicate field \"spec.a\", unknown field \"metadata.labelz\", unknown field \"alpha\", unknown field \"zeta\""
        );
    }

    /// Recorded from a real kube-apiserver v1.36.2: a CRD's schemas are JSONSchemaProps at every
    /// depth.
    #[test]
    fn crd_schemas_only_take_json_schema_props_keywords() {
        let schema = builtin_schema("apiextensions.k8s.io", "customresourcedefinitions").unwrap();
        let mut crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "zfoo": 1,
                "names": {"kind": "Widget", "plural": "widgets", "bar": 1},
                "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}, "foo": 1},
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {
                            "a": {"type": "string", "examples": ["x"], "const": "y",
                                "x-kubernetes-validations": [{"rule": "self != ''", "severity": "high"}]},
                            "b": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string", "x": 1}}}}}}}}}]}});
        let typed = apply_unknown(&schema, &crd);
        assert_eq!(
            typed,
            [
                ".spec.names.bar",
                ".spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.const",
                ".spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.b.items.additionalProperties.x",
                ".spec.versions[0].subresources.foo",
                ".spec.zfoo",
            ]
        );
        let unknown = prune_unknown(&schema, &mut crd);
        assert_eq!(
            unknown,
            [
                "spec.names.bar",
                "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.const",
                "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.examples",
                "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.x-kubernetes-validations[0].severity",
                "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.b.items.additionalProperties.x",
                "spec.versions[0].subresources.foo",
                "spec.zfoo",
            ]
        );
        assert_eq!(
            crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
                ["a"],
            json!({"type": "string", "x-kubernetes-validations": [{"rule": "self != ''"}]})
        );
    }

    /// Recorded from a real kube-apiserver v1.36.2 (server-side apply).
    #[test]
    fn apply_bodies_are_checked_as_typed_objects() {
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  b: \"2\"\n  b: \"3\"\n";
        let repeated = yaml_duplicates(yaml);
        assert_eq!(repeated, [(7, "\"b\"".to_string())]);
        assert_eq!(
            yaml_strict_error(&repeated).message,
            "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key \"b\" already set in map"
        );
        let json = b"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c1\",\"name\":\"c1\"},\n\"data\":{\"b\":\"2\",\"b\":\"3\"}}";
        let repeated = yaml_duplicates(json);
        assert_eq!(
            yaml_warnings(&repeated),
            [
                "299 - \"line 1: key \\\"name\\\" already set in map\"",
                "299 - \"line 2: key \\\"b\\\" already set in map\""
            ]
        );

        let schema = builtin_schema("apps", "deployments").unwrap();
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d1"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx", "imagePullPolice": "Always"}], "foo": 1}}}});
        let unknown = apply_unknown(&schema, &deployment);
        assert_eq!(
            typed_patch_error(&deployment, "apps/v1", "Deployment", &unknown).message,
            "failed to create typed patch object (/d1; apps/v1, Kind=Deployment): errors:\n  .spec.template.spec.containers[name=\"c\"].imagePullPolice: field not declared in schema\n  .spec.template.spec.foo: field not declared in schema"
        );
        let schema = builtin_schema("", "configmaps").unwrap();
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1", "namespace": "default"}, "data": {"b": "2"}, "spek": {}});
        let status = typed_patch_error(&cm, "v1", "ConfigMap", &apply_unknown(&schema, &cm));
        assert_eq!(status.code, 500);
        assert_eq!(status.reason, None);
        assert_eq!(
            status.message,
            "failed to create typed patch object (default/c1; /v1, Kind=ConfigMap): .spek: field not declared in schema"
        );
        // One undeclared field per object: the first in key order.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "zzz": 1, "metadata": {"name": "c1", "labelz": {}}, "aaa": {"x": 1}});
        assert_eq!(apply_unknown(&schema, &cm), [".aaa"]);
    }
}
