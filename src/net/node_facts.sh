# lbctl node facts, format 1 (docs/node-checks.md). POSIX sh, read-only.
# Prints the files lbctl's node checks read, each as "file PATH" followed by its lines
# prefixed with "|", between a header and an end marker so a cut-off log is detected.
# LBCTL_PROC, LBCTL_SYS and LBCTL_LIB_MODULES move the roots (tests use fixture trees).
P="${LBCTL_PROC:-/proc}"
S="${LBCTL_SYS:-/sys}"
M="${LBCTL_LIB_MODULES:-/lib/modules}"

# Filters: which lines of a long file lbctl needs.
port_7946() { case "$1" in *local_address*|*:1F0A\ *) return 0 ;; esac; return 1; }
ipvs_module() { case "$1" in *ip_vs*|*ip-vs*|*nf_conntrack*|*nf-conntrack*) return 0 ;; esac; return 1; }

# dump NODE_PATH REAL_PATH [FILTER]: the file's lines, or those the FILTER function keeps.
dump() {
  [ -f "$2" ] && [ -r "$2" ] || return 0
  echo "file $1"
  while IFS= read -r l || [ -n "$l" ]; do
    if [ -z "$3" ] || "$3" "$l"; then printf '|%s\n' "$l"; fi
  done < "$2"
}

echo "lbctl-node-facts 1"
dump /proc/sys/kernel/hostname "$P/sys/kernel/hostname"
dump /proc/sys/kernel/osrelease "$P/sys/kernel/osrelease"
dump /proc/sys/net/ipv4/ip_forward "$P/sys/net/ipv4/ip_forward"
for d in "$P"/sys/net/ipv4/conf/*; do
  [ -d "$d" ] || continue
  i="${d##*/}"
  for k in arp_ignore arp_announce rp_filter proxy_arp arp_filter arp_accept arp_notify drop_gratuitous_arp; do
    dump "/proc/sys/net/ipv4/conf/$i/$k" "$d/$k"
  done
done
dump /proc/modules "$P/modules"
if [ -e "$P/net/ip_vs" ]; then echo "file /proc/net/ip_vs"; fi
r=""
[ -r "$P/sys/kernel/osrelease" ] && IFS= read -r r < "$P/sys/kernel/osrelease"
if [ -n "$r" ]; then
  dump "/lib/modules/$r/modules.builtin" "$M/$r/modules.builtin" ipvs_module
fi
dump /proc/net/route "$P/net/route"
dump /proc/net/ipv6_route "$P/net/ipv6_route"
for t in tcp tcp6 udp udp6; do
  # Only sockets on port 7946 (hex 1F0A), MetalLB's memberlist port.
  dump "/proc/net/$t" "$P/net/$t" port_7946
done
dump /proc/net/fib_trie "$P/net/fib_trie"
dump /proc/net/if_inet6 "$P/net/if_inet6"
for d in "$S"/class/net/*; do
  [ -d "$d" ] || continue
  i="${d##*/}"
  for k in ifindex address flags; do
    dump "/sys/class/net/$i/$k" "$d/$k"
  done
  # A bond or bridge port links to its master's directory: print the master's name.
  if [ -d "$d/master" ] && m=$(cd "$d/master" && pwd -P); then
    echo "file /sys/class/net/$i/master"
    printf '|%s\n' "${m##*/}"
  fi
done
echo "end lbctl-node-facts"
