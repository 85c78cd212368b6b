//! Command-line definitions only: no behaviour lives here.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{EnumValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::checks::FailOn;
use crate::kube::ConnectOptions;
use crate::kubeproxy::plan::ModeChoice;
use crate::metallb::render::{LogLevel, PullPolicy, RenderOptions};

/// Get MetalLB working in L2 mode on bare-metal Kubernetes, and prove that it works.
#[derive(Debug, Parser)]
#[command(
    name = "lbctl",
    version,
    propagate_version = true,
    about,
    long_about = "lbctl prepares a Kubernetes cluster for MetalLB in L2 mode (kube-proxy IPVS + strictARP), \
installs MetalLB from manifests built into the binary, and checks that every address is really announced.\n\n\
Exit codes: 0 success, 1 a check failed or --check found changes, 2 bad usage or input, \
3 could not run (cluster unreachable, credentials, permission, timeout).",
    after_help = examples(&[
        "preflight --pool 192.168.10.240-192.168.10.250",
        "enable-strictarp --dry-run",
        "version -o json",
    ])
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by every subcommand; they behave like kubectl's.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit).
    #[arg(long, global = true, value_name = "DURATION", value_parser = Checked(parse_request_timeout))]
    pub request_timeout: Option<Duration>,

    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,

    /// When to colour human output (auto: only on a terminal and when NO_COLOR is unset).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// More detail on stderr; repeat for more (-vv shows every API request).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only results and problems, for scripts and CI logs: no step lines, headlines, spinners,
    /// --wait rounds or doctor --bundle's "wrote" line. Reports, diffs, dry-run objects, errors,
    /// warnings, hints and a writing command's final line stay.
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace.
    #[arg(
        long,
        global = true,
        value_name = "NAMESPACE",
        default_value = DEFAULT_METALLB_NAMESPACE,
        value_parser = Checked(parse_namespace)
    )]
    pub metallb_namespace: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text (default).
    Human,
    /// One JSON document on stdout with a stable schema.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl From<&GlobalArgs> for ConnectOptions {
    fn from(global: &GlobalArgs) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: global.kubeconfig.clone(),
            context: global.context.clone(),
            request_timeout: global.request_timeout,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the lbctl version, the embedded MetalLB version and the server version.
    Version(VersionArgs),

    /// Switch kube-proxy to IPVS mode with strictARP, restart it and wait (MetalLB L2 needs it).
    #[command(
        long_about = "Switch kube-proxy to IPVS mode with ipvs.strictARP: true, restart kube-proxy and wait for the rollout.\n\n\
In IPVS mode every node binds every Service IP to kube-ipvs0 and, without strict ARP, answers ARP for \
all LoadBalancer IPs: MetalLB's leader election is bypassed. lbctl finds the KubeProxyConfiguration through \
the kube-proxy DaemonSet (kubeadm, kind, kubespray, EKS and other layouts), edits only the two values \
(every other byte stays), shows a diff, checks permissions, writes with the resourceVersion it read \
(retrying on conflicts), keeps the replaced text for --revert, then restarts kube-proxy like \
`kubectl rollout restart` and waits.\n\n\
Exit codes: 0 done or nothing to do, 1 --check found changes, 2 bad input (e.g. a configuration \
that does not parse), 3 could not run (permission, timeout, flags-only kube-proxy).",
        after_help = examples(&[
            "enable-strictarp --dry-run              # show the diff, write nothing",
            "enable-strictarp --check                # CI: exit 1 when a change is needed",
            "enable-strictarp                        # apply, restart kube-proxy, wait up to 5m",
            "enable-strictarp --mode keep            # only set strictARP, keep the proxy mode",
            "enable-strictarp --mode ipvs            # also switch away from nftables",
            "enable-strictarp --no-restart           # write only; restart kube-proxy yourself later",
            "enable-strictarp --timeout 10m          # wait longer for the kube-proxy rollout",
            "enable-strictarp --revert               # restore the text lbctl replaced",
            "enable-strictarp -o json --dry-run      # the plan as a JSON document",
        ])
    )]
    EnableStrictarp(EnableStrictarpArgs),

    /// Print a shell completion script.
    #[command(
        after_help = examples(&[
            "completions bash > /etc/bash_completion.d/lbctl",
            "completions zsh > \"${fpath[1]}/_lbctl\"",
            "completions fish > ~/.config/fish/completions/lbctl.fish",
        ])
    )]
    Completions(CompletionsArgs),

    /// Check whether this cluster, this node and a pool are ready for MetalLB L2 (read-only).
    #[command(
        long_about = "Checks, without changing anything, whether MetalLB in L2 mode will work: the cluster \
(version, permissions, kube-proxy mode and strictARP, cloud provider, other load-balancer implementations, \
an existing MetalLB, Pod Security of its namespace, nodes that can announce), this host (ARP sysctls, \
IPVS modules, rp_filter, proxy_arp, ip_forward, port 7946) and the pools (syntax, overlaps, on-link, \
ARP probes). Every result has a check ID documented in docs/checks.md.\n\n\
Without a reachable cluster (or kubeconfig) preflight exits 3: it cannot tell this host from a \
workstation, so the node checks are skipped. With --local the cluster is not contacted and this host \
is judged as a node, with the pools. With --nodes all|SELECTOR the node checks run on every selected node instead, through \
a short-lived read-only pod on each (docs/node-checks.md), and are reported once per node.\n\n\
Exit codes: 0 all checks passed (warnings allowed unless --fail-on warning), 1 a check failed, \
2 bad flags, pool or config file, 3 a check could not run (unreachable, permission) and none failed.",
        after_help = examples(&[
            "preflight --pool 192.168.10.240-192.168.10.250",
            "preflight --config pools.yaml --junit preflight.xml",
            "preflight --local --pool 192.168.10.240/28",
            "preflight --for install --ignore LB113 -o json",
            "preflight --wait 5m   # e.g. while kube-proxy rolls out",
            "preflight --nodes all --node-namespace lbctl   # every node, through a pod on each",
            "preflight -n metallb   # MetalLB in namespace metallb",
        ])
    )]
    Preflight(PreflightArgs),

    /// Probe pool addresses with ARP (RFC 5227) or, for IPv6, NDP to find hosts already using them.
    #[command(
        long_about = "Sends RFC 5227 ARP probes (sender IP 0.0.0.0, so no neighbour cache changes) for every \
IPv4 address of the given pools from this host, and NDP Neighbor Solicitations for every IPv6 address \
(from the interface's link-local address, which MetalLB speakers answer too; RFC 4862 DAD probes from :: \
when it has none), and reports which addresses some host already claims.\n\n\
Each POOL is what an IPAddressPool accepts: CIDRs, ranges a-b and single addresses, several \
separated by commas. Addresses behind a gateway are reported as not on link and never probed; \
addresses of this host are reported as ours. An answer proves an address is in use, silence never that it \
stays free: a sleeping host does not answer.\n\n\
Needs CAP_NET_RAW (root, or `setcap cap_net_raw+ep $(command -v lbctl)`).\n\n\
Exit codes: 0 every address is free, 1 an address is in use, in conflict, ours or not on link, \
2 bad pool or flags, 3 could not probe (permission, or the deadline left addresses unprobed).",
        after_help = examples(&[
            "probe 192.168.10.240-192.168.10.250",
            "probe 192.168.10.0/24 --interface eth1 --rate 100",
            "probe 192.168.10.240/28,192.168.10.7 -o json | jq '.addresses[] | select(.status != \"free\")'",
        ])
    )]
    Probe(ProbeArgs),

    /// Install MetalLB (built into lbctl) and its address pools, and wait until it serves.
    #[command(
        long_about = "Installs MetalLB v0.16.1 in L2 mode from the objects built into lbctl: namespace, CRDs, \
RBAC, controller, speaker and webhook, then the address pools and their L2Advertisements once \
MetalLB's webhook accepts them. Every write is a server-side apply with field manager lbctl; \
running it again changes nothing, and a newer lbctl upgrades in place.\n\n\
Before writing, install checks the cluster (an existing Helm release, the namespace's Pod Security \
level) and the pools; --skip-preflight skips that, --ignore ID turns a failed check into a warning.\n\n\
Exit codes: 0 installed, 1 a check failed, 2 bad flags or pool file, 3 could not run (unreachable, \
permission, timeout, webhook never ready).",
        after_help = examples(&[
            "install --pool 192.168.10.240-192.168.10.250",
            "install --config pools.yaml --timeout 10m",
            "install --dry-run > metallb.yaml",
            "install --registry registry.local:5000/metallb --image-pull-policy IfNotPresent",
            "install -n metallb --pool 192.168.10.240/28   # into namespace metallb",
        ])
    )]
    Install(InstallArgs),

    /// Check that MetalLB is healthy and that its addresses are really announced (read-only).
    #[command(
        long_about = "Checks an installed MetalLB the way its troubleshooting guide asks you to by hand: \
namespace, CRDs and version; controller and speaker rollouts and a speaker on every node that can \
announce; the webhook (endpoints, caBundle against its certificate, a server-side dry-run pool); \
the memberlist Secret and every component's ConfigurationState; pools outside MetalLB's namespace, \
without an L2Advertisement, exhausted or overlapping; LoadBalancer services that are pending (with \
MetalLB's reason), assigned but not announced, or announced from a node without a local endpoint; \
kube-proxy's mode, strictARP and restart. With CAP_NET_RAW (or --probe) it also probes \
every assigned address on this host's segments (ARP for IPv4, NDP for IPv6): exactly one MAC must answer, and it should be \
the announcing node's.\n\n\
The API requests are a fixed set of lists, whatever the number of nodes and services. With \
--nodes all|SELECTOR it also checks the ARP sysctls, IPVS modules and memberlist port of every \
selected node through a short-lived read-only pod on each (docs/node-checks.md). Every \
result has a check ID documented in docs/checks.md.\n\n\
With --bundle FILE.tar.gz it also writes a support bundle: the report (JSON), the version, MetalLB's \
objects (every metallb.io kind, the webhook configuration, Deployments, DaemonSets, pods), the last \
--bundle-log-lines lines of every MetalLB container's log (and of the previous container after a \
restart), events of MetalLB's namespace and of every LoadBalancer Service, those Services, nodes, \
kube-proxy's DaemonSet and ConfigMap, node facts with --nodes, and MANIFEST.txt listing what could \
not be read and why. Secrets appear as names, types and keys only; no kubeconfig, token or key.\n\n\
Exit codes: 0 all checks passed (warnings allowed unless --fail-on warning), 1 a check failed, \
2 bad flags or a --bundle/--junit path whose directory does not exist, 3 a check could not run \
(unreachable, permission) and none failed, or the bundle could not be written.",
        after_help = examples(&[
            "doctor",
            "doctor --wait 2m --junit doctor.xml   # right after install: until MetalLB is up",
            "doctor --no-probe -o json | jq '.checks[] | select(.status != \"pass\")'",
            "doctor --ignore LB414 --fail-on warning",
            "doctor --nodes node-role.kubernetes.io/worker",
            "doctor -n metallb   # MetalLB in namespace metallb",
            "doctor --bundle lbctl-bundle.tar.gz   # for a support request",
        ])
    )]
    Doctor(DoctorArgs),

    /// Explain why a LoadBalancer address is (not) reachable, node by node, as MetalLB's L2 election decides.
    #[command(
        long_about = "Replays MetalLB v0.16.1's layer-2 election for one LoadBalancer Service: the address and its \
pool (or why none was assigned), the L2Advertisements that apply, the serving endpoints, every node kept or \
dropped with its reason (ready speaker, NetworkUnavailable, the exclude-from-external-load-balancers label, \
nodeSelectors, externalTrafficPolicy Local), the sha256(node#ip) order and the predicted node; compares it \
with ServiceL2Status and the speakers' latest event, and, when this host is on the address's segment and \
may send raw packets, with what answers ARP/NDP. With --nodes all|SELECTOR, a short-lived pod on the \
predicted node and on the nodes ServiceL2Status names reads their interfaces: those the speaker answers on \
(up, broadcast, not a bond or bridge port, not NOARP, not excluded by metallb-excludel2, among the \
L2Advertisement's interfaces), whether one is on the address's subnet, and their MACs for the wire. One \
verdict with an LB6xx reason (docs/checks.md).\n\n\
Exit codes: 0 the address is announced by the predicted node, 1 it is not (the reason says why), \
2 bad usage or no such LoadBalancer Service, 3 could not look (unreachable, permission).",
        after_help = examples(&[
            "explain web -n shop",
            "explain web -n shop -o json",
            "explain --all",
            "explain web --no-probe   # Service web in the context's namespace",
            "explain web --nodes all   # the announcing node's interfaces, through a pod",
        ])
    )]
    Explain(ExplainArgs),

    /// Remove MetalLB: pools, webhook, workloads, RBAC, CRDs and namespace.
    #[command(
        long_about = format!("Removes what {} wrote, in the order that keeps nothing half-working: pools and \
advertisements first, then the webhook configuration, the workloads, RBAC, the CRDs and the namespace; \
then waits until they are gone. Safe to repeat.\n\n\
Exit codes: 0 removed (or nothing to remove), 2 bad flags, 3 could not run (unreachable, permission, timeout).",
            crate::invocation::command_line("install")),
        after_help = examples(&[
            "uninstall --dry-run",
            "uninstall --keep-crds",
            "uninstall -n metallb   # MetalLB in namespace metallb",
        ])
    )]
    Uninstall(UninstallArgs),

    /// Print the man page (roff) for lbctl or one of its subcommands.
    #[command(hide = true)]
    Man(ManArgs),
}

