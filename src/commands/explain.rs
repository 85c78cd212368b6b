//! `lbctl explain`: gather (a fixed set of requests), probe the one address when this host can,
//! replay MetalLB's election, render one verdict.

use std::net::IpAddr;

use serde_json::json;

use crate::checks::explain::{self, ClusterView, Explanation, human};
use crate::cli::{ExplainArgs, GlobalArgs};
use crate::facts::explain::{Scope, exclude_l2, gather};
use crate::facts::metallb::{ArpFacts, ArpProbe};
use crate::facts::nodes::{self, Settings};
use crate::facts::probe::{self, ProbeState};
use crate::facts::{NodeState, PoolInput, node};
use crate::net::pool::Pool;
use crate::net::roots::HostRoots;
use crate::output::{is_json, print_json};
use crate::{ExitCode, Result};

pub async fn run(global: &GlobalArgs, args: &ExplainArgs) -> Result<ExitCode> {
    // Bad `--nodes` flags are usage errors, before anything is asked of the cluster.
    let node_settings = args.nodes.settings()?;
    let target = crate::kube::connect(global).await?;
    let scope = match &args.service {
        Some(name) if !args.all => Scope::One {
            // As kubectl: without -n, the namespace of the kubeconfig context.
            namespace: args
                .namespace
                .clone()
                .unwrap_or_else(|| target.namespace.clone()),
            name: name.clone(),
        },
        _ => Scope::All,
    };
    let (mut view, services) = gather(&target, &global.metallb_namespace, &scope).await?;
    let not_probed = |reason: &str| ArpFacts::NotProbed {
        reason: reason.into(),
    };
    let explanations: Vec<Explanation> = match scope {
        Scope::One { .. } => {
            let svc = &services[0];
            if let Some(settings) = &node_settings {
                let dry = explain::explain(&view, svc, &not_probed(""));
                let wanted = explain::nodes_to_read(&dry);
                view.exclude_l2 = exclude_l2(&target, &global.metallb_namespace).await?;
                view.node_facts = Some(read_nodes(&target, settings, &wanted).await?);
            }
            let wire = if args.no_probe {
                not_probed("--no-probe")
            } else {
                probe_service(args, &view, svc).await
            };
            vec![explain::explain(&view, svc, &wire)]
        }
        Scope::All => explain::load_balancers(&services)
            .into_iter()
            .map(|s| explain::explain(&view, s, &not_probed("--all judges from the API only")))
            .collect(),
    };
    let code = if explanations.iter().all(|e| e.verdict.ok) {
        ExitCode::Ok
    } else {
        ExitCode::Failed
    };
    match (is_json(global.output), args.all) {
        (true, false) => print_json(&explanations[0]),
        (true, true) => print_json(&json!({"services": explanations})),
        (false, false) => print!("{}", human::render(&explanations[0])),
        (false, true) => {
            for e in &explanations {
                println!("{}", human::line(e));
            }
            if explanations.is_empty() {
                println!("no LoadBalancer Service");
            }
        }
    }
    Ok(code)
}

/// `--nodes` for explain: a pod on each of `wanted` that `--nodes` selects, no other.
async fn read_nodes(
    target: &crate::kube::ClusterTarget,
    settings: &Settings,
    wanted: &[String],
) -> Result<Vec<(String, NodeState)>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut plan = nodes::plan(target, settings).await?;
    plan.check.retain(|n| wanted.contains(n));
    plan.not_ready.retain(|(n, _)| wanted.contains(n));
    crate::verbose::say(1, || {
        format!(
            "node checks: {} of {} node(s) get a pod",
            plan.check.len(),
            wanted.join(", ")
        )
    });
    crate::verbose::timed(
        "running the node-check pods",
        nodes::read(target, &plan, settings),
    )
    .await
}

/// ARP/NDP for the Service's first address and the predicted node's InternalIP, with
/// preflight's prober (which never probes this host's own addresses, nor off-link ones).
async fn probe_service(
    args: &ExplainArgs,
    view: &ClusterView,
    svc: &k8s_openapi::api::core::v1::Service,
) -> ArpFacts {
    let Some(vip) = explain::ingress_ips(svc).first().copied() else {
        return ArpFacts::NotProbed {
            reason: "no address to probe".into(),
        };
    };
    // The election without the wire tells which node's MAC to learn.
    let dry = explain::explain(
        view,
        svc,
        &ArpFacts::NotProbed {
            reason: String::new(),
        },
    );
    // With `--nodes` the node's MACs come from its facts: no need to learn one by ARP.
    let node_ip: Option<IpAddr> = dry
        .election
        .as_ref()
        .filter(|_| view.node_facts.is_none())
        .and_then(|e| e.predicted.as_deref())
        .and_then(|n| explain::node_ip(view, n, vip));
    let roots = HostRoots::default();
    let facts = match node::local(&roots) {
        NodeState::Local { facts, .. } => facts,
        NodeState::NotRead { reason } => return ArpFacts::NotProbed { reason },
        NodeState::Remote { .. } | NodeState::Unreadable { .. } => {
            return ArpFacts::NotProbed {
                reason: "this host was not read".into(),
            };
        }
    };
    let mut all = vec![vip.to_string()];
    all.extend(node_ip.map(|ip| ip.to_string()));
    let pool = match Pool::from_addresses(&all) {
        Ok(pool) => pool,
        Err(e) => {
            return ArpFacts::NotProbed {
                reason: format!("the address does not parse: {e}"),
            };
        }
    };
    let input = PoolInput {
        name: "the Service's address".into(),
        origin: "LoadBalancer service".into(),
        namespace: None,
        pool,
    };
    let settings = args.probing.settings();
    match probe::run(&[input], &facts, &roots, &settings).await {
        ProbeState::NotRun { reason } => ArpFacts::NotProbed { reason },
        ProbeState::Failed { message, hint } => ArpFacts::Failed { message, hint },
        ProbeState::Done { verdicts } => {
            let (addresses, nodes) = verdicts.into_iter().partition(|v| v.address == vip);
            ArpFacts::Probed(ArpProbe { addresses, nodes })
        }
    }
}
