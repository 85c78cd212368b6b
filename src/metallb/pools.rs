//! The pools an install creates, from `--pool` flags or a user's file, checked before anything
//! is written: right namespace, valid addresses, and an L2Advertisement for every pool (without
//! one, MetalLB assigns addresses that nobody announces).

use std::collections::BTreeMap;

use kube::ResourceExt;
use serde_json::Value;

use super::crds::{
    IPAddressPool, IPAddressPoolSpec, L2Advertisement, L2AdvertisementSpec, LabelSelector,
};
use super::render::{MANAGED_BY, MANAGED_BY_LABEL};
use super::strict::{KeyLines, parse_strict};
use crate::net::pool::Pool;
use crate::{Error, Result};

/// What the install writes after MetalLB is up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolPlan {
    pub pools: Vec<IPAddressPool>,
    pub advertisements: Vec<L2Advertisement>,
    /// L2Advertisements lbctl added because no advertisement of the input covered a pool.
    pub added: Vec<String>,
}

impl PoolPlan {
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty() && self.advertisements.is_empty()
    }

    /// The pools and then the advertisements as JSON objects, labelled as lbctl's.
    pub fn objects(&self) -> Vec<Value> {
        let pools = self.pools.iter().map(|p| labelled(serde_json::to_value(p)));
        let ads = self
            .advertisements
            .iter()
            .map(|a| labelled(serde_json::to_value(a)));
        pools.chain(ads).collect()
    }
}

fn labelled(value: serde_json::Result<Value>) -> Value {
    let mut value = value.expect("MetalLB objects serialize");
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
        }
    }
    // Status belongs to the controller; never send one.
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    value
}

/// One pool named `name` holding every `--pool` value, plus its L2Advertisement.
pub fn from_flags(name: &str, ranges: &[String], namespace: &str) -> Result<PoolPlan> {
    check_name(name, "--pool-name")?;
    let mut addresses = Vec::new();
    for text in ranges {
        let pool = Pool::parse(text)?;
        addresses.extend(pool.entries().iter().map(|e| e.to_string()));
    }
    let mut pool = IPAddressPool::new(
        name,
        IPAddressPoolSpec {
            addresses,
            ..Default::default()
        },
    );
    pool.metadata.namespace = Some(namespace.into());
    let mut plan = PoolPlan {
        pools: vec![pool],
        ..Default::default()
    };
    advertise_uncovered(&mut plan, namespace);
    Ok(plan)
}

/// IPAddressPool and L2Advertisement documents as users write them, placed in MetalLB's
/// `namespace`. `source` names the file in messages.
pub fn from_config(source: &str, text: &str, namespace: &str) -> Result<PoolPlan> {
    let mut plan = documents(source, text)?;
    for pool in &mut plan.pools {
        place(source, "IPAddressPool", &mut pool.metadata, namespace)?;
    }
    for ad in &mut plan.advertisements {
        place(source, "L2Advertisement", &mut ad.metadata, namespace)?;
    }
    advertise_uncovered(&mut plan, namespace);
    Ok(plan)
}

