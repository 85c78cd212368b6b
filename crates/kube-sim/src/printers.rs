//! Server-side printing: the columns and cells kube-apiserver puts in a `meta.k8s.io/v1` Table
//! for `kubectl get` (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`). Built-in kinds
//! follow the real printers (`pkg/printers/internalversion`); custom resources use their CRD's
//! `additionalPrinterColumns`; every other kind gets the default Name / Created At pair.
//! Every row holds a cell for every column; `priority: 1` columns are the ones `-o wide` shows.

use jiff::Timestamp;
use serde_json::{Value, json};

/// One column of a Table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub kind: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
}

impl Column {
    fn new(name: &str, kind: &str, priority: i64, description: &str) -> Column {
        Column {
            name: name.into(),
            kind: kind.into(),
            format: if name == "Name" {
                "name".into()
            } else {
                String::new()
            },
            description: description.into(),
            priority,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"name": self.name, "type": self.kind, "format": self.format,
               "description": self.description, "priority": self.priority})
    }
}

/// How a custom resource is printed: its CRD's columns for the served version.
#[derive(Debug, Clone)]
pub struct CustomColumn {
    pub column: Column,
    pub path: Vec<PathStep>,
}

/// A step of a printer column's (simple) JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// What prints one kind.
#[derive(Debug, Clone)]
pub enum Printer {
    Builtin(&'static str),
    Custom(Vec<CustomColumn>),
    Default,
}

/// The built-in kinds (group, plural) with printers of their own.
const BUILTIN: &[(&str, &str)] = &[
    ("", "nodes"),
    ("", "pods"),
    ("", "services"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "namespaces"),
    ("", "events"),
    ("apps", "daemonsets"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
];

const NAME: &str = "Name must be unique within a namespace.";
const AGE: &str = "Time since the object was created (metadata.creationTimestamp).";

impl Printer {
    /// The printer of a built-in kind (by group and plural), or the default one.
    pub fn builtin(group: &str, plural: &str) -> Printer {
        BUILTIN
            .iter()
            .find(|(g, p)| *g == group && *p == plural)
            .map_or(Printer::Default, |(_, p)| Printer::Builtin(p))
    }

    /// The printer of a custom resource from its CRD (the served `version`'s
    /// `additionalPrinterColumns`; without any, the API server prints Age).
    pub fn custom(crd: &Value, version: &str) -> Printer {
        let declared = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .and_then(|vs| vs.iter().find(|v| v["name"] == version))
            .and_then(|v| v.get("additionalPrinterColumns"))
            .and_then(Value::as_array);
        let columns = match declared {
            Some(cols) => cols
                .iter()
                .filter_map(|c| {
                    Some(CustomColumn {
                        column: Column {
                            name: c.get("name")?.as_str()?.to_string(),
                            kind: c.get("type")?.as_str()?.to_string(),
                            format: c["format"].as_str().unwrap_or_default().to_string(),
                            description: c["description"].as_str().unwrap_or_default().to_string(),
                            priority: c["priority"].as_i64().unwrap_or(0),
                        },
                        path: parse_path(c.get("jsonPath")?.as_str()?)?,
                    })
                })
                .collect(),
            None => vec![CustomColumn {
                column: Column::new("Age", "date", 0, AGE),
                path: parse_path(".metadata.creationTimestamp").unwrap_or_default(),
            }],
        };
        Printer::Custom(columns)
    }

    pub fn columns(&self) -> Vec<Column> {
        let c = Column::new;
        // Events are the one kind whose Name column is not the first (and only in -o wide).
        let mut out = match self {
            Printer::Builtin("events") => Vec::new(),
            _ => vec![c("Name", "string", 0, NAME)],
        };
        let rest: Vec<Column> = match self {
            Printer::Default => vec![c(
                "Created At",
                "date",
                0,
                "When the object was created (metadata.creationTimestamp).",
            )],
            Printer::Custom(cols) => cols.iter().map(|cc| cc.column.clone()).collect(),
            Printer::Builtin(kind) => match *kind {
                "nodes" => vec![
                    c("Status", "string", 0, "The status of the node."),
                    c("Roles", "string", 0, "The roles of the node."),
                    c("Age", "string", 0, AGE),
                    c(
                        "Version",
                        "string",
                        0,
                        "Kubelet version reported by the node.",
                    ),
                    c("Internal-IP", "string", 1, "The node's internal addresses."),
                    c("External-IP", "string", 1, "The node's external addresses."),
                    c(
                        "OS-Image",
                        "string",
                        1,
                        "The OS image reported by the node.",
                    ),
                    c(
                        "Kernel-Version",
                        "string",
                        1,
                        "The kernel reported by the node.",
                    ),
                    c(
                        "Container-Runtime",
                        "string",
                        1,
                        "The container runtime reported by the node.",
                    ),
                ],
                "pods" => vec![
                    c("Ready", "string", 0, "Ready containers of all containers."),
                    c(
                        "Status",
                        "string",
                        0,
                        "The aggregate status of the containers in this pod.",
                    ),
                    c(
                        "Restarts",
                        "string",
                        0,
                        "The number of container restarts, and how long ago the last one was.",
                    ),
                    c("Age", "string", 0, AGE),
                    c("IP", "string", 1, "The IP address assigned to the pod."),
                    c("Node", "string", 1, "The node the pod is bound to."),
                    c(
                        "Nominated Node",
                        "string",
                        1,
                        "The node the pod was nominated for by preemption.",
                    ),
                    c(
                        "Readiness Gates",
                        "string",
                        1,
                        "Readiness gates met of all gates.",
                    ),
                ],
                "services" => vec![
                    c("Type", "string", 0, "How the Service is exposed."),
                    c(
                        "Cluster-IP",
                        "string",
                        0,
                        "The IP address of the Service in the cluster.",
                    ),
                    c(
                        "External-IP",
                        "string",
                        0,
                        "Addresses the Service is reachable at from outside.",
                    ),
                    c("Port(s)", "string", 0, "The ports the Service exposes."),
                    c("Age", "string", 0, AGE),
                    c(
                        "Selector",
                        "string",
                        1,
                        "The labels of the pods the Service sends traffic to.",
                    ),
                ],
                "daemonsets" => vec![
                    c(
                        "Desired",
                        "integer",
                        0,
                        "Nodes that should run the daemon pod.",
                    ),
                    c(
                        "Current",
                        "integer",
                        0,
                        "Nodes running at least one daemon pod.",
                    ),
                    c("Ready", "integer", 0, "Nodes whose daemon pod is ready."),
                    c(
                        "Up-to-date",
                        "integer",
                        0,
                        "Nodes running the current pod template.",
                    ),
                    c(
                        "Available",
                        "integer",
                        0,
                        "Nodes whose daemon pod is available.",
                    ),
                    c(
                        "Node Selector",
                        "string",
                        0,
                        "The pod template's node selector.",
                    ),
                    c("Age", "string", 0, AGE),
                    c(
                        "Containers",
                        "string",
                        1,
                        "Names of each container in the template.",
                    ),
                    c(
                        "Images",
                        "string",
                        1,
                        "Images of each container in the template.",
                    ),
                    c("Selector", "string", 1, "The label selector of the pods."),
                ],
                "deployments" => vec![
                    c("Ready", "string", 0, "Ready replicas of desired replicas."),
                    c(
                        "Up-to-date",
                        "integer",
                        0,
                        "Replicas running the current pod template.",
                    ),
                    c("Available", "integer", 0, "Available replicas."),
                    c("Age", "string", 0, AGE),
                    c(
                        "Containers",
                        "string",
                        1,
                        "Names of each container in the template.",
                    ),
                    c(
                        "Images",
                        "string",
                        1,
                        "Images of each container in the template.",
                    ),
                    c("Selector", "string", 1, "The label selector of the pods."),
                ],
                "replicasets" => vec![
                    c("Desired", "integer", 0, "Desired replicas."),
                    c("Current", "integer", 0, "Current replicas."),
                    c("Ready", "integer", 0, "Ready replicas."),
                    c("Age", "string", 0, AGE),
                    c(
                        "Containers",
                        "string",
                        1,
                        "Names of each container in the template.",
                    ),
                    c(
                        "Images",
                        "string",
                        1,
                        "Images of each container in the template.",
                    ),
                    c("Selector", "string", 1, "The label selector of the pods."),
                ],
                "configmaps" => vec![
                    c(
                        "Data",
                        "integer",
                        0,
                        "Number of keys (data and binaryData).",
                    ),
                    c("Age", "string", 0, AGE),
                ],
                "secrets" => vec![
                    c("Type", "string", 0, "The type of the secret."),
                    c("Data", "integer", 0, "Number of keys."),
                    c("Age", "string", 0, AGE),
                ],
                "serviceaccounts" => vec![
                    c(
                        "Secrets",
                        "integer",
                        0,
                        "Number of secrets listed by the service account.",
                    ),
                    c("Age", "string", 0, AGE),
                ],
                "namespaces" => vec![
                    c("Status", "string", 0, "The phase of the namespace."),
                    c("Age", "string", 0, AGE),
                ],
                _ => vec![
                    c(
                        "Last Seen",
                        "string",
                        0,
                        "Time since the event was last observed.",
                    ),
                    c("Type", "string", 0, "Normal or Warning."),
                    c("Reason", "string", 0, "Why the event was emitted."),
                    c("Object", "string", 0, "The object the event is about."),
                    c(
                        "Subobject",
                        "string",
                        1,
                        "The part of the object the event is about.",
                    ),
                    c(
                        "Source",
                        "string",
                        1,
                        "The component that reported the event.",
                    ),
                    c("Message", "string", 0, "What happened."),
                    c(
                        "First Seen",
                        "string",
                        1,
                        "Time since the event was first observed.",
                    ),
                    c("Count", "integer", 1, "How often the event happened."),
                    c("Name", "string", 1, NAME),
                ],
            },
        };
        out.extend(rest);
        out
    }

    /// The cells of one object's row, one per column.
    pub fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let age = || json!(age_of(obj, now));
        if let Printer::Builtin("events") = self {
            return event_cells(obj, now);
        }
        let mut out = vec![json!(s(obj, &["metadata", "name"]))];
        match self {
            Printer::Default => out.push(json!(s(obj, &["metadata", "creationTimestamp"]))),
            Printer::Custom(cols) => {
                out.extend(cols.iter().map(|c| custom_cell(obj, c, now)));
            }
            Printer::Builtin(kind) => out.extend(match *kind {
                "nodes" => node_cells(obj, now),
                "pods" => pod_cells(obj, now),
                "services" => service_cells(obj, now),
                "daemonsets" => {
                    let st = |k: &str| int(obj, &["status", k]);
                    let mut cells = vec![
                        st("desiredNumberScheduled"),
                        st("currentNumberScheduled"),
                        st("numberReady"),
                        st("updatedNumberScheduled"),
                        st("numberAvailable"),
                        json!(none_if_empty(format_labels(
                            obj.pointer("/spec/template/spec/nodeSelector")
                        ))),
                        age(),
                    ];
                    cells.extend(template_cells(obj));
                    cells
                }
                "deployments" => {
                    let desired = obj
                        .pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1);
                    let ready = int(obj, &["status", "readyReplicas"]);
                    let mut cells = vec![
                        json!(format!("{ready}/{desired}")),
                        int(obj, &["status", "updatedReplicas"]),
                        int(obj, &["status", "availableReplicas"]),
                        age(),
                    ];
                    cells.extend(template_cells(obj));
                    cells
                }
                "replicasets" => {
                    let mut cells = vec![
                        json!(
                            obj.pointer("/spec/replicas")
                                .and_then(Value::as_i64)
                                .unwrap_or(1)
                        ),
                        int(obj, &["status", "replicas"]),
                        int(obj, &["status", "readyReplicas"]),
                        age(),
                    ];
                    cells.extend(template_cells(obj));
                    cells
                }
                "configmaps" => vec![json!(keys(obj, "data") + keys(obj, "binaryData")), age()],
                "secrets" => vec![json!(s(obj, &["type"])), json!(keys(obj, "data")), age()],
                "serviceaccounts" => {
                    vec![json!(obj["secrets"].as_array().map_or(0, Vec::len)), age()]
                }
                _ => vec![json!(s(obj, &["status", "phase"])), age()],
            }),
        }
        out
    }
}

