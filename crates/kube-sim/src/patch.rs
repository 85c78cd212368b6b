//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch
//! (list merging by the keys of the Kubernetes types, `$patch`, `$retainKeys`,
//! `$deleteFromPrimitiveList`, `$setElementOrder` directives).

use crate::status::Status;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchKind {
    /// The patch type of a Content-Type; 415 like the real server for anything else (and for
    /// strategic merge patches of custom resources, which have no patch strategies).
    pub fn from_content_type(content_type: &str, custom: bool) -> Result<PatchKind, Status> {
        let kind = match content_type {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" if !custom => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" => Some(PatchKind::Apply),
            _ => None,
        };
        kind.ok_or_else(|| {
            let accepted = if custom {
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            } else {
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
            };
            Status::new(
                415,
                Some("UnsupportedMediaType"),
                format!("the body of the request was in an unknown format - accepted media types include: {accepted}"),
            )
        })
    }
}

/// Parses an apply body (YAML, of which JSON is a subset).
pub fn parse_apply_body(body: &[u8]) -> Result<Value, Status> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Status::bad_request("the apply body is not UTF-8"))?;
    // A repeated key keeps its last value (field validation reports it).
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    let value: Value = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| Status::bad_request(format!("error decoding YAML: {e}")))?;
    if !value.is_object() {
        return Err(Status::bad_request("the apply body must be an object"));
    }
    Ok(value)
}

