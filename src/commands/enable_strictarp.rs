//! `lbctl enable-strictarp`: locate kube-proxy's configuration, plan the lossless edit, show the
//! diff, check permissions, write with the resourceVersion the plan came from (re-planning on
//! 409), keep the replaced text for `--revert`, restart kube-proxy and wait for the rollout.

use std::collections::BTreeMap;
use std::time::Duration;

use colored::Colorize;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use serde::Serialize;

use crate::cli::{EnableStrictarpArgs, GlobalArgs};
use crate::kube::access::{self, Permission};
use crate::kube::errors::{Request, api_error};
use crate::kube::rollout::{self, RolloutStatus};
use crate::kube::{ClusterTarget, connect};
use crate::kubeproxy::config::{ProxySettings, parse};
use crate::kubeproxy::edit::{Change, Target, edit};
use crate::kubeproxy::locate::{
    self, ClusterFacts, ConfigMapKey, DAEMONSET, FlagsOnly, Location, NAMESPACE,
};
use crate::kubeproxy::plan::{PlanError, ServerVersion, plan};
use crate::output::{is_json, print_json};
use crate::permissions;
use crate::{Error, ExitCode, Result, diff};

/// ConfigMap annotation holding the configuration text lbctl replaced (for `--revert`).
pub const PREVIOUS_CONFIG: &str = "lbctl.io/previous-config";
/// ConfigMap annotation naming the key whose text [`PREVIOUS_CONFIG`] holds.
pub const PREVIOUS_CONFIG_KEY: &str = "lbctl.io/previous-config-key";

/// Attempts of the read-plan-write cycle when the ConfigMap changes under us (409).
const MAX_ATTEMPTS: u32 = 5;

