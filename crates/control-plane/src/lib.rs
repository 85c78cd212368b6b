//! A real Kubernetes control plane for lbctl's tests: etcd, kube-apiserver,
//! kube-controller-manager and kube-scheduler from `../shared/kubernetes-v1.36`, as
//! controller-runtime's envtest runs them. There is no kubelet: nodes and pod status are
//! written through the API by the tests.
//!
//! ```no_run
//! use control_plane::{ControlPlane, ControlPlaneOptions};
//!
//! if control_plane::should_skip() {
//!     return; // the binaries are absent: one loud line on stderr, once per process
//! }
//! let cp = ControlPlane::start(ControlPlaneOptions::default().user("viewer", &[])).unwrap();
//! cp.apply_rbac_for(
//!     "viewer",
//!     &[serde_json::json!({"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]})],
//! )
//! .unwrap();
//! let kubeconfig = cp.kubeconfig_yaml("viewer");
//! # let _ = kubeconfig;
//! ```
//!
//! - The binaries are unpacked once per run into `$TMPDIR/lbctl-k8s-<hash>/` (never into the
//!   repository); `LBCTL_K8S_BIN_DIR` names another directory of binaries or `.xz` files.
//! - One etcd per test process; every [`ControlPlane`] has its own API server (its own etcd
//!   key prefix), controller manager and scheduler, so clusters are isolated from each other.
//! - Every child process dies with the test process (`PR_SET_PDEATHSIG`); dropping a
//!   [`ControlPlane`] kills its processes and removes its directory
//!   (`$TMPDIR/lbctl-cp-<pid>-<n>`, logs included) unless `LBCTL_KEEP_CONTROL_PLANE=1`.
//!
//! See the crate's README for the start-up times and memory measured on a 2-core machine.

mod bins;
mod etcd;
mod process;

pub use bins::BIN_DIR_ENV;

use base64::Engine;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Event, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use process::Process;
use serde_json::{Value, json};
use std::fmt;
use std::fs;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Set to `1` to keep the clusters' directories (logs, certificates, kubeconfigs).
pub const KEEP_ENV: &str = "LBCTL_KEEP_CONTROL_PLANE";

/// The administrator (group `system:masters`) every cluster has.
pub const ADMIN: &str = "admin";

const SCHEDULER_PROBE: &str = "lbctl-cp-scheduler-probe";

/// Why a control plane could not start, with the end of the failing component's log.
#[derive(Debug, Clone)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error(message)
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ControlPlaneOptions {
    /// Token users besides [`ADMIN`]: name and groups. They have only what RBAC grants them
    /// (see [`ControlPlane::apply_rbac_for`]), unless a group is `system:masters`.
    pub users: Vec<(String, Vec<String>)>,
    /// Start kube-controller-manager and kube-scheduler (default). Without them no
    /// ServiceAccount `default` is created, so pods cannot be created either.
    pub controllers: bool,
    /// How long each component may take to become ready (default 60 s).
    pub timeout: Duration,
}

impl Default for ControlPlaneOptions {
    fn default() -> ControlPlaneOptions {
        ControlPlaneOptions {
            users: Vec::new(),
            controllers: true,
            timeout: Duration::from_secs(60),
        }
    }
}

impl ControlPlaneOptions {
    /// Adds a token user.
    pub fn user(mut self, name: &str, groups: &[&str]) -> ControlPlaneOptions {
        self.users.push((
            name.to_string(),
            groups.iter().map(|g| g.to_string()).collect(),
        ));
        self
    }
}

/// A process of the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The process's shared etcd.
    Etcd,
    ApiServer,
    ControllerManager,
    Scheduler,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
        }
    }
}

/// How long a start took.
#[derive(Debug, Clone, Default)]
pub struct StartupTimes {
    /// Unpacking the binaries, when this start did it (once per run).
    pub unpack: Option<Duration>,
    /// Starting the shared etcd, when this start did it (once per process).
    pub etcd: Option<Duration>,
    /// From spawning kube-apiserver to `/readyz` answering `ok`.
    pub apiserver: Duration,
    /// From spawning kube-apiserver to the controller manager's first work (ServiceAccount
    /// `default` in `default` and `kube-system`).
    pub controller_manager: Option<Duration>,
    /// From spawning kube-apiserver to the scheduler's first decision (a probe pod marked
    /// unschedulable).
    pub scheduler: Option<Duration>,
    /// The whole [`ControlPlane::start`].
    pub total: Duration,
}

