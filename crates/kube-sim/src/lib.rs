//! kube-sim: a loopback Kubernetes API server that answers in the shapes of a real
//! kube-apiserver (v1.36), for lbctl's tests.
//!
//! # Starting a server
//!
//! ```no_run
//! let scenario = kube_sim::Scenario::from_yaml("objects: []").unwrap();
//! let sim = kube_sim::spawn(scenario).unwrap();
//! let kubeconfig = sim.kubeconfig_yaml("admin");
//! # let _ = kubeconfig;
//! ```
//!
//! `spawn` runs the server on 127.0.0.1 (random port) on its own thread and tokio runtime, so
//! plain `#[test]` functions can use it; dropping the [`SimHandle`] stops it.
//!
//! # Scenario YAML
//!
//! ```yaml
//! serverVersion: v1.36.0          # /version gitVersion (major/minor derived)
//! settings: { podReadyDelay: 300ms }
//! users:                          # bearer-token users; "admin" (allowed everything) is implicit
//!   viewer:
//!     token: optional-token       # default: kube-sim-<name>
//!     rules:
//!       - { apiGroups: [""], resources: [configmaps], verbs: [get, list, watch], namespaces: [kube-system] }
//! objects:                        # created in order; Namespaces, then CRDs, then the rest
//!   - { apiVersion: v1, kind: Namespace, metadata: { name: metallb-system } }
//! ```
//! `default`, `kube-system`, `kube-public` and `kube-node-lease` always exist.
//!
//! # The store and hook API (for the cluster behaviour in [`cluster`])
//!
//! - [`Store`] (cheap `Clone`): `get`/`list` (by `apiVersion` + `kind`), `create`, `update`
//!   (spec + metadata; `metadata.resourceVersion` is a precondition when present),
//!   `update_status`, `upsert` (create or replace everything), `delete` (finalizers honoured).
//!   Every write bumps the one cluster-wide resourceVersion counter and emits a watch event;
//!   no-op writes change nothing. `now()` is the simulated clock, `settings()` the scenario's
//!   switches, `set_pod_log`/`append_pod_log` fill what `pods/<name>/log` serves once the
//!   container has started (before that the log answers the API server's or kubelet's error:
//!   400 `... is waiting to start: ContainerCreating`, 404 for a missing node, 500 connection
//!   refused for a node that is not Ready; 204 and nothing for a pod not bound to a node;
//!   `previous=true` serves what [`Store::restart_container`] kept, or 400 when the container
//!   never restarted).
//! - Pod deletion is graceful as in kube-apiserver: `gracePeriodSeconds` from the DeleteOptions
//!   body (else the query), else `terminationGracePeriodSeconds` (30); a period > 0 only sets
//!   `deletionTimestamp` (the simulated kubelet removes the pod), 0 removes it at once, and
//!   unbound or finished pods always go at once. `Store::delete` (for controllers) removes at once.
//! - Deletes honour DeleteOptions `propagationPolicy` (`orphanDependents`): Foreground and Orphan
//!   add the `foregroundDeletion` / `orphan` finalizers, so the object stays marked until the
//!   simulated cluster's garbage collector (`cluster::gc`) has deleted or released its
//!   dependents; Background (the default) removes it at once and the collector its dependents.
//! - Admission: an [`AdmissionHook`] (`Fn(&AdmissionRequest, &Store) -> Result<(), Status>`)
//!   sees every API write (also dry-run ones) before it is stored; `Err(status)` is sent to
//!   the client as is, so a hook can answer any recorded body ([`Status::new`],
//!   [`Status::internal`], [`Status::from_json`]).
//! - Pod Security admission (`pod_security`): pods created through the API in a namespace
//!   labelled `pod-security.kubernetes.io/enforce: baseline` or `restricted` are refused with
//!   the API server's 403 (before the hooks run). Pods the simulated controllers create do not
//!   pass through the API, so they are not judged.
//! - Controllers: a [`Controller`] (`reconcile(&mut self, &Store)`) runs on a background loop
//!   after every write and on a short tick. [`SimHandle::pause`] stops the loop and freezes
//!   the clock; [`SimHandle::advance`] moves the clock and runs the controllers until the
//!   store settles, on the caller's thread; [`SimHandle::resume`] restarts both.
//! - Registration: [`spawn`] runs the simulated cluster ([`cluster::Cluster`], adapted by
//!   `wiring::ClusterController`: it lists [`cluster::WATCHED`] into a [`cluster::World`] and
//!   applies the returned [`cluster::Action`]s through the store). Admission hooks of the
//!   cluster go in [`SimBuilder::with_cluster`]; tests can add their own with
//!   [`SimBuilder::admission`] and [`SimBuilder::controller`].
//!
//! # Tables (`kubectl get`)
//!
//! GET, LIST and WATCH answer `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (or
//! `v1beta1`) with a `meta.k8s.io` Table: `columnDefinitions` and one row per object whose
//! `cells` follow kube-apiserver's printers for nodes, pods, services, configmaps, secrets,
//! serviceaccounts, namespaces, events, daemonsets, deployments and replicasets (every column,
//! `priority: 1` being `-o wide`'s); custom resources use their CRD's `additionalPrinterColumns`
//! (simple JSONPaths; Age when the CRD declares none); every other kind, CRDs included, gets
//! Name / Created At. The row's `object` is PartialObjectMetadata, the object itself with
//! `includeObject=Object`, null with `None`. Lists keep `limit`/`continue`; a watch sends one
//! Table per event with the columns in the first only. Finished pods' rows carry the
//! `Completed` condition.
//!
//! # Field validation
//!
//! POST, PUT and PATCH honour `?fieldValidation=` (`Warn` when absent): `Strict` answers 400
//! `<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding error: unknown field
//! "spec.foo", duplicate field "data.a"`; `Warn` stores the object without the unknown fields
//! and sends one `Warning: 299 - "unknown field \"spec.foo\""` header per finding; `Ignore`
//! drops them silently. Findings come in the server's order: a JSON body's order for built-in
//! kinds; duplicates, then `metadata`, then the rest in key order for custom resources.
//! Server-side apply is different, as in kube-apiserver: keys its YAML (or JSON) body repeats
//! are reported by line (`line 7: key "b" already set in map`: 400 `error strict decoding YAML:
//! ...` under Strict, warnings under Warn), and undeclared fields are refused whatever the
//! directive with 500 `failed to create typed patch object (<ns>/<name>; <gv>, Kind=<Kind>):
//! .spec.foo: field not declared in schema` (the first undeclared field of each object in key
//! order; the real server walks Go maps and reports one of several at random). Checked: custom
//! resources against their CRD's structural schema (`properties`, `items`,
//! `additionalProperties`, `x-kubernetes-preserve-unknown-fields`,
//! `x-kubernetes-embedded-resource`); `metadata` of every kind against ObjectMeta; for built-in
//! kinds the top-level fields of configmaps, secrets, namespaces, nodes, serviceaccounts, pods,
//! services, daemonsets, deployments, replicasets, RBAC, CRDs (their specs and every schema's
//! JSONSchemaProps keywords at any depth) and validating webhook configurations, plus Service
//! specs and ports, workload specs, pod templates, pod specs and containers. Not checked:
//! anything below those (probes, volumes, securityContext, affinity, status, ...), other
//! built-in kinds (events, EndpointSlices, ...), and the order of findings in YAML
//! create/update bodies (key order).
//!
//! # Typed decoding
//!
//! Create and update bodies of built-in kinds are decoded as the server's Go decoder does
//! (`typed_decode`, types in `go_types`: ConfigMaps, Secrets, ServiceAccounts, Namespaces,
//! Nodes, pods, Services, workloads, EndpointSlices, RBAC, ObjectMeta, pod specs and
//! containers): a value of the wrong JSON type answers 400 `ConfigMap in version "v1" cannot be
//! handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of
//! type string` (the first in body order; base64, quantities, int-or-strings and times as
//! their decoders refuse them). Patches and server-side apply are not type-checked.
//!
//! # CustomResourceDefinitions
//!
//! A CRD is checked as kube-apiserver's apiextensions validation checks it (`crd_rules`), on
//! create, update, patch and server-side apply (dry-run too) and in a scenario's `objects:`: a
//! refused one gets the real 422 (`CustomResourceDefinition.apiextensions.k8s.io "<name>" is
//! invalid: ...`, causes with `FieldValueForbidden`/`Required`/`Invalid`/`NotSupported`/...
//! and the field paths of the server's internal form, `spec.validation.openAPIV3Schema...` for a
//! schema every version shares). Structural schemas (types, `items`, the root `metadata`,
//! embedded resources, value validations), defaults, the OpenAPI keywords and the
//! `x-kubernetes-*` extensions' placement, names, versions, printer columns and, on update, the
//! immutable scope, kind, group and plural. Not compiled: CEL rules. `status.storedVersions`
//! accumulates every storage version the CRD has had.
//!
//! # Other validation of writes
//!
//! Every object needs a valid name. EndpointSlice addresses must suit the slice's address type
//! and may not be loopback, link-local, link-local multicast or unspecified. A pod's
//! `status.qosClass` cannot change (a status update that empties it keeps it, and keeps the
//! owner references). Deployments and DaemonSets need a selector that matches
//! their pod template's labels, and keep it; Services keep their cluster IPs once set (an
//! update that leaves them out keeps the stored ones, a changed `clusterIP` with the old
//! `clusterIPs` is lined up first). The 422s are worded and ordered as kube-apiserver's.
//!
//! # What the API server fills in
//!
//! Every write gets the scheme's defaults (`defaults.rs`): pod specs and pod templates
//! (`restartPolicy`, `dnsPolicy`, container `imagePullPolicy` by tag, `terminationMessagePath`,
//! port `protocol`, `hostPort` under `hostNetwork`, volume `defaultMode`, probe timings),
//! workload strategies and `revisionHistoryLimit`, Service `type`, `sessionAffinity`, port
//! `targetPort` and traffic policies. A created pod also gets what admission adds (service
//! account and its projected token volume unless `automountServiceAccountToken: false`, the
//! 300 s not-ready/unreachable tolerations, priority, `phase: Pending`, `qosClass`); a created
//! Service gets a cluster IP from the first ServiceCIDR (boot creates `kubernetes`,
//! `10.96.0.0/12`, unless the scenario has one) and node ports, which updates that omit them
//! keep. Defaulted fields are nobody's in `managedFields`. A pod whose ServiceAccount does not
//! exist is refused as the ServiceAccount admission plugin refuses it (403 `pods "p" is
//! forbidden: error looking up service account default/missing: serviceaccount "missing" not
//! found`, before validation; for `default` it waits up to ~1.5 s for the account to appear).
//! Every namespace of a scenario has its `default` ServiceAccount; later namespaces get theirs
//! from the simulated cluster (none without it, as a real server without its controller
//! manager). Not modelled: LimitRanges, resource quotas. Bodies of creates and updates are JSON
//! or YAML; protobuf (kubectl's typed clients, e.g. `kubectl create deployment`) is answered
//! 415 `UnsupportedMediaType`, so use `kubectl apply`.
//!
//! # Control endpoints
//!
//! `GET|DELETE /_sim/requests`, `POST|DELETE /_sim/faults` (a [`Fault`] as JSON),
//! `POST /_sim/pause`, `POST /_sim/resume`, `POST /_sim/advance?by=2s`,
//! `GET /_sim/settings`, `PATCH /_sim/settings` (a JSON merge patch of the `settings:` map, as
//! [`SimHandle::set_settings`]; 200 with the settings in force, 400 with the validation error
//! and nothing changed).
//!
//! # Switching settings at run time
//!
//! Every key of `settings:` (see [`cluster`]: `controllers`, `podReadyDelay`, `podsNeverReady`,
//! `metallb.*`, `nodeFacts`, ...) can be switched while the server runs, so a test can load a
//! standard scenario and then, say, give nodes their facts:
//!
//! ```no_run
//! # let sim = kube_sim::spawn(kube_sim::Scenario::from_yaml("objects: []").unwrap()).unwrap();
//! sim.set_settings(serde_json::json!({"nodeFacts": {"w1": "arp_ignore=1\n"}, "podReadyDelay": "1s"}))
//!     .unwrap();
//! ```
//! or `curl -k -X PATCH https://127.0.0.1:PORT/_sim/settings -d '{"metallb": {"webhookServing": false}}'`.
//! Bootstrap-only keys (`bootAge`, `bootTime`) are accepted but only matter while a scenario
//! loads.

