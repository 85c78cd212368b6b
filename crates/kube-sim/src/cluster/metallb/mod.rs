//! A stand-in for MetalLB's controller and speakers, active once MetalLB's controller
//! Deployment exists: webhook certificates and CA injection, the memberlist Secret, IP
//! allocation from IPAddressPools with MetalLB's events and annotation, pool status counts,
//! ServiceL2Status per announced Service, and ConfigurationState objects.

pub mod addresses;
pub mod certs;
mod interfaces;
pub mod webhook;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::meta;
use super::pods;
use super::settings::ClusterSettings;
use super::world::{Action, World};
use addresses::{PoolRanges, from_ip, to_ip};

const ALLOCATED_FROM: &str = "metallb.io/ip-allocated-from-pool";
const ADDRESS_POOL: &str = "metallb.io/address-pool";
const LB_IPS: &str = "metallb.io/loadBalancerIPs";
const EXCLUDE_LB: &str = "node.kubernetes.io/exclude-from-external-load-balancers";
const L2_NODE: &str = "metallb.io/node";
const L2_SERVICE: &str = "metallb.io/service-name";
const L2_SERVICE_NS: &str = "metallb.io/service-namespace";

/// Where MetalLB is installed: its namespace and controller Deployment.
#[derive(Debug, Clone, Copy)]
pub struct Install<'a> {
    pub namespace: &'a str,
    pub controller: &'a Value,
}

/// MetalLB's controller Deployment: named `controller` with the `component: controller` pod
/// label, or running a `metallb/controller` image (any namespace).
pub fn find_install(world: &World) -> Option<Install<'_>> {
    world
        .list("Deployment")
        .iter()
        .find(|d| {
            let labelled = meta::name(d) == "controller"
                && d.pointer("/spec/template/metadata/labels/component")
                    .and_then(Value::as_str)
                    == Some("controller");
            let image = d
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| meta::str_at(c, &["image"]).contains("metallb/controller"))
                });
            labelled || image
        })
        .map(|d| Install {
            namespace: meta::namespace(d),
            controller: d,
        })
}

/// Parses an IPAddressPool's addresses (MetalLB's texts on error).
pub fn pool_ranges(pool: &Value) -> Result<PoolRanges, String> {
    let name = meta::name(pool);
    let mut cidrs = Vec::new();
    for entry in pool
        .pointer("/spec/addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        cidrs.extend(addresses::parse_entry(entry.as_str().unwrap_or(""), name)?);
    }
    Ok(PoolRanges {
        name: name.to_string(),
        cidrs,
        avoid_buggy_ips: pool.pointer("/spec/avoidBuggyIPs").and_then(Value::as_bool) == Some(true),
    })
}

/// What the stand-in remembers between passes.
#[derive(Debug, Default)]
pub struct Memory {
    /// When the webhook Service first had a ready endpoint; shared with the admission hook.
    pub webhook_since: Arc<Mutex<Option<Timestamp>>>,
    certs: Option<certs::WebhookCerts>,
    /// Events already recorded (`uid|reason|message`), so each is sent once.
    events: HashSet<String>,
    /// The elected node per (candidate set, address) from the last pass, a cache of a pure
    /// function: electing hashes every candidate node, thousands of times per pass on a large
    /// cluster.
    elected: HashMap<(u64, String), String>,
}

impl Memory {
    pub fn webhook_since(&self) -> Option<Timestamp> {
        *self.webhook_since.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One pass of the MetalLB stand-in.
pub fn sync(
    world: &World,
    now: Timestamp,
    settings: &ClusterSettings,
    memory: &mut Memory,
    booting: bool,
) -> Vec<Action> {
    let Some(install) = find_install(world) else {
        *memory
            .webhook_since
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        return Vec::new();
    };
    let ns = install.namespace;
    let mut actions = Vec::new();
    track_webhook_endpoints(world, ns, now, settings, memory, booting);

    let controller_pod = world
        .in_namespace("Pod", ns)
        .find(|p| owned_by_workload(p, install.controller) && pods::phase(p) == "Running");
    let Some(controller_pod) = controller_pod else {
        return actions;
    };

    if settings.metallb.ca_bundle_injected {
        inject_certificates(world, ns, memory, &mut actions);
    }
    if world.get("Secret", ns, "memberlist").is_none() {
        actions.push(Action::Create(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "memberlist", "namespace": ns},
            "type": "Opaque",
            "data": {"secretkey": certs::memberlist_key()},
        })));
    }

    // The configuration, as the controller loads it: only pools in MetalLB's namespace count.
    let mut pool_objects: Vec<&Value> = world.in_namespace("IPAddressPool", ns).collect();
    pool_objects.sort_by_key(|p| meta::name(p));
    let parsed: Result<Vec<PoolRanges>, String> = pool_objects
        .iter()
        .map(|p| pool_ranges(p).map_err(|e| format!("parsing address pool {}: {e}", meta::name(p))))
        .collect();
    let config_error = settings
        .metallb
        .config_invalid
        .clone()
        .or_else(|| parsed.as_ref().err().cloned())
        .or_else(|| {
            parsed
                .as_ref()
                .ok()
                .and_then(|p| addresses::validate(p, &[]).err())
        });
    let speakers = speaker_pods(world, ns);
    config_states(
        world,
        ns,
        controller_pod,
        &speakers,
        config_error.as_deref(),
        &mut actions,
    );
    let (Ok(pools), None) = (parsed, config_error) else {
        return actions;
    };

    let allocations = allocate(world, &pools, &pool_objects, now, memory, &mut actions);
    pool_status(&pools, &pool_objects, &allocations, &mut actions);
    announce(
        world,
        ns,
        settings,
        &pool_objects,
        &allocations,
        &speakers,
        now,
        memory,
        &mut actions,
    );
    actions
}