impl Printer {
    /// Row conditions: finished pods are marked `Completed` (what `kubectl get` hides them by).
    pub fn conditions(&self, obj: &Value) -> Option<Value> {
        let Printer::Builtin("pods") = self else {
            return None;
        };
        let message = match s(obj, &["status", "phase"]) {
            "Succeeded" => "The pod has completed successfully.",
            "Failed" => "The pod failed.",
            _ => return None,
        };
        Some(json!([{"type": "Completed", "status": "True",
            "reason": s(obj, &["status", "phase"]), "message": message}]))
    }
}

fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

fn s<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or_default()
}

fn int(obj: &Value, path: &[&str]) -> Value {
    json!(at(obj, path).and_then(Value::as_i64).unwrap_or(0))
}

fn keys(obj: &Value, field: &str) -> usize {
    obj.get(field)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "<none>".into()
    } else {
        text
    }
}

/// `k=v,k2=v2` sorted by key (`labels.FormatLabels`, without its `<none>`).
fn format_labels(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// A LabelSelector as `metav1.LabelSelectorAsSelector(..).String()` writes it.
fn format_selector(selector: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(labels) = selector.get("matchLabels") {
        parts.extend(
            format_labels(Some(labels))
                .split(',')
                .filter(|p| !p.is_empty())
                .map(String::from),
        );
    }
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = s(e, &["key"]);
        let mut values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort();
        parts.push(match s(e, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other}"),
        });
    }
    parts.sort();
    parts.join(",")
}

