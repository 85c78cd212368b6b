//! Typed decoding of built-in kinds, as kube-apiserver's JSON decoder (Go's `encoding/json`, in
//! sigs.k8s.io/json's case-sensitive fork) meets a create or update body: a value of the wrong
//! JSON type is refused with 400 BadRequest,
//!
//! ```text
//! ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into
//! Go struct field ConfigMap.data of type string
//! ```
//!
//! worded as Go words it: the innermost struct's name, then the JSON field names from the root
//! (no list indices or map keys; embedded structs by their type name:
//! `Probe.spec.containers.livenessProbe.ProbeHandler.httpGet`), the Go type (`int32`,
//! `[]v1.Container`, `map[string]string`, `v1.Protocol`), and for integers the number as sent
//! (`number 1.5`, `number 3000000000`). The first such error in body order is reported (YAML
//! bodies: key order, as the server converts them to JSON), unless a value's own decoder fails
//! first, which ends the decoding at once: base64 of `[]byte` (`illegal base64 data at input
//! byte 4`), quantities (`quantities must match the regular expression ...`), int-or-strings and
//! times given another JSON type (`... of type int32`, `... of type string`).
//!
//! The Go types are those of [`crate::go_types`]: the fields kube-sim knows of each kind; the
//! others are not checked. Patches are not checked (the server words those differently).

use crate::go_types::{GoType, Struct};

/// A JSON value in body order, numbers as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// A JSON body in its own order; `None` when it is not JSON.
    pub fn parse(body: &[u8]) -> Option<Node> {
        let mut p = Parser { s: body, at: 0 };
        let node = p.value()?;
        p.ws();
        (p.at == body.len()).then_some(node)
    }

    /// A parsed value (a YAML body): object members in key order.
    pub fn from_value(value: &serde_json::Value) -> Node {
        use serde_json::Value;
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.to_string()),
            Value::String(s) => Node::String(s.clone()),
            Value::Array(a) => Node::Array(a.iter().map(Node::from_value).collect()),
            Value::Object(m) => Node::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Node::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// What Go calls this value in a type error.
    fn go_kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "bool",
            Node::Number(_) => "number",
            Node::String(_) => "string",
            Node::Array(_) => "array",
            Node::Object(_) => "object",
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .s
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, literal: &str) -> Option<()> {
        let end = self.at + literal.len();
        (self.s.get(self.at..end)? == literal.as_bytes()).then(|| self.at = end)
    }

    fn value(&mut self) -> Option<Node> {
        self.ws();
        match *self.s.get(self.at)? {
            b'n' => self.eat("null").map(|()| Node::Null),
            b't' => self.eat("true").map(|()| Node::Bool(true)),
            b'f' => self.eat("false").map(|()| Node::Bool(false)),
            b'"' => self.string().map(Node::String),
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]").is_some() {
                    return Some(Node::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    if self.eat(",").is_none() {
                        self.eat("]")?;
                        return Some(Node::Array(items));
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat("}").is_some() {
                    return Some(Node::Object(members));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    self.eat(":")?;
                    members.push((key, self.value()?));
                    self.ws();
                    if self.eat(",").is_none() {
                        self.eat("}")?;
                        return Some(Node::Object(members));
                    }
                }
            }
            _ => {
                let start = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.at]).ok()?;
                (!text.is_empty()).then(|| Node::Number(text.to_string()))
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.eat("\"")?;
        let start = self.at;
        // The body is valid JSON (it parsed before), so the string ends at the first unescaped
        // quote; serde_json decodes its escapes.
        loop {
            match *self.s.get(self.at)? {
                b'\\' => self.at += 2,
                b'"' => break,
                _ => self.at += 1,
            }
        }
        let raw = &self.s[start - 1..=self.at];
        self.at += 1;
        serde_json::from_slice(raw).ok()
    }
}

/// Why the decoding failed, as the server words it after `cannot be handled as a <Kind>: `.
pub fn check(root: &Struct, body: &Node) -> Option<String> {
    let mut d = Decoder {
        stack: Vec::new(),
        owner: root.name,
        saved: None,
    };
    match d.value(&GoType::Struct(root.clone()), body) {
        Err(hard) => Some(hard),
        Ok(()) => d.saved,
    }
}

struct Decoder {
    /// The JSON names (and embedded structs' type names) from the root to the current field.
    stack: Vec<&'static str>,
    /// The innermost struct whose field is being decoded.
    owner: &'static str,
    /// The first type error (decoding goes on after it).
    saved: Option<String>,
}

impl Decoder {
    fn type_error(&self, value: &str, go_type: &str) -> String {
        format!(
            "json: cannot unmarshal {value} into Go struct field {}.{} of type {go_type}",
            self.owner,
            self.stack.join(".")
        )
    }

