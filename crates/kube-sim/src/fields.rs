//! Field sets and `managedFields` (`fieldsV1` with `f:`/`k:`/`v:` keys), as structured-merge-diff
//! tracks field ownership, without OpenAPI schemas: list keys and atomic structs come from a
//! table of the Kubernetes types lbctl deals with.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// One path element: `f:name`, `k:{"name":"x"}`, `v:"value"`.
pub type Path = Vec<String>;

/// A set of field paths; a path of an object node means "this node itself" (`.` in fieldsV1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<Path>);

/// Whether the set is for an Apply (leaves and list items only) or an Update (maps and optional
/// structs are members too, written as `.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Update,
}

/// Structs that are never set members in Update sets (non-pointer fields in the Go types).
const NOT_MEMBERS: &[&str] = &[
    "spec",
    "template",
    "metadata",
    "status",
    "updateStrategy",
    "strategy",
];
/// Structs owned as a whole (`+structType=atomic`).
const ATOMIC_STRUCTS: &[&str] = &[
    "fieldRef",
    "resourceFieldRef",
    "secretKeyRef",
    "configMapKeyRef",
];

/// The key fields of an associative list, by the list's field name and its first item.
pub fn list_keys(field: &str, items: &[Value]) -> Option<Vec<&'static str>> {
    let first = items.first();
    let has = |k: &str| first.is_some_and(|i| i.get(k).is_some());
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        // admissionregistration's webhook lists are maps keyed by name.
        | "webhooks" => vec!["name"],
        "volumeMounts" | "volumeDevices" => vec!["mountPath"],
        "ports" if has("containerPort") => vec!["containerPort", "protocol"],
        "ports" if has("port") => vec!["port", "protocol"],
        "conditions" => vec!["type"],
        "ownerReferences" => vec!["uid"],
        "hostAliases" => vec!["ip"],
        "topologySpreadConstraints" => vec!["topologyKey", "whenUnsatisfiable"],
        _ => return None,
    })
}

/// Lists of scalars merged as sets (`v:` keys).
fn is_set_list(field: &str) -> bool {
    field == "finalizers"
}

/// The `k:{...}` element of a list item (key fields in name order, absent ones skipped). A
/// port's `protocol` has a schema default, which structured-merge-diff uses for an absent key,
/// so an applied port without it is the stored (defaulted) `TCP` port.
pub fn key_element(keys: &[&str], item: &Value) -> String {
    let mut sorted: Vec<&&str> = keys.iter().collect();
    sorted.sort();
    let mut map = Map::new();
    for k in sorted {
        match item.get(*k) {
            Some(v) => {
                map.insert((*k).to_string(), v.clone());
            }
            None if *k == "protocol" => {
                map.insert("protocol".into(), json!("TCP"));
            }
            None => {}
        }
    }
    format!("k:{}", Value::Object(map))
}

fn field_name(element: &str) -> &str {
    element.strip_prefix("f:").unwrap_or(element)
}

impl FieldSet {
    /// The fields an object sets, excluding identity metadata and (unless `status_only`) status.
    pub fn of_object(obj: &Value, mode: Mode, status_only: bool) -> FieldSet {
        let mut set = FieldSet::default();
        let Some(map) = obj.as_object() else {
            return set;
        };
        for (key, value) in map {
            match key.as_str() {
                "apiVersion" | "kind" => {}
                "status" if !status_only => {}
                "metadata" if !status_only => {
                    if let Some(meta) = value.as_object() {
                        for mk in ["labels", "annotations", "finalizers", "ownerReferences"] {
                            if let Some(v) = meta.get(mk) {
                                let path = vec!["f:metadata".to_string(), format!("f:{mk}")];
                                set.walk(path, v, mode);
                            }
                        }
                    }
                }
                _ if status_only && key != "status" => {}
                _ => set.walk(vec![format!("f:{key}")], value, mode),
            }
        }
        set
    }

