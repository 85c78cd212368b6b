//! Pod Security admission as kube-apiserver enforces it: a pod created in a namespace labelled
//! `pod-security.kubernetes.io/enforce: baseline` or `restricted` is refused with 403
//! `pods "NAME" is forbidden: violates PodSecurity "LEVEL:VERSION": REASON (DETAIL), ...`.
//!
//! The checks, their order (baseline's by check ID, then restricted's own; restricted replaces
//! baseline's capability and hostPath checks with its stricter ones) and every message were
//! compared with a real v1.36 API server. Enforced here: host namespaces, hostPath volumes,
//! host ports, privileged containers, capabilities, seccomp profiles, and at `restricted`
//! privilege escalation, volume types, runAsNonRoot and runAsUser. Not modelled: AppArmor,
//! procMount, SELinux options, sysctls and Windows host processes (pods that set them are
//! let through), pod updates (only creates are judged), the `warn` and `audit` modes, and
//! the label validation on namespace writes.

use serde_json::Value;

pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
const VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";

/// Capabilities `baseline` lets a container add (the container runtimes' defaults).
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Volume types `restricted` allows.
const RESTRICTED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Baseline,
    Restricted,
}

/// Why `pod` may not be created in `namespace` (the text after `is forbidden: `), or None.
pub fn violation(namespace: &Value, pod: &Value) -> Option<String> {
    let labels = &namespace["metadata"]["labels"];
    let level = match labels[ENFORCE_LABEL].as_str() {
        Some("baseline") => Level::Baseline,
        Some("restricted") => Level::Restricted,
        _ => return None,
    };
    let version = labels[VERSION_LABEL].as_str().unwrap_or("latest");
    let spec = &pod["spec"];
    let mut checks: Vec<Option<(&str, String)>> = Vec::new();
    if level == Level::Baseline {
        checks.push(capabilities_baseline(spec));
    }
    checks.push(host_namespaces(spec));
    if level == Level::Baseline {
        checks.push(host_path_volumes(spec));
    }
    checks.push(host_ports(spec));
    checks.push(privileged(spec));
    if level == Level::Baseline {
        checks.push(seccomp(spec, false));
    }
    if level == Level::Restricted {
        checks.push(allow_privilege_escalation(spec));
        checks.push(capabilities_restricted(spec));
        checks.push(restricted_volumes(spec));
        checks.push(run_as_non_root(spec));
        checks.push(run_as_user(spec));
        checks.push(seccomp(spec, true));
    }
    let found: Vec<String> = checks
        .into_iter()
        .flatten()
        .map(|(reason, detail)| format!("{reason} ({detail})"))
        .collect();
    if found.is_empty() {
        return None;
    }
    let level = match level {
        Level::Baseline => "baseline",
        Level::Restricted => "restricted",
    };
    Some(format!(
        "violates PodSecurity \"{level}:{version}\": {}",
        found.join(", ")
    ))
}

/// Init containers, then containers (the order the API server names them in).
fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers"]
        .into_iter()
        .flat_map(move |k| spec[k].as_array().into_iter().flatten())
}

fn name(container: &Value) -> &str {
    container["name"].as_str().unwrap_or_default()
}