    fn save(&mut self, value: &str, go_type: &str) {
        if self.saved.is_none() {
            self.saved = Some(self.type_error(value, go_type));
        }
    }

    /// Decodes `node` as `ty`; `Err` ends the decoding (a value's own decoder failed).
    fn value(&mut self, ty: &GoType, node: &Node) -> Result<(), String> {
        if *node == Node::Null {
            return Ok(());
        }
        match (ty, node) {
            (GoType::Str(_), Node::String(_)) | (GoType::Bool, Node::Bool(_)) => {}
            (GoType::Int(bits), Node::Number(n)) => {
                let fits = n.parse::<i64>().is_ok_and(|v| match *bits {
                    "int32" => i32::try_from(v).is_ok(),
                    _ => true,
                });
                if !fits {
                    self.save(&format!("number {n}"), bits);
                }
            }
            (GoType::Bytes, Node::String(s)) => {
                if let Err(at) = base64_check(s) {
                    return Err(format!("illegal base64 data at input byte {at}"));
                }
            }
            (GoType::IntOrString, Node::String(_)) => {}
            (GoType::IntOrString, Node::Number(n)) => {
                if !n.parse::<i64>().is_ok_and(|v| i32::try_from(v).is_ok()) {
                    return Err(self.type_error(&format!("number {n}"), "int32"));
                }
            }
            (GoType::IntOrString, other) => {
                return Err(self.type_error(other.go_kind(), "int32"));
            }
            (GoType::Time, Node::String(_)) => {}
            (GoType::Time, other) => return Err(self.type_error(other.go_kind(), "string")),
            (GoType::Quantity, Node::String(s)) => quantity_check(s)?,
            (GoType::Quantity, Node::Number(n)) => quantity_check(n)?,
            (GoType::Quantity, _) => return Err(QUANTITY_FORMAT.to_string()),
            (GoType::List(_, item), Node::Array(items)) => {
                for item_node in items {
                    self.value(item, item_node)?;
                }
            }
            (GoType::Map(_, item), Node::Object(members)) => {
                for (_, member) in members {
                    self.value(item, member)?;
                }
            }
            (GoType::Struct(def), Node::Object(members)) => {
                for (key, member) in members {
                    let Some(field) = def.fields.iter().find(|f| f.json == key) else {
                        continue;
                    };
                    let (owner, depth) = (self.owner, self.stack.len());
                    self.stack.extend(field.via.iter().copied());
                    self.stack.push(field.json);
                    self.owner = def.name;
                    let result = self.value(&field.ty, member);
                    self.stack.truncate(depth);
                    self.owner = owner;
                    result?;
                }
            }
            (ty, other) => {
                // A number sent for an integer is told with its text; others by their kind.
                self.save(other.go_kind(), &ty.go_name());
            }
        }
        Ok(())
    }
}

