#!/usr/bin/env bash
# Regenerates iproute2-6.1.txt: the exact bytes iproute2 sends for the requests felix's codec builds.
# Each command runs under `strace -e write=3` in a scratch namespace; the hex dump of the last buffer
# written to fd 3 (iproute2's rtnetlink socket), cut to its nlmsg_len, is the golden message. Root, strace and iproute2 needed.
# The test (../rtnetlink-golden.test.ts) rebuilds each message with felix's encoders, using the sequence
# number found in the capture, and compares byte for byte.
set -euo pipefail
cd "$(dirname "$0")"
ns=felixgold$$
out=iproute2-6.1.txt
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add eth0 type veth peer name eth1          # eth1=2 eth0=3 (the peer registers first)
ip -n "$ns" link add cali1 type veth peer name cali1p       # cali1p=4 cali1=5
ip -n "$ns" link set eth0 up
ip -n "$ns" link set eth1 up
ip -n "$ns" link set cali1 up
ip -n "$ns" link set cali1p up
ip -n "$ns" addr add 10.0.0.1/24 dev eth0
ip -n "$ns" link add vxlan.calico type vxlan id 4096 dstport 4789 local 10.0.0.1 dev eth0 nolearning # 6
ip -n "$ns" link set vxlan.calico up

{
  echo "# iproute2 $(ip -V | sed 's/.*iproute2-//; s/,.*//') requests captured with strace on $(uname -r), $(date -u +%F)."
  echo "# Interface indexes in the capture namespace: eth1=2 eth0=3 cali1p=4 cali1=5 vxlan.calico=6."
} >"$out"

capture() {
  local name=$1
  shift
  local log
  log=$(strace -f -e trace=sendmsg,sendto -e write=3 "$@" 2>&1 >/dev/null || true)
  local hex
  hex=$(printf '%s\n' "$log" | awk '
    /^[a-z]/ { buf = ""; next }
    /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { line = substr($0, 11, 49); gsub(/ +/, "", line); buf = buf line; last = buf; next }
    END { print last }')
  # iproute2 sends dump requests from a larger struct: keep nlmsg_len bytes (little-endian u32 at 0).
  local len=$((16#${hex:6:2}${hex:4:2}${hex:2:2}${hex:0:2}))
  hex=${hex:0:len*2}
  printf '\n# %s\n$ %s\n%s\n' "$name" "${*//$ns/NS}" "$hex" >>"$out"
}

capture route-gateway-onlink ip -n "$ns" route add 10.65.0.0/26 via 10.0.0.2 dev eth0 proto 80 onlink
capture route-replace-gateway ip -n "$ns" route replace 10.65.3.0/26 via 10.0.0.3 dev eth0 proto 80
capture route-workload ip -n "$ns" route replace 10.65.1.5/32 dev cali1 proto boot scope link
capture route-blackhole ip -n "$ns" route replace blackhole 10.65.1.0/26 proto 80
capture route-vxlan-mtu ip -n "$ns" route replace 10.65.2.0/26 via 10.65.2.0 dev vxlan.calico proto 80 onlink mtu 1450
capture route-metric-table ip -n "$ns" route replace 10.66.0.0/16 via 10.0.0.2 metric 1024 table 100 dev eth0 proto 80
capture route-local ip -n "$ns" route replace local 10.67.0.1/32 dev eth0 proto 80 table local
capture route-v6-gateway ip -n "$ns" -6 route replace fd65::/122 via fd00::2 dev eth0 proto 80 onlink
capture route-delete ip -n "$ns" route del 10.65.0.0/26 proto 80 dev eth0
capture route-delete-metric ip -n "$ns" route del 10.66.0.0/16 metric 1024 table 100 proto 80
capture route-dump ip -n "$ns" route show table all
capture link-vxlan ip -n "$ns" link add vxlan.test address 66:0a:0b:0c:0d:0e mtu 1450 type vxlan id 4096 dstport 4789 local 10.0.0.1 dev eth0 nolearning
capture link-veth ip -n "$ns" link add cali2 type veth peer name eth9
capture link-ipip ip -n "$ns" link add tunl0 type ipip
capture link-ipip-mtu ip -n "$ns" link add tunl0 mtu 1480 type ipip
capture link-set-mtu-up ip -n "$ns" link set dev vxlan.calico mtu 1400 up
capture link-set-address ip -n "$ns" link set dev cali1 address ee:ee:ee:ee:ee:ee
capture link-delete ip -n "$ns" link del dev cali2
capture link-dump ip -n "$ns" link show
capture addr-add ip -n "$ns" addr add 10.65.2.0/32 dev vxlan.calico
capture addr-replace ip -n "$ns" addr replace 10.65.2.0/32 dev vxlan.calico
capture addr-delete ip -n "$ns" addr del 10.65.2.0/32 dev vxlan.calico
capture addr-add-scope-link ip -n "$ns" addr add 169.254.0.179/32 dev cali1 scope link
capture addr-add-scope-link-v6 ip -n "$ns" -6 addr add fe80::179/128 dev cali1 scope link
capture addr-dump ip -n "$ns" addr show
capture neigh-permanent ip -n "$ns" neigh replace 10.65.3.0 lladdr 66:0a:0b:0c:0d:0f dev vxlan.calico nud permanent
capture neigh-delete ip -n "$ns" neigh del 10.65.3.0 dev vxlan.calico
capture neigh-dump ip -n "$ns" neigh show
capture fdb-replace bridge -n "$ns" fdb replace 66:0a:0b:0c:0d:0f dev vxlan.calico dst 10.0.0.2 self permanent
capture fdb-delete bridge -n "$ns" fdb del 66:0a:0b:0c:0d:0f dev vxlan.calico dst 10.0.0.2 self
capture fdb-dump bridge -n "$ns" fdb show dev vxlan.calico
# Kernel replies (every buffer read from fd 3, concatenated), for the decoders.
capture_reply() {
  local name=$1
  shift
  local log
  log=$(strace -f -e trace=recvmsg -e read=3 "$@" 2>&1 >/dev/null || true)
  local hex
  hex=$(printf '%s\n' "$log" | awk '
    /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { line = substr($0, 11, 49); gsub(/ +/, "", line); all = all line; next }
    END { print all }')
  printf '\n# %s\n< %s\n%s\n' "$name" "${*//$ns/NS}" "$hex" >>"$out"
}
ip -n "$ns" route replace 10.65.0.0/26 via 10.0.0.2 dev eth0 proto 80 onlink
ip -n "$ns" route replace 10.65.4.0/26 via 10.0.0.4 dev eth0 proto 12 metric 1024
ip -n "$ns" route replace blackhole 10.65.1.0/26 proto 80
ip -n "$ns" route replace 10.65.2.0/26 via 10.65.2.0 dev vxlan.calico proto 80 onlink mtu 1450
ip -n "$ns" neigh replace 10.65.3.0 lladdr 66:0a:0b:0c:0d:0f dev vxlan.calico nud permanent
bridge -n "$ns" fdb replace 66:0a:0b:0c:0d:0f dev vxlan.calico dst 10.0.0.2 self permanent
capture_reply route-dump-reply ip -n "$ns" -4 route show table main
capture_reply link-get-vxlan-reply ip -n "$ns" -d link show dev vxlan.calico
capture_reply neigh-dump-reply ip -n "$ns" -4 neigh show dev vxlan.calico
capture_reply fdb-dump-reply bridge -n "$ns" fdb show dev vxlan.calico
echo "wrote $out"
