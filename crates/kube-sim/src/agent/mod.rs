//! The agent: kube-sim's nodes and MetalLB beside a real API server, as its client (the way KWOK
//! simulates nodes for a real control plane). A real kube-apiserver, kube-controller-manager and
//! kube-scheduler run the workloads; nothing runs their pods. The agent plays exactly the parts
//! they lack, with the same pure code kube-sim runs behind its own API
//! ([`crate::cluster::Cluster`] with [`Parts::NodesAndMetalLb`]):
//!
//! - the kubelets: pod status (Pending, Running, Ready; run-to-completion pods print their node's
//!   facts and end), the kubelet's events, the final delete of stopped pods, node addresses and
//!   `daemonEndpoints`; each node's kubelet serves `/containerLogs` over HTTPS at a loopback
//!   address of this machine, reported as the node's `Hostname` address (start the API server
//!   with `--kubelet-preferred-address-types=Hostname,InternalIP`; InternalIPs stay as the
//!   scenario has them). Pods get addresses in the agent's pod network, a network namespace of
//!   its own joined by a veth pair ([`netns`]: the API server refuses loopback endpoints).
//! - the node lifecycle controller's one step that matters here: a Ready node loses the
//!   `node.kubernetes.io/not-ready` taint admission put on it.
//! - MetalLB's controller and speakers: certificates and CA injection, IP allocation,
//!   ServiceL2Status, ConfigurationState, pool status, and the webhook server itself, listening
//!   at the controller pod's address (the API server calls webhooks at their Service's endpoint
//!   with `--enable-aggregator-routing=true`).
//!
//! [`Agent::start`] runs it on its own thread and runtime; dropping the [`Agent`] stops it.

mod cache;
pub mod load;
mod netns;
mod servers;
mod writer;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::Scenario;
use crate::cluster::metallb::certs::WebhookCerts;
use crate::cluster::metallb::find_install;
use crate::cluster::pods::loopback_kubelet;
use crate::cluster::{
    Action, Cluster, ClusterSettings, Parts, WATCHED, World, endpoints, meta, scheduling,
};
use cache::Cache;
use netns::PodNetwork;
pub use netns::pod_subnet;
pub use writer::WriteError;
use writer::Writer;

/// The port every simulated kubelet serves at (its own loopback address).
pub const KUBELET_PORT: u16 = 10250;
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";

/// A running agent; dropping it stops it (its servers close, its watches end).
pub struct Agent {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    finish_boot: AtomicBool,
    /// Passes that wrote nothing in a row.
    idle_passes: AtomicU64,
    /// Passes completed (counted after `idle_passes` is updated).
    passes: AtomicU64,
    /// The last write that failed for another reason than a conflict (for error messages).
    last_error: std::sync::Mutex<Option<String>>,
    world: std::sync::Mutex<World>,
}

/// Why the agent could not start or load its scenario.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("agent: {0}")]
    Start(String),
    #[error("agent: {0}")]
    Load(String),
    #[error("agent: the scenario did not settle within {0:?}: {1}")]
    Settle(Duration, String),
}