pub mod agent;
mod apply;
mod clock;
pub mod cluster;
mod control;
mod crd_rules;
mod defaults;
mod deletion;
mod endpoint_rules;
mod error;
mod field_error;
mod fields;
mod go_types;
pub(crate) mod http;
mod meta;
mod object_rules;
mod patch;
mod pod_security;
mod printers;
pub mod resources;
mod scenario;
mod selectors;
mod status;
mod store;
mod tls;
mod typed_decode;
mod validation;
mod wiring;

pub use control::{
    AdmissionHook, AdmissionRequest, Controller, Fault, FaultAction, LoggedRequest, Operation,
};
pub use error::SimError;
pub use scenario::{GenerateSpec, Rule, Scenario, Settings, User};
pub use selectors::{FieldSelector, LabelSelector};
pub use status::Status;
pub use store::{EventType, Store, Subscription, WatchEvent};

use control::{Control, Controllers};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Collects what a server starts with: scenario, hooks, controllers, port.
pub struct SimBuilder {
    scenario: Scenario,
    hooks: Vec<AdmissionHook>,
    controllers: Vec<Box<dyn Controller>>,
    port: u16,
}

impl SimBuilder {
    /// A server for `scenario` without the cluster behaviour (see [`spawn`] for the full one).
    pub fn new(scenario: Scenario) -> SimBuilder {
        SimBuilder {
            scenario,
            hooks: Vec::new(),
            controllers: Vec::new(),
            port: 0,
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn admission(mut self, hook: AdmissionHook) -> SimBuilder {
        self.hooks.push(hook);
        self
    }

    pub fn controller(mut self, controller: Box<dyn Controller>) -> SimBuilder {
        self.controllers.push(controller);
        self
    }

    /// Listen on this port (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> SimBuilder {
        self.port = port;
        self
    }

    /// Adds the simulated cluster (controllers, kubelets, EndpointSlices) configured from the
    /// scenario's `settings`.
    pub fn with_cluster(self) -> Result<SimBuilder, SimError> {
        let settings = cluster_settings(&self.scenario.settings)?;
        let controller = wiring::ClusterController::new(settings);
        let webhook = wiring::metallb_webhook(controller.webhook_since());
        Ok(self.controller(Box::new(controller)).admission(webhook))
    }

    pub fn spawn(self) -> Result<SimHandle, SimError> {
        start(self)
    }
}

/// A scenario's `settings:` as one JSON map.
fn settings_json(settings: &Settings) -> Value {
    Value::Object(settings.0.clone().into_iter().collect())
}

/// Validates `settings:` (a scenario's, or switched at run time) into the cluster's switches.
fn cluster_settings(settings: &Settings) -> Result<cluster::ClusterSettings, SimError> {
    cluster::ClusterSettings::from_settings(&settings_json(settings))
        .map_err(|e| SimError::Scenario(format!("settings: {e}")))
}

/// Merges `patch` (a JSON merge patch of the `settings:` map) into the store's settings when the
/// result is valid; returns the settings now in force.
pub(crate) fn patch_settings(store: &Store, patch: &Value) -> Result<Value, SimError> {
    if !patch.is_object() {
        return Err(SimError::Scenario(
            "settings: a settings patch must be a map (a JSON merge patch of `settings:`)".into(),
        ));
    }
    let updated = store.update_settings(|current| {
        let mut merged = settings_json(current);
        json_patch::merge(&mut merged, patch);
        let next = Settings(
            merged
                .as_object()
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default(),
        );
        cluster_settings(&next)?;
        Ok(next)
    })?;
    Ok(settings_json(&updated))
}

/// Starts a server with the cluster behaviour for `scenario`.
pub fn spawn(scenario: Scenario) -> Result<SimHandle, SimError> {
    SimBuilder::new(scenario).with_cluster()?.spawn()
}

/// A running server. Dropping it stops the server.
pub struct SimHandle {
    url: String,
    ca_pem: String,
    store: Store,
    control: Arc<Control>,
    controllers: Arc<Controllers>,
    scenario: Scenario,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The `kubernetes` ServiceCIDR a kubeadm cluster's API server creates.
fn default_service_cidr(now: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {
            "name": "kubernetes",
            "finalizers": ["networking.k8s.io/service-cidr-finalizer"],
        },
        "spec": {"cidrs": [defaults::DEFAULT_SERVICE_CIDR]},
        "status": {"conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "",
            "message": "Kubernetes Service CIDR is ready",
            "lastTransitionTime": now,
        }]},
    })
}

