//! Small accessors and helpers over plain JSON objects, shared by the controllers.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// A time as the API server writes it: RFC 3339 in UTC with whole seconds.
pub fn rfc3339(ts: Timestamp) -> String {
    Timestamp::from_second(ts.as_second())
        .unwrap_or(ts)
        .to_string()
}

/// Parses an RFC 3339 time from an object (None when absent or malformed).
pub fn parse_time(v: Option<&Value>) -> Option<Timestamp> {
    v.and_then(Value::as_str).and_then(|s| s.parse().ok())
}

/// `n` random lowercase hex digits (container IDs, image digests).
pub fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'))
        .collect()
}

/// `metadata.name`, or "" when absent.
pub fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"])
}

/// `metadata.namespace`, or "" for cluster-scoped objects.
pub fn namespace(obj: &Value) -> &str {
    str_at(obj, &["metadata", "namespace"])
}

pub fn uid(obj: &Value) -> &str {
    str_at(obj, &["metadata", "uid"])
}

pub fn generation(obj: &Value) -> i64 {
    at(obj, &["metadata", "generation"])
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// The string at a path of object keys, or "".
pub fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or("")
}

/// The value at a path of object keys.
pub fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    at(obj, &["metadata", "labels"]).and_then(Value::as_object)
}

pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    labels(obj).and_then(|l| l.get(key)).and_then(Value::as_str)
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    at(obj, &["metadata", "annotations"])
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// A mutable object at `path`, created (as `{}`) where missing or not an object.
pub fn object_at<'a>(obj: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut cur = obj;
    for key in path {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .expect("just made an object")
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    cur.as_object_mut().expect("just made an object")
}

/// A core/v1 Event about `obj`, as client-go's event recorder writes it.
pub fn event(
    obj: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    component: &str,
    now: Timestamp,
) -> Value {
    let at = rfc3339(now);
    // client-go's recorder names events `<object>.<hex of the time in nanoseconds>`, so they list
    // in the order they happened; the counter keeps names unique while the clock stands still.
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = u64::try_from(now.as_nanosecond()).unwrap_or_default()
        + SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{nanos:x}", name(obj)), "namespace": namespace(obj)},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": name(obj),
            "namespace": namespace(obj),
            "resourceVersion": str_at(obj, &["metadata", "resourceVersion"]),
            "uid": uid(obj),
        },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
        "type": kind,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": "",
    })
}

/// Sets `obj[key] = n` unless n is 0 (Go's `omitempty` on integer status fields).
pub fn insert_nonzero(obj: &mut Value, key: &str, n: i64) {
    if n != 0 {
        obj[key] = json!(n);
    }
}

/// Sets `metadata.annotations[key]`.
pub fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    object_at(obj, &["metadata", "annotations"]).insert(key.to_string(), json!(value));
}

/// Sets `metadata.labels[key]`.
pub fn set_label(obj: &mut Value, key: &str, value: &str) {
    object_at(obj, &["metadata", "labels"]).insert(key.to_string(), json!(value));
}

