//! `--nodes`: the node facts of cluster nodes, read by one short-lived pod per node
//! (docs/node-checks.md). The plan (selector, matching nodes, permissions) is settled before
//! anything is created; pods then run in parallel up to the concurrency limit, each watched
//! until it ends or its timeout passes, and each is deleted afterwards, also on Ctrl-C.
//! Pods left by an earlier run that was killed are removed first.

pub mod pod;
pub mod selector;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};

use super::NodeState;
use crate::kube::ClusterTarget;
use crate::kube::access::{self, Permission};
use crate::kube::errors::{Request, api_error};
use crate::net::dump::NodeDump;
use crate::net::node::NodeNetFacts;
use crate::{Error, Result};
pub use selector::NodeSelection;

/// How `--nodes` runs, from the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub selection: NodeSelection,
    pub image: String,
    pub namespace: String,
    pub timeout: Duration,
    pub concurrency: usize,
}

impl Settings {
    /// The settings of `--nodes SELECTION`; a usage error (exit 2) for a bad selector or a
    /// zero timeout.
    pub fn new(
        selection: &str,
        image: String,
        namespace: String,
        timeout: Duration,
        concurrency: u16,
    ) -> Result<Settings> {
        if timeout.is_zero() {
            return Err(Error::usage_with_hint(
                "--node-timeout must be longer than 0",
                "give the pods time for the image pull, e.g. --node-timeout 60s",
            ));
        }
        Ok(Settings {
            selection: NodeSelection::parse(selection)?,
            image,
            namespace,
            timeout,
            concurrency: usize::from(concurrency.max(1)),
        })
    }
}

/// The selected nodes: those to check, and those not checked because they are not Ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedNodes {
    pub check: Vec<String>,
    /// Node name and why it is skipped.
    pub not_ready: Vec<(String, String)>,
}

/// What the node-check pods need in their namespace: the `--nodes` part of preflight's and
/// doctor's lists (`crate::permissions`; docs/permissions.md has the Role).
pub fn permissions(namespace: &str) -> Vec<Permission> {
    crate::permissions::node_checks_required(&crate::permissions::Namespaces {
        nodes: namespace.to_string(),
        ..Default::default()
    })
}

/// Lists the selected nodes and checks the permissions; nothing is created. No matching node
/// is a usage error (exit 2), a missing permission exit 3.
pub async fn plan(target: &ClusterTarget, settings: &Settings) -> Result<SelectedNodes> {
    let api: Api<Node> = Api::all(target.client.clone());
    let mut params = ListParams::default();
    if let Some(selector) = settings.selection.label_selector() {
        params = params.labels(selector);
    }
    let nodes = api.list(&params).await.map_err(|e| match e {
        kube::Error::Api(status) if status.code == 400 => Error::usage_with_hint(
            format!(
                "--nodes {}: the API server rejects the selector: {}",
                settings.selection, status.message
            ),
            "use --nodes all, or a label selector as kubectl get nodes -l accepts it",
        ),
        e => api_error(
            e,
            Request {
                verb: "list",
                resource: "nodes",
                namespace: None,
            },
            &target.server,
            &target.context,
        ),
    })?;
    if nodes.items.is_empty() {
        return Err(Error::usage_with_hint(
            format!("--nodes {}: no node matches", settings.selection),
            "list the nodes and their labels with `kubectl get nodes --show-labels`",
        ));
    }
    access::require(target, &permissions(&settings.namespace)).await?;
    // A namespace that is missing or visibly rejects privileged pods fails every pod alike:
    // say so once, before creating any. Not being allowed to read it is no reason to stop.
    let namespaces: Api<Namespace> = Api::all(target.client.clone());
    if let Ok(found) = namespaces.get_opt(&settings.namespace).await {
        namespace_problem(&settings.namespace, found.as_ref())?;
    }
    Ok(split_ready(&nodes.items))
}

