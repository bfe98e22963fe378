#!/bin/sh
# Usage: capture-kernel-vxlan.sh OUT.pcap (root). Made tests/fuzz/captures/kernel-vxlan.pcap.
# Two kernel flannel nodes (flannel.1 as flanneld configures it) in network
# namespaces; ping and UDP between their podCIDR addresses over VXLAN,
# captured on the underlay.
set -e
A=cap-a-$$; B=cap-b-$$
ip netns add $A; ip netns add $B
trap 'ip netns del $A; ip netns del $B' EXIT
ip link add eth0 netns $A type veth peer name eth0 netns $B
for ns in $A $B; do ip -n $ns link set lo up; ip -n $ns link set eth0 up; done
ip -n $A addr add 192.0.2.11/24 dev eth0; ip -n $B addr add 192.0.2.12/24 dev eth0
ip -n $A link add flannel.1 type vxlan id 1 local 192.0.2.11 dev eth0 dstport 8472 nolearning
ip -n $B link add flannel.1 type vxlan id 1 local 192.0.2.12 dev eth0 dstport 8472 nolearning
for ns in $A $B; do ip -n $ns link set flannel.1 mtu 1450 up; done
ip -n $A addr add 10.244.1.0/32 dev flannel.1; ip -n $B addr add 10.244.2.0/32 dev flannel.1
MA=$(ip netns exec $A cat /sys/class/net/flannel.1/address); MB=$(ip netns exec $B cat /sys/class/net/flannel.1/address)
ip -n $A neigh replace 10.244.2.0 lladdr $MB dev flannel.1 nud permanent
ip netns exec $A bridge fdb replace $MB dev flannel.1 dst 192.0.2.12 self permanent
ip -n $A route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink
ip -n $B neigh replace 10.244.1.0 lladdr $MA dev flannel.1 nud permanent
ip netns exec $B bridge fdb replace $MA dev flannel.1 dst 192.0.2.11 self permanent
ip -n $B route replace 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
ip netns exec $A tshark -q -i eth0 -f "udp port 8472" -a duration:4 -F pcap -w "$1" 2>/dev/null &
sleep 1.5
ip netns exec $A ping -c 2 -i 0.2 -s 56 10.244.2.0 >/dev/null
ip netns exec $A ping -c 1 -s 1300 10.244.2.0 >/dev/null
wait
