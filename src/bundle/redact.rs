//! What a support bundle may hold of an object: pure rules, applied to every object before it
//! is written. Secrets keep only their name, type and data keys; literal env values of MetalLB's
//! containers are redacted unless known harmless; bookkeeping that only adds bulk is dropped.

use serde_json::{Value, json};

/// MetalLB's own variables whose literal values are configuration, never credentials. Any
/// other literal `env[].value` is replaced: a user may have put a secret there.
pub const HARMLESS_ENV: [&str; 13] = [
    "METALLB_NODE_NAME",
    "METALLB_HOST",
    "METALLB_ML_BIND_ADDR",
    "METALLB_ML_BIND_PORT",
    "METALLB_ML_LABELS",
    "METALLB_ML_NAMESPACE",
    "METALLB_ML_SECRET_KEY_PATH",
    "METALLB_ML_SECRET_NAME",
    "METALLB_POD_NAME",
    "METALLB_DEPLOYMENT",
    "METALLB_BGP_TYPE",
    "METALLB_PORT",
    "METALLB_NAMESPACE",
];

/// The text that replaces a literal env value.
pub const REDACTED_ENV: &str = "<redacted by lbctl: not a known MetalLB variable>";

/// The annotation `kubectl apply` keeps: a full copy of the object as applied, env included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops `metadata.managedFields` and the last-applied copy (it would repeat what is redacted).
pub fn strip_bookkeeping(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove(LAST_APPLIED);
        }
    }
}

/// A Secret as name, namespace, type and the names of its keys; no value, raw or encoded.
pub fn secret(obj: &Value) -> Value {
    let keys = |field: &str| -> Vec<String> {
        obj.get(field)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut data_keys = keys("data");
    for k in keys("stringData") {
        if !data_keys.contains(&k) {
            data_keys.push(k);
        }
    }
    json!({
        "name": obj.pointer("/metadata/name"),
        "namespace": obj.pointer("/metadata/namespace"),
        "type": obj.get("type"),
        "dataKeys": data_keys,
    })
}

/// Replaces the literal value of every env variable not in [`HARMLESS_ENV`] in the containers
/// of a pod or of a workload's pod template; `valueFrom` references (no value) stay as they are.
pub fn env_values(obj: &mut Value) {
    for spec in ["/spec", "/spec/template/spec"] {
        let Some(spec) = obj.pointer_mut(spec) else {
            continue;
        };
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
                continue;
            };
            for env in containers
                .iter_mut()
                .filter_map(|c| c.get_mut("env").and_then(Value::as_array_mut))
                .flatten()
            {
                let harmless = env
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| HARMLESS_ENV.contains(&n));
                if let Some(value) = env.get_mut("value")
                    && !harmless
                {
                    *value = json!(REDACTED_ENV);
                }
            }
        }
    }
}

/// A Node without what only adds bulk: the image list (often hundreds of entries).
pub fn node(obj: &mut Value) {
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
        status.remove("images");
    }
}

/// The ValidatingWebhookConfiguration's `caBundle`s are the CA certificate from MetalLB's cert
/// Secret: replaced by their length and SHA-256, enough to compare (LB408 does) without the value.
pub fn ca_bundles(obj: &mut Value) {
    let Some(hooks) = obj.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return;
    };
    for hook in hooks {
        if let Some(ca) = hook.pointer_mut("/clientConfig/caBundle") {
            let text = ca.as_str().unwrap_or_default();
            let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
            let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            *ca = json!(format!(
                "<redacted by lbctl: {} bytes, sha256 {hex}>",
                text.len()
            ));
        }
    }
}