impl Command {
    /// The MetalLB namespace given with `-n/--namespace`, for the commands that take it there.
    pub fn metallb_namespace(&self) -> Option<&str> {
        let arg = match self {
            Command::Install(a) => &a.namespace,
            Command::Doctor(a) => &a.namespace,
            Command::Uninstall(a) => &a.namespace,
            Command::Preflight(a) => &a.namespace,
            _ => return None,
        };
        arg.namespace.as_deref()
    }
}

impl Cli {
    /// The global flags with MetalLB's namespace as the command line gives it: `-n/--namespace`
    /// of the subcommand, else the global `--metallb-namespace`. Both naming different
    /// namespaces is a usage error; checked here, not by clap, which cannot relate a global
    /// flag given before the subcommand (nor build a subcommand alone, for its man page).
    pub fn resolved_global(&self) -> crate::Result<GlobalArgs> {
        let mut global = self.global.clone();
        // clap's `conflicts_with` sees `-q -v` on one side of the subcommand, not across it.
        if global.quiet && global.verbose > 0 {
            return Err(crate::Error::usage_with_hint(
                "-q/--quiet cannot be used with -v/--verbose",
                "give one of them",
            ));
        }
        if let Some(ns) = self.command.metallb_namespace() {
            let given = &global.metallb_namespace;
            if given != DEFAULT_METALLB_NAMESPACE && given != ns {
                return Err(crate::Error::usage_with_hint(
                    format!(
                        "-n/--namespace {ns} and --metallb-namespace {given} name different namespaces for MetalLB"
                    ),
                    "give MetalLB's namespace once",
                ));
            }
            global.metallb_namespace = ns.to_string();
        }
        Ok(global)
    }
}