/// The owner reference a controller puts on what it creates.
pub fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The controlling owner reference of `obj`, if any.
pub fn controller_of(obj: &Value) -> Option<&Value> {
    at(obj, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

/// Whether `obj` is controlled by `owner` (matched by uid, as the real controllers do).
pub fn is_controlled_by(obj: &Value, owner: &Value) -> bool {
    controller_of(obj).is_some_and(|r| r.get("uid").and_then(Value::as_str) == Some(uid(owner)))
}

/// Whether the object is being deleted.
pub fn is_terminating(obj: &Value) -> bool {
    at(obj, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null())
}

/// Whether an object carries the label set `selector` (a plain `key: value` map, as in a
/// Service's `spec.selector`). An empty selector selects nothing, as for Services.
pub fn map_selects(selector: &Map<String, Value>, obj: &Value) -> bool {
    if selector.is_empty() {
        return false;
    }
    let Some(labels) = labels(obj) else {
        return false;
    };
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether `obj`'s labels match a structured `LabelSelector` (`matchLabels` and
/// `matchExpressions`). As in apimachinery, an empty selector matches everything.
pub fn label_selector_matches(selector: &Value, obj: &Value) -> bool {
    let empty = Map::new();
    let labels = labels(obj).unwrap_or(&empty);
    if let Some(ml) = selector.get("matchLabels").and_then(Value::as_object)
        && !ml.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let exprs = selector.get("matchExpressions").and_then(Value::as_array);
    exprs.into_iter().flatten().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|vs| vs.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let have = labels.get(key).and_then(Value::as_str);
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    })
}

/// The alphabet Kubernetes uses for generated name suffixes and hashes (no vowels, no
/// look-alike characters).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A random 5-character suffix, as `generateName` gets from the API server.
pub fn random_suffix() -> String {
    (0..5)
        .map(|_| ALPHANUMS[fastrand::usize(..ALPHANUMS.len())] as char)
        .collect()
}

/// A stable hash of a JSON value, encoded like the `pod-template-hash` and
/// `controller-revision-hash` labels (FNV-32a of the object, the decimal digits mapped through the
/// safe alphabet).
pub fn template_hash(value: &Value) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u32::from(*b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    canonical_bytes(value, &mut feed);
    hash.to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// Feeds a canonical serialization (sorted keys) of `value`, so the hash does not depend on
/// map order.
fn canonical_bytes(value: &Value, feed: &mut impl FnMut(&[u8])) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            feed(b"{");
            for k in keys {
                feed(k.as_bytes());
                feed(b":");
                canonical_bytes(&map[k], feed);
                feed(b",");
            }
            feed(b"}");
        }
        Value::Array(items) => {
            feed(b"[");
            for item in items {
                canonical_bytes(item, feed);
                feed(b",");
            }
            feed(b"]");
        }
        other => feed(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selector_operators() {
        let pod = json!({"metadata": {"labels": {"app": "metallb", "component": "speaker"}}});
        let sel = |s: Value| label_selector_matches(&s, &pod);
        assert!(sel(json!({})));
        assert!(sel(json!({"matchLabels": {"app": "metallb"}})));
        assert!(!sel(json!({"matchLabels": {"app": "other"}})));
        assert!(sel(
            json!({"matchExpressions": [{"key": "component", "operator": "In", "values": ["speaker", "x"]}]})
        ));
        assert!(!sel(
            json!({"matchExpressions": [{"key": "component", "operator": "NotIn", "values": ["speaker"]}]})
        ));
        assert!(sel(
            json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]})
        ));
        assert!(sel(
            json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]})
        ));
        assert!(!sel(
            json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]})
        ));
    }

    #[test]
    fn service_selector_empty_selects_nothing() {
        let pod = json!({"metadata": {"labels": {"app": "x"}}});
        assert!(!map_selects(&Map::new(), &pod));
        let sel = json!({"app": "x"});
        assert!(map_selects(sel.as_object().unwrap(), &pod));
        let sel = json!({"app": "x", "tier": "web"});
        assert!(!map_selects(sel.as_object().unwrap(), &pod));
    }

    #[test]
    fn template_hash_is_stable_and_sensitive() {
        let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "c"}]}});
        let b = json!({"spec": {"containers": [{"name": "c"}]}, "metadata": {"labels": {"b": "2", "a": "1"}}});
        assert_eq!(template_hash(&a), template_hash(&b));
        let mut c = a.clone();
        set_annotation(
            &mut c,
            "kubectl.kubernetes.io/restartedAt",
            "2026-11-24T18:40:00Z",
        );
        assert_ne!(template_hash(&a), template_hash(&c));
        assert!(template_hash(&a).bytes().all(|ch| ALPHANUMS.contains(&ch)));
    }

    #[test]
    fn random_suffix_uses_the_safe_alphabet() {
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|ch| ALPHANUMS.contains(&ch)));
    }
}
