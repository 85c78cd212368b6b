//! The in-memory object store: one cluster-wide resourceVersion counter, objects indexed by
//! (group, resource) and ordered by (namespace, name), a bounded event history for watches.

use crate::clock::Clock;
use crate::defaults;
use crate::field_error;
use crate::fields;
use crate::meta;
use crate::resources::{self, GroupResource, Registry, ResourceType};
use crate::scenario::Settings;
use crate::status::Status;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, mpsc};

/// The field manager of writes made through the store API (controllers).
const CONTROLLER_MANAGER: &str = "kube-controller-manager";

/// How many past events a watch can resume from (older resourceVersions answer 410 Expired).
const HISTORY: usize = 20_000;

/// The kind of change a watch event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change of one object, in resourceVersion order.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub event_type: EventType,
    pub resource: GroupResource,
    pub rv: u64,
    pub object: Arc<Value>,
    /// The object before a modification (selectors use it to turn moves into ADDED/DELETED).
    pub previous: Option<Arc<Value>>,
}

/// What `watch` hands back: events to send first, then a live channel.
pub struct Subscription {
    pub backlog: Vec<WatchEvent>,
    pub receiver: mpsc::UnboundedReceiver<WatchEvent>,
    /// The resourceVersion the backlog brings the watcher up to.
    pub rv: u64,
}

/// Which part of an existing object a replace may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything but `status` when the type has a status subresource (PUT, PATCH).
    Main,
    /// Only `status` (the `/status` subresource).
    Status,
    /// Everything, status included (controllers, `apply_object`).
    All,
}

/// A page of a list: the items and where the next page starts.
pub struct Page {
    pub items: Vec<Arc<Value>>,
    /// (namespace, name) of the last item when more items follow.
    pub next: Option<(String, String)>,
    pub remaining: usize,
    pub rv: u64,
}

type Bucket = BTreeMap<(String, String), Arc<Value>>;

struct State {
    rv: u64,
    registry: Registry,
    buckets: HashMap<GroupResource, Bucket>,
    history: VecDeque<WatchEvent>,
    /// Events with rv > `history_floor` are all in `history`.
    history_floor: u64,
    watchers: Vec<(GroupResource, mpsc::UnboundedSender<WatchEvent>)>,
    logs: HashMap<(String, String), String>,
    /// The log of each pod's containers before their last restart (`previous=true`).
    previous_logs: HashMap<(String, String), String>,
    /// Cluster IPs and node ports given to Services.
    allocations: defaults::Allocations,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    pub(crate) clock: Clock,
    pub(crate) changed: Notify,
    /// The scenario's `settings:` as switched at run time, and how often they were switched.
    settings: Mutex<(Arc<Settings>, u64)>,
}

/// A cheap-to-clone handle on the store. Every write bumps the one resourceVersion counter and
/// emits a watch event; reads return copies.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

fn ns_name(obj: &Value) -> (String, String) {
    let get = |key: &str| {
        obj.get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (get("namespace"), get("name"))
}

fn rv_of(obj: &Value) -> Option<u64> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn metadata_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// Whether two objects are equal once the members `skip` names are left out (compared in place:
/// controllers write thousands of objects on a large cluster).
fn equal_except(a: &Value, b: &Value, skip: &[&str]) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let kept = |m: &'_ serde_json::Map<String, Value>| {
        m.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .count()
    };
    kept(a) == kept(b)
        && a.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, v)| b.get(k) == Some(v))
}

/// Whether the objects differ outside metadata and status: what `generation` tracks.
fn spec_changed(new: &Value, old: &Value) -> bool {
    !equal_except(new, old, &["metadata", "status", "apiVersion", "kind"])
}

/// Whether a write changes nothing (managedFields and rv excluded).
fn unchanged(new: &Value, old: &Value) -> bool {
    const META: &[&str] = &["managedFields", "resourceVersion"];
    equal_except(new, old, &["metadata"])
        && equal_except(
            new.get("metadata").unwrap_or(&Value::Null),
            old.get("metadata").unwrap_or(&Value::Null),
            META,
        )
}

impl Store {
    pub(crate) fn new(settings: Settings) -> Store {
        Store {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    rv: 1,
                    registry: Registry::builtin(),
                    buckets: HashMap::new(),
                    history: VecDeque::new(),
                    history_floor: 1,
                    watchers: Vec::new(),
                    logs: HashMap::new(),
                    previous_logs: HashMap::new(),
                    allocations: defaults::Allocations::default(),
                }),
                clock: Clock::default(),
                changed: Notify::new(),
                settings: Mutex::new((Arc::new(settings), 0)),
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The simulated time (see `SimHandle::pause`/`advance`).
    pub fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// `now()` formatted as Kubernetes timestamps are (`2026-11-24T18:35:17Z`).
    pub fn now_string(&self) -> String {
        meta::format_time(self.now())
    }

