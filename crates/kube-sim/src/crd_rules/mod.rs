//! What kube-apiserver refuses in a CustomResourceDefinition, with its paths and words (v1.36:
//! `apiextensions-apiserver`'s `apis/apiextensions/validation` and the structural-schema rules
//! of `apiserver/schema`). Applied to every create, update, patch and server-side apply of a
//! CRD (dry-run too) and to the CRDs a scenario starts with.
//!
//! Paths: the server validates its internal form of a CRD, in which a schema, subresources or
//! printer columns that every version shares move to the top (`spec.validation`,
//! `spec.subresources`, `spec.additionalPrinterColumns`), so a single-version CRD's schema
//! findings read `spec.validation.openAPIV3Schema...`, and only versions with schemas of their
//! own read `spec.versions[i].schema.openAPIV3Schema...`.
//!
//! Checked:
//! - metadata: a name, a DNS subdomain, equal to `<plural>.<group>` (create only);
//! - spec: group, scope, a schema for every version, version names (unique, DNS-1035, exactly
//!   one storage version), names (required, DNS-1035, kind != listKind; `singular` and
//!   `listKind` defaulted as the v1 API does), printer columns, scale subresource paths,
//!   `status.storedVersions`; on update `scope` and `names.kind` (once Established), `group`
//!   and `names.plural` are immutable;
//! - every schema: structural-schema invariants (a `type` everywhere except under
//!   `x-kubernetes-int-or-string` / `x-kubernetes-preserve-unknown-fields`, `items` for arrays,
//!   an object at the root, the root `metadata` saying nothing but `type: object` and
//!   restrictions of `name`/`generateName`, string `kind`/`apiVersion`, embedded resources,
//!   no `additionalProperties` at the root, nothing but value validations under
//!   `allOf`/`anyOf`/`oneOf`/`not` and only properties the schema specifies at the root);
//!   defaults (pruned, of the declared type, within enum, bounds, `maxLength`, `minItems`,
//!   `required`); OpenAPI rules (known types, no `$ref`/`id`/`definitions`/..., `properties` and
//!   `additionalProperties` exclusive, no `uniqueItems`, no defaults in the root's
//!   metadata/kind/apiVersion, `x-kubernetes-*` placement: preserve-unknown-fields only true,
//!   map-type on objects, list-type on arrays, list-map-keys with list-type map naming
//!   required-or-defaulted scalar item properties, set items atomic, x-kubernetes-validations'
//!   rule/message/reason/fieldPath shapes); the root's fields when the status subresource is
//!   on; no `nullable` at the root.
//!
//! Not checked: CEL (compiling `x-kubernetes-validations`, their cost), `pattern` regular
//! expressions, defaults inside `metadata`, conversion webhook settings, the API-approval
//! annotation of `*.k8s.io` groups, `selectableFields`, deprecation warning lengths, and the
//! ratcheting of an update (an update is held to what a create is). Where the server walks a
//! Go map (properties, hence the order of findings from different properties) its order is
//! random; here properties go in key order, which is one of the orders the server may answer.

mod defaults;
mod go_struct;
mod openapi;
mod schema;
#[cfg(test)]
mod tests;

use crate::field_error::{self, FieldError};
use crate::meta;
use crate::status::Status;
use go_struct::versions_dump;
use schema::schema_errors;
use serde_json::{Map, Value, json};

const GROUP: &str = "apiextensions.k8s.io";
const KIND: &str = "CustomResourceDefinition";

const TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];
const PRESERVE: &str = "x-kubernetes-preserve-unknown-fields";
const EMBEDDED: &str = "x-kubernetes-embedded-resource";
const INT_OR_STRING: &str = "x-kubernetes-int-or-string";
const LIST_TYPE: &str = "x-kubernetes-list-type";
const LIST_MAP_KEYS: &str = "x-kubernetes-list-map-keys";
const MAP_TYPE: &str = "x-kubernetes-map-type";
const VALIDATIONS: &str = "x-kubernetes-validations";

