//! What kube-apiserver fills in on a write, so stored objects look like a real cluster's:
//! the scheme's defaults (applied on every create and update, as decoding does), what admission
//! and the registry add on create (service account, default tolerations, priority, the pod's
//! phase and QoS class; a Service's cluster IP and node ports), and the allocated values an
//! update of a Service may omit (the registry copies them from the stored object).

use crate::field_error::FieldError;
use crate::object_rules;
use crate::resources::ResourceType;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

/// The service range of a kubeadm cluster, used when no ServiceCIDR object exists.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";

const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

/// Cluster IPs and node ports handed out so far (never two Services with one of them).
#[derive(Debug, Default, Clone)]
pub struct Allocations {
    cluster_ips: HashSet<IpAddr>,
    node_ports: HashSet<u16>,
    next_ip: u32,
    next_port: u16,
}

/// An IPv4 service range (`10.96.0.0/12`): where cluster IPs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceRange {
    base: u32,
    size: u32,
}

impl ServiceRange {
    pub fn parse(cidr: &str) -> Option<ServiceRange> {
        let (ip, bits) = cidr.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let bits: u32 = bits.parse().ok().filter(|b| (8..=30).contains(b))?;
        let size = 1u32 << (32 - bits);
        Some(ServiceRange {
            base: u32::from(ip) & !(size - 1),
            size,
        })
    }

    /// The first IPv4 range of the ServiceCIDR objects, else kubeadm's default.
    pub fn of_service_cidrs<'a>(objects: impl IntoIterator<Item = &'a Value>) -> ServiceRange {
        objects
            .into_iter()
            .filter_map(|o| o.pointer("/spec/cidrs").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .find_map(ServiceRange::parse)
            .or_else(|| ServiceRange::parse(DEFAULT_SERVICE_CIDR))
            .expect("the default service CIDR parses")
    }
}

/// The scheme's defaults for `obj` of type `rt` (every write: decoding defaults the body).
pub fn scheme(rt: &ResourceType, obj: &mut Value) {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => {
            pod_spec(&mut obj["spec"]);
            requests_from_limits(&mut obj["spec"]);
        }
        ("", "services") => service_spec(&mut obj["spec"]),
        ("apps", "daemonsets") => {
            let spec = &mut obj["spec"];
            if spec.get("updateStrategy").is_none() {
                spec["updateStrategy"] = json!({"type": "RollingUpdate"});
            }
            if spec.pointer("/updateStrategy/type") == Some(&json!("RollingUpdate")) {
                let rolling = entry_object(&mut spec["updateStrategy"], "rollingUpdate");
                rolling.entry("maxUnavailable").or_insert(json!(1));
                rolling.entry("maxSurge").or_insert(json!(0));
            }
            set_absent(spec, "revisionHistoryLimit", json!(10));
            pod_spec(&mut spec["template"]["spec"]);
        }
        ("apps", "deployments") => {
            let spec = &mut obj["spec"];
            set_absent(spec, "replicas", json!(1));
            if spec.get("strategy").is_none() {
                spec["strategy"] = json!({"type": "RollingUpdate"});
            }
            if spec.pointer("/strategy/type") == Some(&json!("RollingUpdate")) {
                let rolling = entry_object(&mut spec["strategy"], "rollingUpdate");
                rolling.entry("maxUnavailable").or_insert(json!("25%"));
                rolling.entry("maxSurge").or_insert(json!("25%"));
            }
            set_absent(spec, "revisionHistoryLimit", json!(10));
            set_absent(spec, "progressDeadlineSeconds", json!(600));
            pod_spec(&mut spec["template"]["spec"]);
        }
        ("apps", "replicasets") => {
            set_absent(&mut obj["spec"], "replicas", json!(1));
            pod_spec(&mut obj["spec"]["template"]["spec"]);
        }
        _ => {}
    }
}

