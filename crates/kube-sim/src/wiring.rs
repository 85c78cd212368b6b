//! Runs the simulated cluster ([`crate::cluster::Cluster`], pure passes over a snapshot) as a
//! store [`Controller`]: snapshot the watched kinds, apply the writes it asks for.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::cluster::metallb::webhook;
use crate::cluster::{Action, Cluster, ClusterSettings, MetalLbSettings, WATCHED, World};
use crate::control::{AdmissionHook, AdmissionRequest, Controller, Operation};
use crate::status::Status;
use crate::store::{Part, Store};

pub struct ClusterController {
    cluster: Cluster,
    /// The store's settings generation the cluster's settings were read at.
    settings_generation: u64,
    /// The store's resourceVersion after the last pass that wrote nothing, when that pass ran,
    /// and the next time-based transition it knew of: while nothing changes, passes are skipped
    /// (a full pass over a generated 1000-node cluster is not free).
    idle: Option<(u64, Timestamp, Option<Timestamp>)>,
}

/// Even an idle cluster is looked at this often (minReadySeconds, progress deadlines).
const IDLE_PASS: jiff::SignedDuration = jiff::SignedDuration::from_secs(2);

impl ClusterController {
    pub fn new(settings: ClusterSettings) -> ClusterController {
        ClusterController {
            cluster: Cluster::new(settings),
            settings_generation: 0,
            idle: None,
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
pub fn metallb_webhook(since: Arc<Mutex<Option<Timestamp>>>) -> AdmissionHook {
    Arc::new(move |req: &AdmissionRequest, store: &Store| {
        // Webhook rules name main resources only; status writes never reach a webhook.
        if req.subresource.is_some() {
            return Ok(());
        }
        let configurations = store.list_shared(
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
            configurations.into_iter().chain(
                needed
                    .iter()
                    .flat_map(|(v, k)| store.list_shared(v, k, None)),
            ),
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
        // The settings in force (they may be switched at run time; they were validated then).
        let settings = store
            .settings()
            .get("metallb")
            .and_then(|m| MetalLbSettings::from_settings(m).ok())
            .unwrap_or_default();
        webhook::admit(&world, &call, serving, &settings).map_err(|body| Status::from_json(&body))
    })
}

fn world(store: &Store) -> World {
    World::new(
        WATCHED
            .iter()
            .flat_map(|(api_version, kind)| store.list_shared(api_version, kind, None)),
    )
}

/// Every object of every kind, for the garbage collector.
fn everything(store: &Store) -> Vec<Arc<serde_json::Value>> {
    let mut seen = std::collections::HashSet::new();
    store
        .registry()
        .all()
        .iter()
        .filter(|rt| !rt.virtual_only && seen.insert((rt.group.clone(), rt.plural.clone())))
        .flat_map(|rt| store.list_shared(&rt.api_version(), &rt.kind, None))
        .collect()
}

/// Applies one controller write. Conflicts and vanished objects are expected (the next pass
/// recomputes from fresh state), so failures are dropped.
fn perform(store: &Store, action: Action) {
    let _ = match action {
        Action::Create(obj) => store.write_unread(obj, None),
        Action::Update(obj) => store.write_unread(obj, Some(Part::Main)),
        Action::UpdateStatus(obj) => store.write_unread(obj, Some(Part::Status)),
        Action::Delete {
            api_version,
            kind,
            namespace,
            name,
            foreground,
        } => match foreground {
            true => store.delete_in_foreground(&api_version, &kind, Some(&namespace), &name),
            false => store.delete(&api_version, &kind, Some(&namespace), &name),
        }
        .map(drop),
        Action::PodLog {
            namespace,
            name,
            text,
        } => {
            store.set_pod_log(&namespace, &name, &text);
            return;
        }
    };
}

impl Controller for ClusterController {
    fn name(&self) -> &str {
        "cluster"
    }

    fn reconcile(&mut self, store: &Store) {
        let generation = store.settings_generation();
        if generation != self.settings_generation {
            self.settings_generation = generation;
            self.idle = None;
            let settings = crate::settings_json(&store.settings());
            if let Ok(settings) = ClusterSettings::from_settings(&settings) {
                self.cluster.settings = settings;
            }
        }
        let now = store.now();
        let rv = store.resource_version();
        if let Some((idle_rv, at, wake)) = self.idle {
            let due = wake.is_some_and(|w| w <= now) || now >= at + IDLE_PASS;
            if idle_rv == rv && !due {
                return;
            }
        }
        let snapshot = world(store);
        let mut actions = self.cluster.reconcile(&snapshot, now);
        drop(snapshot);
        actions.extend(self.cluster.collect_garbage(&everything(store)));
        self.idle = actions
            .is_empty()
            .then(|| (rv, now, self.cluster.next_wakeup(now)));
        for action in actions {
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