/// An error that stopped doctor, as a bundle may hold it: its first line, and a kubeconfig the
/// parser could not read named by its path only (the parser's message quotes the lines around
/// the fault, which may hold a token or a key).
pub fn error(err: &crate::Error) -> crate::output::ErrorMessage {
    let message = match err {
        crate::Error::KubeconfigRead { path, .. } => format!(
            "cannot read kubeconfig {}: the parser's message is left out of the bundle (it \
quotes the file); run the command again to see it",
            path.display()
        ),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    crate::output::ErrorMessage {
        message,
        hint: err.hint(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_kubeconfig_is_named_without_its_content() {
        let err = crate::Error::KubeconfigRead {
            path: "/home/u/.kube/config".into(),
            reason: "failed to parse kubeconfig YAML\n5 |   user: {token: s3cr3t-t0ken".into(),
        };
        let shown = error(&err);
        assert!(
            shown
                .message
                .starts_with("cannot read kubeconfig /home/u/.kube/config: ")
        );
        assert!(!shown.message.contains("s3cr3t"), "{}", shown.message);
        assert_eq!(shown.hint, err.hint());
        let err = crate::Error::KubeconfigInvalid {
            reason: "context \"x\" not found (contexts: a)\n  | client-key-data: S3CR3T".into(),
        };
        assert_eq!(
            error(&err).message,
            "invalid kubeconfig: context \"x\" not found (contexts: a)"
        );
    }

    #[test]
    fn secrets_keep_name_type_and_keys_only() {
        let s = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "memberlist", "namespace": "metallb-system",
                         "annotations": {"note": "c2VjcmV0"}},
            "data": {"secretkey": "c2VjcmV0"}, "stringData": {"extra": "plain-secret"}});
        let out = secret(&s);
        assert_eq!(
            out,
            json!({"name": "memberlist", "namespace": "metallb-system", "type": "Opaque",
                   "dataKeys": ["secretkey", "extra"]})
        );
        let text = out.to_string();
        assert!(!text.contains("c2VjcmV0") && !text.contains("plain-secret"));
    }

    #[test]
    fn env_values_are_redacted_unless_known_harmless() {
        let container = json!({"name": "speaker", "env": [
            {"name": "METALLB_ML_LABELS", "value": "app=metallb,component=speaker"},
            {"name": "METALLB_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "PROXY_PASSWORD", "value": "hunter2"},
            {"name": "EMPTY", "value": ""}]});
        let mut pod = json!({"kind": "Pod", "spec": {"containers": [container.clone()],
                                                       "initContainers": [container.clone()]}});
        let mut ds = json!({"kind": "DaemonSet",
                            "spec": {"template": {"spec": {"containers": [container]}}}});
        env_values(&mut pod);
        env_values(&mut ds);
        for env in [
            &pod["spec"]["containers"][0]["env"],
            &pod["spec"]["initContainers"][0]["env"],
            &ds["spec"]["template"]["spec"]["containers"][0]["env"],
        ] {
            assert_eq!(env[0]["value"], "app=metallb,component=speaker");
            assert_eq!(
                env[1]["valueFrom"]["fieldRef"]["fieldPath"],
                "spec.nodeName"
            );
            assert!(env[1].get("value").is_none());
            assert_eq!(env[2]["value"], REDACTED_ENV);
            assert_eq!(env[3]["value"], REDACTED_ENV);
        }
    }

    #[test]
    fn bookkeeping_and_node_images_go() {
        let mut obj = json!({"metadata": {"name": "w1", "managedFields": [{"manager": "x"}],
            "annotations": {LAST_APPLIED: "{\"env\":\"secret\"}", "keep": "yes"}},
            "status": {"images": [{"names": ["a"]}], "conditions": []}});
        strip_bookkeeping(&mut obj);
        node(&mut obj);
        assert_eq!(
            obj,
            json!({"metadata": {"name": "w1", "annotations": {"keep": "yes"}},
                   "status": {"conditions": []}})
        );
    }

    #[test]
    fn ca_bundles_become_a_digest() {
        let mut hook = json!({"webhooks": [{"name": "a", "clientConfig": {"caBundle": "Q0EK"}},
                                           {"name": "b", "clientConfig": {"service": {}}}]});
        ca_bundles(&mut hook);
        let ca = hook["webhooks"][0]["clientConfig"]["caBundle"]
            .as_str()
            .unwrap();
        assert!(
            ca.starts_with("<redacted by lbctl: 4 bytes, sha256 "),
            "{ca}"
        );
        assert!(!ca.contains("Q0EK"));
        assert!(
            hook["webhooks"][1]["clientConfig"]
                .get("caBundle")
                .is_none()
        );
    }
}
