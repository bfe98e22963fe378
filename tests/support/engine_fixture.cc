#include "tests/support/engine_fixture.h"

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdio>
#include <stdexcept>

#include "tests/support/nd_packets.h"
#include "tests/support/wireguard_frames.h"

namespace tartan::testing {
namespace {

std::function<void(const std::string&)>& books_handler() {
  static std::function<void(const std::string&)> handler = [](const std::string& problems) {
    std::fprintf(stderr, "EngineFixture: the books do not balance at teardown: %s\n",
                 problems.c_str());
  };
  return handler;
}

std::vector<Bytes> take(RingPort& port) {
  std::vector<Bytes> out;
  for (rte_mbuf* m : port.drain()) {
    out.push_back(from_mbuf(m));
    rte_pktmbuf_free(m);
  }
  return out;
}

}  // namespace

EngineFixture::EngineFixture(const FixtureOptions& o) : options_(o) {
  // Every port offers a queue per worker.
  if (o.underlay_device.empty()) underlay_ = std::make_unique<RingPort>(o.ring_size, o.workers);
  if (o.overlay_device.empty()) overlay_ = std::make_unique<RingPort>(o.ring_size, o.workers);
  EngineConfig c;
  const RemoteNode me = node(o.self);
  c.ports.push_back({"underlay", underlay_ ? underlay_->name() : o.underlay_device,
                     PortRole::kUnderlay, 1500, me.underlay_mac});
  c.ports.push_back({"overlay0", overlay_ ? overlay_->name() : o.overlay_device, PortRole::kOverlay,
                     0, kOverlayMac, o.overlay_routing});
  if (o.exception_port) {
    exception_ = std::make_unique<RingPort>(o.ring_size, o.workers);
    c.ports.push_back({"exception", exception_->name(), PortRole::kException, 0, std::nullopt});
  }
  if (o.ipv4) {
    c.underlay.address = Ipv4Prefix{me.public_ip, 24};
    c.underlay.gateway = kGateway;
    c.dataplane.static_neighbours = {{kGateway, kGatewayMac}};
  }
  c.workers.lcores.clear();
  for (unsigned w = 0; w < o.workers; ++w) c.workers.lcores.push_back(1 + w);
  c.workers.mempool_size = o.mempool_size;
  c.workers.mempool_cache = 0;  // in-use counts must not hide mbufs in lcore caches
  c.workers.rx_descriptors = 256;
  c.workers.tx_descriptors = 256;
  DataplaneConfig& d = c.dataplane;
  d.backend = o.backend;
  d.udp_port = o.backend == BackendType::kUdp         ? 8285
               : o.backend == BackendType::kWireguard ? kWireguardPort
                                                      : 8472;
  d.wireguard_one_device = o.wireguard_one_device;
  d.udp_port_v6 = o.wireguard_one_device ? kWireguardPort : kWireguardPortV6;
  d.wireguard_times = o.wireguard_times;
  d.direct_routing = o.direct_routing;
  d.udp_checksum = o.udp_checksum;
  d.vtep_mac = me.vtep_mac;
  d.max_routes = o.max_routes;
  d.lpm_tbl8_groups = 64;
  d.arp_queue_len = o.arp_queue_len;
  d.arp_retry_ms = o.arp_retry_ms;
  d.arp_max_retries = o.arp_max_retries;
  d.icmp_rate_per_s = o.icmp_rate_per_s;
  d.reassembly_max_packets = o.reassembly_max_packets;
  d.reassembly_timeout_ms = o.reassembly_timeout_ms;
  if (o.ipv6) {
    c.underlay.ipv6_address = Ipv6Prefix{node6(o.self).public_ip, 64};
    c.underlay.ipv6_gateway = kGateway6;
    d.vtep_mac_v6 = node6(o.self).vtep_mac;
  }
  auto e = Engine::create(c);
  if (!e) throw std::runtime_error("engine: " + e.status().message());
  engine_ = std::move(e).value();
  baseline_in_use_ = rte_mempool_in_use_count(engine_->mempool());
  if (Status s = engine_->set_local_subnet(o.ipv4 ? std::optional(me.subnet) : std::nullopt);
      !s.ok())
    throw std::runtime_error(s.message());
  if (o.ipv6) {
    TableDelta gateway6;
    gateway6.set_neighbours6 = {{kGateway6, kGatewayMac}};
    if (Status s = engine_->apply(gateway6); !s.ok()) throw std::runtime_error(s.message());
    if (Status s = engine_->set_local_subnet6(self6().subnet); !s.ok())
      throw std::runtime_error(s.message());
  }
  if (Status s = o.run_workers ? engine_->start() : engine_->start_ports(); !s.ok()) {
    throw std::runtime_error(s.message());
  }
}

EngineFixture::~EngineFixture() {
  if (options_.check_books) {
    engine_->stop();
    if (const std::string problems = check_books(); !problems.empty()) books_handler()(problems);
  }
  engine_.reset();
}

std::string EngineFixture::check_books() const {
  const Accounting a = engine_->accounting();
  std::string problems;
  if (a.imbalance() != 0) problems = "packets are unaccounted for: " + a.describe();
  const int64_t in_rings = (underlay_ ? underlay_->pending() : 0) +
                           (overlay_ ? overlay_->pending() : 0) +
                           (exception_ ? exception_->pending() : 0);
  const int64_t expected = static_cast<int64_t>(a.holding()) + in_rings;
  const auto add = [&problems](const std::string& problem) {
    problems += (problems.empty() ? "" : "\n") + problem;
  };
  if (mbufs_in_use() != expected) {
    add("mbufs leaked or lost: " + std::to_string(mbufs_in_use()) +
        " in use beyond the baseline, but the engine holds " + std::to_string(a.holding()) +
        " and the ports' rings " + std::to_string(in_rings));
  }
  // The books are the workers' counts; each ring port's own counters
  // (net_ring counts what rx_burst returned and tx_burst took) must agree,
  // so the books are about what really crossed the ports.
  for (const PortFlow& p : a.ports) {
    if (!is_ring_port(p.port_id)) continue;  // a test's own device counts as it likes
    rte_eth_stats device{};
    if (rte_eth_stats_get(p.port_id, &device) != 0) {
      add(p.name + ": no device counters");
    } else if (device.ipackets != p.rx || device.opackets != p.tx) {
      add(p.name + ": the device received " + std::to_string(device.ipackets) + " and sent " +
          std::to_string(device.opackets) + ", the workers counted rx " + std::to_string(p.rx) +
          " and tx " + std::to_string(p.tx));
    }
  }
  return problems;
}

bool EngineFixture::is_ring_port(uint16_t port_id) const {
  for (const RingPort* r : {underlay_.get(), overlay_.get(), exception_.get()}) {
    if (r != nullptr && r->port_id() == port_id) return true;
  }
  return false;
}

void EngineFixture::set_books_handler(std::function<void(const std::string&)> handler) {
  books_handler() = std::move(handler);
}

RemoteNode EngineFixture::node(int i) {
  RemoteNode n;
  n.subnet = Ipv4Prefix{Ipv4Addr{(10u << 24) | (244u << 16) | (static_cast<uint32_t>(i) << 8)}, 24};
  n.public_ip =
      i >= 200 ? Ipv4Addr{(198u << 24) | (51u << 16) | (100u << 8) | static_cast<uint32_t>(i)}
               : Ipv4Addr{(192u << 24) | (0u << 16) | (2u << 8) | static_cast<uint32_t>(18 + i)};
  n.vtep_mac = MacAddr{{0x0e, 0, 0, 0, 0, static_cast<uint8_t>(i)}};
  n.underlay_mac = MacAddr{{0x02, 0, 0, 0, 0x0b, static_cast<uint8_t>(i)}};
  return n;
}

RouteSpec EngineFixture::route_to(int i) const {
  const RemoteNode n = node(i);
  return RouteSpec{n.subnet, n.public_ip, n.vtep_mac, options_.backend, 1};
}

void EngineFixture::add_node(int i, bool static_neighbour) {
  TableDelta d;
  d.upsert_routes.push_back(route_to(i));
  if (static_neighbour && i < 200)
    d.set_neighbours.push_back({node(i).public_ip, node(i).underlay_mac});
  if (Status s = engine_->apply(d); !s.ok()) throw std::runtime_error("add_node: " + s.message());
}

RemoteNode6 EngineFixture::node6(int i) {
  const auto b = static_cast<uint8_t>(i);
  RemoteNode6 n;
  n.subnet = Ipv6Prefix{Ipv6Addr{{0xfd, 0, 0, 0x10, 0x02, 0x44, 0, b}}, 64};
  n.public_ip = i >= 200
                    ? Ipv6Addr{{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, b}}
                    : Ipv6Addr{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                static_cast<uint8_t>(18 + i)}};
  n.vtep_mac = MacAddr{{0x0e, 0, 0, 0, 0x06, b}};
  n.underlay_mac = node(i).underlay_mac;
  return n;
}