/// The namespace MetalLB's own manifest installs into.
pub const DEFAULT_METALLB_NAMESPACE: &str = "metallb-system";

/// `-n/--namespace` where it names MetalLB's namespace, as kubectl users expect of a command
/// about one namespace. The global `--metallb-namespace` stays for every command (and for
/// explain, whose `-n` is the Service's namespace).
#[derive(Debug, Clone, Args)]
pub struct MetallbNamespaceArg {
    /// Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system].
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NAMESPACE",
        value_parser = Checked(parse_namespace)
    )]
    pub namespace: Option<String>,
}

/// lbctl's clap command as this process shows it: usage, version and help lines say
/// `kubectl lbctl` when it runs as the kubectl plugin.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    match crate::invocation::current() {
        crate::invocation::Invocation::Direct => cmd,
        plugin => {
            let program = plugin.program();
            cmd.bin_name(program)
                .display_name(program)
                .mut_subcommands(|sub| {
                    let name = plugin.command_line(sub.get_name());
                    sub.display_name(name)
                })
        }
    }
}

/// An `Examples:` section. Each line is a command line without the program name, which
/// [`crate::invocation::command_line`] adds as the user runs it.
fn examples(lines: &[&str]) -> String {
    let mut text = String::from("Examples:");
    for line in lines {
        text.push_str("\n  ");
        text.push_str(&crate::invocation::command_line(line));
    }
    text
}

