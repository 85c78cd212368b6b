//! One RBAC permission as plain data, and the `kubectl auth can-i` command that checks it: every
//! hint that names a missing permission is built here, so they all agree.

use serde::Serialize;

/// The `kubectl auth can-i` command for `verb` on `resource` (as kubectl accepts it, e.g.
/// `daemonsets.apps`). Without a namespace the permission is cluster-wide: `-A` asks about
/// every namespace, which a namespaced resource listed everywhere needs (without it kubectl
/// answers for the context's default namespace) and a cluster-scoped one accepts.
pub fn can_i(verb: &str, resource: &str, namespace: Option<&str>) -> String {
    let scope = match namespace {
        Some(ns) => format!("-n {ns}"),
        None => "-A".to_string(),
    };
    format!("kubectl auth can-i {verb} {resource} {scope}")
}

/// One permission, the way RBAC names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub verb: String,
    /// API group; `""` for the core group.
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    /// A single object, when the command only needs that one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Permission {
    pub fn new(verb: &str, group: &str, resource: &str) -> Permission {
        Permission {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: None,
            name: None,
        }
    }

    pub fn in_namespace(mut self, namespace: &str) -> Permission {
        self.namespace = Some(namespace.into());
        self
    }

    pub fn named(mut self, name: &str) -> Permission {
        self.name = Some(name.into());
        self
    }

    /// `daemonsets.apps/kube-proxy`: the resource as `kubectl auth can-i` accepts it.
    pub fn resource_ref(&self) -> String {
        let mut r = self.resource.clone();
        if !self.group.is_empty() {
            r = format!("{r}.{}", self.group);
        }
        if let Some(name) = &self.name {
            r = format!("{r}/{name}");
        }
        r
    }

    /// The `kubectl auth can-i` command that checks this permission.
    pub fn can_i(&self) -> String {
        can_i(&self.verb, &self.resource_ref(), self.namespace.as_deref())
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource_ref())?;
        match &self.namespace {
            Some(ns) => write!(f, " in namespace {ns:?}"),
            None => write!(f, " (cluster-wide)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_render_like_rbac_and_kubectl() {
        let p = Permission::new("patch", "apps", "daemonsets")
            .in_namespace("kube-system")
            .named("kube-proxy");
        assert_eq!(
            p.to_string(),
            "patch daemonsets.apps/kube-proxy in namespace \"kube-system\""
        );
        assert_eq!(
            p.can_i(),
            "kubectl auth can-i patch daemonsets.apps/kube-proxy -n kube-system"
        );
        let p = Permission::new("list", "", "nodes");
        assert_eq!(p.to_string(), "list nodes (cluster-wide)");
    }

    #[test]
    fn a_cluster_wide_permission_is_checked_in_every_namespace() {
        // Without -A, kubectl would answer for the context's default namespace only.
        let p = Permission::new("list", "apps", "daemonsets");
        assert_eq!(p.can_i(), "kubectl auth can-i list daemonsets.apps -A");
        assert_eq!(
            can_i("list", "nodes", None),
            "kubectl auth can-i list nodes -A"
        );
    }
}