/// What the run did or would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Already configured and kube-proxy runs the current configuration: nothing was done.
    AlreadyConfigured,
    /// The configuration was changed (and kube-proxy restarted unless `--no-restart`).
    Changed,
    /// `--dry-run` or `--check` found a change to make; nothing was written.
    WouldChange,
    /// The configuration was right but kube-proxy ran an older one: restarted.
    Restarted,
    /// `--dry-run`/`--check`: the configuration is right but kube-proxy needs a restart.
    WouldRestart,
    /// `--revert` restored the previous text.
    Reverted,
    /// `--revert` with `--dry-run`/`--check`: the previous text would be restored.
    WouldRevert,
    /// `--revert` found nothing lbctl had replaced.
    NothingToRevert,
    /// kube-proxy is configured by flags; lbctl printed the steps instead.
    FlagsOnly,
    /// No kube-proxy: strict ARP is not needed.
    NotNeeded,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorDoc {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The `-o json` document (stable schema: fields are only ever added).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub outcome: Outcome,
    pub server_version: Option<String>,
    pub location: Option<Location>,
    pub before: Option<ProxySettings>,
    pub changes: Vec<Change>,
    /// Unified diff of the configuration text (empty when nothing changes).
    pub diff: String,
    pub written: bool,
    pub restarted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Steps for the user (flags-only kube-proxy).
    pub instructions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

impl Report {
    fn new() -> Report {
        Report {
            api_version: "lbctl.io/v1alpha1",
            kind: "EnableStrictARPResult",
            outcome: Outcome::AlreadyConfigured,
            server_version: None,
            location: None,
            before: None,
            changes: Vec::new(),
            diff: String::new(),
            written: false,
            restarted: false,
            restart_reason: None,
            rollout: None,
            warnings: Vec::new(),
            notes: Vec::new(),
            instructions: Vec::new(),
            error: None,
        }
    }
}

/// Human output, step by step like kubeadm; silent in JSON mode (the report says it all).
struct Ui {
    json: bool,
}

impl Ui {
    fn step(&self, tag: &str, message: impl AsRef<str>) {
        if !self.json {
            println!("{} {}", format!("[{tag}]").cyan(), message.as_ref());
        }
    }

    fn warn(&self, message: &str) {
        if !self.json {
            eprintln!("{} {message}", "warning:".yellow().bold());
        }
    }

    fn note(&self, message: &str) {
        if !self.json {
            println!("{} {message}", "note:".dimmed());
        }
    }

    fn diff(&self, text: &str) {
        if !self.json && !text.is_empty() {
            print!("{}", diff::colorize(text));
        }
    }
}

pub async fn run(global: &GlobalArgs, args: &EnableStrictarpArgs) -> Result<ExitCode> {
    let ui = Ui {
        json: is_json(global.output),
    };
    let mut report = Report::new();
    let result = execute(global, args, &ui, &mut report).await;
    if ui.json {
        match &result {
            Ok(_) => print_json(&report),
            // Once lbctl found kube-proxy the document tells what happened before the failure.
            Err(e) if report.location.is_some() => {
                report.error = Some(ErrorDoc {
                    message: e.to_string(),
                    hint: e.hint(),
                });
                print_json(&report);
            }
            Err(_) => {}
        }
    }
    result
}

async fn execute(
    global: &GlobalArgs,
    args: &EnableStrictarpArgs,
    ui: &Ui,
    report: &mut Report,
) -> Result<ExitCode> {
    let target = connect(global).await?;
    let server =
        crate::verbose::timed("reading the server version", server_version(&target)).await?;
    report.server_version = server.as_ref().map(|s| s.git_version.clone());

    let (location, daemonset) = crate::verbose::timed(
        "locating the kube-proxy configuration",
        find_config(&target),
    )
    .await?;
    report.location = Some(location.clone());
    let key = match location {
        Location::NoKubeProxy(r) => {
            ui.step(
                "locate",
                format!("no kube-proxy: {} replaces it ({})", r.name, r.evidence),
            );
            ui.step("done", format!("strict ARP is not needed: {}.", r.why));
            report.outcome = Outcome::NotNeeded;
            return Ok(ExitCode::Ok);
        }
        Location::FlagsOnly(flags) => return Ok(flags_only(&flags, args, ui, report)),
        Location::ConfigMap(key) => key,
    };
    ui.step(
        "locate",
        format!(
            "kube-proxy reads --config={}: ConfigMap {}/{}, key {}",
            key.config_path, key.namespace, key.name, key.key
        ),
    );
    if key.name == "kube-proxy-config" {
        report.notes.push("on EKS, updates of the managed kube-proxy add-on may overwrite this edit; run `lbctl enable-strictarp --check` after add-on updates".into());
    }
    let cm = get_configmap(&target, &key).await?;
    let text = config_text(&cm, &key)?;

    if args.revert {
        return revert(&target, args, ui, report, &key, cm, daemonset.as_ref()).await;
    }

    let planned = plan(&text, args.mode, server.as_ref()).map_err(plan_error)?;
    // The mode kube-proxy runs once this is done (`--mode keep` may leave it nftables).
    let final_mode = parse(&planned.new_text)
        .map(|(_, s)| s.mode)
        .unwrap_or_else(|_| planned.before.mode.clone());
    report.before = Some(planned.before.clone());
    report.changes = planned.changes.clone();
    report.warnings = planned.warnings.clone();
    report.notes.extend(planned.notes.clone());
    report.diff = config_diff(&key, &text, &planned.new_text, "planned");
    for w in &report.warnings {
        ui.warn(w);
    }
    for n in &report.notes {
        ui.note(n);
    }

    if planned.is_empty() {
        ui.step(
            "plan",
            format!(
                "already configured: mode {}, ipvs.strictARP true; nothing to change",
                planned.before.mode
            ),
        );
        let stale = match &daemonset {
            Some(ds) => stale_pods(&target, ds, &cm).await?,
            None => None,
        };
        let Some(reason) = stale else {
            report.outcome = Outcome::AlreadyConfigured;
            ui.step("done", "nothing written, nothing restarted.");
            return Ok(ExitCode::Ok);
        };
        report.restart_reason = Some(reason.clone());
        ui.step("plan", format!("kube-proxy needs a restart: {reason}"));
        if args.check || args.dry_run {
            report.outcome = Outcome::WouldRestart;
            ui.step(
                if args.check { "check" } else { "dry-run" },
                "nothing restarted.",
            );
            return Ok(if args.check {
                ExitCode::Failed
            } else {
                ExitCode::Ok
            });
        }
        if args.no_restart {
            report.outcome = Outcome::AlreadyConfigured;
            report.notes.push(
                "--no-restart: kube-proxy keeps running the old configuration until it restarts"
                    .into(),
            );
            ui.note(
                "--no-restart: kube-proxy keeps running the old configuration until it restarts",
            );
            return Ok(ExitCode::Ok);
        }
        access::require(&target, &wanted(args)).await?;
        crate::verbose::timed(
            "restarting kube-proxy and waiting",
            restart_and_wait(&target, args, ui, report, daemonset.as_ref()),
        )
        .await?;
        report.outcome = Outcome::Restarted;
        ui.step(
            "done",
            format!("kube-proxy now {}.", runs_line(&final_mode)),
        );
        return Ok(ExitCode::Ok);
    }

    ui.step("plan", describe_changes(&planned.changes));
    ui.diff(&report.diff);
    if args.check || args.dry_run {
        report.outcome = Outcome::WouldChange;
        if args.check {
            ui.step(
                "check",
                "changes needed; nothing written. Apply with `lbctl enable-strictarp`.",
            );
            return Ok(ExitCode::Failed);
        }
        ui.step(
            "dry-run",
            "nothing written. Run without --dry-run to apply.",
        );
        return Ok(ExitCode::Ok);
    }

    access::require(&target, &wanted(args)).await?;
    ui.step(
        "permissions",
        "ok: the ConfigMap can be updated and kube-proxy restarted",
    );

    let mode = args.mode;
    let server_for_plan = server.clone();
    let shown_diff = report.diff.clone();
    let written = update_with_retry(&target, &key, cm, ui, |current| {
        let text = config_text(current, &key)?;
        let p = plan(&text, mode, server_for_plan.as_ref()).map_err(plan_error)?;
        if p.is_empty() {
            return Ok(None);
        }
        let again = config_diff(&key, &text, &p.new_text, "planned");
        if again != shown_diff {
            ui.step("plan", "re-planned on the changed ConfigMap:");
            ui.diff(&again);
        }
        let mut next = current.clone();
        next.data
            .get_or_insert_with(BTreeMap::new)
            .insert(key.key.clone(), p.new_text);
        let annotations = next.metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotations.insert(PREVIOUS_CONFIG.into(), text);
        annotations.insert(PREVIOUS_CONFIG_KEY.into(), key.key.clone());
        Ok(Some(next))
    })
    .await?;
    match written {
        Some(cm) => {
            report.written = true;
            ui.step(
                "apply",
                format!(
                    "updated ConfigMap {}/{} (resourceVersion {}); the replaced text is kept in annotation {PREVIOUS_CONFIG} (undo: lbctl enable-strictarp --revert)",
                    key.namespace,
                    key.name,
                    cm.metadata.resource_version.unwrap_or_default()
                ),
            );
        }
        None => ui.step(
            "apply",
            "a concurrent change already configured kube-proxy; nothing written",
        ),
    }
    if args.no_restart {
        report.outcome = Outcome::Changed;
        let msg = "--no-restart: the change is not active until kube-proxy restarts (`kubectl -n kube-system rollout restart daemonset kube-proxy`)";
        report.notes.push(msg.into());
        ui.note(msg);
        return Ok(ExitCode::Ok);
    }
    crate::verbose::timed(
        "restarting kube-proxy and waiting",
        restart_and_wait(&target, args, ui, report, daemonset.as_ref()),
    )
    .await?;
    report.outcome = Outcome::Changed;
    ui.step(
        "done",
        format!(
            "kube-proxy {}. Next: `lbctl install`.",
            runs_line(&final_mode)
        ),
    );
    Ok(ExitCode::Ok)
}

async fn server_version(target: &ClusterTarget) -> Result<Option<ServerVersion>> {
    let info = target.client.apiserver_version().await.map_err(|e| {
        api_error(
            e,
            Request {
                verb: "get",
                resource: "/version",
                namespace: None,
            },
            &target.server,
            &target.context,
        )
    })?;
    Ok(ServerVersion::new(
        &info.git_version,
        &info.major,
        &info.minor,
    ))
}

fn request<'a>(verb: &'a str, resource: &'a str, namespace: Option<&'a str>) -> Request<'a> {
    Request {
        verb,
        resource,
        namespace,
    }
}