/// `--dry-run` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunMode {
    /// Print every object as YAML on stdout; the cluster is not contacted.
    Client,
    /// Send every object as a server-side dry-run apply and report what would change.
    Server,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Pool addresses: a range a-b, a CIDR or an address; repeat it or separate with commas.
    #[arg(long = "pool", value_name = "RANGE", conflicts_with = "config")]
    pub pools: Vec<String>,

    /// Name of the IPAddressPool built from --pool.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = Checked(parse_object_name))]
    pub pool_name: String,

    /// A file of IPAddressPool and L2Advertisement documents to create.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Show instead of doing: YAML on stdout (client, the default) or a server-side dry run.
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRunMode>,

    /// Do not check the cluster and the pools before writing.
    #[arg(long)]
    pub skip_preflight: bool,

    /// Do not ARP-probe the pool addresses (probes run only on a cluster node with CAP_NET_RAW).
    #[arg(long)]
    pub no_probe: bool,

    /// Check IDs whose failure only warns (comma-separated, or "all").
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// Deadline for the whole command, waits included.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = Checked(parse_duration))]
    pub timeout: Duration,

    /// Take over fields another field manager (kubectl, Helm) set to other values.
    #[arg(long)]
    pub force_conflicts: bool,

    #[command(flatten)]
    pub namespace: MetallbNamespaceArg,

    #[command(flatten)]
    pub render: RenderArgs,
}

/// How the MetalLB objects are rendered.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Registry and path replacing quay.io/metallb in image names (air-gapped mirrors).
    #[arg(long, value_name = "REGISTRY/PATH", value_parser = Checked(parse_registry))]
    pub registry: Option<String>,

    /// Image pull policy of the controller and speaker.
    #[arg(long, value_name = "POLICY", value_parser = EnumValueParser::<PullPolicyArg>::new().map(PullPolicy::from))]
    pub image_pull_policy: Option<PullPolicy>,

    /// Log level of the controller and speaker.
    #[arg(long, value_name = "LEVEL", default_value = "info", value_parser = EnumValueParser::<LogLevelArg>::new().map(LogLevel::from))]
    pub log_level: LogLevel,

    // Last: its help heading would hold for the arguments after it.
    #[command(flatten)]
    pub speaker: SpeakerArgs,
}

/// Where the speakers run: install renders them so, and preflight judges which nodes can
/// announce (LB108) for them.
#[derive(Debug, Args)]
#[command(next_help_heading = "Speaker placement (install renders it; LB108 judges it)")]
pub struct SpeakerArgs {
    /// Speakers run only on nodes with this label (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = crate::metallb::render::parse_node_selector)]
    pub speaker_node_selector: Vec<(String, String)>,

    /// Taints speakers tolerate besides the control plane's, written like taints: KEY[=VALUE][:EFFECT] (comma-separated).
    #[arg(long, value_name = "TAINTS", value_delimiter = ',', value_parser = crate::metallb::render::parse_toleration)]
    pub speaker_tolerations: Vec<k8s_openapi::api::core::v1::Toleration>,

    /// Speakers also announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers.
    #[arg(long)]
    pub ignore_exclude_lb: bool,
}

