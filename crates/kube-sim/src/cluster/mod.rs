//! The simulated cluster behind the API: controllers and kubelets as pure functions from a
//! snapshot of objects ([`World`]) to the writes they would make ([`Action`]). The server applies
//! the actions through its store (so they bump resourceVersions and emit watch events) and calls
//! [`Cluster::reconcile`] again until nothing is left to do.
//!
//! What runs: the serviceaccount controller (`default` in every namespace, [`serviceaccounts`];
//! workload pods whose ServiceAccount is missing are refused as admission refuses them, with a
//! `FailedCreate` event), the garbage collector ([`gc`]: dependents of owners that are gone,
//! Foreground and Orphan deletion), DaemonSets (one pod per eligible node, rolling updates
//! within maxUnavailable / maxSurge), Deployments with ReplicaSets (rolling or Recreate), a scheduler (nodeSelector,
//! required node affinity, taints, cordons; `FailedScheduling` when nothing fits), kubelets
//! (Pending/ContainerCreating, then Running and Ready after `podReadyDelay`), EndpointSlices, and
//! a MetalLB stand-in once MetalLB's controller Deployment exists ([`metallb`]). Objects present
//! when a scenario loads come up at once, started at `bootTime`.
//!
//! Run-to-completion pods (`restartPolicy: Never`, [`completion`]) run briefly once started,
//! print their node's `nodeFacts` entry as their log and end Succeeded (exit 0) or Failed. A node
//! that is not Ready stands for a kubelet that is down: its new run-to-completion pods (and those
//! bound to a node that does not exist) stay Pending without any kubelet status or event, its log
//! requests are refused, and its deleted pods stay Terminating. On a Ready node the kubelet
//! removes a gracefully deleted pod once its containers have stopped (~100ms). Pods started
//! after boot get the kubelet's Normal events (Pulled, Created, Started); pods past their
//! `activeDeadlineSeconds` are killed (Failed, `DeadlineExceeded`). Containers whose
//! image is listed in `imagePullFailures` keep their pod Pending in ErrImagePull, then
//! ImagePullBackOff, with the kubelet's events ([`images`]). New pods without a controlling owner
//! on a node listed in `podAdmissionFailures` end Failed with the kubelet's admission reason
//! ([`rejection`]; workload pods are exempt: the simulated scheduler ignores resources, so their
//! controllers would recreate them there without end). As the kubelet's admission does, new
//! pods that do not tolerate a NoExecute taint of their node end Failed (`TaintToleration`);
//! NoSchedule taints and cordons only keep the scheduler away (pods bound with nodeName run).
//!
//! Scenario `settings` this module reads ([`ClusterSettings`]):
//!
//! ```yaml
//! settings:
//!   controllers: true                  # false: nothing moves
//!   podReadyDelay: 200ms               # Pending -> Running/Ready
//!   bootTime: "2026-11-20T08:05:00Z"   # start time of the scenario's pods (or bootAge: 1h)
//!   podsNeverReady: [metallb-system/controller, metallb-system/speaker@w2]
//!   nodeFacts:                         # log (and exit code) of restartPolicy: Never pods per node
//!     w1: "arp_ignore=1\n"             # verbatim log, exit code 0
//!     w2: { log: "...", exitCode: 3 }  # exit code != 0: phase Failed, reason Error
//!     "*": "..."                       # every other node (default: empty log, exit 0)
//!   hostEffects: true                  # default: the facts show kube-proxy's strictARP sysctls
//!                                      # and the speaker's port 7946 ([`host`]); false: verbatim
//!   imagePullFailures: [busybox:1.37, "mirror.local/busybox:1.37@w2"]   # image[@node], exact names
//!   missingHostPaths: ["/lib/modules@w1"]  # path[@node]: hostPath type Directory/File fails
//!                                          # (Pending, FailedMount warning; [`mounts`])
//!   podAdmissionFailures:              # new pods on these nodes (or "*") are rejected
//!     w1: OutOfcpu                     # or OutOfmemory, OutOfpods, OutOfephemeral-storage,
//!                                      # NodeAffinity, NodePorts (kubelet's message)
//!     w2: { reason: NodeShutdown, message: Pod was rejected as the node is shutting down. }
//!   metallb:
//!     webhookSettle: 300ms             # connection refused this long after endpoints appear
//!     webhookServing: true             # false: connection refused forever
//!     caBundleInjected: true           # false: no certificates, TLS errors once listening
//!     configInvalid: "..."             # ConfigurationStates Invalid with this errorSummary
//! ```
//!
//! Large clusters for benchmarks: [`generator`] (`generate:` in a scenario, `kube-sim --nodes`).