/// The documents of a `--config` file with every rule that does not depend on where MetalLB
/// runs: YAML, kinds, known fields only, names, addresses, pools that do not overlap, at least
/// one pool, advertisements naming pools of the file. Namespaces stay as written (install
/// places them; preflight judges them as LB302).
pub fn documents(source: &str, text: &str) -> Result<PoolPlan> {
    let docs: Vec<Value> = serde_saphyr::from_str_multiple(text).map_err(|e| {
        Error::usage_with_hint(
            format!(
                "{source} is not valid YAML: {}",
                crate::error::yaml_problem(&e)
            ),
            "check the indentation; documents are separated by lines containing only ---",
        )
    })?;
    // The same parser on the same text yields the same documents, now with their keys' lines.
    let keys = KeyLines::of_documents(text).map_err(|e| {
        Error::usage(format!(
            "{source} is not valid YAML: {}",
            crate::error::yaml_problem(&e)
        ))
    })?;
    let mut plan = PoolPlan::default();
    for (index, (doc, keys)) in docs.into_iter().zip(&keys).enumerate() {
        let at = format!("{source} (document {})", index + 1);
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        if api_version != "metallb.io/v1beta1" {
            return Err(Error::usage_with_hint(
                format!("{at}: apiVersion {api_version:?} of {kind:?} is not metallb.io/v1beta1"),
                "--config takes IPAddressPool and L2Advertisement objects of metallb.io/v1beta1",
            ));
        }
        match kind.as_str() {
            "IPAddressPool" => {
                let pool: IPAddressPool = parse(source, &at, &kind, doc, keys)?;
                check_name(&pool.name_any(), &format!("{at}: metadata.name of {kind}"))?;
                Pool::from_addresses(&pool.spec.addresses).map_err(|e| {
                    Error::usage_with_hint(
                        format!("{at}: IPAddressPool {:?}: {e}", pool.name_any()),
                        e.hint(),
                    )
                })?;
                plan.pools.push(pool);
            }
            "L2Advertisement" => {
                let ad: L2Advertisement = parse(source, &at, &kind, doc, keys)?;
                check_name(&ad.name_any(), &format!("{at}: metadata.name of {kind}"))?;
                plan.advertisements.push(ad);
            }
            other => {
                return Err(Error::usage_with_hint(
                    format!("{at}: kind {other:?} is not supported by --config"),
                    "--config takes IPAddressPool and L2Advertisement objects; apply other MetalLB objects with kubectl once MetalLB runs",
                ));
            }
        }
    }
    check_disjoint(source, &plan.pools)?;
    if plan.pools.is_empty() {
        return Err(Error::usage_with_hint(
            format!("{source} defines no IPAddressPool"),
            "add an IPAddressPool document, or use --pool RANGE",
        ));
    }
    for ad in &plan.advertisements {
        for wanted in ad.spec.ip_address_pools.iter().flatten() {
            if !plan.pools.iter().any(|p| &p.name_any() == wanted) {
                return Err(Error::usage_with_hint(
                    format!(
                        "{source}: L2Advertisement {:?} names pool {wanted:?}, which the file does not define",
                        ad.name_any()
                    ),
                    "fix the name in spec.ipAddressPools, or add that IPAddressPool to the file",
                ));
            }
        }
    }
    Ok(plan)
}

/// The typed object of one document. A field it does not know is an error, as in kubectl's
/// strict validation: MetalLB would drop it, and a misspelled `autoassign` silently becomes the
/// default.
fn parse<T: serde::de::DeserializeOwned + ResourceExt>(
    source: &str,
    at: &str,
    kind: &str,
    mut doc: Value,
    keys: &KeyLines,
) -> Result<T> {
    // MetalLB lets `spec` be omitted (an L2Advertisement without one announces every pool).
    if let Some(map) = doc.as_object_mut() {
        map.entry("spec")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    let explain = format!(
        "`kubectl explain {}s --recursive` lists the fields",
        kind.to_lowercase()
    );
    let (object, unknown) = parse_strict::<T>(doc, keys).map_err(|e| {
        Error::usage_with_hint(format!("{at}: invalid {kind}: {e}"), explain.clone())
    })?;
    if unknown.is_empty() {
        return Ok(object);
    }
    let fields = unknown
        .iter()
        .map(|field| match field.line {
            Some(line) => format!("unknown field {:?} (line {line})", field.path),
            None => format!("unknown field {:?}", field.path),
        })
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::usage_with_hint(
        format!("{at}: {kind} {:?}: {fields}", object.name_any()),
        format!(
            "fix the spelling in {source} (field names are case-sensitive); {explain}; nothing was written"
        ),
    ))
}

/// MetalLB's webhooks accept its objects only in MetalLB's namespace, so a different namespace
/// is an error here rather than a rejected write later.
fn place(
    source: &str,
    kind: &str,
    meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    namespace: &str,
) -> Result<()> {
    let name = meta.name.clone().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if ns != namespace => Err(Error::usage_with_hint(
            format!(
                "{source}: {kind} {name:?} is in namespace {ns:?}, but MetalLB objects must be in the MetalLB namespace {namespace:?} (MetalLB ignores or rejects them anywhere else)"
            ),
            format!(
                "set `namespace: {namespace}` (or remove the namespace line) in {source}, or install MetalLB into {ns:?} with --metallb-namespace {ns}"
            ),
        )),
        _ => {
            meta.namespace = Some(namespace.into());
            Ok(())
        }
    }
}