impl SpeakerArgs {
    /// `base` with the speaker placed as these flags say.
    pub fn options(&self, base: RenderOptions) -> RenderOptions {
        RenderOptions {
            speaker_node_selector: self.speaker_node_selector.iter().cloned().collect(),
            speaker_tolerations: self.speaker_tolerations.clone(),
            ignore_exclude_lb: self.ignore_exclude_lb,
            ..base
        }
    }
}

/// `--log-level` values; parsed straight into [`LogLevel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogLevelArg {
    All,
    Debug,
    Info,
    Warn,
    Error,
    None,
}

impl From<LogLevelArg> for LogLevel {
    fn from(arg: LogLevelArg) -> LogLevel {
        match arg {
            LogLevelArg::All => LogLevel::All,
            LogLevelArg::Debug => LogLevel::Debug,
            LogLevelArg::Info => LogLevel::Info,
            LogLevelArg::Warn => LogLevel::Warn,
            LogLevelArg::Error => LogLevel::Error,
            LogLevelArg::None => LogLevel::None,
        }
    }
}

/// `--image-pull-policy` values, spelled as Kubernetes spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PullPolicyArg {
    #[value(name = "Always")]
    Always,
    #[value(name = "IfNotPresent")]
    IfNotPresent,
    #[value(name = "Never")]
    Never,
}

impl From<PullPolicyArg> for PullPolicy {
    fn from(arg: PullPolicyArg) -> PullPolicy {
        match arg {
            PullPolicyArg::Always => PullPolicy::Always,
            PullPolicyArg::IfNotPresent => PullPolicy::IfNotPresent,
            PullPolicyArg::Never => PullPolicy::Never,
        }
    }
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub namespace: MetallbNamespaceArg,

    /// Keep the CRDs, and with them the pools and advertisements.
    #[arg(long)]
    pub keep_crds: bool,

    /// List what would be deleted; delete nothing (`--dry-run` is `--dry-run=client`).
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true,
          default_missing_value = "client", default_value = "none", hide_default_value = true,
          action = clap::ArgAction::Set, value_parser = Checked(parse_client_dry_run))]
    pub dry_run: bool,

    /// Deadline for the whole command, waiting for deletions included.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = Checked(parse_duration))]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print only the client version; do not contact the cluster.
    #[arg(long)]
    pub client: bool,
}

/// A later command whose permissions `preflight --for` lists in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForCommand {
    /// `lbctl install` (also judged as install will judge the cluster).
    Install,
    /// `lbctl enable-strictarp`.
    EnableStrictarp,
    /// `lbctl doctor`.
    Doctor,
    /// `lbctl uninstall`.
    Uninstall,
}

impl ForCommand {
    /// The command whose one permission list `--for` checks.
    pub fn command(self) -> crate::permissions::Command {
        use crate::permissions::Command;
        match self {
            ForCommand::Install => Command::Install,
            ForCommand::EnableStrictarp => Command::EnableStrictarp,
            ForCommand::Doctor => Command::Doctor,
            ForCommand::Uninstall => Command::Uninstall,
        }
    }
}

/// How checks turn into the exit code and reports; shared by preflight and doctor.
#[derive(Debug, Args)]
pub struct CheckRunArgs {
    /// Check IDs whose failures become warnings (case-insensitive, comma-separated, repeatable; `all`).
    #[arg(long, value_name = "IDS")]
    pub ignore: Vec<String>,

    /// Which results make the exit code 1.
    #[arg(long, default_value = "fail", value_name = "LEVEL", value_parser = EnumValueParser::<FailOnArg>::new().map(FailOn::from))]
    pub fail_on: FailOn,

    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// `--fail-on` values; parsed straight into [`FailOn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOnArg {
    /// Warnings also give exit code 1.
    Warning,
    /// Only failures give exit code 1 (default).
    Fail,
}