/// Finds where kube-proxy's configuration lives (and its DaemonSet, when there is one).
async fn find_config(target: &ClusterTarget) -> Result<(Location, Option<DaemonSet>)> {
    let api: Api<DaemonSet> = Api::namespaced(target.client.clone(), NAMESPACE);
    let ds = api.get_opt(DAEMONSET).await.map_err(|e| {
        api_error(
            e,
            request("get", "daemonsets", Some(NAMESPACE)),
            &target.server,
            &target.context,
        )
    })?;
    match ds {
        Some(ds) => {
            let facts = cluster_facts(target, false).await;
            let location = locate::from_daemonset(&ds, &facts).map_err(|e| Error::Unsupported {
                message: e.to_string(),
                hint: Some("set `mode: ipvs` and `ipvs.strictARP: true` where this kube-proxy reads its configuration, then restart it".into()),
            })?;
            Ok((location, Some(ds)))
        }
        None => {
            let facts = cluster_facts(target, true).await;
            let location = locate::without_daemonset(&facts).ok_or_else(|| Error::Unsupported {
                message: format!(
                    "no DaemonSet {NAMESPACE}/{DAEMONSET}, and no known kube-proxy replacement (Cilium, kube-router, OVN-Kubernetes, Antrea) was found"
                ),
                hint: Some(
                    "if kube-proxy runs under another name or as static pods, set `mode: ipvs` and `ipvs.strictARP: true` (or the flags --proxy-mode=ipvs --ipvs-strict-arp) where it is configured".into(),
                ),
            })?;
            Ok((location, None))
        }
    }
}

