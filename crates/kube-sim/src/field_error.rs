//! Validation findings worded as kube-apiserver words them (apimachinery's `field.Error`): a
//! field path, a kind (`Required value`, `Forbidden`, `Invalid value`, ...), the offending value
//! where the kind shows one, and a detail. [`invalid`] turns a list of them into the 422
//! `Status` the API server sends.

use crate::status::Status;
use serde_json::Value;

/// The kinds of finding, with the `reason` each has in a `Status` cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Required,
    Forbidden,
    Invalid,
    TypeInvalid,
    NotSupported,
    TooLong,
}

impl Kind {
    fn reason(self) -> &'static str {
        match self {
            Kind::Required => "FieldValueRequired",
            Kind::Forbidden => "FieldValueForbidden",
            Kind::Invalid => "FieldValueInvalid",
            Kind::TypeInvalid => "FieldValueTypeInvalid",
            Kind::NotSupported => "FieldValueNotSupported",
            Kind::TooLong => "FieldValueTooLong",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Kind::Required => "Required value",
            Kind::Forbidden => "Forbidden",
            Kind::Invalid | Kind::TypeInvalid => "Invalid value",
            Kind::NotSupported => "Unsupported value",
            Kind::TooLong => "Too long",
        }
    }
}

/// One finding about one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub kind: Kind,
    /// The offending value as the message shows it (see [`go_value`]), for the kinds that
    /// print one.
    pub value: Option<String>,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError::new(field, Kind::Required, None, detail)
    }

    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError::new(field, Kind::Forbidden, None, detail)
    }

    pub fn invalid(
        field: impl Into<String>,
        value: Value,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError::new(field, Kind::Invalid, Some(go_value(&value)), detail)
    }

    /// An invalid value shown as given (e.g. a Go struct as `encoding/json` writes it).
    pub fn invalid_shown(
        field: impl Into<String>,
        shown: String,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError::new(field, Kind::Invalid, Some(shown), detail)
    }

    pub fn type_invalid(
        field: impl Into<String>,
        value: Value,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError::new(field, Kind::TypeInvalid, Some(go_value(&value)), detail)
    }

    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported<S: AsRef<str>>(
        field: impl Into<String>,
        value: Value,
        supported: &[S],
    ) -> FieldError {
        let quoted: Vec<String> = supported.iter().map(|s| go_quote(s.as_ref())).collect();
        FieldError::new(
            field,
            Kind::NotSupported,
            Some(go_value(&value)),
            format!("supported values: {}", quoted.join(", ")),
        )
    }

    /// `Too long: may not be more than N bytes` (the value is not shown).
    pub fn too_long(field: impl Into<String>, max: u64) -> FieldError {
        FieldError::new(
            field,
            Kind::TooLong,
            None,
            format!("may not be more than {max} bytes"),
        )
    }

    /// `field is immutable`, showing the new value.
    pub fn immutable(field: impl Into<String>, value: Value) -> FieldError {
        FieldError::invalid(field, value, "field is immutable")
    }

    fn new(
        field: impl Into<String>,
        kind: Kind,
        value: Option<String>,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            kind,
            value,
            detail: detail.into(),
        }
    }

    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }

    /// The cause's message: `Invalid value: "x": detail`, `Required value`, ...
    pub fn body(&self) -> String {
        let mut out = self.kind.words().to_string();
        if let Some(value) = &self.value {
            out.push_str(": ");
            out.push_str(value);
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }

    /// `field: body`, as the aggregated message lists it.
    pub fn text(&self) -> String {
        format!("{}: {}", self.field, self.body())
    }
}

/// The 422 `Invalid` answer for `errors` about the object `name` of `kind` in `group`.
pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Status {
    let causes: Vec<(String, String, &str)> = errors
        .iter()
        .map(|e| (e.field.clone(), e.body(), e.reason()))
        .collect();
    Status::invalid(group, kind, name, &causes)
}

/// A value as apimachinery prints a bad value: strings quoted (`%q`), numbers and booleans as
/// they are, `null`, anything else as Go's `json.Marshal` writes it.
pub fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => go_quote(s),
        _ => go_json(value),
    }
}

/// Go's `%q` of a string.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `json.Marshal` of a JSON value: compact, map keys sorted, `<`, `>` and `&` escaped,
/// whole floats without a fraction.
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_go_json(value, &mut out);
    out
}

fn write_go_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&go_number(n)),
        Value::String(s) => write_go_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(key, out);
                out.push(':');
                write_go_json(item, out);
            }
            out.push('}');
        }
    }
}

/// A JSON string as Go's encoder writes it.
pub fn write_go_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Go prints a float64 holding it (`7`, not `7.0`).
pub fn go_number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_read_as_apimachinery_writes_them() {
        let e = FieldError::invalid("spec.type", json!("string"), "must be object");
        assert_eq!(e.body(), "Invalid value: \"string\": must be object");
        assert_eq!(e.reason(), "FieldValueInvalid");
        assert_eq!(
            FieldError::required("spec.scope", "").text(),
            "spec.scope: Required value"
        );
        assert_eq!(FieldError::forbidden("x", "nope").body(), "Forbidden: nope");
        assert_eq!(
            FieldError::not_supported("spec.scope", json!("Global"), &["Cluster", "Namespaced"])
                .body(),
            "Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""
        );
        assert_eq!(
            FieldError::invalid("k", json!(["k", "z"]), "d").body(),
            "Invalid value: [\"k\",\"z\"]: d"
        );
        assert_eq!(
            FieldError::invalid("k", json!(false), "d").body(),
            "Invalid value: false: d"
        );
        assert_eq!(
            FieldError::invalid("k", Value::Null, "d").body(),
            "Invalid value: null: d"
        );
        assert_eq!(
            FieldError::too_long("k", 2).body(),
            "Too long: may not be more than 2 bytes"
        );
    }

    #[test]
    fn go_json_sorts_escapes_and_drops_whole_fractions() {
        assert_eq!(
            go_json(&json!({"b": 7.0, "a": "<&>", "c": [1.5, null, true]})),
            r#"{"a":"\u003c\u0026\u003e","b":7,"c":[1.5,null,true]}"#
        );
        assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
    }

    #[test]
    fn several_findings_are_listed_once_each_in_brackets() {
        let one = FieldError::forbidden("a", "x");
        let two = FieldError::required("b", "y");
        let status = invalid(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "n",
            &[one.clone(), two, one],
        );
        assert_eq!(
            status.message,
            "CustomResourceDefinition.apiextensions.k8s.io \"n\" is invalid: [a: Forbidden: x, b: Required value: y]"
        );
        assert_eq!(
            status.details.unwrap()["causes"].as_array().unwrap().len(),
            3
        );
    }
}