impl Agent {
    /// Loads `scenario` (objects and its users' RBAC) into the API server `config` points at,
    /// then plays its nodes and MetalLB with the scenario's settings, and returns once the
    /// scenario's workloads have come up (as kube-sim's boot does: their pods start at once).
    pub fn start(config: kube::Config, scenario: &Scenario) -> Result<Agent, AgentError> {
        let mut settings = crate::cluster_settings(&scenario.settings)
            .map_err(|e| AgentError::Start(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| AgentError::Start(e.to_string()))?;
        // The users' RBAC goes after the objects (a Role may be in a namespace the scenario
        // creates); a Role in a namespace nobody made yet waits for it ([`load::grant`]).
        let objects = scenario.objects.clone();
        let mut rbac = Vec::new();
        for (name, user) in &scenario.users {
            rbac.extend(load::rbac_objects(name, &user.rules));
        }
        let shared = Arc::new(Shared::default());
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kube-sim-agent".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let setup = async {
                        let client = kube::Client::try_from(config)
                            .map_err(|e| AgentError::Start(e.to_string()))?;
                        let cache = Arc::new(Cache::default());
                        let writer = Writer::new(client.clone(), cache.clone());
                        load::load(&writer, &objects)
                            .await
                            .map_err(|e| AgentError::Load(e.to_string()))?;
                        let pending = load::grant(&writer, rbac)
                            .await
                            .map_err(|e| AgentError::Load(e.to_string()))?;
                        let network = claim_loopback_network().await?;
                        Ok::<_, AgentError>((client, cache, writer, network, pending))
                    };
                    match setup.await {
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                        }
                        Ok((client, cache, writer, network, pending)) => {
                            // The real server stamps objects with the time they are loaded: the
                            // scenario's pods start after the last of them (in a later second:
                            // API times have whole seconds), not at a boot time in the past, nor
                            // while loading goes on (their configuration would look newer).
                            settings.boot_time = Some(
                                Timestamp::from_second(Timestamp::now().as_second() + 1)
                                    .unwrap_or_else(|_| Timestamp::now()),
                            );
                            let _ = started_tx.send(Ok(()));
                            let run = run(
                                client,
                                cache,
                                writer,
                                network,
                                settings,
                                thread_shared,
                                pending,
                            );
                            tokio::select! {
                                _ = run => {}
                                _ = stop_rx => {}
                            }
                        }
                    }
                });
            })
            .map_err(|e| AgentError::Start(e.to_string()))?;
        let mut agent = Agent {
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        started_rx
            .recv()
            .map_err(|_| AgentError::Start("the agent's thread ended".into()))??;
        agent.wait_settled(Duration::from_secs(60))?;
        agent.shared.finish_boot.store(true, Ordering::SeqCst);
        Ok(agent)
    }

    /// Waits until the workloads have all their pods running (or as far as the scenario lets
    /// them) and a pass of the agent found nothing to do.
    fn wait_settled(&mut self, timeout: Duration) -> Result<(), AgentError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let world = self
                .shared
                .world
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let unsettled = unsettled(&world);
            if unsettled.is_none() && self.shared.idle_passes.load(Ordering::SeqCst) >= 2 {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                let last = self
                    .shared
                    .last_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let why = unsettled.unwrap_or_else(|| "the agent kept writing".into());
                let why = match last {
                    Some(e) => format!("{why} (last failed write: {e})"),
                    None => why,
                };
                return Err(AgentError::Settle(timeout, why));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the agent has caught up: two whole passes that began after this call wrote
    /// nothing, so what it does in answer to the cluster as it is now has been written (a test
    /// that saw one of those writes may read the others). False when `timeout` passed first.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let start = self.shared.passes.load(Ordering::SeqCst);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.shared.passes.load(Ordering::SeqCst) >= start + 3
                && self.shared.idle_passes.load(Ordering::SeqCst) >= 2
            {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A client configuration from a kubeconfig file (its current context).
pub fn config_from_file(path: &std::path::Path) -> Result<kube::Config, AgentError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| AgentError::Start(format!("kubeconfig {}: {e}", path.display())))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AgentError::Start(e.to_string()))?;
    runtime
        .block_on(kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &Default::default(),
        ))
        .map_err(|e| AgentError::Start(format!("kubeconfig {}: {e}", path.display())))
}