/// What admission and the registry add when `obj` is created.
pub fn on_create(
    rt: &ResourceType,
    obj: &mut Value,
    allocations: &mut Allocations,
    range: ServiceRange,
) {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => admit_pod(obj),
        ("", "services") => {
            allocate_service(&mut obj["spec"], allocations, range);
            if obj.get("status").is_none_or(Value::is_null) {
                obj["status"] = json!({"loadBalancer": {}});
            }
        }
        _ => {}
    }
}

/// An update of a Service may leave out what was allocated (kubectl apply does): the registry
/// keeps the stored values, refuses changed cluster IPs (the findings of
/// [`object_rules::service_cluster_ips`]), then allocates what a type change needs.
pub fn on_update(
    rt: &ResourceType,
    old: &Value,
    new: &mut Value,
    allocations: &mut Allocations,
    range: ServiceRange,
) -> Result<(), Vec<FieldError>> {
    if !(rt.group.is_empty() && rt.plural == "services") {
        return Ok(());
    }
    let (Some(old_spec), Some(spec)) = (old.get("spec"), new.get_mut("spec")) else {
        return Ok(());
    };
    let type_unchanged = old_spec.get("type") == spec.get("type");
    for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        let unset =
            |v: &Value| v.is_null() || v == "" || v.as_array().is_some_and(|a| a.is_empty());
        if spec.get(key).is_none_or(unset)
            && let Some(kept) = old_spec.get(key)
            && (type_unchanged || spec.get("type") != Some(&json!("ExternalName")))
        {
            spec[key] = kept.clone();
        }
    }
    if let (Some(old_ports), Some(ports)) = (
        old_spec.get("ports").and_then(Value::as_array),
        spec.get_mut("ports").and_then(Value::as_array_mut),
    ) {
        for port in ports.iter_mut().filter(|p| p.get("nodePort").is_none()) {
            let same = old_ports.iter().find(|o| {
                o.get("port") == port.get("port") && o.get("protocol") == port.get("protocol")
            });
            if let Some(node_port) = same.and_then(|o| o.get("nodePort")) {
                port["nodePort"] = node_port.clone();
            }
        }
    }
    let refused = object_rules::service_cluster_ips(old_spec, spec);
    if !refused.is_empty() {
        return Err(refused);
    }
    allocate_service(spec, allocations, range);
    Ok(())
}

fn set_absent(obj: &mut Value, key: &str, value: Value) {
    if let Some(map) = obj.as_object_mut() {
        map.entry(key).or_insert(value);
    }
}

fn entry_object<'a>(obj: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !obj.get(key).is_some_and(Value::is_object) {
        obj[key] = json!({});
    }
    obj[key].as_object_mut().expect("made an object above")
}

fn each_mut(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    value
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|items| items.iter_mut())
}

/// SetDefaults_PodSpec and the container, volume and probe defaults (pods and pod templates).
fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_absent(spec, "restartPolicy", json!("Always"));
    set_absent(spec, "dnsPolicy", json!("ClusterFirst"));
    set_absent(spec, "terminationGracePeriodSeconds", json!(30));
    set_absent(spec, "securityContext", json!({}));
    set_absent(spec, "schedulerName", json!("default-scheduler"));
    let host_network = spec.get("hostNetwork") == Some(&json!(true));
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for container in each_mut(spec.get_mut(list)) {
            container_defaults(container, host_network);
        }
    }
    for volume in each_mut(spec.get_mut("volumes")) {
        for source in ["configMap", "secret", "projected", "downwardAPI"] {
            if let Some(v) = volume.get_mut(source).filter(|v| v.is_object()) {
                set_absent(v, "defaultMode", json!(420));
            }
        }
        if let Some(host_path) = volume.get_mut("hostPath").filter(|v| v.is_object()) {
            set_absent(host_path, "type", json!(""));
        }
        if let Some(items) = volume.pointer_mut("/downwardAPI/items") {
            for item in each_mut(Some(items)) {
                field_ref(item);
            }
        }
    }
}

