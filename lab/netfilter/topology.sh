#!/usr/bin/env bash
# Creates the lab: a "node" network namespace with two veth links (and
# 169.254.20.10 on lo for node-local-dns), as a
# Kubernetes node sees its world:
#   eth0  10.100.0.1/24 <-> client netns eth0 10.100.0.2/24 (the VPC side)
#   cni0  10.244.1.1/24 <-> pods netns   eth0 10.244.1.2/24 + pod IPs
# Default route via 10.100.0.254 and the remote pod CIDR 10.244.2.0/24 via
# 10.100.0.3, both with permanent neighbours so that forwarded packets leave
# (and tcpdump sees them) without a real next hop.
# With "v6" the same links also carry IPv6: node eth0 fd00:100::1/64 (client
# fd00:100::2), node cni0 fd00:244:1::1/64 (pods fd00:244:1::2-99), remote
# pods fd00:244:2::/64 via fd00:100::3.
# Usage: topology.sh up PREFIX [v6|bridge] | topology.sh down PREFIX
set -euo pipefail
cmd=${1:?up|down} p=${2:-tks} v6=${3:-}
node=$p-node client=$p-client pods=$p-pods
down() {
  for n in "$node" "$client" "$pods" "$p-podA" "$p-podB"; do ip netns del "$n" 2>/dev/null || true; done
}
# "bridge": cni0 is a Linux bridge (TKE GlobalRouter's cbr0) with two pod
# netns on ports vethA (10.244.1.10-19) and vethB (10.244.1.20-29), and
# br_netfilter passing bridged frames to iptables (bridge-nf-call-iptables).
if [ "$cmd" = up ] && [ "$v6" = bridge ]; then
  down
  for n in "$node" "$client" "$p-podA" "$p-podB"; do
    ip netns add "$n"; ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip link add "$p-e0" netns "$node" type veth peer name "$p-c0" netns "$client"
  ip -n "$node" link set "$p-e0" name eth0
  ip -n "$client" link set "$p-c0" name eth0
  ip -n "$node" link add cni0 type bridge
  ip -n "$node" addr add 10.100.0.1/24 dev eth0
  ip -n "$node" addr add 10.244.1.1/24 dev cni0
  ip -n "$client" addr add 10.100.0.2/24 dev eth0
  for x in A B; do
    ip link add "$p-v$x" netns "$node" type veth peer name "$p-i$x" netns "$p-pod$x"
    ip -n "$node" link set "$p-v$x" name "veth$x"
    ip -n "$node" link set "veth$x" master cni0 up
    ip -n "$p-pod$x" link set "$p-i$x" name eth0
  done
  for i in $(seq 10 19); do ip -n "$p-podA" addr add "10.244.1.$i/24" dev eth0; done
  for i in $(seq 20 29); do ip -n "$p-podB" addr add "10.244.1.$i/24" dev eth0; done
  for n in "$node" "$client" "$p-podA" "$p-podB"; do ip -n "$n" link set eth0 up; done
  ip -n "$node" link set cni0 up
  ip -n "$client" route add default via 10.100.0.1
  ip -n "$p-podA" route add default via 10.244.1.1
  ip -n "$p-podB" route add default via 10.244.1.1
  ip -n "$node" route add default via 10.100.0.254
  for i in $(seq 3 254); do ip -n "$node" neigh add "10.100.0.$i" lladdr "02:00:00:00:00:$(printf %02x "$i")" dev eth0 nud permanent; done
  ip -n "$node" route add 10.244.2.0/24 via 10.100.0.3
  ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip netns exec "$node" sysctl -qw net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.cni0.rp_filter=0 net.ipv4.conf.all.route_localnet=1
  ip netns exec "$node" sysctl -qw net.bridge.bridge-nf-call-iptables=1
  for n in "$client" "$p-podA" "$p-podB"; do ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0; done
  exit 0