/// What keeps the scenario from having settled: a workload whose pods are not all there and
/// started, or a bound pod its kubelet has not started yet.
fn unsettled(world: &World) -> Option<String> {
    for ds in world.list("DaemonSet") {
        let st = &ds["status"];
        let desired = st["desiredNumberScheduled"].as_i64().unwrap_or(-1);
        if st["observedGeneration"].as_i64() != Some(meta::generation(ds))
            || st["currentNumberScheduled"].as_i64() != Some(desired)
            || st["updatedNumberScheduled"].as_i64().unwrap_or(0) != desired
        {
            return Some(format!(
                "DaemonSet {}/{} is rolling out",
                meta::namespace(ds),
                meta::name(ds)
            ));
        }
    }
    for d in world.list("Deployment") {
        let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let st = &d["status"];
        if st["observedGeneration"].as_i64() != Some(meta::generation(d))
            || st["updatedReplicas"].as_i64().unwrap_or(0) != want
        {
            return Some(format!(
                "Deployment {}/{} is rolling out",
                meta::namespace(d),
                meta::name(d)
            ));
        }
    }
    world
        .list("Pod")
        .iter()
        .find(|p| {
            !meta::str_at(p, &["spec", "nodeName"]).is_empty()
                && p.pointer("/status/startTime").is_none()
        })
        .map(|p| {
            format!(
                "pod {}/{} has not started",
                meta::namespace(p),
                meta::name(p)
            )
        })
}

/// This agent's number R: its kubelets at `127.R.0.N`, its pods in `198.18.R.0/24`. Claimed by
/// holding `127.R.255.254:10250` open, so agents running at the same time (tests in parallel)
/// never share addresses.
struct Network {
    r: u8,
    _claim: tokio::net::TcpListener,
    pods: PodNetwork,
}

async fn claim_loopback_network() -> Result<Network, AgentError> {
    for _ in 0..64 {
        let r = fastrand::u8(1..=254);
        let claim = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, r, 255, 254)), KUBELET_PORT);
        if let Ok(listener) = tokio::net::TcpListener::bind(claim).await {
            let pods = PodNetwork::create(r)
                .map_err(|e| {
                    AgentError::Start(format!(
                        "cannot make the pod network (a network namespace and a veth: it needs root and iproute2's `ip`): {e}"
                    ))
                })?;
            return Ok(Network {
                r,
                _claim: listener,
                pods,
            });
        }
    }
    Err(AgentError::Start(
        "no free part of 127.0.0.0/8 for the nodes".into(),
    ))
}

/// The servers the agent runs, by address.
#[derive(Default)]
struct Servers {
    kubelets: HashMap<Ipv4Addr, JoinHandle<()>>,
    /// The webhook's address and the certificate it serves.
    webhook: Option<(SocketAddr, String, JoinHandle<()>)>,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    client: kube::Client,
    cache: Arc<Cache>,
    writer: Writer,
    network: Network,
    settings: ClusterSettings,
    shared: Arc<Shared>,
    mut pending_grants: Vec<Value>,
) {
    let synced = Arc::new(tokio::sync::Notify::new());
    // Namespaces are among them: the users' rights in a namespace that does not exist yet are
    // granted when it appears (as a Role there would be, the moment an admin could create one).
    let mut watches: Vec<JoinHandle<()>> = WATCHED
        .iter()
        .map(|(api_version, kind)| {
            tokio::spawn(cache::watch(
                client.clone(),
                api_version,
                kind,
                cache.clone(),
                synced.clone(),
            ))
        })
        .collect();
    // The first pass waits for the first lists (a second at most: CRD kinds may not exist yet).
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        for _ in 0..WATCHED.len() {
            synced.notified().await;
        }
    })
    .await;
    let mut cluster = Cluster::with_parts(settings, Parts::NodesAndMetalLb);
    let mut servers = Servers::default();
    loop {
        if shared.finish_boot.load(Ordering::SeqCst) && cluster.is_booting() {
            cluster.finish_boot();
        }
        if !pending_grants.is_empty() {
            let ready: Vec<Value> = pending_grants
                .extract_if(.., |o| {
                    cache.get("Namespace", "", meta::namespace(o)).is_some()
                })
                .collect();
            if !ready.is_empty() {
                pending_grants.extend(load::grant(&writer, ready).await.unwrap_or_default());
            }
        }
        let now = Timestamp::now();
        let world = cache.world();
        let mut actions = kubelet_registration(&world, network.r);
        actions.extend(cluster.reconcile(&world, now));
        // A pass that changed nothing is idle, also when the writes it wanted failed (a kind
        // that is not served: MetalLB's controller without its CRDs retries without end).
        let mut wrote = false;
        for action in actions {
            match writer.perform(action).await {
                Ok(()) => wrote = true,
                Err(e)
                    if matches!(
                        e.1.as_deref(),
                        Some("Conflict" | "NotFound" | "AlreadyExists")
                    ) => {}
                Err(e) => {
                    *shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(e.to_string());
                }
            }
        }
        serve_kubelets(&world, &cache, &writer, &mut servers).await;
        serve_webhook(&world, &cluster, &cache, &network.pods, &mut servers, now);
        *shared.world.lock().unwrap_or_else(|e| e.into_inner()) = world;
        if wrote {
            shared.idle_passes.store(0, Ordering::SeqCst);
        } else {
            shared.idle_passes.fetch_add(1, Ordering::SeqCst);
        }
        shared.passes.fetch_add(1, Ordering::SeqCst);
        let wake = cluster
            .next_wakeup(now)
            .map(|t| t.duration_since(now))
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(Duration::from_millis(500))
            .min(Duration::from_millis(500));
        tokio::select! {
            _ = cache.changed.notified() => {}
            _ = tokio::time::sleep(wake) => {}
        }
        // Let a burst of watch events land before the next pass.
        tokio::time::sleep(Duration::from_millis(20)).await;
        watches.retain(|w| !w.is_finished());
    }
}

