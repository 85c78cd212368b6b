//! Strict field validation of a user's YAML document, as `kubectl apply --validate=strict` does:
//! a field the typed object does not know is an error naming its path and line, not silently
//! dropped (a misspelled `autoassign` would otherwise turn into the default).

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// The mapping keys of one YAML document with the line each was written on; values are only
/// followed for the keys they hold.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum KeyLines {
    Map(Vec<(String, u64, KeyLines)>),
    Seq(Vec<KeyLines>),
    #[default]
    Scalar,
}

impl KeyLines {
    /// The keys of every non-null document of `text`, in the order `serde_saphyr` returns the
    /// documents themselves.
    pub fn of_documents(text: &str) -> Result<Vec<KeyLines>, serde_saphyr::Error> {
        serde_saphyr::from_str_multiple(text)
    }

    /// The line of the key at `path` (1-based), or of its closest ancestor that has one.
    pub fn line_of(&self, path: &[Segment]) -> Option<u64> {
        let (first, rest) = path.split_first()?;
        match (self, first) {
            (KeyLines::Map(entries), Segment::Key(key)) => {
                let (_, line, child) = entries.iter().rev().find(|(k, _, _)| k == key)?;
                child.line_of(rest).or(Some(*line))
            }
            (KeyLines::Seq(items), Segment::Index(index)) => items.get(*index)?.line_of(rest),
            _ => None,
        }
    }
}

impl<'de> de::Deserialize<'de> for KeyLines {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyLinesVisitor)
    }
}

struct KeyLinesVisitor;

/// Scalars carry no keys: every kind is accepted and forgotten.
macro_rules! scalars {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<KeyLines, E> {
            Ok(KeyLines::Scalar)
        })*
    };
}

impl<'de> Visitor<'de> for KeyLinesVisitor {
    type Value = KeyLines;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128,
             visit_u128: u128, visit_f64: f64, visit_str: &str, visit_bytes: &[u8]);

    fn visit_unit<E: de::Error>(self) -> Result<KeyLines, E> {
        Ok(KeyLines::Scalar)
    }

    fn visit_none<E: de::Error>(self) -> Result<KeyLines, E> {
        Ok(KeyLines::Scalar)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<KeyLines, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyLines, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<KeyLines>()? {
            items.push(item);
        }
        Ok(KeyLines::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyLines, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<KeyLines>()?;
            entries.push((key.value.0, key.referenced.line(), value));
        }
        Ok(KeyLines::Map(entries))
    }
}

/// A mapping key as text, whatever scalar it was written as.
struct KeyText(String);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(KeyText(match value {
            Value::String(text) => text,
            other => other.to_string(),
        }))
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A field of the document that the typed object does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// kubectl's notation: `spec.nodeSelectors[0].matchLabel`.
    pub path: String,
    /// 1-based line of the field in the file, when known.
    pub line: Option<u64>,
}

/// Deserializes the Kubernetes object `doc` as `T` and lists every field `T` ignored, in
/// document order.
pub fn parse_strict<T: DeserializeOwned>(
    doc: Value,
    keys: &KeyLines,
) -> Result<(T, Vec<UnknownField>), serde_json::Error> {
    let mut ignored = Vec::new();
    let value = serde_ignored::deserialize(doc, |path| ignored.push(segments(&path)))?;
    // kube's derived objects read apiVersion and kind only to skip them.
    let type_meta =
        |path: &[Segment]| matches!(path, [Segment::Key(k)] if k == "apiVersion" || k == "kind");
    let unknown = ignored
        .into_iter()
        .filter(|path| !type_meta(path))
        .map(|path| UnknownField {
            line: keys.line_of(&path),
            path: dotted(&path),
        })
        .collect();
    Ok((value, unknown))
}

fn segments(path: &serde_ignored::Path) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = path;
    loop {
        match at {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                out.push(Segment::Index(*index));
                at = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                out.push(Segment::Key(key.clone()));
                at = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => at = parent,
        }
    }
    out.reverse();
    out
}

fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metallb::crds::{IPAddressPool, L2Advertisement};

    fn unknown<T: DeserializeOwned>(text: &str) -> Vec<UnknownField> {
        let docs: Vec<Value> = serde_saphyr::from_str_multiple(text).unwrap();
        let keys = KeyLines::of_documents(text).unwrap();
        assert_eq!(docs.len(), keys.len());
        parse_strict::<T>(docs.into_iter().next().unwrap(), &keys[0])
            .unwrap()
            .1
    }

    #[test]
    fn misspelled_fields_are_named_with_their_line() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\n  lables: {a: b}\nspec:\n  addresses: [10.0.0.1]\n  autoassign: false\n  avoidBuggyIps: true\n";
        let found = unknown::<IPAddressPool>(text);
        let found: Vec<(&str, Option<u64>)> =
            found.iter().map(|f| (f.path.as_str(), f.line)).collect();
        assert_eq!(
            found,
            vec![
                ("metadata.lables", Some(5)),
                ("spec.autoassign", Some(8)),
                ("spec.avoidBuggyIps", Some(9)),
            ]
        );
    }

    #[test]
    fn fields_inside_lists_get_an_index() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l}\nspec:\n  nodeSelector:\n  - matchLabels: {a: b}\n  nodeSelectors:\n  - matchLabels: {a: b}\n  - matchLabel: {a: b}\n";
        let found = unknown::<L2Advertisement>(text);
        let found: Vec<(&str, Option<u64>)> =
            found.iter().map(|f| (f.path.as_str(), f.line)).collect();
        assert_eq!(
            found,
            vec![
                ("spec.nodeSelector", Some(5)),
                ("spec.nodeSelectors[1].matchLabel", Some(9)),
            ]
        );
    }

    #[test]
    fn a_valid_document_has_no_unknown_fields() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\n  labels: {a: b}\n  annotations: {x: z}\nspec:\n  addresses: [10.0.0.1]\n  autoAssign: false\n  avoidBuggyIPs: true\n  serviceAllocation: {priority: 1, namespaces: [a]}\n";
        assert_eq!(unknown::<IPAddressPool>(text), vec![]);
    }
}
