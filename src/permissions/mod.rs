//! What each command needs to be allowed to do: one list per command, read off the requests its
//! code makes. The command's own pre-check, LB104 (`preflight`) and the Role/ClusterRole in
//! docs/permissions.md all come from these lists, so they cannot disagree. Reviews
//! (SelfSubjectAccessReview, SelfSubjectRulesReview) and `/version` are not listed: every
//! authenticated user may use them (`system:basic-user`, `system:public-info-viewer`).

use std::collections::BTreeMap;

mod permission;
pub use permission::{Permission, can_i};

use crate::kube::apply::ObjectRef;
use crate::kubeproxy::locate::NAMESPACE as KUBE_SYSTEM;
use crate::metallb::render::{RenderOptions, render};

/// A command (or a variant of one that needs more) whose permissions are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Preflight,
    PreflightNodes,
    EnableStrictarp,
    Install,
    Doctor,
    DoctorNodes,
    DoctorBundle,
    Explain,
    ExplainNodes,
    Uninstall,
}

impl Command {
    pub const ALL: [Command; 10] = [
        Command::Preflight,
        Command::PreflightNodes,
        Command::EnableStrictarp,
        Command::Install,
        Command::Doctor,
        Command::DoctorNodes,
        Command::DoctorBundle,
        Command::Explain,
        Command::ExplainNodes,
        Command::Uninstall,
    ];

    /// The command line it stands for: `doctor --nodes`.
    pub fn name(self) -> &'static str {
        match self {
            Command::Preflight => "preflight",
            Command::PreflightNodes => "preflight --nodes",
            Command::EnableStrictarp => "enable-strictarp",
            Command::Install => "install",
            Command::Doctor => "doctor",
            Command::DoctorNodes => "doctor --nodes",
            Command::DoctorBundle => "doctor --bundle",
            Command::Explain => "explain",
            Command::ExplainNodes => "explain --nodes",
            Command::Uninstall => "uninstall",
        }
    }

    /// The name of its documented Role/ClusterRole: `lbctl-doctor-nodes`.
    pub fn role_name(self) -> String {
        format!("lbctl-{}", self.name().replace(" --", "-"))
    }
}

/// The namespaces a command works in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    /// `--metallb-namespace`.
    pub metallb: String,
    /// `--node-namespace`, where the node-check pods run.
    pub nodes: String,
}

impl Default for Namespaces {
    /// The flags' defaults, as docs/permissions.md shows them.
    fn default() -> Namespaces {
        Namespaces {
            metallb: "metallb-system".into(),
            nodes: "default".into(),
        }
    }
}

/// One permission of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub permission: Permission,
    /// `Some(why)` for a read the command does without (its answer is less specific, or it is
    /// only advice): documented, but no pre-check refuses for it.
    pub optional: Option<&'static str>,
}

/// Builds a list in the order of the code paths, each permission once (required wins).
#[derive(Default)]
struct List(Vec<Entry>);

impl List {
    fn push(&mut self, verbs: &[&str], group: &str, resource: &str, ns: Option<&str>) {
        self.push_entry(verbs, group, resource, ns, None);
    }

    fn optional(
        &mut self,
        verbs: &[&str],
        group: &str,
        resource: &str,
        ns: Option<&str>,
        why: &'static str,
    ) {
        self.push_entry(verbs, group, resource, ns, Some(why));
    }

    fn push_entry(
        &mut self,
        verbs: &[&str],
        group: &str,
        resource: &str,
        ns: Option<&str>,
        optional: Option<&'static str>,
    ) {
        for verb in verbs {
            let mut permission = Permission::new(verb, group, resource);
            permission.namespace = ns.map(str::to_string);
            match self.0.iter_mut().find(|e| e.permission == permission) {
                Some(e) if optional.is_none() => e.optional = None,
                Some(_) => {}
                None => self.0.push(Entry {
                    permission,
                    optional,
                }),
            }
        }
    }
}

const KUBE_PROXY_ADVICE: &str = "kube-proxy's checks are advice here; without it they say so";