/// Node facts (for the distribution) and, without a kube-proxy DaemonSet, what replaces it.
/// Read failures only make the answer less specific, so they are not errors.
async fn cluster_facts(target: &ClusterTarget, replacements: bool) -> ClusterFacts {
    let mut facts = ClusterFacts::default();
    let nodes: Api<Node> = Api::all(target.client.clone());
    if let Ok(list) = nodes.list(&ListParams::default().limit(50)).await {
        for node in list.items {
            if let Some(info) = node.status.as_ref().and_then(|s| s.node_info.as_ref()) {
                facts.kubelet_versions.push(info.kubelet_version.clone());
                facts.os_images.push(info.os_image.clone());
            }
            for (k, v) in node.metadata.annotations.unwrap_or_default() {
                if k == "k3s.io/node-args" || k == "rke2.io/node-args" {
                    facts.node_args.push((k, v));
                }
            }
        }
    }
    if !replacements {
        return facts;
    }
    let cms: Api<ConfigMap> = Api::namespaced(target.client.clone(), NAMESPACE);
    if let Ok(Some(cm)) = cms.get_opt("cilium-config").await {
        facts.cilium_config = Some(cm.data.unwrap_or_default());
    }
    let all: Api<DaemonSet> = Api::all(target.client.clone());
    let listed = match all.list(&ListParams::default()).await {
        Ok(l) => Some(l),
        Err(_) => Api::<DaemonSet>::namespaced(target.client.clone(), NAMESPACE)
            .list(&ListParams::default())
            .await
            .ok(),
    };
    for ds in listed.map(|l| l.items).unwrap_or_default() {
        facts.daemonsets.push(format!(
            "{}/{}",
            ds.metadata.namespace.unwrap_or_default(),
            ds.metadata.name.unwrap_or_default()
        ));
    }
    facts
}

