//! Everything `lbctl doctor` judges: preflight's cluster part, MetalLB's objects and the ARP
//! answers for its addresses.

use super::metallb::{ArpFacts, MetalLbFacts};
use super::probe::ProbeState;
use super::{ClusterState, NodeState, PreflightFacts};

/// Everything `lbctl doctor` judges.
#[derive(Debug, Clone)]
pub struct DoctorFacts {
    pub metallb_namespace: String,
    /// Reachability and kube-proxy, judged by preflight's own rules (LB101, LB11x).
    pub preflight: PreflightFacts,
    /// `None` when the cluster was not reached (every MetalLB check then skips behind LB101).
    pub metallb: Option<Box<MetalLbFacts>>,
    pub arp: ArpFacts,
}

impl DoctorFacts {
    /// Doctor's facts: preflight's part holds only the cluster (doctor judges neither this host
    /// nor a pool of its own).
    pub fn new(
        metallb_namespace: String,
        cluster: ClusterState,
        metallb: Option<Box<MetalLbFacts>>,
        arp: ArpFacts,
    ) -> Self {
        let preflight = PreflightFacts {
            metallb_namespace: metallb_namespace.clone(),
            for_install: false,
            speaker: crate::metallb::speaker::SpeakerPlacement::rendered(&Default::default()),
            permissions_for: None,
            cluster,
            node: NodeState::NotRead {
                reason: "doctor does not judge this host".into(),
            },
            pools: vec![],
            probe: ProbeState::NotRun {
                reason: "doctor probes assigned addresses instead".into(),
            },
        };
        DoctorFacts {
            metallb_namespace,
            preflight,
            metallb,
            arp,
        }
    }

    pub fn metallb(&self) -> Option<&MetalLbFacts> {
        self.metallb.as_deref()
    }
}
