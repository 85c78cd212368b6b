//! What `enable-strictarp` keeps so `--revert` can undo it: the replaced text in a ConfigMap
//! annotation, restored only while the configuration is still exactly what lbctl made of it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::edit::{Target, edit};
use super::locate::ConfigMapKey;
use crate::{Error, Result};

/// ConfigMap annotation holding the configuration text lbctl replaced.
pub const PREVIOUS_CONFIG: &str = "lbctl.io/previous-config";
/// ConfigMap annotation naming the key whose text [`PREVIOUS_CONFIG`] holds.
pub const PREVIOUS_CONFIG_KEY: &str = "lbctl.io/previous-config-key";

/// `cm` with `new_text` in the key and `replaced` kept for `--revert`.
pub fn with_edit(
    cm: &ConfigMap,
    key: &ConfigMapKey,
    replaced: String,
    new_text: String,
) -> ConfigMap {
    let mut next = cm.clone();
    next.data
        .get_or_insert_with(BTreeMap::new)
        .insert(key.key.clone(), new_text);
    let annotations = next.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(PREVIOUS_CONFIG.into(), replaced);
    annotations.insert(PREVIOUS_CONFIG_KEY.into(), key.key.clone());
    next
}

/// The text lbctl replaced in this key, if it kept one.
pub fn previous_text(cm: &ConfigMap, key: &ConfigMapKey) -> Option<String> {
    let annotations = cm.metadata.annotations.as_ref()?;
    let previous = annotations.get(PREVIOUS_CONFIG)?;
    let for_key = annotations
        .get(PREVIOUS_CONFIG_KEY)
        .map(String::as_str)
        .unwrap_or(&key.key);
    (for_key == key.key).then(|| previous.clone())
}

/// `cm` with the previous text restored and the bookkeeping removed; `None` when there is
/// nothing to revert (any more).
pub fn reverted(cm: &ConfigMap, key: &ConfigMapKey, current: &str) -> Result<Option<ConfigMap>> {
    let Some(previous) = previous_text(cm, key) else {
        return Ok(None);
    };
    ensure_revertible(&previous, current, key)?;
    let mut next = cm.clone();
    next.data
        .get_or_insert_with(BTreeMap::new)
        .insert(key.key.clone(), previous);
    if let Some(a) = next.metadata.annotations.as_mut() {
        a.remove(PREVIOUS_CONFIG);
        a.remove(PREVIOUS_CONFIG_KEY);
    }
    Ok(Some(next))
}

/// Reverting is safe only while the text is exactly what lbctl made of the previous one:
/// anything else would discard someone's later change.
pub fn ensure_revertible(previous: &str, current: &str, key: &ConfigMapKey) -> Result<()> {
    let ours = [true, false]
        .into_iter()
        .any(|mode_ipvs| edit(previous, Target { mode_ipvs }).is_ok_and(|e| e.text == current));
    if ours {
        return Ok(());
    }
    Err(Error::Unsupported {
        message: format!(
            "ConfigMap {}/{} key {} changed after lbctl wrote it; --revert would discard that change",
            key.namespace, key.name, key.key
        ),
        hint: Some(format!(
            "compare by hand: the text lbctl replaced is in annotation {PREVIOUS_CONFIG} (`kubectl -n {} get configmap {} -o jsonpath='{{.metadata.annotations.lbctl\\.io/previous-config}}'`)",
            key.namespace, key.name
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ConfigMapKey {
        ConfigMapKey {
            namespace: "kube-system".into(),
            name: "kube-proxy".into(),
            key: "config.conf".into(),
            config_path: "/var/lib/kube-proxy/config.conf".into(),
        }
    }

    const PREVIOUS: &str =
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"\"\n";

    #[test]
    fn revert_only_restores_what_lbctl_wrote() {
        let ours = edit(PREVIOUS, Target { mode_ipvs: true }).unwrap().text;
        assert!(ensure_revertible(PREVIOUS, &ours, &key()).is_ok());
        let theirs = ours.replace("kind:", "clusterCIDR: 10.0.0.0/8\nkind:");
        assert!(ensure_revertible(PREVIOUS, &theirs, &key()).is_err());
    }

    #[test]
    fn an_edit_keeps_the_replaced_text_and_a_revert_restores_it() {
        let ours = edit(PREVIOUS, Target { mode_ipvs: true }).unwrap().text;
        let cm = ConfigMap::default();
        assert_eq!(previous_text(&cm, &key()), None);
        assert_eq!(reverted(&cm, &key(), PREVIOUS).unwrap(), None);
        let edited = with_edit(&cm, &key(), PREVIOUS.into(), ours.clone());
        assert_eq!(previous_text(&edited, &key()).as_deref(), Some(PREVIOUS));
        let other_key = ConfigMapKey {
            key: "other".into(),
            ..key()
        };
        assert_eq!(previous_text(&edited, &other_key), None);
        let back = reverted(&edited, &key(), &ours).unwrap().unwrap();
        assert_eq!(back.data.unwrap()["config.conf"], PREVIOUS);
        assert!(back.metadata.annotations.unwrap().is_empty());
    }
}
