//! Field validation of writes (`?fieldValidation=Ignore|Warn|Strict`, Warn by default): fields
//! the kind's schema does not declare, and fields a JSON body sets twice.
//!
//! - Strict: 400 BadRequest, `<Kind> in version "<v>" cannot be handled as a <Kind>: strict
//!   decoding error: unknown field "spec.foo", duplicate field "metadata.name"` (server-side
//!   apply: `failed to create typed patch object (<gvk>): .spec.foo: field not declared in
//!   schema`).
//! - Warn: the write succeeds without the unknown fields, with one `Warning` header per field.
//! - Ignore: the write succeeds without the unknown fields.
//!
//! What is checked: custom resources against their CRD's structural schema (`properties`,
//! `items`, `additionalProperties`, `x-kubernetes-preserve-unknown-fields`,
//! `x-kubernetes-embedded-resource`); `metadata` of every kind against ObjectMeta; built-in kinds
//! by [`builtin_schema`]: the top-level fields of each kind lbctl touches, Service and workload
//! specs, pod templates and containers. Anything deeper in a built-in kind (probes, volumes,
//! securityContext, affinity, status, ...) is accepted as sent, and kinds without an entry are
//! not checked at all.

use crate::status::Status;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

/// `?fieldValidation=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    Ignore,
    Warn,
    Strict,
}

impl Directive {
    pub fn from_query(value: Option<&str>) -> Result<Directive, Status> {
        match value {
            None | Some("") | Some("Warn") => Ok(Directive::Warn),
            Some("Strict") => Ok(Directive::Strict),
            Some("Ignore") => Ok(Directive::Ignore),
            Some(other) => Err(Status::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// What a check found, as the API server words each finding.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Findings {
    pub unknown: Vec<String>,
    pub duplicates: Vec<String>,
}

impl Findings {
    pub fn is_empty(&self) -> bool {
        self.unknown.is_empty() && self.duplicates.is_empty()
    }

    /// `unknown field "spec.foo"`, `duplicate field "a"`, in that order.
    pub fn messages(&self) -> Vec<String> {
        self.unknown
            .iter()
            .map(|p| format!("unknown field {}", quote(p)))
            .chain(
                self.duplicates
                    .iter()
                    .map(|p| format!("duplicate field {}", quote(p))),
            )
            .collect()
    }

    /// The Strict answer of a create, update or patch.
    pub fn strict_error(&self, kind: &str, version: &str) -> Status {
        Status::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            self.messages().join(", ")
        ))
    }

    /// The Strict answer of a server-side apply (structured-merge-diff's wording).
    pub fn strict_apply_error(&self, api_version: &str, kind: &str) -> Status {
        let gv = if api_version.contains('/') {
            api_version.to_string()
        } else {
            format!("/{api_version}")
        };
        let fields: Vec<String> = self
            .unknown
            .iter()
            .map(|p| format!(".{p}: field not declared in schema"))
            .chain(
                self.duplicates
                    .iter()
                    .map(|p| format!(".{p}: duplicate field")),
            )
            .collect();
        Status::bad_request(format!(
            "failed to create typed patch object ({gv}, Kind={kind}): {}",
            fields.join(", ")
        ))
    }

    /// `Warning` header values (`299 - "unknown field \"spec.foo\""`).
    pub fn warnings(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| format!("299 - {}", quote(m)))
            .collect()
    }
}

/// A Go `%q`-style quoted string (what the server's messages and warnings use).
fn quote(text: &str) -> String {
    json!(text).to_string()
}

/// Removes the fields `schema` does not declare from `obj` and returns their paths. `metadata`
/// is checked against ObjectMeta whatever the schema says; `apiVersion` and `kind` are always
/// known.
pub fn prune_unknown(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(map) = obj.as_object_mut() else {
        return out;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                if let Some(meta) = map.get_mut("metadata") {
                    walk(&object_meta(), meta, "metadata", &mut out);
                }
            }
            _ => match schema.pointer(&format!("/properties/{}", escape(&key))) {
                Some(child) => {
                    if let Some(value) = map.get_mut(&key) {
                        walk(child, value, &key, &mut out);
                    }
                }
                None if open(schema) => {}
                None => {
                    map.remove(&key);
                    out.push(key);
                }
            },
        }
    }
    out
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Whether a schema node accepts members it does not list.
fn open(schema: &Value) -> bool {
    schema["x-kubernetes-preserve-unknown-fields"] == true || schema["additionalProperties"] == true
}