/// The one list of `command`'s permissions.
pub fn list(command: Command, ns: &Namespaces) -> Vec<Entry> {
    let mut l = List::default();
    match command {
        Command::Preflight => preflight_reads(&mut l, false),
        Command::PreflightNodes => {
            preflight_reads(&mut l, false);
            node_checks(&mut l, ns);
        }
        Command::EnableStrictarp => enable_strictarp(&mut l),
        Command::Install => install(&mut l, ns),
        Command::Doctor => doctor_reads(&mut l, ns),
        Command::DoctorNodes => {
            doctor_reads(&mut l, ns);
            node_checks(&mut l, ns);
        }
        Command::DoctorBundle => {
            doctor_reads(&mut l, ns);
            bundle_reads(&mut l, ns);
        }
        Command::Explain => explain_reads(&mut l, ns),
        Command::ExplainNodes => {
            explain_reads(&mut l, ns);
            // The speaker's `metallb-excludel2` ConfigMap: which interfaces it never answers on.
            l.push(&["get"], "", "configmaps", Some(ns.metallb.as_str()));
            node_checks(&mut l, ns);
        }
        Command::Uninstall => uninstall(&mut l, ns),
    }
    l.0
}

/// The permissions a pre-check must find before `command` writes anything.
pub fn required(command: Command, ns: &Namespaces) -> Vec<Permission> {
    list(command, ns)
        .into_iter()
        .filter(|e| e.optional.is_none())
        .map(|e| e.permission)
        .collect()
}

/// What enable-strictarp's pre-check requires: its one list, less the restart's part with
/// `--no-restart` (`restart` false).
pub fn enable_strictarp_required(restart: bool) -> Vec<Permission> {
    let all = required(Command::EnableStrictarp, &Namespaces::default());
    if restart { all } else { without_restart(all) }
}

/// `enable-strictarp --no-restart` leaves the DaemonSet alone: no restart patch, no watch.
pub fn without_restart(wanted: Vec<Permission>) -> Vec<Permission> {
    wanted
        .into_iter()
        .filter(|p| !(p.resource == "daemonsets" && matches!(p.verb.as_str(), "patch" | "watch")))
        .collect()
}

/// `facts::gather::cluster`: preflight's reads (install runs the same).
fn preflight_reads(l: &mut List, kube_proxy_optional: bool) {
    let all = None;
    l.push(&["list"], "", "nodes", all);
    l.push(&["list"], "apps", "daemonsets", all);
    l.push(&["list"], "apps", "deployments", all);
    l.push(&["list"], "", "services", all);
    l.push(&["get"], "", "namespaces", all);
    l.push(
        &["list"],
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        all,
    );
    // Only with pools to check (LB303).
    l.push(&["list"], "networking.k8s.io", "servicecidrs", all);
    // The existing pools, once MetalLB's CRDs exist.
    l.push(&["list"], "metallb.io", "ipaddresspools", all);
    l.push(&["list"], "metallb.io", "l2advertisements", all);
    // kube-proxy's configuration and pods (cilium-config too, when Cilium runs).
    let ks = Some(KUBE_SYSTEM);
    if kube_proxy_optional {
        l.optional(&["get"], "", "configmaps", ks, KUBE_PROXY_ADVICE);
        l.optional(&["list"], "", "pods", ks, KUBE_PROXY_ADVICE);
    } else {
        l.push(&["get"], "", "configmaps", ks);
        l.push(&["list"], "", "pods", ks);
    }
}

/// What `--nodes` checks before it creates a pod (`facts::nodes::plan`): the node-check part
/// of `preflight --nodes` and `doctor --nodes` (the rest their checks report as errors).
pub fn node_checks_required(ns: &Namespaces) -> Vec<Permission> {
    let mut l = List::default();
    node_checks(&mut l, ns);
    l.0.into_iter()
        .filter(|e| e.optional.is_none() && e.permission.resource != "nodes")
        .map(|e| e.permission)
        .collect()
}

/// `facts::nodes`: one pod per node in `--node-namespace`, its log, then deleted.
fn node_checks(l: &mut List, ns: &Namespaces) {
    let pods = Some(ns.nodes.as_str());
    l.push(&["list"], "", "nodes", None);
    l.push(&["create", "delete", "list", "watch"], "", "pods", pods);
    l.push(&["get"], "", "pods/log", pods);
    l.optional(
        &["list"],
        "",
        "events",
        pods,
        "only to give the reason a node-check pod is stuck",
    );
    l.optional(
        &["get"],
        "",
        "namespaces",
        None,
        "only to say early that the namespace rejects privileged pods",
    );
}