Ipv6Addr EngineFixture::pod_ip6(int host) const {
  Ipv6Addr a = self6().subnet.addr;
  a.bytes[15] = static_cast<uint8_t>(host);
  return a;
}

Route6Spec EngineFixture::route6_to(int i) const {
  const RemoteNode6 n = node6(i);
  return Route6Spec{n.subnet, n.public_ip, n.vtep_mac, options_.backend, 1};
}

void EngineFixture::add_node6(int i, bool static_neighbour) {
  TableDelta d;
  d.upsert_routes6.push_back(route6_to(i));
  if (static_neighbour && i < 200)
    d.set_neighbours6.push_back({node6(i).public_ip, node6(i).underlay_mac});
  if (Status s = engine_->apply(d); !s.ok()) throw std::runtime_error("add_node6: " + s.message());
}

template <class Spec>
Spec EngineFixture::from_pod6(const Ipv6Addr& dst, uint8_t hop_limit) const {
  Spec s;
  s.src_mac = kPodMac;
  s.dst_mac = kOverlayMac;
  s.src_ip = pod_ip6();
  s.dst_ip = dst;
  s.hop_limit = hop_limit;
  return s;
}

Bytes EngineFixture::pod_frame6(const Ipv6Addr& dst, uint16_t src_port, uint16_t payload,
                                uint8_t hop_limit) const {
  auto s = from_pod6<Udp6Spec>(dst, hop_limit);
  s.src_port = src_port;
  return udp6_frame(s, payload);
}

