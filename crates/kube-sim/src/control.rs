//! Test control: admission hooks, controllers and their loop, injected faults, the request log.

use crate::status::Status;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What an API write is about to do, as an admission hook sees it.
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    pub operation: Operation,
    pub group: String,
    pub version: String,
    /// The plural resource name (`ipaddresspools`).
    pub resource: String,
    pub subresource: Option<String>,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The object as it would be stored (create, update); `None` for deletes.
    pub object: Option<Value>,
    /// The stored object before the write (update, delete).
    pub old_object: Option<Value>,
    pub dry_run: bool,
    pub user: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// A validating admission hook: `Err(status)` rejects the write with exactly that answer
/// (e.g. a webhook's 500 `InternalError` or 403 denial built with [`Status::new`]).
pub type AdmissionHook = Arc<dyn Fn(&AdmissionRequest, &Store) -> Result<(), Status> + Send + Sync>;

/// A simulated controller. `reconcile` runs on the controller loop: after writes, on a short
/// tick while the simulation runs, and synchronously in `SimHandle::advance`. It reads and
/// writes through the store and uses `store.now()` (the simulated clock) for any delays.
pub trait Controller: Send {
    fn name(&self) -> &str;
    fn reconcile(&mut self, store: &Store);
    /// When the controller next needs a pass even if nothing changes (simulated time).
    fn next_wakeup(&mut self, _now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        None
    }
    /// Called once the scenario's objects have settled, before the server starts serving.
    fn started(&mut self) {}
}

/// What an injected fault does to the requests it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    /// Answer with this status code and a matching `Status` body.
    Status(u16),
    /// Delay the request, then serve it normally.
    LatencyMs(u64),
    /// For watches: close the stream cleanly after this many events.
    CloseWatchAfter(u32),
}

/// An injected fault: the next `times` requests with this method (any when `None`) and path
/// (exact, or a prefix when it ends with `*`) get `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    #[serde(default)]
    pub method: Option<String>,
    pub path: String,
    #[serde(default = "one")]
    pub times: u32,
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl Fault {
    pub fn status(method: &str, path: &str, code: u16, times: u32) -> Fault {
        Fault {
            method: Some(method.to_uppercase()),
            path: path.into(),
            times,
            action: FaultAction::Status(code),
        }
    }

    pub fn latency(method: &str, path: &str, delay: Duration, times: u32) -> Fault {
        Fault {
            method: Some(method.to_uppercase()),
            path: path.into(),
            times,
            action: FaultAction::LatencyMs(delay.as_millis() as u64),
        }
    }

    pub fn close_watch_after(path: &str, events: u32, times: u32) -> Fault {
        Fault {
            method: Some("GET".into()),
            path: path.into(),
            times,
            action: FaultAction::CloseWatchAfter(events),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        method_ok && path_ok && self.times > 0
    }
}

/// One served request, as the request log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub user: String,
    /// The Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, ...)
    /// or `""` for non-resource paths.
    pub verb: String,
    /// `dryRun=All`, in the query or (for deletes) in the DeleteOptions body.
    #[serde(default)]
    pub dry_run: bool,
}

impl LoggedRequest {
    /// Whether the request could have changed something. Dry runs and reviews (access, rules,
    /// token: `create` verbs on virtual resources that are never stored) change nothing.
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        ) && !self.dry_run
            && !self.query.split('&').any(|kv| kv == "dryRun=All")
            && !self.path.ends_with("reviews")
    }
}

/// Faults and the request log, shared by the server and the handle.
#[derive(Default)]
pub struct Control {
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<LoggedRequest>>,
}

impl Control {
    pub fn inject(&self, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(fault);
    }

    pub fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The faults not used up yet (a test sees a request arrive when its fault is taken).
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes one use of every fault matching this request.
    pub fn take_faults(&self, method: &str, path: &str) -> Vec<FaultAction> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for fault in faults.iter_mut() {
            if fault.matches(method, path) {
                fault.times -= 1;
                out.push(fault.action.clone());
            }
        }
        faults.retain(|f| f.times > 0);
        out
    }

    pub fn record(&self, request: LoggedRequest) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear_requests(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The controllers and the switch that pauses them.
pub struct Controllers {
    list: Mutex<Vec<Box<dyn Controller>>>,
    paused: std::sync::atomic::AtomicBool,
}

impl Controllers {
    pub fn new(list: Vec<Box<dyn Controller>>) -> Controllers {
        Controllers {
            list: Mutex::new(list),
            paused: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs every controller until the store stops changing (at most a few rounds, so a
    /// controller that always writes cannot hang the caller).
    /// Returns the earliest simulated time a controller asked to be woken at.
    /// The background loop passes `when_paused = false`, so a pass that was scheduled before a
    /// pause does not run after it; `advance` passes `true`.
    pub fn settle(&self, store: &Store, when_paused: bool) -> Option<jiff::Timestamp> {
        self.settle_within(store, when_paused, 8)
    }

    fn settle_within(
        &self,
        store: &Store,
        when_paused: bool,
        rounds: usize,
    ) -> Option<jiff::Timestamp> {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_paused() && !when_paused {
            return None;
        }
        for _ in 0..rounds {
            let before = store.resource_version();
            for controller in list.iter_mut() {
                controller.reconcile(store);
            }
            if store.resource_version() == before {
                break;
            }
        }
        let now = store.now();
        list.iter_mut().filter_map(|c| c.next_wakeup(now)).min()
    }

    /// Settles the freshly loaded scenario, then tells every controller it has started. Boot
    /// gets more rounds than a settle: workloads come up step by step before what follows them
    /// (EndpointSlices, MetalLB) is written.
    pub fn boot(&self, store: &Store) {
        self.settle_within(store, true, 16);
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        for controller in list.iter_mut() {
            controller.started();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Control, Fault, LoggedRequest};

    #[test]
    fn a_fault_is_pending_until_its_last_request_took_it() {
        let control = Control::default();
        control.inject(Fault::status("PATCH", "/api/v1/namespaces/x", 500, 2));
        assert_eq!(control.pending_faults().len(), 1);
        assert_eq!(control.take_faults("GET", "/api/v1/namespaces/x"), []);
        assert_eq!(
            control.take_faults("PATCH", "/api/v1/namespaces/x").len(),
            1
        );
        assert_eq!(control.pending_faults()[0].times, 1);
        assert_eq!(
            control.take_faults("PATCH", "/api/v1/namespaces/x").len(),
            1
        );
        assert!(control.pending_faults().is_empty());
    }

    fn req(verb: &str, path: &str, query: &str) -> LoggedRequest {
        LoggedRequest {
            method: "POST".into(),
            path: path.into(),
            query: query.into(),
            status: 201,
            user: "admin".into(),
            verb: verb.into(),
            dry_run: false,
        }
    }

    #[test]
    fn only_stored_changes_count_as_writes() {
        let cm = "/api/v1/namespaces/kube-system/configmaps";
        assert!(req("create", cm, "").is_write());
        assert!(req("patch", &format!("{cm}/kube-proxy"), "fieldManager=lbctl").is_write());
        assert!(!req("create", cm, "dryRun=All").is_write());
        let body_dry_run = LoggedRequest {
            dry_run: true,
            ..req("delete", &format!("{cm}/kube-proxy"), "")
        };
        assert!(!body_dry_run.is_write());
        assert!(!req("get", cm, "").is_write());
        for review in ["selfsubjectaccessreviews", "selfsubjectrulesreviews"] {
            let path = format!("/apis/authorization.k8s.io/v1/{review}");
            assert!(!req("create", &path, "").is_write(), "{path}");
        }
    }
}