fn container_defaults(container: &mut Value, host_network: bool) {
    if !container.is_object() {
        return;
    }
    let pull = container
        .get("image")
        .and_then(Value::as_str)
        .map(image_pull_policy)
        .unwrap_or("IfNotPresent");
    set_absent(container, "imagePullPolicy", json!(pull));
    set_absent(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    set_absent(container, "terminationMessagePolicy", json!("File"));
    set_absent(container, "resources", json!({}));
    for port in each_mut(container.get_mut("ports")) {
        set_absent(port, "protocol", json!("TCP"));
        if host_network && let Some(number) = port.get("containerPort").cloned() {
            set_absent(port, "hostPort", number);
        }
    }
    for env in each_mut(container.get_mut("env")) {
        if let Some(from) = env.get_mut("valueFrom") {
            field_ref(from);
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = container.get_mut(probe).filter(|p| p.is_object()) {
            set_absent(probe, "timeoutSeconds", json!(1));
            set_absent(probe, "periodSeconds", json!(10));
            set_absent(probe, "successThreshold", json!(1));
            set_absent(probe, "failureThreshold", json!(3));
            if let Some(http) = probe.get_mut("httpGet").filter(|h| h.is_object()) {
                set_absent(http, "scheme", json!("HTTP"));
            }
        }
    }
}

/// SetDefaults_Pod: a resource a container limits but does not request is requested at
/// the limit.
fn requests_from_limits(spec: &mut Value) {
    for list in ["initContainers", "containers"] {
        for container in each_mut(spec.get_mut(list)) {
            let Some(limits) = container
                .pointer("/resources/limits")
                .and_then(Value::as_object)
                .cloned()
            else {
                continue;
            };
            let requests = entry_object(&mut container["resources"], "requests");
            for (resource, amount) in limits {
                requests.entry(resource).or_insert(amount);
            }
        }
    }
}

fn field_ref(holder: &mut Value) {
    if let Some(field) = holder.get_mut("fieldRef").filter(|f| f.is_object()) {
        set_absent(field, "apiVersion", json!("v1"));
    }
}

/// `Always` for `:latest` or an untagged image, otherwise `IfNotPresent` (digests included).
fn image_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// SetDefaults_Pod, the ServiceAccount, DefaultTolerationSeconds and Priority admission
/// plugins, and the pod registry's PrepareForCreate.
fn admit_pod(pod: &mut Value) {
    let spec = &mut pod["spec"];
    if !spec.is_object() {
        return;
    }
    set_absent(spec, "enableServiceLinks", json!(true));
    set_absent(spec, "priority", json!(0));
    set_absent(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let account = spec
        .get("serviceAccountName")
        .or_else(|| spec.get("serviceAccount"))
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .unwrap_or("default")
        .to_string();
    spec["serviceAccountName"] = json!(account);
    spec["serviceAccount"] = json!(account);
    if spec.get("automountServiceAccountToken") != Some(&json!(false)) {
        mount_service_account_token(spec);
    }
    default_tolerations(spec);
    let qos = qos_class(spec);
    let status = entry_object(pod, "status");
    status.entry("phase").or_insert(json!("Pending"));
    // PrepareForCreate computes the class from the spec, whatever the client sent.
    status.insert("qosClass".into(), json!(qos));
}

/// The projected token volume the ServiceAccount admission plugin adds and mounts.
fn mount_service_account_token(spec: &mut Value) {
    const MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
    let mounted = |c: &Value| {
        c.get("volumeMounts")
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|m| m["mountPath"] == MOUNT))
    };
    let name = format!("kube-api-access-{}", crate::meta::name_suffix());
    let mut used = false;
    for list in ["initContainers", "containers"] {
        for container in each_mut(spec.get_mut(list)) {
            if !container.is_object() || mounted(container) {
                continue;
            }
            if !container.get("volumeMounts").is_some_and(Value::is_array) {
                container["volumeMounts"] = json!([]);
            }
            container["volumeMounts"]
                .as_array_mut()
                .expect("made an array above")
                .push(json!({"name": name, "mountPath": MOUNT, "readOnly": true}));
            used = true;
        }
    }
    if !used {
        return;
    }
    if !spec.get("volumes").is_some_and(Value::is_array) {
        spec["volumes"] = json!([]);
    }
    spec["volumes"]
        .as_array_mut()
        .expect("made an array above")
        .push(json!({
            "name": name,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ],
            },
        }));
}