fn walk(schema: &Value, value: &mut Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => walk_object(schema, map, path, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn walk_object(schema: &Value, map: &mut Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    let embedded = schema["x-kubernetes-embedded-resource"] == true;
    if properties.is_none() && additional.is_none() && (open(schema) || !schema.is_object()) {
        return;
    }
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let child_path = format!("{path}.{key}");
        let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
        match child_schema {
            Some(child) => {
                if let Some(value) = map.get_mut(&key) {
                    walk(child, value, &child_path, out);
                }
            }
            None if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") => {}
            None if open(schema) => {}
            None => {
                map.remove(&key);
                out.push(child_path);
            }
        }
    }
}

/// The members of a JSON document that appear twice in the same object (paths as in
/// `spec.containers[0].name`). Bodies that are not JSON have none.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    let found = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Duplicates {
        path: String::new(),
        found: &found,
    };
    if seed.deserialize(&mut de).is_err() {
        return Vec::new();
    }
    found.into_inner()
}

struct Duplicates<'a> {
    path: String,
    found: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for Duplicates<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Duplicates<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                self.found.borrow_mut().push(path.clone());
            }
            map.next_value_seed(Duplicates {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Duplicates {
                path: format!("{}[{i}]", self.path),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The served version's structural schema of a CRD.
pub fn crd_schema(crd: &Value, version: &str) -> Option<Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v["name"] == version)?
        .pointer("/schema/openAPIV3Schema")
        .cloned()
}

/// A schema node that accepts anything below it.
fn any() -> Value {
    json!({"x-kubernetes-preserve-unknown-fields": true})
}

/// An object with exactly these members (each accepting anything below it).
fn fields(names: &[&str]) -> Value {
    with(names, &[])
}

/// An object with these members: `open_names` accept anything, `typed` have their own schema.
fn with(open_names: &[&str], typed: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for name in open_names {
        properties.insert((*name).to_string(), any());
    }
    for (name, schema) in typed {
        properties.insert((*name).to_string(), schema.clone());
    }
    json!({"type": "object", "properties": properties})
}

fn list_of(item: Value) -> Value {
    json!({"type": "array", "items": item})
}

fn object_meta() -> Value {
    fields(&[
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ])
}

fn container() -> Value {
    fields(&[
        "name",
        "image",
        "command",
        "args",
        "workingDir",
        "ports",
        "envFrom",
        "env",
        "resources",
        "resizePolicy",
        "restartPolicy",
        "restartPolicyRules",
        "volumeMounts",
        "volumeDevices",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "securityContext",
        "stdin",
        "stdinOnce",
        "tty",
    ])
}

fn pod_spec() -> Value {
    with(
        &[
            "volumes",
            "ephemeralContainers",
            "restartPolicy",
            "terminationGracePeriodSeconds",
            "activeDeadlineSeconds",
            "dnsPolicy",
            "nodeSelector",
            "serviceAccountName",
            "serviceAccount",
            "automountServiceAccountToken",
            "nodeName",
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "shareProcessNamespace",
            "securityContext",
            "imagePullSecrets",
            "hostname",
            "subdomain",
            "affinity",
            "schedulerName",
            "tolerations",
            "hostAliases",
            "priorityClassName",
            "priority",
            "dnsConfig",
            "readinessGates",
            "runtimeClassName",
            "enableServiceLinks",
            "preemptionPolicy",
            "overhead",
            "topologySpreadConstraints",
            "setHostnameAsFQDN",
            "os",
            "hostUsers",
            "schedulingGates",
            "resourceClaims",
            "resources",
            "hostnameOverride",
        ],
        &[
            ("containers", list_of(container())),
            ("initContainers", list_of(container())),
        ],
    )
}

fn pod_template() -> Value {
    with(&["metadata"], &[("spec", pod_spec())])
}

fn workload(spec_fields: &[&str]) -> Value {
    with(
        &["status"],
        &[("spec", with(spec_fields, &[("template", pod_template())]))],
    )
}

/// The schema of a built-in kind's top-level and well-known fields (by group and plural), or
/// `None` for kinds this server does not check.
pub fn builtin_schema(group: &str, plural: &str) -> Option<Value> {
    Some(match (group, plural) {
        ("", "configmaps") => fields(&["data", "binaryData", "immutable"]),
        ("", "secrets") => fields(&["data", "stringData", "type", "immutable"]),
        ("", "namespaces") | ("", "nodes") => fields(&["spec", "status"]),
        ("", "serviceaccounts") => fields(&[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ]),
        ("", "pods") => with(&["status"], &[("spec", pod_spec())]),
        ("", "services") => with(
            &["status"],
            &[(
                "spec",
                with(
                    &[
                        "selector",
                        "clusterIP",
                        "clusterIPs",
                        "type",
                        "externalIPs",
                        "sessionAffinity",
                        "loadBalancerIP",
                        "loadBalancerSourceRanges",
                        "externalName",
                        "externalTrafficPolicy",
                        "healthCheckNodePort",
                        "publishNotReadyAddresses",
                        "sessionAffinityConfig",
                        "ipFamilies",
                        "ipFamilyPolicy",
                        "allocateLoadBalancerNodePorts",
                        "loadBalancerClass",
                        "internalTrafficPolicy",
                        "trafficDistribution",
                    ],
                    &[(
                        "ports",
                        list_of(fields(&[
                            "name",
                            "protocol",
                            "appProtocol",
                            "port",
                            "targetPort",
                            "nodePort",
                        ])),
                    )],
                ),
            )],
        ),
        ("apps", "daemonsets") => workload(&[
            "selector",
            "updateStrategy",
            "minReadySeconds",
            "revisionHistoryLimit",
        ]),
        ("apps", "deployments") => workload(&[
            "replicas",
            "selector",
            "strategy",
            "minReadySeconds",
            "revisionHistoryLimit",
            "paused",
            "progressDeadlineSeconds",
        ]),
        ("apps", "replicasets") => workload(&["replicas", "minReadySeconds", "selector"]),
        ("rbac.authorization.k8s.io", "roles") => fields(&["rules"]),
        ("rbac.authorization.k8s.io", "clusterroles") => fields(&["rules", "aggregationRule"]),
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            fields(&["subjects", "roleRef"])
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => fields(&["spec", "status"]),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations") => {
            fields(&["webhooks"])
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_of_builtin_kinds_are_found_and_dropped() {
        let schema = builtin_schema("apps", "daemonsets").unwrap();
        let mut ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "x", "labelz": {}},
            "spec": {"selector": {}, "foo": 1, "template": {"metadata": {"labels": {}},
                "spec": {"hostNetwork": true, "containers": [{"name": "c", "imagePullPolice": "Always",
                    "securityContext": {"anything": true}}]}}},
            "extra": true});
        let found = prune_unknown(&schema, &mut ds);
        assert_eq!(
            found,
            [
                "extra",
                "metadata.labelz",
                "spec.foo",
                "spec.template.spec.containers[0].imagePullPolice"
            ]
        );
        assert!(ds.get("extra").is_none());
        assert!(ds["spec"].get("foo").is_none());
        assert_eq!(
            ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]["anything"],
            true
        );
    }

    #[test]
    fn crd_schemas_prune_like_structural_schemas() {
        let crd = json!({"spec": {"versions": [{"name": "v1beta1", "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "addresses": {"type": "array", "items": {"type": "string"}},
                    "serviceAllocation": {"type": "object", "properties": {"priority": {"type": "integer"}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                "status": {"type": "object"}}}}}]}});
        let schema = crd_schema(&crd, "v1beta1").unwrap();
        let mut pool = json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "p"},
            "spec": {"addresses": ["10.0.0.1/32"], "autoAsign": false,
                     "serviceAllocation": {"priority": 1, "prio": 2},
                     "labels": {"a": "b"}, "free": {"x": {"y": 1}}},
            "status": {"n": 1}});
        let found = prune_unknown(&schema, &mut pool);
        assert_eq!(
            found,
            ["spec.autoAsign", "spec.serviceAllocation.prio", "status.n"]
        );
        assert_eq!(pool["spec"]["free"]["x"]["y"], 1);
        assert_eq!(pool["spec"]["labels"]["a"], "b");
        assert!(crd_schema(&crd, "v1").is_none());
        let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
        let mut anything = json!({"spec": {"a": 1}, "more": 2});
        assert!(prune_unknown(&open, &mut anything).is_empty());
    }

    #[test]
    fn duplicates_and_messages() {
        let body = br#"{"metadata": {"name": "a", "name": "b"}, "data": [{"k": 1, "k": 2}], "x": 1, "x": 2}"#;
        let dups = duplicate_fields(body);
        assert_eq!(dups, ["metadata.name", "data[0].k", "x"]);
        assert!(
            duplicate_fields(b"key: value").is_empty(),
            "YAML is not checked here"
        );
        let findings = Findings {
            unknown: vec!["spec.foo".into()],
            duplicates: vec!["x".into()],
        };
        let status = findings.strict_error("ConfigMap", "v1");
        assert_eq!(status.code, 400);
        assert_eq!(
            status.message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"spec.foo\", duplicate field \"x\""
        );
        assert_eq!(
            findings.warnings(),
            [
                "299 - \"unknown field \\\"spec.foo\\\"\"",
                "299 - \"duplicate field \\\"x\\\"\""
            ]
        );
        assert_eq!(
            findings.strict_apply_error("v1", "ConfigMap").message,
            "failed to create typed patch object (/v1, Kind=ConfigMap): .spec.foo: field not declared in schema, .x: duplicate field"
        );
        assert_eq!(Directive::from_query(None).unwrap(), Directive::Warn);
        assert!(Directive::from_query(Some("strict")).is_err());
    }
}