    fn walk(&mut self, path: Path, value: &Value, mode: Mode) {
        let name = path
            .last()
            .map(|e| field_name(e).to_string())
            .unwrap_or_default();
        match value {
            Value::Object(map) if map.is_empty() => {
                self.0.insert(path);
            }
            Value::Object(map) => {
                let atomic = ATOMIC_STRUCTS.contains(&name.as_str())
                    || map.contains_key("matchLabels")
                    || map.contains_key("matchExpressions");
                if atomic {
                    self.0.insert(path);
                    return;
                }
                let item = path.last().is_some_and(|e| e.starts_with("k:"));
                if item || (mode == Mode::Update && !NOT_MEMBERS.contains(&name.as_str())) {
                    self.0.insert(path.clone());
                }
                for (k, v) in map {
                    let mut child = path.clone();
                    child.push(format!("f:{k}"));
                    self.walk(child, v, mode);
                }
            }
            Value::Array(items) => {
                if is_set_list(&name) && !items.is_empty() {
                    if mode == Mode::Update {
                        self.0.insert(path.clone());
                    }
                    for item in items {
                        let mut child = path.clone();
                        child.push(format!("v:{item}"));
                        self.0.insert(child);
                    }
                    return;
                }
                match list_keys(&name, items) {
                    Some(keys) if !items.is_empty() && items.iter().all(Value::is_object) => {
                        if mode == Mode::Update && name != "containers" {
                            self.0.insert(path.clone());
                        }
                        for item in items {
                            let mut child = path.clone();
                            child.push(key_element(&keys, item));
                            self.walk(child, item, mode);
                        }
                    }
                    _ => {
                        self.0.insert(path);
                    }
                }
            }
            _ => {
                self.0.insert(path);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Leaf paths only (members with no member below them).
    pub fn leaves(&self) -> FieldSet {
        let mut out = BTreeSet::new();
        let all: Vec<&Path> = self.0.iter().collect();
        for (i, path) in all.iter().enumerate() {
            let has_child = all
                .get(i + 1)
                .is_some_and(|next| next.len() > path.len() && next.starts_with(path));
            if !has_child {
                out.insert((*path).clone());
            }
        }
        FieldSet(out)
    }

    /// `fieldsV1` JSON.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for element in path {
                let entry = node.entry(element.clone()).or_insert_with(|| json!({}));
                node = entry.as_object_mut().expect("fieldsV1 nodes are objects");
            }
            node.insert(".".into(), json!({}));
        }
        // A member node without children is written `{}`, not `{".": {}}`.
        fn tidy(map: &mut Map<String, Value>) {
            for value in map.values_mut() {
                if let Some(child) = value.as_object_mut() {
                    if child.len() == 1 && child.contains_key(".") {
                        child.clear();
                    } else {
                        tidy(child);
                    }
                }
            }
        }
        tidy(&mut root);
        Value::Object(root)
    }

    /// Parses `fieldsV1` JSON.
    pub fn from_json(value: &Value) -> FieldSet {
        fn walk(path: &Path, value: &Value, out: &mut BTreeSet<Path>) {
            let Some(map) = value.as_object() else {
                return;
            };
            if map.is_empty() && !path.is_empty() {
                out.insert(path.clone());
            }
            for (k, v) in map {
                if k == "." {
                    out.insert(path.clone());
                } else {
                    let mut child = path.clone();
                    child.push(k.clone());
                    walk(&child, v, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&Vec::new(), value, &mut out);
        FieldSet(out)
    }
}

/// The value a path points at in an object.
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = obj;
    for element in path {
        current = if let Some(name) = element.strip_prefix("f:") {
            current.get(name)?
        } else if let Some(key) = element.strip_prefix("k:") {
            let key: Value = serde_json::from_str(key).ok()?;
            let key = key.as_object()?;
            current
                .as_array()?
                .iter()
                .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))?
        } else if let Some(v) = element.strip_prefix("v:") {
            let v: Value = serde_json::from_str(v).ok()?;
            current.as_array()?.iter().find(|item| **item == v)?
        } else {
            return None;
        };
    }
    Some(current)
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

impl Entry {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        m.insert("time".into(), json!(self.time));
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.fields.to_json());
        if let Some(sub) = &self.subresource {
            m.insert("subresource".into(), json!(sub));
        }
        Value::Object(m)
    }

    fn from_json(value: &Value) -> Option<Entry> {
        Some(Entry {
            manager: value.get("manager")?.as_str()?.to_string(),
            operation: value.get("operation")?.as_str()?.to_string(),
            api_version: value["apiVersion"].as_str().unwrap_or_default().to_string(),
            time: value["time"].as_str().unwrap_or_default().to_string(),
            subresource: value["subresource"].as_str().map(str::to_string),
            fields: FieldSet::from_json(value.get("fieldsV1").unwrap_or(&Value::Null)),
        })
    }
}

/// The `managedFields` entries of an object.
pub fn entries_of(obj: &Value) -> Vec<Entry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Entry::from_json).collect())
        .unwrap_or_default()
}

/// Writes entries back (dropping empty ones; no key at all when none remain).
pub fn set_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::to_json)
        .collect();
    put_entries(obj, list);
}

/// Stores `managedFields` entries already in JSON (no key at all when there are none).
fn put_entries(obj: &mut Value, list: Vec<Value>) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// The paths a write changed: new members, and members whose leaf value differs.
pub fn changed_paths(
    old: Option<&Value>,
    new: &Value,
    new_set: &FieldSet,
    old_set: &FieldSet,
) -> FieldSet {
    let mut out = BTreeSet::new();
    for path in &new_set.0 {
        if !old_set.0.contains(path) {
            out.insert(path.clone());
            continue;
        }
        let after = value_at(new, path);
        let before = old.and_then(|o| value_at(o, path));
        let is_container = after
            .is_some_and(|v| v.is_object() && !v.as_object().is_some_and(|m| m.is_empty()))
            || after.is_some_and(|v| {
                v.is_array()
                    && before.is_some_and(Value::is_array)
                    && list_keys(
                        path.last().map(|e| field_name(e)).unwrap_or_default(),
                        v.as_array().map(Vec::as_slice).unwrap_or_default(),
                    )
                    .is_some()
            });
        if !is_container && after != before {
            out.insert(path.clone());
        }
    }
    FieldSet(out)
}