/// `--node-namespace` must exist and must not enforce a Pod Security level below privileged
/// (hostNetwork and hostPath need it); a usage error otherwise.
pub fn namespace_problem(name: &str, namespace: Option<&Namespace>) -> Result<()> {
    let hint = format!(
        "choose a namespace that allows privileged pods with --node-namespace, or create one: kubectl create namespace {name} && kubectl label namespace {name} pod-security.kubernetes.io/enforce=privileged"
    );
    let Some(ns) = namespace else {
        return Err(Error::usage_with_hint(
            format!("--node-namespace {name}: the namespace does not exist"),
            hint,
        ));
    };
    let level = ns
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-security.kubernetes.io/enforce"));
    match level.map(String::as_str) {
        Some(level @ ("baseline" | "restricted")) => Err(Error::usage_with_hint(
            format!(
                "--node-namespace {name} enforces Pod Security level {level}, which rejects the node-check pods (hostNetwork, hostPath)"
            ),
            hint,
        )),
        _ => Ok(()),
    }
}

/// Ready nodes are checked; the others are reported with their Ready condition.
pub fn split_ready(nodes: &[Node]) -> SelectedNodes {
    let mut plan = SelectedNodes {
        check: Vec::new(),
        not_ready: Vec::new(),
    };
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        match crate::k8s_status::node::ready_condition(node) {
            Some(c) if c.status == "True" => plan.check.push(name),
            Some(c) => {
                let why = [c.reason.as_deref(), c.message.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                plan.not_ready.push((
                    name,
                    format!("the node is not Ready (Ready={}; {why})", c.status),
                ))
            }
            None => plan
                .not_ready
                .push((name, "the node reports no Ready condition".into())),
        }
    }
    plan
}

/// Plans (nodes, permissions, namespace), then reads every selected node through its pod: the
/// whole of `--nodes` for a command that runs checks.
pub async fn plan_and_read(
    target: &ClusterTarget,
    settings: &Settings,
) -> Result<Vec<(String, NodeState)>> {
    let plan = crate::verbose::timed(
        "planning the node checks (nodes, permissions, namespace)",
        plan(target, settings),
    )
    .await?;
    crate::verbose::say(1, || {
        format!(
            "node checks: {} Ready node(s) get a pod, {} not Ready",
            plan.check.len(),
            plan.not_ready.len()
        )
    });
    // Pods can take a while (image pulls): say what is happening on a terminal.
    if std::io::IsTerminal::is_terminal(&std::io::stderr())
        && crate::progress::show(crate::progress::Line::Progress)
    {
        eprintln!(
            "checking {} node(s) through pods in namespace {} ({}, up to {} at a time)...",
            plan.check.len(),
            settings.namespace,
            settings.image,
            settings.concurrency
        );
    }
    crate::verbose::timed("running the node-check pods", read(target, &plan, settings)).await
}