/// Whether a pod belongs to a workload (directly, or through a Deployment's ReplicaSet).
fn owned_by_workload(pod: &Value, workload: &Value) -> bool {
    if meta::is_controlled_by(pod, workload) {
        return true;
    }
    meta::controller_of(pod).is_some_and(|r| {
        meta::str_at(r, &["kind"]) == "ReplicaSet"
            && meta::str_at(r, &["name"]).rsplit_once('-').map(|(d, _)| d)
                == Some(meta::name(workload))
    }) && meta::namespace(pod) == meta::namespace(workload)
}

fn track_webhook_endpoints(
    world: &World,
    ns: &str,
    now: Timestamp,
    settings: &ClusterSettings,
    memory: &Memory,
    booting: bool,
) {
    let services: Vec<&str> = webhook::all_webhooks(world)
        .filter(|w| meta::str_at(w, &["clientConfig", "service", "namespace"]) == ns)
        .map(|w| meta::str_at(w, &["clientConfig", "service", "name"]))
        .collect();
    let ready = services
        .iter()
        .any(|s| super::endpoints::ready_address(world, ns, s).is_some());
    let mut since = memory
        .webhook_since
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *since = match (ready, *since) {
        (false, _) => None,
        (true, Some(t)) => Some(t),
        // A scenario's MetalLB has been serving for a while already.
        (true, None) if booting => Some(
            now - SignedDuration::try_from(settings.metallb.webhook_settle).unwrap_or_default(),
        ),
        (true, None) => Some(now),
    };
}

/// Fills the webhook Secret and injects the CA into the webhook configuration and the bgppeers
/// conversion webhook, as MetalLB's cert rotator does.
fn inject_certificates(world: &World, ns: &str, memory: &mut Memory, actions: &mut Vec<Action>) {
    let Some(secret) = world.get("Secret", ns, "metallb-webhook-cert") else {
        return;
    };
    // Certificates already in the Secret (a previous run, a scenario) are kept, like the rotator
    // keeps valid ones.
    let stored = secret
        .pointer("/data/ca.crt")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let bundle = match (stored, &memory.certs) {
        (Some(ca), _) => ca.to_string(),
        (None, Some(certs)) => certs.ca_bundle(),
        (None, None) => match certs::WebhookCerts::generate("metallb-webhook-service", ns) {
            Ok(certs) => {
                let bundle = certs.ca_bundle();
                memory.certs = Some(certs);
                bundle
            }
            Err(_) => return,
        },
    };
    if stored.is_none()
        && let Some(certs) = &memory.certs
    {
        let mut filled = secret.clone();
        filled["data"] = certs.secret_data();
        actions.push(Action::Update(filled));
    }
    for vwc in world.list("ValidatingWebhookConfiguration") {
        let Some(hooks) = vwc.get("webhooks").and_then(Value::as_array) else {
            continue;
        };
        let ours = |w: &Value| meta::str_at(w, &["clientConfig", "service", "namespace"]) == ns;
        if hooks
            .iter()
            .any(|w| ours(w) && meta::str_at(w, &["clientConfig", "caBundle"]) != bundle)
        {
            let mut updated = vwc.clone();
            for w in updated["webhooks"].as_array_mut().into_iter().flatten() {
                if ours(w) {
                    w["clientConfig"]["caBundle"] = json!(bundle);
                }
            }
            actions.push(Action::Update(updated));
        }
    }
    for crd in world.list("CustomResourceDefinition") {
        let client = crd.pointer("/spec/conversion/webhook/clientConfig");
        let ours = client.is_some_and(|c| meta::str_at(c, &["service", "namespace"]) == ns);
        if ours && client.is_some_and(|c| meta::str_at(c, &["caBundle"]) != bundle) {
            let mut updated = crd.clone();
            updated["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"] = json!(bundle);
            actions.push(Action::Update(updated));
        }
    }
}

/// Speaker pods by node name.
fn speaker_pods<'a>(world: &'a World, ns: &str) -> HashMap<&'a str, &'a Value> {
    let speaker = world.in_namespace("DaemonSet", ns).find(|d| {
        meta::name(d) == "speaker"
            || d.pointer("/spec/template/metadata/labels/component")
                .and_then(Value::as_str)
                == Some("speaker")
    });
    let Some(speaker) = speaker else {
        return HashMap::new();
    };
    world
        .in_namespace("Pod", ns)
        .filter(|p| meta::is_controlled_by(p, speaker) && pods::phase(p) == "Running")
        .map(|p| (meta::str_at(p, &["spec", "nodeName"]), p))
        .collect()
}

/// The non-controlling owner reference MetalLB's components put on what they report.
fn pod_owner(pod: &Value) -> Value {
    json!([{"apiVersion": "v1", "kind": "Pod", "name": meta::name(pod), "uid": meta::uid(pod)}])
}

fn config_states(
    world: &World,
    ns: &str,
    controller: &Value,
    speakers: &HashMap<&str, &Value>,
    error: Option<&str>,
    actions: &mut Vec<Action>,
) {
    let status = match error {
        Some(e) => json!({"result": "Invalid", "errorSummary": e}),
        None => json!({"result": "Valid", "errorSummary": ""}),
    };
    let mut wanted: Vec<(String, &Value)> = vec![("controller".to_string(), controller)];
    let mut nodes: Vec<&&str> = speakers.keys().collect();
    nodes.sort();
    wanted.extend(
        nodes
            .into_iter()
            .map(|n| (format!("speaker-{n}"), speakers[*n])),
    );
    for (name, owner) in wanted {
        match world.get("ConfigurationState", ns, &name) {
            None => actions.push(Action::Create(json!({
                "apiVersion": "metallb.io/v1beta1",
                "kind": "ConfigurationState",
                "metadata": {"name": name, "namespace": ns, "ownerReferences": pod_owner(owner)},
                "status": status.clone(),
            }))),
            Some(existing) if existing.get("status") != Some(&status) => {
                let mut updated = existing.clone();
                updated["status"] = status.clone();
                actions.push(Action::UpdateStatus(updated));
            }
            Some(_) => {}
        }
    }
}