pub mod completion;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod gc;
pub mod generator;
pub mod host;
pub mod images;
pub mod meta;
pub mod metallb;
pub mod mounts;
pub mod pods;
pub mod rejection;
pub mod scheduling;
pub mod serviceaccounts;
pub mod settings;
pub mod world;

#[cfg(test)]
mod testutil;

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

pub use settings::{ClusterSettings, MetalLbSettings};
pub use world::{Action, WATCHED, World};

/// The simulated cluster's controllers and the little memory they keep between passes.
#[derive(Debug)]
pub struct Cluster {
    pub settings: ClusterSettings,
    /// True until [`Cluster::finish_boot`]: the scenario's workloads come up already running.
    booting: bool,
    /// When the kubelet first saw each pending pod (`namespace/name`).
    seen: HashMap<String, Timestamp>,
    /// The kubelet's timed steps of running and deleted pods.
    timers: HashMap<(String, completion::Step), Timestamp>,
    metallb: metallb::Memory,
    /// Pod creates refused for a missing ServiceAccount, already reported by an event.
    refused_creates: HashSet<String>,
    /// Which parts run here: all of them behind kube-sim's own API, or only those a bare
    /// control plane lacks ([`Parts::NodesAndMetalLb`], for [`crate::agent`]).
    parts: Parts,
}

/// The parts of a cluster the simulation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// Everything: the controllers and scheduler of kube-controller-manager and kube-scheduler,
    /// the kubelets, EndpointSlices and MetalLB (behind kube-sim's API).
    All,
    /// What a real control plane without nodes lacks: the kubelets (pod status, logs, events)
    /// and MetalLB's controller and speakers. The real kube-controller-manager and
    /// kube-scheduler run the workloads, schedule the pods and write EndpointSlices.
    NodesAndMetalLb,
}

impl Cluster {
    pub fn new(settings: ClusterSettings) -> Cluster {
        Cluster::with_parts(settings, Parts::All)
    }

    pub fn with_parts(settings: ClusterSettings, parts: Parts) -> Cluster {
        Cluster {
            settings,
            booting: true,
            seen: HashMap::new(),
            timers: HashMap::new(),
            metallb: metallb::Memory::default(),
            refused_creates: HashSet::new(),
            parts,
        }
    }

    /// Ends the boot phase: from now on new pods take `podReadyDelay` to run.
    pub fn finish_boot(&mut self) {
        self.booting = false;
    }

    pub fn is_booting(&self) -> bool {
        self.booting
    }

    /// One pass of every controller over `world` at time `now`.
    pub fn reconcile(&mut self, world: &World, now: Timestamp) -> Vec<Action> {
        if !self.settings.controllers {
            return Vec::new();
        }
        let mut actions = Vec::new();
        if self.parts == Parts::All {
            actions.extend(serviceaccounts::sync(world));
            actions.extend(daemonset::sync(world, now));
            actions.extend(deployment::sync(world, now));
            actions =
                serviceaccounts::admit_creates(world, actions, &mut self.refused_creates, now);
            actions.extend(pods::schedule(world, now));
        }
        let mut kubelet = pods::Kubelet {
            settings: &self.settings,
            now,
            booting: self.booting,
            seen: &mut self.seen,
            timers: &mut self.timers,
        };
        actions.extend(kubelet.sync(world));
        // While booting, EndpointSlices and MetalLB wait until the workloads have come up, so
        // they are written once in their final state rather than after every step of the boot
        // (thousands of writes fewer on a large cluster; nothing outside can see the steps).
        if self.booting && !actions.is_empty() {
            return actions;
        }
        if self.parts == Parts::All {
            actions.extend(endpoints::sync(world, now));
        }
        actions.extend(metallb::sync(
            world,
            now,
            &self.settings,
            &mut self.metallb,
            self.booting,
        ));
        actions
    }