/// MetalLB's webhook rejects pools that share addresses; say so before anything is written.
fn check_disjoint(source: &str, pools: &[IPAddressPool]) -> Result<()> {
    let parsed: Vec<(String, Pool)> = pools
        .iter()
        .filter_map(|p| Some((p.name_any(), Pool::from_addresses(&p.spec.addresses).ok()?)))
        .collect();
    for (i, (a, pa)) in parsed.iter().enumerate() {
        for (b, pb) in &parsed[i + 1..] {
            if let Some(shared) = pa.overlap(pb).first() {
                return Err(Error::usage_with_hint(
                    format!("{source}: IPAddressPools {a:?} and {b:?} share addresses ({shared})"),
                    "give every pool its own addresses; MetalLB rejects overlapping pools",
                ));
            }
        }
    }
    Ok(())
}

/// Kubernetes object names: a DNS-1123 subdomain.
fn check_name(name: &str, what: &str) -> Result<()> {
    crate::names::dns1123_subdomain(name).map_err(|why| {
        Error::usage(format!(
            "{what}: {} is not a valid object name: {why}",
            crate::error::shorten(name)
        ))
    })
}

/// Whether an advertisement announces `pool` (no pool names and no selectors means all pools).
pub fn covers(ad: &L2AdvertisementSpec, pool: &IPAddressPool) -> bool {
    let names = ad.ip_address_pools.as_deref().unwrap_or_default();
    let selectors = ad.ip_address_pool_selectors.as_deref().unwrap_or_default();
    if names.is_empty() && selectors.is_empty() {
        return true;
    }
    names.iter().any(|n| *n == pool.name_any())
        || selectors.iter().any(|s| selects(s, pool.labels()))
}