/// The kubelet's registration: its node's `Hostname` address at this agent's loopback address
/// for it and the port it serves at; and a Ready node without the not-ready taint.
fn kubelet_registration(world: &World, r: u8) -> Vec<Action> {
    let ours = |ip: Ipv4Addr| ip.octets()[1] == r && ip.octets()[2] == 0;
    let mut used: HashSet<u8> = world
        .list("Node")
        .iter()
        .filter_map(loopback_kubelet)
        .filter(|ip| ours(*ip))
        .map(|ip| ip.octets()[3])
        .collect();
    let mut actions = Vec::new();
    for node in world.list("Node") {
        let registered = loopback_kubelet(node).is_some_and(ours)
            && node
                .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
                .and_then(Value::as_u64)
                == Some(u64::from(KUBELET_PORT));
        if !registered {
            let Some(n) = (1..=250u8).find(|n| !used.contains(n)) else {
                continue;
            };
            used.insert(n);
            let mut updated = node.clone();
            let mut addresses: Vec<Value> = node
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|a| meta::str_at(a, &["type"]) != "Hostname")
                .cloned()
                .collect();
            addresses.push(
                json!({"type": "Hostname", "address": Ipv4Addr::new(127, r, 0, n).to_string()}),
            );
            updated["status"]["addresses"] = json!(addresses);
            updated["status"]["daemonEndpoints"] =
                json!({"kubeletEndpoint": {"Port": KUBELET_PORT}});
            actions.push(Action::UpdateStatus(updated));
            continue;
        }
        let tainted = node
            .pointer("/spec/taints")
            .and_then(Value::as_array)
            .is_some_and(|ts| {
                ts.iter()
                    .any(|t| meta::str_at(t, &["key"]) == NOT_READY_TAINT)
            });
        if tainted && scheduling::node_is_ready(node) {
            let mut updated = node.clone();
            if let Some(taints) = updated
                .pointer_mut("/spec/taints")
                .and_then(Value::as_array_mut)
            {
                taints.retain(|t| meta::str_at(t, &["key"]) != NOT_READY_TAINT);
            }
            actions.push(Action::Update(updated));
        }
    }
    actions
}

