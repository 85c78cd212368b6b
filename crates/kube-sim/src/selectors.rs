//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!`) and field selectors.

use crate::status::Status;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits on commas that are not inside parentheses.
fn split_terms(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn values_in_parens(text: &str, whole: &str) -> Result<Vec<String>, Status> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| bad(whole, "expected a list of values in parentheses"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

fn bad(selector: &str, why: &str) -> Status {
    Status::bad_request(format!("unable to parse requirement: {why}: {selector:?}"))
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<LabelSelector, Status> {
        let mut reqs = Vec::new();
        for term in split_terms(text) {
            let req = if let Some(key) = term.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_string())
            } else if let Some((key, value)) = term.split_once("!=") {
                Requirement::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) = term.split_once("==") {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) = term.split_once('=') {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some((key, rest)) = term.split_once(" notin ") {
                Requirement::NotIn(key.trim().into(), values_in_parens(rest, term)?)
            } else if let Some((key, rest)) = term.split_once(" in ") {
                Requirement::In(key.trim().into(), values_in_parens(rest, term)?)
            } else {
                Requirement::Exists(term.to_string())
            };
            let key = match &req {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            if !valid_key(key) {
                return Err(bad(text, "invalid label key"));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        })
    }
}

/// A parsed field selector: `field=value`, `field==value`, `field!=value`, comma-separated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Fields every kind supports plus the per-kind ones the real server knows.
fn supported(kind: &str, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match kind {
        "Pod" => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        "Event" => {
            field.starts_with("involvedObject.")
                || field.starts_with("regarding.")
                || matches!(
                    field,
                    "reason" | "source" | "type" | "reportingComponent" | "reportingController"
                )
        }
        "Secret" => field == "type",
        "Namespace" => field == "status.phase",
        "Node" => field == "spec.unschedulable",
        _ => false,
    }
}

impl FieldSelector {
    pub fn parse(text: &str, kind: &str) -> Result<FieldSelector, Status> {
        let mut reqs = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(Status::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            if !supported(kind, field) {
                return Err(Status::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value a field selector sees for `field` (`""` when absent, booleans as text).
    fn field_value(obj: &Value, field: &str) -> String {
        let pointer = format!("/{}", field.replace('.', "/"));
        match obj.pointer(&pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Null) | None => {
                // Unset booleans select as "false" (spec.unschedulable, spec.hostNetwork).
                if matches!(field, "spec.unschedulable" | "spec.hostNetwork") {
                    "false".into()
                } else {
                    String::new()
                }
            }
            Some(other) => other.to_string(),
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0
            .iter()
            .all(|(field, equal, value)| (Self::field_value(obj, field) == *value) == *equal)
    }

    /// `metadata.name=X` when the selector pins one name (lets watches skip other objects).
    pub fn single_name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, eq, _)| f == "metadata.name" && *eq)
            .map(|(_, _, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_follow_kubernetes_semantics() {
        let web = json!({"metadata": {"labels": {"tier": "web", "env": "prod"}}});
        let bare = json!({"metadata": {}});
        let check = |s: &str, obj: &Value| LabelSelector::parse(s).unwrap().matches(obj);
        assert!(check("tier=web,env==prod", &web));
        assert!(check("tier!=db", &web) && check("tier!=db", &bare));
        assert!(check("tier in (web, db)", &web) && !check("tier in (web)", &bare));
        assert!(check("tier notin (db)", &bare) && !check("tier notin (web)", &web));
        assert!(check("tier", &web) && !check("tier", &bare));
        assert!(check("!tier", &bare) && !check("!tier", &web));
        assert!(check("", &bare));
        assert_eq!(LabelSelector::parse("a in b").unwrap_err().code, 400);
        assert_eq!(LabelSelector::parse("a b=c").unwrap_err().code, 400);
    }

    #[test]
    fn field_selectors_know_their_fields() {
        let pod =
            json!({"metadata": {"name": "p", "namespace": "n"}, "spec": {"nodeName": "node-1"}});
        let select = FieldSelector::parse("spec.nodeName=node-1,metadata.name!=q", "Pod").unwrap();
        assert!(select.matches(&pod));
        assert!(
            !FieldSelector::parse("spec.nodeName=node-2", "Pod")
                .unwrap()
                .matches(&pod)
        );
        assert_eq!(
            FieldSelector::parse("spec.nodeName=x", "ConfigMap")
                .unwrap_err()
                .code,
            400
        );
        let event =
            json!({"involvedObject": {"kind": "Service", "name": "s"}, "regarding": {"name": "s"}});
        assert!(
            FieldSelector::parse("involvedObject.kind=Service,involvedObject.name=s", "Event")
                .unwrap()
                .matches(&event)
        );
        assert!(
            FieldSelector::parse("regarding.name=s", "Event")
                .unwrap()
                .matches(&event)
        );
    }
}