    /// The settings in force (the scenario's, as switched since by [`crate::SimHandle::set_settings`]).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings_state().0.clone()
    }

    /// Counts settings switches, so controllers can tell when to re-read them.
    pub fn settings_generation(&self) -> u64 {
        self.settings_state().1
    }

    fn settings_state(&self) -> MutexGuard<'_, (Arc<Settings>, u64)> {
        self.shared
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to the settings as one step (no switch is lost to a concurrent one); an
    /// error from `change` leaves them as they were. Wakes the controllers.
    pub(crate) fn update_settings<E>(
        &self,
        change: impl FnOnce(&Settings) -> Result<Settings, E>,
    ) -> Result<Arc<Settings>, E> {
        let updated = {
            let mut state = self.settings_state();
            let next = Arc::new(change(&state.0)?);
            *state = (next.clone(), state.1 + 1);
            next
        };
        self.shared.changed.notify_one();
        Ok(updated)
    }

    /// The current value of the cluster-wide resourceVersion counter.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Forgets the watch history up to now, as etcd's compaction does: a watch from an older
    /// resourceVersion then gets 410 Expired, one from the current version still works.
    pub fn compact(&self) {
        let mut state = self.lock();
        state.history.clear();
        state.history_floor = state.rv;
    }

    /// A copy of the resource table (built-ins plus CRD-defined kinds).
    pub fn registry(&self) -> Registry {
        self.lock().registry.clone()
    }

    pub fn resource_for(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.lock().registry.by_kind(api_version, kind)
    }

    pub fn resource_by_plural(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceType>> {
        self.lock().registry.by_plural(group, version, plural)
    }

    fn type_of(&self, obj: &Value) -> Result<Arc<ResourceType>, Status> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        self.resource_for(api_version, kind).ok_or_else(|| {
            Status::new(
                404,
                Some("NotFound"),
                format!(
                    "the server could not find the requested resource ({kind} in {api_version})"
                ),
            )
        })
    }

    fn type_by_kind(&self, api_version: &str, kind: &str) -> Result<Arc<ResourceType>, Status> {
        self.type_of(&json!({"apiVersion": api_version, "kind": kind}))
    }

    /// One object, or `None`.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let rt = self.resource_for(api_version, kind)?;
        self.get_typed(&rt, namespace.unwrap_or_default(), name)
            .map(|o| (*o).clone())
    }

    pub fn get_typed(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let ns = if rt.namespaced { namespace } else { "" };
        self.lock()
            .buckets
            .get(&rt.key())?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// All objects of a kind (in one namespace, or everywhere with `None`), ordered by
    /// namespace then name.
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        self.list_shared(api_version, kind, namespace)
            .into_iter()
            .map(|o| (*o).clone())
            .collect()
    }

    /// `list` without copying: the stored objects themselves (they never change in place).
    pub fn list_shared(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Vec<Arc<Value>> {
        let Some(rt) = self.resource_for(api_version, kind) else {
            return Vec::new();
        };
        self.list_page(&rt, namespace, None, None, &|_| true).items
    }

    /// A filtered page of objects, starting after `after` (exclusive), at most `limit` items.
    pub fn list_page(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        after: Option<&(String, String)>,
        limit: Option<usize>,
        filter: &dyn Fn(&Value) -> bool,
    ) -> Page {
        let state = self.lock();
        let rv = state.rv;
        let Some(bucket) = state.buckets.get(&rt.key()) else {
            return Page {
                items: Vec::new(),
                next: None,
                remaining: 0,
                rv,
            };
        };
        let ns = namespace.filter(|_| rt.namespaced);
        let lower = match (after, ns) {
            (Some(key), _) => Bound::Excluded(key.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut next = None;
        let mut remaining = 0;
        for (key, obj) in bucket.range((lower, Bound::Unbounded)) {
            if let Some(ns) = ns
                && key.0 != ns
            {
                break;
            }
            if !filter(obj) {
                continue;
            }
            if limit.is_some_and(|l| items.len() >= l) {
                remaining += 1;
                continue;
            }
            items.push(obj.clone());
            next = Some(key.clone());
        }
        if remaining == 0 {
            next = None;
        }
        Page {
            items,
            next,
            remaining,
            rv,
        }
    }

    /// Creates an object as a controller would (no admission, no managedFields), keeping any
    /// `status` it carries.
    pub fn create(&self, obj: Value) -> Result<Value, Status> {
        self.create_as(CONTROLLER_MANAGER, obj)
    }

    /// `create`, recording `manager` in `managedFields` (scenario loading uses
    /// `kubectl-create`, system objects `kube-apiserver`).
    pub fn create_as(&self, manager: &str, obj: Value) -> Result<Value, Status> {
        let rt = self.type_of(&obj)?;
        self.create_typed(&rt, obj, false, Some(manager))
    }

    /// Replaces an object's spec and metadata (`status` is kept when the type has a status
    /// subresource). A `metadata.resourceVersion` in `obj` is a precondition (409 if stale).
    pub fn update(&self, obj: Value) -> Result<Value, Status> {
        let rt = self.type_of(&obj)?;
        self.replace_typed(&rt, obj, Part::Main, false, Some(CONTROLLER_MANAGER))
    }

    /// Replaces only `status` (the `/status` subresource).
    pub fn update_status(&self, obj: Value) -> Result<Value, Status> {
        let rt = self.type_of(&obj)?;
        self.replace_typed(&rt, obj, Part::Status, false, Some(CONTROLLER_MANAGER))
    }

    /// `create` or `update`/`update_status` (by `part`) for a writer that does not read the
    /// result, so the stored object is not copied (controllers write thousands at boot).
    pub(crate) fn write_unread(&self, obj: Value, part: Option<Part>) -> Result<(), Status> {
        let rt = self.type_of(&obj)?;
        let manager = Some(CONTROLLER_MANAGER);
        match part {
            None => self.create_shared(&rt, obj, false, manager).map(drop),
            Some(part) => self
                .replace_shared(&rt, obj, part, false, manager)
                .map(drop),
        }
    }

    /// Creates the object or replaces it entirely (status included), ignoring resourceVersion.
    pub fn upsert(&self, mut obj: Value) -> Result<Value, Status> {
        let rt = self.type_of(&obj)?;
        let (ns, name) = ns_name(&obj);
        if self.get_typed(&rt, &ns, &name).is_none() {
            return self.create_typed(&rt, obj, false, Some(CONTROLLER_MANAGER));
        }
        metadata_mut(&mut obj).remove("resourceVersion");
        self.replace_typed(&rt, obj, Part::All, false, Some(CONTROLLER_MANAGER))
    }

    /// Deletes an object: with finalizers it gets `deletionTimestamp` and stays; without, it is
    /// removed. Returns the object as it is afterwards (or as it was when removed).
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, Status> {
        let rt = self.type_by_kind(api_version, kind)?;
        self.delete_typed(
            &rt,
            namespace.unwrap_or_default(),
            name,
            None,
            None,
            None,
            false,
        )
        .map(|(obj, _)| obj)
    }

    /// Deletes as the garbage collector deletes an object that has dependents of its own when
    /// its owner waits for them: with `propagationPolicy: Foreground` (finalizer
    /// `foregroundDeletion`, so it stays until its own blocking dependents are gone).
    pub fn delete_in_foreground(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, Status> {
        let rt = self.type_by_kind(api_version, kind)?;
        let ns = namespace.unwrap_or_default();
        let current = self
            .get_typed(&rt, ns, name)
            .ok_or_else(|| Status::not_found(&rt.group, &rt.plural, name))?;
        let finalizers = crate::deletion::Propagation::foreground().finalizers(&current);
        self.delete_typed(&rt, ns, name, None, None, finalizers, false)
            .map(|(obj, _)| obj)
    }

    /// The text `GET .../pods/<name>/log` serves.
    pub fn pod_log(&self, namespace: &str, name: &str) -> Option<String> {
        self.lock()
            .logs
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// The text `GET .../pods/<name>/log?previous=true` serves.
    pub fn previous_pod_log(&self, namespace: &str, name: &str) -> Option<String> {
        self.lock()
            .previous_logs
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// A container of a running pod crashed and was restarted by the kubelet: its status gains
    /// a restart and a terminated `lastState` (exit code 1), the log so far becomes the
    /// previous container's (`previous=true`), and the new container's log starts empty.
    pub fn restart_container(
        &self,
        namespace: &str,
        name: &str,
        container: &str,
    ) -> Result<Value, Status> {
        let mut pod = self
            .get("v1", "Pod", Some(namespace), name)
            .ok_or_else(|| Status::not_found("", "pods", name))?;
        let now = crate::cluster::meta::rfc3339(self.now());
        let statuses = pod
            .pointer_mut("/status/containerStatuses")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| Status::bad_request(format!("pod {name:?} has no container status")))?;
        let status = statuses
            .iter_mut()
            .find(|s| s["name"] == container)
            .ok_or_else(|| {
                Status::bad_request(format!("container {container} is not valid for pod {name}"))
            })?;
        let started = status
            .pointer("/state/running/startedAt")
            .cloned()
            .unwrap_or(Value::Null);
        let restarts = status["restartCount"].as_i64().unwrap_or(0) + 1;
        status["restartCount"] = serde_json::json!(restarts);
        status["lastState"] = serde_json::json!({"terminated": {
            "containerID": status["containerID"], "exitCode": 1, "reason": "Error",
            "startedAt": started, "finishedAt": now}});
        status["state"] = serde_json::json!({"running": {"startedAt": now}});
        let key = (namespace.to_string(), name.to_string());
        {
            let mut state = self.lock();
            let old = state.logs.remove(&key).unwrap_or_default();
            state.previous_logs.insert(key, old);
        }
        self.update_status(pod)
    }

    pub fn set_pod_log(&self, namespace: &str, name: &str, text: &str) {
        self.lock()
            .logs
            .insert((namespace.to_string(), name.to_string()), text.to_string());
    }

    pub fn append_pod_log(&self, namespace: &str, name: &str, line: &str) {
        let mut state = self.lock();
        let log = state
            .logs
            .entry((namespace.to_string(), name.to_string()))
            .or_default();
        log.push_str(line);
        if !line.ends_with('\n') {
            log.push('\n');
        }
    }

    /// Subscribes to changes of one resource. With `since`, the backlog holds the events after
    /// that resourceVersion (410 Expired when they are no longer kept); without, it holds one
    /// ADDED event per existing object.
    pub fn watch(&self, rt: &ResourceType, since: Option<u64>) -> Result<Subscription, Status> {
        let mut state = self.lock();
        let key = rt.key();
        let backlog = match since {
            Some(rv) if rv < state.history_floor => {
                return Err(Status::new(
                    410,
                    Some("Expired"),
                    // The watch cache names the oldest version it can still serve from.
                    format!("too old resource version: {rv} ({})", state.history_floor),
                ));
            }
            Some(rv) => state
                .history
                .iter()
                .filter(|e| e.rv > rv && e.resource == key)
                .cloned()
                .collect(),
            None => state
                .buckets
                .get(&key)
                .map(|bucket| {
                    bucket
                        .values()
                        .map(|obj| WatchEvent {
                            event_type: EventType::Added,
                            resource: key.clone(),
                            rv: rv_of(obj).unwrap_or_default(),
                            object: obj.clone(),
                            previous: None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        state.watchers.push((key, sender));
        Ok(Subscription {
            backlog,
            receiver,
            rv: state.rv,
        })
    }

    pub(crate) fn create_typed(
        &self,
        rt: &ResourceType,
        obj: Value,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Value, Status> {
        self.create_shared(rt, obj, dry_run, manager)
            .map(Arc::unwrap_or_clone)
    }

    /// `create_typed` handing back the stored object itself (no copy).
    fn create_shared(
        &self,
        rt: &ResourceType,
        obj: Value,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Arc<Value>, Status> {
        let now = self.now_string();
        let result = self.lock().create(rt, obj, &now, dry_run, manager)?;
        if !dry_run {
            self.after_write(rt, &result);
        }
        Ok(result)
    }

    pub(crate) fn replace_typed(
        &self,
        rt: &ResourceType,
        obj: Value,
        part: Part,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Value, Status> {
        self.replace_shared(rt, obj, part, dry_run, manager)
            .map(Arc::unwrap_or_clone)
    }

    /// `replace_typed` handing back the stored object itself (no copy).
    fn replace_shared(
        &self,
        rt: &ResourceType,
        obj: Value,
        part: Part,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Arc<Value>, Status> {
        let now = self.now_string();
        let result = self.lock().replace(rt, obj, part, &now, dry_run, manager)?;
        if !dry_run {
            self.after_write(rt, &result);
        }
        Ok(result)
    }

    /// Deletes; the bool says whether the object is gone (false: it waits for finalizers or, with
    /// a `grace_period` > 0, for the kubelet). `finalizers`: the object's finalizers as the
    /// delete's propagation policy sets them (`foregroundDeletion`, `orphan`), when it changes
    /// them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn delete_typed(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        precondition_rv: Option<u64>,
        grace_period: Option<i64>,
        finalizers: Option<Vec<Value>>,
        dry_run: bool,
    ) -> Result<(Value, bool), Status> {
        let now = self.now();
        let result = {
            let mut state = self.lock();
            match grace_period {
                Some(period) => state.delete_gracefully(
                    rt,
                    namespace,
                    name,
                    precondition_rv,
                    period,
                    finalizers,
                    now,
                    dry_run,
                )?,
                None => state.delete(
                    rt,
                    namespace,
                    name,
                    precondition_rv,
                    finalizers,
                    &meta::format_time(now),
                    dry_run,
                )?,
            }
        };
        if !dry_run {
            self.shared.changed.notify_one();
        }
        Ok(result)
    }

    /// Follow-ups of a committed write: CRDs publish their kinds, controllers wake up.
    fn after_write(&self, rt: &ResourceType, obj: &Value) {
        if rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions" {
            let now = self.now_string();
            self.lock().establish_crd(obj, &now);
        }
        self.shared.changed.notify_one();
    }
}

impl State {
    /// Where Services get their cluster IPs: the first IPv4 range of the ServiceCIDRs.
    fn service_range(&self) -> defaults::ServiceRange {
        let cidrs = GroupResource {
            group: "networking.k8s.io".into(),
            resource: "servicecidrs".into(),
        };
        defaults::ServiceRange::of_service_cidrs(
            self.buckets
                .get(&cidrs)
                .into_iter()
                .flat_map(|b| b.values().map(|o| o.as_ref())),
        )
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Stores `obj` under a new resourceVersion and tells the watchers (`previous`: the version
    /// it replaces, None for a creation).
    fn store(
        &mut self,
        rt: &ResourceType,
        key: (String, String),
        mut obj: Value,
        previous: Option<Arc<Value>>,
    ) -> Arc<Value> {
        let rv = self.next_rv();
        metadata_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        let stored = Arc::new(obj);
        self.buckets
            .entry(rt.key())
            .or_default()
            .insert(key, stored.clone());
        let event = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(rt, event, stored.clone(), previous);
        stored
    }

    fn emit(
        &mut self,
        rt: &ResourceType,
        event_type: EventType,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let event = WatchEvent {
            event_type,
            resource: rt.key(),
            rv: self.rv,
            object,
            previous,
        };
        self.watchers.retain(|(key, sender)| {
            if *key != event.resource {
                return !sender.is_closed();
            }
            sender.send(event.clone()).is_ok()
        });
        self.history.push_back(event);
        while self.history.len() > HISTORY {
            if let Some(old) = self.history.pop_front() {
                self.history_floor = old.rv;
            }
        }
    }

    fn namespace_state(&self, namespace: &str) -> Option<&Arc<Value>> {
        self.buckets
            .get(&GroupResource {
                group: String::new(),
                resource: "namespaces".into(),
            })?
            .get(&(String::new(), namespace.to_string()))
    }

    fn create(
        &mut self,
        rt: &ResourceType,
        mut obj: Value,
        now: &str,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Arc<Value>, Status> {
        if rt.virtual_only {
            return Err(Status::method_not_allowed(format!(
                "{} are not stored",
                rt.plural
            )));
        }
        {
            let meta = metadata_mut(&mut obj);
            let has_name = meta
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !has_name
                && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
                && !prefix.is_empty()
            {
                let name = format!("{prefix}{}", meta::name_suffix());
                meta.insert("name".into(), json!(name));
            }
            if !rt.namespaced {
                meta.remove("namespace");
            }
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        meta::validate(&rt.group, &rt.kind, &obj)?;
        let (namespace, name) = ns_name(&obj);
        if rt.namespaced {
            if namespace.is_empty() {
                return Err(Status::bad_request(
                    "the server could not find the requested resource: namespace is required",
                ));
            }
            match self.namespace_state(&namespace) {
                None => return Err(Status::not_found("", "namespaces", &namespace)),
                Some(ns) if ns.pointer("/metadata/deletionTimestamp").is_some() => {
                    return Err(Status::forbidden(
                        &rt.group,
                        &rt.plural,
                        &name,
                        &format!(
                            "unable to create new content in namespace {namespace} because it is being terminated"
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let key = (namespace.clone(), name.clone());
        if self
            .buckets
            .get(&rt.key())
            .is_some_and(|b| b.contains_key(&key))
        {
            return Err(Status::already_exists(&rt.group, &rt.plural, &name));
        }
        {
            let meta = metadata_mut(&mut obj);
            meta.insert("uid".into(), json!(meta::new_uid()));
            meta.insert("creationTimestamp".into(), json!(now));
            meta.remove("deletionTimestamp");
            meta.remove("resourceVersion");
            if rt.generation {
                meta.insert("generation".into(), json!(1));
            } else {
                meta.remove("generation");
            }
        }
        owned_defaults(rt, &mut obj);
        if let Some(manager) = manager
            && obj.pointer("/metadata/managedFields").is_none()
        {
            fields::record_update(None, &mut obj, manager, &rt.api_version(), now, None);
        }
        unowned_defaults(rt, &mut obj);
        defaults::scheme(rt, &mut obj);
        let range = self.service_range();
        if dry_run {
            // A dry run allocates nothing for good.
            defaults::on_create(rt, &mut obj, &mut self.allocations.clone(), range);
        } else {
            defaults::on_create(rt, &mut obj, &mut self.allocations, range);
        }
        if dry_run {
            return Ok(Arc::new(obj));
        }
        Ok(self.store(rt, key, obj, None))
    }

    fn replace(
        &mut self,
        rt: &ResourceType,
        mut obj: Value,
        part: Part,
        now: &str,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Arc<Value>, Status> {
        let (mut namespace, name) = ns_name(&obj);
        if !rt.namespaced {
            namespace.clear();
        }
        let key = (namespace.clone(), name.clone());
        let Some(old) = self
            .buckets
            .get(&rt.key())
            .and_then(|b| b.get(&key))
            .cloned()
        else {
            return Err(Status::not_found(&rt.group, &rt.plural, &name));
        };
        if let Some(wanted) = obj.pointer("/metadata/resourceVersion")
            && !wanted.is_null()
            && wanted.as_str()
                != old
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
        {
            return Err(Status::stale(&rt.group, &rt.plural, &name));
        }
        if let Some(uid) = obj.pointer("/metadata/uid").and_then(Value::as_str)
            && Some(uid) != old.pointer("/metadata/uid").and_then(Value::as_str)
        {
            return Err(Status::conflict(
                &rt.group,
                &rt.plural,
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    old.pointer("/metadata/uid")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ),
            ));
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        let mut new = match part {
            Part::Status => {
                let mut new = (*old).clone();
                match obj.get("status") {
                    Some(status) => new["status"] = status.clone(),
                    None => {
                        if let Some(map) = new.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
                if let Some(fields) = obj.pointer("/metadata/managedFields") {
                    metadata_mut(&mut new).insert("managedFields".into(), fields.clone());
                }
                new
            }
            Part::Main if rt.has_status() => {
                match old.get("status") {
                    Some(status) => obj["status"] = status.clone(),
                    None => {
                        if let Some(map) = obj.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
                obj
            }
            Part::Main | Part::All => obj,
        };
        {
            let old_meta = old.get("metadata").cloned().unwrap_or_default();
            let meta = metadata_mut(&mut new);
            for keep in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                match old_meta.get(keep) {
                    Some(v) => meta.insert(keep.into(), v.clone()),
                    None => meta.remove(keep),
                };
            }
            meta.insert("name".into(), json!(name));
            if rt.namespaced {
                meta.insert("namespace".into(), json!(namespace));
            } else {
                meta.remove("namespace");
            }
            if rt.generation {
                let generation = old_meta
                    .get("generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                meta.insert("generation".into(), json!(generation));
            } else {
                meta.remove("generation");
            }
            meta.insert(
                "resourceVersion".into(),
                old_meta
                    .get("resourceVersion")
                    .cloned()
                    .unwrap_or(json!("")),
            );
        }
        if part != Part::Status {
            defaults::scheme(rt, &mut new);
            let range = self.service_range();
            let mut scratch;
            let allocations = if dry_run {
                scratch = self.allocations.clone();
                &mut scratch
            } else {
                &mut self.allocations
            };
            defaults::on_update(rt, &old, &mut new, allocations, range)
                .map_err(|errors| field_error::invalid(&rt.group, &rt.kind, &name, &errors))?;
        }
        if rt.generation && spec_changed(&new, &old) {
            let generation = new
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            metadata_mut(&mut new).insert("generation".into(), json!(generation + 1));
        }
        owned_defaults(rt, &mut new);
        if let Some(manager) = manager {
            let sub = (part == Part::Status).then_some("status");
            fields::record_update(Some(&old), &mut new, manager, &rt.api_version(), now, sub);
        }
        if unchanged(&new, &old) {
            // A no-op write keeps the resourceVersion and emits nothing, like etcd3's guaranteed
            // update does; managedFields-only changes are dropped the same way.
            return Ok(old);
        }
        if dry_run {
            return Ok(Arc::new(new));
        }
        let finalizers_empty = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty());
        let rv = self.next_rv();
        metadata_mut(&mut new).insert("resourceVersion".into(), json!(rv.to_string()));
        let stored = Arc::new(new);
        if new_is_deleting(&stored) && finalizers_empty {
            self.buckets.entry(rt.key()).or_default().remove(&key);
            self.emit(rt, EventType::Deleted, stored.clone(), Some(old));
            self.finish_namespace_if_empty(&namespace);
            return Ok(stored);
        }
        self.buckets
            .entry(rt.key())
            .or_default()
            .insert(key, stored.clone());
        self.emit(rt, EventType::Modified, stored.clone(), Some(old));
        Ok(stored)
    }

    /// The stored object a delete is about, after its resourceVersion precondition.
    fn deletable(
        &self,
        rt: &ResourceType,
        key: &(String, String),
        precondition_rv: Option<u64>,
    ) -> Result<Arc<Value>, Status> {
        let name = &key.1;
        let Some(old) = self
            .buckets
            .get(&rt.key())
            .and_then(|b| b.get(key))
            .cloned()
        else {
            return Err(Status::not_found(&rt.group, &rt.plural, name));
        };
        if let Some(wanted) = precondition_rv
            && Some(wanted) != rv_of(&old)
        {
            return Err(Status::conflict(
                &rt.group,
                &rt.plural,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {wanted}, ResourceVersion in object meta: {}",
                    rv_of(&old).unwrap_or_default()
                ),
            ));
        }
        Ok(old)
    }

    /// [`State::deletable`], with the finalizers a delete's propagation policy sets. An object
    /// already being deleted gets them in a write of its own (it stays marked as it was); for
    /// one that is not, they are part of the write that marks it (the caller's), or of a dry
    /// run's answer.
    fn with_finalizers(
        &mut self,
        rt: &ResourceType,
        key: &(String, String),
        precondition_rv: Option<u64>,
        finalizers: Option<Vec<Value>>,
        dry_run: bool,
    ) -> Result<Arc<Value>, Status> {
        let old = self.deletable(rt, key, precondition_rv)?;
        let Some(finalizers) = finalizers else {
            return Ok(old);
        };
        let mut new = (*old).clone();
        metadata_mut(&mut new).insert("finalizers".into(), json!(finalizers));
        if finalizers.is_empty() {
            metadata_mut(&mut new).remove("finalizers");
        }
        if dry_run || !new_is_deleting(&old) {
            return Ok(Arc::new(new));
        }
        Ok(self.store(rt, key.clone(), new, Some(old)))
    }

    /// Graceful deletion as `rest.BeforeDelete` does it for pods: a period > 0 marks the object
    /// (`deletionTimestamp` = now + period) and leaves its removal to the kubelet; 0 marks it and
    /// removes it at once (watchers see MODIFIED, then DELETED) unless finalizers hold it. A
    /// marked object only accepts a shorter period.
    #[allow(clippy::too_many_arguments)]
    fn delete_gracefully(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        precondition_rv: Option<u64>,
        period: i64,
        finalizers: Option<Vec<Value>>,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<(Value, bool), Status> {
        let key = (namespace.to_string(), name.to_string());
        let old = self.with_finalizers(rt, &key, precondition_rv, finalizers, dry_run)?;
        let marked_at = old
            .pointer("/metadata/deletionTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Timestamp>().ok());
        let marked_period = old
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64);
        let deadline = match (marked_at, marked_period) {
            (None, _) => Some(now + jiff::SignedDuration::from_secs(period)),
            (Some(_), None | Some(0)) => None,
            (Some(at), Some(marked)) if period < marked => {
                Some(at - jiff::SignedDuration::from_secs(marked - period))
            }
            (Some(_), Some(_)) => return Ok(((*old).clone(), false)),
        };
        let held = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        let mut current = old.clone();
        if let Some(deadline) = deadline {
            let mut new = (*old).clone();
            {
                let meta = metadata_mut(&mut new);
                meta.insert(
                    "deletionTimestamp".into(),
                    json!(meta::format_time(deadline)),
                );
                meta.insert("deletionGracePeriodSeconds".into(), json!(period));
            }
            if dry_run {
                return Ok((new, period == 0 && !held));
            }
            current = self.store(rt, key.clone(), new, Some(old));
            if period > 0 {
                return Ok(((*current).clone(), false));
            }
        } else if dry_run {
            return Ok(((*old).clone(), !held));
        }
        if held {
            return Ok(((*current).clone(), false));
        }
        let removed = self.remove(rt, &key).unwrap_or(current);
        self.finish_namespace_if_empty(namespace);
        Ok(((*removed).clone(), true))
    }

    #[allow(clippy::too_many_arguments)]
    fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        precondition_rv: Option<u64>,
        finalizers: Option<Vec<Value>>,
        now: &str,
        dry_run: bool,
    ) -> Result<(Value, bool), Status> {
        let ns = if rt.namespaced { namespace } else { "" };
        let key = (ns.to_string(), name.to_string());
        let old = self.with_finalizers(rt, &key, precondition_rv, finalizers, dry_run)?;
        let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
        let has_finalizers = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
            || is_namespace;
        if has_finalizers {
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(((*old).clone(), false));
            }
            let mut new = (*old).clone();
            {
                let meta = metadata_mut(&mut new);
                meta.insert("deletionTimestamp".into(), json!(now));
                meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            if is_namespace {
                new["status"]["phase"] = json!("Terminating");
            }
            if dry_run {
                return Ok((new, false));
            }
            let stored = self.store(rt, key, new, Some(old));
            if is_namespace {
                self.empty_namespace(name, now);
                self.finish_namespace_if_empty(name);
                let current = self
                    .namespace_state(name)
                    .map(|o| (**o).clone())
                    .unwrap_or_else(|| (*stored).clone());
                return Ok((current, false));
            }
            if rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions" {
                self.remove_crd(&stored, now);
            }
            return Ok(((*stored).clone(), false));
        }
        if dry_run {
            return Ok(((*old).clone(), true));
        }
        let removed = self.remove(rt, &key).unwrap_or(old);
        if rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions" {
            self.remove_crd(&removed, now);
        }
        self.finish_namespace_if_empty(ns);
        Ok(((*removed).clone(), true))
    }

    /// Removes an object for good, emitting DELETED with a fresh resourceVersion.
    fn remove(&mut self, rt: &ResourceType, key: &(String, String)) -> Option<Arc<Value>> {
        let old = self.buckets.get_mut(&rt.key())?.remove(key)?;
        let rv = self.next_rv();
        let mut gone = (*old).clone();
        metadata_mut(&mut gone).insert("resourceVersion".into(), json!(rv.to_string()));
        let gone = Arc::new(gone);
        self.emit(rt, EventType::Deleted, gone.clone(), Some(old));
        Some(gone)
    }

    /// The namespace controller's work: delete everything in a terminating namespace.
    fn empty_namespace(&mut self, namespace: &str, now: &str) {
        let types: Vec<Arc<ResourceType>> = self
            .registry
            .all()
            .iter()
            .filter(|rt| rt.namespaced)
            .cloned()
            .collect();
        for rt in types {
            let names: Vec<String> = self
                .buckets
                .get(&rt.key())
                .map(|bucket| {
                    bucket
                        .range((namespace.to_string(), String::new())..)
                        .take_while(|((ns, _), _)| ns == namespace)
                        .map(|((_, name), _)| name.clone())
                        .collect()
                })
                .unwrap_or_default();
            for name in names {
                let _ = self.delete(&rt, namespace, &name, None, None, now, false);
            }
        }
    }

    /// Removes a terminating namespace once nothing is left in it.
    fn finish_namespace_if_empty(&mut self, namespace: &str) {
        if namespace.is_empty() {
            return;
        }
        let terminating = self
            .namespace_state(namespace)
            .is_some_and(|ns| ns.pointer("/metadata/deletionTimestamp").is_some());
        if !terminating {
            return;
        }
        let occupied = self
            .registry
            .all()
            .iter()
            .filter(|rt| rt.namespaced)
            .any(|rt| {
                self.buckets.get(&rt.key()).is_some_and(|bucket| {
                    bucket
                        .range((namespace.to_string(), String::new())..)
                        .next()
                        .is_some_and(|((ns, _), _)| ns == namespace)
                })
            });
        if occupied {
            return;
        }
        if let Some(ns_type) = self.registry.by_plural("", "v1", "namespaces") {
            self.remove(&ns_type, &(String::new(), namespace.to_string()));
        }
    }

    /// A created or updated CRD: register its kind and set the conditions the real
    /// apiextensions controller sets.
    fn establish_crd(&mut self, crd: &Value, now: &str) {
        let Some(rt) = resources::from_crd(crd) else {
            return;
        };
        if crd.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        self.registry.insert(rt.clone());
        let crd_type =
            match self
                .registry
                .by_plural("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            {
                Some(t) => t,
                None => return,
            };
        let (_, name) = ns_name(crd);
        let key = (String::new(), name);
        let Some(current) = self
            .buckets
            .get(&crd_type.key())
            .and_then(|b| b.get(&key))
            .cloned()
        else {
            return;
        };
        let mut new = (*current).clone();
        let existing = |t: &str| {
            current
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == t))
                .and_then(|c| c.get("lastTransitionTime").cloned())
                .unwrap_or(json!(now))
        };
        let mut accepted = json!({
            "plural": rt.plural,
            "singular": rt.singular,
            "kind": rt.kind,
            "listKind": crd.pointer("/spec/names/listKind").cloned().unwrap_or(json!(format!("{}List", rt.kind))),
        });
        if !rt.short_names.is_empty() {
            accepted["shortNames"] = json!(rt.short_names);
        }
        if !rt.categories.is_empty() {
            accepted["categories"] = json!(rt.categories);
        }
        new["status"] = json!({
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": existing("NamesAccepted"),
                 "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": existing("Established"),
                 "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
            ],
            "acceptedNames": accepted,
            "storedVersions": crate::crd_rules::stored_versions(&current, Some(&current)),
        });
        if unchanged(&new, &current) {
            return;
        }
        self.store(&crd_type, key, new, Some(current));
    }

    /// A deleted CRD: its objects go, then its kind leaves discovery, then the CRD itself.
    fn remove_crd(&mut self, crd: &Value, _now: &str) {
        let Some(rt) = resources::from_crd(crd) else {
            return;
        };
        let Some(served) = self.registry.by_plural(&rt.group, &rt.version, &rt.plural) else {
            return;
        };
        let keys: Vec<(String, String)> = self
            .buckets
            .get(&served.key())
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        for key in keys {
            self.remove(&served, &key);
        }
        self.buckets.remove(&served.key());
        self.registry.remove(&rt.group, &rt.plural);
        // The CRD's own finalizer (customresourcecleanup) is the apiextensions controller's.
        if let Some(crd_type) =
            self.registry
                .by_plural("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        {
            let (_, name) = ns_name(crd);
            let key = (String::new(), name);
            if self
                .buckets
                .get(&crd_type.key())
                .is_some_and(|b| b.contains_key(&key))
            {
                self.remove(&crd_type, &key);
            }
        }
    }
}

fn new_is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some()
}

/// Defaults the API server fills in that count as the writer's fields in `managedFields`
/// (the namespace name label, the DaemonSet template-generation annotation).
pub(crate) fn owned_defaults(rt: &ResourceType, obj: &mut Value) {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => {
            let name = obj.pointer("/metadata/name").cloned().unwrap_or_default();
            let meta = metadata_mut(obj);
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if labels.is_object() {
                labels["kubernetes.io/metadata.name"] = name;
            }
        }
        ("apps", "daemonsets") => {
            // The DaemonSet's template generation is served as this annotation.
            let generation = obj
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let meta = metadata_mut(obj);
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            if annotations.is_object() {
                annotations["deprecated.daemonset.template.generation"] =
                    json!(generation.to_string());
            }
        }
        _ => {}
    }
}

/// Defaults nobody owns (set by the registry strategy on create).
fn unowned_defaults(rt: &ResourceType, obj: &mut Value) {
    if rt.group.is_empty() && rt.plural == "namespaces" {
        if obj.pointer("/spec/finalizers").is_none() {
            obj["spec"]["finalizers"] = json!(["kubernetes"]);
        }
        if obj.pointer("/status/phase").is_none() {
            obj["status"]["phase"] = json!("Active");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(store: &Store, name: &str, finalizers: &[&str]) -> (Arc<ResourceType>, u64) {
        let created = store
            .create(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "finalizers": finalizers},
                "spec": {"nodeName": "w1", "containers": [{"name": "c", "image": "i"}]}}))
            .unwrap();
        (store.type_of(&created).unwrap(), rv_of(&created).unwrap())
    }

    fn with_default_namespace() -> Store {
        let store = Store::new(Settings::default());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
        store.create(ns).unwrap();
        store
    }

    fn events_since(store: &Store, rt: &ResourceType, rv: u64) -> Vec<(EventType, Value)> {
        let sub = store.watch(rt, Some(rv)).unwrap();
        sub.backlog
            .into_iter()
            .map(|e| (e.event_type, e.object["metadata"].clone()))
            .collect()
    }

    #[test]
    fn graceful_pod_deletion_marks_then_a_zero_period_removes() {
        let store = with_default_namespace();
        let (rt, rv) = pod(&store, "p", &[]);
        let (marked, gone) = store
            .delete_typed(&rt, "default", "p", None, Some(30), None, false)
            .unwrap();
        assert!(!gone);
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
        let due = store.now() + jiff::SignedDuration::from_secs(30);
        assert_eq!(
            marked["metadata"]["deletionTimestamp"],
            meta::format_time(due)
        );
        let (again, _) = store
            .delete_typed(&rt, "default", "p", None, Some(60), None, false)
            .unwrap();
        assert_eq!(
            again["metadata"]["resourceVersion"], marked["metadata"]["resourceVersion"],
            "a longer period changes nothing"
        );
        let (shorter, gone) = store
            .delete_typed(&rt, "default", "p", None, Some(10), None, false)
            .unwrap();
        assert!(!gone);
        assert_eq!(shorter["metadata"]["deletionGracePeriodSeconds"], 10);
        let (removed, gone) = store
            .delete_typed(&rt, "default", "p", None, Some(0), None, false)
            .unwrap();
        assert!(gone);
        assert_eq!(removed["metadata"]["deletionGracePeriodSeconds"], 0);
        let kinds: Vec<EventType> = events_since(&store, &rt, rv)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(
            kinds,
            [
                EventType::Modified,
                EventType::Modified,
                EventType::Modified,
                EventType::Deleted
            ],
            "marked, shortened, shortened to 0, removed"
        );
    }

    #[test]
    fn a_zero_period_marks_and_removes_unless_finalizers_hold_the_pod() {
        let store = with_default_namespace();
        let (rt, rv) = pod(&store, "now", &[]);
        let (_, gone) = store
            .delete_typed(&rt, "default", "now", None, Some(0), None, true)
            .unwrap();
        assert!(gone, "a dry run says what would happen");
        assert!(store.get("v1", "Pod", Some("default"), "now").is_some());
        store
            .delete_typed(&rt, "default", "now", None, Some(0), None, false)
            .unwrap();
        let seen = events_since(&store, &rt, rv);
        assert_eq!(
            seen.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            [EventType::Modified, EventType::Deleted]
        );
        assert_eq!(seen[0].1["deletionGracePeriodSeconds"], 0);
        let (_, _) = pod(&store, "held", &["example.com/keep"]);
        let (kept, gone) = store
            .delete_typed(&rt, "default", "held", None, Some(0), None, false)
            .unwrap();
        assert!(!gone);
        assert!(kept["metadata"]["deletionTimestamp"].is_string());
    }
}