/// Containers, Images and Selector of a workload (its pod template's containers).
fn template_cells(obj: &Value) -> Vec<Value> {
    let containers: Vec<&Value> = obj
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let join = |field: &str| {
        containers
            .iter()
            .map(|c| s(c, &[field]))
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        json!(join("name")),
        json!(join("image")),
        json!(none_if_empty(format_selector(&obj["spec"]["selector"]))),
    ]
}

fn age_of(obj: &Value, now: Timestamp) -> String {
    since(obj.pointer("/metadata/creationTimestamp"), now)
}

/// `translateTimestampSince`: the age of a timestamp, `<unknown>` without one.
fn since(time: Option<&Value>, now: Timestamp) -> String {
    match time
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Timestamp>().ok())
    {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

/// `duration.HumanDuration`: how kubectl and the API server's printers write an age.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let seconds = seconds.max(0);
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    let ready = node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let mut status = vec![match ready.map(|c| s(c, &["status"])) {
        Some("True") => "Ready",
        Some("False") => "NotReady",
        _ => "Unknown",
    }];
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    let mut roles: Vec<&str> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role),
            _ if k == "kubernetes.io/role" => v.as_str().filter(|r| !r.is_empty()),
            _ => None,
        })
        .collect();
    roles.sort();
    roles.dedup();
    let addresses = |kind: &str| {
        let list: Vec<&str> = node["status"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["type"] == kind)
            .map(|a| s(a, &["address"]))
            .collect();
        none_if_empty(list.join(","))
    };
    let info = |k: &str| {
        let v = s(node, &["status", "nodeInfo", k]);
        if v.is_empty() {
            "<unknown>".to_string()
        } else {
            v.to_string()
        }
    };
    vec![
        json!(status.join(",")),
        json!(none_if_empty(roles.join(","))),
        json!(age_of(node, now)),
        json!(s(node, &["status", "nodeInfo", "kubeletVersion"])),
        json!(addresses("InternalIP")),
        json!(addresses("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let statuses: Vec<&Value> = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|c| c["restartCount"].as_i64())
        .sum();
    let mut reason = s(pod, &["status", "reason"]).to_string();
    if reason.is_empty() {
        reason = s(pod, &["status", "phase"]).to_string();
    }
    let mut running = false;
    for c in statuses.iter().rev() {
        let state = &c["state"];
        if let Some(r) = state["waiting"]["reason"]
            .as_str()
            .filter(|r| !r.is_empty())
        {
            reason = r.to_string();
        } else if let Some(t) = state.get("terminated") {
            reason = match t["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(r) => r.to_string(),
                None => match t["signal"].as_i64().filter(|s| *s != 0) {
                    Some(sig) => format!("Signal:{sig}"),
                    None => format!("ExitCode:{}", t["exitCode"].as_i64().unwrap_or(0)),
                },
            };
        } else if state.get("running").is_some() && c["ready"] == true {
            running = true;
        }
    }
    if reason == "Completed" && running {
        reason = "Running".into();
    }
    if pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        reason = if s(pod, &["status", "reason"]) == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    let gates = pod["spec"]["readinessGates"].as_array().map_or(0, Vec::len);
    let gates = if gates == 0 {
        "<none>".to_string()
    } else {
        let met = pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                c["status"] == "True"
                    && pod["spec"]["readinessGates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|g| g["conditionType"] == c["type"])
            })
            .count();
        format!("{met}/{gates}")
    };
    vec![
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts.to_string()),
        json!(age_of(pod, now)),
        json!(none_if_empty(s(pod, &["status", "podIP"]).to_string())),
        json!(none_if_empty(s(pod, &["spec", "nodeName"]).to_string())),
        json!(none_if_empty(
            s(pod, &["status", "nominatedNodeName"]).to_string()
        )),
        json!(gates),
    ]
}

