//! `lbctl enable-strictarp`: locate kube-proxy's configuration, plan the lossless edit, show the
//! diff, check permissions, write it (keeping the replaced text for `--revert`), restart
//! kube-proxy and wait until its pods run the new configuration. The rules live in
//! `kubeproxy/`; this file is the order of the steps and what the user sees.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::ConfigMap;

use crate::cli::{EnableStrictarpArgs, GlobalArgs};
use crate::kube::access;
use crate::kube::deadline::Deadline;
use crate::kube::{ClusterTarget, connect};
use crate::kubeproxy::config::parse;
use crate::kubeproxy::decide::{Decision, Flags, decide};
use crate::kubeproxy::discover::{self, config_text};
use crate::kubeproxy::locate::{ConfigMapKey, FlagsOnly, Location};
use crate::kubeproxy::plan::{Plan, PlanError, ServerVersion, plan};
use crate::kubeproxy::restart::{self, Context};
use crate::kubeproxy::revert;
use crate::kubeproxy::staleness::{self, Staleness};
use crate::kubeproxy::update;
use crate::output::{is_json, print_json};
use crate::permissions;
use crate::report::strictarp::{
    ErrorDoc, Report, SYSCTLS_STAY, StrictArpResult, Ui, config_diff, describe_changes, runs_line,
};
use crate::{ExitCode, Result};

pub async fn run(global: &GlobalArgs, args: &EnableStrictarpArgs) -> Result<ExitCode> {
    let ui = Ui {
        json: is_json(global.output),
        read_only: args.dry_run || args.check,
    };
    let mut report = Report::default();
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
    // --timeout bounds the whole command, the rollout wait included.
    let deadline = Deadline::new(tokio::time::Instant::now(), args.timeout);
    let target = connect(global).await?;
    let step = "reading the server version";
    let server = deadline
        .bound(
            &target,
            step,
            crate::verbose::timed(step, discover::server_version(&target)),
        )
        .await?;
    report.server_version = server.as_ref().map(|s| s.git_version.clone());
    let step = "locating the kube-proxy configuration";
    let (location, daemonset) = deadline
        .bound(
            &target,
            step,
            crate::verbose::timed(step, discover::find(&target)),
        )
        .await?;
    report.location = Some(location.clone());
    let key = match location {
        Location::NoKubeProxy(r) => {
            ui.step(
                "locate",
                format!("no kube-proxy: {} replaces it ({})", r.name, r.evidence),
            );
            ui.verdict("done", format!("strict ARP is not needed: {}.", r.why));
            report.outcome = StrictArpResult::NotNeeded;
            return Ok(ExitCode::Ok);
        }
        Location::FlagsOnly(flags) => return Ok(flags_only(&flags, args, ui, report)),
        Location::ConfigMap(key) => key,
    };
    ui.located(&key);
    if key.name == "kube-proxy-config" {
        report.notes.push(format!("on EKS, updates of the managed kube-proxy add-on may overwrite this edit; run `{}` after add-on updates", crate::invocation::command_line("enable-strictarp --check")));
    }
    let cm = deadline
        .bound(
            &target,
            "reading the kube-proxy ConfigMap",
            discover::configmap(&target, &key),
        )
        .await?;
    let text = config_text(&cm, &key)?;
    let steps = Steps {
        target: &target,
        args,
        ui,
        key: &key,
        daemonset: daemonset.as_ref(),
        deadline,
    };
    if args.revert {
        return steps.revert(report, cm).await;
    }
    let planned = plan(&text, args.mode, server.as_ref()).map_err(PlanError::into_error)?;
    steps.show(report, &planned, &text);
    // Only a configuration already right needs the pods' start times (a write restarts anyway).
    let stale = match (&daemonset, planned.is_empty()) {
        (Some(ds), true) => {
            deadline
                .bound(
                    &target,
                    "reading kube-proxy's pods",
                    restart::staleness(&target, ds, staleness::last_change(&cm)),
                )
                .await?
        }
        _ => None,
    };
    let flags = Flags {
        check: args.check,
        dry_run: args.dry_run,
        no_restart: args.no_restart,
    };
    let decision = decide(&planned, stale.as_ref(), flags);
    // The mode kube-proxy runs once this is done (`--mode keep` may leave it nftables).
    let runs = runs_line(
        &parse(&planned.new_text)
            .map(|(_, s)| s.mode)
            .unwrap_or_else(|_| planned.before.mode.clone()),
    );
    steps.act(report, decision, stale, cm, server, runs).await
}

/// What every step needs.
struct Steps<'a> {
    target: &'a ClusterTarget,
    args: &'a EnableStrictarpArgs,
    ui: &'a Ui,
    key: &'a ConfigMapKey,
    daemonset: Option<&'a DaemonSet>,
    deadline: Deadline,
}

