//! Applying a set of objects and telling, per object, what the apply changed: compared with
//! the resourceVersions read before (a server-side apply that changes nothing keeps it).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::ClusterTarget;
use super::apply::{ApplyMode, ObjectRef, apply};
use crate::{Error, Result};

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Created,
    Configured,
    Unchanged,
    /// Server-side dry run of an object whose namespace or CRD does not exist yet.
    NotChecked,
    /// Server-side dry run of an existing object: the server accepted the apply. A dry run
    /// stores nothing, so its resourceVersion cannot tell whether the object would change.
    Accepted,
}

/// One applied object and its change (an entry of install's `-o json` document).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub change: Change,
}

impl Applied {
    /// `Kind/name` or `Kind namespace/name`, for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// What one apply did, given the object's resourceVersion before it (`None`: it did not exist).
fn change_of(
    result: Result<kube::api::DynamicObject>,
    before: Option<&String>,
    mode: ApplyMode,
) -> Result<Change> {
    match result {
        Ok(applied) => Ok(match before {
            None => Change::Created,
            Some(_) if mode.dry_run => Change::Accepted,
            Some(rv) if applied.metadata.resource_version.as_ref() == Some(rv) => Change::Unchanged,
            Some(_) => Change::Configured,
        }),
        // A server-side dry run cannot place objects in a namespace or of a kind that the
        // same run would only create.
        Err(Error::Api { code: 404, .. }) if mode.dry_run => Ok(Change::NotChecked),
        Err(err) => Err(err),
    }
}

/// Applies `objects` concurrently; each result says whether the object changed. `before` holds
/// the resourceVersions of the objects that existed before.
pub async fn apply_all(
    target: &ClusterTarget,
    objects: &[&Value],
    before: &BTreeMap<ObjectRef, String>,
    mode: ApplyMode,
) -> Result<Vec<Applied>> {
    let applies = objects.iter().map(|obj| async move {
        let r = ObjectRef::of(obj);
        let change = change_of(apply(target, obj, mode).await, before.get(&r), mode)?;
        Ok(Applied {
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
            change,
        })
    });
    futures::future::join_all(applies)
        .await
        .into_iter()
        .collect()
}

/// `2 created, 1 unchanged`: how many objects each change touched.
pub fn counts(results: &[Applied]) -> String {
    let n = |c: Change| results.iter().filter(|r| r.change == c).count();
    let mut parts = Vec::new();
    for (change, word) in [
        (Change::Created, "created"),
        (Change::Configured, "configured"),
        (Change::Unchanged, "unchanged"),
        (Change::NotChecked, "not checked"),
        (Change::Accepted, "existing accepted"),
    ] {
        if n(change) > 0 {
            parts.push(format!("{} {word}", n(change)));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(change: Change) -> Applied {
        Applied {
            kind: "ConfigMap".into(),
            namespace: Some("ns".into()),
            name: "x".into(),
            change,
        }
    }

    #[test]
    fn counts_name_each_change_that_happened() {
        let results = [
            applied(Change::Created),
            applied(Change::Created),
            applied(Change::Unchanged),
            applied(Change::NotChecked),
        ];
        assert_eq!(counts(&results), "2 created, 1 unchanged, 1 not checked");
        assert_eq!(counts(&[]), "");
    }

    #[test]
    fn a_dry_run_of_an_existing_object_is_accepted_and_of_a_new_kind_not_checked() {
        let dry = ApplyMode {
            dry_run: true,
            force: false,
        };
        let obj = || {
            let mut o = kube::api::DynamicObject::new(
                "x",
                &kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
            );
            o.metadata.resource_version = Some("7".into());
            Ok(o)
        };
        let rv = "7".to_string();
        assert_eq!(change_of(obj(), Some(&rv), dry).unwrap(), Change::Accepted);
        assert_eq!(
            change_of(obj(), Some(&rv), ApplyMode::default()).unwrap(),
            Change::Unchanged
        );
        let other = "6".to_string();
        assert_eq!(
            change_of(obj(), Some(&other), ApplyMode::default()).unwrap(),
            Change::Configured
        );
        assert_eq!(change_of(obj(), None, dry).unwrap(), Change::Created);
        let missing = Err(Error::Api {
            action: "patch".into(),
            code: 404,
            message: "not found".into(),
        });
        assert_eq!(change_of(missing, None, dry).unwrap(), Change::NotChecked);
    }
}
