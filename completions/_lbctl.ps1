
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'lbctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'lbctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'lbctl' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the lbctl version, the embedded MetalLB version and the server version')
            [CompletionResult]::new('enable-strictarp', 'enable-strictarp', [CompletionResultType]::ParameterValue, 'Switch kube-proxy to IPVS mode with strictARP, restart it and wait (MetalLB L2 needs it)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('preflight', 'preflight', [CompletionResultType]::ParameterValue, 'Check whether this cluster, this node and a pool are ready for MetalLB L2 (read-only)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Probe pool addresses with ARP (RFC 5227) or, for IPv6, NDP to find hosts already using them')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install MetalLB (built into lbctl) and its address pools, and wait until it serves')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that MetalLB is healthy and that its addresses are really announced (read-only)')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Explain why a LoadBalancer address is (not) reachable, node by node, as MetalLB''s L2 election decides')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove MetalLB: pools, webhook, workloads, RBAC, CRDs and namespace')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) for lbctl or one of its subcommands')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'lbctl;version' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('--client', '--client', [CompletionResultType]::ParameterName, 'Print only the client version; do not contact the cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;enable-strictarp' {
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'What to do with the proxy mode: ipvs switches to IPVS (default, except from nftables, which needs it explicitly), keep only sets strictARP')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would change (a unified diff) and write nothing; exit 0 (`--dry-run` is `--dry-run=client`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole command, the kube-proxy rollout included, e.g. 90s or 10m')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Write nothing; exit 1 when a change (or a kube-proxy restart) is needed, 0 when configured')
            [CompletionResult]::new('--revert', '--revert', [CompletionResultType]::ParameterName, 'Restore the configuration text lbctl replaced (kept in the ConfigMap annotation lbctl.io/previous-config), then restart kube-proxy')
            [CompletionResult]::new('--no-restart', '--no-restart', [CompletionResultType]::ParameterName, 'Do not restart kube-proxy; the change is not active until kube-proxy restarts')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;completions' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;preflight' {
            [CompletionResult]::new('--pool', '--pool', [CompletionResultType]::ParameterName, 'A pool to check, as an IPAddressPool accepts it (CIDRs, ranges a-b, addresses, comma-separated); repeatable')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The file `install --config` takes (IPAddressPool and L2Advertisement documents), read by the same rules')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Check every permission this command needs and list the missing ones (a failure); with `install`, also judge the cluster as install will')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Check IDs whose failures become warnings (case-insensitive, comma-separated, repeatable; `all`)')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Which results make the exit code 1')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Also write the results as JUnit XML to FILE')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Re-run the checks that can still pass (pods starting, rollouts) until this deadline, e.g. 5m')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Packets per second over all addresses (lower it if switches rate-limit ARP)')
            [CompletionResult]::new('--attempts', '--attempts', [CompletionResultType]::ParameterName, 'Probes per address; an address stops being probed as soon as someone answers')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)')
            [CompletionResult]::new('--node-image', '--node-image', [CompletionResultType]::ParameterName, 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)')
            [CompletionResult]::new('--node-namespace', '--node-namespace', [CompletionResultType]::ParameterName, 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)')
            [CompletionResult]::new('--node-timeout', '--node-timeout', [CompletionResultType]::ParameterName, 'How long one node-check pod may take, image pull included, e.g. 90s')
            [CompletionResult]::new('--node-concurrency', '--node-concurrency', [CompletionResultType]::ParameterName, 'How many node-check pods run at the same time')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read node facts from this proc tree instead of /proc (tests)')
            [CompletionResult]::new('--speaker-node-selector', '--speaker-node-selector', [CompletionResultType]::ParameterName, 'Speakers run only on nodes with this label (repeatable)')
            [CompletionResult]::new('--speaker-tolerations', '--speaker-tolerations', [CompletionResultType]::ParameterName, 'Taints speakers tolerate besides the control plane''s, written like taints: KEY[=VALUE][:EFFECT] (comma-separated)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Do not contact the cluster: run only the node and pool checks')
            [CompletionResult]::new('--no-probe', '--no-probe', [CompletionResultType]::ParameterName, 'Do not probe the pool addresses (ARP, NDP)')
            [CompletionResult]::new('--ignore-exclude-lb', '--ignore-exclude-lb', [CompletionResultType]::ParameterName, 'Speakers also announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;probe' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Packets per second over all addresses (lower it if switches rate-limit ARP)')
            [CompletionResult]::new('--attempts', '--attempts', [CompletionResultType]::ParameterName, 'Probes per address; an address stops being probed as soon as someone answers')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long, e.g. 30s (default: twice the time the probes need, plus 5s)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;install' {
            [CompletionResult]::new('--pool', '--pool', [CompletionResultType]::ParameterName, 'Pool addresses: a range a-b, a CIDR or an address; repeat it or separate with commas')
            [CompletionResult]::new('--pool-name', '--pool-name', [CompletionResultType]::ParameterName, 'Name of the IPAddressPool built from --pool')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'A file of IPAddressPool and L2Advertisement documents to create')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show instead of doing: YAML on stdout (client, the default) or a server-side dry run')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Check IDs whose failure only warns (comma-separated, or "all")')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole command, waits included')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry and path replacing quay.io/metallb in image names (air-gapped mirrors)')
            [CompletionResult]::new('--image-pull-policy', '--image-pull-policy', [CompletionResultType]::ParameterName, 'Image pull policy of the controller and speaker')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level of the controller and speaker')
            [CompletionResult]::new('--speaker-node-selector', '--speaker-node-selector', [CompletionResultType]::ParameterName, 'Speakers run only on nodes with this label (repeatable)')
            [CompletionResult]::new('--speaker-tolerations', '--speaker-tolerations', [CompletionResultType]::ParameterName, 'Taints speakers tolerate besides the control plane''s, written like taints: KEY[=VALUE][:EFFECT] (comma-separated)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('--skip-preflight', '--skip-preflight', [CompletionResultType]::ParameterName, 'Do not check the cluster and the pools before writing')
            [CompletionResult]::new('--no-probe', '--no-probe', [CompletionResultType]::ParameterName, 'Do not ARP-probe the pool addresses (probes run only on a cluster node with CAP_NET_RAW)')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields another field manager (kubectl, Helm) set to other values')
            [CompletionResult]::new('--ignore-exclude-lb', '--ignore-exclude-lb', [CompletionResultType]::ParameterName, 'Speakers also announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;doctor' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Check IDs whose failures become warnings (case-insensitive, comma-separated, repeatable; `all`)')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Which results make the exit code 1')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Also write the results as JUnit XML to FILE')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Re-run the checks that can still pass (rollouts, webhook, pending services) until this deadline, e.g. 2m')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Packets per second over all addresses (lower it if switches rate-limit ARP)')
            [CompletionResult]::new('--attempts', '--attempts', [CompletionResultType]::ParameterName, 'Probes per address; an address stops being probed as soon as someone answers')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)')
            [CompletionResult]::new('--node-image', '--node-image', [CompletionResultType]::ParameterName, 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)')
            [CompletionResult]::new('--node-namespace', '--node-namespace', [CompletionResultType]::ParameterName, 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)')
            [CompletionResult]::new('--node-timeout', '--node-timeout', [CompletionResultType]::ParameterName, 'How long one node-check pod may take, image pull included, e.g. 90s')
            [CompletionResult]::new('--node-concurrency', '--node-concurrency', [CompletionResultType]::ParameterName, 'How many node-check pods run at the same time')
            [CompletionResult]::new('--bundle', '--bundle', [CompletionResultType]::ParameterName, 'Also write a support bundle to FILE (.tar.gz): the report, MetalLB''s objects and logs, events, nodes, kube-proxy; never Secret values')
            [CompletionResult]::new('--bundle-log-lines', '--bundle-log-lines', [CompletionResultType]::ParameterName, 'Lines of each MetalLB container''s log in the bundle (the newest)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read host facts from this proc tree instead of /proc (tests)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'Probe the assigned addresses (ARP, NDP); an error when this host cannot (default: probe when CAP_NET_RAW is held)')
            [CompletionResult]::new('--no-probe', '--no-probe', [CompletionResultType]::ParameterName, 'Do not probe the assigned addresses')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;explain' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The Service''s namespace (default: the kubeconfig context''s namespace, then default)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The Service''s namespace (default: the kubeconfig context''s namespace, then default)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Send the probes on this interface instead of the one `ip route get` picks')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Packets per second over all addresses (lower it if switches rate-limit ARP)')
            [CompletionResult]::new('--attempts', '--attempts', [CompletionResultType]::ParameterName, 'Probes per address; an address stops being probed as soon as someone answers')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)')
            [CompletionResult]::new('--node-image', '--node-image', [CompletionResultType]::ParameterName, 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)')
            [CompletionResult]::new('--node-namespace', '--node-namespace', [CompletionResultType]::ParameterName, 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)')
            [CompletionResult]::new('--node-timeout', '--node-timeout', [CompletionResultType]::ParameterName, 'How long one node-check pod may take, image pull included, e.g. 90s')
            [CompletionResult]::new('--node-concurrency', '--node-concurrency', [CompletionResultType]::ParameterName, 'How many node-check pods run at the same time')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every LoadBalancer Service, one line each (judged from the API only, never probed)')
            [CompletionResult]::new('--no-probe', '--no-probe', [CompletionResultType]::ParameterName, 'Do not send ARP/NDP for the address')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;uninstall' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'List what would be deleted; delete nothing (`--dry-run` is `--dry-run=client`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole command, waiting for deletions included')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('--keep-crds', '--keep-crds', [CompletionResultType]::ParameterName, 'Keep the CRDs, and with them the pools and advertisements')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;man' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use (default: the current context)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)')
            [CompletionResult]::new('--metallb-namespace', '--metallb-namespace', [CompletionResultType]::ParameterName, 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; repeat for more (-vv shows every API request)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle''s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command''s final line stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'lbctl;help' {
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the lbctl version, the embedded MetalLB version and the server version')
            [CompletionResult]::new('enable-strictarp', 'enable-strictarp', [CompletionResultType]::ParameterValue, 'Switch kube-proxy to IPVS mode with strictARP, restart it and wait (MetalLB L2 needs it)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('preflight', 'preflight', [CompletionResultType]::ParameterValue, 'Check whether this cluster, this node and a pool are ready for MetalLB L2 (read-only)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Probe pool addresses with ARP (RFC 5227) or, for IPv6, NDP to find hosts already using them')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install MetalLB (built into lbctl) and its address pools, and wait until it serves')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that MetalLB is healthy and that its addresses are really announced (read-only)')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Explain why a LoadBalancer address is (not) reachable, node by node, as MetalLB''s L2 election decides')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove MetalLB: pools, webhook, workloads, RBAC, CRDs and namespace')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) for lbctl or one of its subcommands')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'lbctl;help;version' {
            break
        }
        'lbctl;help;enable-strictarp' {
            break
        }
        'lbctl;help;completions' {
            break
        }
        'lbctl;help;preflight' {
            break
        }
        'lbctl;help;probe' {
            break
        }
        'lbctl;help;install' {
            break
        }
        'lbctl;help;doctor' {
            break
        }
        'lbctl;help;explain' {
            break
        }
        'lbctl;help;uninstall' {
            break
        }
        'lbctl;help;man' {
            break
        }
        'lbctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