fn quoted(items: &[impl AsRef<str>]) -> String {
    items
        .iter()
        .map(|i| format!("\"{}\"", i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural<'a>(one: &'a str, many: &'a str, n: usize) -> &'a str {
    if n == 1 { one } else { many }
}

/// `container "a"` or `containers "a", "b"`.
fn containers_named(names: &[&str]) -> String {
    format!(
        "{} {}",
        plural("container", "containers", names.len()),
        quoted(names)
    )
}

fn sorted_unique(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

fn added_capabilities(container: &Value) -> Vec<&str> {
    container["securityContext"]["capabilities"]["add"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Containers adding capabilities outside `allowed`, and those capabilities.
fn forbidden_capabilities<'a>(
    spec: &'a Value,
    allowed: &[&str],
) -> Option<(Vec<&'a str>, Vec<String>)> {
    let mut bad = Vec::new();
    let mut caps = Vec::new();
    for c in containers(spec) {
        let forbidden: Vec<String> = added_capabilities(c)
            .into_iter()
            .filter(|cap| !allowed.contains(cap))
            .map(str::to_string)
            .collect();
        if !forbidden.is_empty() {
            bad.push(name(c));
            caps.extend(forbidden);
        }
    }
    (!bad.is_empty()).then(|| (bad, sorted_unique(caps)))
}

fn capabilities_baseline(spec: &Value) -> Option<(&'static str, String)> {
    let (bad, caps) = forbidden_capabilities(spec, &BASELINE_CAPABILITIES)?;
    Some((
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&bad),
            quoted(&caps)
        ),
    ))
}

fn host_namespaces(spec: &Value) -> Option<(&'static str, String)> {
    let set: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|k| spec[*k] == Value::Bool(true))
        .map(|k| format!("{k}=true"))
        .collect();
    (!set.is_empty()).then(|| ("host namespaces", set.join(", ")))
}

fn volumes(spec: &Value) -> impl Iterator<Item = &Value> {
    spec["volumes"].as_array().into_iter().flatten()
}

fn host_path_volumes(spec: &Value) -> Option<(&'static str, String)> {
    let bad: Vec<&str> = volumes(spec)
        .filter(|v| v.get("hostPath").is_some())
        .filter_map(|v| v["name"].as_str())
        .collect();
    (!bad.is_empty()).then(|| {
        (
            "hostPath volumes",
            format!(
                "{} {}",
                plural("volume", "volumes", bad.len()),
                quoted(&bad)
            ),
        )
    })
}

fn host_ports(spec: &Value) -> Option<(&'static str, String)> {
    let mut bad = Vec::new();
    let mut ports = Vec::new();
    for c in containers(spec) {
        let used: Vec<String> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["hostPort"].as_i64())
            .filter(|p| *p != 0)
            .map(|p| p.to_string())
            .collect();
        if !used.is_empty() {
            bad.push(name(c));
            ports.extend(used);
        }
    }
    if bad.is_empty() {
        return None;
    }
    // A set of strings: sorted as text.
    let ports = sorted_unique(ports);
    Some((
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_named(&bad),
            plural("uses", "use", bad.len()),
            plural("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
    ))
}

fn privileged(spec: &Value) -> Option<(&'static str, String)> {
    let bad: Vec<&str> = containers(spec)
        .filter(|c| c["securityContext"]["privileged"] == Value::Bool(true))
        .map(name)
        .collect();
    (!bad.is_empty()).then(|| {
        (
            "privileged",
            format!(
                "{} must not set securityContext.privileged=true",
                containers_named(&bad)
            ),
        )
    })
}

fn allow_privilege_escalation(spec: &Value) -> Option<(&'static str, String)> {
    let bad: Vec<&str> = containers(spec)
        .filter(|c| c["securityContext"]["allowPrivilegeEscalation"] != Value::Bool(false))
        .map(name)
        .collect();
    (!bad.is_empty()).then(|| {
        (
            "allowPrivilegeEscalation != false",
            format!(
                "{} must set securityContext.allowPrivilegeEscalation=false",
                containers_named(&bad)
            ),
        )
    })
}

fn capabilities_restricted(spec: &Value) -> Option<(&'static str, String)> {
    let no_drop_all: Vec<&str> = containers(spec)
        .filter(|c| {
            !c["securityContext"]["capabilities"]["drop"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == "ALL"))
        })
        .map(name)
        .collect();
    let mut details = Vec::new();
    if !no_drop_all.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_named(&no_drop_all)
        ));
    }
    if let Some((bad, caps)) = forbidden_capabilities(spec, &["NET_BIND_SERVICE"]) {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&bad),
            quoted(&caps)
        ));
    }
    (!details.is_empty()).then(|| ("unrestricted capabilities", details.join("; ")))
}