/// Label selector semantics (matchLabels and In/NotIn/Exists/DoesNotExist).
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|req| {
        let values = req.values.as_deref().unwrap_or_default();
        let value = labels.get(&req.key);
        match req.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

/// Adds an L2Advertisement for each pool no advertisement covers, named after the pool.
fn advertise_uncovered(plan: &mut PoolPlan, namespace: &str) {
    let uncovered: Vec<String> = plan
        .pools
        .iter()
        .filter(|pool| !plan.advertisements.iter().any(|ad| covers(&ad.spec, pool)))
        .map(|pool| pool.name_any())
        .collect();
    for pool in uncovered {
        let taken = |n: &str| plan.advertisements.iter().any(|a| a.name_any() == n);
        let name = if taken(&pool) {
            format!("{pool}-l2")
        } else {
            pool.clone()
        };
        let mut ad = L2Advertisement::new(
            &name,
            L2AdvertisementSpec {
                ip_address_pools: Some(vec![pool]),
                ..Default::default()
            },
        );
        ad.metadata.namespace = Some(namespace.into());
        plan.added.push(name);
        plan.advertisements.push(ad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "metallb-system";

    #[test]
    fn flags_make_one_pool_and_its_advertisement() {
        let plan = from_flags(
            "default",
            &["10.0.0.10-10.0.0.20".into(), "10.0.1.0/28".into()],
            NS,
        )
        .unwrap();
        assert_eq!(plan.pools.len(), 1);
        assert_eq!(
            plan.pools[0].spec.addresses,
            vec!["10.0.0.10-10.0.0.20", "10.0.1.0/28"]
        );
        assert_eq!(plan.added, vec!["default"]);
        assert_eq!(
            plan.advertisements[0].spec.ip_address_pools,
            Some(vec!["default".to_string()])
        );
        assert_eq!(
            plan.advertisements[0].metadata.namespace.as_deref(),
            Some(NS)
        );
    }

    #[test]
    fn bad_ranges_and_names_are_usage_errors() {
        let err = from_flags("default", &["10.0.0.20-10.0.0.10".into()], NS).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        let err = from_flags("Bad_Name", &["10.0.0.1".into()], NS).unwrap_err();
        assert!(err.to_string().contains("--pool-name"), "{err}");
    }

    #[test]
    fn wrong_namespace_names_both_namespaces_and_the_fix() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\n  namespace: system\nspec:\n  addresses: [10.0.0.1-10.0.0.5]\n";
        let err = from_config("pools.yaml", text, NS).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"system\"") && msg.contains("MetalLB namespace \"metallb-system\""),
            "{msg}"
        );
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("namespace: metallb-system")
                && hint.contains("--metallb-namespace system"),
            "{hint}"
        );
    }

    #[test]
    fn config_without_namespace_lands_in_metallb_namespace_and_gets_advertised() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: lan\nspec:\n  addresses: [192.168.1.240/28]\n  autoAssign: false\n";
        let plan = from_config("f", text, NS).unwrap();
        assert_eq!(plan.pools[0].metadata.namespace.as_deref(), Some(NS));
        assert_eq!(plan.pools[0].spec.auto_assign, Some(false));
        assert_eq!(plan.added, vec!["lan"]);
    }

    #[test]
    fn an_advertisement_for_all_pools_covers_everything() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [10.0.0.1]}\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: all}\n";
        let plan = from_config("f", text, NS).unwrap();
        assert!(plan.added.is_empty());
        assert_eq!(plan.advertisements.len(), 1);
    }

    #[test]
    fn selector_coverage_follows_label_semantics() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a, labels: {zone: x}}\nspec: {addresses: [10.0.0.1]}\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: b}\nspec: {addresses: [10.0.0.2]}\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: b}\nspec:\n  ipAddressPoolSelectors:\n  - matchExpressions: [{key: zone, operator: In, values: [x]}]\n";
        let plan = from_config("f", text, NS).unwrap();
        // `b` is not selected; its own name is taken by the user's advertisement.
        assert_eq!(plan.added, vec!["b-l2"]);
    }

    #[test]
    fn other_kinds_bad_addresses_and_dangling_references_are_rejected() {
        let bgp = "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: x}\n";
        assert!(
            from_config("f", bgp, NS)
                .unwrap_err()
                .to_string()
                .contains("BGPAdvertisement")
        );
        let bad = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [10.0.0.300]}\n";
        assert_eq!(
            from_config("f", bad, NS).unwrap_err().exit_code(),
            crate::ExitCode::Usage
        );
        let dangling = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [10.0.0.1]}\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l}\nspec: {ipAddressPools: [nope]}\n";
        assert!(
            from_config("f", dangling, NS)
                .unwrap_err()
                .to_string()
                .contains("\"nope\"")
        );
        assert!(from_config("f", ": : :\n  - [", NS).is_err());
        let overlap = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [10.0.0.0/30]}\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: b}\nspec: {addresses: [10.0.0.3-10.0.0.9]}\n";
        let err = from_config("f", overlap, NS).unwrap_err();
        assert!(
            err.to_string().contains("share addresses (10.0.0.3)"),
            "{err}"
        );
    }

    #[test]
    fn misspelled_fields_are_refused_with_object_path_and_line() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: lan\nspec:\n  addresses: [10.0.0.1]\n  autoassign: false\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2}\nspec:\n  nodeSelector: [{matchLabels: {a: b}}]\n";
        let err = from_config("pools.yaml", text, NS).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        assert_eq!(
            err.to_string(),
            "pools.yaml (document 1): IPAddressPool \"lan\": unknown field \"spec.autoassign\" (line 7)"
        );
        let second = text.split("---\n").nth(1).unwrap();
        let pool = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lan}\nspec: {addresses: [10.0.0.1]}\n---\n";
        let err = from_config("pools.yaml", &format!("{pool}{second}"), NS).unwrap_err();
        assert!(
            err.to_string()
                .contains("L2Advertisement \"l2\": unknown field \"spec.nodeSelector\" (line 10)"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("nothing was written"));
    }

    #[test]
    fn objects_carry_the_label_and_no_status() {
        let plan = from_flags("default", &["10.0.0.1".into()], NS).unwrap();
        for obj in plan.objects() {
            assert_eq!(obj["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY);
            assert!(obj.get("status").is_none());
        }
    }
}