/// `Ok` when the server would store `crd` (created when `old` is `None`, else replacing `old`);
/// otherwise its 422.
pub fn check(crd: &Value, old: Option<&Value>) -> Result<(), Status> {
    let errors = validate(crd, old);
    if errors.is_empty() {
        return Ok(());
    }
    Err(field_error::invalid(
        GROUP,
        KIND,
        str_at(crd, "/metadata/name"),
        &errors,
    ))
}

/// Every finding, in the server's order.
pub fn validate(crd: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = Spec::of(&crd["spec"]);
    if old.is_none() {
        name_errors(crd, &spec, &mut errs);
    }
    spec_errors(&spec, &mut errs);
    if let Some(old) = old {
        immutable_errors(&spec, &Spec::of(&old["spec"]), established(old), &mut errs);
    }
    stored_versions_errors(crd, &spec, old, &mut errs);
    errs
}

/// The storage versions a CRD records after this write: the old record (none for a create)
/// plus the current storage version.
pub fn stored_versions(crd: &Value, old: Option<&Value>) -> Vec<String> {
    let mut stored: Vec<String> = old
        .and_then(|o| o.pointer("/status/storedVersions"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let storage = Spec::of(&crd["spec"])
        .versions
        .iter()
        .find(|v| v["storage"] == true)
        .map(|v| str_at(v, "/name").to_string());
    if let Some(name) = storage
        && !stored.contains(&name)
    {
        stored.push(name);
    }
    stored
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Present and not null.
fn has(s: &Value, key: &str) -> bool {
    s.get(key).is_some_and(|v| !v.is_null())
}

fn flag(s: &Value, key: &str) -> bool {
    s.get(key) == Some(&Value::Bool(true))
}

fn ty(s: &Value) -> &str {
    s.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// The `properties` of a schema node, `None` when there are none.
fn props(s: &Value) -> Option<&Map<String, Value>> {
    s.get("properties")
        .and_then(Value::as_object)
        .filter(|p| !p.is_empty())
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn key(path: &str, key: &str) -> String {
    format!("{path}[{key}]")
}

/// A per-version field as the server compares it: absent, null and empty lists are the same.
fn present<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    v.get(field)
        .filter(|f| !f.is_null() && f.as_array().is_none_or(|a| !a.is_empty()))
}

/// The spec as the server sees it: names defaulted, shared per-version fields hoisted.
struct Spec<'a> {
    group: &'a str,
    scope: &'a str,
    names: &'a Value,
    plural: &'a str,
    singular: String,
    kind: &'a str,
    list_kind: String,
    versions: Vec<&'a Value>,
    /// Whether every version shares the field (it is then the top-level one).
    hoisted_schema: bool,
    hoisted_subresources: bool,
    hoisted_columns: bool,
    hoisted_selectable: bool,
}

impl<'a> Spec<'a> {
    fn of(spec: &'a Value) -> Spec<'a> {
        let names = &spec["names"];
        let kind = str_at(names, "/kind");
        let singular = match str_at(names, "/singular") {
            "" => kind.to_lowercase(),
            given => given.to_string(),
        };
        let list_kind = match str_at(names, "/listKind") {
            "" if !kind.is_empty() => format!("{kind}List"),
            given => given.to_string(),
        };
        let versions: Vec<&Value> = spec
            .get("versions")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let shared = |field: &str| {
            versions.first().is_some_and(|first| {
                versions
                    .iter()
                    .all(|v| present(v, field) == present(first, field))
            })
        };
        Spec {
            group: str_at(spec, "/group"),
            scope: str_at(spec, "/scope"),
            names,
            plural: str_at(names, "/plural"),
            singular,
            kind,
            list_kind,
            hoisted_schema: shared("schema"),
            hoisted_subresources: shared("subresources"),
            hoisted_columns: shared("additionalPrinterColumns"),
            hoisted_selectable: shared("selectableFields"),
            versions,
        }
    }

    fn top(&self, field: &str, hoisted: bool) -> Option<&'a Value> {
        if hoisted {
            self.versions.first().and_then(|v| present(v, field))
        } else {
            None
        }
    }

    fn own(&self, version: &'a Value, field: &str, hoisted: bool) -> Option<&'a Value> {
        if hoisted {
            None
        } else {
            present(version, field)
        }
    }

    /// The subresources that apply to a version (`getSubresourcesForVersion`).
    fn subresources_of(&self, version: &'a Value) -> Option<&'a Value> {
        if self.hoisted_subresources {
            self.top("subresources", true)
        } else {
            present(version, "subresources")
        }
    }

    fn status_enabled(subresources: Option<&Value>) -> bool {
        subresources.is_some_and(|s| has(s, "status"))
    }
}

fn established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
}

fn name_errors(crd: &Value, spec: &Spec, errs: &mut Vec<FieldError>) {
    let name = str_at(crd, "/metadata/name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
        return;
    }
    if !meta::is_subdomain(name) {
        errs.push(FieldError::invalid(
            "metadata.name",
            json!(name),
            meta::SUBDOMAIN_MSG,
        ));
    }
    if name != format!("{}.{}", spec.plural, spec.group) {
        errs.push(FieldError::invalid(
            "metadata.name",
            json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
}

fn dns1035(field: &str, value: &str, prefix: &str, errs: &mut Vec<FieldError>) {
    let problems = meta::dns1035_label_errors(value);
    if !problems.is_empty() {
        errs.push(FieldError::invalid(
            field,
            json!(value),
            format!("{prefix}{}", problems.join(",")),
        ));
    }
}

fn spec_errors(spec: &Spec, errs: &mut Vec<FieldError>) {
    if spec.group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else if !meta::is_subdomain(spec.group) {
        errs.push(FieldError::invalid(
            "spec.group",
            json!(spec.group),
            meta::SUBDOMAIN_MSG,
        ));
    } else if !spec.group.contains('.') {
        errs.push(FieldError::invalid(
            "spec.group",
            json!(spec.group),
            "should be a domain with at least one dot",
        ));
    }
    match spec.scope {
        "" => errs.push(FieldError::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            json!(other),
            &["Cluster", "Namespaced"],
        )),
    }
    let top_schema = spec
        .top("schema", spec.hoisted_schema)
        .and_then(|s| s.get("openAPIV3Schema"))
        .filter(|s| !s.is_null());
    if top_schema.is_none() {
        for (i, version) in spec.versions.iter().enumerate() {
            let own = spec
                .own(version, "schema", spec.hoisted_schema)
                .and_then(|s| s.get("openAPIV3Schema"))
                .filter(|s| !s.is_null());
            if own.is_none() {
                errs.push(FieldError::required(
                    format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    "",
                ));
            }
        }
    }

    let mut storage = 0;
    let mut seen = Vec::new();
    let mut unique = true;
    for (i, version) in spec.versions.iter().enumerate() {
        let name = str_at(version, "/name");
        if version["storage"] == true {
            storage += 1;
        }
        if seen.contains(&name) {
            unique = false;
        } else {
            seen.push(name);
        }
        dns1035(&format!("spec.versions[{i}].name"), name, "", errs);
        version_errors(spec, i, version, errs);
    }
    if !unique {
        errs.push(FieldError::invalid_shown(
            "spec.versions",
            versions_dump(spec),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(FieldError::invalid_shown(
            "spec.versions",
            versions_dump(spec),
            "must have exactly one version marked as storage version",
        ));
    }
    if let Some(first) = spec.versions.first() {
        let name = str_at(first, "/name");
        if !name.is_empty() {
            dns1035("spec.version", name, "", errs);
        }
    }

    for (field, value) in [
        ("plural", spec.plural),
        ("singular", spec.singular.as_str()),
        ("kind", spec.kind),
        ("listKind", spec.list_kind.as_str()),
    ] {
        if value.is_empty() {
            errs.push(FieldError::required(format!("spec.names.{field}"), ""));
        }
    }
    names_errors(spec, errs);

    if let Some(schema) = top_schema {
        let status = spec.versions.iter().any(|v| {
            Spec::status_enabled(spec.top("subresources", spec.hoisted_subresources))
                || Spec::status_enabled(spec.own(v, "subresources", spec.hoisted_subresources))
        });
        schema_errors(schema, "spec.validation.openAPIV3Schema", status, errs);
    }
    if let Some(subresources) = spec.top("subresources", spec.hoisted_subresources) {
        subresource_errors(subresources, "spec.subresources", errs);
    }
    if let Some(columns) = spec
        .top("additionalPrinterColumns", spec.hoisted_columns)
        .and_then(Value::as_array)
    {
        for (j, column) in columns.iter().enumerate() {
            column_errors(column, &format!("spec.additionalPrinterColumns[{j}]"), errs);
        }
    }
}

fn version_errors(spec: &Spec, i: usize, version: &Value, errs: &mut Vec<FieldError>) {
    let path = format!("spec.versions[{i}]");
    if version["deprecated"] != true && has(version, "deprecationWarning") {
        errs.push(FieldError::invalid(
            format!("{path}.deprecationWarning"),
            version["deprecationWarning"].clone(),
            "can only be set for deprecated versions",
        ));
    }
    if let Some(schema) = spec
        .own(version, "schema", spec.hoisted_schema)
        .and_then(|s| s.get("openAPIV3Schema"))
        .filter(|s| !s.is_null())
    {
        let status = Spec::status_enabled(spec.subresources_of(version));
        schema_errors(
            schema,
            &format!("{path}.schema.openAPIV3Schema"),
            status,
            errs,
        );
    }
    if let Some(subresources) = spec.own(version, "subresources", spec.hoisted_subresources) {
        subresource_errors(subresources, &format!("{path}.subresources"), errs);
    }
    if let Some(columns) = spec
        .own(version, "additionalPrinterColumns", spec.hoisted_columns)
        .and_then(Value::as_array)
    {
        for (j, column) in columns.iter().enumerate() {
            column_errors(
                column,
                &format!("{path}.additionalPrinterColumns[{j}]"),
                errs,
            );
        }
    }
}

fn names_errors(spec: &Spec, errs: &mut Vec<FieldError>) {
    let path = "spec.names";
    if !spec.plural.is_empty() {
        dns1035(&format!("{path}.plural"), spec.plural, "", errs);
    }
    if !spec.singular.is_empty() {
        dns1035(&format!("{path}.singular"), &spec.singular, "", errs);
    }
    let mixed = "may have mixed case, but should otherwise match: ";
    for (field, value) in [("kind", spec.kind), ("listKind", spec.list_kind.as_str())] {
        if !value.is_empty() && !meta::dns1035_label_errors(&value.to_lowercase()).is_empty() {
            let problems = meta::dns1035_label_errors(&value.to_lowercase()).join(",");
            errs.push(FieldError::invalid(
                format!("{path}.{field}"),
                json!(value),
                format!("{mixed}{problems}"),
            ));
        }
    }
    for (i, short) in strings(spec.names.get("shortNames")).iter().enumerate() {
        dns1035(&format!("{path}.shortNames[{i}]"), short, "", errs);
    }
    if !spec.kind.is_empty() && spec.kind == spec.list_kind {
        errs.push(FieldError::invalid(
            format!("{path}.listKind"),
            json!(spec.list_kind),
            "kind and listKind may not be the same",
        ));
    }
    for (i, category) in strings(spec.names.get("categories")).iter().enumerate() {
        dns1035(&format!("{path}.categories[{i}]"), category, "", errs);
    }
}

fn column_errors(column: &Value, path: &str, errs: &mut Vec<FieldError>) {
    const TYPES: &str = "boolean,date,integer,number,string";
    const FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";
    if str_at(column, "/name").is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    }
    match str_at(column, "/type") {
        "" => errs.push(FieldError::required(
            format!("{path}.type"),
            format!("must be one of {TYPES}"),
        )),
        t if !TYPES.split(',').any(|x| x == t) => errs.push(FieldError::invalid(
            format!("{path}.type"),
            json!(t),
            format!("must be one of {TYPES}"),
        )),
        _ => {}
    }
    let format = str_at(column, "/format");
    if !format.is_empty() && !FORMATS.split(',').any(|x| x == format) {
        errs.push(FieldError::invalid(
            format!("{path}.format"),
            json!(format),
            format!("must be one of {FORMATS}"),
        ));
    }
    match str_at(column, "/jsonPath") {
        "" => errs.push(FieldError::required(format!("{path}.JSONPath"), "")),
        p => {
            simple_json_path(p, &format!("{path}.JSONPath"), errs);
        }
    }
}

/// `validateSimpleJSONPath`; true when it found nothing.
fn simple_json_path(p: &str, field: &str, errs: &mut Vec<FieldError>) -> bool {
    let problem = if p.is_empty() {
        Some("must not be empty")
    } else if !p.starts_with('.') {
        Some("must be a simple json path starting with .")
    } else {
        None
    };
    if let Some(problem) = problem {
        errs.push(FieldError::invalid(field, json!(p), problem));
    }
    problem.is_none()
}

fn subresource_errors(subresources: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(scale) = subresources.get("scale").filter(|s| !s.is_null()) else {
        return;
    };
    for (field, prefix) in [
        ("specReplicasPath", ".spec."),
        ("statusReplicasPath", ".status."),
    ] {
        let p = str_at(scale, &format!("/{field}"));
        let at = format!("{path}.scale.{field}");
        if p.is_empty() {
            errs.push(FieldError::required(at, ""));
        } else if simple_json_path(p, &at, errs) && !p.starts_with(prefix) {
            let under = prefix.trim_end_matches('.');
            errs.push(FieldError::invalid(
                at,
                json!(p),
                format!("should be a json path under {under}"),
            ));
        }
    }
    let selector = str_at(scale, "/labelSelectorPath");
    let at = format!("{path}.scale.labelSelectorPath");
    if !selector.is_empty()
        && simple_json_path(selector, &at, errs)
        && !selector.starts_with(".spec.")
        && !selector.starts_with(".status.")
    {
        errs.push(FieldError::invalid(
            at,
            json!(selector),
            "should be a json path under either .spec or .status",
        ));
    }
}

fn immutable_errors(new: &Spec, old: &Spec, established: bool, errs: &mut Vec<FieldError>) {
    if established {
        if new.scope != old.scope {
            errs.push(FieldError::immutable("spec.scope", json!(new.scope)));
        }
        if new.kind != old.kind {
            errs.push(FieldError::immutable("spec.names.kind", json!(new.kind)));
        }
    }
    if new.group != old.group {
        errs.push(FieldError::immutable("spec.group", json!(new.group)));
    }
    if new.plural != old.plural {
        errs.push(FieldError::immutable(
            "spec.names.plural",
            json!(new.plural),
        ));
    }
}

fn stored_versions_errors(
    crd: &Value,
    spec: &Spec,
    old: Option<&Value>,
    errs: &mut Vec<FieldError>,
) {
    let path = "status.storedVersions";
    let stored = stored_versions(crd, old);
    if stored.is_empty() {
        errs.push(FieldError::invalid(
            path,
            Value::Null,
            "must have at least one stored version",
        ));
        return;
    }
    let mut left: Vec<Option<&String>> = stored.iter().map(Some).collect();
    for version in &spec.versions {
        let name = str_at(version, "/name");
        let found = left.iter().position(|s| s.is_some_and(|s| s == name));
        if version["storage"] == true && found.is_none() {
            errs.push(FieldError::invalid(
                path,
                json!(stored),
                format!("must have the storage version {name}"),
            ));
        }
        if let Some(i) = found {
            left[i] = None;
        }
    }
    for (i, v) in left.iter().enumerate() {
        if let Some(v) = v {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                json!(v),
                format!(
                    "missing from spec.versions; {v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {v} and removes {v} from status.storedVersions"
                ),
            ));
        }
    }
}