fn load_objects(store: &Store, scenario: &Scenario) -> Result<(), SimError> {
    let listed = |name: &str| {
        scenario.objects.iter().any(|o| {
            o["kind"] == "Namespace"
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
        })
    };
    for name in DEFAULT_NAMESPACES {
        if !listed(name) {
            store
                .create(
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
                )
                .map_err(|status| SimError::Start(status.message))?;
        }
    }
    // kube-apiserver creates the default ServiceCIDR from --service-cluster-ip-range.
    if !scenario.objects.iter().any(|o| o["kind"] == "ServiceCIDR") {
        store
            .create_as("kube-apiserver", default_service_cidr(&store.now_string()))
            .map_err(|status| SimError::Start(status.message))?;
    }
    let rank = |o: &Value| match o["kind"].as_str() {
        Some("Namespace") => 0,
        Some("CustomResourceDefinition") => 1,
        _ => 2,
    };
    let mut ordered: Vec<(usize, &Value)> = scenario.objects.iter().enumerate().collect();
    ordered.sort_by_key(|(i, o)| (rank(o), *i));
    for (index, object) in ordered {
        let checked = match object["kind"].as_str() {
            Some("CustomResourceDefinition") => crd_rules::check(object, None),
            _ => Ok(()),
        };
        checked
            .and_then(|()| store.create(object.clone()))
            .map_err(|status| SimError::ScenarioObject {
                index,
                what: format!(
                    "{} {}",
                    object["kind"].as_str().unwrap_or_default(),
                    object
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ),
                message: status.message,
            })?;
    }
    // The controller manager had given every namespace its `default` ServiceAccount.
    for ns in store.list("v1", "Namespace", None) {
        if ns.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let ns = ns
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if store
            .get("v1", "ServiceAccount", Some(ns), "default")
            .is_none()
        {
            store
                .create(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "default", "namespace": ns}}))
                .map_err(|status| SimError::Start(status.message))?;
        }
    }
    Ok(())
}

