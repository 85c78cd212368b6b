//! A delete's propagation to the object's dependents (DeleteOptions `propagationPolicy` and the
//! deprecated `orphanDependents`), as the API server records it for the garbage collector: the
//! finalizer `foregroundDeletion` (Foreground: the owner stays, marked, until the collector has
//! deleted its dependents) or `orphan` (the collector takes the dependents' owner references
//! off), none for Background (the owner goes at once, its dependents after it). The collector
//! itself is the simulated cluster's ([`crate::cluster::gc`]).

use crate::status::Status;
use serde_json::{Value, json};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// What a delete asks of the object's dependents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Propagation {
    policy: Option<String>,
    orphan_dependents: Option<bool>,
}

impl Propagation {
    pub fn foreground() -> Propagation {
        Propagation {
            policy: Some("Foreground".into()),
            orphan_dependents: None,
        }
    }

    /// From the DeleteOptions body, else the query; refused as the server refuses them:
    /// `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: ...`.
    pub fn from_request(
        body: &[u8],
        query: impl Fn(&str) -> Option<String>,
    ) -> Result<Propagation, Status> {
        let options: Value = serde_json::from_slice(body).unwrap_or_default();
        let policy = match options.get("propagationPolicy") {
            Some(Value::String(p)) => Some(p.clone()),
            _ => query("propagationPolicy"),
        };
        let orphan_dependents = match options.get("orphanDependents") {
            Some(Value::Bool(b)) => Some(*b),
            _ => query("orphanDependents").and_then(|q| q.parse().ok()),
        };
        let invalid = |errors: &[(String, String, &str)]| {
            Status::invalid("meta.k8s.io", "DeleteOptions", "", errors)
        };
        if let Some(p) = &policy {
            if !matches!(p.as_str(), "Foreground" | "Background" | "Orphan") {
                return Err(invalid(&[(
                    "propagationPolicy".into(),
                    format!(
                        "Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                    ),
                    "FieldValueNotSupported",
                )]));
            }
            if orphan_dependents.is_some() {
                return Err(invalid(&[(
                    "propagationPolicy".into(),
                    format!(
                        "Invalid value: \"{p}\": orphanDependents and deletionPropagation cannot be both set"
                    ),
                    "FieldValueInvalid",
                )]));
            }
        }
        Ok(Propagation {
            policy,
            orphan_dependents,
        })
    }

    /// `shouldOrphanDependents` and `shouldDeleteDependents`: the explicit options, else the
    /// finalizer the object already has (every kind here defaults to Background).
    fn wants(&self, finalizers: &[&str]) -> (bool, bool) {
        if let Some(orphan) = self.orphan_dependents {
            return (orphan, false);
        }
        if let Some(policy) = &self.policy {
            return (policy == "Orphan", policy == "Foreground");
        }
        for f in finalizers {
            match *f {
                ORPHAN => return (true, false),
                FOREGROUND => return (false, true),
                _ => {}
            }
        }
        (false, false)
    }

    /// The object's finalizers after this delete (`deletionFinalizersForGarbageCollection`),
    /// or `None` when they stay as they are.
    pub fn finalizers(&self, obj: &Value) -> Option<Vec<Value>> {
        let old: Vec<&str> = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let (orphan, foreground) = self.wants(&old);
        let mut new: Vec<&str> = old
            .iter()
            .copied()
            .filter(|f| *f != ORPHAN && *f != FOREGROUND)
            .collect();
        if orphan {
            new.push(ORPHAN);
        }
        if foreground {
            new.push(FOREGROUND);
        }
        let same = old.iter().all(|f| new.contains(f)) && new.iter().all(|f| old.contains(f));
        (!same).then(|| new.iter().map(|f| json!(f)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, query: &[(&str, &str)]) -> Result<Propagation, Status> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Propagation::from_request(body.as_bytes(), |k| {
            query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn policies_set_the_collectors_finalizers() {
        let plain = json!({"metadata": {"finalizers": ["example.com/hold"]}});
        let foreground = parse(r#"{"propagationPolicy":"Foreground"}"#, &[]).unwrap();
        assert_eq!(
            foreground.finalizers(&plain),
            Some(vec![json!("example.com/hold"), json!("foregroundDeletion")])
        );
        let orphan = parse("", &[("propagationPolicy", "Orphan")]).unwrap();
        assert_eq!(orphan.finalizers(&json!({})), Some(vec![json!("orphan")]));
        let legacy = parse(r#"{"orphanDependents":true}"#, &[]).unwrap();
        assert_eq!(legacy.finalizers(&json!({})), Some(vec![json!("orphan")]));
        let background = parse(r#"{"propagationPolicy":"Background"}"#, &[]).unwrap();
        assert_eq!(background.finalizers(&plain), None);
        let marked = json!({"metadata": {"finalizers": ["orphan"]}});
        assert_eq!(background.finalizers(&marked), Some(vec![]));
        assert_eq!(Propagation::default().finalizers(&marked), None);
    }

    /// The answers of a real v1.36 server.
    #[test]
    fn bad_options_are_refused() {
        let bogus = parse("", &[("propagationPolicy", "Bogus")]).unwrap_err();
        assert_eq!(bogus.code, 422);
        assert_eq!(
            bogus.message,
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Bogus\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
        );
        let both = parse(
            r#"{"propagationPolicy":"Orphan","orphanDependents":false}"#,
            &[],
        )
        .unwrap_err();
        assert_eq!(
            both.message,
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set"
        );
    }
}