fn restricted_volumes(spec: &Value) -> Option<(&'static str, String)> {
    let mut bad = Vec::new();
    let mut types = Vec::new();
    for v in volumes(spec) {
        let Some(fields) = v.as_object() else {
            continue;
        };
        let kinds: Vec<String> = fields
            .keys()
            .filter(|k| *k != "name" && !RESTRICTED_VOLUMES.contains(&k.as_str()))
            .cloned()
            .collect();
        if !kinds.is_empty() {
            bad.push(v["name"].as_str().unwrap_or_default());
            types.extend(kinds);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let types = sorted_unique(types);
    Some((
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            plural("volume", "volumes", bad.len()),
            quoted(&bad),
            plural("uses", "use", bad.len()),
            plural(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            quoted(&types)
        ),
    ))
}

/// Explicit offenders (`pod and containers "a"`) win over containers that inherit nothing.
fn run_as_non_root(spec: &Value) -> Option<(&'static str, String)> {
    let pod = &spec["securityContext"]["runAsNonRoot"];
    let mut setters = Vec::new();
    if *pod == Value::Bool(false) {
        setters.push("pod".to_string());
    }
    let pod_ok = *pod == Value::Bool(true);
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in containers(spec) {
        match c["securityContext"]["runAsNonRoot"].as_bool() {
            Some(false) => explicit.push(name(c)),
            Some(true) => {}
            None if !pod_ok => implicit.push(name(c)),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_named(&explicit));
    }
    let reason = "runAsNonRoot != true";
    if !setters.is_empty() {
        return Some((
            reason,
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters.join(" and ")
            ),
        ));
    }
    (!implicit.is_empty()).then(|| {
        (
            reason,
            format!(
                "pod or {} must set securityContext.runAsNonRoot=true",
                containers_named(&implicit)
            ),
        )
    })
}

fn run_as_user(spec: &Value) -> Option<(&'static str, String)> {
    let mut setters = Vec::new();
    if spec["securityContext"]["runAsUser"].as_i64() == Some(0) {
        setters.push("pod".to_string());
    }
    let bad: Vec<&str> = containers(spec)
        .filter(|c| c["securityContext"]["runAsUser"].as_i64() == Some(0))
        .map(name)
        .collect();
    if !bad.is_empty() {
        setters.push(containers_named(&bad));
    }
    (!setters.is_empty()).then(|| {
        (
            "runAsUser=0",
            format!("{} must not set runAsUser=0", setters.join(" and ")),
        )
    })
}

/// Baseline refuses only `Unconfined`; restricted also wants every container covered by
/// `RuntimeDefault` or `Localhost`, on the pod or on the container.
fn seccomp(spec: &Value, restricted: bool) -> Option<(&'static str, String)> {
    let allowed = |t: &str| {
        if restricted {
            matches!(t, "RuntimeDefault" | "Localhost")
        } else {
            t != "Unconfined"
        }
    };
    let mut setters = Vec::new();
    let mut bad_types = Vec::new();
    let pod = spec["securityContext"]["seccompProfile"]["type"].as_str();
    if let Some(t) = pod
        && !allowed(t)
    {
        setters.push("pod".to_string());
        bad_types.push(t.to_string());
    }
    let pod_ok = pod.is_some_and(allowed);
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in containers(spec) {
        match c["securityContext"]["seccompProfile"]["type"].as_str() {
            Some(t) if !allowed(t) => {
                explicit.push(name(c));
                bad_types.push(t.to_string());
            }
            Some(_) => {}
            None if restricted && !pod_ok => implicit.push(name(c)),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_named(&explicit));
    }
    if !setters.is_empty() {
        return Some((
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.join(" and "),
                quoted(&sorted_unique(bad_types))
            ),
        ));
    }
    (!implicit.is_empty()).then(|| {
        (
            "seccompProfile",
            format!(
                "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                containers_named(&implicit)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    //! Every expected message is what a real v1.36 kube-apiserver answered for the same pod.
    use super::*;
    use serde_json::json;

    fn ns(level: &str) -> Value {
        json!({"metadata": {"name": "x", "labels": {ENFORCE_LABEL: level}}})
    }

    fn pod(spec: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": spec})
    }

    /// Violates nearly every check.
    fn bad() -> Value {
        json!({
            "hostNetwork": true, "hostPID": true, "hostIPC": true,
            "containers": [
                {"name": "a", "image": "x", "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN", "SYS_TIME", "CHOWN"]}},
                 "ports": [{"containerPort": 8080, "hostPort": 8080}, {"containerPort": 8081, "hostPort": 8081}]},
                {"name": "b", "image": "x", "securityContext": {"privileged": true, "runAsUser": 0, "runAsNonRoot": false, "capabilities": {"add": ["NET_RAW"]}},
                 "ports": [{"containerPort": 8082, "hostPort": 8082}]}
            ],
            "initContainers": [{"name": "i", "image": "x", "securityContext": {"privileged": true}}],
            "volumes": [{"name": "h1", "hostPath": {"path": "/"}}, {"name": "h2", "hostPath": {"path": "/x"}},
                        {"name": "e", "emptyDir": {}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}]
        })
    }

    #[test]
    fn baseline_names_every_violation_in_the_servers_order() {
        assert_eq!(
            violation(&ns("baseline"), &pod(bad())).unwrap(),
            "violates PodSecurity \"baseline:latest\": non-default capabilities (containers \"a\", \"b\" must not include \"NET_ADMIN\", \"NET_RAW\", \"SYS_TIME\" in securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), hostPath volumes (volumes \"h1\", \"h2\"), hostPort (containers \"a\", \"b\" use hostPorts 8080, 8081, 8082), privileged (containers \"i\", \"a\", \"b\" must not set securityContext.privileged=true)"
        );
    }

    #[test]
    fn restricted_replaces_and_adds_checks() {
        assert_eq!(
            violation(&ns("restricted"), &pod(bad())).unwrap(),
            "violates PodSecurity \"restricted:latest\": host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), hostPort (containers \"a\", \"b\" use hostPorts 8080, 8081, 8082), privileged (containers \"i\", \"a\", \"b\" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (containers \"i\", \"a\", \"b\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (containers \"i\", \"a\", \"b\" must set securityContext.capabilities.drop=[\"ALL\"]; containers \"a\", \"b\" must not include \"CHOWN\", \"NET_ADMIN\", \"NET_RAW\", \"SYS_TIME\" in securityContext.capabilities.add), restricted volume types (volumes \"h1\", \"h2\", \"n\" use restricted volume types \"hostPath\", \"nfs\"), runAsNonRoot != true (container \"b\" must not set securityContext.runAsNonRoot=false), runAsUser=0 (container \"b\" must not set runAsUser=0), seccompProfile (pod or containers \"i\", \"a\", \"b\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        );
    }

    #[test]
    fn lbctls_node_check_pod_is_refused_for_host_network_and_host_path() {
        let node_check = json!({
            "hostNetwork": true,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "check", "image": "busybox:1.37", "securityContext": {
                "privileged": false, "allowPrivilegeEscalation": false, "runAsNonRoot": true,
                "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "lib-modules", "hostPath": {"path": "/lib/modules", "type": "Directory"}}]
        });
        assert_eq!(
            violation(&ns("baseline"), &pod(node_check.clone())).unwrap(),
            "violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true), hostPath volumes (volume \"lib-modules\")"
        );
        assert_eq!(
            violation(&ns("restricted"), &pod(node_check.clone())).unwrap(),
            "violates PodSecurity \"restricted:latest\": host namespaces (hostNetwork=true), restricted volume types (volume \"lib-modules\" uses restricted volume type \"hostPath\")"
        );
        assert_eq!(violation(&ns("privileged"), &pod(node_check.clone())), None);
        assert_eq!(violation(&json!({"metadata": {}}), &pod(node_check)), None);
    }

    #[test]
    fn a_plain_container_and_capabilities() {
        let plain = json!({"containers": [{"name": "a", "image": "x"}]});
        assert_eq!(violation(&ns("baseline"), &pod(plain.clone())), None);
        assert_eq!(
            violation(&ns("restricted"), &pod(plain)).unwrap(),
            "violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"a\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"a\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"a\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"a\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        );
        let caps = json!({"containers": [{"name": "a", "image": "x", "securityContext": {"capabilities": {"add": ["NET_RAW", "SYS_ADMIN"], "drop": ["ALL"]}}}]});
        assert_eq!(
            violation(&ns("baseline"), &pod(caps.clone())).unwrap(),
            "violates PodSecurity \"baseline:latest\": non-default capabilities (container \"a\" must not include \"NET_RAW\", \"SYS_ADMIN\" in securityContext.capabilities.add)"
        );
        assert_eq!(
            violation(&ns("restricted"), &pod(caps)).unwrap(),
            "violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"a\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"a\" must not include \"NET_RAW\", \"SYS_ADMIN\" in securityContext.capabilities.add), runAsNonRoot != true (pod or container \"a\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"a\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        );
        let good = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "a", "image": "x", "securityContext": {"allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]});
        assert_eq!(violation(&ns("restricted"), &pod(good)), None);
    }

    #[test]
    fn explicit_offenders_are_named_with_the_pod_and_the_version_label() {
        let unconfined = json!({
            "securityContext": {"runAsUser": 0, "runAsNonRoot": false, "seccompProfile": {"type": "Unconfined"}},
            "containers": [
                {"name": "a", "image": "x", "securityContext": {"seccompProfile": {"type": "Unconfined"}, "runAsUser": 0}},
                {"name": "b", "image": "x", "securityContext": {"runAsNonRoot": true, "runAsUser": 1000}}
            ]
        });
        assert_eq!(
            violation(&ns("baseline"), &pod(unconfined.clone())).unwrap(),
            "violates PodSecurity \"baseline:latest\": seccompProfile (pod and container \"a\" must not set securityContext.seccompProfile.type to \"Unconfined\")"
        );
        assert_eq!(
            violation(&ns("restricted"), &pod(unconfined.clone())).unwrap(),
            "violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (containers \"a\", \"b\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (containers \"a\", \"b\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false), runAsUser=0 (pod and container \"a\" must not set runAsUser=0), seccompProfile (pod and container \"a\" must not set securityContext.seccompProfile.type to \"Unconfined\")"
        );
        let pinned =
            json!({"metadata": {"labels": {ENFORCE_LABEL: "baseline", VERSION_LABEL: "v1.30"}}});
        assert!(
            violation(&pinned, &pod(unconfined))
                .unwrap()
                .starts_with("violates PodSecurity \"baseline:v1.30\": seccompProfile")
        );
    }
}