impl From<FailOnArg> for FailOn {
    fn from(arg: FailOnArg) -> FailOn {
        match arg {
            FailOnArg::Warning => FailOn::Warning,
            FailOnArg::Fail => FailOn::Fail,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The LoadBalancer Service to explain.
    #[arg(
        value_name = "SERVICE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub service: Option<String>,

    /// The Service's namespace (default: the kubeconfig context's namespace, then default).
    #[arg(short = 'n', long, value_name = "NAMESPACE", value_parser = Checked(parse_namespace))]
    pub namespace: Option<String>,

    /// Every LoadBalancer Service, one line each (judged from the API only, never probed).
    #[arg(long, conflicts_with = "nodes")]
    pub all: bool,

    /// Do not send ARP/NDP for the address.
    #[arg(long)]
    pub no_probe: bool,

    #[command(flatten)]
    pub probing: ProbeTuning,

    // --nodes reads the predicted node and the nodes ServiceL2Status names, among those it
    // selects: the interfaces the speaker answers on, and their MACs for the wire.
    #[command(flatten)]
    pub nodes: NodeCheckArgs,
}

/// ARP probe pacing; shared by probe, preflight and doctor.
#[derive(Debug, Args)]
pub struct ProbeTuning {
    /// Send the probes on this interface instead of the one `ip route get` picks.
    #[arg(short = 'i', long, value_name = "IF")]
    pub interface: Option<String>,

    /// Packets per second over all addresses (lower it if switches rate-limit ARP).
    #[arg(long, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,

    /// Probes per address; an address stops being probed as soon as someone answers.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub attempts: u32,
}

impl ProbeTuning {
    /// The probe pacing as the probe code takes it.
    pub fn settings(&self) -> crate::facts::probe::Settings {
        crate::facts::probe::Settings {
            interface: self.interface.clone(),
            rate: self.rate,
            attempts: self.attempts,
        }
    }
}

#[derive(Debug, Args)]
pub struct PreflightArgs {
    /// A pool to check, as an IPAddressPool accepts it (CIDRs, ranges a-b, addresses, comma-separated); repeatable.
    #[arg(long = "pool", value_name = "RANGE")]
    pub pools: Vec<String>,

    /// The file `install --config` takes (IPAddressPool and L2Advertisement documents), read by the same rules.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Do not contact the cluster: run only the node and pool checks.
    #[arg(long, conflicts_with = "nodes")]
    pub local: bool,

    #[command(flatten)]
    pub namespace: MetallbNamespaceArg,

    /// Check every permission this command needs and list the missing ones (a failure); with `install`, also judge the cluster as install will.
    #[arg(long = "for", value_enum, value_name = "COMMAND")]
    pub for_command: Option<ForCommand>,

    #[command(flatten)]
    pub checks: CheckRunArgs,

    /// Re-run the checks that can still pass (pods starting, rollouts) until this deadline, e.g. 5m.
    #[arg(long, value_name = "DURATION", value_parser = Checked(parse_duration))]
    pub wait: Option<Duration>,

    /// Do not probe the pool addresses (ARP, NDP).
    #[arg(long)]
    pub no_probe: bool,

    #[command(flatten)]
    pub probing: ProbeTuning,

    #[command(flatten)]
    pub nodes: NodeCheckArgs,

    /// Read node facts from this proc tree instead of /proc (tests).
    #[arg(long, value_name = "DIR", hide = true)]
    pub proc_root: Option<PathBuf>,

    // Last: its help heading would hold for the arguments after it.
    #[command(flatten)]
    pub speaker: SpeakerArgs,
}

/// The image of the node-check pods: small, public, with a POSIX sh, pinned.
pub const DEFAULT_NODE_IMAGE: &str = "busybox:1.37";

/// `--nodes`: check cluster nodes through a short-lived pod on each (preflight and doctor).
#[derive(Debug, Clone, Args)]
pub struct NodeCheckArgs {
    /// Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on).
    #[arg(long, value_name = "all|SELECTOR")]
    pub nodes: Option<String>,

    /// Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror).
    #[arg(long, value_name = "IMAGE", default_value = DEFAULT_NODE_IMAGE, requires = "nodes", value_parser = Checked(parse_image))]
    pub node_image: String,

    /// Namespace of the node-check pods; it must allow privileged pods (hostNetwork).
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "default",
        requires = "nodes",
        value_parser = Checked(parse_namespace)
    )]
    pub node_namespace: String,

    /// How long one node-check pod may take, image pull included, e.g. 90s.
    #[arg(long, value_name = "DURATION", value_parser = Checked(parse_duration), default_value = "60s", requires = "nodes")]
    pub node_timeout: Duration,

    /// How many node-check pods run at the same time.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000), requires = "nodes")]
    pub node_concurrency: u16,
}

impl NodeCheckArgs {
    /// The node-check settings, `None` without `--nodes`; a usage error (exit 2) for a bad
    /// selector or timeout.
    pub fn settings(&self) -> crate::Result<Option<crate::facts::nodes::Settings>> {
        let Some(selection) = &self.nodes else {
            return Ok(None);
        };
        crate::facts::nodes::Settings::new(
            selection,
            self.node_image.clone(),
            self.node_namespace.clone(),
            self.node_timeout,
            self.node_concurrency,
        )
        .map(Some)
    }
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub namespace: MetallbNamespaceArg,

    #[command(flatten)]
    pub checks: CheckRunArgs,

    /// Re-run the checks that can still pass (rollouts, webhook, pending services) until this deadline, e.g. 2m.
    #[arg(long, value_name = "DURATION", value_parser = Checked(parse_duration))]
    pub wait: Option<Duration>,

    /// Probe the assigned addresses (ARP, NDP); an error when this host cannot (default: probe when CAP_NET_RAW is held).
    #[arg(long, conflicts_with = "no_probe")]
    pub probe: bool,

    /// Do not probe the assigned addresses.
    #[arg(long)]
    pub no_probe: bool,

    #[command(flatten)]
    pub probing: ProbeTuning,

    #[command(flatten)]
    pub nodes: NodeCheckArgs,

    /// Also write a support bundle to FILE (.tar.gz): the report, MetalLB's objects and logs, events, nodes, kube-proxy; never Secret values.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,