/// Where Go's `base64.StdEncoding` (padded, `\r` and `\n` skipped) finds `text` corrupt.
fn base64_check(text: &str) -> Result<(), usize> {
    let s = text.as_bytes();
    let valid = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let mut si = 0;
    while si < s.len() {
        // One quantum of four characters.
        let mut j = 0;
        while j < 4 {
            if si == s.len() {
                if j == 0 {
                    return Ok(());
                }
                return Err(si - j);
            }
            let b = s[si];
            si += 1;
            if valid(b) {
                j += 1;
                continue;
            }
            if b == b'\n' || b == b'\r' {
                continue;
            }
            if b != b'=' {
                return Err(si - 1);
            }
            // Padding.
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < s.len() && (s[si] == b'\n' || s[si] == b'\r') {
                        si += 1;
                    }
                    if si == s.len() {
                        return Err(s.len());
                    }
                    if s[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < s.len() && (s[si] == b'\n' || s[si] == b'\r') {
                si += 1;
            }
            if si < s.len() {
                return Err(si);
            }
            return Ok(());
        }
    }
    Ok(())
}

const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// `resource.ParseQuantity`'s refusals.
fn quantity_check(text: &str) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QUANTITY_FORMAT.into());
    }
    let s = text.as_bytes();
    let mut pos = 0;
    if matches!(s[0], b'+' | b'-') {
        pos += 1;
    }
    while pos < s.len() && s[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < s.len() && s[pos] == b'.' {
        pos += 1;
        while pos < s.len() && s[pos].is_ascii_digit() {
            pos += 1;
        }
    }
    let suffix_start = pos;
    while pos < s.len() && b"eEinumkKMGTP".contains(&s[pos]) {
        pos += 1;
    }
    if pos < s.len() && matches!(s[pos], b'+' | b'-') {
        pos += 1;
    }
    while pos < s.len() && s[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < s.len() {
        return Err(QUANTITY_FORMAT.into());
    }
    let suffix = &text[suffix_start..];
    let known = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || (suffix.len() > 1
        && matches!(suffix.as_bytes()[0], b'e' | b'E')
        && suffix[1..].parse::<i32>().is_ok());
    if !known {
        return Err("unable to parse quantity's suffix".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::go_types;

    fn decode(plural: &str, group: &str, body: &str) -> Option<String> {
        let root = go_types::kind(group, plural).unwrap();
        check(&root, &Node::parse(body.as_bytes()).unwrap())
    }

    /// Answers of a real v1.36 server (after `cannot be handled as a <Kind>: `).
    #[test]
    fn wrong_types_are_worded_as_the_server_words_them() {
        let cm = |data: &str| {
            decode(
                "configmaps",
                "",
                &format!("{{\"metadata\":{{\"name\":\"c\"}},{data}}}"),
            )
        };
        assert_eq!(
            cm(r#""data":{"x":true}"#).unwrap(),
            "json: cannot unmarshal bool into Go struct field ConfigMap.data of type string"
        );
        assert_eq!(
            cm(r#""data":{"x":1.5}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        );
        assert_eq!(
            cm(r#""data":[]"#).unwrap(),
            "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string"
        );
        assert_eq!(cm(r#""data":{"x":null}"#), None);
        assert_eq!(
            cm(r#""binaryData":{"b":2},"data":{"a":1}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field ConfigMap.binaryData of type []uint8"
        );
        assert_eq!(
            cm(r#""binaryData":{"x":"YQ"}"#).unwrap(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            cm(r#""immutable":"yes""#).unwrap(),
            "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool"
        );
        assert_eq!(
            cm(r#""metadata2":1,"data":{"a":"b","a":2}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        );
        let cm_meta = |meta: &str| decode("configmaps", "", &format!("{{\"metadata\":{meta}}}"));
        assert_eq!(
            cm_meta(r#"{"name":"m","labels":{"a":1}}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"
        );
        assert_eq!(
            cm_meta(r#""x""#).unwrap(),
            "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta"
        );
        assert_eq!(
            cm_meta(r#"{"ownerReferences":[{"controller":"yes"}]}"#).unwrap(),
            "json: cannot unmarshal string into Go struct field OwnerReference.metadata.ownerReferences.controller of type bool"
        );
        assert_eq!(
            cm_meta(r#"{"generation":"1"}"#).unwrap(),
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.generation of type int64"
        );
        assert_eq!(
            cm_meta(r#"{"creationTimestamp":5}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"
        );
        let secret = |data: &str| decode("secrets", "", &format!("{{{data}}}"));
        assert_eq!(
            secret(r#""data":{"x":1}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"
        );
        assert_eq!(
            secret(r#""data":{"x":"YWJj!"}"#).unwrap(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            secret(r#""data":{"x":"YWJjZA"}"#).unwrap(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            secret(r#""data":{"x":"a b"}"#).unwrap(),
            "illegal base64 data at input byte 1"
        );
        assert_eq!(secret(r#""data":{"x":"YW\nJj"}"#), None);
        assert_eq!(
            secret(r#""stringData":{"x":1}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field Secret.stringData of type string"
        );
        assert_eq!(
            secret(r#""type":5"#).unwrap(),
            "json: cannot unmarshal number into Go struct field Secret.type of type v1.SecretType"
        );
        let spec = |s: &str| decode("deployments", "apps", &format!("{{\"spec\":{{{s}}}}}"));
        for (replicas, shown) in [
            ("\"3\"", "string"),
            ("1.5", "number 1.5"),
            ("3000000000", "number 3000000000"),
            ("true", "bool"),
            ("1e2", "number 1e2"),
            ("1.0", "number 1.0"),
        ] {
            assert_eq!(
                spec(&format!("\"replicas\":{replicas}")).unwrap(),
                format!(
                    "json: cannot unmarshal {shown} into Go struct field DeploymentSpec.spec.replicas of type int32"
                )
            );
        }
        assert_eq!(spec(r#""replicas":-1"#), None);
        assert_eq!(
            spec(r#""strategy":{"rollingUpdate":{"maxSurge":true}}"#).unwrap(),
            "json: cannot unmarshal bool into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32"
        );
        assert_eq!(
            spec(r#""strategy":{"rollingUpdate":{"maxSurge":1.5}}"#).unwrap(),
            "json: cannot unmarshal number 1.5 into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32"
        );
        assert_eq!(
            spec(r#""strategy":{"rollingUpdate":{"maxSurge":"x%"}}"#),
            None
        );
        assert_eq!(
            spec(r#""selector":"x""#).unwrap(),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.selector of type v1.LabelSelector"
        );
        let container = |c: &str| {
            spec(&format!(
                "\"template\":{{\"spec\":{{\"containers\":[{{\"name\":\"c\"{c}}}]}}}}"
            ))
        };
        assert_eq!(
            container(r#","ports":[{"containerPort":"80"}]"#).unwrap(),
            "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"
        );
        assert_eq!(
            container(r#","ports":[{"containerPort":80,"protocol":5}]"#).unwrap(),
            "json: cannot unmarshal number into Go struct field ContainerPort.spec.template.spec.containers.ports.protocol of type v1.Protocol"
        );
        assert_eq!(
            container(r#","args":"x""#).unwrap(),
            "json: cannot unmarshal string into Go struct field Container.spec.template.spec.containers.args of type []string"
        );
        assert_eq!(
            container(r#","args":[1]"#).unwrap(),
            "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.args of type string"
        );
        assert_eq!(
            container(r#","env":[{"name":"a","value":1}]"#).unwrap(),
            "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string"
        );
        assert_eq!(
            container(r#","resources":{"limits":{"cpu":true}}"#).unwrap(),
            QUANTITY_FORMAT
        );
        assert_eq!(
            container(r#","resources":{"limits":{"cpu":"abc"}}"#).unwrap(),
            QUANTITY_FORMAT
        );
        assert_eq!(container(r#","resources":{"limits":{"cpu":1.5}}"#), None);
        assert_eq!(
            container(r#","livenessProbe":{"httpGet":{"port":true}}"#).unwrap(),
            "json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.template.spec.containers.livenessProbe.ProbeHandler.httpGet.port of type int32"
        );
        assert_eq!(
            container(r#","livenessProbe":{"tcpSocket":{"port":"80"},"periodSeconds":"5"}"#)
                .unwrap(),
            "json: cannot unmarshal string into Go struct field Probe.spec.template.spec.containers.livenessProbe.periodSeconds of type int32"
        );
        assert_eq!(
            container(r#","securityContext":{"privileged":"true"}"#).unwrap(),
            "json: cannot unmarshal string into Go struct field SecurityContext.spec.template.spec.containers.securityContext.privileged of type bool"
        );
        let pod_spec = |s: &str| spec(&format!("\"template\":{{\"spec\":{{{s}}}}}"));
        assert_eq!(
            pod_spec(r#""tolerations":[{"key":"a","tolerationSeconds":"5"}]"#).unwrap(),
            "json: cannot unmarshal string into Go struct field Toleration.spec.template.spec.tolerations.tolerationSeconds of type int64"
        );
        assert_eq!(
            pod_spec(r#""volumes":[{"name":"v","hostPath":{"path":5}}]"#).unwrap(),
            "json: cannot unmarshal number into Go struct field HostPathVolumeSource.spec.template.spec.volumes.VolumeSource.hostPath.path of type string"
        );
        assert_eq!(
            pod_spec(r#""nodeSelector":{"a":1}"#).unwrap(),
            "json: cannot unmarshal number into Go struct field PodSpec.spec.template.spec.nodeSelector of type string"
        );
    }

    #[test]
    fn quantities_and_base64_as_go_reads_them() {
        for ok in ["1", "1.5", "100m", "1Gi", "1e3", "+1", "-1", "1.", "0"] {
            assert_eq!(quantity_check(ok), Ok(()), "{ok}");
        }
        for suffix in ["1kk", "1e", "1Mi5", "1m+3"] {
            assert_eq!(
                quantity_check(suffix).unwrap_err(),
                "unable to parse quantity's suffix"
            );
        }
        for format in ["", "1.5.5", "{}"] {
            assert_eq!(quantity_check(format).unwrap_err(), QUANTITY_FORMAT);
        }
        for ok in [" 1 ", "1E3", "+", ".5", "1e+3"] {
            assert_eq!(quantity_check(ok), Ok(()), "{ok}");
        }
        assert_eq!(quantity_check("1x").unwrap_err(), QUANTITY_FORMAT);
        for (text, at) in [
            ("!!", Some(0)),
            ("YQ", Some(0)),
            ("YQ==", None),
            ("YQ=", Some(3)),
            ("YWJj", None),
            ("YWJjZA==x", Some(8)),
            ("", None),
        ] {
            assert_eq!(base64_check(text).err(), at, "{text}");
        }
    }

    #[test]
    fn bodies_keep_their_order_and_number_text() {
        let node =
            Node::parse(br#" {"b": [1.0, -2e3, "x\"y"], "a": {"k": null, "t": true}} "#).unwrap();
        assert_eq!(
            node,
            Node::Object(vec![
                (
                    "b".into(),
                    Node::Array(vec![
                        Node::Number("1.0".into()),
                        Node::Number("-2e3".into()),
                        Node::String("x\"y".into())
                    ])
                ),
                (
                    "a".into(),
                    Node::Object(vec![
                        ("k".into(), Node::Null),
                        ("t".into(), Node::Bool(true))
                    ])
                ),
            ])
        );
    }
}