/// Runs the pods of the plan and returns every selected node's state, by node name.
pub async fn read(
    target: &ClusterTarget,
    plan: &SelectedNodes,
    settings: &Settings,
) -> Result<Vec<(String, NodeState)>> {
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), &settings.namespace);
    remove_leftovers(target, &pods, settings).await?;
    let run: String = (0..10)
        .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
        .collect();
    // Taken before any pod exists: from here a stop signal (Ctrl-C, SIGTERM, SIGHUP) waits for the pods to be deleted.
    let mut cleanup = crate::interrupt::cleanup_guard();
    let created: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let work = futures::stream::iter(plan.check.iter())
        .map(|node| {
            let (pods, run, created) = (&pods, &run, created.clone());
            async move {
                let state = check_node(target, pods, node, run, settings, &created).await;
                (node.clone(), state)
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect::<Vec<_>>();
    // `biased`: after an earlier stop signal no pod is started at all.
    let mut states = tokio::select! {
        biased;
        signal = cleanup.interrupted() => {
            let removed = delete_run(&pods, &run, &created).await;
            return Err(Error::Interrupted {
                signal,
                cleanup: Some(format!(
                    "deleted {removed} node-check pod(s) in namespace {}",
                    settings.namespace
                )),
                progress: None,
            });
        }
        states = work => states,
    };
    drop(cleanup);
    states.extend(plan.not_ready.iter().map(|(node, why)| {
        (
            node.clone(),
            NodeState::Unreadable {
                node: node.clone(),
                message: format!("{why}; no pod was started"),
                hint: format!("kubectl describe node {node}"),
            },
        )
    }));
    states.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(states)
}

/// How long to wait before creating a pod again while the namespace's ServiceAccount is missing.
const SERVICE_ACCOUNT_RETRY: Duration = Duration::from_millis(500);

/// How waiting for a pod ended (before the timeout).
enum End {
    Finished(Box<Pod>),
    /// It will never run (e.g. its image cannot be pulled): the reason.
    Hopeless(String),
    Gone,
}

async fn check_node(
    target: &ClusterTarget,
    pods: &Api<Pod>,
    node: &str,
    run: &str,
    settings: &Settings,
    created: &Mutex<BTreeSet<String>>,
) -> NodeState {
    let unreadable = |message: String, hint: String| NodeState::Unreadable {
        node: node.to_string(),
        message,
        hint,
    };
    let manifest = pod::manifest(node, run, &settings.image, settings.timeout);
    let start = std::time::Instant::now();
    let made = loop {
        let refusal =
            match crate::kube::erased::create(pods, &PostParams::default(), &manifest).await {
                Ok(p) => break p,
                // The API server's own words: a 403 here comes from admission (Pod Security, the
                // ServiceAccount), not from RBAC, which the plan checked.
                Err(kube::Error::Api(status)) => status.message,
                Err(e) => api_error(
                    e,
                    Request {
                        verb: "create",
                        resource: "pods",
                        namespace: Some(&settings.namespace),
                    },
                    &target.server,
                    &target.context,
                )
                .to_string(),
            };
        // A namespace created moments ago has no ServiceAccount `default` until the controller
        // manager makes it, and pods are refused until then.
        let missing_account = pod::service_account_missing(&refusal);
        if missing_account && start.elapsed() + SERVICE_ACCOUNT_RETRY < settings.timeout {
            crate::verbose::say(1, || format!("node {node}: {refusal}; retrying"));
            tokio::time::sleep(SERVICE_ACCOUNT_RETRY).await;
            continue;
        }
        let ns = &settings.namespace;
        let hint = if missing_account {
            format!(
                "kube-controller-manager creates the ServiceAccount default in every namespace: check that it runs, or create it: kubectl -n {ns} create serviceaccount default"
            )
        } else if refusal.contains("violates PodSecurity") {
            format!(
                "the namespace must allow privileged pods (hostNetwork, hostPath): label it pod-security.kubernetes.io/enforce=privileged, or choose another with --node-namespace (now {ns})"
            )
        } else {
            format!(
                "a policy or quota of namespace {ns} refuses the pod: choose another namespace with --node-namespace, or ask a cluster admin"
            )
        };
        return unreadable(format!("the node-check pod was refused: {refusal}"), hint);
    };
    let name = made.metadata.name.clone().unwrap_or_default();
    lock(created).insert(name.clone());
    let shown = format!("{}/{name}", settings.namespace);
    crate::verbose::say(1, || {
        format!("node {node}: pod {shown} created, waiting for it to end")
    });
    let state = match tokio::time::timeout(settings.timeout, wait_for_end(pods, &name)).await {
        Ok(Ok(End::Finished(p))) => collect(pods, &settings.namespace, &name, &p, node).await,
        Ok(Ok(End::Hopeless(reason))) => unreadable(
            format!("the node-check pod {shown} cannot start: {reason}"),
            format!(
                "the node cannot pull {}: mirror it and pass --node-image (any image with a POSIX sh)",
                settings.image
            ),
        ),
        Ok(Ok(End::Gone)) => unreadable(
            format!("the node-check pod {shown} was deleted before it finished"),
            "something else deletes pods in this namespace; run the check again".into(),
        ),
        Ok(Err(message)) => unreadable(
            format!("cannot watch the node-check pod {shown}: {message}"),
            format!(
                "check `{}`",
                crate::permissions::can_i("watch", "pods", Some(&settings.namespace))
            ),
        ),
        Err(_) => {
            let last = pod_now(pods, &name).await.map_err(|e| {
                let request = Request {
                    verb: "list",
                    resource: "pods",
                    namespace: Some(&settings.namespace),
                };
                api_error(e, request, &target.server, &target.context).to_string()
            });
            let events = events_of(pods, &settings.namespace, &name).await;
            let (why, hint) = pod::stuck_reason(
                last.as_ref().map(Option::as_ref).map_err(Clone::clone),
                &events,
                &settings.image,
                &settings.namespace,
            );
            unreadable(
                format!(
                    "no result within {} (pod {shown}): {why}",
                    crate::error::shown(settings.timeout)
                ),
                hint,
            )
        }
    };
    crate::verbose::step(
        &format!(
            "node {node}: pod {shown} {}",
            match &state {
                NodeState::Unreadable { .. } => "gave no result",
                _ => "read",
            }
        ),
        start.elapsed(),
    );
    if delete(pods, &name).await {
        lock(created).remove(&name);
    }
    state
}

/// Watches one pod until it finished, cannot run, or is gone.
async fn wait_for_end(pods: &Api<Pod>, name: &str) -> std::result::Result<End, String> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = crate::kube::erased::watch(pods, config)
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        match event.map_err(|e| e.to_string())? {
            watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                if pod::finished(&p) {
                    return Ok(End::Finished(Box::new(p)));
                }
                if let Some(reason) = pod::hopeless(&p) {
                    return Ok(End::Hopeless(reason));
                }
            }
            watcher::Event::Delete(_) => return Ok(End::Gone),
            watcher::Event::Init | watcher::Event::InitDone => {}
        }
    }
    Ok(End::Gone)
}

