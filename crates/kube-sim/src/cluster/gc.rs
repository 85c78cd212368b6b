//! The garbage collector of kube-controller-manager, over every object of every kind:
//!
//! - An object whose owners (`metadata.ownerReferences`, by uid) are all gone is deleted
//!   (Background deletion of an owner: it goes at once, its dependents on the next pass). Owner
//!   references to owners that are gone are removed from an object that still has an owner.
//! - An owner deleted with `propagationPolicy: Foreground` (finalizer `foregroundDeletion`,
//!   [`crate::deletion`]) stays marked while its dependents are deleted (those with dependents
//!   of their own in the foreground too); once no dependent's reference to it has
//!   `blockOwnerDeletion: true`, the finalizer is removed and the owner goes. A dependent that
//!   has another owner only loses its reference to the owner being deleted.
//! - An owner deleted with `propagationPolicy: Orphan` (finalizer `orphan`): its dependents lose
//!   their references to it, then the finalizer is removed.
//!
//! Objects already being deleted are left to their own finalizers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use super::meta;
use super::world::Action;
use crate::deletion::{FOREGROUND, ORPHAN};

fn owner_refs(obj: &Value) -> &[Value] {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn ref_uid(reference: &Value) -> &str {
    reference
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn has_finalizer(obj: &Value, name: &str) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|f| f == name))
}

/// `obj` without the owner references whose uid is in `drop`.
fn without_refs(obj: &Value, drop: &HashSet<&str>) -> Value {
    let mut new = obj.clone();
    let kept: Vec<Value> = owner_refs(obj)
        .iter()
        .filter(|r| !drop.contains(ref_uid(r)))
        .cloned()
        .collect();
    let meta = meta::object_at(&mut new, &["metadata"]);
    if kept.is_empty() {
        meta.remove("ownerReferences");
    } else {
        meta.insert("ownerReferences".into(), json!(kept));
    }
    new
}

/// `obj` without the finalizer `name`.
fn without_finalizer(obj: &Value, name: &str) -> Value {
    let mut new = obj.clone();
    let kept: Vec<Value> = new
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter(|f| *f != name).cloned().collect())
        .unwrap_or_default();
    let meta = meta::object_at(&mut new, &["metadata"]);
    if kept.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), json!(kept));
    }
    new
}

/// One pass of the collector over every object.
pub fn sync(objects: &[Arc<Value>]) -> Vec<Action> {
    let by_uid: HashMap<&str, &Value> = objects
        .iter()
        .map(|o| (meta::uid(o), &**o))
        .filter(|(uid, _)| !uid.is_empty())
        .collect();
    let mut dependents: HashMap<&str, Vec<&Value>> = HashMap::new();
    for obj in objects {
        for reference in owner_refs(obj) {
            dependents.entry(ref_uid(reference)).or_default().push(obj);
        }
    }
    let mut actions = Vec::new();
    for obj in objects.iter().map(|o| &**o) {
        if meta::is_terminating(obj) {
            if has_finalizer(obj, FOREGROUND) {
                foreground_owner(obj, &dependents, &mut actions);
            } else if has_finalizer(obj, ORPHAN) {
                orphaning_owner(obj, &dependents, &mut actions);
            }
            continue;
        }
        let refs = owner_refs(obj);
        if refs.is_empty() {
            continue;
        }
        let mut solid = 0;
        let mut drop: HashSet<&str> = HashSet::new();
        let mut waiting = false;
        for reference in refs {
            match by_uid.get(ref_uid(reference)) {
                None => {
                    drop.insert(ref_uid(reference));
                }
                Some(owner) if meta::is_terminating(owner) && has_finalizer(owner, FOREGROUND) => {
                    waiting = true;
                    drop.insert(ref_uid(reference));
                }
                Some(_) => solid += 1,
            }
        }
        if drop.is_empty() {
            continue;
        }
        if solid > 0 {
            actions.push(Action::Update(without_refs(obj, &drop)));
            continue;
        }
        let mut delete = Action::delete_of(obj);
        if let Action::Delete { foreground, .. } = &mut delete {
            *foreground = waiting && dependents.contains_key(meta::uid(obj));
        }
        actions.push(delete);
    }
    actions
}

