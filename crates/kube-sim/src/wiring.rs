//! Runs the simulated cluster ([`crate::cluster::Cluster`], pure passes over a snapshot) as a
//! store [`Controller`]: snapshot the watched kinds, apply the writes it asks for.

use crate::cluster::{Action, Cluster, ClusterSettings, WATCHED, World};
use crate::control::Controller;
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