fn service_cells(svc: &Value, now: Timestamp) -> Vec<Value> {
    let kind = s(svc, &["spec", "type"]);
    let kind = if kind.is_empty() { "ClusterIP" } else { kind };
    let external_ips: Vec<&str> = svc["spec"]["externalIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let external = match kind {
        "ExternalName" => s(svc, &["spec", "externalName"]).to_string(),
        "LoadBalancer" => {
            let mut ips: Vec<&str> = svc["status"]["loadBalancer"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
                .collect();
            ips.extend(&external_ips);
            if ips.is_empty() {
                "<pending>".into()
            } else {
                ips.join(",")
            }
        }
        _ => none_if_empty(external_ips.join(",")),
    };
    let ports: Vec<String> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64().filter(|n| *n != 0) {
                Some(node_port) => format!("{}:{node_port}/{protocol}", p["port"]),
                None => format!("{}/{protocol}", p["port"]),
            }
        })
        .collect();
    vec![
        json!(kind),
        json!(none_if_empty(s(svc, &["spec", "clusterIP"]).to_string())),
        json!(external),
        json!(none_if_empty(ports.join(","))),
        json!(age_of(svc, now)),
        json!(none_if_empty(format_labels(svc.pointer("/spec/selector")))),
    ]
}

/// Every column of an event's row (its Name column comes last, so this returns all cells).
fn event_cells(event: &Value, now: Timestamp) -> Vec<Value> {
    let first_time = event
        .get("firstTimestamp")
        .filter(|t| !t.is_null())
        .or_else(|| event.get("eventTime"));
    let last_time = event
        .pointer("/series/lastObservedTime")
        .or_else(|| event.get("lastTimestamp").filter(|t| !t.is_null()))
        .or_else(|| event.get("eventTime"));
    let count = event["count"].as_i64().unwrap_or(0);
    let first = since(first_time, now);
    let mut last = since(last_time, now);
    if event.get("series").is_none() && count > 1 {
        last = format!("{last} (x{count} over {first})");
    }
    let involved = &event["involvedObject"];
    let kind = s(involved, &["kind"]).to_lowercase();
    let target = match s(involved, &["name"]) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let source = {
        let component = s(event, &["source", "component"]);
        let host = s(event, &["source", "host"]);
        match (component, host) {
            ("", _) => s(event, &["reportingComponent"]).to_string(),
            (c, "") => c.to_string(),
            (c, h) => format!("{c}, {h}"),
        }
    };
    vec![
        json!(last),
        json!(s(event, &["type"])),
        json!(s(event, &["reason"])),
        json!(target),
        json!(s(involved, &["fieldPath"])),
        json!(source),
        json!(s(event, &["message"]).trim()),
        json!(first),
        json!(count),
        json!(s(event, &["metadata", "name"])),
    ]
}