impl fmt::Display for StartupTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        write!(
            f,
            "ready in {}: apiserver {}",
            s(self.total),
            s(self.apiserver)
        )?;
        if let Some(d) = self.controller_manager {
            write!(f, ", controller-manager {}", s(d))?;
        }
        if let Some(d) = self.scheduler {
            write!(f, ", scheduler {}", s(d))?;
        }
        if let Some(d) = self.etcd {
            write!(f, " (+ etcd {})", s(d))?;
        }
        if let Some(d) = self.unpack {
            write!(f, " (+ unpacking {})", s(d))?;
        }
        Ok(())
    }
}

struct User {
    name: String,
    groups: Vec<String>,
    token: String,
}

/// A running cluster; dropping it kills its processes and removes its directory.
pub struct ControlPlane {
    seq: u32,
    dir: PathBuf,
    keep: bool,
    port: u16,
    url: String,
    ca_pem: String,
    verify_tls: bool,
    users: Vec<User>,
    etcd: &'static etcd::Etcd,
    etcd_prefix: String,
    apiserver: Option<Process>,
    controller_manager: Option<Process>,
    scheduler: Option<Process>,
    times: StartupTimes,
    /// When kube-apiserver was spawned (the zero of the start-up times).
    spawned: Instant,
}

/// `Ok` when a control plane can start here, else why not.
pub fn available() -> Result<(), String> {
    bins::locate()
        .map(|_| ())
        .map_err(|e| e.message().to_string())
}

/// For tests: `true` when the real-control-plane tier must be skipped because
/// `../shared/kubernetes-v1.36` is absent; says so in one loud stderr line, once per process.
/// Panics when the binaries are there but unusable (or `LBCTL_K8S_BIN_DIR` is wrong): that is a
/// broken set-up, not a reason to skip.
pub fn should_skip() -> bool {
    static ONCE: Once = Once::new();
    match bins::locate() {
        Ok(_) => false,
        Err(bins::Unavailable::Absent(why)) => {
            // Straight to the file descriptor: the test harness captures `eprintln!`.
            ONCE.call_once(|| say(&format!("skipping the real-control-plane tier: {why}")));
            true
        }
        Err(bins::Unavailable::Broken(why)) => {
            panic!("the real-control-plane tier cannot run: {why}")
        }
    }
}

/// Removes what dead test processes left in `$TMPDIR` (done once by every process's first
/// [`ControlPlane::start`]); returns the removed directories.
#[doc(hidden)]
pub fn remove_leftovers() -> Vec<PathBuf> {
    process::remove_leftovers()
}

/// One line straight to the stderr file descriptor, past the test harness's capture of
/// `eprintln!` (which only shows a test's output when it fails).
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(io::stderr(), "{line}");
}

