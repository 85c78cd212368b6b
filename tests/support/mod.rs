//! The end-to-end harness every CLI test shares: start kube-sim from a scenario in
//! `tests/fixtures/clusters/`, write a kubeconfig into a temporary directory, run the real
//! `lbctl` binary with it, and read kube-sim's request log ("no write happened").
//!
//! Two backends ([`Backend`]): kube-sim, and a real control plane (`crates/control-plane`: a real
//! kube-apiserver, kube-controller-manager and kube-scheduler from `../shared/kubernetes-v1.36`)
//! whose nodes and MetalLB kube-sim's agent plays ([`kube_sim::agent`]). [`on_both_backends!`]
//! declares a test once and runs it on each (`NAME::kube_sim`, `NAME::real_control_plane`);
//! tests that need kube-sim's own powers (faults, the request log, the clock, settings switched
//! at run time) say so in their name (`..._sim_only`).
//!
//! Users' clusters: when `LBCTL_E2E_KUBECONFIG` names a kubeconfig, [`Cluster::start`] and
//! [`Sim::generic_on`] (the tests that need nothing but a generic kubeadm-like cluster) use that
//! cluster instead of kube-sim; every other test keeps its scenario. Only tests that need nothing but a generic kubeadm-like cluster
//! should use [`Cluster::start`]; tests that inject faults, read the request log or need a
//! particular layout use [`Cluster::sim_only`], which prints that it skips on a real cluster.
//!
//! It is a module of the one end-to-end test binary (`tests/e2e/main.rs`); snapshots of check
//! reports go through its one set of filters ([`report_filters`]).
//!
//! ```ignore
//! use crate::support;
//! let cluster = support::Sim::scenario("kubeadm-iptables").start();
//! cluster.lbctl().args(["enable-strictarp", "--check"]).assert().code(1);
//! assert!(cluster.writes().is_empty());
//! ```

pub mod node_facts;
mod report_filters;

pub use report_filters::report_filters;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube_sim::{AdmissionHook, LoggedRequest, Rule, Scenario, SimBuilder, SimHandle, User};

/// Where an end-to-end test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// kube-sim (or the cluster of `LBCTL_E2E_KUBECONFIG`, as [`Cluster::start`]).
    KubeSim,
    /// A real control plane with kube-sim's agent as its nodes and MetalLB.
    Real,
}

/// Declares an end-to-end test that runs on both backends: `fn name(backend) { ... }` becomes
/// `name::kube_sim` and `name::real_control_plane`, each calling the body with its [`Backend`].
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$attr:meta])* fn $name:ident($backend:ident) $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($backend: $crate::support::Backend) $body

            #[test]
            fn kube_sim() {
                body($crate::support::Backend::KubeSim)
            }

            #[test]
            fn real_control_plane() {
                body($crate::support::Backend::Real)
            }
        }
    };
}
use serde_json::Value;

/// Environment variable naming a real cluster's kubeconfig for the tests that can use one.
pub const REAL_CLUSTER_ENV: &str = "LBCTL_E2E_KUBECONFIG";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of a scenario file: `tests/fixtures/clusters/<name>.yaml`.
/// A kubeconfig in `dir` whose server is a loopback port nothing listens on (bound, then
/// dropped: it stays closed for a test's lifetime with high probability). A command that sends
/// a request with it exits 3; one that exits 2 proves it sent none.
pub fn closed_port_kubeconfig(dir: &Path) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:{port}'}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    path
}

pub fn scenario_path(name: &str) -> PathBuf {
    root()
        .join("tests/fixtures/clusters")
        .join(format!("{name}.yaml"))
}

/// The kubeadm cluster (`kubeadm-ipvs`) with extra objects (YAML list items indented by two spaces) appended.
pub fn kubeadm_with(extra: &str) -> Sim {
    let base = std::fs::read_to_string(scenario_path("kubeadm-ipvs")).unwrap();
    Sim::yaml(&format!("{}\n{extra}", base.trim_end()))
}

/// A kube-sim server to start: a scenario plus test-specific users, settings and hooks.
pub struct Sim {
    scenario: Scenario,
    hooks: Vec<AdmissionHook>,
}

impl Sim {
    /// Loads `tests/fixtures/clusters/<name>.yaml`.
    pub fn scenario(name: &str) -> Sim {
        let path = scenario_path(name);
        let scenario = Scenario::from_file(&path)
            .unwrap_or_else(|e| panic!("scenario {}: {e}", path.display()));
        Sim {
            scenario,
            hooks: Vec::new(),
        }
    }