/// A Service's allocation: the pool and address it holds.
#[derive(Debug, Clone)]
pub struct Allocation<'a> {
    pub service: &'a Value,
    pub pool: String,
    pub v6: bool,
    pub ip: u128,
}

fn key(svc: &Value) -> String {
    format!("{}/{}", meta::namespace(svc), meta::name(svc))
}

fn ingress_ip(svc: &Value) -> Option<(bool, u128)> {
    svc.pointer("/status/loadBalancer/ingress/0/ip")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .map(from_ip)
}

/// Assigns addresses like MetalLB's controller: existing assignments that the configuration
/// still allows are kept; new ones honour `metallb.io/loadBalancerIPs` (or `spec.loadBalancerIP`)
/// and `metallb.io/address-pool`, else take the first free address of the auto-assign pools.
fn allocate<'a>(
    world: &'a World,
    pools: &[PoolRanges],
    pool_objects: &[&Value],
    now: Timestamp,
    memory: &mut Memory,
    actions: &mut Vec<Action>,
) -> Vec<Allocation<'a>> {
    let mut services: Vec<&Value> = world
        .list("Service")
        .iter()
        .filter(|s| {
            meta::str_at(s, &["spec", "type"]) == "LoadBalancer" && !meta::is_terminating(s)
        })
        .filter(|s| {
            s.pointer("/spec/loadBalancerClass")
                .is_none_or(Value::is_null)
        })
        .collect();
    // Which of several unassigned Services MetalLB serves first when it (re)processes them all
    // is its cache's order, which it does not define (it only puts assigned ones first): here
    // namespace/name, never creation times, which depend on how fast a scenario was loaded.
    services.sort_by_key(|s| key(s));
    let auto_assign = |name: &str| {
        pool_objects
            .iter()
            .find(|p| meta::name(p) == name)
            .is_none_or(|p| p.pointer("/spec/autoAssign").and_then(Value::as_bool) != Some(false))
    };
    let owner_of = |v6: bool, ip: u128| {
        pools
            .iter()
            .find(|p| p.owns(v6, ip))
            .map(|p| p.name.clone())
    };

    let mut used: HashSet<(bool, u128)> = HashSet::new();
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for svc in services {
        let kept = ingress_ip(svc).and_then(|(v6, ip)| {
            let pool = owner_of(v6, ip)?;
            let wanted_pool = meta::annotation(svc, ADDRESS_POOL);
            (wanted_pool.is_none_or(|w| w == pool) && !used.contains(&(v6, ip)))
                .then_some((v6, ip, pool))
        });
        match kept {
            Some((v6, ip, pool)) => {
                used.insert((v6, ip));
                if meta::annotation(svc, ALLOCATED_FROM) != Some(pool.as_str()) {
                    let mut annotated = without_rv(svc);
                    meta::set_annotation(&mut annotated, ALLOCATED_FROM, &pool);
                    actions.push(Action::Update(annotated));
                }
                out.push(Allocation {
                    service: svc,
                    pool,
                    v6,
                    ip,
                });
            }
            None => pending.push(svc),
        }
    }
    if pools.is_empty() {
        // With no pools MetalLB clears nothing it did not assign and records no event.
        return out;
    }
    // Addresses below a pool's cursor were all taken when this pass looked: skip them.
    let mut cursors: HashMap<(String, bool), u128> = HashMap::new();
    for svc in pending {
        let v6 = meta::str_at(svc, &["spec", "clusterIP"]).contains(':');
        let result = choose(svc, v6, pools, &auto_assign, &used, &mut cursors);
        match result {
            Ok((ip, pool)) => {
                used.insert((v6, ip));
                let ip_text = to_ip(v6, ip).to_string();
                let mut with_status = svc.clone();
                with_status["status"] =
                    json!({"loadBalancer": {"ingress": [{"ip": ip_text, "ipMode": "VIP"}]}});
                actions.push(Action::UpdateStatus(with_status));
                let mut annotated = without_rv(svc);
                meta::set_annotation(&mut annotated, ALLOCATED_FROM, &pool);
                actions.push(Action::Update(annotated));
                record_event(
                    svc,
                    "Normal",
                    "IPAllocated",
                    &format!("Assigned IP [\"{ip_text}\"]"),
                    "metallb-controller",
                    now,
                    memory,
                    actions,
                );
                out.push(Allocation {
                    service: svc,
                    pool,
                    v6,
                    ip,
                });
            }
            Err(reason) => {
                let message = format!("Failed to allocate IP for \"{}\": {reason}", key(svc));
                record_event(
                    svc,
                    "Warning",
                    "AllocationFailed",
                    &message,
                    "metallb-controller",
                    now,
                    memory,
                    actions,
                );
            }
        }
    }
    out
}

fn without_rv(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(m) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    copy
}

