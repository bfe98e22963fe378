// A whole engine on ring-backed ports, driven from the test thread: inject
// frames, run the worker loop and the control side, collect what came out.
// Every node, this one included, is node(i): podCIDR 10.244.i.0/24, public
// IP 192.0.2.(18+i) on 192.0.2.0/24 (gateway 192.0.2.1, a static neighbour),
// or 198.51.100.i behind the gateway for i >= 200.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "tests/support/packets.h"
#include "tests/support/ring_port.h"
#include "tests/support/wireguard_frames.h"

namespace tartan::testing {

struct FixtureOptions {
  int self = 1;              // which node(i) this engine is
  bool run_workers = false;  // launch the worker on lcore 1 and the housekeeping thread
  BackendType backend = BackendType::kVxlan;
  bool direct_routing = false;
  OverlayRouting overlay_routing = OverlayRouting::kTartan;
  bool exception_port = false;
  bool udp_checksum = true;
  WireguardTimes wireguard_times;  // the wireguard backend's keypair lifetimes
  // wireguard in flannel's one-device modes: IPv6 peers on ListenPort too.
  bool wireguard_one_device = false;
  uint32_t max_routes = 1024;
  uint32_t mempool_size = 4095;
  uint32_t arp_queue_len = 8;
  uint32_t arp_retry_ms = 10;
  uint32_t arp_max_retries = 2;
  uint32_t icmp_rate_per_s = 1000;
  uint32_t reassembly_max_packets = 256;
  uint32_t reassembly_timeout_ms = 1000;
  unsigned ring_size = 4096;
  bool check_books = true;  // check_books() when the fixture goes (after stopping the engine)
  // Workers (lcores 1..workers); every port gets a queue per worker.
  unsigned workers = 1;
  // The underlay device (PortConfig::device) when the test brings its own,
  // e.g. a FlowTestPort; "" for a ring port of the fixture's.
  std::string underlay_device;
  // Likewise the overlay device (e.g. a vnet_tap); "" for a ring port.
  std::string overlay_device;
  // Dual stack: our underlay IPv6 address (node6(self)), its gateway (a
  // static neighbour) and our IPv6 podCIDR.
  bool ipv6 = false;
  // false (with `ipv6`): an IPv6-only underlay, without our IPv4 address,
  // gateway and podCIDR.
  bool ipv4 = true;
};

// The IPv6 side of node i (EngineFixture::node6).
struct RemoteNode6 {
  Ipv6Prefix subnet;
  Ipv6Addr public_ip;
  MacAddr vtep_mac;  // flannel-v6's
  MacAddr underlay_mac;
};

struct RemoteNode {
  Ipv4Prefix subnet;
  Ipv4Addr public_ip;
  MacAddr vtep_mac;
  MacAddr underlay_mac;
};

class EngineFixture {
 public:
  static inline const MacAddr kOverlayMac =
      *MacAddr::parse("02:00:00:00:01:01");  // the overlay host's side
  static inline const MacAddr kPodMac =
      *MacAddr::parse("02:00:00:00:01:99");  // a pod behind the overlay
  static inline const Ipv4Addr kGateway = *Ipv4Addr::parse("192.0.2.1");
  static inline const MacAddr kGatewayMac = *MacAddr::parse("02:00:00:00:00:fe");
  static inline const Ipv6Addr kGateway6 = *Ipv6Addr::parse("2001:db8::1");

  explicit EngineFixture(const FixtureOptions& options = {});
  ~EngineFixture();

  // Node i (1..250): 10.244.i.0/24 at 192.0.2.(18+i) with VtepMAC
  // 0e:00:00:00:00:i and underlay MAC 02:00:00:00:0b:i; nodes >= 200 sit
  // behind the gateway at 198.51.100.i.
  static RemoteNode node(int i);
  RemoteNode self() const { return node(options_.self); }
  // A pod address in our podCIDR (host part `host`).
  Ipv4Addr pod_ip(int host = 10) const {
    return Ipv4Addr{self().subnet.addr.value + static_cast<uint32_t>(host)};
  }
  RouteSpec route_to(int i) const;
  // Node i over IPv6: podCIDR fd00:10:244:i::/64 at 2001:db8::(18+i) on
  // 2001:db8::/64 (gateway 2001:db8::1, a static neighbour), or
  // 2001:db8:ffff::i behind the gateway for i >= 200; flannel-v6 VtepMAC
  // 0e:00:00:00:06:i; the same underlay MAC as node(i).
  static RemoteNode6 node6(int i);
  RemoteNode6 self6() const { return node6(options_.self); }
  Ipv6Addr pod_ip6(int host = 10) const;
  Route6Spec route6_to(int i) const;
  // Adds the IPv6 route to node i and a static neighbour for its underlay MAC.
  void add_node6(int i, bool static_neighbour = true);
  // Adds the route to node i and a static neighbour for its underlay MAC.
  void add_node(int i, bool static_neighbour = true);

  Engine& engine() { return *engine_; }
  rte_mempool* pool() { return engine_->mempool(); }
  const FixtureOptions& options() const { return options_; }

  // A pass of every worker and one control pass, `rounds` times (not with
  // run_workers).
  void poll(int rounds = 1);
  // Injects frames on a port, polls, and returns what each port sent.
  std::vector<Bytes> from_overlay(const std::vector<Bytes>& frames);
  std::vector<Bytes> from_underlay(const std::vector<Bytes>& frames);
  std::vector<Bytes> take_underlay();
  std::vector<Bytes> take_overlay();
  std::vector<Bytes> take_exception();
  RingPort& underlay_port() { return *underlay_; }
  RingPort& overlay_port() { return *overlay_; }