/// Records an Update-style write by `manager`: it owns what it changed; other managers lose
/// what it changed or removed.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    time: &str,
    subresource: Option<&str>,
) {
    let status_only = subresource == Some("status");
    let new_set = FieldSet::of_object(new, Mode::Update, status_only);
    let old_set = old
        .map(|o| FieldSet::of_object(o, Mode::Update, status_only))
        .unwrap_or_default();
    let changed = changed_paths(old, new, &new_set, &old_set);
    let removed = old_set.difference(&new_set);
    // Entries as stored, each with whether this write touched it: untouched ones are written
    // back as they were (re-serializing every entry of every write is what a large cluster's
    // controllers would otherwise spend their time on).
    let stored: Vec<Value> = old
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut entries: Vec<(Entry, Option<Value>)> = stored
        .into_iter()
        .filter_map(|json| Entry::from_json(&json).map(|e| (e, Some(json))))
        .collect();
    let lost = changed.union(&removed);
    for (entry, json) in &mut entries {
        let kept = entry.fields.difference(&lost);
        if kept.0.len() != entry.fields.0.len() {
            entry.fields = kept;
            *json = None;
        }
    }
    let subresource = subresource.map(str::to_string);
    match entries.iter_mut().find(|(e, _)| {
        e.manager == manager && e.operation == "Update" && e.subresource == subresource
    }) {
        Some((entry, json)) => {
            entry.fields = entry.fields.union(&changed).difference(&removed);
            entry.time = time.to_string();
            entry.api_version = api_version.to_string();
            *json = None;
        }
        None => entries.push((
            Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: api_version.to_string(),
                time: time.to_string(),
                subresource,
                fields: changed,
            },
            None,
        )),
    }
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|(e, _)| !e.fields.is_empty())
        .map(|(e, json)| json.unwrap_or_else(|| e.to_json()))
        .collect();
    put_entries(new, list);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_v1_round_trips_and_marks_members() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"a": "1"}, "finalizers": ["f"]},
            "data": {"k": "v"},
            "spec": {"containers": [{"name": "c", "env": [{"name": "E", "value": "1"}]}]}});
        let update = FieldSet::of_object(&obj, Mode::Update, false);
        let text = update.to_json();
        assert_eq!(text["f:metadata"]["f:labels"], json!({".": {}, "f:a": {}}));
        assert_eq!(
            text["f:metadata"]["f:finalizers"],
            json!({".": {}, "v:\"f\"": {}})
        );
        assert_eq!(
            text["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"]["f:env"]["k:{\"name\":\"E\"}"],
            json!({".": {}, "f:name": {}, "f:value": {}})
        );
        assert_eq!(FieldSet::from_json(&text), update);
        let apply = FieldSet::of_object(&obj, Mode::Apply, false).to_json();
        assert_eq!(apply["f:data"], json!({"f:k": {}}));
    }

    #[test]
    fn updates_take_ownership_of_what_they_change() {
        let old = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "1"}});
        let mut first = old.clone();
        record_update(None, &mut first, "one", "v1", "t", None);
        let mut second = first.clone();
        second["data"]["b"] = json!("2");
        record_update(Some(&first), &mut second, "two", "v1", "t", None);
        let entries = entries_of(&second);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].fields.to_json()["f:data"],
            json!({".": {}, "f:a": {}})
        );
        assert_eq!(entries[1].fields.to_json()["f:data"], json!({"f:b": {}}));
    }

    /// Entries a write does not touch are kept exactly as stored (also members this code would
    /// write differently); touched ones are rewritten.
    #[test]
    fn untouched_entries_are_kept_as_stored() {
        let foreign = json!({"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
            "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}}, "x-extra": true});
        let old = json!({"metadata": {"name": "x", "managedFields": [foreign]},
            "data": {"a": "1"}, "status": {"s": 1}});
        let mut status_write = old.clone();
        status_write["status"]["s"] = json!(2);
        record_update(
            Some(&old),
            &mut status_write,
            "ctl",
            "v1",
            "t",
            Some("status"),
        );
        let fields = &status_write["metadata"]["managedFields"];
        assert_eq!(fields[0], old["metadata"]["managedFields"][0]);
        assert_eq!(fields[1]["manager"], "ctl");
        assert_eq!(fields[1]["subresource"], "status");

        let mut takeover = old.clone();
        takeover["data"]["a"] = json!("2");
        record_update(Some(&old), &mut takeover, "ctl", "v1", "t", None);
        let fields = takeover["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(fields.len(), 1, "kubectl lost its only field: {fields:?}");
        assert_eq!(fields[0]["manager"], "ctl");
    }
}