/// Picks an address for a Service (MetalLB's `allocateIPs`), or says why there is none.
fn choose(
    svc: &Value,
    v6: bool,
    pools: &[PoolRanges],
    auto_assign: &dyn Fn(&str) -> bool,
    used: &HashSet<(bool, u128)>,
    cursors: &mut HashMap<(String, bool), u128>,
) -> Result<(u128, String), String> {
    let mut next_free = |pool: &PoolRanges| {
        let cursor = cursors.entry((pool.name.clone(), v6)).or_insert(0);
        let found = pool.first_free(v6, *cursor, &|ip| used.contains(&(v6, ip)))?;
        *cursor = found;
        Some(found)
    };
    let wanted_pool = meta::annotation(svc, ADDRESS_POOL);
    let requested = match (
        meta::annotation(svc, LB_IPS),
        meta::str_at(svc, &["spec", "loadBalancerIP"]),
    ) {
        (Some(_), lb) if !lb.is_empty() => {
            return Err(format!(
                "service can not have both {LB_IPS} and svc.Spec.LoadBalancerIP"
            ));
        }
        (Some(list), _) => Some(list.split(',').next().unwrap_or("").trim().to_string()),
        (None, "") => None,
        (None, lb) => Some(lb.to_string()),
    };
    if let Some(text) = requested {
        let ip: std::net::IpAddr = text
            .parse()
            .map_err(|_| format!("invalid {LB_IPS}: {text:?}"))?;
        let (family_v6, n) = from_ip(ip);
        if family_v6 != v6 {
            return Err(format!(
                "requested loadBalancer IP(s) [\"{ip}\"] does not match the ipFamily of the service"
            ));
        }
        let Some(pool) = pools.iter().find(|p| p.owns(v6, n)) else {
            return Err(format!("\"{ip}\" is not allowed in config"));
        };
        if used.contains(&(v6, n)) {
            return Err(format!(
                "can't change sharing key for \"{}\", address also in use by another service",
                key(svc)
            ));
        }
        if let Some(w) = wanted_pool.filter(|w| *w != pool.name) {
            return Err(format!(
                "requested loadBalancer IP(s) [\"{ip}\"] is not compatible with requested address pool {w}"
            ));
        }
        return Ok((n, pool.name.clone()));
    }
    if let Some(w) = wanted_pool {
        let pool = pools
            .iter()
            .find(|p| p.name == w)
            .ok_or_else(|| format!("unknown pool \"{w}\""))?;
        return next_free(pool)
            .map(|ip| (ip, pool.name.clone()))
            .ok_or_else(|| format!("no available IPs in pool \"{w}\""));
    }
    pools
        .iter()
        .filter(|p| auto_assign(&p.name))
        .find_map(|p| next_free(p).map(|ip| (ip, p.name.clone())))
        .ok_or_else(|| "no available IPs".to_string())
}

/// An Event on a Service as client-go's recorder writes it, sent once per reason and message.
#[allow(clippy::too_many_arguments)]
fn record_event(
    svc: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    component: &str,
    now: Timestamp,
    memory: &mut Memory,
    actions: &mut Vec<Action>,
) {
    if !memory
        .events
        .insert(format!("{}|{reason}|{message}", meta::uid(svc)))
    {
        return;
    }
    actions.push(Action::Create(meta::event(
        svc, kind, reason, message, component, now,
    )));
}

fn pool_status(
    pools: &[PoolRanges],
    pool_objects: &[&Value],
    allocations: &[Allocation],
    actions: &mut Vec<Action>,
) {
    for (pool, obj) in pools.iter().zip(pool_objects) {
        let (cap4, cap6) = pool.capacity();
        let assigned4 = allocations
            .iter()
            .filter(|a| a.pool == pool.name && !a.v6)
            .count() as u128;
        let assigned6 = allocations
            .iter()
            .filter(|a| a.pool == pool.name && a.v6)
            .count() as u128;
        let status = json!({
            "assignedIPv4": assigned4 as i64,
            "assignedIPv6": assigned6 as i64,
            "availableIPv4": cap4.saturating_sub(assigned4).min(i64::MAX as u128) as i64,
            "availableIPv6": cap6.saturating_sub(assigned6).min(i64::MAX as u128) as i64,
        });
        if obj.get("status") != Some(&status) {
            let mut updated = (*obj).clone();
            updated["status"] = status;
            actions.push(Action::UpdateStatus(updated));
        }
    }
}

/// The L2Advertisements that announce a pool's addresses for a Service (MetalLB v0.16.1
/// `internal/config/config.go` `setL2AdvertisementsToPools`: no pool names and no pool selectors
/// select every pool; `speaker/layer2_controller.go` `l2AdsForService`: no service selectors, or
/// one matching the Service's labels).
fn advertisements_for<'a>(world: &'a World, ns: &str, pool: &Value, svc: &Value) -> Vec<&'a Value> {
    world
        .in_namespace("L2Advertisement", ns)
        .filter(|adv| {
            let names = adv
                .pointer("/spec/ipAddressPools")
                .and_then(Value::as_array);
            let selectors = adv
                .pointer("/spec/ipAddressPoolSelectors")
                .and_then(Value::as_array);
            let by_name = names.is_some_and(|ns| ns.iter().any(|n| n == meta::name(pool)));
            let by_label = selectors
                .is_some_and(|ss| ss.iter().any(|s| meta::label_selector_matches(s, pool)));
            let all = names.is_none_or(Vec::is_empty) && selectors.is_none_or(Vec::is_empty);
            all || by_name || by_label
        })
        .filter(|adv| {
            adv.pointer("/spec/serviceSelectors")
                .and_then(Value::as_array)
                .is_none_or(|ss| {
                    ss.is_empty() || ss.iter().any(|s| meta::label_selector_matches(s, svc))
                })
        })
        .collect()
}

/// Whether an advertisement's `nodeSelectors` select a node (none: every node).
fn selects_node(adv: &Value, node: &Value) -> bool {
    adv.pointer("/spec/nodeSelectors")
        .and_then(Value::as_array)
        .is_none_or(|ss| ss.is_empty() || ss.iter().any(|s| meta::label_selector_matches(s, node)))
}

/// Nodes that may announce for these advertisements (`speakersForAds`): a running, ready
/// speaker; no `NetworkUnavailable=True` condition; no exclusion label (unless the speaker runs
/// with `--ignore-exclude-lb`); selected by one of the advertisements' node selectors.
fn eligible_nodes<'a>(
    world: &'a World,
    speakers: &HashMap<&str, &Value>,
    ads: &[&Value],
) -> Vec<&'a str> {
    world
        .list("Node")
        .iter()
        .filter(|n| {
            let Some(speaker) = speakers.get(meta::name(n)) else {
                return false;
            };
            let ignore_exclude = speaker
                .pointer("/spec/containers/0/args")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x == "--ignore-exclude-lb" || x == "--ignore-exclude-lb=true")
                });
            let network_unavailable = n
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| {
                    meta::str_at(c, &["type"]) == "NetworkUnavailable"
                        && meta::str_at(c, &["status"]) == "True"
                });
            pods::is_ready(speaker)
                && !network_unavailable
                && (ignore_exclude || meta::label(n, EXCLUDE_LB).is_none())
                && ads.iter().any(|a| selects_node(a, n))
        })
        .map(meta::name)
        .collect()
}