/// An owner deleted in the foreground: its dependents are deleted by the loop over them; the
/// finalizer goes once none blocks it.
fn foreground_owner(
    owner: &Value,
    dependents: &HashMap<&str, Vec<&Value>>,
    actions: &mut Vec<Action>,
) {
    let uid = meta::uid(owner);
    let blocked = dependents.get(uid).into_iter().flatten().any(|d| {
        owner_refs(d)
            .iter()
            .any(|r| ref_uid(r) == uid && r.get("blockOwnerDeletion") == Some(&json!(true)))
    });
    if !blocked {
        actions.push(Action::Update(without_finalizer(owner, FOREGROUND)));
    }
}

/// An owner deleted with its dependents orphaned: their references to it go, then its
/// finalizer.
fn orphaning_owner(
    owner: &Value,
    dependents: &HashMap<&str, Vec<&Value>>,
    actions: &mut Vec<Action>,
) {
    let uid = meta::uid(owner);
    let mine: Vec<&&Value> = dependents.get(uid).into_iter().flatten().collect();
    if mine.is_empty() {
        actions.push(Action::Update(without_finalizer(owner, ORPHAN)));
        return;
    }
    let drop: HashSet<&str> = [uid].into();
    for dependent in mine {
        actions.push(Action::Update(without_refs(dependent, &drop)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(name: &str, uid: &str, owners: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "uid": uid, "ownerReferences": owners}})
    }

    fn owner_ref(uid: &str, block: bool) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": uid, "blockOwnerDeletion": block})
    }

    fn deleting(mut obj: Value, finalizers: &[&str]) -> Value {
        obj["metadata"]["deletionTimestamp"] = json!("2026-11-25T10:00:00Z");
        obj["metadata"]["finalizers"] = json!(finalizers);
        obj
    }

    fn pass(objects: Vec<Value>) -> Vec<String> {
        let objects: Vec<Arc<Value>> = objects.into_iter().map(Arc::new).collect();
        sync(&objects)
            .iter()
            .map(|a| match a {
                Action::Delete {
                    name, foreground, ..
                } => format!(
                    "delete {name}{}",
                    if *foreground { " (foreground)" } else { "" }
                ),
                Action::Update(o) => format!(
                    "update {} owners={} finalizers={}",
                    meta::name(o),
                    o["metadata"]["ownerReferences"],
                    o["metadata"]["finalizers"]
                ),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn dependents_of_a_gone_owner_are_deleted_and_dangling_references_dropped() {
        let actions = pass(vec![
            cm("solo", "d1", json!([owner_ref("gone", true)])),
            cm(
                "shared",
                "d2",
                json!([owner_ref("gone", true), owner_ref("o2", false)]),
            ),
            cm("o2", "o2", json!(null)),
        ]);
        assert_eq!(
            actions,
            [
                "delete solo",
                "update shared owners=[{\"apiVersion\":\"v1\",\"blockOwnerDeletion\":false,\"kind\":\"ConfigMap\",\"name\":\"o\",\"uid\":\"o2\"}] finalizers=null",
            ]
        );
    }

    #[test]
    fn a_foreground_owner_waits_for_its_blocking_dependents() {
        let owner = deleting(cm("o", "o", json!(null)), &[FOREGROUND]);
        let blocking = cm("b", "b", json!([owner_ref("o", true)]));
        let loose = cm("l", "l", json!([owner_ref("o", false)]));
        let grandchild = cm("g", "g", json!([{"uid": "b", "blockOwnerDeletion": true}]));
        assert_eq!(
            pass(vec![
                owner.clone(),
                blocking.clone(),
                loose.clone(),
                grandchild
            ]),
            ["delete b (foreground)", "delete l"]
        );
        // The blocking dependent held by a finalizer of its own keeps the owner.
        let held = deleting(blocking, &["example.com/hold"]);
        assert!(pass(vec![owner.clone(), held]).is_empty());
        // Only a loose dependent left: the finalizer goes (and with it the owner).
        assert_eq!(
            pass(vec![owner.clone(), deleting(loose, &["example.com/hold"])]),
            ["update o owners=null finalizers=null"]
        );
    }

    #[test]
    fn an_orphaning_owner_lets_go_of_its_dependents_first() {
        let owner = deleting(cm("o", "o", json!(null)), &[ORPHAN, "example.com/x"]);
        let dependent = cm("d", "d", json!([owner_ref("o", true)]));
        assert_eq!(
            pass(vec![owner.clone(), dependent]),
            ["update d owners=null finalizers=null"]
        );
        assert_eq!(
            pass(vec![owner]),
            ["update o owners=null finalizers=[\"example.com/x\"]"]
        );
    }
}