fn flags_only(
    flags: &FlagsOnly,
    args: &EnableStrictarpArgs,
    ui: &Ui,
    report: &mut Report,
) -> ExitCode {
    let seen = match &flags.source {
        Some(source) => format!(
            "flags read from {source}: --proxy-mode={} --ipvs-strict-arp={}",
            flags.proxy_mode.as_deref().unwrap_or("(not set: iptables)"),
            flags
                .strict_arp
                .map(|b| b.to_string())
                .unwrap_or_else(|| "(not set: false)".into())
        ),
        None => "its flags are not visible through the API".into(),
    };
    ui.step(
        "locate",
        format!(
            "kube-proxy on {} is configured by command-line flags, not a ConfigMap ({seen})",
            flags.distribution.name()
        ),
    );
    if flags.is_configured() {
        report.outcome = Outcome::AlreadyConfigured;
        ui.step(
            "done",
            "kube-proxy already runs with --proxy-mode=ipvs --ipvs-strict-arp; nothing to do.",
        );
        return ExitCode::Ok;
    }
    report.outcome = Outcome::FlagsOnly;
    report.instructions = flags.distribution.instructions();
    ui.step("plan", "lbctl changes nothing here. To enable strict ARP:");
    for line in &report.instructions {
        if !ui.json {
            for l in line.lines() {
                println!("    {l}");
            }
        }
    }
    if args.check {
        return ExitCode::Failed;
    }
    if !ui.json {
        eprintln!(
            "{} lbctl cannot change a flags-only kube-proxy; follow the steps above, then run `lbctl enable-strictarp --check`",
            "error:".red().bold()
        );
    }
    ExitCode::CannotRun
}

async fn get_configmap(target: &ClusterTarget, key: &ConfigMapKey) -> Result<ConfigMap> {
    let api: Api<ConfigMap> = Api::namespaced(target.client.clone(), &key.namespace);
    api.get_opt(&key.name)
        .await
        .map_err(|e| api_error(e, request("get", "configmaps", Some(&key.namespace)), &target.server, &target.context))?
        .ok_or_else(|| Error::Unsupported {
            message: format!(
                "kube-proxy reads ConfigMap {}/{}, which does not exist",
                key.namespace, key.name
            ),
            hint: Some("check the kube-proxy pods: `kubectl -n kube-system get pods -l k8s-app=kube-proxy`".into()),
        })
}

fn config_text(cm: &ConfigMap, key: &ConfigMapKey) -> Result<String> {
    cm.data
        .as_ref()
        .and_then(|d| d.get(&key.key))
        .cloned()
        .ok_or_else(|| Error::Unsupported {
            message: format!("ConfigMap {}/{} has no key {:?}", key.namespace, key.name, key.key),
            hint: Some("kube-proxy's --config points at a key that is missing; check the DaemonSet's volumes".into()),
        })
}

fn config_diff(key: &ConfigMapKey, before: &str, after: &str, label: &str) -> String {
    let name = format!("{}/{} {}", key.namespace, key.name, key.key);
    diff::unified(
        before,
        after,
        &format!("{name} (current)"),
        &format!("{name} ({label})"),
    )
}

fn plan_error(e: PlanError) -> Error {
    Error::Usage {
        hint: Some(e.hint()),
        message: e.to_string(),
    }
}