    /// One pass of the garbage collector ([`gc`]) over every object of every kind (the other
    /// controllers read only [`WATCHED`] kinds); nothing when the real controller manager runs
    /// beside us or the controllers are off.
    pub fn collect_garbage(&self, objects: &[std::sync::Arc<serde_json::Value>]) -> Vec<Action> {
        if !self.settings.controllers || self.parts != Parts::All {
            return Vec::new();
        }
        gc::sync(objects)
    }

    /// When MetalLB's webhook Service got ready endpoints (shared with the admission hook, which
    /// refuses connections until the settle time has passed).
    pub fn webhook_since(&self) -> std::sync::Arc<std::sync::Mutex<Option<Timestamp>>> {
        self.metallb.webhook_since.clone()
    }

    /// When a pass is next due even if no object changes (a pending pod's delay runs out), so the
    /// wiring can sleep until then.
    pub fn next_wakeup(&mut self, now: Timestamp) -> Option<Timestamp> {
        let kubelet = pods::Kubelet {
            settings: &self.settings,
            now,
            booting: self.booting,
            seen: &mut self.seen,
            timers: &mut self.timers,
        };
        kubelet.next_due()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use jiff::SignedDuration;
    use serde_json::{Value, json};

    fn kube_proxy() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                  "spec": {"hostNetwork": true, "tolerations": [{"operator": "Exists"}],
                                           "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.36.0"}]}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}})
    }

    fn webhook_setup() -> Vec<Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "controller", "namespace": "metallb-system"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"component": "controller"}},
                         "template": {"metadata": {"labels": {"component": "controller"}},
                                      "spec": {"containers": [{"name": "controller", "image": "quay.io/metallb/controller:v0.16.1",
                                                               "ports": [{"name": "webhook-server", "containerPort": 9443}]}]}}}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metallb-webhook-service", "namespace": "metallb-system"},
                "spec": {"selector": {"component": "controller"}, "ports": [{"port": 443, "targetPort": 9443}]}}),
        ]
    }

    #[test]
    fn boot_brings_scenario_workloads_up_with_old_start_times() {
        let mut store = MemStore::new([three_nodes(), vec![kube_proxy()]].concat());
        let mut cluster = Cluster::new(ClusterSettings::default());
        assert!(store.settle(&mut cluster, now(), 20) < 20);
        let pods = store.pods("kube-proxy-");
        assert_eq!(pods.len(), 3);
        for pod in &pods {
            assert_eq!(pod["status"]["phase"], "Running");
            assert!(pods::is_ready(pod));
            assert_eq!(
                pod["status"]["startTime"], "2026-11-25T09:00:00Z",
                "boot age 1h"
            );
            assert_eq!(
                pod["status"]["podIP"], pod["status"]["hostIP"],
                "hostNetwork"
            );
        }
        let status = &store.find("DaemonSet", "kube-system", "kube-proxy")["status"];
        assert_eq!(status["numberReady"], 3);
        assert_eq!(status["updatedNumberScheduled"], 3);
    }

    /// At boot, EndpointSlices are written once, with the endpoints of the ready pods, after the
    /// workloads have come up (no empty slice updated later).
    #[test]
    fn boot_writes_endpoint_slices_once_in_their_final_state() {
        let mut store = MemStore::new([three_nodes(), webhook_setup()].concat());
        let mut cluster = Cluster::new(ClusterSettings::default());
        let mut slice_writes = 0;
        for _ in 0..20 {
            let actions = cluster.reconcile(&store.world(), now());
            if actions.is_empty() {
                break;
            }
            slice_writes += actions
                .iter()
                .filter(|a| a.object().is_some_and(|o| o["kind"] == "EndpointSlice"))
                .count();
            store.apply(actions, now());
        }
        assert_eq!(slice_writes, 1);
        let pod = store.pods("controller-")[0];
        let world = store.world();
        let ip = endpoints::ready_address(&world, "metallb-system", "metallb-webhook-service");
        assert_eq!(ip, pod["status"]["podIP"].as_str());
    }

    #[test]
    fn pods_wait_for_the_ready_delay_after_boot() {
        let (mut store, mut cluster) = booted(three_nodes(), ClusterSettings::default());
        store.apply(vec![Action::Create(kube_proxy())], now());
        store.settle(&mut cluster, now(), 20);
        let pods = store.pods("kube-proxy-");
        assert_eq!(pods.len(), 3);
        assert!(pods.iter().all(|p| p["status"]["phase"] == "Pending"));
        assert_eq!(
            pods[0]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        let due = cluster.next_wakeup(now()).expect("a pending pod is due");
        assert_eq!(due, now() + SignedDuration::from_millis(200));
        store.settle(&mut cluster, due, 20);
        let pods = store.pods("kube-proxy-");
        assert!(pods.iter().all(|p| pods::is_ready(p)));
        assert_eq!(
            pods[0]["status"]["containerStatuses"][0]["state"]["running"]["startedAt"],
            meta::rfc3339(due)
        );
        assert_eq!(
            store.find("DaemonSet", "kube-system", "kube-proxy")["status"]["numberAvailable"],
            3
        );
    }

    #[test]
    fn restart_replaces_every_pod_one_at_a_time_with_new_start_times() {
        let (mut store, mut cluster) = booted(
            [three_nodes(), vec![kube_proxy()]].concat(),
            ClusterSettings::default(),
        );
        let before: Vec<String> = store
            .pods("kube-proxy-")
            .iter()
            .map(|p| meta::name(p).to_string())
            .collect();
        let mut ds = store.find("DaemonSet", "kube-system", "kube-proxy").clone();
        meta::set_annotation(
            &mut ds["spec"]["template"],
            "kubectl.kubernetes.io/restartedAt",
            "2026-11-25T10:00:00Z",
        );
        store.apply(vec![Action::Update(ds)], now());
        let mut t = now();
        let mut max_missing = 0;
        for _ in 0..30 {
            store.settle(&mut cluster, t, 20);
            let ready = store
                .pods("kube-proxy-")
                .iter()
                .filter(|p| pods::is_ready(p))
                .count();
            max_missing = max_missing.max(3 - ready);
            t += SignedDuration::from_millis(250);
        }
        assert_eq!(max_missing, 1, "maxUnavailable 1");
        let after = store.pods("kube-proxy-");
        assert_eq!(after.len(), 3);
        assert!(
            after
                .iter()
                .all(|p| !before.contains(&meta::name(p).to_string()))
        );
        assert!(
            after
                .iter()
                .all(|p| p["status"]["startTime"].as_str().unwrap() >= "2026-11-25T10:00:00Z")
        );
        let ds = store.find("DaemonSet", "kube-system", "kube-proxy");
        assert_eq!(ds["status"]["observedGeneration"], 2);
        assert_eq!(ds["status"]["updatedNumberScheduled"], 3);
        assert_eq!(ds["status"]["numberAvailable"], 3);
    }

    #[test]
    fn never_ready_switch_keeps_webhook_endpoints_unready() {
        let settings = ClusterSettings {
            pods_never_ready: vec!["metallb-system/controller".into()],
            ..ClusterSettings::default()
        };
        let mut store = MemStore::new([three_nodes(), webhook_setup()].concat());
        let mut cluster = Cluster::new(settings);
        store.settle(&mut cluster, now(), 20);
        let pods = store.pods("controller-");
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0]["status"]["phase"], "Running");
        assert!(!pods::is_ready(pods[0]));
        assert_ne!(
            pods[0]["spec"]["nodeName"], "cp1",
            "the control plane taint is not tolerated"
        );
        assert!(
            endpoints::ready_address(&store.world(), "metallb-system", "metallb-webhook-service")
                .is_none()
        );
        let d = store.find("Deployment", "metallb-system", "controller");
        assert_eq!(d["status"]["conditions"][0]["status"], "False");
        assert_eq!(d["status"]["unavailableReplicas"], 1);
    }

    #[test]
    fn deployment_comes_up_with_ready_webhook_endpoints() {
        let mut store = MemStore::new([three_nodes(), webhook_setup()].concat());
        let mut cluster = Cluster::new(ClusterSettings::default());
        store.settle(&mut cluster, now(), 20);
        let d = store.find("Deployment", "metallb-system", "controller");
        assert_eq!(d["status"]["availableReplicas"], 1);
        assert_eq!(
            d["status"]["conditions"][1]["reason"],
            "NewReplicaSetAvailable"
        );
        assert_eq!(
            meta::annotation(d, "deployment.kubernetes.io/revision"),
            Some("1")
        );
        let pod = store.pods("controller-")[0];
        let world = store.world();
        let ip = endpoints::ready_address(&world, "metallb-system", "metallb-webhook-service");
        assert_eq!(ip, pod["status"]["podIP"].as_str());
    }

    #[test]
    fn unschedulable_pods_report_the_scheduler_message() {
        let mut nodes = three_nodes();
        for n in nodes.iter_mut().skip(1) {
            n["spec"]["unschedulable"] = json!(true);
        }
        let mut store = MemStore::new([nodes, webhook_setup()].concat());
        let mut cluster = Cluster::new(ClusterSettings::default());
        store.settle(&mut cluster, now(), 20);
        let pod = store.pods("controller-")[0];
        assert_eq!(pod["status"]["conditions"][0]["reason"], "Unschedulable");
        let events = events(&store);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(
            events[0].starts_with("FailedScheduling: 0/3 nodes are available"),
            "{events:?}"
        );
        assert!(
            pod["status"]["conditions"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("0/3 nodes are available")
        );
    }

    /// Every scenario under tests/fixtures/clusters parses, its settings are valid, and after boot
    /// every workload is fully rolled out with pods started at the scenario's boot time.
    #[test]
    fn scenario_fixtures_boot_to_ready_workloads() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            seen += 1;
            let name = path.display().to_string();
            let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let settings = ClusterSettings::from_settings(&doc["settings"])
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let boot = settings.boot_time(now());
            let objects = doc["objects"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: no objects"))
                .clone();
            let mut store = MemStore::new(objects);
            let mut cluster = Cluster::new(settings.clone());
            assert!(store.settle(&mut cluster, now(), 40) < 40, "{name} settles");
            for ds in store.objects.iter().filter(|o| o["kind"] == "DaemonSet") {
                let st = &ds["status"];
                let never = settings
                    .pods_never_ready
                    .iter()
                    .any(|e| e.starts_with(&format!("{}/{}", meta::namespace(ds), meta::name(ds))));
                assert!(
                    st["desiredNumberScheduled"].as_i64().unwrap() > 0,
                    "{name}: {} has nodes",
                    meta::name(ds)
                );
                if !never {
                    assert_eq!(
                        st["numberReady"],
                        st["desiredNumberScheduled"],
                        "{name}: {}",
                        meta::name(ds)
                    );
                }
            }
            for d in store.objects.iter().filter(|o| o["kind"] == "Deployment") {
                let never = settings
                    .pods_never_ready
                    .iter()
                    .any(|e| e.starts_with(&format!("{}/{}", meta::namespace(d), meta::name(d))));
                if !never {
                    // The API server defaults an absent spec.replicas to 1.
                    assert_eq!(
                        d["status"]["availableReplicas"],
                        d["spec"]["replicas"].as_i64().unwrap_or(1),
                        "{name}: {}",
                        meta::name(d)
                    );
                }
            }
            for pod in store.objects.iter().filter(|o| o["kind"] == "Pod") {
                assert_eq!(
                    pod["status"]["startTime"],
                    meta::rfc3339(boot),
                    "{name}: {}",
                    meta::name(pod)
                );
            }
        }
        assert!(seen >= 7, "fixtures found in {}", dir.display());
    }
}