/// A printer-column path (`.spec.addresses`, `.status.conditions[0].type`, `{.a.b}`).
pub fn parse_path(text: &str) -> Option<Vec<PathStep>> {
    let text = text.trim();
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let mut steps = Vec::new();
    for part in text.strip_prefix('.')?.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            steps.push(PathStep::Key(key.to_string()));
        }
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']')?;
            steps.push(PathStep::Index(index.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(steps)
}

/// A custom column's cell as the CRD table convertor makes it: null when the path finds
/// nothing; strings print the value (arrays and maps as JSON); dates as an age.
fn custom_cell(obj: &Value, column: &CustomColumn, now: Timestamp) -> Value {
    let found = column.path.iter().try_fold(obj, |v, step| match step {
        PathStep::Key(k) => v.get(k),
        PathStep::Index(i) => v.get(i),
    });
    let Some(value) = found.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    match column.column.kind.as_str() {
        "string" => match value {
            Value::String(text) => json!(text),
            other => json!(other.to_string()),
        },
        "integer" => value.as_i64().map_or(Value::Null, |n| json!(n)),
        "number" => value.as_f64().map_or(Value::Null, |n| json!(n)),
        "boolean" => value.as_bool().map_or(Value::Null, |b| json!(b)),
        "date" => match value.as_str().and_then(|t| t.parse::<Timestamp>().ok()) {
            Some(t) => json!(human_duration(now.as_second() - t.as_second())),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn ages_read_like_kubectl() {
        for (secs, text) in [
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (800 * 86400, "2y70d"),
        ] {
            assert_eq!(human_duration(secs), text, "{secs}");
        }
        assert_eq!(human_duration(-5), "<invalid>");
    }

    #[test]
    fn node_row() {
        let node = json!({"metadata": {"name": "cp1", "creationTimestamp": "2026-11-25T09:00:00Z",
                "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "nodeInfo": {"kubeletVersion": "v1.36.0", "osImage": "Debian"}}});
        let printer = Printer::builtin("", "nodes");
        let cells = printer.cells(&node, now());
        assert_eq!(cells.len(), printer.columns().len());
        assert_eq!(
            cells[..5],
            [
                json!("cp1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane"),
                json!("60m"),
                json!("v1.36.0")
            ]
        );
        assert_eq!(cells[6], "<none>");
        assert_eq!(cells[8], "<unknown>");
    }

    #[test]
    fn pod_and_service_rows() {
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": "2026-11-25T09:59:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "w1"},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 1, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        let cells = Printer::builtin("", "pods").cells(&pod, now());
        assert_eq!(
            cells,
            vec![
                json!("p"),
                json!("1/2"),
                json!("ContainerCreating"),
                json!("1"),
                json!("60s"),
                json!("<none>"),
                json!("w1"),
                json!("<none>"),
                json!("<none>")
            ]
        );
        let svc = json!({"metadata": {"name": "s", "creationTimestamp": "2026-11-25T09:00:00Z"},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.5", "selector": {"b": "2", "a": "1"},
                     "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]},
            "status": {"loadBalancer": {}}});
        let cells = Printer::builtin("", "services").cells(&svc, now());
        assert_eq!(cells[3], "<pending>");
        assert_eq!(cells[4], "80:31000/TCP,53/UDP");
        assert_eq!(cells[6], "a=1,b=2");
    }

    #[test]
    fn custom_columns_follow_the_crd() {
        let crd = json!({"spec": {"versions": [{"name": "v1beta1", "additionalPrinterColumns": [
            {"name": "Auto Assign", "type": "boolean", "jsonPath": ".spec.autoAssign"},
            {"name": "Addresses", "type": "string", "jsonPath": ".spec.addresses"},
            {"name": "First", "type": "string", "jsonPath": ".spec.addresses[0]", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}});
        let printer = Printer::custom(&crd, "v1beta1");
        let names: Vec<String> = printer.columns().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["Name", "Auto Assign", "Addresses", "First", "Age"]);
        let pool = json!({"metadata": {"name": "lan", "creationTimestamp": "2026-11-25T09:58:00Z"},
            "spec": {"addresses": ["10.0.0.1-10.0.0.9"]}});
        assert_eq!(
            printer.cells(&pool, now()),
            vec![
                json!("lan"),
                Value::Null,
                json!("[\"10.0.0.1-10.0.0.9\"]"),
                json!("10.0.0.1-10.0.0.9"),
                json!("2m")
            ]
        );
        let bare = Printer::custom(&json!({"spec": {"versions": [{"name": "v1"}]}}), "v1");
        let names: Vec<String> = bare.columns().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["Name", "Age"]);
        assert_eq!(parse_path("spec.x"), None, "paths start at the root");
    }
}