    /// Lines of each MetalLB container's log in the bundle (the newest).
    #[arg(long, value_name = "N", requires = "bundle", default_value_t = crate::bundle::DEFAULT_LOG_LINES,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub bundle_log_lines: u32,

    /// Read host facts from this proc tree instead of /proc (tests).
    #[arg(long, value_name = "DIR", hide = true)]
    pub proc_root: Option<PathBuf>,
}

impl DoctorArgs {
    /// `--bundle` and its settings, as plain data.
    pub fn bundle_settings(&self) -> Option<crate::bundle::Settings> {
        self.bundle.as_ref().map(|path| crate::bundle::Settings {
            path: path.clone(),
            log_lines: self.bundle_log_lines,
        })
    }
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Pools to probe: CIDRs, ranges a-b or single addresses, comma-separated within one argument.
    #[arg(required = true, value_name = "POOL")]
    pub pools: Vec<String>,

    #[command(flatten)]
    pub probing: ProbeTuning,

    /// Give up after this long, e.g. 30s (default: twice the time the probes need, plus 5s).
    #[arg(long, value_name = "DURATION", value_parser = Checked(parse_duration))]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct EnableStrictarpArgs {
    /// What to do with the proxy mode: ipvs switches to IPVS (default, except from nftables,
    /// which needs it explicitly), keep only sets strictARP.
    #[arg(long, value_name = "MODE", value_parser = EnumValueParser::<ModeArg>::new().map(ModeChoice::from))]
    pub mode: Option<ModeChoice>,

    /// Show what would change (a unified diff) and write nothing; exit 0 (`--dry-run` is
    /// `--dry-run=client`).
    #[arg(long, conflicts_with = "check", value_name = "MODE", num_args = 0..=1,
          require_equals = true, default_missing_value = "client", default_value = "none",
          hide_default_value = true, action = clap::ArgAction::Set,
          value_parser = Checked(parse_client_dry_run))]
    pub dry_run: bool,

    /// Write nothing; exit 1 when a change (or a kube-proxy restart) is needed, 0 when configured.
    #[arg(long)]
    pub check: bool,

    /// Restore the configuration text lbctl replaced (kept in the ConfigMap annotation
    /// lbctl.io/previous-config), then restart kube-proxy.
    #[arg(long, conflicts_with = "mode")]
    pub revert: bool,

    /// Do not restart kube-proxy; the change is not active until kube-proxy restarts.
    #[arg(long)]
    pub no_restart: bool,

    /// Deadline for the whole command, the kube-proxy rollout included, e.g. 90s or 10m.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = Checked(parse_duration))]
    pub timeout: Duration,
}

/// `--mode` values; parsed straight into [`ModeChoice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// Switch kube-proxy to IPVS mode (the mode in which strictARP matters).
    Ipvs,
    /// Leave the mode as it is; only set ipvs.strictARP.
    Keep,
}

impl From<ModeArg> for ModeChoice {
    fn from(arg: ModeArg) -> ModeChoice {
        match arg {
            ModeArg::Ipvs => ModeChoice::Ipvs,
            ModeArg::Keep => ModeChoice::Keep,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Subcommand whose page to print (default: the top-level page).
    pub subcommand: Option<String>,
}

/// The longest duration any flag takes. Longer is surely a typo, and would overflow the clock
/// a deadline is computed on and the pod fields it is written into (`activeDeadlineSeconds`).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// [`MAX_DURATION`] as users write it.
const MAX_DURATION_TEXT: &str = "24h";

/// Parses a kubectl-style request timeout: a bare number is seconds, otherwise a duration
/// such as `30s`, `1m30s` or `500ms`; `0` means no limit.
pub fn parse_request_timeout(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

/// Parses a duration such as `90s`, `5m`, `1h30m` or `500ms`; a bare number is seconds. At most
/// [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; use a value such as 30s, 5m or 1h".into());
    }
    let too_long = || {
        format!(
            "longer than {MAX_DURATION_TEXT}, the longest lbctl accepts; use a value such as 30s, 5m or 1h"
        )
    };
    let duration = match text.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        // Digits only, yet no u64: a number of seconds beyond any clock.
        Err(_) if text.bytes().all(|b| b.is_ascii_digit()) => return Err(too_long()),
        Err(_) => humantime::parse_duration(text).map_err(|e| match e {
            humantime::DurationError::NumberOverflow => too_long(),
            e => format!("invalid duration ({e}); use a value such as 30s, 5m or 1h"),
        })?,
    };
    if duration > MAX_DURATION {
        return Err(too_long());
    }
    Ok(duration)
}

/// A value parser from a plain function. clap's own message repeats the whole value, so a long
/// one is shortened here, and the message names the flag.
#[derive(Clone, Copy)]
pub struct Checked<T>(pub fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Checked<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        (self.0)(&text).map_err(|why| {
            let flag = arg
                .and_then(|a| a.get_long())
                .map(|long| format!("--{long} "))
                .unwrap_or_default();
            // The same closing tip as clap's own value errors (and the hint of the JSON
            // error document).
            let message = format!(
                "{flag}{}: {why}\n\nFor more information, try '--help'.\n",
                crate::error::shorten(&text)
            );
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd)
        })
    }
}

