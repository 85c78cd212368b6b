//! `lbctl explain`: gather (a fixed set of requests), probe the one address when this host can,
//! replay MetalLB's election, render one verdict.

use std::net::IpAddr;

use serde_json::json;

use crate::checks::explain::{self, ClusterView, Explanation, human};
use crate::cli::{ExplainArgs, GlobalArgs};
use crate::facts::explain::{Scope, gather};
use crate::facts::metallb::{ArpFacts, ArpProbe};
use crate::facts::probe::{self, ProbeState};
use crate::facts::{NodeState, PoolInput, node};
use crate::net::pool::Pool;
use crate::net::roots::HostRoots;
use crate::output::{is_json, print_json};
use crate::{ExitCode, Result};

pub async fn run(global: &GlobalArgs, args: &ExplainArgs) -> Result<ExitCode> {
    let scope = match &args.service {
        Some(name) if !args.all => Scope::One {
            namespace: args.namespace.clone(),
            name: name.clone(),
        },
        _ => Scope::All,
    };
    let target = crate::kube::connect(global).await?;
    let (view, services) = gather(&target, &global.metallb_namespace, &scope).await?;
    let not_probed = |reason: &str| ArpFacts::NotProbed {
        reason: reason.into(),
    };
    let explanations: Vec<Explanation> = match scope {
        Scope::One { .. } => {
            let svc = &services[0];
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
    let node_ip: Option<IpAddr> = dry
        .election
        .as_ref()
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
    let settings = probe::Settings {
        interface: args.probing.interface.clone(),
        rate: args.probing.rate,
        attempts: args.probing.attempts,
    };
    match probe::run(&[input], &facts, &roots, &settings).await {
        ProbeState::NotRun { reason } => ArpFacts::NotProbed { reason },
        ProbeState::Failed { message, hint } => ArpFacts::Failed { message, hint },
        ProbeState::Done { verdicts } => {
            let (addresses, nodes) = verdicts.into_iter().partition(|v| v.address == vip);
            ArpFacts::Probed(ArpProbe { addresses, nodes })
        }
    }
}