    /// A scenario built or edited by the test.
    pub fn new(scenario: Scenario) -> Sim {
        Sim {
            scenario,
            hooks: Vec::new(),
        }
    }

    /// A scenario written inline.
    pub fn yaml(text: &str) -> Sim {
        Sim {
            scenario: Scenario::from_yaml(text).unwrap_or_else(|e| panic!("scenario: {e}")),
            hooks: Vec::new(),
        }
    }

    /// Adds a user with RBAC-like rules, written as a YAML list of rules, e.g.
    /// `- { apiGroups: [""], resources: [configmaps], verbs: [get] }`.
    pub fn user(mut self, name: &str, rules_yaml: &str) -> Sim {
        let rules: Vec<Rule> = serde_saphyr::from_str(rules_yaml)
            .unwrap_or_else(|e| panic!("rules of user {name}: {e}"));
        self.scenario
            .users
            .insert(name.to_string(), User { token: None, rules });
        self
    }

    /// Sets a scenario setting (`podsNeverReady`, `podReadyDelay`, ...).
    pub fn setting(mut self, key: &str, value: Value) -> Sim {
        self.scenario.settings.0.insert(key.to_string(), value);
        self
    }

    /// Adds an admission hook (sees every API write before it is stored).
    pub fn admission(mut self, hook: AdmissionHook) -> Sim {
        self.hooks.push(hook);
        self
    }

    /// Starts the scenario on `backend`; None (after one loud line on stderr) when the real tier
    /// cannot run on this machine (no `../shared/kubernetes-v1.36`, or not root: the agent's pod
    /// network is a network namespace).
    pub fn on(self, backend: Backend) -> Option<Cluster> {
        match backend {
            Backend::KubeSim => Some(self.start()),
            Backend::Real => self.start_real(),
        }
    }

    /// As [`Sim::on`], for a test that needs nothing but a generic kubeadm-like cluster: its
    /// kube-sim run goes to the cluster of `LBCTL_E2E_KUBECONFIG` when that is set.
    pub fn generic_on(self, backend: Backend) -> Option<Cluster> {
        match backend {
            Backend::KubeSim => Some(Cluster::start(self)),
            Backend::Real => self.start_real(),
        }
    }

    fn start_real(self) -> Option<Cluster> {
        if !self.hooks.is_empty() {
            panic!(
                "admission hooks are kube-sim's: name the test ..._sim_only and use Cluster::sim_only"
            );
        }
        if control_plane::should_skip() {
            return None;
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "skipping the real-control-plane tier: it needs root (the agent's pod network is a network namespace)"
                );
            });
            return None;
        }
        let mut options = control_plane::ControlPlaneOptions::default();
        for user in self.scenario.users.keys() {
            options = options.user(user, &[]);
        }
        let cp = control_plane::ControlPlane::start(options)
            .unwrap_or_else(|e| panic!("starting the real control plane: {e}"));
        let dir = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        cp.write_kubeconfig(&kubeconfig, control_plane::ADMIN)
            .expect("writing the kubeconfig");
        let config =
            kube_sim::agent::config_from_file(&kubeconfig).unwrap_or_else(|e| panic!("{e}"));
        let agent = kube_sim::agent::Agent::start(config, &self.scenario).unwrap_or_else(|e| {
            panic!(
                "{e}\nkube-controller-manager's log ends:\n{}",
                cp.log_tail(control_plane::Component::ControllerManager, 20)
            )
        });
        Some(Cluster {
            sim: None,
            real: Some(Real { agent, cp }),
            dir,
            kubeconfig,
        })
    }

    /// Starts kube-sim with the simulated cluster behaviour.
    pub fn start(self) -> Cluster {
        let mut builder = SimBuilder::new(self.scenario);
        for hook in self.hooks {
            builder = builder.admission(hook);
        }
        let handle = builder
            .with_cluster()
            .and_then(SimBuilder::spawn)
            .unwrap_or_else(|e| panic!("starting kube-sim: {e}"));
        let dir = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        handle
            .write_kubeconfig(&kubeconfig, "admin")
            .expect("writing the kubeconfig");
        Cluster {
            sim: Some(handle),
            real: None,
            dir,
            kubeconfig,
        }
    }
}

/// The real backend: the agent goes first (it stops writing before the API server goes).
pub struct Real {
    pub agent: kube_sim::agent::Agent,
    pub cp: control_plane::ControlPlane,
}