Bytes EngineFixture::pod_icmp6_frame(const Ipv6Addr& dst, uint8_t type, uint16_t size,
                                     uint8_t hop_limit) const {
  auto s = from_pod6<Ipv6Spec>(dst, hop_limit);
  s.next_header = 58;
  Bytes message(size, 0);
  message[0] = type;
  Bytes f = ipv6_frame(s, message);
  seal_icmp6(f);
  return f;
}

Bytes EngineFixture::vxlan6_from(int i, const Ipv6Addr& inner_dst, uint32_t vni,
                                 uint16_t inner_payload, uint16_t flow) const {
  Udp6Spec inner;
  inner.src_mac = node6(i).vtep_mac;
  inner.dst_mac = self6().vtep_mac;
  inner.src_ip = node6(i).subnet.addr;
  inner.src_ip.bytes[15] = 10;
  inner.dst_ip = inner_dst;
  inner.hop_limit = 63;
  inner.src_port = static_cast<uint16_t>(10000 + flow);
  Udp6Spec outer;
  outer.src_mac = node6(i).underlay_mac;
  outer.dst_mac = self6().underlay_mac;
  outer.src_ip = node6(i).public_ip;
  outer.dst_ip = self6().public_ip;
  outer.src_port = static_cast<uint16_t>(40000 + flow);
  outer.dst_port = 8472;
  return udp6_frame(outer, concat(vxlan_header(vni), udp6_frame(inner, inner_payload)));
}