impl Steps<'_> {
    /// The plan into the report, and its warnings and notes to the user.
    fn show(&self, report: &mut Report, planned: &Plan, text: &str) {
        report.before = Some(planned.before.clone());
        report.changes = planned.changes.clone();
        report.warnings = planned.warnings.clone();
        report.notes.extend(planned.notes.clone());
        report.diff = config_diff(self.key, text, &planned.new_text, "planned");
        report.warnings.iter().for_each(|w| self.ui.warn(w));
        report.notes.iter().for_each(|n| self.ui.note(n));
        if planned.is_empty() {
            self.ui.plan(format!(
                "already configured: mode {}, ipvs.strictARP true; nothing to change",
                planned.before.mode
            ));
        } else {
            self.ui.plan(describe_changes(&planned.changes));
            self.ui.diff(&report.diff);
        }
    }

    async fn act(
        &self,
        report: &mut Report,
        decision: Decision,
        stale: Option<Staleness>,
        cm: ConfigMap,
        server: Option<ServerVersion>,
        runs: String,
    ) -> Result<ExitCode> {
        let (ui, check) = (self.ui, self.args.check);
        if let Some(s) = &stale {
            report.restart_reason = Some(s.reason());
            ui.plan(format!("kube-proxy needs a restart: {}", s.reason()));
        }
        match decision {
            Decision::Nothing => {
                report.outcome = StrictArpResult::AlreadyConfigured;
                ui.verdict("done", "nothing written, nothing restarted.");
            }
            Decision::WouldRestart => {
                return Ok(self.read_only(
                    report,
                    StrictArpResult::WouldRestart,
                    "nothing restarted.",
                ));
            }
            Decision::LeaveStale => {
                report.outcome = StrictArpResult::AlreadyConfigured;
                let msg = "--no-restart: kube-proxy keeps running the old configuration until it restarts";
                report.notes.push(msg.into());
                ui.note(msg);
            }
            Decision::Restart => {
                self.deadline
                    .bound(
                        self.target,
                        "checking permissions",
                        access::require(self.target, &permissions::enable_strictarp_required(true)),
                    )
                    .await?;
                self.restart(report, staleness::last_change(&cm), None)
                    .await?;
                report.outcome = StrictArpResult::Restarted;
                ui.verdict("done", format!("kube-proxy now {runs}."));
            }
            Decision::WouldWrite => {
                let message = if check {
                    format!(
                        "changes needed; nothing written. Apply with `{}`.",
                        crate::invocation::command_line("enable-strictarp")
                    )
                } else {
                    "nothing written. Run without --dry-run to apply.".to_string()
                };
                return Ok(self.read_only(report, StrictArpResult::WouldChange, &message));
            }
            Decision::Write { restart } => {
                self.require_write_permissions(restart).await?;
                let written = self.write(report, cm, server).await?;
                report.outcome = StrictArpResult::Changed;
                if !restart {
                    let msg = "--no-restart: the change is not active until kube-proxy restarts (`kubectl -n kube-system rollout restart daemonset kube-proxy`)";
                    report.notes.push(msg.into());
                    ui.note(msg);
                    return Ok(ExitCode::Ok);
                }
                self.restart(
                    report,
                    staleness::last_change(&written),
                    Some("the configuration change"),
                )
                .await?;
                ui.verdict(
                    "done",
                    format!(
                        "kube-proxy {runs}. Next: `{}`.",
                        crate::invocation::command_line("install")
                    ),
                );
            }
        }
        Ok(ExitCode::Ok)
    }

    /// `--check`/`--dry-run` end here: `--check` fails when there is something to do.
    fn read_only(&self, report: &mut Report, outcome: StrictArpResult, message: &str) -> ExitCode {
        report.outcome = outcome;
        let check = self.args.check;
        self.ui
            .verdict(if check { "check" } else { "dry-run" }, message);
        if check {
            ExitCode::Failed
        } else {
            ExitCode::Ok
        }
    }

    async fn require_write_permissions(&self, restart: bool) -> Result<()> {
        let wanted = permissions::enable_strictarp_required(restart);
        self.deadline
            .bound(
                self.target,
                "checking permissions",
                access::require(self.target, &wanted),
            )
            .await?;
        self.ui.step(
            "permissions",
            "ok: the ConfigMap can be updated and kube-proxy restarted",
        );
        Ok(())
    }

    /// Writes the plan, re-planned on whatever the ConfigMap holds when a retry re-reads it.
    /// Returns the ConfigMap as the server holds it afterwards.
    async fn write(
        &self,
        report: &mut Report,
        cm: ConfigMap,
        server: Option<ServerVersion>,
    ) -> Result<ConfigMap> {
        let (ui, key, mode) = (self.ui, self.key, self.args.mode);
        let shown = report.diff.clone();
        let before = cm.clone();
        let written = self
            .update_configmap(cm, |current| {
                let text = config_text(current, key)?;
                let p = plan(&text, mode, server.as_ref()).map_err(PlanError::into_error)?;
                if p.is_empty() {
                    return Ok(None);
                }
                let again = config_diff(key, &text, &p.new_text, "planned");
                if again != shown {
                    ui.plan("re-planned on the changed ConfigMap:");
                    ui.diff(&again);
                }
                Ok(Some(revert::with_edit(current, key, text, p.new_text)))
            })
            .await?;
        let Some(written) = written else {
            ui.step(
                "apply",
                "a concurrent change already configured kube-proxy; nothing written",
            );
            return Ok(before);
        };
        report.written = true;
        ui.written(
            key,
            written.metadata.resource_version.as_deref(),
            self.args.no_restart,
        );
        Ok(written)
    }

    /// Updates the ConfigMap with what `make` derives from the version the server holds
    /// (re-read after a conflict), within the command's deadline.
    async fn update_configmap(
        &self,
        cm: ConfigMap,
        make: impl FnMut(&ConfigMap) -> Result<Option<ConfigMap>>,
    ) -> Result<Option<ConfigMap>> {
        let work = update::update(
            self.target,
            self.key,
            cm,
            |r| self.ui.retrying(self.key, r),
            make,
        );
        self.deadline
            .bound(self.target, "updating the kube-proxy ConfigMap", work)
            .await
    }

    /// Restarts kube-proxy, waits for the rollout and checks its pods started after `changed`.
    /// `written` names what this run wrote before, for the message when the restart fails.
    async fn restart(
        &self,
        report: &mut Report,
        changed: Option<jiff::Timestamp>,
        written: Option<&str>,
    ) -> Result<()> {
        let ui = self.ui;
        let rerun = if self.args.revert {
            "kubectl -n kube-system rollout restart daemonset kube-proxy".to_string()
        } else {
            crate::invocation::command_line("enable-strictarp")
        };
        let (ns, name) = (&self.key.namespace, &self.key.name);
        let context = Context {
            written: written.map(|w| format!("{w} in ConfigMap {ns}/{name}")),
            rerun,
        };
        let work = async {
            let patched = restart::restart(self.target, self.daemonset, &context, |code, n| {
                ui.restart_retrying(code, n)
            })
            .await?;
            report.restarted = true;
            ui.restarted(self.deadline.left());
            let status = restart::wait(self.target, &patched, self.deadline, |s| {
                ui.step("wait", s.describe());
                report.rollout = Some(s.clone());
            })
            .await?;
            ui.step("wait", format!("rollout complete: {}", status.describe()));
            report.rollout = Some(status);
            restart::verify_pods(self.target, &patched, changed, &context).await
        };
        let step = "restarting kube-proxy and waiting";
        self.deadline
            .bound(self.target, step, crate::verbose::timed(step, work))
            .await
    }

    /// `--revert`: restore the text lbctl replaced, if the configuration is still what lbctl wrote.
    async fn revert(&self, report: &mut Report, cm: ConfigMap) -> Result<ExitCode> {
        let (ui, key, args) = (self.ui, self.key, self.args);
        let current = config_text(&cm, key)?;
        let Some(previous) = revert::previous_text(&cm, key) else {
            report.outcome = StrictArpResult::NothingToRevert;
            ui.nothing_to_revert(key);
            return Ok(ExitCode::Ok);
        };
        revert::ensure_revertible(&previous, &current, key)?;
        report.before = parse(&current).ok().map(|(_, s)| s);
        report.diff = config_diff(key, &current, &previous, "reverted");
        ui.plan("restore the configuration text lbctl replaced:");
        ui.diff(&report.diff);
        report.notes.push(SYSCTLS_STAY.into());
        if args.check || args.dry_run {
            return Ok(self.read_only(report, StrictArpResult::WouldRevert, "nothing written."));
        }
        self.require_write_permissions(!args.no_restart).await?;
        let written = self
            .update_configmap(cm, |latest| {
                revert::reverted(latest, key, &config_text(latest, key)?)
            })
            .await?;
        report.written = written.is_some();
        ui.restored(key);
        ui.note(SYSCTLS_STAY);
        if args.no_restart {
            ui.note(
                "--no-restart: the reverted configuration is not active until kube-proxy restarts",
            );
        } else {
            let changed = written.as_ref().and_then(staleness::last_change);
            self.restart(report, changed, Some("the restored text"))
                .await?;
        }
        report.outcome = StrictArpResult::Reverted;
        ui.verdict("done", "reverted.");
        Ok(ExitCode::Ok)
    }
}

fn flags_only(
    flags: &FlagsOnly,
    args: &EnableStrictarpArgs,
    ui: &Ui,
    report: &mut Report,
) -> ExitCode {
    ui.flags_only(flags);
    if flags.is_configured() {
        report.outcome = StrictArpResult::AlreadyConfigured;
        ui.verdict(
            "done",
            "kube-proxy already runs with --proxy-mode=ipvs --ipvs-strict-arp; nothing to do.",
        );
        return ExitCode::Ok;
    }
    report.outcome = StrictArpResult::FlagsOnly;
    report.instructions = flags.distribution.instructions();
    ui.verdict("plan", "lbctl changes nothing here. To enable strict ARP:");
    ui.instructions(&report.instructions);
    if args.check {
        return ExitCode::Failed;
    }
    ui.error(&format!(
        "lbctl cannot change a flags-only kube-proxy; follow the steps above, then run `{}`",
        crate::invocation::command_line("enable-strictarp --check")
    ));
    ExitCode::CannotRun
}