  uint64_t drops(DropReason reason) { return engine_->stats().drop_count(reason); }
  uint64_t total_drops();
  // Mempool mbufs in use beyond those in use before the ports started.
  int64_t mbufs_in_use() const;

  // The buffer accounting every test gets at teardown: the engine's books
  // balance (Engine::accounting()), the mempool lends out exactly the mbufs
  // the engine holds plus those in the ports' rings, and each ring port's
  // device counters are what the workers counted it received and sent. ""
  // when so, else what is off. Exact only while no packet is in process:
  // with run_workers, after engine().stop().
  std::string check_books() const;
  // Where teardown reports a failed check_books() (default: stderr). The
  // gtest mains make it a test failure.
  static void set_books_handler(std::function<void(const std::string&)> handler);

  // An Ethernet/IPv4/UDP frame from a pod on our overlay to `dst`.
  Bytes pod_frame(Ipv4Addr dst, uint16_t src_port = 10000, uint16_t payload = 18,
                  uint8_t ttl = 64) const;
  // An Ethernet/IPv6/UDP frame from a pod on our overlay to `dst`.
  Bytes pod_frame6(const Ipv6Addr& dst, uint16_t src_port = 10000, uint16_t payload = 18,
                   uint8_t hop_limit = 64) const;
  // An Ethernet/IPv6/ICMPv6 frame from a pod on our overlay to `dst`: a
  // message of `type`, code 0, `size` bytes in all, its checksum valid.
  Bytes pod_icmp6_frame(const Ipv6Addr& dst, uint8_t type, uint16_t size = 48,
                        uint8_t hop_limit = 64) const;
  // flannel-v6's VXLAN over IPv6 from node i to us carrying an inner
  // IPv6/UDP frame to `inner_dst` (from node i's ::a pod, hop limit 63), of
  // flow `flow` as vxlan_flow_from has it (inner source port 10000 + flow,
  // outer 40000 + flow).
  Bytes vxlan6_from(int i, const Ipv6Addr& inner_dst, uint32_t vni = 1, uint16_t inner_payload = 18,
                    uint16_t flow = 0) const;
  // A VXLAN frame from node i to us carrying an inner UDP frame to `inner_dst`
  // (from the .10 pod of node i, inner TTL 63).
  Bytes vxlan_from(int i, Ipv4Addr inner_dst, uint32_t vni = 1, uint16_t inner_payload = 18) const;
  // Flow `flow` of node i in VXLAN: inner UDP source port 10000 + flow and,
  // as a Linux VTEP derives it from the inner flow, outer source port
  // 40000 + flow (so RSS on either header spreads flows).
  Bytes vxlan_flow_from(int i, Ipv4Addr inner_dst, uint16_t flow) const;
  // A udp-backend frame from node i to us carrying an inner UDP packet.
  Bytes udp_tunnel_from(int i, Ipv4Addr inner_dst) const;
  // The wireguard backend: installs a keypair for node i, as the handshake
  // would, under which we send with `send` to the node's `remote_index`
  // and receive with `receive`, at `reserved` (an index the engine gave)
  // or a new index; returns our receiver index for it.
  uint32_t add_wireguard_keypair(int i, const wireguard::Key& send, const wireguard::Key& receive,
                                 uint32_t remote_index, bool initiator = true,
                                 std::optional<uint32_t> reserved = std::nullopt);
  // A WireGuard message (wireguard_frames.h) from node i's ListenPort to ours.
  Bytes wireguard_from(int i, const Bytes& message) const;
  // The same from `source`:`source_port` instead: node i roamed (a NAT
  // rebinding, another uplink).
  Bytes wireguard_from(int i, const Bytes& message, Ipv4Addr source, uint16_t source_port) const;
  // The IPv4/UDP packet node i's .10 pod sends to `inner_dst` (TTL 63, as
  // the node forwarded it), `payload` bytes of UDP payload.
  Bytes pod_packet_from(int i, Ipv4Addr inner_dst, uint16_t payload = 18) const;
  // The wireguard backend over IPv6 (flannel-wg-v6): installs a keypair
  // for node i's IPv6 peer, as add_wireguard_keypair does for its IPv4 one.
  uint32_t add_wireguard_keypair6(int i, const wireguard::Key& send, const wireguard::Key& receive,
                                  uint32_t remote_index, bool initiator = true,
                                  std::optional<uint32_t> reserved = std::nullopt);
  // A WireGuard message from node i's public IPv6 and ListenPortV6 to ours
  // and `dst_port`.
  Bytes wireguard6_from(int i, const Bytes& message, uint16_t dst_port = kWireguardPortV6) const;
  // The IPv6/UDP packet node i's ::a pod sends to `inner_dst` (hop limit
  // 63, as the node forwarded it), `payload` bytes of UDP payload.
  Bytes pod_packet6_from(int i, const Ipv6Addr& inner_dst, uint16_t payload = 18) const;

 private:
  UdpSpec outer_from(int i, uint16_t src_port, uint16_t dst_port) const;
  bool is_ring_port(uint16_t port_id) const;
  UdpSpec inner_from(int i, Ipv4Addr inner_dst) const;
  // The Ethernet and IPv6 fields of a frame from a pod on our overlay.
  template <class Spec>
  Spec from_pod6(const Ipv6Addr& dst, uint8_t hop_limit) const;

  FixtureOptions options_;
  std::unique_ptr<RingPort> underlay_, overlay_, exception_;
  std::unique_ptr<Engine> engine_;
  int64_t baseline_in_use_ = 0;
};

// The wireguard backend: the keypairs one handshake leaves `initiator` and
// `responder` with, each for the other's node (the responder's is the
// whitepaper's "next" until the initiator's first packet confirms it).
void add_wireguard_handshake(EngineFixture& initiator, EngineFixture& responder);

}  // namespace tartan::testing