void EngineFixture::poll(int rounds) {
  // Worker 0 last: it takes what the others handed to the slow path.
  auto pass = [this] {
    for (size_t w = engine_->workers().size(); w-- > 0;) engine_->workers()[w]->poll_once();
  };
  for (int r = 0; r < rounds; ++r) {
    pass();
    engine_->housekeeping();
  }
  // Anything the control side released goes out on the next worker pass.
  pass();
}

std::vector<Bytes> EngineFixture::from_overlay(const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> pkts;
  for (const Bytes& f : frames) pkts.push_back(to_mbuf(pool(), f));
  if (overlay_->inject(pkts) != pkts.size()) throw std::runtime_error("overlay ring full");
  poll();
  return take_underlay();
}

std::vector<Bytes> EngineFixture::from_underlay(const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> pkts;
  for (const Bytes& f : frames) pkts.push_back(to_mbuf(pool(), f));
  if (!underlay_ || underlay_->inject(pkts) != pkts.size())
    throw std::runtime_error("underlay ring full (or the test's own underlay device)");
  poll();
  return take_overlay();
}

std::vector<Bytes> EngineFixture::take_underlay() {
  if (!underlay_) throw std::runtime_error("the underlay is the test's own device");
  return take(*underlay_);
}
std::vector<Bytes> EngineFixture::take_overlay() {
  if (!overlay_) throw std::runtime_error("the overlay is the test's own device");
  return take(*overlay_);
}
std::vector<Bytes> EngineFixture::take_exception() {
  return exception_ ? take(*exception_) : std::vector<Bytes>{};
}

uint64_t EngineFixture::total_drops() {
  uint64_t n = 0;
  for (uint64_t d : engine_->stats().drops) n += d;
  return n;
}

int64_t EngineFixture::mbufs_in_use() const {
  return static_cast<int64_t>(rte_mempool_in_use_count(engine_->mempool())) - baseline_in_use_;
}

Bytes EngineFixture::pod_frame(Ipv4Addr dst, uint16_t src_port, uint16_t payload,
                               uint8_t ttl) const {
  UdpSpec s;
  s.src_mac = kPodMac;
  s.dst_mac = kOverlayMac;
  s.src_ip = pod_ip();
  s.dst_ip = dst;
  s.src_port = src_port;
  s.ttl = ttl;
  return udp_frame(s, payload);
}

UdpSpec EngineFixture::outer_from(int i, uint16_t src_port, uint16_t dst_port) const {
  const RemoteNode n = node(i);
  UdpSpec outer;
  outer.src_mac = n.underlay_mac;
  outer.dst_mac = self().underlay_mac;
  outer.src_ip = n.public_ip;
  outer.dst_ip = self().public_ip;
  outer.src_port = src_port;
  outer.dst_port = dst_port;
  return outer;
}

UdpSpec EngineFixture::inner_from(int i, Ipv4Addr inner_dst) const {
  UdpSpec inner;
  inner.src_mac = node(i).vtep_mac;
  inner.dst_mac = self().vtep_mac;
  inner.src_ip = Ipv4Addr{node(i).subnet.addr.value + 10};
  inner.dst_ip = inner_dst;
  inner.ttl = 63;
  return inner;
}

Bytes EngineFixture::vxlan_from(int i, Ipv4Addr inner_dst, uint32_t vni,
                                uint16_t inner_payload) const {
  return udp_frame(outer_from(i, 40000, 8472),
                   concat(vxlan_header(vni), udp_frame(inner_from(i, inner_dst), inner_payload)));
}

Bytes EngineFixture::vxlan_flow_from(int i, Ipv4Addr inner_dst, uint16_t flow) const {
  UdpSpec inner = inner_from(i, inner_dst);
  inner.src_port = static_cast<uint16_t>(10000 + flow);
  return udp_frame(outer_from(i, static_cast<uint16_t>(40000 + flow), 8472),
                   concat(vxlan_header(1), udp_frame(inner)));
}