fn start(builder: SimBuilder) -> Result<SimHandle, SimError> {
    let SimBuilder {
        scenario,
        hooks,
        controllers,
        port,
    } = builder;
    let store = Store::new(scenario.settings.clone());
    load_objects(&store, &scenario)?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| SimError::Start(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| SimError::Start(e.to_string()))?;
    let address = listener
        .local_addr()
        .map_err(|e| SimError::Start(e.to_string()))?;
    let tls = tls::generate()?;
    let control = Arc::new(Control::default());
    let controllers = Arc::new(Controllers::new(controllers));
    controllers.boot(&store);
    let (major, minor) = scenario.version_parts();
    let server = Arc::new(http::Server {
        store: store.clone(),
        control: control.clone(),
        controllers: controllers.clone(),
        hooks,
        tokens: http::identities(&scenario),
        git_version: scenario.server_version.clone(),
        major,
        minor,
        address: address.to_string(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("kube-sim")
        .build()
        .map_err(|e| SimError::Start(format!("cannot start the runtime: {e}")))?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel();
    let acceptor = tls.acceptor;
    let loop_store = store.clone();
    let loop_controllers = controllers.clone();
    let thread = std::thread::Builder::new()
        .name("kube-sim".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("kube-sim: cannot listen: {e}");
                        return;
                    }
                };
                tokio::spawn(controller_loop(loop_store, loop_controllers));
                http::serve(server, listener, acceptor, shutdown_rx).await;
            });
            runtime.shutdown_background();
        })
        .map_err(|e| SimError::Start(format!("cannot start the server thread: {e}")))?;
    Ok(SimHandle {
        url: format!("https://{address}"),
        ca_pem: tls.ca_pem,
        store,
        control,
        controllers,
        scenario,
        shutdown: Some(shutdown_tx),
        thread: Some(thread),
    })
}