/// ServiceL2Status objects and `nodeAssigned` events for every allocated Service an
/// L2Advertisement covers and that has a serving endpoint; stale statuses go.
#[allow(clippy::too_many_arguments)]
fn announce(
    world: &World,
    ns: &str,
    settings: &ClusterSettings,
    pool_objects: &[&Value],
    allocations: &[Allocation],
    speakers: &HashMap<&str, &Value>,
    now: Timestamp,
    memory: &mut Memory,
    actions: &mut Vec<Action>,
) {
    let mut wanted: HashSet<(String, String)> = HashSet::new();
    let exclude = interfaces::exclusions(world, ns);
    // Candidate nodes depend on the advertisements only (Local policy aside): compute them once
    // per set of advertisements.
    let mut candidates: HashMap<Vec<&str>, (Vec<&str>, u64)> = HashMap::new();
    let mut elected = HashMap::new();
    let mut existing_by_service: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for s in world.in_namespace("ServiceL2Status", ns) {
        let svc = (
            meta::label(s, L2_SERVICE_NS).unwrap_or(""),
            meta::label(s, L2_SERVICE).unwrap_or(""),
        );
        existing_by_service.entry(svc).or_default().push(s);
    }
    for alloc in allocations {
        let Some(pool) = pool_objects.iter().find(|p| meta::name(p) == alloc.pool) else {
            continue;
        };
        let svc = alloc.service;
        let ads = advertisements_for(world, ns, pool, svc);
        if ads.is_empty() {
            continue;
        }
        // `ShouldAnnounce` starts with `activeEndpointExists`: no serving endpoint, no announcement.
        let serving = serving_endpoint_nodes(world, svc);
        let Some(serving) = serving else {
            continue;
        };
        let ad_names: Vec<&str> = ads.iter().map(|a| meta::name(a)).collect();
        let (all, fingerprint) = candidates.entry(ad_names).or_insert_with(|| {
            let nodes = eligible_nodes(world, speakers, &ads);
            let fingerprint = fnv(nodes.join(",").as_bytes());
            (nodes, fingerprint)
        });
        let ip_text = to_ip(alloc.v6, alloc.ip).to_string();
        let node = if meta::str_at(svc, &["spec", "externalTrafficPolicy"]) == "Local" {
            leader(all.iter().filter(|n| serving.contains(*n)), &ip_text)
        } else {
            // A pure cache: the winner is a function of the candidate set and the address,
            // and hashing every candidate for every Service is the cost of a large cluster.
            let memo = (*fingerprint, ip_text.clone());
            let node = match memory.elected.get(&memo) {
                Some(node) => Some(node.clone()),
                None => leader(all.iter(), &ip_text),
            };
            if let Some(node) = &node {
                elected.insert(memo, node.clone());
            }
            node
        };
        let Some(node) = node else {
            continue;
        };
        let node = match settings.metallb.l2_status_node.get(&key(svc)) {
            Some(other) if speakers.contains_key(other.as_str()) => other.as_str(),
            _ => node.as_str(),
        };
        let mut announce_failed = false;
        let mut status = json!({"node": node, "serviceName": meta::name(svc), "serviceNamespace": meta::namespace(svc)});
        // The winner's own advertisements give its interfaces (`ipAdvertisementFor`): one
        // without `interfaces` means all of them.
        let winner = world.get("Node", "", node);
        let mine: Vec<&&Value> = ads
            .iter()
            .filter(|a| winner.is_some_and(|n| selects_node(a, n)))
            .collect();
        let lists: Vec<&Vec<Value>> = mine
            .iter()
            .filter_map(|a| a.pointer("/spec/interfaces").and_then(Value::as_array))
            .filter(|i| !i.is_empty())
            .collect();
        if !mine.is_empty() && lists.len() == mine.len() {
            let mut names: Vec<&str> = lists
                .iter()
                .flat_map(|l| l.iter())
                .filter_map(Value::as_str)
                .collect();
            names.sort_unstable();
            names.dedup();
            status["interfaces"] = Value::Array(names.iter().map(|i| json!({"name": i})).collect());
            // `SetBalancer`: none of the listed interfaces exists on the winner (as far as its
            // node facts tell): the speaker warns, announces nothing and writes no status, yet
            // still reports `nodeAssigned` right after.
            let known =
                interfaces::speaker_interfaces(&settings.node_fact(node).log, exclude.as_ref());
            if known.is_some_and(|k| !names.iter().any(|n| k.iter().any(|i| i == n))) {
                announce_failed = true;
            }
        }
        if announce_failed {
            record_event(
                svc,
                "Warning",
                "announceFailed",
                &interfaces::announce_failed(&ip_text, node),
                "metallb-speaker",
                now,
                memory,
                actions,
            );
        }
        let existing = existing_by_service
            .get(&(meta::namespace(svc), meta::name(svc)))
            .and_then(|list| list.iter().find(|s| meta::label(s, L2_NODE) == Some(node)));
        if !announce_failed {
            wanted.insert((key(svc), node.to_string()));
        }
        match existing {
            _ if announce_failed => {}
            Some(s) if s.get("status") == Some(&status) => {}
            Some(s) => {
                let mut updated = (*s).clone();
                updated["status"] = status;
                actions.push(Action::UpdateStatus(updated));
            }
            None => actions.push(Action::Create(json!({
                "apiVersion": "metallb.io/v1beta1",
                "kind": "ServiceL2Status",
                "metadata": {
                    "name": format!("l2-{}", meta::random_suffix()),
                    "generateName": "l2-",
                    "namespace": ns,
                    "labels": {L2_NODE: node, L2_SERVICE: meta::name(svc), L2_SERVICE_NS: meta::namespace(svc)},
                    "ownerReferences": pod_owner(speakers[node]),
                },
                "status": status,
            }))),
        }
        let message = format!("announcing from node \"{node}\" with protocol \"layer2\"");
        record_event(
            svc,
            "Normal",
            "nodeAssigned",
            &message,
            "metallb-speaker",
            now,
            memory,
            actions,
        );
    }
    for s in world.in_namespace("ServiceL2Status", ns) {
        let svc = format!(
            "{}/{}",
            meta::label(s, L2_SERVICE_NS).unwrap_or(""),
            meta::label(s, L2_SERVICE).unwrap_or("")
        );
        if !wanted.contains(&(svc, meta::label(s, L2_NODE).unwrap_or("").to_string())) {
            actions.push(Action::delete_of(s));
        }
    }
    memory.elected = elected;
}