/// `--dry-run[=client]` of the commands that show their plan from what they read. The same
/// spelling as install's `--dry-run=client|server`; a server-side dry run they do not have is
/// refused rather than taken for a real run. `none` is the default: no dry run.
pub fn parse_client_dry_run(text: &str) -> Result<bool, String> {
    match text {
        "client" => Ok(true),
        "none" => Ok(false),
        "server" => Err("this command has no server-side dry run; --dry-run (client) reads the cluster and writes nothing".into()),
        _ => Err("use --dry-run or --dry-run=client".into()),
    }
}

/// A namespace name (DNS-1123 label), refused before any request.
pub fn parse_namespace(text: &str) -> Result<String, String> {
    crate::names::dns1123_label(text)
        .map(|()| text.to_string())
        .map_err(|why| format!("not a valid namespace name: {why}"))
}

/// An object name (DNS-1123 subdomain), refused before any request.
pub fn parse_object_name(text: &str) -> Result<String, String> {
    crate::names::dns1123_subdomain(text)
        .map(|()| text.to_string())
        .map_err(|why| format!("not a valid object name: {why}"))
}

/// A container image reference, refused before a pod that could never pull it is created.
pub fn parse_image(text: &str) -> Result<String, String> {
    crate::names::image_reference(text)
        .map(|()| text.to_string())
        .map_err(|why| format!("not a valid image: {why}"))
}

/// A registry and path that image names are appended to.
pub fn parse_registry(text: &str) -> Result<String, String> {
    crate::names::registry_path(text)
        .map(|()| text.to_string())
        .map_err(|why| format!("not a registry path: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(line.split_whitespace())
    }

    fn metallb_namespace(line: &str) -> String {
        parse(line)
            .unwrap()
            .resolved_global()
            .unwrap()
            .metallb_namespace
    }

    #[test]
    fn namespace_flags_name_metallb_on_the_commands_about_it() {
        for command in ["install", "doctor", "uninstall", "preflight"] {
            assert_eq!(
                metallb_namespace(&format!("lbctl {command}")),
                "metallb-system"
            );
            for line in [
                format!("lbctl {command} -n lb"),
                format!("lbctl {command} --namespace lb"),
                format!("lbctl {command} --namespace=lb"),
                format!("lbctl {command} --metallb-namespace lb"),
                format!("lbctl --metallb-namespace lb {command}"),
                format!("lbctl --metallb-namespace lb {command} -n lb"),
            ] {
                assert_eq!(metallb_namespace(&line), "lb", "{line}");
            }
            // Two different namespaces: refused, whichever side of the subcommand.
            for line in [
                format!("lbctl {command} -n a --metallb-namespace b"),
                format!("lbctl --metallb-namespace b {command} -n a"),
            ] {
                let err = parse(&line).unwrap().resolved_global().unwrap_err();
                assert_eq!(err.exit_code(), crate::ExitCode::Usage, "{err}");
            }
            let err = parse(&format!("lbctl {command} -n Not_A_Name")).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        }
        // The global flag still reaches every command, -n is not global.
        assert_eq!(
            metallb_namespace("lbctl explain web --metallb-namespace lb"),
            "lb"
        );
        assert!(parse("lbctl version -n lb").is_err());
    }

    #[test]
    fn quiet_and_verbose_are_refused_together_on_either_side_of_the_subcommand() {
        let err = parse("lbctl -q -v version").unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        for line in ["lbctl -v doctor -q", "lbctl -q install -vv"] {
            let err = parse(line).unwrap().resolved_global().unwrap_err();
            assert_eq!(err.exit_code(), crate::ExitCode::Usage, "{line}: {err}");
        }
        assert!(
            parse("lbctl doctor -q")
                .unwrap()
                .resolved_global()
                .unwrap()
                .quiet
        );
    }

    #[test]
    fn explain_n_names_the_service_namespace_and_defaults_to_the_context() {
        let Command::Explain(args) = parse("lbctl explain web -n shop").unwrap().command else {
            panic!("not explain")
        };
        assert_eq!(args.namespace.as_deref(), Some("shop"));
        let cli = parse("lbctl explain web").unwrap();
        assert_eq!(
            cli.resolved_global().unwrap().metallb_namespace,
            "metallb-system"
        );
        let Command::Explain(args) = cli.command else {
            panic!("not explain")
        };
        // None: the command takes the kubeconfig context's namespace.
        assert_eq!(args.namespace, None);
        let err = parse("lbctl explain web -n Shop").unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn durations_accept_kubectl_forms() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").unwrap_err().contains("30s"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn durations_beyond_a_day_are_refused_not_overflowed() {
        assert_eq!(parse_duration(MAX_DURATION_TEXT).unwrap(), MAX_DURATION);
        for text in [
            "86401",
            "25h",
            "18446744073709551615",
            "99999999999999999999999",
            "99999999999999999s",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("longer than 24h"), "{text}: {err}");
        }
    }
}