/// Applies a non-apply patch to `original`.
pub fn apply_patch(kind: PatchKind, original: &Value, patch: &Value) -> Result<Value, Status> {
    match kind {
        PatchKind::Merge => {
            let mut out = original.clone();
            json_patch::merge(&mut out, patch);
            Ok(out)
        }
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
                Status::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            let mut out = original.clone();
            json_patch::patch(&mut out, &ops).map_err(|e| {
                Status::new(
                    422,
                    Some("Invalid"),
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
            Ok(out)
        }
        PatchKind::Strategic => {
            if !patch.is_object() {
                return Err(Status::bad_request(
                    "a strategic merge patch must be a JSON object",
                ));
            }
            Ok(strategic_merge(Some(original), patch, "").unwrap_or(Value::Object(Map::new())))
        }
        PatchKind::Apply => Err(Status::bad_request(
            "apply patches are handled by server-side apply",
        )),
    }
}

/// The strategic-merge key of a list field, or `None` when the list is replaced whole.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    let has = |k: &str| items.iter().any(|i| i.get(k).is_some());
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "webhooks" => "name",
        "volumeMounts" | "volumeDevices" => "mountPath",
        "ports" if has("containerPort") => "containerPort",
        "ports" => "port",
        "conditions" | "addresses" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Lists of scalars merged as sets.
fn merges_primitives(field: &str) -> bool {
    field == "finalizers"
}

/// Merges `patch` into `original`; `None` means "delete this value" (`$patch: delete`).
fn strategic_merge(original: Option<&Value>, patch: &Value, field: &str) -> Option<Value> {
    let Some(patch_map) = patch.as_object() else {
        return Some(patch.clone());
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("delete") => return None,
        Some("replace") => {
            let mut replaced = patch_map.clone();
            replaced.remove("$patch");
            return Some(Value::Object(replaced));
        }
        _ => {}
    }
    let _ = field;
    let mut out = match original {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let mut orders: Vec<(String, Vec<Value>)> = Vec::new();
    for (key, value) in patch_map {
        if key == "$patch" || key == "$retainKeys" {
            continue;
        }
        if let Some(list_field) = key.strip_prefix("$setElementOrder/") {
            orders.push((
                list_field.to_string(),
                value.as_array().cloned().unwrap_or_default(),
            ));
            continue;
        }
        if let Some(list_field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(remove)) =
                (out.get_mut(list_field), value.as_array())
            {
                items.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if value.is_null() {
            out.remove(key);
            continue;
        }
        let merged = match (out.get(key), value) {
            (Some(Value::Array(current)), Value::Array(patch_items)) => {
                Some(merge_list(current, patch_items, key))
            }
            (current, Value::Object(_)) => strategic_merge(current, value, key),
            (_, Value::Array(patch_items)) => Some(merge_list(&[], patch_items, key)),
            _ => Some(value.clone()),
        };
        match merged {
            Some(v) => {
                out.insert(key.clone(), v);
            }
            None => {
                out.remove(key);
            }
        }
    }
    if let Some(retain) = patch_map.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (list_field, order) in orders {
        if let Some(Value::Array(items)) = out.get_mut(&list_field) {
            reorder(items, &order, &list_field);
        }
    }
    Some(Value::Object(out))
}

/// Orders `items` like `order` (items not named there keep their place at the end).
fn reorder(items: &mut Vec<Value>, order: &[Value], field: &str) {
    let key = merge_key(field, items);
    let position = |item: &Value| {
        order.iter().position(|o| match key {
            Some(k) => o.get(k).is_some() && o.get(k) == item.get(k),
            None => o == item,
        })
    };
    let mut indexed: Vec<(usize, Value)> = items
        .drain(..)
        .enumerate()
        .map(|(i, item)| (position(&item).unwrap_or(order.len() + i), item))
        .collect();
    indexed.sort_by_key(|(p, _)| *p);
    items.extend(indexed.into_iter().map(|(_, item)| item));
}

fn merge_list(current: &[Value], patch: &[Value], field: &str) -> Value {
    // `[{"$patch": "replace"}, ...]` replaces the list with the remaining items.
    if patch
        .iter()
        .any(|item| item.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Value::Array(
            patch
                .iter()
                .filter(|item| item.get("$patch").is_none())
                .cloned()
                .collect(),
        );
    }
    if merges_primitives(field) && patch.iter().all(|v| !v.is_object()) {
        let mut out = current.to_vec();
        for item in patch {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        return Value::Array(out);
    }
    let all_objects = patch.iter().all(Value::is_object) && current.iter().all(Value::is_object);
    let Some(key) = merge_key(field, patch).filter(|_| all_objects) else {
        return Value::Array(patch.to_vec());
    };
    let mut out = current.to_vec();
    for item in patch {
        let id = item.get(key);
        let found = out
            .iter()
            .position(|existing| id.is_some() && existing.get(key) == id);
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (found, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => match strategic_merge(Some(&out[i]), item, "") {
                Some(merged) => out[i] = merged,
                None => {
                    out.remove(i);
                }
            },
            (None, false) => {
                if let Some(added) = strategic_merge(None, item, "") {
                    out.push(added);
                }
            }
        }
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smp(original: Value, patch: Value) -> Value {
        apply_patch(PatchKind::Strategic, &original, &patch).unwrap()
    }

    #[test]
    fn lists_merge_by_key_and_directives_apply() {
        let original = json!({"spec": {
            "containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}],
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "volumeMounts": [{"mountPath": "/a", "name": "v"}]}],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "tolerations": [{"key": "t1"}],
            "finalizers": ["a"]}});
        let out = smp(
            original.clone(),
            json!({"spec": {
            "containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}], "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "volumeMounts": [{"mountPath": "/b", "name": "w"}]},
                           {"name": "b", "image": "b:1"}],
            "volumes": [{"name": "w", "configMap": {"name": "cm"}}],
            "tolerations": [{"key": "t2"}],
            "finalizers": ["b"]}}),
        );
        let spec = &out["spec"];
        assert_eq!(spec["containers"].as_array().unwrap().len(), 2);
        assert_eq!(spec["containers"][0]["image"], "a:1");
        assert_eq!(
            spec["containers"][0]["env"],
            json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])
        );
        assert_eq!(
            spec["containers"][0]["ports"],
            json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
        );
        assert_eq!(
            spec["containers"][0]["volumeMounts"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(spec["volumes"].as_array().unwrap().len(), 2);
        assert_eq!(
            spec["tolerations"],
            json!([{"key": "t2"}]),
            "no merge key: replaced"
        );
        assert_eq!(spec["finalizers"], json!(["a", "b"]));

        let out = smp(
            original.clone(),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
        );
        assert_eq!(out["spec"]["containers"], json!([]));
        let out = smp(
            original.clone(),
            json!({"spec": {"volumes": [{"name": "z"}, {"$patch": "replace"}]}}),
        );
        assert_eq!(out["spec"]["volumes"], json!([{"name": "z"}]));
        let out = smp(
            original.clone(),
            json!({"spec": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(out["spec"]["finalizers"], json!([]));
        let out = smp(
            json!({"s": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}),
            json!({"s": {"$retainKeys": ["type"], "type": "Recreate"}}),
        );
        assert_eq!(out["s"], json!({"type": "Recreate"}));
        let out = smp(
            json!({"m": {"a": 1, "b": 2}}),
            json!({"m": {"$patch": "replace", "c": 3}}),
        );
        assert_eq!(out["m"], json!({"c": 3}));
        let out = smp(json!({"m": {"a": 1, "b": 2}}), json!({"m": {"a": null}}));
        assert_eq!(out["m"], json!({"b": 2}));
        let out = smp(
            json!({"env": [{"name": "A"}, {"name": "B"}]}),
            json!({"$setElementOrder/env": [{"name": "B"}, {"name": "A"}], "env": [{"name": "A", "value": "1"}]}),
        );
        assert_eq!(
            out["env"],
            json!([{"name": "B"}, {"name": "A", "value": "1"}])
        );
    }

    #[test]
    fn content_types_choose_the_patch() {
        assert_eq!(
            PatchKind::from_content_type("application/json-patch+json", false).unwrap(),
            PatchKind::Json
        );
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml", true).unwrap(),
            PatchKind::Apply
        );
        assert_eq!(
            PatchKind::from_content_type("application/strategic-merge-patch+json", true)
                .unwrap_err()
                .code,
            415
        );
        assert_eq!(
            PatchKind::from_content_type("text/plain", false)
                .unwrap_err()
                .code,
            415
        );
    }
}