/// A kubelet server for every Ready node at its loopback address; a node that is not Ready has
/// none (its kubelet is down: the API server's calls are refused).
async fn serve_kubelets(world: &World, cache: &Arc<Cache>, writer: &Writer, servers: &mut Servers) {
    let wanted: HashSet<Ipv4Addr> = world
        .list("Node")
        .iter()
        .filter(|n| scheduling::node_is_ready(n))
        .filter_map(loopback_kubelet)
        .collect();
    servers.kubelets.retain(|ip, task| {
        let keep = wanted.contains(ip) && !task.is_finished();
        if !keep {
            task.abort();
        }
        keep
    });
    for ip in wanted {
        if servers.kubelets.contains_key(&ip) {
            continue;
        }
        let addr = SocketAddr::new(IpAddr::V4(ip), KUBELET_PORT);
        let (Some(listener), Ok(tls)) = (
            servers::bind(addr).await,
            servers::self_signed(IpAddr::V4(ip)),
        ) else {
            continue;
        };
        let handler = servers::kubelet_logs(cache.clone(), writer.logs.clone());
        servers
            .kubelets
            .insert(ip, servers::serve(listener, tls, handler));
    }
}

/// MetalLB's webhook server, listening once the controller's webhook endpoint is ready and the
/// settle time has passed (unless the scenario says it never serves), with the certificate the
/// controller wrote into `metallb-webhook-cert` (before that, one of a CA the API server does not
/// know: it then fails to verify it, as it does while the CA is not injected).
fn serve_webhook(
    world: &World,
    cluster: &Cluster,
    cache: &Arc<Cache>,
    pods: &PodNetwork,
    servers: &mut Servers,
    now: Timestamp,
) {
    let wanted = find_install(world).and_then(|install| {
        let ns = install.namespace;
        let service = "metallb-webhook-service";
        let ip: Ipv4Addr = endpoints::ready_address(world, ns, service)?.parse().ok()?;
        if !cluster.settings.metallb.webhook_serving {
            return None;
        }
        let since = (*cluster
            .webhook_since()
            .lock()
            .unwrap_or_else(|e| e.into_inner()))?;
        let settle =
            SignedDuration::try_from(cluster.settings.metallb.webhook_settle).unwrap_or_default();
        if since + settle > now {
            return None;
        }
        let port = world
            .in_namespace("EndpointSlice", ns)
            .filter(|s| meta::label(s, "kubernetes.io/service-name") == Some(service))
            .find_map(|s| s.pointer("/ports/0/port").and_then(Value::as_u64))
            .and_then(|p| u16::try_from(p).ok())?;
        let secret = world.get("Secret", ns, "metallb-webhook-cert");
        let pem = |key: &str| {
            secret
                .and_then(|s| s.get("data"))
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .and_then(|b| {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.decode(b).ok()
                })
                .and_then(|b| String::from_utf8(b).ok())
        };
        let cert = pem("tls.crt").zip(pem("tls.key"));
        Some((SocketAddr::new(IpAddr::V4(ip), port), ns.to_string(), cert))
    });
    let current = servers
        .webhook
        .as_ref()
        .map(|(addr, cert, _)| (*addr, cert.clone()));
    let want_key = wanted.as_ref().map(|(addr, _, cert)| {
        (
            *addr,
            cert.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
        )
    });
    if current == want_key {
        return;
    }
    if let Some((_, _, task)) = servers.webhook.take() {
        task.abort();
    }
    let Some((addr, ns, cert)) = wanted else {
        return;
    };
    // Before the controller wrote its certificate, one as MetalLB's makes (the Service's DNS
    // name, its own CA) that the API server cannot trust: x509 "signed by unknown authority".
    let tls = match &cert {
        Some((crt, key)) => servers::tls_config(crt, key),
        None => WebhookCerts::generate("metallb-webhook-service", &ns)
            .map_err(|e| e.to_string())
            .and_then(|c| servers::tls_config(&c.tls_crt, &c.tls_key)),
    };
    let listener = pods
        .listen(addr)
        .and_then(|l| tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string()));
    let (Ok(listener), Ok(tls)) = (listener, tls) else {
        return;
    };
    let handler = servers::metallb_webhook(cache.clone(), ns);
    let key = cert.map(|c| c.0).unwrap_or_default();
    servers.webhook = Some((addr, key, servers::serve(listener, tls, handler)));
}