fn describe_changes(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The command's one permission list (`crate::permissions`), less the restart's part with
/// `--no-restart`.
fn wanted(args: &EnableStrictarpArgs) -> Vec<Permission> {
    let all = permissions::required(permissions::Command::EnableStrictarp, &Default::default());
    if args.no_restart {
        permissions::without_restart(all)
    } else {
        all
    }
}

/// What kube-proxy runs after the change: strictARP is only what matters in IPVS mode.
fn runs_line(mode: &crate::kubeproxy::config::ProxyMode) -> String {
    match mode {
        crate::kubeproxy::config::ProxyMode::Ipvs => "runs IPVS with strictARP".to_string(),
        other => format!(
            "runs {other} mode, with ipvs.strictARP: true set for a later move to IPVS ({other} mode puts no LoadBalancer address on a node interface, so it needs no strictARP)"
        ),
    }
}

/// Writes `make(current)` with current's resourceVersion. On 409 re-reads and calls `make`
/// again, so a concurrent change is never overwritten. `None` from `make`: nothing to write.
async fn update_with_retry(
    target: &ClusterTarget,
    key: &ConfigMapKey,
    mut current: ConfigMap,
    ui: &Ui,
    mut make: impl FnMut(&ConfigMap) -> Result<Option<ConfigMap>>,
) -> Result<Option<ConfigMap>> {
    let api: Api<ConfigMap> = Api::namespaced(target.client.clone(), &key.namespace);
    let update_err = |e| {
        api_error(
            e,
            request("update", "configmaps", Some(&key.namespace)),
            &target.server,
            &target.context,
        )
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let Some(next) = make(&current)? else {
            return Ok(None);
        };
        match api.replace(&key.name, &PostParams::default(), &next).await {
            Ok(written) => return Ok(Some(written)),
            Err(kube::Error::Api(s)) if s.code == 409 && attempt < MAX_ATTEMPTS => {
                ui.step(
                    "apply",
                    format!(
                        "ConfigMap {}/{} changed since it was read (409 Conflict); re-reading and re-planning (attempt {}/{MAX_ATTEMPTS})",
                        key.namespace,
                        key.name,
                        attempt + 1
                    ),
                );
                tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt - 1))).await;
                current = get_configmap(target, key).await?;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                return Err(Error::Api {
                    action: format!("update ConfigMap {}/{}", key.namespace, key.name),
                    code: 409,
                    message: format!(
                        "it kept changing concurrently ({MAX_ATTEMPTS} attempts); nothing of lbctl's was written"
                    ),
                });
            }
            Err(e) => return Err(update_err(e)),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// Restarts kube-proxy and waits for the rollout; on timeout names the pods that are not ready.
/// `seen` is the DaemonSet as this run read it (its restart annotation must change).
async fn restart_and_wait(
    target: &ClusterTarget,
    args: &EnableStrictarpArgs,
    ui: &Ui,
    report: &mut Report,
    seen: Option<&DaemonSet>,
) -> Result<()> {
    let previous = seen.and_then(restarted_at);
    let ds: DaemonSet = rollout::restart(target, NAMESPACE, DAEMONSET, previous.as_deref()).await?;
    report.restarted = true;
    ui.step(
        "restart",
        format!(
            "restarted DaemonSet {NAMESPACE}/{DAEMONSET} (pod template annotation {})",
            rollout::RESTARTED_AT
        ),
    );
    ui.step(
        "wait",
        format!(
            "waiting up to {} for the rollout",
            humantime::format_duration(args.timeout)
        ),
    );
    let waited = rollout::wait::<DaemonSet>(target, NAMESPACE, DAEMONSET, args.timeout, |s| {
        ui.step("wait", s.describe());
        report.rollout = Some(s.clone());
    })
    .await;
    match waited {
        Ok(status) => {
            ui.step("wait", format!("rollout complete: {}", status.describe()));
            report.rollout = Some(status);
            Ok(())
        }
        Err(Error::Timeout {
            what,
            after,
            detail,
        }) => {
            let selector = selector_of(&ds);
            let problems = rollout::pod_problems(target, NAMESPACE, &selector, 5).await;
            let mut detail = detail.unwrap_or_default();
            for p in &problems {
                detail.push_str(&format!("\n  {p}"));
            }
            detail.push_str(&format!(
                "\n  the configuration change is written; inspect with `kubectl -n {NAMESPACE} get pods -l {selector}` and `kubectl -n {NAMESPACE} rollout status daemonset {DAEMONSET}`; undo with `lbctl enable-strictarp --revert`"
            ));
            Err(Error::Timeout {
                what,
                after,
                detail: Some(detail),
            })
        }
        Err(e) => Err(e),
    }
}

/// The pod template's restart annotation (`kubectl rollout restart`'s).
fn restarted_at(ds: &DaemonSet) -> Option<String> {
    ds.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(rollout::RESTARTED_AT)
        .cloned()
}

/// The DaemonSet's selector as a label selector string.
fn selector_of(ds: &DaemonSet) -> String {
    ds.spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| "k8s-app=kube-proxy".into())
}