fi
if [ "$cmd" = down ]; then down; exit 0; fi
down
for n in "$node" "$client" "$pods"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "$p-e0" netns "$node" type veth peer name "$p-c0" netns "$client"
ip link add "$p-e1" netns "$node" type veth peer name "$p-p0" netns "$pods"
ip -n "$node" link set "$p-e0" name eth0
ip -n "$node" link set "$p-e1" name cni0
ip -n "$client" link set "$p-c0" name eth0
ip -n "$pods" link set "$p-p0" name eth0
ip -n "$node" addr add 10.100.0.1/24 dev eth0
ip -n "$node" addr add 10.244.1.1/24 dev cni0
ip -n "$client" addr add 10.100.0.2/24 dev eth0
ip -n "$pods" addr add 10.244.1.2/24 dev eth0
for n in "$node" "$client" "$pods"; do ip -n "$n" link set eth0 up; done
ip -n "$node" link set cni0 up
ip -n "$client" route add default via 10.100.0.1
# load-balancer IPs 10.100.0.200-207 are reached through the node
ip -n "$client" route add 10.100.0.200/29 via 10.100.0.1
ip -n "$pods" route add default via 10.244.1.1
ip -n "$node" neigh add 10.100.0.254 lladdr 02:00:00:00:00:fe dev eth0 nud permanent
ip -n "$node" neigh add 10.100.0.3 lladdr 02:00:00:00:00:03 dev eth0 nud permanent
ip -n "$node" route add default via 10.100.0.254
# every other VPC host on eth0 resolves, so forwarded packets are captured
for i in $(seq 4 253); do ip -n "$node" neigh add "10.100.0.$i" lladdr "02:00:00:00:00:$(printf %02x "$i")" dev eth0 nud permanent; done
ip -n "$node" route add 10.244.2.0/24 via 10.100.0.3
# node-local-dns listens on a link-local address (on a dummy interface on
# real nodes; this kernel has no dummy driver, lo serves the same purpose).
ip -n "$node" addr add 169.254.20.10/32 dev lo
# pod IPs answer ARP in the pods netns
for i in $(seq 3 99); do ip -n "$pods" addr add "10.244.1.$i/32" dev eth0; done
if [ "$v6" = v6 ]; then
  for n in "$node" "$client" "$pods"; do
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.lo.disable_ipv6=0
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0
  done
  ip netns exec "$node" sysctl -qw net.ipv6.conf.cni0.disable_ipv6=0 net.ipv6.conf.cni0.accept_dad=0 net.ipv6.conf.all.forwarding=1
  ip -n "$node" addr add fd00:100::1/64 dev eth0 nodad
  ip -n "$node" addr add fd00:244:1::1/64 dev cni0 nodad
  ip -n "$client" addr add fd00:100::2/64 dev eth0 nodad
  ip -n "$pods" addr add fd00:244:1::2/64 dev eth0 nodad
  for i in $(seq 3 99); do ip -n "$pods" addr add "fd00:244:1::$(printf %x "$i")/128" dev eth0 nodad; done
  ip -n "$client" -6 route add default via fd00:100::1
  ip -n "$pods" -6 route add default via fd00:244:1::1
  for i in $(seq 3 254); do ip -n "$node" -6 neigh add "fd00:100::$(printf %x "$i")" lladdr "02:00:00:00:01:$(printf %02x "$i")" dev eth0 nud permanent; done
  ip -n "$node" -6 route add default via fd00:100::fe
  ip -n "$node" -6 route add fd00:244:2::/64 via fd00:100::3
else
  for n in "$node" "$client" "$pods"; do ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
fi
ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$node" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ip netns exec "$node" sysctl -qw net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.cni0.rp_filter=0
# kube-proxy sets route_localnet so that 127.0.0.1:NodePort can be DNATed.
ip netns exec "$node" sysctl -qw net.ipv4.conf.all.route_localnet=1
ip netns exec "$node" sysctl -qw net.ipv4.conf.all.accept_local=1
for n in "$client" "$pods"; do ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0; done