fn keep_requested() -> bool {
    std::env::var(KEEP_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

impl ControlPlane {
    /// `Ok` when a control plane can start here, else why not (see also [`should_skip`]).
    pub fn available() -> Result<(), String> {
        available()
    }

    /// Starts a fresh cluster and waits until its API server is ready and (with
    /// `options.controllers`) the controller manager and the scheduler are at work.
    pub fn start(options: ControlPlaneOptions) -> Result<ControlPlane, Error> {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let begun = Instant::now();
        process::remove_leftovers_once();
        let bins = bins::binaries()?;
        let keep = keep_requested();
        let (etcd, etcd_started) = etcd::shared(bins, keep, options.timeout)?;
        let seq = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("{}{pid}-{seq}", process::DIR_PREFIX));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut cp = ControlPlane {
            seq,
            dir,
            keep,
            port: 0,
            url: String::new(),
            ca_pem: String::new(),
            verify_tls: true,
            users: Vec::new(),
            etcd,
            etcd_prefix: format!("/{}{pid}-{seq}", process::DIR_PREFIX),
            apiserver: None,
            controller_manager: None,
            scheduler: None,
            times: StartupTimes {
                unpack: bins.unpacked_in.filter(|_| etcd_started),
                etcd: etcd_started.then_some(etcd.started_in),
                ..StartupTimes::default()
            },
            spawned: Instant::now(),
        };
        if keep {
            let _ = fs::write(cp.dir.join(process::KEEP_MARKER), "");
        }
        cp.write_credentials(&options)?;
        cp.start_apiserver(bins, options.timeout)?;
        if options.controllers {
            cp.start_controllers(bins, options.timeout)?;
        }
        cp.times.total = begun.elapsed();
        eprintln!(
            "lbctl-cp: cluster {} at {} {} (dir {})",
            cp.seq,
            cp.url,
            cp.times,
            cp.dir.display()
        );
        Ok(cp)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The API server's serving certificate chain (PEM), as generated in its `--cert-dir`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The bearer token of `user` (panics for a user not in the options).
    pub fn token(&self, user: &str) -> &str {
        &self.user(user).token
    }

    /// The cluster's directory (logs, certificates, kubeconfigs of the components).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn startup_times(&self) -> &StartupTimes {
        &self.times
    }

    /// A kubeconfig for `user` (panics for a user not in the options): the server's
    /// certificate as `certificate-authority-data` when it names 127.0.0.1, else
    /// `insecure-skip-tls-verify`.
    pub fn kubeconfig_yaml(&self, user: &str) -> String {
        let u = self.user(user);
        let q = |s: &str| Value::String(s.to_string()).to_string();
        let trust = if self.verify_tls {
            format!(
                "certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
            )
        } else {
            "insecure-skip-tls-verify: true".to_string()
        };
        let cluster = format!("lbctl-cp-{}", self.seq);
        let context = format!("{}@{cluster}", u.name);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster:\n    \
             server: {server}\n    {trust}\nusers:\n- name: {name}\n  user:\n    token: \
             {token}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {cluster}\n    \
             user: {name}\n    namespace: default\ncurrent-context: {ctx}\n",
            server = q(&self.url),
            name = q(&u.name),
            token = q(&u.token),
            ctx = q(&context),
        )
    }

    /// Writes [`kubeconfig_yaml`](Self::kubeconfig_yaml) to `path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>, user: &str) -> io::Result<()> {
        fs::write(path, self.kubeconfig_yaml(user))
    }

    /// A client acting as `user` (panics for a user not in the options). Call it in the
    /// runtime that will use the client.
    pub async fn client(&self, user: &str) -> kube::Client {
        client_from(&self.kubeconfig_yaml(user))
            .await
            .unwrap_or_else(|e| panic!("a client for {user} on {}: {e}", self.url))
    }

    /// Grants `user` exactly `rules` (RBAC PolicyRules as JSON) through the ClusterRole and
    /// ClusterRoleBinding `lbctl-test:<user>` (replaced when they exist), and waits until the
    /// API server's authorizer allows the first rule. Works from sync and async code; panics
    /// for a user not in the options.
    pub fn apply_rbac_for(&self, user: &str, rules: &[Value]) -> Result<(), Error> {
        let u = self.user(user);
        let parsed: Vec<PolicyRule> = serde_json::from_value(Value::Array(rules.to_vec()))
            .map_err(|e| format!("rules for {user} are not RBAC PolicyRules: {e}"))?;
        let name = format!("lbctl-test:{user}");
        let role = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules,
        });
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        });
        let review = parsed.first().map(|rule| access_review(rule, u));
        let admin = self.kubeconfig_yaml(ADMIN);
        block_on(async move {
            let client = client_from(&admin).await?;
            let params = PatchParams::apply("lbctl-control-plane").force();
            Api::<ClusterRole>::all(client.clone())
                .patch(&name, &params, &Patch::Apply(&role))
                .await
                .map_err(|e| format!("apply ClusterRole {name}: {e}"))?;
            Api::<ClusterRoleBinding>::all(client.clone())
                .patch(&name, &params, &Patch::Apply(&binding))
                .await
                .map_err(|e| format!("apply ClusterRoleBinding {name}: {e}"))?;
            let Some(review) = review else {
                return Ok(());
            };
            // The authorizer reads RBAC objects from an informer: wait until it has them.
            let reviews: Api<SubjectAccessReview> = Api::all(client);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let answer = reviews
                    .create(&PostParams::default(), &review)
                    .await
                    .map_err(|e| format!("SubjectAccessReview for {name}: {e}"))?;
                if answer.status.is_some_and(|s| s.allowed) {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "the API server still denies {review:?} 10 s after {name} was applied"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .map_err(Error)
    }

    /// The last `lines` lines of a component's log.
    pub fn log_tail(&self, component: Component, lines: usize) -> String {
        let log = match component {
            Component::Etcd => self.etcd.log.clone(),
            _ => self.dir.join(format!("{}.log", component.name())),
        };
        process::tail(&log, lines)
    }

    /// Resident memory of the cluster's processes (and the shared etcd), in bytes.
    pub fn memory(&self) -> Vec<(Component, u64)> {
        let mut all = vec![(Component::Etcd, self.etcd.pid())];
        for (component, process) in [
            (Component::ApiServer, &self.apiserver),
            (Component::ControllerManager, &self.controller_manager),
            (Component::Scheduler, &self.scheduler),
        ] {
            if let Some(p) = process {
                all.push((component, p.pid()));
            }
        }
        all.into_iter()
            .filter_map(|(c, pid)| Some((c, process::rss_bytes(pid)?)))
            .collect()
    }

    fn user(&self, name: &str) -> &User {
        self.users
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("no user {name:?} in this control plane's options"))
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn write_credentials(&mut self, options: &ControlPlaneOptions) -> Result<(), Error> {
        let masters = vec!["system:masters".to_string()];
        let mut users = vec![
            (ADMIN.to_string(), masters.clone()),
            (
                "system:kube-controller-manager".to_string(),
                masters.clone(),
            ),
            ("system:kube-scheduler".to_string(), masters),
        ];
        for (name, groups) in &options.users {
            if users.iter().any(|(n, _)| n == name) {
                return Err(Error(format!(
                    "user {name:?} is given twice (or is built in)"
                )));
            }
            let bad = |s: &str| s.is_empty() || s.contains([',', '"', '\n']);
            if bad(name) || groups.iter().any(|g| bad(g)) {
                return Err(Error(format!(
                    "user {name:?} or its groups {groups:?}: empty, or a comma or quote in a name"
                )));
            }
            users.push((name.clone(), groups.clone()));
        }
        let mut csv = String::new();
        for (uid, (name, groups)) in users.into_iter().enumerate() {
            let token = bins::random_hex(16);
            csv.push_str(&format!("{token},{name},{}", uid + 1));
            if !groups.is_empty() {
                csv.push_str(&format!(",\"{}\"", groups.join(",")));
            }
            csv.push('\n');
            self.users.push(User {
                name,
                groups,
                token,
            });
        }
        let key = rcgen::KeyPair::generate()
            .map_err(|e| format!("cannot generate the service-account key: {e}"))?;
        for (file, text) in [
            ("tokens.csv", csv),
            ("sa.key", key.serialize_pem()),
            ("sa.pub", key.public_key_pem()),
        ] {
            write_private(&self.path(file), &text)
                .map_err(|e| format!("cannot write {}: {e}", self.path(file).display()))?;
        }
        Ok(())
    }

    fn start_apiserver(&mut self, bins: &bins::Binaries, timeout: Duration) -> Result<(), Error> {
        let log = self.path("kube-apiserver.log");
        self.spawned = Instant::now();
        for attempt in 1..=5 {
            let port = process::free_port().map_err(|e| format!("no free port: {e}"))?;
            match self.try_apiserver(bins, port, timeout) {
                Err(_) if attempt < 5 && process::bind_failed(&log) => {
                    // Someone took the port between our probe and the API server's bind.
                    let _ = fs::rename(&log, self.path(&format!("kube-apiserver.{attempt}.log")));
                }
                result => {
                    self.times.apiserver = self.spawned.elapsed();
                    return result;
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    fn try_apiserver(
        &mut self,
        bins: &bins::Binaries,
        port: u16,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.apiserver = None;
        let mut command = Command::new(bins.path("kube-apiserver"));
        command.args([
            format!("--etcd-servers={}", self.etcd.url()),
            format!("--etcd-prefix={}", self.etcd_prefix),
            format!("--secure-port={port}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--cert-dir={}", self.path("certs").display()),
            "--service-cluster-ip-range=10.96.0.0/12".into(),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            format!(
                "--service-account-key-file={}",
                self.path("sa.pub").display()
            ),
            format!(
                "--service-account-signing-key-file={}",
                self.path("sa.key").display()
            ),
            format!("--token-auth-file={}", self.path("tokens.csv").display()),
            "--authorization-mode=RBAC".into(),
            "--allow-privileged=true".into(),
            "--enable-aggregator-routing=true".into(),
            "--kubelet-preferred-address-types=Hostname,InternalIP".into(),
        ]);
        let log = self.path("kube-apiserver.log");
        let child = process::spawn(command, &log)
            .map_err(|e| format!("cannot start kube-apiserver: {e}"))?;
        let pid = child.id();
        self.apiserver = Some(Process { child });
        self.port = port;
        self.url = format!("https://127.0.0.1:{port}");
        let deadline = Instant::now() + timeout;
        // It writes its certificates before it listens.
        let cert = self.path("certs/apiserver.crt");
        while !(process::accepts(port) && cert.exists()) {
            if !process_running(pid) {
                return Err(self.exited(Component::ApiServer));
            }
            if Instant::now() > deadline {
                return Err(self.not_ready(Component::ApiServer, timeout, "did not listen"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.ca_pem = fs::read_to_string(&cert)
            .map_err(|e| format!("kube-apiserver serves but {}: {e}", cert.display()))?;
        self.verify_tls = names_localhost_ip(&self.ca_pem);
        let admin = self.kubeconfig_yaml(ADMIN);
        let waited = block_on(async move {
            let client = client_from(&admin).await.map_err(Waited::Other)?;
            loop {
                let request = http::Request::get("/readyz").body(Vec::new()).unwrap();
                if let Ok(body) = client.request_text(request).await
                    && body == "ok"
                {
                    return Ok(());
                }
                if !process_running(pid) {
                    return Err(Waited::Exited(Component::ApiServer));
                }
                if Instant::now() > deadline {
                    return Err(Waited::Timeout(Component::ApiServer));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        waited.map_err(|w| self.waited_error(w, timeout))
    }

    fn start_controllers(&mut self, bins: &bins::Binaries, timeout: Duration) -> Result<(), Error> {
        let spawned = self.spawned;
        let kcm_kubeconfig = self.path("kube-controller-manager.kubeconfig");
        let scheduler_kubeconfig = self.path("kube-scheduler.kubeconfig");
        let io_error = |path: &Path, e: io::Error| Error(format!("{}: {e}", path.display()));
        self.write_kubeconfig(&kcm_kubeconfig, "system:kube-controller-manager")
            .map_err(|e| io_error(&kcm_kubeconfig, e))?;
        self.write_kubeconfig(&scheduler_kubeconfig, "system:kube-scheduler")
            .map_err(|e| io_error(&scheduler_kubeconfig, e))?;

        let mut kcm = Command::new(bins.path("kube-controller-manager"));
        kcm.args([
            format!("--kubeconfig={}", kcm_kubeconfig.display()),
            "--leader-elect=false".into(),
            "--bind-address=127.0.0.1".into(),
            "--secure-port=0".into(),
            format!(
                "--service-account-private-key-file={}",
                self.path("sa.key").display()
            ),
            format!(
                "--root-ca-file={}",
                self.path("certs/apiserver.crt").display()
            ),
            "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route".into(),
        ]);
        let log = self.path("kube-controller-manager.log");
        let child = process::spawn(kcm, &log)
            .map_err(|e| format!("cannot start kube-controller-manager: {e}"))?;
        self.controller_manager = Some(Process { child });

        let mut scheduler = Command::new(bins.path("kube-scheduler"));
        scheduler.args([
            format!("--kubeconfig={}", scheduler_kubeconfig.display()),
            "--leader-elect=false".into(),
            "--bind-address=127.0.0.1".into(),
            "--secure-port=0".into(),
        ]);
        let log = self.path("kube-scheduler.log");
        let child = process::spawn(scheduler, &log)
            .map_err(|e| format!("cannot start kube-scheduler: {e}"))?;
        self.scheduler = Some(Process { child });

        let kcm_pid = self.controller_manager.as_ref().map_or(0, Process::pid);
        let scheduler_pid = self.scheduler.as_ref().map_or(0, Process::pid);
        let admin = self.kubeconfig_yaml(ADMIN);
        let deadline = Instant::now() + timeout;
        let waited = block_on(async move {
            let client = client_from(&admin).await.map_err(Waited::Other)?;
            // The serviceaccount controller's first work.
            for namespace in ["default", "kube-system"] {
                let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
                while accounts.get_opt("default").await.ok().flatten().is_none() {
                    if !process_running(kcm_pid) {
                        return Err(Waited::Exited(Component::ControllerManager));
                    }
                    if Instant::now() > deadline {
                        return Err(Waited::Timeout(Component::ControllerManager));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            let kcm_ready = spawned.elapsed();
            // The scheduler's first decision: no node fits a probe pod.
            let pods: Api<Pod> = Api::namespaced(client, "kube-system");
            let probe: Pod = serde_json::from_value(json!({
                "metadata": {"name": SCHEDULER_PROBE},
                "spec": {
                    "automountServiceAccountToken": false,
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "probe", "image": "lbctl.invalid/probe"}],
                },
            }))
            .expect("the probe pod is a Pod");
            let _ = pods.delete(SCHEDULER_PROBE, &DeleteParams::default()).await;
            loop {
                match pods.get_opt(SCHEDULER_PROBE).await {
                    Ok(Some(pod)) => {
                        let conditions = pod.status.and_then(|s| s.conditions).unwrap_or_default();
                        if conditions.iter().any(|c| c.type_ == "PodScheduled") {
                            break;
                        }
                    }
                    Ok(None) => {
                        let _ = pods.create(&PostParams::default(), &probe).await;
                    }
                    Err(_) => {}
                }
                if !process_running(scheduler_pid) {
                    return Err(Waited::Exited(Component::Scheduler));
                }
                if Instant::now() > deadline {
                    return Err(Waited::Timeout(Component::Scheduler));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let scheduler_ready = spawned.elapsed();
            pods.delete(SCHEDULER_PROBE, &DeleteParams::default().grace_period(0))
                .await
                .map_err(|e| Waited::Other(format!("deleting the scheduler's probe pod: {e}")))?;
            // And its FailedScheduling event, which the scheduler sends shortly (best effort:
            // tests that read events should not meet a pod that never was theirs).
            let events: Api<Event> = Api::namespaced(pods.into_client(), "kube-system");
            let about_probe =
                ListParams::default().fields(&format!("involvedObject.name={SCHEDULER_PROBE}"));
            let give_up = Instant::now() + Duration::from_secs(2);
            while Instant::now() < give_up {
                let found = events.list(&about_probe).await.map(|l| l.items.len());
                if found.is_ok_and(|n| n > 0) {
                    let _ = events
                        .delete_collection(&DeleteParams::default(), &about_probe)
                        .await;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok((kcm_ready, scheduler_ready))
        });
        let (kcm, scheduler) = waited.map_err(|w| self.waited_error(w, timeout))?;
        self.times.controller_manager = Some(kcm);
        self.times.scheduler = Some(scheduler);
        Ok(())
    }

    fn waited_error(&mut self, waited: Waited, timeout: Duration) -> Error {
        match waited {
            Waited::Exited(component) => self.exited(component),
            Waited::Timeout(component) => {
                let what = match component {
                    Component::ApiServer => "did not answer /readyz with ok",
                    Component::Scheduler => "did not mark a probe pod unschedulable",
                    _ => "did not create the ServiceAccounts `default`",
                };
                self.not_ready(component, timeout, what)
            }
            Waited::Other(e) => Error(e),
        }
    }

    fn not_ready(&self, component: Component, timeout: Duration, what: &str) -> Error {
        Error(format!(
            "{} {what} within {timeout:?} (a 2-core machine under load may need a longer \
             ControlPlaneOptions::timeout); the end of {}:\n{}",
            component.name(),
            self.path(&format!("{}.log", component.name())).display(),
            self.log_tail(component, 30)
        ))
    }

    fn exited(&mut self, component: Component) -> Error {
        let process = match component {
            Component::ApiServer => self.apiserver.as_mut(),
            Component::ControllerManager => self.controller_manager.as_mut(),
            Component::Scheduler => self.scheduler.as_mut(),
            Component::Etcd => None,
        };
        let status = process
            .and_then(Process::exited)
            .map_or_else(|| "?".to_string(), |s| s.to_string());
        Error(format!(
            "{} exited ({status}) while starting; the end of {}:\n{}",
            component.name(),
            self.path(&format!("{}.log", component.name())).display(),
            self.log_tail(component, 30)
        ))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Controllers first, so they do not log the API server's death.
        drop(self.scheduler.take());
        drop(self.controller_manager.take());
        let had_apiserver = self.apiserver.take().is_some();
        if had_apiserver {
            self.etcd.delete_prefix(&format!("{}/", self.etcd_prefix));
        }
        if self.keep {
            say(&format!(
                "lbctl-cp: kept cluster {}'s directory {} ({KEEP_ENV} is set)",
                self.seq,
                self.dir.display()
            ));
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

enum Waited {
    Exited(Component),
    Timeout(Component),
    Other(String),
}

/// The question "may `user` do what `rule` grants?" (its first verb, group, resource, name).
fn access_review(rule: &PolicyRule, user: &User) -> SubjectAccessReview {
    let first = |v: &Option<Vec<String>>| v.as_ref().and_then(|v| v.first().cloned());
    let verb = rule.verbs.first().cloned();
    let (resource_attributes, non_resource_attributes) = match first(&rule.non_resource_urls) {
        Some(path) => (
            None,
            Some(NonResourceAttributes {
                path: Some(path),
                verb,
            }),
        ),
        None => {
            let resource = first(&rule.resources).unwrap_or_default();
            let (resource, subresource) = match resource.split_once('/') {
                Some((r, s)) => (r.to_string(), Some(s.to_string())),
                None => (resource, None),
            };
            (
                Some(ResourceAttributes {
                    group: first(&rule.api_groups),
                    resource: Some(resource),
                    subresource,
                    name: first(&rule.resource_names),
                    verb,
                    ..ResourceAttributes::default()
                }),
                None,
            )
        }
    };
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.name.clone()),
            groups: Some(user.groups.clone()),
            resource_attributes,
            non_resource_attributes,
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    }
}

async fn client_from(kubeconfig_yaml: &str) -> Result<kube::Client, String> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(kubeconfig_yaml)
        .map_err(|e| format!("kubeconfig: {e}"))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| format!("kubeconfig: {e}"))?;
    kube::Client::try_from(config).map_err(|e| format!("client: {e}"))
}

/// Runs `future` to completion on a fresh single-threaded runtime on its own thread, so that
/// sync tests and async tests (inside another runtime) can both call this crate.
fn block_on<T: Send>(future: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime")
                    .block_on(future)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Alive and not a zombie (checked without reaping, which `Child` does later).
fn process_running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether the first certificate in `pem` has the IP address 127.0.0.1 among its subject
/// alternative names (DER `[7] 04 7f000001`; an IPv4 iPAddress entry).
fn names_localhost_ip(pem: &str) -> bool {
    let Some(body) = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
    else {
        return false;
    };
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return false;
    };
    der.windows(6).any(|w| w == [0x87, 0x04, 127, 0, 0, 1])
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str]) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        rcgen::CertificateParams::new(names)
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem()
    }

    #[test]
    fn a_certificate_for_127_0_0_1_is_trusted_else_verification_is_skipped() {
        assert!(names_localhost_ip(&self_signed(&[
            "kubernetes",
            "127.0.0.1"
        ])));
        assert!(!names_localhost_ip(&self_signed(&[
            "localhost",
            "10.96.0.1"
        ])));
        assert!(!names_localhost_ip("not a certificate"));
    }

    #[test]
    fn processes_that_are_gone_are_not_running() {
        assert!(process_running(std::process::id()));
        assert!(!process_running(u32::MAX));
    }
}