/// The node that announces `ip` among `candidates`, as every MetalLB speaker computes it
/// (`speaker/layer2_controller.go` `ShouldAnnounce`): the candidates sorted by
/// `sha256(node + "#" + ip)`, compared as bytes; the first wins.
fn leader<'a>(candidates: impl Iterator<Item = &'a &'a str>, ip: &str) -> Option<String> {
    candidates
        .min_by_key(|n| election_hash(n, ip))
        .map(|n| n.to_string())
}

/// `sha256(node + "#" + ip)`, `ip` in Go's `net.IP.String()` form (Rust's `Display` agrees for
/// IPv4 and for RFC 5952 IPv6).
fn election_hash(node: &str, ip: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{node}#{ip}").as_bytes());
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// FNV-1a, a cheap fingerprint of a candidate list for the cache.
fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Nodes holding a serving endpoint of the Service (`epslices.EndpointCanServe`: `ready` unset
/// or true, or `serving` true); `None` when no endpoint can serve at all. An endpoint without a
/// node name counts for "some endpoint serves" but for no node.
fn serving_endpoint_nodes<'a>(world: &'a World, svc: &Value) -> Option<HashSet<&'a str>> {
    let mut any = false;
    let mut nodes = HashSet::new();
    let name = meta::name(svc);
    for slice in world.in_namespace("EndpointSlice", meta::namespace(svc)) {
        if meta::label(slice, "kubernetes.io/service-name") != Some(name) {
            continue;
        }
        for e in slice
            .get("endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ready = e.pointer("/conditions/ready").and_then(Value::as_bool);
            let serving = e.pointer("/conditions/serving").and_then(Value::as_bool);
            if ready.unwrap_or(true) || serving == Some(true) {
                any = true;
                if let Some(n) = e.get("nodeName").and_then(Value::as_str) {
                    nodes.insert(n);
                }
            }
        }
    }
    any.then_some(nodes)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Cluster, ClusterSettings};
    use super::*;

    fn booted(extra: Vec<Value>, settings: ClusterSettings) -> (MemStore, Cluster) {
        let mut store = MemStore::new([three_nodes(), metallb_install(), extra].concat());
        let mut cluster = Cluster::new(settings);
        assert!(store.settle(&mut cluster, now(), 30) < 30, "settles");
        (store, cluster)
    }

    fn ingress(store: &MemStore, name: &str) -> Option<String> {
        store.find("Service", "default", name)["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .map(str::to_string)
    }

    #[test]
    fn healthy_install_fills_certificates_and_memberlist() {
        let (store, _) = booted(vec![], ClusterSettings::default());
        let secret = store.find("Secret", "metallb-system", "metallb-webhook-cert");
        let ca = secret["data"]["ca.crt"].as_str().unwrap();
        assert!(!ca.is_empty());
        let vwc = store.find(
            "ValidatingWebhookConfiguration",
            "",
            "metallb-webhook-configuration",
        );
        assert_eq!(vwc["webhooks"][0]["clientConfig"]["caBundle"], ca);
        let crd = store.find("CustomResourceDefinition", "", "bgppeers.metallb.io");
        assert_eq!(
            crd["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"],
            ca
        );
        assert!(
            store.find("Secret", "metallb-system", "memberlist")["data"]["secretkey"].is_string()
        );
        let state = store.find("ConfigurationState", "metallb-system", "controller");
        assert_eq!(
            state["status"],
            json!({"result": "Valid", "errorSummary": ""})
        );
        for node in ["cp1", "w1", "w2"] {
            let s = store.find(
                "ConfigurationState",
                "metallb-system",
                &format!("speaker-{node}"),
            );
            assert_eq!(s["status"]["result"], "Valid");
            assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "Pod");
        }
    }

    #[test]
    fn ca_bundle_switch_leaves_the_secret_empty() {
        let settings = ClusterSettings {
            metallb: super::super::MetalLbSettings {
                ca_bundle_injected: false,
                ..Default::default()
            },
            ..Default::default()
        };
        let (store, _) = booted(vec![], settings);
        assert!(
            store
                .find("Secret", "metallb-system", "metallb-webhook-cert")
                .get("data")
                .is_none()
        );
        assert!(
            store.find(
                "ValidatingWebhookConfiguration",
                "",
                "metallb-webhook-configuration"
            )["webhooks"][0]["clientConfig"]
                .get("caBundle")
                .is_none()
        );
    }

    #[test]
    fn load_balancer_gets_an_ip_event_annotation_and_l2_status() {
        let extra = vec![
            ip_pool("lan", "metallb-system", &["192.168.77.240-192.168.77.250"]),
            l2_advertisement("lan", &["lan"]),
            lb_service("web", "2026-11-25T09:00:00Z"),
            endpoint_slice("web", &[("w1", true, true), ("w2", true, true)]),
        ];
        let (store, _) = booted(extra, ClusterSettings::default());
        assert_eq!(ingress(&store, "web").as_deref(), Some("192.168.77.240"));
        let svc = store.find("Service", "default", "web");
        assert_eq!(meta::annotation(svc, ALLOCATED_FROM), Some("lan"));
        let events = events(&store);
        assert!(
            events.contains(&"IPAllocated: Assigned IP [\"192.168.77.240\"]".to_string()),
            "{events:?}"
        );
        let l2: Vec<&Value> = store
            .objects
            .iter()
            .filter(|o| o["kind"] == "ServiceL2Status")
            .collect();
        assert_eq!(l2.len(), 1);
        let node = l2[0]["status"]["node"].as_str().unwrap();
        // sha256("w1#192.168.77.240") = e82d0c0e... < sha256("w2#192.168.77.240") = ee68ad2d...
        // (`printf 'w1#192.168.77.240' | sha256sum`); cp1 carries the exclude label.
        assert_eq!(node, "w1");
        assert_eq!(l2[0]["status"]["serviceName"], "web");
        assert_eq!(meta::label(l2[0], L2_NODE), Some(node));
        assert!(meta::name(l2[0]).starts_with("l2-"));
        assert!(events.contains(&format!(
            "nodeAssigned: announcing from node \"{node}\" with protocol \"layer2\""
        )));
        let pool = store.find("IPAddressPool", "metallb-system", "lan");
        assert_eq!(
            pool["status"],
            json!({"assignedIPv4": 1, "assignedIPv6": 0, "availableIPv4": 10, "availableIPv6": 0})
        );
    }

    #[test]
    fn exhausted_pool_reports_allocation_failed() {
        let extra = vec![
            ip_pool("one", "metallb-system", &["192.168.77.240/32"]),
            l2_advertisement("all", &[]),
            lb_service("a", "2026-11-25T09:00:00Z"),
            lb_service("b", "2026-11-25T09:00:01Z"),
        ];
        let (store, _) = booted(extra, ClusterSettings::default());
        assert_eq!(ingress(&store, "a").as_deref(), Some("192.168.77.240"));
        assert_eq!(ingress(&store, "b"), None);
        let events = events(&store);
        assert!(
            events.contains(
                &"AllocationFailed: Failed to allocate IP for \"default/b\": no available IPs"
                    .to_string()
            ),
            "{events:?}"
        );
        assert_eq!(
            events
                .iter()
                .filter(|e| e.starts_with("AllocationFailed"))
                .count(),
            1,
            "recorded once"
        );
    }

    #[test]
    fn requested_pool_and_address_annotations() {
        let mut pinned = lb_service("pinned", "2026-11-25T09:00:00Z");
        meta::set_annotation(&mut pinned, LB_IPS, "192.168.77.245");
        let mut reserved = lb_service("reserved", "2026-11-25T09:00:01Z");
        meta::set_annotation(&mut reserved, ADDRESS_POOL, "manual");
        let mut missing = lb_service("missing", "2026-11-25T09:00:02Z");
        meta::set_annotation(&mut missing, ADDRESS_POOL, "nope");
        let mut manual = ip_pool("manual", "metallb-system", &["192.168.78.10/31"]);
        manual["spec"]["autoAssign"] = json!(false);
        let extra = vec![
            ip_pool("lan", "metallb-system", &["192.168.77.240/28"]),
            manual,
            pinned,
            reserved,
            missing,
        ];
        let (store, _) = booted(extra, ClusterSettings::default());
        assert_eq!(ingress(&store, "pinned").as_deref(), Some("192.168.77.245"));
        assert_eq!(
            ingress(&store, "reserved").as_deref(),
            Some("192.168.78.10")
        );
        assert!(events(&store).contains(&"AllocationFailed: Failed to allocate IP for \"default/missing\": unknown pool \"nope\"".to_string()));
        assert!(
            !store.objects.iter().any(|o| o["kind"] == "ServiceL2Status"),
            "no L2Advertisement: nobody announces"
        );
    }

    #[test]
    fn pools_outside_the_namespace_and_no_pools_give_nothing() {
        let extra = vec![
            ip_pool("lan", "default", &["192.168.77.240/28"]),
            lb_service("web", "2026-11-25T09:00:00Z"),
        ];
        let (store, _) = booted(extra, ClusterSettings::default());
        assert_eq!(ingress(&store, "web"), None);
        assert!(
            events(&store).is_empty(),
            "MetalLB records nothing without pools"
        );
    }

    #[test]
    fn invalid_configuration_is_reported_and_blocks_allocation() {
        let settings = ClusterSettings {
            metallb: super::super::MetalLbSettings {
                config_invalid: Some("boom".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let extra = vec![
            ip_pool("lan", "metallb-system", &["192.168.77.240/28"]),
            lb_service("web", "2026-11-25T09:00:00Z"),
        ];
        let (store, _) = booted(extra, settings);
        assert_eq!(
            store.find("ConfigurationState", "metallb-system", "controller")["status"],
            json!({"result": "Invalid", "errorSummary": "boom"})
        );
        assert_eq!(ingress(&store, "web"), None);
    }

    #[test]
    fn unready_speaker_node_never_announces() {
        let settings = ClusterSettings {
            pods_never_ready: vec![
                "metallb-system/speaker@w1".into(),
                "metallb-system/speaker@w2".into(),
            ],
            ..Default::default()
        };
        let extra = vec![
            ip_pool("lan", "metallb-system", &["192.168.77.240/28"]),
            l2_advertisement("lan", &[]),
            lb_service("web", "2026-11-25T09:00:00Z"),
            endpoint_slice("web", &[("w1", true, true)]),
        ];
        let (store, _) = booted(extra, settings);
        assert!(
            ingress(&store, "web").is_some(),
            "the controller still assigns"
        );
        assert!(
            !store.objects.iter().any(|o| o["kind"] == "ServiceL2Status"),
            "cp1 is excluded, w1 and w2 have no ready speaker"
        );
    }

    fn announced_by(store: &MemStore, svc: &str) -> Vec<String> {
        store
            .objects
            .iter()
            .filter(|o| o["kind"] == "ServiceL2Status" && o["status"]["serviceName"] == svc)
            .map(|o| o["status"]["node"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn announcing(svc_edit: impl FnOnce(&mut Value), extra: Vec<Value>) -> Vec<String> {
        let mut svc = lb_service("web", "2026-11-25T09:00:00Z");
        svc_edit(&mut svc);
        let objects = [
            vec![
                ip_pool("lan", "metallb-system", &["192.168.77.240/28"]),
                svc,
            ],
            extra,
        ]
        .concat();
        let (store, _) = booted(objects, ClusterSettings::default());
        assert_eq!(ingress(&store, "web").as_deref(), Some("192.168.77.240"));
        announced_by(&store, "web")
    }

    #[test]
    fn election_hash_is_metallbs_sha256_of_node_and_address() {
        // Computed independently: `printf 'node-a#192.168.1.240' | sha256sum`.
        let hex = |h: [u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(election_hash("node-a", "192.168.1.240")),
            "0905ce28e61d7edba0d1a1e81637d349ef0299ecc2fb9fc9c8347049ba3a9c82"
        );
        assert_eq!(
            hex(election_hash("node-b", "fd00::240")),
            "fb65515549054e83cf6efa23539bbeb3b6f859fe2b2e3d35b0549cb279f61ce4"
        );
        // 0905.. < a653.. < c5db..: node-a, then node-c, then node-b.
        let nodes = ["node-b", "node-c", "node-a"];
        assert_eq!(
            leader(nodes.iter(), "192.168.1.240").as_deref(),
            Some("node-a")
        );
        assert_eq!(
            leader(nodes[..2].iter(), "192.168.1.240").as_deref(),
            Some("node-c")
        );
    }

    #[test]
    fn no_serving_endpoint_announces_nothing_but_a_serving_terminating_one_does() {
        let none = announcing(|_| {}, vec![l2_advertisement("lan", &[])]);
        assert!(none.is_empty(), "{none:?}");
        let unready = announcing(
            |_| {},
            vec![
                l2_advertisement("lan", &[]),
                endpoint_slice("web", &[("w1", false, false)]),
            ],
        );
        assert!(unready.is_empty(), "{unready:?}");
        let serving = announcing(
            |_| {},
            vec![
                l2_advertisement("lan", &[]),
                endpoint_slice("web", &[("w2", false, true)]),
            ],
        );
        assert_eq!(
            serving,
            ["w1"],
            "externalTrafficPolicy Cluster: any candidate"
        );
    }

    #[test]
    fn local_policy_elects_among_nodes_with_a_local_serving_endpoint() {
        let local = |s: &mut Value| s["spec"]["externalTrafficPolicy"] = json!("Local");
        let on_w2 = announcing(
            local,
            vec![
                l2_advertisement("lan", &[]),
                endpoint_slice("web", &[("w2", true, true)]),
            ],
        );
        assert_eq!(on_w2, ["w2"], "w1 hashes first but holds no endpoint");
        let on_cp1 = announcing(
            local,
            vec![
                l2_advertisement("lan", &[]),
                endpoint_slice("web", &[("cp1", true, true)]),
            ],
        );
        assert!(on_cp1.is_empty(), "cp1 is excluded: {on_cp1:?}");
    }

    #[test]
    fn network_unavailable_node_selectors_and_service_selectors() {
        let eps = || endpoint_slice("web", &[("w1", true, true), ("w2", true, true)]);
        let mut w1_down = node("w1", "192.168.77.11", false);
        w1_down["status"]["conditions"] = json!([{"type": "NetworkUnavailable", "status": "True"}, {"type": "Ready", "status": "True"}]);
        let mut store = MemStore::new(
            [
                vec![
                    node("cp1", "192.168.77.10", true),
                    w1_down,
                    node("w2", "192.168.77.12", false),
                ],
                metallb_install(),
                vec![
                    ip_pool("lan", "metallb-system", &["192.168.77.240/28"]),
                    l2_advertisement("lan", &[]),
                    lb_service("web", "2026-11-25T09:00:00Z"),
                    eps(),
                ],
            ]
            .concat(),
        );
        let mut cluster = Cluster::new(ClusterSettings::default());
        store.settle(&mut cluster, now(), 30);
        assert_eq!(
            announced_by(&store, "web"),
            ["w2"],
            "w1 reports NetworkUnavailable"
        );

        // Two advertisements: their node selectors add up.
        let mut only_w2 = l2_advertisement("w2-only", &["lan"]);
        only_w2["spec"]["nodeSelectors"] =
            json!([{"matchLabels": {"kubernetes.io/hostname": "w2"}}]);
        assert_eq!(announcing(|_| {}, vec![only_w2.clone(), eps()]), ["w2"]);
        let mut only_w1 = l2_advertisement("w1-only", &["lan"]);
        only_w1["spec"]["nodeSelectors"] =
            json!([{"matchLabels": {"kubernetes.io/hostname": "w1"}}]);
        assert_eq!(
            announcing(|_| {}, vec![only_w2.clone(), only_w1, eps()]),
            ["w1"]
        );

        let mut for_db = l2_advertisement("db", &["lan"]);
        for_db["spec"]["serviceSelectors"] = json!([{"matchLabels": {"app": "db"}}]);
        assert!(announcing(|_| {}, vec![for_db.clone(), eps()]).is_empty());
        let db = |s: &mut Value| s["metadata"]["labels"] = json!({"app": "db"});
        assert_eq!(announcing(db, vec![for_db, eps()]), ["w1"]);
    }

    #[test]
    fn webhook_memory_follows_endpoints() {
        let (store, cluster) = booted(vec![], ClusterSettings::default());
        let since = *cluster.webhook_since().lock().unwrap();
        assert!(
            since.is_some_and(|t| t < now()),
            "booted MetalLB is already serving"
        );
        let world = store.world();
        let pool = ip_pool("p", "metallb-system", &["192.168.77.240/28"]);
        let call = webhook::Call {
            group: "metallb.io",
            version: "v1beta1",
            resource: "ipaddresspools",
            operation: "CREATE",
            namespace: "metallb-system",
            object: Some(&pool),
        };
        let serving = webhook::Serving {
            endpoints_since: since,
            now: now(),
        };
        assert!(webhook::admit(&world, &call, serving, &Default::default()).is_ok());
    }
}