/// Runs the controllers after every write and when one asked to be woken (simulated time),
/// with a slow tick as a safety net.
async fn controller_loop(store: Store, controllers: Arc<Controllers>) {
    let mut wait = Duration::from_millis(500);
    loop {
        tokio::select! {
            _ = store.shared().changed.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
        if controllers.is_paused() {
            wait = Duration::from_millis(500);
            continue;
        }
        let (s, c) = (store.clone(), controllers.clone());
        let wakeup = tokio::task::spawn_blocking(move || c.settle(&s, false))
            .await
            .ok()
            .flatten();
        wait = wakeup
            .and_then(|at| {
                let left = store.now().duration_until(at);
                Duration::try_from(left).ok()
            })
            .map(|d| d.clamp(Duration::from_millis(5), Duration::from_millis(500)))
            .unwrap_or(Duration::from_millis(500));
    }
}

pub(crate) fn pause(store: &Store, controllers: &Controllers) {
    controllers.set_paused(true);
    store.shared().clock.pause();
}

pub(crate) fn resume(store: &Store, controllers: &Controllers) {
    store.shared().clock.resume();
    controllers.set_paused(false);
    store.shared().changed.notify_one();
}

pub(crate) fn advance(store: &Store, controllers: &Controllers, by: Duration) {
    store.shared().clock.advance(by);
    controllers.settle(store, true);
}

impl SimHandle {
    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The PEM certificate of the CA that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The store, for in-process assertions and controller-style writes.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A kubeconfig whose current context talks to this server as `user` (its bearer token;
    /// a user the scenario does not define gets a token the server rejects with 401).
    pub fn kubeconfig_yaml(&self, user: &str) -> String {
        let token = self.scenario.token_of(user);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\ncontexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: {user}\ncurrent-context: kube-sim\nusers:\n- name: {user}\n  user:\n    token: {token}\n",
            url = self.url,
            ca = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &self.ca_pem),
            user = json!(user),
            token = json!(token),
        )
    }

    pub fn write_kubeconfig(&self, path: &Path, user: &str) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml(user))
    }

    /// Every request served so far (control endpoints excluded), oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.control.requests()
    }

    pub fn clear_requests(&self) {
        self.control.clear_requests();
    }

    pub fn inject(&self, fault: Fault) {
        self.control.inject(fault);
    }

    pub fn clear_faults(&self) {
        self.control.clear_faults();
    }

    /// The injected faults not used up yet: a fault leaves once its last matching request
    /// arrived, so an empty list after one `latency` fault means that request is being held.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.control.pending_faults()
    }

    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.store.get(api_version, kind, namespace, name)
    }

    /// Creates or replaces an object as a controller would (bumps the resourceVersion, emits
    /// watch events, no admission). Panics with the API error when the object is unusable,
    /// which in a test is the most useful outcome.
    pub fn apply_object(&self, obj: Value) -> Value {
        match self.store.upsert(obj) {
            Ok(stored) => stored,
            Err(status) => panic!("apply_object: {status}"),
        }
    }

    /// Switches settings while the server runs: `patch` is a JSON merge patch of the scenario's
    /// `settings:` map (`{"nodeFacts": {"w1": "..."}}` adds or replaces, `null` drops a key back
    /// to its default). The result is validated as a scenario's settings are; when it is invalid
    /// nothing changes. Returns the settings now in force. The simulated cluster uses them from
    /// its next pass on (at once: the switch wakes it).
    pub fn set_settings(&self, patch: Value) -> Result<Value, SimError> {
        patch_settings(&self.store, &patch)
    }

    /// The settings in force, as one JSON map.
    pub fn settings(&self) -> Value {
        settings_json(&self.store.settings())
    }

    pub fn pause(&self) {
        pause(&self.store, &self.controllers);
    }

    pub fn resume(&self) {
        resume(&self.store, &self.controllers);
    }

    pub fn advance(&self, by: Duration) {
        advance(&self.store, &self.controllers, by);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