/// A cluster a test runs lbctl against: kube-sim, or a real one from `LBCTL_E2E_KUBECONFIG`.
pub struct Cluster {
    sim: Option<SimHandle>,
    real: Option<Real>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Cluster {
    /// The real cluster when `LBCTL_E2E_KUBECONFIG` is set, else kube-sim from `sim`.
    pub fn start(sim: Sim) -> Cluster {
        match std::env::var_os(REAL_CLUSTER_ENV).filter(|v| !v.is_empty()) {
            Some(path) => {
                eprintln!(
                    "using the real cluster of {REAL_CLUSTER_ENV}={}",
                    Path::new(&path).display()
                );
                Cluster {
                    sim: None,
                    real: None,
                    dir: tempfile::tempdir().expect("temporary directory"),
                    kubeconfig: PathBuf::from(path),
                }
            }
            None => sim.start(),
        }
    }

    /// kube-sim only: `None` (with a printed reason) when the tests target a real cluster.
    pub fn sim_only(test: &str, sim: Sim) -> Option<Cluster> {
        if std::env::var_os(REAL_CLUSTER_ENV).is_some_and(|v| !v.is_empty()) {
            eprintln!(
                "skipping {test}: it needs kube-sim (fault injection, request log or a specific layout), and {REAL_CLUSTER_ENV} selects a real cluster"
            );
            return None;
        }
        Some(sim.start())
    }

    pub fn is_sim(&self) -> bool {
        self.sim.is_some()
    }

    /// The kube-sim server (panics on a real cluster: use it only in sim-only tests).
    pub fn sim(&self) -> &SimHandle {
        self.sim
            .as_ref()
            .expect("this assertion needs kube-sim; use Cluster::sim_only")
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `lbctl` as the admin user, isolated from the caller's environment.
    pub fn lbctl(&self) -> assert_cmd::Command {
        command(&self.kubeconfig, self.dir.path())
    }

    /// `lbctl` as another user of the scenario.
    pub fn lbctl_as(&self, user: &str) -> assert_cmd::Command {
        command(&self.kubeconfig_for(user), self.dir.path())
    }

    /// `lbctl` with a kubeconfig the test wrote (a closed port, a broken file).
    pub fn lbctl_with_kubeconfig(&self, kubeconfig: &Path) -> assert_cmd::Command {
        command(kubeconfig, self.dir.path())
    }

    /// The real control plane (panics on kube-sim).
    pub fn real(&self) -> &Real {
        self.real
            .as_ref()
            .expect("this assertion needs the real control plane")
    }

    pub fn is_real(&self) -> bool {
        self.real.is_some()
    }

    /// A kubeconfig for a user of the scenario, written next to the others.
    pub fn kubeconfig_for(&self, user: &str) -> PathBuf {
        let path = self.dir.path().join(format!("kubeconfig-{user}"));
        match &self.real {
            Some(real) => real.cp.write_kubeconfig(&path, user),
            None => self.sim().write_kubeconfig(&path, user),
        }
        .expect("writing the kubeconfig");
        path
    }

    /// `kubectl` as the admin user against this cluster.
    pub fn kubectl(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new("kubectl");
        cmd.env_remove("KUBECONFIG")
            .env("HOME", self.dir.path())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .timeout(Duration::from_secs(60));
        cmd
    }

    /// The API server's URL.
    pub fn url(&self) -> String {
        if let Some(sim) = &self.sim {
            return sim.url();
        }
        let out = self
            .kubectl()
            .args([
                "config",
                "view",
                "--minify",
                "-o",
                "jsonpath={.clusters[0].cluster.server}",
            ])
            .output()
            .expect("running kubectl");
        String::from_utf8(out.stdout).expect("a URL")
    }

    /// An object as the API server has it now, None when it does not exist.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        if let Some(sim) = &self.sim {
            return sim.get(api_version, kind, namespace, name);
        }
        let mut cmd = self.kubectl();
        // managedFields too: kube-sim's objects have them, and they tell when an object changed.
        cmd.args([
            "get",
            &kubectl_resource(api_version, kind),
            name,
            "-o",
            "json",
            "--show-managed-fields",
        ]);
        if let Some(ns) = namespace {
            cmd.args(["-n", ns]);
        }
        let out = cmd.output().expect("running kubectl");
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("kubectl's JSON"))
    }

    /// Creates or replaces an object as a controller would (status included): on kube-sim past
    /// admission, on a real API server with `kubectl`.
    pub fn apply_object(&self, obj: Value) -> Value {
        if let Some(sim) = &self.sim {
            return sim.apply_object(obj);
        }
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let namespace = obj["metadata"]["namespace"].as_str().map(str::to_string);
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut body = obj.clone();
        let exists = self.get(&api_version, &kind, namespace.as_deref(), &name);
        if let Some(current) = &exists {
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        }
        let verb = if exists.is_some() {
            "replace"
        } else {
            "create"
        };
        let run = |args: &[&str], body: &Value| {
            let out = self
                .kubectl()
                .args(args)
                .args(["-o", "json", "-f", "-"])
                .write_stdin(body.to_string())
                .output()
                .expect("running kubectl");
            assert!(
                out.status.success(),
                "kubectl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).expect("kubectl's JSON")
        };
        let mut stored = run(&[verb], &body);
        if obj
            .get("status")
            .is_some_and(|s| s.as_object().is_some_and(|m| !m.is_empty()))
        {
            let mut with_status = stored.clone();
            with_status["status"] = obj["status"].clone();
            stored = run(&["replace", "--subresource=status"], &with_status);
        }
        stored
    }

    /// Waits until the clock is in a later second than the start of every pod of `selector` in
    /// `namespace`: API times have whole seconds, so a change made in the second a pod started
    /// cannot be told to be newer than it (on the real backend the scenario's pods have just
    /// started).
    pub fn after_pods_started(&self, namespace: &str, selector: &str) {
        let out = self
            .kubectl()
            .args(["get", "pods", "-n", namespace, "-l", selector, "-o", "json"])
            .output()
            .expect("running kubectl");
        let pods: Value = serde_json::from_slice(&out.stdout).expect("kubectl's JSON");
        let last = pods["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p["status"]["startTime"]
                    .as_str()?
                    .parse::<jiff::Timestamp>()
                    .ok()
            })
            .max();
        if let Some(last) = last {
            let next = last + jiff::SignedDuration::from_secs(1);
            while jiff::Timestamp::now() < next {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The temporary directory of this cluster (kubeconfigs; tests may put files there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every request kube-sim served so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.sim().requests()
    }

    /// Requests that could have changed the cluster.
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(LoggedRequest::is_write)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.sim().clear_requests();
    }

    /// Waits until the (simulated) controllers have settled what the scenario describes:
    /// `ready` holds, and on the real backend the agent has also written everything else it
    /// does in answer (kube-sim's controllers act at once on each write; the agent in passes,
    /// a write at a time).
    pub fn settle(&self, ready: impl Fn(&Cluster) -> bool) {
        let settled = self.eventually(Duration::from_secs(60), ready);
        assert!(settled, "the scenario never settled");
        if self.is_real() {
            let idle = self.real().agent.wait_idle(Duration::from_secs(30));
            assert!(idle, "the agent kept writing");
        }
    }

    /// Polls `check` until it is true or `timeout` passes; returns whether it became true.
    pub fn eventually(&self, timeout: Duration, mut check: impl FnMut(&Cluster) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if check(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// How kubectl names a kind of a group and version: `IPAddressPool.v1beta1.metallb.io`.
fn kubectl_resource(api_version: &str, kind: &str) -> String {
    match api_version.split_once('/') {
        Some((group, version)) => format!("{kind}.{version}.{group}"),
        None => kind.to_string(),
    }
}

fn command(kubeconfig: &Path, home: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_lbctl"));
    // A UTF-8 locale whatever the caller's: the human report's symbols depend on it.
    cmd.env_remove("KUBECONFIG")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        // Longer than any `--timeout` a test passes, so a slow server ends in lbctl's own timeout
        // message (what it waited for, what held it) rather than in a kill without output.
        .timeout(Duration::from_secs(240));
    cmd
}

/// What one check command printed in every report format.
pub struct Formats {
    pub code: i32,
    pub human: String,
    pub json: String,
    pub junit: String,
}

/// Runs a check command twice, as human output and as `-o json --junit FILE`, and asserts both
/// exit alike: exit codes never depend on the format.
pub fn in_every_format(mut lbctl: impl FnMut() -> assert_cmd::Command, junit: &Path) -> Formats {
    let human = lbctl().output().unwrap();
    let json = lbctl()
        .args(["-o", "json", "--junit"])
        .arg(junit)
        .output()
        .unwrap();
    let code = human.status.code().unwrap();
    assert_eq!(
        Some(code),
        json.status.code(),
        "exit codes differ between formats; stderr: {}",
        String::from_utf8_lossy(&human.stderr)
    );
    Formats {
        code,
        human: String::from_utf8(human.stdout).unwrap(),
        json: String::from_utf8(json.stdout).unwrap(),
        junit: std::fs::read_to_string(junit).unwrap(),
    }
}

/// stdout and stderr of a finished command, for readable assertion messages.
pub fn output_text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
