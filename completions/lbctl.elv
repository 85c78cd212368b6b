
use builtin;
use str;

set edit:completion:arg-completer[lbctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'lbctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'lbctl'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand version 'Print the lbctl version, the embedded MetalLB version and the server version'
            cand enable-strictarp 'Switch kube-proxy to IPVS mode with strictARP, restart it and wait (MetalLB L2 needs it)'
            cand completions 'Print a shell completion script'
            cand preflight 'Check whether this cluster, this node and a pool are ready for MetalLB L2 (read-only)'
            cand probe 'Probe pool addresses with ARP (RFC 5227) or, for IPv6, NDP to find hosts already using them'
            cand install 'Install MetalLB (built into lbctl) and its address pools, and wait until it serves'
            cand doctor 'Check that MetalLB is healthy and that its addresses are really announced (read-only)'
            cand explain 'Explain why a LoadBalancer address is (not) reachable, node by node, as MetalLB''s L2 election decides'
            cand uninstall 'Remove MetalLB: pools, webhook, workloads, RBAC, CRDs and namespace'
            cand man 'Print the man page (roff) for lbctl or one of its subcommands'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'lbctl;version'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand --client 'Print only the client version; do not contact the cluster'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;enable-strictarp'= {
            cand --mode 'What to do with the proxy mode: ipvs switches to IPVS (default, except from nftables, which needs it explicitly), keep only sets strictARP'
            cand --dry-run 'Show what would change (a unified diff) and write nothing; exit 0 (`--dry-run` is `--dry-run=client`)'
            cand --timeout 'Deadline for the whole command, the kube-proxy rollout included, e.g. 90s or 10m'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand --check 'Write nothing; exit 1 when a change (or a kube-proxy restart) is needed, 0 when configured'
            cand --revert 'Restore the configuration text lbctl replaced (kept in the ConfigMap annotation lbctl.io/previous-config), then restart kube-proxy'
            cand --no-restart 'Do not restart kube-proxy; the change is not active until kube-proxy restarts'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;completions'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;preflight'= {
            cand --pool 'A pool to check, as an IPAddressPool accepts it (CIDRs, ranges a-b, addresses, comma-separated); repeatable'
            cand --config 'The file `install --config` takes (IPAddressPool and L2Advertisement documents), read by the same rules'
            cand --speaker-node-selector 'Run speakers only on nodes with this label (repeatable)'
            cand --speaker-tolerations 'Extra taints speakers tolerate, written like taints: KEY[=VALUE][:EFFECT] (comma-separated)'
            cand -n 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --namespace 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --for 'Check every permission this command needs and list the missing ones (a failure); with `install`, also judge the cluster as install will'
            cand --ignore 'Check IDs whose failures become warnings (case-insensitive, comma-separated, repeatable; `all`)'
            cand --fail-on 'Which results make the exit code 1'
            cand --junit 'Also write the results as JUnit XML to FILE'
            cand --wait 'Re-run the checks that can still pass (pods starting, rollouts) until this deadline, e.g. 5m'
            cand -i 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --interface 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --rate 'Packets per second over all addresses (lower it if switches rate-limit ARP)'
            cand --attempts 'Probes per address; an address stops being probed as soon as someone answers'
            cand --nodes 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)'
            cand --node-image 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)'
            cand --node-namespace 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)'
            cand --node-timeout 'How long one node-check pod may take, image pull included, e.g. 90s'
            cand --node-concurrency 'How many node-check pods run at the same time'
            cand --proc-root 'Read node facts from this proc tree instead of /proc (tests)'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand --local 'Do not contact the cluster: run only the node and pool checks'
            cand --ignore-exclude-lb 'Let speakers announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers'
            cand --no-probe 'Do not probe the pool addresses (ARP, NDP)'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;probe'= {
            cand -i 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --interface 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --rate 'Packets per second over all addresses (lower it if switches rate-limit ARP)'
            cand --attempts 'Probes per address; an address stops being probed as soon as someone answers'
            cand --timeout 'Give up after this long, e.g. 30s (default: twice the time the probes need, plus 5s)'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;install'= {
            cand --pool 'Pool addresses: a range a-b, a CIDR or an address; repeat it or separate with commas'
            cand --pool-name 'Name of the IPAddressPool built from --pool'
            cand --config 'A file of IPAddressPool and L2Advertisement documents to create'
            cand --dry-run 'Show instead of doing: YAML on stdout (client, the default) or a server-side dry run'
            cand --ignore 'Check IDs whose failure only warns (comma-separated, or "all")'
            cand --timeout 'Deadline for the whole command, waits included'
            cand -n 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --namespace 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --registry 'Registry and path replacing quay.io/metallb in image names (air-gapped mirrors)'
            cand --image-pull-policy 'Image pull policy of the controller and speaker'
            cand --speaker-node-selector 'Run speakers only on nodes with this label (repeatable)'
            cand --speaker-tolerations 'Extra taints speakers tolerate, written like taints: KEY[=VALUE][:EFFECT] (comma-separated)'
            cand --log-level 'Log level of the controller and speaker'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand --skip-preflight 'Do not check the cluster and the pools before writing'
            cand --no-probe 'Do not ARP-probe the pool addresses (probes run only on a cluster node with CAP_NET_RAW)'
            cand --force-conflicts 'Take over fields another field manager (kubectl, Helm) set to other values'
            cand --ignore-exclude-lb 'Let speakers announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;doctor'= {
            cand -n 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --namespace 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --ignore 'Check IDs whose failures become warnings (case-insensitive, comma-separated, repeatable; `all`)'
            cand --fail-on 'Which results make the exit code 1'
            cand --junit 'Also write the results as JUnit XML to FILE'
            cand --wait 'Re-run the checks that can still pass (rollouts, webhook, pending services) until this deadline, e.g. 2m'
            cand -i 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --interface 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --rate 'Packets per second over all addresses (lower it if switches rate-limit ARP)'
            cand --attempts 'Probes per address; an address stops being probed as soon as someone answers'
            cand --nodes 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)'
            cand --node-image 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)'
            cand --node-namespace 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)'
            cand --node-timeout 'How long one node-check pod may take, image pull included, e.g. 90s'
            cand --node-concurrency 'How many node-check pods run at the same time'
            cand --bundle 'Also write a support bundle to FILE (.tar.gz): the report, MetalLB''s objects and logs, events, nodes, kube-proxy; never Secret values'
            cand --bundle-log-lines 'Lines of each MetalLB container''s log in the bundle (the newest)'
            cand --proc-root 'Read host facts from this proc tree instead of /proc (tests)'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand --probe 'Probe the assigned addresses (ARP, NDP); an error when this host cannot (default: probe when CAP_NET_RAW is held)'
            cand --no-probe 'Do not probe the assigned addresses'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;explain'= {
            cand -n 'The Service''s namespace (default: the kubeconfig context''s namespace, then default)'
            cand --namespace 'The Service''s namespace (default: the kubeconfig context''s namespace, then default)'
            cand -i 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --interface 'Send the probes on this interface instead of the one `ip route get` picks'
            cand --rate 'Packets per second over all addresses (lower it if switches rate-limit ARP)'
            cand --attempts 'Probes per address; an address stops being probed as soon as someone answers'
            cand --nodes 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)'
            cand --node-image 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)'
            cand --node-namespace 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)'
            cand --node-timeout 'How long one node-check pod may take, image pull included, e.g. 90s'
            cand --node-concurrency 'How many node-check pods run at the same time'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand --all 'Every LoadBalancer Service, one line each (judged from the API only, never probed)'
            cand --no-probe 'Do not send ARP/NDP for the address'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;uninstall'= {
            cand -n 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --namespace 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]'
            cand --dry-run 'List what would be deleted; delete nothing (`--dry-run` is `--dry-run=client`)'
            cand --timeout 'Deadline for the whole command, waiting for deletions included'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand --keep-crds 'Keep the CRDs, and with them the pools and advertisements'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;man'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use (default: the current context)'
            cand --request-timeout 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)'
            cand --metallb-namespace 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace'
            cand -v 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand --verbose 'More detail on stderr; repeat for more (-vv shows every API request)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'lbctl;help'= {
            cand version 'Print the lbctl version, the embedded MetalLB version and the server version'
            cand enable-strictarp 'Switch kube-proxy to IPVS mode with strictARP, restart it and wait (MetalLB L2 needs it)'
            cand completions 'Print a shell completion script'
            cand preflight 'Check whether this cluster, this node and a pool are ready for MetalLB L2 (read-only)'
            cand probe 'Probe pool addresses with ARP (RFC 5227) or, for IPv6, NDP to find hosts already using them'
            cand install 'Install MetalLB (built into lbctl) and its address pools, and wait until it serves'
            cand doctor 'Check that MetalLB is healthy and that its addresses are really announced (read-only)'
            cand explain 'Explain why a LoadBalancer address is (not) reachable, node by node, as MetalLB''s L2 election decides'
            cand uninstall 'Remove MetalLB: pools, webhook, workloads, RBAC, CRDs and namespace'
            cand man 'Print the man page (roff) for lbctl or one of its subcommands'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'lbctl;help;version'= {
        }
        &'lbctl;help;enable-strictarp'= {
        }
        &'lbctl;help;completions'= {
        }
        &'lbctl;help;preflight'= {
        }
        &'lbctl;help;probe'= {
        }
        &'lbctl;help;install'= {
        }
        &'lbctl;help;doctor'= {
        }
        &'lbctl;help;explain'= {
        }
        &'lbctl;help;uninstall'= {
        }
        &'lbctl;help;man'= {
        }
        &'lbctl;help;help'= {
        }
    ]
    $completions[$command]
}
