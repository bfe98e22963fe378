// Underlay frames the flow tests send besides tunnel traffic: what the
// slow path takes (ARP for our address, the host's own traffic).
#pragma once

#include "tests/support/engine_fixture.h"

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

}  // namespace tartan::testing