/// `commands/enable_strictarp.rs`: find kube-proxy, edit its ConfigMap, restart and watch the
/// DaemonSet, and tell stale pods (`--check`, or a restart that is still due).
fn enable_strictarp(l: &mut List) {
    let ks = Some(KUBE_SYSTEM);
    l.push(&["get", "update"], "", "configmaps", ks);
    // get: discovery; patch: the restart; list and watch: the rollout watch.
    l.push(&["get", "list", "watch", "patch"], "apps", "daemonsets", ks);
    l.push(&["list"], "", "pods", ks);
    l.optional(
        &["list"],
        "",
        "nodes",
        None,
        "only to name the distribution of a kube-proxy configured by flags",
    );
    l.optional(
        &["list"],
        "apps",
        "daemonsets",
        None,
        "only to name what replaces a missing kube-proxy",
    );
}

/// Every kind lbctl installs, plus the pool kinds (users' pools carry no label).
fn installed_kinds(ns: &Namespaces) -> Vec<(String, String, Option<String>)> {
    let opts = RenderOptions {
        namespace: ns.metallb.clone(),
        ..Default::default()
    };
    let mut kinds: Vec<(String, String, Option<String>)> = Vec::new();
    let rendered = render(&opts).into_iter().map(|r| ObjectRef::of(&r.object));
    let pools = ["IPAddressPool", "L2Advertisement"].map(|kind| ObjectRef {
        api_version: "metallb.io/v1beta1".into(),
        kind: kind.into(),
        namespace: Some(ns.metallb.clone()),
        name: String::new(),
    });
    for r in rendered.chain(pools) {
        let resource = r.resource();
        let kind = (resource.group, resource.plural, r.namespace);
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// `commands/install.rs`: preflight's install checks, a snapshot of lbctl's objects, server-side
/// apply phase by phase, the waits, the webhook's dry-run creates.
fn install(l: &mut List, ns: &Namespaces) {
    preflight_reads(l, true);
    let mns = Some(ns.metallb.as_str());
    for (group, resource, namespace) in installed_kinds(ns) {
        // Server-side apply is a patch, and a create for an object that does not exist yet.
        l.push(
            &["list", "create", "patch"],
            &group,
            &resource,
            namespace.as_deref(),
        );
    }
    // RBAC's escalation prevention: whoever creates MetalLB's roles and binds them must hold
    // every right they grant, or these.
    for roles in ["clusterroles", "roles"] {
        let scope = (roles == "roles").then_some(ns.metallb.as_str());
        l.push(
            &["escalate", "bind"],
            "rbac.authorization.k8s.io",
            roles,
            scope,
        );
    }
    // The waits: CRDs Established, the rollouts, the webhook Service's endpoints.
    l.push(
        &["watch"],
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        None,
    );
    l.push(&["watch"], "apps", "deployments", mns);
    l.push(&["watch"], "apps", "daemonsets", mns);
    l.push(
        &["list", "watch"],
        "discovery.k8s.io",
        "endpointslices",
        mns,
    );
    l.optional(
        &["list"],
        "",
        "pods",
        mns,
        "only to name the pods that are not ready when a wait times out",
    );
}

/// `commands/doctor.rs` (`facts::metallb`): MetalLB's state, and a dry-run pool create that
/// proves the webhook answers (LB409).
fn doctor_reads(l: &mut List, ns: &Namespaces) {
    let all = None;
    let mns = Some(ns.metallb.as_str());
    let ks = Some(KUBE_SYSTEM);
    l.push(&["list"], "", "nodes", all);
    l.push(&["list"], "", "services", all);
    l.push(&["list"], "apps", "daemonsets", all);
    l.push(&["list"], "apps", "deployments", mns);
    l.push(&["list"], "discovery.k8s.io", "endpointslices", all);
    l.push(&["list"], "", "events", all);
    l.push(&["list"], "", "pods", mns);
    l.push(&["list"], "", "pods", ks);
    l.push(&["list"], "", "secrets", mns);
    l.push(&["get"], "", "configmaps", ks);
    l.push(&["get"], "", "namespaces", all);
    l.push(
        &["list"],
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        all,
    );
    l.push(
        &["get"],
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        all,
    );
    l.push(&["list"], "metallb.io", "ipaddresspools", all);
    l.push(&["list"], "metallb.io", "l2advertisements", all);
    l.push(&["list"], "metallb.io", "configurationstates", mns);
    l.push(&["list"], "metallb.io", "servicel2statuses", mns);
    // dryRun=All: nothing is stored.
    l.push(&["create"], "metallb.io", "ipaddresspools", mns);
}

/// `bundle::collect` (`doctor --bundle`), in addition to doctor's reads (which come first in
/// its list): MetalLB's objects of every kind, its DaemonSets, the containers' logs and
/// kube-proxy's DaemonSet. A refused read is listed in the bundle's MANIFEST.txt.
fn bundle_reads(l: &mut List, ns: &Namespaces) {
    let mns = Some(ns.metallb.as_str());
    for crd in crate::metallb::crds::all(&ns.metallb) {
        l.push(&["list"], "metallb.io", &crd.spec.names.plural, mns);
    }
    l.push(&["list"], "apps", "daemonsets", mns);
    l.push(&["get"], "", "pods/log", mns);
    l.push(&["get"], "apps", "daemonsets", Some(KUBE_SYSTEM));
}

/// `facts/explain.rs`: the election's inputs in MetalLB's namespace, and the Service with its
/// EndpointSlices and events (any namespace: `explain SERVICE -n NS`, or all with `--all`).
fn explain_reads(l: &mut List, ns: &Namespaces) {
    let all = None;
    let mns = Some(ns.metallb.as_str());
    l.push(&["list"], "", "nodes", all);
    l.push(&["list"], "", "pods", mns);
    l.push(&["list"], "apps", "daemonsets", mns);
    l.push(&["list"], "metallb.io", "ipaddresspools", mns);
    l.push(&["list"], "metallb.io", "l2advertisements", mns);
    l.push(&["list"], "metallb.io", "servicel2statuses", mns);
    l.push(&["get", "list"], "", "services", all);
    l.push(&["list"], "discovery.k8s.io", "endpointslices", all);
    l.push(&["list"], "", "events", all);
}

/// `commands/uninstall.rs`: list lbctl's objects, delete them, watch until they are gone.
fn uninstall(l: &mut List, ns: &Namespaces) {
    for (group, resource, namespace) in installed_kinds(ns) {
        l.push(
            &["list", "watch", "delete"],
            &group,
            &resource,
            namespace.as_deref(),
        );
    }
    for kind in crate::metallb::crds::stored_kinds(&ns.metallb) {
        l.optional(
            &["list"],
            &kind.group,
            &kind.plural,
            Some(&ns.metallb),
            "only so that a busy API server deletes the CRDs without delay",
        );
    }
}

/// RBAC's order of verbs, for stable documents.
fn verb_rank(verb: &str) -> usize {
    const ORDER: [&str; 9] = [
        "get", "list", "watch", "create", "update", "patch", "delete", "escalate", "bind",
    ];
    ORDER.iter().position(|v| *v == verb).unwrap_or(ORDER.len())
}

/// `command`'s list as RBAC objects: a ClusterRole for cluster-wide permissions and a Role per
/// namespace, as YAML documents. Bind them to the user with a ClusterRoleBinding/RoleBinding.
pub fn rbac_yaml(command: Command, ns: &Namespaces) -> String {
    // scope -> (group, resource, optional) -> verbs, in the list's order.
    type Rules = Vec<((String, String, Option<&'static str>), Vec<String>)>;
    let mut scopes: BTreeMap<Option<String>, Rules> = BTreeMap::new();
    for e in list(command, ns) {
        let p = e.permission;
        let rules = scopes.entry(p.namespace.clone()).or_default();
        let key = (p.group.clone(), p.resource.clone(), e.optional);
        match rules.iter_mut().find(|(k, _)| *k == key) {
            Some((_, verbs)) => verbs.push(p.verb),
            None => rules.push((key, vec![p.verb])),
        }
    }
    let name = command.role_name();
    let mut docs = Vec::new();
    for (scope, rules) in scopes {
        let mut out = String::from("apiVersion: rbac.authorization.k8s.io/v1\n");
        match &scope {
            None => out.push_str(&format!("kind: ClusterRole\nmetadata:\n  name: {name}\n")),
            Some(ns) => out.push_str(&format!(
                "kind: Role\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
            )),
        }
        out.push_str("rules:\n");
        for ((group, resource, optional), mut verbs) in rules {
            verbs.sort_by_key(|v| verb_rank(v));
            if let Some(why) = optional {
                out.push_str(&format!("  # optional: {why}\n"));
            }
            out.push_str(&format!(
                "  - apiGroups: [\"{group}\"]\n    resources: [{resource}]\n    verbs: [{}]\n",
                verbs.join(", ")
            ));
        }
        docs.push(out);
    }
    docs.join("---\n")
}

/// The marker before each generated block of docs/permissions.md: `<!-- rbac: doctor --nodes -->`.
fn marker(command: Command) -> String {
    format!("<!-- rbac: {} -->", command.name())
}

/// `text` (docs/permissions.md) with the YAML block after each command's marker replaced by
/// that command's rendering ([`rbac_yaml`] with the default namespaces). A fresh document comes
/// back unchanged; a missing marker is an error naming the command.
pub fn refresh_docs(text: &str) -> Result<String, String> {
    let mut out = text.to_string();
    for command in Command::ALL {
        let marker = marker(command);
        let at = out
            .find(&marker)
            .ok_or_else(|| format!("no `{marker}` line"))?;
        let open = at + marker.len();
        let fence = "\n```yaml\n";
        if !out[open..].starts_with(fence) {
            return Err(format!("`{marker}` is not followed by a ```yaml block"));
        }
        let body = open + fence.len();
        let end = out[body..]
            .find("```")
            .map(|i| body + i)
            .ok_or_else(|| format!("the block after `{marker}` is not closed"))?;
        out.replace_range(body..end, &rbac_yaml(command, &Namespaces::default()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(list: &[Permission], verb: &str, resource: &str, ns: Option<&str>) -> bool {
        list.iter()
            .any(|p| p.verb == verb && p.resource == resource && p.namespace.as_deref() == ns)
    }

    #[test]
    fn enable_strictarp_covers_the_rollout_watch_and_the_stale_pods() {
        let wanted = required(Command::EnableStrictarp, &Namespaces::default());
        let ks = Some("kube-system");
        for (verb, resource) in [
            ("get", "configmaps"),
            ("update", "configmaps"),
            ("patch", "daemonsets"),
            ("list", "daemonsets"),
            ("watch", "daemonsets"),
            ("list", "pods"),
        ] {
            assert!(has(&wanted, verb, resource, ks), "{verb} {resource}");
        }
        // Reads it does without are documented, not required.
        assert!(!has(&wanted, "list", "nodes", None));
        let no_restart = without_restart(wanted);
        assert!(!has(&no_restart, "patch", "daemonsets", ks));
        assert!(has(&no_restart, "update", "configmaps", ks));
    }

    #[test]
    fn install_covers_every_rendered_kind_in_its_namespace() {
        let ns = Namespaces {
            metallb: "lb".into(),
            nodes: "default".into(),
        };
        let wanted = required(Command::Install, &ns);
        assert!(has(&wanted, "patch", "configmaps", Some("lb")));
        assert!(has(&wanted, "create", "customresourcedefinitions", None));
        assert!(has(&wanted, "bind", "roles", Some("lb")));
        assert!(!has(&wanted, "get", "configmaps", Some("kube-system")));
        assert!(!has(&wanted, "update", "configmaps", Some("kube-system")));
    }

    #[test]
    fn each_permission_is_listed_once() {
        for command in Command::ALL {
            let l = list(command, &Namespaces::default());
            for (i, e) in l.iter().enumerate() {
                assert!(
                    !l[i + 1..].iter().any(|o| o.permission == e.permission),
                    "{}: {} twice",
                    command.name(),
                    e.permission
                );
            }
        }
    }

    #[test]
    fn rbac_documents_split_cluster_wide_from_namespaced() {
        let yaml = rbac_yaml(Command::EnableStrictarp, &Namespaces::default());
        let docs: Vec<&str> = yaml.split("---\n").collect();
        assert_eq!(docs.len(), 2, "{yaml}");
        assert!(docs[0].contains("kind: ClusterRole\n"), "{yaml}");
        assert!(docs[0].contains("# optional: only to name the distribution"));
        assert!(docs[1].contains("kind: Role\n") && docs[1].contains("namespace: kube-system"));
        assert!(
            docs[1].contains(
                "  - apiGroups: [\"apps\"]\n    resources: [daemonsets]\n    verbs: [get, list, watch, patch]\n"
            ),
            "{yaml}"
        );
    }
}