/// DefaultTolerationSeconds: 300 s for not-ready and unreachable unless the pod already
/// tolerates that taint's NoExecute effect (an empty key or effect matches too).
fn default_tolerations(spec: &mut Value) {
    let tolerations: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |key: &str| {
        tolerations.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or_default();
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or_default();
            (k == key || k.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let mut added = Vec::new();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(key) {
            added.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if added.is_empty() {
        return;
    }
    let mut all = tolerations;
    all.extend(added);
    spec["tolerations"] = Value::Array(all);
}

/// Guaranteed when every container limits CPU and memory with requests equal to the limits,
/// BestEffort when none requests or limits anything, Burstable otherwise.
fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .filter_map(|l| spec.get(*l).and_then(Value::as_array))
        .flatten()
        .collect();
    let amounts = |c: &Value, kind: &str| -> Map<String, Value> {
        c.pointer(&format!("/resources/{kind}"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    if containers
        .iter()
        .all(|c| amounts(c, "requests").is_empty() && amounts(c, "limits").is_empty())
    {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = amounts(c, "limits");
        let requests = amounts(c, "requests");
        ["cpu", "memory"].iter().all(|r| limits.contains_key(*r))
            && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The Service scheme defaults (type, session affinity, ports, traffic policies).
fn service_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_absent(spec, "type", json!("ClusterIP"));
    let kind = spec["type"].as_str().unwrap_or_default().to_string();
    if kind == "ExternalName" {
        return;
    }
    set_absent(spec, "sessionAffinity", json!("None"));
    if spec["sessionAffinity"] == "ClientIP" {
        let config = entry_object(spec, "sessionAffinityConfig");
        let client_ip = config.entry("clientIP").or_insert(json!({}));
        set_absent(client_ip, "timeoutSeconds", json!(10800));
    }
    for port in each_mut(spec.get_mut("ports")) {
        set_absent(port, "protocol", json!("TCP"));
        if let Some(number) = port.get("port").cloned() {
            set_absent(port, "targetPort", number);
        }
    }
    set_absent(spec, "internalTrafficPolicy", json!("Cluster"));
    if kind == "NodePort" || kind == "LoadBalancer" {
        set_absent(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        set_absent(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

/// The service registry's allocations: a cluster IP (unless headless or ExternalName), the
/// IP family fields, and node ports for NodePort and LoadBalancer Services.
fn allocate_service(spec: &mut Value, allocations: &mut Allocations, range: ServiceRange) {
    if !spec.is_object() || spec["type"] == "ExternalName" {
        return;
    }
    let given = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .filter(|ip| !ip.is_empty())
        .map(str::to_string);
    let ip = match given {
        Some(ip) => {
            if let Ok(parsed) = ip.parse() {
                allocations.cluster_ips.insert(parsed);
            }
            ip
        }
        None => allocations.cluster_ip(range).to_string(),
    };
    spec["clusterIP"] = json!(ip);
    if !spec.get("clusterIPs").is_some_and(Value::is_array) {
        spec["clusterIPs"] = json!([ip]);
    }
    if ip != "None" {
        let family = if ip.contains(':') { "IPv6" } else { "IPv4" };
        set_absent(spec, "ipFamilies", json!([family]));
    } else {
        set_absent(spec, "ipFamilies", json!(["IPv4"]));
    }
    set_absent(spec, "ipFamilyPolicy", json!("SingleStack"));
    let needs_ports = spec["type"] == "NodePort"
        || (spec["type"] == "LoadBalancer"
            && spec["allocateLoadBalancerNodePorts"] != json!(false));
    for port in each_mut(spec.get_mut("ports")) {
        match port.get("nodePort").and_then(Value::as_u64) {
            Some(n) => {
                allocations.node_ports.insert(n as u16);
            }
            None if needs_ports => port["nodePort"] = json!(allocations.node_port()),
            None => {}
        }
    }
}

impl Allocations {
    /// The next free address of the range, skipping the network address and the first host
    /// (the `kubernetes` Service's).
    fn cluster_ip(&mut self, range: ServiceRange) -> IpAddr {
        let hosts = range.size.saturating_sub(3).max(1);
        for _ in 0..hosts {
            let offset = 2 + self.next_ip % hosts;
            self.next_ip = self.next_ip.wrapping_add(1);
            let ip = IpAddr::V4(Ipv4Addr::from(range.base + offset));
            if self.cluster_ips.insert(ip) {
                return ip;
            }
        }
        // A full range: the real allocator fails the create; repeating an address is the
        // smaller lie for a simulator whose scenarios never fill a /12.
        IpAddr::V4(Ipv4Addr::from(range.base + 2))
    }

    fn node_port(&mut self) -> u16 {
        let span = NODE_PORTS.end() - NODE_PORTS.start() + 1;
        for _ in 0..span {
            let port = NODE_PORTS.start() + self.next_port % span;
            self.next_port = self.next_port.wrapping_add(1) % span;
            if self.node_ports.insert(port) {
                return port;
            }
        }
        *NODE_PORTS.start()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    fn rt(group: &str, kind: &str) -> std::sync::Arc<ResourceType> {
        let api_version = if group.is_empty() {
            "v1".to_string()
        } else {
            format!("{group}/v1")
        };
        Registry::builtin()
            .by_kind(&api_version, kind)
            .expect("a built-in kind")
    }

    fn range() -> ServiceRange {
        ServiceRange::parse(DEFAULT_SERVICE_CIDR).unwrap()
    }

    #[test]
    fn pods_get_the_defaults_a_real_api_server_fills_in() {
        let pods = rt("", "Pod");
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]}});
        scheme(&pods, &mut pod);
        on_create(&pods, &mut pod, &mut Allocations::default(), range());
        let spec = &pod["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["priority"], 0);
        let c = &spec["containers"][0];
        assert_eq!(
            c["imagePullPolicy"], "Always",
            "untagged images are pulled always"
        );
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert!(
            c["ports"][0].get("hostPort").is_none(),
            "only with hostNetwork"
        );
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        let token = c["volumeMounts"][0]["name"].as_str().unwrap();
        assert!(token.starts_with("kube-api-access-"));
        assert_eq!(spec["volumes"][0]["name"], token);
        let keys: Vec<&Value> = spec["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| &t["key"])
            .collect();
        assert_eq!(
            keys,
            [
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable"
            ]
        );
        assert_eq!(
            pod["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
    }

    #[test]
    fn a_pod_tolerating_everything_gets_no_default_tolerations_and_opting_out_no_token() {
        let pods = rt("", "Pod");
        let mut pod = json!({"spec": {"hostNetwork": true, "automountServiceAccountToken": false,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "c", "image": "busybox:1.37", "ports": [{"containerPort": 7946}],
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
        scheme(&pods, &mut pod);
        on_create(&pods, &mut pod, &mut Allocations::default(), range());
        assert_eq!(pod["spec"]["tolerations"], json!([{"operator": "Exists"}]));
        assert!(pod["spec"].get("volumes").is_none());
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(
            c["ports"][0]["hostPort"], 7946,
            "host network: hostPort = containerPort"
        );
        assert_eq!(
            pod["status"]["qosClass"], "Guaranteed",
            "limits only: requests default to them"
        );
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:latest"), "Always");
        assert_eq!(image_pull_policy("registry:5000/nginx"), "Always");
        assert_eq!(
            image_pull_policy("registry:5000/nginx:1.27"),
            "IfNotPresent"
        );
        assert_eq!(image_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn workloads_get_their_strategies_and_template_defaults() {
        let mut ds = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        scheme(&rt("apps", "DaemonSet"), &mut ds);
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(ds["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        assert!(
            ds["spec"]["template"]["spec"]
                .get("serviceAccountName")
                .is_none(),
            "admission only runs for pods"
        );
        let mut on_delete =
            json!({"spec": {"updateStrategy": {"type": "OnDelete"}, "template": {"spec": {}}}});
        scheme(&rt("apps", "DaemonSet"), &mut on_delete);
        assert_eq!(
            on_delete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );
        let mut deploy = json!({"spec": {"template": {"spec": {"containers": []}}}});
        scheme(&rt("apps", "Deployment"), &mut deploy);
        assert_eq!(deploy["spec"]["replicas"], 1);
        assert_eq!(
            deploy["spec"]["strategy"]["rollingUpdate"],
            json!({"maxUnavailable": "25%", "maxSurge": "25%"})
        );
        assert_eq!(deploy["spec"]["progressDeadlineSeconds"], 600);
    }

    #[test]
    fn services_get_unique_cluster_ips_and_node_ports_kept_across_updates() {
        let services = rt("", "Service");
        let mut allocations = Allocations::default();
        let lb = |name: &str| json!({"metadata": {"name": name}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        let mut a = lb("a");
        scheme(&services, &mut a);
        on_create(&services, &mut a, &mut allocations, range());
        let mut b = lb("b");
        scheme(&services, &mut b);
        on_create(&services, &mut b, &mut allocations, range());
        let spec = &a["spec"];
        assert_eq!(spec["clusterIPs"], json!([spec["clusterIP"]]));
        assert!(spec["clusterIP"].as_str().unwrap().starts_with("10.9"));
        assert_ne!(spec["clusterIP"], b["spec"]["clusterIP"]);
        assert_eq!(spec["ports"][0]["targetPort"], 80);
        assert_eq!(spec["externalTrafficPolicy"], "Cluster");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(a["status"], json!({"loadBalancer": {}}));
        let port = spec["ports"][0]["nodePort"].as_u64().unwrap();
        assert!(NODE_PORTS.contains(&(port as u16)));
        assert_ne!(
            spec["ports"][0]["nodePort"],
            b["spec"]["ports"][0]["nodePort"]
        );

        // An apply of the original manifest leaves out what was allocated: it is kept.
        let mut again = lb("a");
        scheme(&services, &mut again);
        on_update(&services, &a, &mut again, &mut allocations, range()).unwrap();
        assert_eq!(again["spec"], a["spec"]);

        let mut headless =
            json!({"spec": {"clusterIP": "None", "ports": [{"port": 53, "protocol": "UDP"}]}});
        scheme(&services, &mut headless);
        on_create(&services, &mut headless, &mut allocations, range());
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
        assert!(headless["spec"]["ports"][0].get("nodePort").is_none());
    }

    #[test]
    fn the_service_range_comes_from_the_first_service_cidr() {
        let cidrs = [json!({"spec": {"cidrs": ["fd00::/108", "172.20.0.0/16"]}})];
        let range = ServiceRange::of_service_cidrs(&cidrs);
        assert_eq!(range, ServiceRange::parse("172.20.0.0/16").unwrap());
        let mut allocations = Allocations::default();
        assert_eq!(allocations.cluster_ip(range).to_string(), "172.20.0.2");
        assert_eq!(
            ServiceRange::of_service_cidrs([]),
            ServiceRange::parse("10.96.0.0/12").unwrap()
        );
    }
}