/// Reads the log of a finished pod and parses it.
async fn collect(pods: &Api<Pod>, ns: &str, name: &str, p: &Pod, node: &str) -> NodeState {
    let unreadable = |message: String, hint: &str| NodeState::Unreadable {
        node: node.to_string(),
        message,
        hint: hint.to_string(),
    };
    let can_i = |verb: &str, resource: &str| crate::permissions::can_i(verb, resource, Some(ns));
    if pod::deadline_exceeded(p) {
        return unreadable(
            format!(
                "the kubelet stopped the node-check pod {name} at its deadline (activeDeadlineSeconds) before the script finished"
            ),
            "the node may be overloaded; raise --node-timeout",
        );
    }
    if let Some(reason) = pod::rejected(p) {
        return unreadable(
            format!("the node refused the node-check pod {name}: {reason}"),
            "free resources on the node (kubectl describe node), or see the pod's events",
        );
    }
    let params = LogParams {
        container: Some(pod::CONTAINER.into()),
        ..LogParams::default()
    };
    let log = match pods.logs(name, &params).await {
        Ok(log) => log,
        Err(e) => {
            return unreadable(
                format!("cannot read the log of the node-check pod {name}: {e}"),
                &format!("check `{}`", can_i("get", "pods/log")),
            );
        }
    };
    if pod::phase(p) == "Failed" {
        let last = log.lines().rev().find(|l| !l.trim().is_empty());
        return unreadable(
            format!(
                "the node-check script failed (exit code {}){}",
                pod::exit_code(p).map_or("unknown".into(), |c| c.to_string()),
                last.map(|l| format!(": {l}")).unwrap_or_default()
            ),
            "the image must provide a POSIX sh; see docs/node-checks.md",
        );
    }
    match NodeDump::parse(&log) {
        Ok(dump) => NodeState::Remote {
            node: node.to_string(),
            facts: Box::new(NodeNetFacts::from_files(&dump)),
        },
        Err(e) => unreadable(
            format!("the output of the node-check pod {name} is not lbctl's node facts: {e}"),
            "the image must provide a POSIX sh; see docs/node-checks.md for the format",
        ),
    }
}

/// The pod as it is now, `None` when it is gone. Read with `list` by name, which the plan
/// checked and the documented Role grants; `get` on pods is not needed for anything else.
async fn pod_now(pods: &Api<Pod>, name: &str) -> kube::Result<Option<Pod>> {
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    Ok(pods.list(&params).await?.items.into_iter().next())
}

/// Events about one pod, for the reason it is stuck; empty when they cannot be read.
async fn events_of(pods: &Api<Pod>, namespace: &str, name: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(pods.clone().into_client(), namespace);
    let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
    api.list(&params).await.map(|l| l.items).unwrap_or_default()
}

