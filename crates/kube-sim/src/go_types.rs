//! The Go types of the built-in kinds' fields kube-sim knows, for [`crate::typed_decode`]: each
//! struct by its Go name, each field by its JSON name and Go type (pointers dereferenced, as Go's
//! decoder reports them). Fields not listed are not checked; structs listed without fields are
//! only checked for being objects. Names as a real v1.36 server reports them.

use std::sync::Arc;

/// A Go type as the JSON decoder sees it.
#[derive(Debug, Clone)]
pub enum GoType {
    /// A string (`string`, or a named string type: `v1.Protocol`).
    Str(&'static str),
    /// `int32` or `int64`.
    Int(&'static str),
    Bool,
    /// `[]byte`: a base64 string.
    Bytes,
    /// `intstr.IntOrString`.
    IntOrString,
    /// `resource.Quantity`.
    Quantity,
    /// `metav1.Time`.
    Time,
    /// A map from strings (`map[string]string`, `v1.ResourceList`), by its Go name.
    Map(&'static str, Box<GoType>),
    /// A slice (`[]string`, `[]v1.Container`), by its Go name.
    List(String, Box<GoType>),
    Struct(Struct),
}

impl GoType {
    /// The type's name in Go's messages.
    pub fn go_name(&self) -> String {
        match self {
            GoType::Str(name) | GoType::Int(name) | GoType::Map(name, _) => name.to_string(),
            GoType::Bool => "bool".into(),
            GoType::Bytes => "[]uint8".into(),
            GoType::IntOrString => "intstr.IntOrString".into(),
            GoType::Quantity => "resource.Quantity".into(),
            GoType::Time => "v1.Time".into(),
            GoType::List(name, _) => name.clone(),
            GoType::Struct(s) => format!("v1.{}", s.name),
        }
    }
}

/// A struct: its Go name (`Container`, shown as `v1.Container`) and the fields kube-sim knows.
#[derive(Debug, Clone)]
pub struct Struct {
    pub name: &'static str,
    pub fields: Arc<Vec<Field>>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub json: &'static str,
    /// The embedded structs the field is promoted from (`ProbeHandler`), outermost first.
    pub via: Vec<&'static str>,
    pub ty: GoType,
}

fn st(name: &'static str, fields: Vec<Field>) -> GoType {
    GoType::Struct(Struct {
        name,
        fields: Arc::new(fields),
    })
}

fn f(json: &'static str, ty: GoType) -> Field {
    Field {
        json,
        via: Vec::new(),
        ty,
    }
}

/// Fields promoted from the embedded struct `via`.
fn embedded(via: &'static str, fields: Vec<Field>) -> Vec<Field> {
    fields
        .into_iter()
        .map(|mut field| {
            field.via.insert(0, via);
            field
        })
        .collect()
}

fn s() -> GoType {
    GoType::Str("string")
}

fn named(name: &'static str) -> GoType {
    GoType::Str(name)
}

fn i32() -> GoType {
    GoType::Int("int32")
}

fn i64() -> GoType {
    GoType::Int("int64")
}

fn b() -> GoType {
    GoType::Bool
}

fn list(item: GoType) -> GoType {
    GoType::List(format!("[]{}", item.go_name()), Box::new(item))
}

fn strings() -> GoType {
    list(s())
}

fn string_map() -> GoType {
    GoType::Map("map[string]string", Box::new(s()))
}

fn object_meta() -> GoType {
    let owner = st(
        "OwnerReference",
        vec![
            f("apiVersion", s()),
            f("kind", s()),
            f("name", s()),
            f("uid", named("types.UID")),
            f("controller", b()),
            f("blockOwnerDeletion", b()),
        ],
    );
    st(
        "ObjectMeta",
        vec![
            f("name", s()),
            f("generateName", s()),
            f("namespace", s()),
            f("selfLink", s()),
            f("uid", named("types.UID")),
            f("resourceVersion", s()),
            f("generation", i64()),
            f("creationTimestamp", GoType::Time),
            f("deletionTimestamp", GoType::Time),
            f("deletionGracePeriodSeconds", i64()),
            f("labels", string_map()),
            f("annotations", string_map()),
            f("ownerReferences", list(owner)),
            f("finalizers", strings()),
        ],
    )
}

fn label_selector() -> GoType {
    st(
        "LabelSelector",
        vec![
            f("matchLabels", string_map()),
            f(
                "matchExpressions",
                list(st(
                    "LabelSelectorRequirement",
                    vec![
                        f("key", s()),
                        f("operator", named("v1.LabelSelectorOperator")),
                        f("values", strings()),
                    ],
                )),
            ),
        ],
    )
}

fn resources() -> GoType {
    let amounts = || GoType::Map("v1.ResourceList", Box::new(GoType::Quantity));
    st(
        "ResourceRequirements",
        vec![f("limits", amounts()), f("requests", amounts())],
    )
}

fn probe() -> GoType {
    let port = || GoType::IntOrString;
    let mut fields = embedded(
        "ProbeHandler",
        vec![
            f("exec", st("ExecAction", vec![f("command", strings())])),
            f(
                "httpGet",
                st(
                    "HTTPGetAction",
                    vec![
                        f("path", s()),
                        f("port", port()),
                        f("host", s()),
                        f("scheme", named("v1.URIScheme")),
                    ],
                ),
            ),
            f(
                "tcpSocket",
                st("TCPSocketAction", vec![f("port", port()), f("host", s())]),
            ),
        ],
    );
    fields.extend([
        f("initialDelaySeconds", i32()),
        f("timeoutSeconds", i32()),
        f("periodSeconds", i32()),
        f("successThreshold", i32()),
        f("failureThreshold", i32()),
        f("terminationGracePeriodSeconds", i64()),
    ]);
    st("Probe", fields)
}

fn container() -> GoType {
    st(
        "Container",
        vec![
            f("name", s()),
            f("image", s()),
            f("command", strings()),
            f("args", strings()),
            f("workingDir", s()),
            f(
                "ports",
                list(st(
                    "ContainerPort",
                    vec![
                        f("name", s()),
                        f("hostPort", i32()),
                        f("containerPort", i32()),
                        f("protocol", named("v1.Protocol")),
                        f("hostIP", s()),
                    ],
                )),
            ),
            f(
                "env",
                list(st(
                    "EnvVar",
                    vec![
                        f("name", s()),
                        f("value", s()),
                        f("valueFrom", st("EnvVarSource", vec![])),
                    ],
                )),
            ),
            f("resources", resources()),
            f(
                "volumeMounts",
                list(st(
                    "VolumeMount",
                    vec![
                        f("name", s()),
                        f("readOnly", b()),
                        f("mountPath", s()),
                        f("subPath", s()),
                    ],
                )),
            ),
            f("livenessProbe", probe()),
            f("readinessProbe", probe()),
            f("startupProbe", probe()),
            f("terminationMessagePath", s()),
            f(
                "terminationMessagePolicy",
                named("v1.TerminationMessagePolicy"),
            ),
            f("imagePullPolicy", named("v1.PullPolicy")),
            f(
                "securityContext",
                st(
                    "SecurityContext",
                    vec![
                        f("privileged", b()),
                        f("runAsUser", i64()),
                        f("runAsGroup", i64()),
                        f("runAsNonRoot", b()),
                        f("readOnlyRootFilesystem", b()),
                        f("allowPrivilegeEscalation", b()),
                        f(
                            "capabilities",
                            st(
                                "Capabilities",
                                vec![
                                    f("add", list(named("v1.Capability"))),
                                    f("drop", list(named("v1.Capability"))),
                                ],
                            ),
                        ),
                    ],
                ),
            ),
            f("stdin", b()),
            f("stdinOnce", b()),
            f("tty", b()),
        ],
    )
}

fn volume() -> GoType {
    let mut fields = vec![f("name", s())];
    fields.extend(embedded(
        "VolumeSource",
        vec![
            f(
                "hostPath",
                st(
                    "HostPathVolumeSource",
                    vec![f("path", s()), f("type", named("v1.HostPathType"))],
                ),
            ),
            f(
                "emptyDir",
                st(
                    "EmptyDirVolumeSource",
                    vec![
                        f("medium", named("v1.StorageMedium")),
                        f("sizeLimit", GoType::Quantity),
                    ],
                ),
            ),
            f(
                "secret",
                st(
                    "SecretVolumeSource",
                    vec![
                        f("secretName", s()),
                        f("defaultMode", i32()),
                        f("optional", b()),
                    ],
                ),
            ),
        ],
    ));
    st("Volume", fields)
}

fn pod_spec() -> GoType {
    st(
        "PodSpec",
        vec![
            f("volumes", list(volume())),
            f("initContainers", list(container())),
            f("containers", list(container())),
            f("restartPolicy", named("v1.RestartPolicy")),
            f("terminationGracePeriodSeconds", i64()),
            f("activeDeadlineSeconds", i64()),
            f("dnsPolicy", named("v1.DNSPolicy")),
            f("nodeSelector", string_map()),
            f("serviceAccountName", s()),
            f("serviceAccount", s()),
            f("automountServiceAccountToken", b()),
            f("nodeName", s()),
            f("hostNetwork", b()),
            f("hostPID", b()),
            f("hostIPC", b()),
            f("shareProcessNamespace", b()),
            f("hostname", s()),
            f("subdomain", s()),
            f("schedulerName", s()),
            f(
                "tolerations",
                list(st(
                    "Toleration",
                    vec![
                        f("key", s()),
                        f("operator", named("v1.TolerationOperator")),
                        f("value", s()),
                        f("effect", named("v1.TaintEffect")),
                        f("tolerationSeconds", i64()),
                    ],
                )),
            ),
            f("priorityClassName", s()),
            f("priority", i32()),
            f("enableServiceLinks", b()),
        ],
    )
}

fn pod_template() -> GoType {
    st(
        "PodTemplateSpec",
        vec![f("metadata", object_meta()), f("spec", pod_spec())],
    )
}

fn kind_struct(name: &'static str, fields: Vec<Field>) -> Struct {
    let mut all = vec![f("metadata", object_meta())];
    all.extend(fields);
    Struct {
        name,
        fields: Arc::new(all),
    }
}

/// The Go struct of a built-in kind (by group and plural), or `None` for kinds not modelled.
pub fn kind(group: &str, plural: &str) -> Option<Struct> {
    let rolling = |name: &'static str| {
        st(
            name,
            vec![
                f("maxUnavailable", GoType::IntOrString),
                f("maxSurge", GoType::IntOrString),
            ],
        )
    };
    Some(match (group, plural) {
        ("", "configmaps") => kind_struct(
            "ConfigMap",
            vec![
                f("immutable", b()),
                f("data", string_map()),
                f(
                    "binaryData",
                    GoType::Map("map[string][]uint8", Box::new(GoType::Bytes)),
                ),
            ],
        ),
        ("", "secrets") => kind_struct(
            "Secret",
            vec![
                f("immutable", b()),
                f(
                    "data",
                    GoType::Map("map[string][]uint8", Box::new(GoType::Bytes)),
                ),
                f("stringData", string_map()),
                f("type", named("v1.SecretType")),
            ],
        ),
        ("", "serviceaccounts") => kind_struct(
            "ServiceAccount",
            vec![f("automountServiceAccountToken", b())],
        ),
        ("", "pods") => kind_struct("Pod", vec![f("spec", pod_spec())]),
        ("", "services") => kind_struct(
            "Service",
            vec![f(
                "spec",
                st(
                    "ServiceSpec",
                    vec![
                        f(
                            "ports",
                            list(st(
                                "ServicePort",
                                vec![
                                    f("name", s()),
                                    f("protocol", named("v1.Protocol")),
                                    f("appProtocol", s()),
                                    f("port", i32()),
                                    f("targetPort", GoType::IntOrString),
                                    f("nodePort", i32()),
                                ],
                            )),
                        ),
                        f("selector", string_map()),
                        f("clusterIP", s()),
                        f("clusterIPs", strings()),
                        f("type", named("v1.ServiceType")),
                        f("externalIPs", strings()),
                        f("loadBalancerIP", s()),
                        f("loadBalancerSourceRanges", strings()),
                        f("externalName", s()),
                        f("healthCheckNodePort", i32()),
                        f("publishNotReadyAddresses", b()),
                        f("allocateLoadBalancerNodePorts", b()),
                        f("loadBalancerClass", s()),
                    ],
                ),
            )],
        ),
        ("apps", "deployments") => kind_struct(
            "Deployment",
            vec![f(
                "spec",
                st(
                    "DeploymentSpec",
                    vec![
                        f("replicas", i32()),
                        f("selector", label_selector()),
                        f("template", pod_template()),
                        f(
                            "strategy",
                            st(
                                "DeploymentStrategy",
                                vec![
                                    f("type", named("v1.DeploymentStrategyType")),
                                    f("rollingUpdate", rolling("RollingUpdateDeployment")),
                                ],
                            ),
                        ),
                        f("minReadySeconds", i32()),
                        f("revisionHistoryLimit", i32()),
                        f("paused", b()),
                        f("progressDeadlineSeconds", i32()),
                    ],
                ),
            )],
        ),
        ("apps", "daemonsets") => kind_struct(
            "DaemonSet",
            vec![f(
                "spec",
                st(
                    "DaemonSetSpec",
                    vec![
                        f("selector", label_selector()),
                        f("template", pod_template()),
                        f(
                            "updateStrategy",
                            st(
                                "DaemonSetUpdateStrategy",
                                vec![
                                    f("type", named("v1.DaemonSetUpdateStrategyType")),
                                    f("rollingUpdate", rolling("RollingUpdateDaemonSet")),
                                ],
                            ),
                        ),
                        f("minReadySeconds", i32()),
                        f("revisionHistoryLimit", i32()),
                    ],
                ),
            )],
        ),
        ("apps", "replicasets") => kind_struct(
            "ReplicaSet",
            vec![f(
                "spec",
                st(
                    "ReplicaSetSpec",
                    vec![
                        f("replicas", i32()),
                        f("minReadySeconds", i32()),
                        f("selector", label_selector()),
                        f("template", pod_template()),
                    ],
                ),
            )],
        ),
        ("discovery.k8s.io", "endpointslices") => kind_struct(
            "EndpointSlice",
            vec![
                f("addressType", named("v1.AddressType")),
                f(
                    "endpoints",
                    list(st(
                        "Endpoint",
                        vec![
                            f("addresses", strings()),
                            f(
                                "conditions",
                                st(
                                    "EndpointConditions",
                                    vec![f("ready", b()), f("serving", b()), f("terminating", b())],
                                ),
                            ),
                            f("hostname", s()),
                            f("nodeName", s()),
                            f("zone", s()),
                        ],
                    )),
                ),
                f(
                    "ports",
                    list(st(
                        "EndpointPort",
                        vec![
                            f("name", s()),
                            f("protocol", named("v1.Protocol")),
                            f("port", i32()),
                            f("appProtocol", s()),
                        ],
                    )),
                ),
            ],
        ),
        ("", "namespaces") => kind_struct(
            "Namespace",
            vec![f(
                "spec",
                st(
                    "NamespaceSpec",
                    vec![f("finalizers", list(named("v1.FinalizerName")))],
                ),
            )],
        ),
        ("", "nodes") => kind_struct(
            "Node",
            vec![f(
                "spec",
                st(
                    "NodeSpec",
                    vec![
                        f("podCIDR", s()),
                        f("podCIDRs", strings()),
                        f("providerID", s()),
                        f("unschedulable", b()),
                        f(
                            "taints",
                            list(st(
                                "Taint",
                                vec![
                                    f("key", s()),
                                    f("value", s()),
                                    f("effect", named("v1.TaintEffect")),
                                ],
                            )),
                        ),
                    ],
                ),
            )],
        ),
        ("rbac.authorization.k8s.io", "roles" | "clusterroles") => kind_struct(
            if plural == "roles" {
                "Role"
            } else {
                "ClusterRole"
            },
            vec![f(
                "rules",
                list(st(
                    "PolicyRule",
                    vec![
                        f("verbs", strings()),
                        f("apiGroups", strings()),
                        f("resources", strings()),
                        f("resourceNames", strings()),
                        f("nonResourceURLs", strings()),
                    ],
                )),
            )],
        ),
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => kind_struct(
            if plural == "rolebindings" {
                "RoleBinding"
            } else {
                "ClusterRoleBinding"
            },
            vec![
                f(
                    "subjects",
                    list(st(
                        "Subject",
                        vec![
                            f("kind", s()),
                            f("apiGroup", s()),
                            f("name", s()),
                            f("namespace", s()),
                        ],
                    )),
                ),
                f(
                    "roleRef",
                    st(
                        "RoleRef",
                        vec![f("apiGroup", s()), f("kind", s()), f("name", s())],
                    ),
                ),
            ],
        ),
        _ => return None,
    })
}
