//! Server-side apply: merge a manager's configuration into the live object, track which
//! manager owns which field, report conflicts (409 `FieldManagerConflict`) unless forced, and
//! remove fields a manager stopped applying when nobody else owns them.

use crate::fields::{self, Entry, FieldSet, Mode, Path};
use crate::status::Status;
use serde_json::{Value, json};

/// `.spec.containers[name="x"].image`, as conflict messages print paths.
fn format_path(path: &Path) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(key) = element.strip_prefix("k:") {
            let map: serde_json::Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
            let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(value) = element.strip_prefix("v:") {
            out.push_str(&format!("[={value}]"));
        }
    }
    out
}

fn owner_label(entry: &Entry) -> String {
    if entry.operation == "Apply" {
        format!("{:?}", entry.manager)
    } else {
        format!("{:?} using {}", entry.manager, entry.api_version)
    }
}

/// The 409 of an apply that would take fields from other managers.
fn conflict_status(conflicts: &[(String, String)]) -> Status {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for (owner, field) in conflicts {
        match blocks.iter_mut().find(|(o, _)| o == owner) {
            Some((_, fields)) => fields.push(field.clone()),
            None => blocks.push((owner.clone(), vec![field.clone()])),
        }
    }
    let text: Vec<String> = blocks
        .iter()
        .map(|(owner, fields)| {
            if fields.len() == 1 {
                format!("conflict with {owner}: {}", fields[0])
            } else {
                let lines: Vec<String> = fields.iter().map(|f| format!("- {f}")).collect();
                format!("conflicts with {owner}:\n{}", lines.join("\n"))
            }
        })
        .collect();
    let count = conflicts.len();
    let plural = if count == 1 { "" } else { "s" };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(owner, field)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {owner}"), "field": field})
        })
        .collect();
    Status::new(
        409,
        Some("Conflict"),
        format!(
            "Apply failed with {count} conflict{plural}: {}",
            text.join("\n")
        ),
    )
    .with_details(json!({"causes": causes}))
}

fn is_keyed_list(field: &str, items: &[Value]) -> bool {
    items.iter().all(Value::is_object) && fields::list_keys(field, items).is_some()
}

/// Merges an apply configuration into the live value.
fn merge(live: &mut Value, config: &Value, field: &str) {
    match (live, config) {
        (Value::Object(live_map), Value::Object(config_map)) => {
            for (key, value) in config_map {
                match live_map.get_mut(key) {
                    Some(existing) if value.is_object() || value.is_array() => {
                        merge(existing, value, key)
                    }
                    _ => {
                        live_map.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(live_items), Value::Array(config_items))
            if is_keyed_list(field, config_items) && live_items.iter().all(Value::is_object) =>
        {
            let keys = fields::list_keys(field, config_items).unwrap_or_default();
            for item in config_items {
                let id = fields::key_element(&keys, item);
                match live_items
                    .iter_mut()
                    .find(|existing| fields::key_element(&keys, existing) == id)
                {
                    Some(existing) => merge(existing, item, ""),
                    None => live_items.push(item.clone()),
                }
            }
        }
        (Value::Array(live_items), Value::Array(config_items)) if field == "finalizers" => {
            for item in config_items {
                if !live_items.contains(item) {
                    live_items.push(item.clone());
                }
            }
        }
        (live, config) => *live = config.clone(),
    }
}

/// Removes the node a path points at.
fn remove_path(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = obj;
    for element in parents {
        let next = if let Some(name) = element.strip_prefix("f:") {
            current.get_mut(name)
        } else if let Some(key) = element.strip_prefix("k:") {
            let key: serde_json::Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
            current.as_array_mut().and_then(|items| {
                items
                    .iter_mut()
                    .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))
            })
        } else {
            None
        };
        match next {
            Some(n) => current = n,
            None => return,
        }
    }
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(map) = current.as_object_mut() {
            map.remove(name);
        }
    } else if let Some(key) = last.strip_prefix("k:") {
        let key: serde_json::Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
        if let Some(items) = current.as_array_mut() {
            items.retain(|item| !key.iter().all(|(k, v)| item.get(k) == Some(v)));
        }
    } else if let Some(value) = last.strip_prefix("v:") {
        let value: Value = serde_json::from_str(value).unwrap_or_default();
        if let Some(items) = current.as_array_mut() {
            items.retain(|item| *item != value);
        }
    }
}

/// Applies `config` as `manager` to `live` (`{}` when the object does not exist yet) and
/// returns the object with its new `managedFields`.
pub fn apply(
    live: &Value,
    config: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    now: &str,
    subresource: Option<&str>,
) -> Result<Value, Status> {
    let status_only = subresource == Some("status");
    let applied = FieldSet::of_object(config, Mode::Apply, status_only);
    let subresource_owned = subresource.map(str::to_string);
    let mut entries = fields::entries_of(live);
    let is_mine = |e: &Entry| {
        e.manager == manager && e.operation == "Apply" && e.subresource == subresource_owned
    };
    let previous = entries
        .iter()
        .find(|e| is_mine(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();

    // Conflicts: leaves this apply sets to a different value than another manager owns.
    let mut conflicts = Vec::new();
    let mut taken = FieldSet::default();
    for entry in entries.iter().filter(|e| !is_mine(e)) {
        for path in applied.leaves().intersection(&entry.fields).0 {
            if fields::value_at(live, &path) != fields::value_at(config, &path) {
                conflicts.push((owner_label(entry), format_path(&path)));
                taken.0.insert(path);
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_status(&conflicts));
    }
    for entry in entries.iter_mut().filter(|e| !is_mine(e)) {
        entry.fields = entry.fields.difference(&taken);
    }

    let mut result = live.clone();
    if !result.is_object() {
        result = json!({});
    }
    merge(&mut result, config, "");

    // Fields this manager applied before and dropped now go, unless someone else owns them
    // (or something below them).
    let others: Vec<&FieldSet> = entries
        .iter()
        .filter(|e| !is_mine(e))
        .map(|e| &e.fields)
        .collect();
    let mut dropped: Vec<Path> = previous.difference(&applied).0.into_iter().collect();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for path in dropped {
        let owned_elsewhere = others
            .iter()
            .any(|set| set.0.iter().any(|p| p.starts_with(&path)));
        let still_applied = applied.0.iter().any(|p| p.starts_with(&path));
        if !owned_elsewhere && !still_applied {
            remove_path(&mut result, &path);
        }
    }

    match entries.iter_mut().find(|e| is_mine(e)) {
        Some(entry) => {
            entry.fields = applied;
            entry.time = now.to_string();
            entry.api_version = api_version.to_string();
        }
        None => entries.push(Entry {
            manager: manager.to_string(),
            operation: "Apply".into(),
            api_version: api_version.to_string(),
            time: now.to_string(),
            subresource: subresource_owned,
            fields: applied,
        }),
    }
    if result.get("metadata").is_none() {
        result["metadata"] = json!({});
    }
    fields::set_entries(&mut result, &entries);
    Ok(result)
}
