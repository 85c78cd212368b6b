# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lbctl_global_optspecs
    string join \n kubeconfig= context= request-timeout= o/output= color= v/verbose q/quiet metallb-namespace= h/help V/version
end

function __fish_lbctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lbctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lbctl_using_subcommand
    set -l cmd (__fish_lbctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lbctl -n "__fish_lbctl_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_needs_command" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_needs_command" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_needs_command" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_needs_command" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_needs_command" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_needs_command" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_needs_command" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_needs_command" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "version" -d 'Print the lbctl version, the embedded MetalLB version and the server version'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "enable-strictarp" -d 'Switch kube-proxy to IPVS mode with strictARP, restart it and wait (MetalLB L2 needs it)'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "preflight" -d 'Check whether this cluster, this node and a pool are ready for MetalLB L2 (read-only)'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "probe" -d 'Probe pool addresses with ARP (RFC 5227) or, for IPv6, NDP to find hosts already using them'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "install" -d 'Install MetalLB (built into lbctl) and its address pools, and wait until it serves'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "doctor" -d 'Check that MetalLB is healthy and that its addresses are really announced (read-only)'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "explain" -d 'Explain why a LoadBalancer address is (not) reachable, node by node, as MetalLB\'s L2 election decides'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "uninstall" -d 'Remove MetalLB: pools, webhook, workloads, RBAC, CRDs and namespace'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "man" -d 'Print the man page (roff) for lbctl or one of its subcommands'
complete -c lbctl -n "__fish_lbctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -l client -d 'Print only the client version; do not contact the cluster'
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand version" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l mode -d 'What to do with the proxy mode: ipvs switches to IPVS (default, except from nftables, which needs it explicitly), keep only sets strictARP' -r -f -a "ipvs\t'Switch kube-proxy to IPVS mode (the mode in which strictARP matters)'
keep\t'Leave the mode as it is; only set ipvs.strictARP'"
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l dry-run -d 'Show what would change (a unified diff) and write nothing; exit 0 (`--dry-run` is `--dry-run=client`)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l timeout -d 'Deadline for the whole command, the kube-proxy rollout included, e.g. 90s or 10m' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l check -d 'Write nothing; exit 1 when a change (or a kube-proxy restart) is needed, 0 when configured'
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l revert -d 'Restore the configuration text lbctl replaced (kept in the ConfigMap annotation lbctl.io/previous-config), then restart kube-proxy'
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -l no-restart -d 'Do not restart kube-proxy; the change is not active until kube-proxy restarts'
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand enable-strictarp" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l pool -d 'A pool to check, as an IPAddressPool accepts it (CIDRs, ranges a-b, addresses, comma-separated); repeatable' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l config -d 'The file `install --config` takes (IPAddressPool and L2Advertisement documents), read by the same rules' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -s n -l namespace -d 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l for -d 'Check every permission this command needs and list the missing ones (a failure); with `install`, also judge the cluster as install will' -r -f -a "install\t'`lbctl install` (also judged as install will judge the cluster)'
enable-strictarp\t'`lbctl enable-strictarp`'
doctor\t'`lbctl doctor`'
uninstall\t'`lbctl uninstall`'"
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l ignore -d 'Check IDs whose failures become warnings (case-insensitive, comma-separated, repeatable; `all`)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l fail-on -d 'Which results make the exit code 1' -r -f -a "warning\t'Warnings also give exit code 1'
fail\t'Only failures give exit code 1 (default)'"
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l junit -d 'Also write the results as JUnit XML to FILE' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l wait -d 'Re-run the checks that can still pass (pods starting, rollouts) until this deadline, e.g. 5m' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -s i -l interface -d 'Send the probes on this interface instead of the one `ip route get` picks' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l rate -d 'Packets per second over all addresses (lower it if switches rate-limit ARP)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l attempts -d 'Probes per address; an address stops being probed as soon as someone answers' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l nodes -d 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l node-image -d 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l node-namespace -d 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l node-timeout -d 'How long one node-check pod may take, image pull included, e.g. 90s' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l node-concurrency -d 'How many node-check pods run at the same time' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l proc-root -d 'Read node facts from this proc tree instead of /proc (tests)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l speaker-node-selector -d 'Speakers run only on nodes with this label (repeatable)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l speaker-tolerations -d 'Taints speakers tolerate besides the control plane\'s, written like taints: KEY[=VALUE][:EFFECT] (comma-separated)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l local -d 'Do not contact the cluster: run only the node and pool checks'
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l no-probe -d 'Do not probe the pool addresses (ARP, NDP)'
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -l ignore-exclude-lb -d 'Speakers also announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers'
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand preflight" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -s i -l interface -d 'Send the probes on this interface instead of the one `ip route get` picks' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l rate -d 'Packets per second over all addresses (lower it if switches rate-limit ARP)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l attempts -d 'Probes per address; an address stops being probed as soon as someone answers' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l timeout -d 'Give up after this long, e.g. 30s (default: twice the time the probes need, plus 5s)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand probe" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l pool -d 'Pool addresses: a range a-b, a CIDR or an address; repeat it or separate with commas' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l pool-name -d 'Name of the IPAddressPool built from --pool' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l config -d 'A file of IPAddressPool and L2Advertisement documents to create' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l dry-run -d 'Show instead of doing: YAML on stdout (client, the default) or a server-side dry run' -r -f -a "client\t'Print every object as YAML on stdout; the cluster is not contacted'
server\t'Send every object as a server-side dry-run apply and report what would change'"
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l ignore -d 'Check IDs whose failure only warns (comma-separated, or "all")' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l timeout -d 'Deadline for the whole command, waits included' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -s n -l namespace -d 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l registry -d 'Registry and path replacing quay.io/metallb in image names (air-gapped mirrors)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l image-pull-policy -d 'Image pull policy of the controller and speaker' -r -f -a "Always\t''
IfNotPresent\t''
Never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l log-level -d 'Log level of the controller and speaker' -r -f -a "all\t''
debug\t''
info\t''
warn\t''
error\t''
none\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l speaker-node-selector -d 'Speakers run only on nodes with this label (repeatable)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l speaker-tolerations -d 'Taints speakers tolerate besides the control plane\'s, written like taints: KEY[=VALUE][:EFFECT] (comma-separated)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l skip-preflight -d 'Do not check the cluster and the pools before writing'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l no-probe -d 'Do not ARP-probe the pool addresses (probes run only on a cluster node with CAP_NET_RAW)'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l force-conflicts -d 'Take over fields another field manager (kubectl, Helm) set to other values'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -l ignore-exclude-lb -d 'Speakers also announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand install" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -s n -l namespace -d 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l ignore -d 'Check IDs whose failures become warnings (case-insensitive, comma-separated, repeatable; `all`)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l fail-on -d 'Which results make the exit code 1' -r -f -a "warning\t'Warnings also give exit code 1'
fail\t'Only failures give exit code 1 (default)'"
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l junit -d 'Also write the results as JUnit XML to FILE' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l wait -d 'Re-run the checks that can still pass (rollouts, webhook, pending services) until this deadline, e.g. 2m' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -s i -l interface -d 'Send the probes on this interface instead of the one `ip route get` picks' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l rate -d 'Packets per second over all addresses (lower it if switches rate-limit ARP)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l attempts -d 'Probes per address; an address stops being probed as soon as someone answers' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l nodes -d 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l node-image -d 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l node-namespace -d 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l node-timeout -d 'How long one node-check pod may take, image pull included, e.g. 90s' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l node-concurrency -d 'How many node-check pods run at the same time' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l bundle -d 'Also write a support bundle to FILE (.tar.gz): the report, MetalLB\'s objects and logs, events, nodes, kube-proxy; never Secret values' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l bundle-log-lines -d 'Lines of each MetalLB container\'s log in the bundle (the newest)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l proc-root -d 'Read host facts from this proc tree instead of /proc (tests)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l probe -d 'Probe the assigned addresses (ARP, NDP); an error when this host cannot (default: probe when CAP_NET_RAW is held)'
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -l no-probe -d 'Do not probe the assigned addresses'
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -s n -l namespace -d 'The Service\'s namespace (default: the kubeconfig context\'s namespace, then default)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -s i -l interface -d 'Send the probes on this interface instead of the one `ip route get` picks' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l rate -d 'Packets per second over all addresses (lower it if switches rate-limit ARP)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l attempts -d 'Probes per address; an address stops being probed as soon as someone answers' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l nodes -d 'Check these nodes through a short-lived read-only pod on each: `all`, or a label selector such as node-role.kubernetes.io/worker (default: only the host lbctl runs on)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l node-image -d 'Image of the node-check pods; any image with a POSIX sh (point air-gapped clusters at a mirror)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l node-namespace -d 'Namespace of the node-check pods; it must allow privileged pods (hostNetwork)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l node-timeout -d 'How long one node-check pod may take, image pull included, e.g. 90s' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l node-concurrency -d 'How many node-check pods run at the same time' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l all -d 'Every LoadBalancer Service, one line each (judged from the API only, never probed)'
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -l no-probe -d 'Do not send ARP/NDP for the address'
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand explain" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -s n -l namespace -d 'Namespace MetalLB lives in, like --metallb-namespace [default: metallb-system]' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l dry-run -d 'List what would be deleted; delete nothing (`--dry-run` is `--dry-run=client`)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l timeout -d 'Deadline for the whole command, waiting for deletions included' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -l keep-crds -d 'Keep the CRDs, and with them the pools and advertisements'
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand uninstall" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config)' -r -F
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -l context -d 'The kubeconfig context to use (default: the current context)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -l request-timeout -d 'How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit)' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text (default)'
json\t'One JSON document on stdout with a stable schema'"
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -l color -d 'When to colour human output (auto: only on a terminal and when NO_COLOR is unset)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -l metallb-namespace -d 'Namespace MetalLB lives in; install, doctor, uninstall and preflight also take it as -n/--namespace' -r
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -s v -l verbose -d 'More detail on stderr; repeat for more (-vv shows every API request)'
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -s q -l quiet -d 'Only results and problems, for scripts and CI logs: no step lines, headlines, spinners, --wait rounds or doctor --bundle\'s "wrote" line. Reports, diffs, dry-run objects, errors, warnings, hints and a writing command\'s final line stay'
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbctl -n "__fish_lbctl_using_subcommand man" -s V -l version -d 'Print version'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "version" -d 'Print the lbctl version, the embedded MetalLB version and the server version'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "enable-strictarp" -d 'Switch kube-proxy to IPVS mode with strictARP, restart it and wait (MetalLB L2 needs it)'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "completions" -d 'Print a shell completion script'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "preflight" -d 'Check whether this cluster, this node and a pool are ready for MetalLB L2 (read-only)'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "probe" -d 'Probe pool addresses with ARP (RFC 5227) or, for IPv6, NDP to find hosts already using them'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "install" -d 'Install MetalLB (built into lbctl) and its address pools, and wait until it serves'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "doctor" -d 'Check that MetalLB is healthy and that its addresses are really announced (read-only)'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "explain" -d 'Explain why a LoadBalancer address is (not) reachable, node by node, as MetalLB\'s L2 election decides'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "uninstall" -d 'Remove MetalLB: pools, webhook, workloads, RBAC, CRDs and namespace'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "man" -d 'Print the man page (roff) for lbctl or one of its subcommands'
complete -c lbctl -n "__fish_lbctl_using_subcommand help; and not __fish_seen_subcommand_from version enable-strictarp completions preflight probe install doctor explain uninstall man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