/// Deletes a pod at once (it has finished, or never started); true when it is gone.
async fn delete(pods: &Api<Pod>, name: &str) -> bool {
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    match pods.delete(name, &params).await {
        Ok(_) => true,
        Err(kube::Error::Api(s)) if s.code == 404 => true,
        Err(e) => {
            eprintln!("warning: could not delete node-check pod {name}: {e}");
            false
        }
    }
}

/// Ctrl-C: deletes every pod of this run (also one whose create was in flight).
async fn delete_run(pods: &Api<Pod>, run: &str, created: &Mutex<BTreeSet<String>>) -> usize {
    let mut names = lock(created).clone();
    let params = ListParams::default().labels(&format!("{}={run}", pod::RUN_LABEL));
    if let Ok(list) = pods.list(&params).await {
        names.extend(list.items.into_iter().filter_map(|p| p.metadata.name));
    }
    let mut removed = 0;
    for name in &names {
        removed += usize::from(delete(pods, name).await);
    }
    removed
}

/// Removes node-check pods an earlier run left (killed before it could delete them): those
/// that ended, and those older than their deadline, so a concurrent run is left alone.
async fn remove_leftovers(
    target: &ClusterTarget,
    pods: &Api<Pod>,
    settings: &Settings,
) -> Result<()> {
    let params = ListParams::default().labels(&pod::all_runs_selector());
    let list = pods.list(&params).await.map_err(|e| {
        api_error(
            e,
            Request {
                verb: "list",
                resource: "pods",
                namespace: Some(&settings.namespace),
            },
            &target.server,
            &target.context,
        )
    })?;
    let now = jiff::Timestamp::now();
    for p in pod::leftovers(&list.items, now) {
        delete(pods, &p).await;
    }
    Ok(())
}

fn lock(m: &Mutex<BTreeSet<String>>) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
    // A panic while holding the lock leaves a plain set of names: still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, ready: Option<&str>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            status: Some(NodeStatus {
                conditions: ready.map(|r| {
                    vec![NodeCondition {
                        type_: "Ready".into(),
                        status: r.into(),
                        reason: Some("NodeStatusUnknown".into()),
                        message: Some("Kubelet stopped posting node status.".into()),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn not_ready_nodes_are_skipped_with_their_condition() {
        let plan = split_ready(&[
            node("w1", Some("True")),
            node("w2", Some("Unknown")),
            node("w3", None),
        ]);
        assert_eq!(plan.check, ["w1"]);
        assert_eq!(plan.not_ready[0].0, "w2");
        assert_eq!(
            plan.not_ready[0].1,
            "the node is not Ready (Ready=Unknown; NodeStatusUnknown: Kubelet stopped posting node status.)"
        );
        assert_eq!(plan.not_ready[1].1, "the node reports no Ready condition");
    }

    #[test]
    fn the_pod_namespace_must_exist_and_allow_privileged_pods() {
        let ns = |level: Option<&str>| Namespace {
            metadata: ObjectMeta {
                name: Some("lbctl".into()),
                labels: level.map(|l| {
                    [(
                        "pod-security.kubernetes.io/enforce".to_string(),
                        l.to_string(),
                    )]
                    .into()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(namespace_problem("lbctl", Some(&ns(None))).is_ok());
        assert!(namespace_problem("lbctl", Some(&ns(Some("privileged")))).is_ok());
        let err = namespace_problem("lbctl", Some(&ns(Some("baseline")))).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        assert!(
            err.to_string()
                .contains("enforces Pod Security level baseline")
        );
        let err = namespace_problem("lbctl", None).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
        assert!(
            err.hint()
                .unwrap()
                .contains("kubectl create namespace lbctl")
        );
    }

    #[test]
    fn permissions_name_the_namespace_and_the_log_subresource() {
        let wanted: Vec<String> = permissions("lbctl")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(wanted.contains(&"create pods in namespace \"lbctl\"".to_string()));
        assert!(wanted.contains(&"get pods/log in namespace \"lbctl\"".to_string()));
    }
}
