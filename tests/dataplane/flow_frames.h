// Underlay frames the flow tests send besides tunnel traffic: what the
// slow path takes (ARP and neighbour solicitations for our addresses, the
// host's own traffic).
#pragma once

#include "engine/neighbours/nd.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/nd_packets.h"

namespace tartan::testing {

// Node i asks who has our public IP.
inline Bytes arp_request_from(int i, const EngineFixture& fx) {
  const RemoteNode peer = EngineFixture::node(i);
  return arp_frame(1, *MacAddr::parse("ff:ff:ff:ff:ff:ff"), peer.underlay_mac, peer.public_ip,
                   MacAddr{}, fx.self().public_ip);
}

// Node i's UDP to our public IP on `port`: the host's own traffic, which
// goes to the exception port.
inline Bytes host_udp_from(int i, const EngineFixture& fx, uint16_t src_port, uint16_t port) {
  UdpSpec s;
  s.src_mac = EngineFixture::node(i).underlay_mac;
  s.dst_mac = fx.self().underlay_mac;
  s.src_ip = EngineFixture::node(i).public_ip;
  s.dst_ip = fx.self().public_ip;
  s.src_port = src_port;
  s.dst_port = port;
  return udp_frame(s);
}

// Node i asks, over IPv6, who has our public IPv6 (a neighbour
// solicitation to its solicited-node address).
inline Bytes solicitation_from(int i, const EngineFixture& fx) {
  const RemoteNode6 peer = EngineFixture::node6(i);
  const Ipv6Addr us = fx.self6().public_ip;
  NdSpec s;
  s.src_mac = peer.underlay_mac;
  s.dst_mac = MacAddr{{0x33, 0x33, 0xff, us.bytes[13], us.bytes[14], us.bytes[15]}};
  s.src_ip = peer.public_ip;
  s.dst_ip = solicited_node(us);
  s.target = us;
  s.options = {link_option(1, peer.underlay_mac)};
  return nd_frame(s);
}

}  // namespace tartan::testing
