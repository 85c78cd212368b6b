//! Object metadata rules: uids, timestamps, generated names and name validation.

use crate::status::Status;
use jiff::Timestamp;
use serde_json::Value;

/// A random version-4 UUID, formatted as Kubernetes shows uids.
pub fn new_uid() -> String {
    let mut b = [0u8; 16];
    fastrand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The five-character suffix `generateName` gets (the alphabet Kubernetes uses, no vowels).
pub fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// RFC 3339 with second precision, as `creationTimestamp` is written.
pub fn format_time(ts: Timestamp) -> String {
    Timestamp::from_second(ts.as_second())
        .unwrap_or(ts)
        .to_string()
}

pub(crate) const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
pub(crate) const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

pub(crate) fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

/// apimachinery's `IsDNS1035Label`: what is wrong with `s` as a DNS-1035 label (empty when
/// nothing is).
pub(crate) fn dns1035_label_errors(s: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push("must be no more than 63 characters");
    }
    let b = s.as_bytes();
    let shaped = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !shaped {
        out.push(DNS1035_MSG);
    }
    out
}

/// Which naming rule a kind's names follow.
fn name_rule(kind: &str) -> (fn(&str) -> bool, &'static str) {
    match kind {
        "Namespace" => (is_label, LABEL_MSG),
        "Service" => (
            |s| is_label(s) && s.as_bytes()[0].is_ascii_lowercase(),
            DNS1035_MSG,
        ),
        // RBAC names are path segments, not DNS names.
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => (
            |s| !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('%'),
            "may not contain '/' or '%'",
        ),
        _ => (is_subdomain, SUBDOMAIN_MSG),
    }
}

/// Validates what every object needs (a valid name); `Err` is the 422 the API server sends.
pub fn validate(group: &str, kind: &str, obj: &Value) -> Result<(), Status> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        return Err(Status::invalid(
            group,
            kind,
            "",
            &[(
                "metadata.name".into(),
                "Required value: name or generateName is required".into(),
                "FieldValueRequired",
            )],
        ));
    }
    let (check, message) = name_rule(kind);
    if !check(name) {
        return Err(Status::invalid(
            group,
            kind,
            name,
            &[(
                "metadata.name".into(),
                format!("Invalid value: {name:?}: {message}"),
                "FieldValueInvalid",
            )],
        ));
    }
    Ok(())
}

/// What Go's `omitempty` does to ObjectMeta when the server decodes and encodes an object: an
/// empty `labels`, `annotations`, `finalizers` or `ownerReferences` (or a null one) is dropped.
pub(crate) fn drop_empty_metadata(obj: &mut Value) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["labels", "annotations", "finalizers", "ownerReferences"] {
        let empty = meta.get(key).is_some_and(|v| {
            v.is_null()
                || v.as_array().is_some_and(|a| a.is_empty())
                || v.as_object().is_some_and(|m| m.is_empty())
        });
        if empty {
            meta.remove(key);
        }
    }
}