namespace {

// Installs a keypair for `peer` (an IPv4 or IPv6 public IP) as a handshake
// would; returns our receiver index for it.
template <class Addr>
uint32_t install_keypair(Engine& engine, const Addr& peer, const wireguard::Key& send,
                         const wireguard::Key& receive, uint32_t remote_index, bool initiator,
                         std::optional<uint32_t> reserved) {
  auto index = reserved ? Result<uint32_t>(*reserved) : engine.wireguard_reserve_index();
  if (!index) throw std::runtime_error("wireguard index: " + index.status().message());
  wireguard::Keypair kp{};
  kp.sending = {send, remote_index};
  kp.receiving.key = receive;
  kp.local_index = *index;
  kp.initiator = initiator;
  if (Status s = engine.wireguard_install(peer, kp); !s.ok())
    throw std::runtime_error("wireguard keypair: " + s.message());
  return *index;
}

}  // namespace

uint32_t EngineFixture::add_wireguard_keypair(int i, const wireguard::Key& send,
                                              const wireguard::Key& receive, uint32_t remote_index,
                                              bool initiator, std::optional<uint32_t> reserved) {
  return install_keypair(*engine_, node(i).public_ip, send, receive, remote_index, initiator,
                         reserved);
}

uint32_t EngineFixture::add_wireguard_keypair6(int i, const wireguard::Key& send,
                                               const wireguard::Key& receive, uint32_t remote_index,
                                               bool initiator, std::optional<uint32_t> reserved) {
  return install_keypair(*engine_, node6(i).public_ip, send, receive, remote_index, initiator,
                         reserved);
}

void add_wireguard_handshake(EngineFixture& initiator, EngineFixture& responder) {
  const wireguard::Key i_to_r{1}, r_to_i{2};
  // The responder's index first: the initiator's keypair names it.
  const auto r_index = responder.engine().wireguard_reserve_index();
  if (!r_index) throw std::runtime_error("wireguard index: " + r_index.status().message());
  const uint32_t i_index =
      initiator.add_wireguard_keypair(responder.options().self, i_to_r, r_to_i, *r_index);
  responder.add_wireguard_keypair(initiator.options().self, r_to_i, i_to_r, i_index, false,
                                  *r_index);
}

Bytes EngineFixture::wireguard_from(int i, const Bytes& message) const {
  return udp_frame(outer_from(i, kWireguardPort, kWireguardPort), message);
}

Bytes EngineFixture::wireguard_from(int i, const Bytes& message, Ipv4Addr source,
                                    uint16_t source_port) const {
  UdpSpec spec = outer_from(i, source_port, kWireguardPort);
  spec.src_ip = source;
  return udp_frame(spec, message);
}

Bytes EngineFixture::pod_packet_from(int i, Ipv4Addr inner_dst, uint16_t payload) const {
  return l3_of(udp_frame(inner_from(i, inner_dst), payload));
}

Bytes EngineFixture::wireguard6_from(int i, const Bytes& message, uint16_t dst_port) const {
  Udp6Spec outer;
  outer.src_mac = node6(i).underlay_mac;
  outer.dst_mac = self6().underlay_mac;
  outer.src_ip = node6(i).public_ip;
  outer.dst_ip = self6().public_ip;
  outer.src_port = kWireguardPortV6;
  outer.dst_port = dst_port;
  return udp6_frame(outer, message);
}

Bytes EngineFixture::pod_packet6_from(int i, const Ipv6Addr& inner_dst, uint16_t payload) const {
  Udp6Spec inner;
  inner.src_ip = node6(i).subnet.addr;
  inner.src_ip.bytes[15] = 10;
  inner.dst_ip = inner_dst;
  inner.hop_limit = 63;
  return l3_of(udp6_frame(inner, payload));
}

Bytes EngineFixture::udp_tunnel_from(int i, Ipv4Addr inner_dst) const {
  return udp_frame(outer_from(i, 8285, 8285), pod_packet_from(i, inner_dst));
}

}  // namespace tartan::testing