/// When the ConfigMap last changed: the newest managedFields time (or its creation).
fn last_change(cm: &ConfigMap) -> Option<jiff::Timestamp> {
    let managed = cm
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.time.as_ref().map(|t| t.0));
    managed
        .chain(cm.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .max()
}

/// Why kube-proxy pods run an older configuration (they started before its last change).
async fn stale_pods(
    target: &ClusterTarget,
    ds: &DaemonSet,
    cm: &ConfigMap,
) -> Result<Option<String>> {
    let Some(changed) = last_change(cm) else {
        return Ok(None);
    };
    let api: Api<Pod> = Api::namespaced(target.client.clone(), NAMESPACE);
    let pods = api
        .list(&ListParams::default().labels(&selector_of(ds)))
        .await
        .map_err(|e| {
            api_error(
                e,
                request("list", "pods", Some(NAMESPACE)),
                &target.server,
                &target.context,
            )
        })?;
    Ok(stale_reason(&pods.items, changed))
}

/// Pure part of [`stale_pods`].
pub fn stale_reason(pods: &[Pod], changed: jiff::Timestamp) -> Option<String> {
    let stale: Vec<String> = pods
        .iter()
        .filter(|p| {
            let started = p
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .or(p.metadata.creation_timestamp.as_ref())
                .map(|t| t.0);
            started.is_some_and(|s| s < changed)
        })
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    if stale.is_empty() {
        return None;
    }
    Some(format!(
        "{} kube-proxy pod(s) started before the configuration last changed ({}): {}",
        stale.len(),
        changed.round(jiff::Unit::Second).unwrap_or(changed),
        stale.join(", ")
    ))
}

/// `--revert`: restore the text lbctl replaced, if the configuration is still what lbctl wrote.
async fn revert(
    target: &ClusterTarget,
    args: &EnableStrictarpArgs,
    ui: &Ui,
    report: &mut Report,
    key: &ConfigMapKey,
    cm: ConfigMap,
    daemonset: Option<&DaemonSet>,
) -> Result<ExitCode> {
    let current = config_text(&cm, key)?;
    let Some(previous) = previous_text(&cm, key) else {
        report.outcome = Outcome::NothingToRevert;
        ui.step(
            "revert",
            format!(
                "nothing to revert: ConfigMap {}/{} has no {PREVIOUS_CONFIG} annotation (lbctl did not change it, or it was reverted already)",
                key.namespace, key.name
            ),
        );
        return Ok(ExitCode::Ok);
    };
    ensure_revertible(&previous, &current, key)?;
    if let Ok((_, settings)) = parse(&current) {
        report.before = Some(settings);
    }
    report.diff = config_diff(key, &current, &previous, "reverted");
    ui.step("plan", "restore the configuration text lbctl replaced:");
    ui.diff(&report.diff);
    let sysctl_note = "the ARP sysctls kube-proxy already set on the nodes (net.ipv4.conf.all.arp_ignore=1, arp_announce=2) stay until the nodes reboot or they are reset by hand";
    report.notes.push(sysctl_note.into());
    if args.check || args.dry_run {
        report.outcome = Outcome::WouldRevert;
        ui.step(
            if args.check { "check" } else { "dry-run" },
            "nothing written.",
        );
        return Ok(if args.check {
            ExitCode::Failed
        } else {
            ExitCode::Ok
        });
    }
    access::require(target, &wanted(args)).await?;
    let written = update_with_retry(target, key, cm, ui, |latest| {
        let Some(previous) = previous_text(latest, key) else {
            return Ok(None);
        };
        ensure_revertible(&previous, &config_text(latest, key)?, key)?;
        let mut next = latest.clone();
        next.data
            .get_or_insert_with(BTreeMap::new)
            .insert(key.key.clone(), previous);
        if let Some(a) = next.metadata.annotations.as_mut() {
            a.remove(PREVIOUS_CONFIG);
            a.remove(PREVIOUS_CONFIG_KEY);
        }
        Ok(Some(next))
    })
    .await?;
    report.written = written.is_some();
    ui.step(
        "apply",
        format!(
            "restored the previous text of ConfigMap {}/{} key {}",
            key.namespace, key.name, key.key
        ),
    );
    ui.note(sysctl_note);
    if !args.no_restart {
        restart_and_wait(target, args, ui, report, daemonset).await?;
    } else {
        ui.note("--no-restart: the reverted configuration is not active until kube-proxy restarts");
    }
    report.outcome = Outcome::Reverted;
    ui.step("done", "reverted.");
    Ok(ExitCode::Ok)
}

