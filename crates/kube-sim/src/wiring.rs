//! Runs the simulated cluster ([`crate::cluster::Cluster`], pure passes over a snapshot) as a
//! store [`Controller`]: snapshot the watched kinds, apply the writes it asks for.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::cluster::metallb::webhook;
use crate::cluster::{Action, Cluster, ClusterSettings, MetalLbSettings, WATCHED, World};
use crate::control::{AdmissionHook, AdmissionRequest, Controller, Operation};
use crate::status::Status;
use crate::store::Store;

pub struct ClusterController {
    cluster: Cluster,
}

impl ClusterController {
    pub fn new(settings: ClusterSettings) -> ClusterController {
        ClusterController {
            cluster: Cluster::new(settings),
        }
    }
}

impl ClusterController {
    /// When MetalLB's webhook Service got ready endpoints, for [`metallb_webhook`].
    pub fn webhook_since(&self) -> Arc<Mutex<Option<Timestamp>>> {
        self.cluster.webhook_since()
    }
}

/// MetalLB's validating webhooks as the API server calls them (also for dry-run writes): the
/// recorded 500s while the webhook cannot be reached, MetalLB's 403 denials once it serves.
pub fn metallb_webhook(
    settings: MetalLbSettings,
    since: Arc<Mutex<Option<Timestamp>>>,
) -> AdmissionHook {
    Arc::new(move |req: &AdmissionRequest, store: &Store| {
        // Webhook rules name main resources only; status writes never reach a webhook.
        if req.subresource.is_some() {
            return Ok(());
        }
        let configurations = store.list(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            None,
        );
        if configurations.is_empty() {
            return Ok(());
        }
        let needed = [
            ("v1", "Service"),
            ("v1", "Node"),
            ("discovery.k8s.io/v1", "EndpointSlice"),
            ("metallb.io/v1beta1", "IPAddressPool"),
        ];
        let world = World::new(
            configurations
                .into_iter()
                .chain(needed.iter().flat_map(|(v, k)| store.list(v, k, None))),
        );
        let operation = match req.operation {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        };
        let call = webhook::Call {
            group: &req.group,
            version: &req.version,
            resource: &req.resource,
            operation,
            namespace: &req.namespace,
            object: req.object.as_ref(),
        };
        let serving = webhook::Serving {
            endpoints_since: *since.lock().unwrap_or_else(|e| e.into_inner()),
            now: store.now(),
        };
        webhook::admit(&world, &call, serving, &settings).map_err(|body| Status::from_json(&body))
    })
}

fn world(store: &Store) -> World {
    World::new(
        WATCHED
            .iter()
            .flat_map(|(api_version, kind)| store.list(api_version, kind, None)),
    )
}

/// Applies one controller write. Conflicts and vanished objects are expected (the next pass
/// recomputes from fresh state), so failures are dropped.
fn perform(store: &Store, action: Action) {
    let _ = match action {
        Action::Create(obj) => store.create(obj),
        Action::Update(obj) => store.update(obj),
        Action::UpdateStatus(obj) => store.update_status(obj),
        Action::Delete {
            api_version,
            kind,
            namespace,
            name,
        } => store.delete(&api_version, &kind, Some(&namespace), &name),
    };
}

impl Controller for ClusterController {
    fn name(&self) -> &str {
        "cluster"
    }

    fn reconcile(&mut self, store: &Store) {
        let snapshot = world(store);
        for action in self.cluster.reconcile(&snapshot, store.now()) {
            perform(store, action);
        }
    }

    fn next_wakeup(&mut self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        self.cluster.next_wakeup(now)
    }

    fn started(&mut self) {
        self.cluster.finish_boot();
    }
}