fn previous_text(cm: &ConfigMap, key: &ConfigMapKey) -> Option<String> {
    let annotations = cm.metadata.annotations.as_ref()?;
    let previous = annotations.get(PREVIOUS_CONFIG)?;
    let for_key = annotations
        .get(PREVIOUS_CONFIG_KEY)
        .map(String::as_str)
        .unwrap_or(&key.key);
    (for_key == key.key).then(|| previous.clone())
}

/// Reverting is safe only while the text is exactly what lbctl made of the previous one:
/// anything else would discard someone's later change.
fn ensure_revertible(previous: &str, current: &str, key: &ConfigMapKey) -> Result<()> {
    let ours = [true, false]
        .into_iter()
        .any(|mode_ipvs| edit(previous, Target { mode_ipvs }).is_ok_and(|e| e.text == current));
    if ours {
        return Ok(());
    }
    Err(Error::Unsupported {
        message: format!(
            "ConfigMap {}/{} key {} changed after lbctl wrote it; --revert would discard that change",
            key.namespace, key.name, key.key
        ),
        hint: Some(format!(
            "compare by hand: the text lbctl replaced is in annotation {PREVIOUS_CONFIG} (`kubectl -n {} get configmap {} -o jsonpath='{{.metadata.annotations.lbctl\\.io/previous-config}}'`)",
            key.namespace, key.name
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_older_than_the_config_need_a_restart() {
        let pod = |name: &str, start: &str| -> Pod {
            serde_json::from_value(
                json!({"metadata": {"name": name}, "status": {"startTime": start}}),
            )
            .unwrap()
        };
        let changed: jiff::Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let pods = [
            pod("kp-a", "2026-11-25T09:00:00Z"),
            pod("kp-b", "2026-11-25T10:05:00Z"),
        ];
        let reason = stale_reason(&pods, changed).unwrap();
        assert!(
            reason.starts_with("1 kube-proxy pod(s) started before"),
            "{reason}"
        );
        assert!(reason.contains("kp-a") && !reason.contains("kp-b"));
        assert_eq!(stale_reason(&pods[1..], changed), None);
    }

    #[test]
    fn revert_only_restores_what_lbctl_wrote() {
        let key = ConfigMapKey {
            namespace: "kube-system".into(),
            name: "kube-proxy".into(),
            key: "config.conf".into(),
            config_path: "/var/lib/kube-proxy/config.conf".into(),
        };
        let previous = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"\"\n";
        let ours = edit(previous, Target { mode_ipvs: true }).unwrap().text;
        assert!(ensure_revertible(previous, &ours, &key).is_ok());
        let theirs = ours.replace("kind:", "clusterCIDR: 10.0.0.0/8\nkind:");
        assert!(ensure_revertible(previous, &theirs, &key).is_err());
    }

    #[test]
    fn last_change_uses_managed_fields() {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubeadm", "time": "2026-01-01T00:00:00Z"}, {"manager": "kubectl-edit", "time": "2026-06-01T00:00:00Z"}]
        }}))
        .unwrap();
        assert_eq!(
            last_change(&cm).unwrap().to_string(),
            "2026-06-01T00:00:00Z"
        );
    }
}
