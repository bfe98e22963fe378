// Micro-benchmarks of the data path on ring-backed ports (no NIC): the cost
// per packet of one worker pass over a burst of 32, for VXLAN encapsulation
// (overlay -> underlay) and decapsulation (underlay -> overlay), over IPv4
// and IPv6 (flannel-v6), the udp
// backend's and DirectRouting's, with the ring transfers of the virtual ports
// included, and those transfers alone (BM_IoOnly); encapsulation and
// decapsulation with large tables; the wireguard backend's encryption and
// decryption; a route change from apply to the first packet it steers; ARP
// answers; and the checksum work per packet.
#include <benchmark/benchmark.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <random>

#include "engine/backends/inner_checksum.h"
#include "engine/path/ipv4_check.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/wireguard_frames.h"

namespace tartan {
namespace {

using testing::EngineFixture;
using testing::FixtureOptions;

constexpr int kBurst = 32;

// Moves bursts of kBurst frames through one port direction until the state
// ends, each round the next kBurst of `frames` (a multiple of kBurst, taken
// in turn); what comes out must be as many frames. `forward` moves one
// burst from `in` to `out`: a worker's pass, or the I/O alone.
template <typename Forward>
void run_burst(benchmark::State& state, EngineFixture& fx, testing::RingPort& in,
               testing::RingPort& out, const std::vector<testing::Bytes>& frames, Forward forward) {
  std::vector<rte_mbuf*> pkts;
  for (int i = 0; i < kBurst; ++i) pkts.push_back(testing::to_mbuf(fx.pool(), frames[i]));
  size_t next = 0;
  // Keep the frames' bytes fresh each round: encap/decap rewrite them.
  for (auto _ : state) {
    for (size_t i = 0; i < pkts.size(); ++i) {
      const testing::Bytes& f = frames[next + i];
      rte_pktmbuf_reset(pkts[i]);
      std::memcpy(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(f.size())), f.data(), f.size());
    }
    next = next + kBurst < frames.size() ? next + kBurst : 0;
    in.inject(pkts);
    forward();
    pkts = out.drain();
    if (pkts.size() != kBurst) {
      state.SkipWithError("packets were dropped");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  testing::free_all(pkts);
}

void run_burst(benchmark::State& state, EngineFixture& fx, testing::RingPort& in,
               testing::RingPort& out, const std::vector<testing::Bytes>& frames) {
  Worker& w = *fx.engine().workers()[0];
  run_burst(state, fx, in, out, frames, [&w] { w.poll_once(); });
}

void run_burst(benchmark::State& state, EngineFixture& fx, bool from_overlay,
               const std::vector<testing::Bytes>& frames) {
  testing::RingPort& in = from_overlay ? fx.overlay_port() : fx.underlay_port();
  testing::RingPort& out = from_overlay ? fx.underlay_port() : fx.overlay_port();
  run_burst(state, fx, in, out, frames);
}

void run_burst(benchmark::State& state, EngineFixture& fx, bool from_overlay,
               const testing::Bytes& frame) {
  run_burst(state, fx, from_overlay, std::vector<testing::Bytes>(kBurst, frame));
}

void BM_VxlanEncap(benchmark::State& state) {
  EngineFixture fx;
  fx.add_node(2);
  run_burst(
      state, fx, true,
      fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_VxlanEncap)->Arg(18)->Arg(1400);

void BM_VxlanDecap(benchmark::State& state) {
  EngineFixture fx;
  fx.add_node(2);
  run_burst(
      state, fx, false,
      fx.vxlan_from(2, *Ipv4Addr::parse("10.244.1.10"), 1, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_VxlanDecap)->Arg(18)->Arg(1400);

// The same over IPv6 (flannel-v6: VXLAN over an IPv6 underlay), with the
// IPv4 side configured too, as a dual-stack node is. 1380 bytes of
// payload is the largest round size under the IPv6 overlay MTU (1430).
Ipv6Addr pod6_of(int node) {
  Ipv6Addr a = EngineFixture::node6(node).subnet.addr;
  a.bytes[15] = 10;
  return a;
}

void BM_Vxlan6Encap(benchmark::State& state) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node(2);
  fx.add_node6(2);
  run_burst(state, fx, true,
            fx.pod_frame6(pod6_of(2), 10000, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_Vxlan6Encap)->Arg(18)->Arg(1380);

void BM_Vxlan6Decap(benchmark::State& state) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node(2);
  fx.add_node6(2);
  run_burst(state, fx, false,
            fx.vxlan6_from(2, fx.pod_ip6(), 1, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_Vxlan6Decap)->Arg(18)->Arg(1380);

// The harness and the ports' I/O alone, as testpmd's io mode forwards: the
// same frames re-written, injected, received and sent untouched. What a
// row above costs beyond this one is the engine's own work (the unit
// perf/RESULTS.md compares across runs).
void BM_IoOnly(benchmark::State& state) {
  FixtureOptions o;
  o.check_books = false;  // the workers never see these packets
  EngineFixture fx(o);
  const uint16_t in = fx.overlay_port().port_id();
  const uint16_t out = fx.underlay_port().port_id();
  run_burst(
      state, fx, fx.overlay_port(), fx.underlay_port(),
      std::vector<testing::Bytes>(kBurst, fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000,
                                                       static_cast<uint16_t>(state.range(0)))),
      [in, out] {
        std::array<rte_mbuf*, kBurst> burst;
        const uint16_t n = rte_eth_rx_burst(in, 0, burst.data(), kBurst);
        const uint16_t sent = rte_eth_tx_burst(out, 0, burst.data(), n);
        if (sent != n) rte_pktmbuf_free_bulk(burst.data() + sent, n - sent);
      });
}
BENCHMARK(BM_IoOnly)->Arg(18)->Arg(1400);

// Encapsulation with no capture (0), with an idle one attached (1: drops
// only, and nothing is dropped) and with one whose filter every packet is run
// through and fails (2: rx and tx on every port, 'udp port 1').
void BM_VxlanEncapCapture(benchmark::State& state) {
  EngineFixture fx;
  fx.add_node(2);
  std::unique_ptr<CaptureSession> session;
  if (state.range(0) != 0) {
    CaptureSettings settings;
    for (const Port& p : fx.engine().ports()) settings.ports.set(p.id());
    settings.directions = state.range(0) == 1 ? kCaptureDrop : kCaptureRx | kCaptureTx;
    if (state.range(0) == 2) settings.filter = "udp port 1";
    settings.workers = static_cast<unsigned>(fx.engine().workers().size());
    auto created = CaptureSession::create(settings);
    if (!created) return state.SkipWithError(created.status().message().c_str());
    session = std::move(created).value();
    fx.engine().set_capture(session.get());
  }
  run_burst(state, fx, true, fx.pod_frame(*Ipv4Addr::parse("10.244.2.10")));
  fx.engine().set_capture(nullptr);
  if (session && session->drain([](const CaptureSlot&) {}) != 0)
    state.SkipWithError("the capture took packets");
}
BENCHMARK(BM_VxlanEncapCapture)->Arg(0)->Arg(1)->Arg(2);

// Encapsulation with no trace (0), with one attached whose filter every
// received packet is run through and fails (1: 'udp port 1'), so every
// decision point finds a session with nothing open.
void BM_VxlanEncapTrace(benchmark::State& state) {
  EngineFixture fx;
  fx.add_node(2);
  std::unique_ptr<TraceSession> session;
  if (state.range(0) != 0) {
    TraceSettings settings;
    for (const Port& p : fx.engine().ports()) settings.ports.set(p.id());
    settings.filter = "udp port 1";
    settings.workers = static_cast<unsigned>(fx.engine().workers().size());
    auto created = TraceSession::create(settings);
    if (!created) return state.SkipWithError(created.status().message().c_str());
    session = std::move(created).value();
    fx.engine().set_trace(session.get());
  }
  run_burst(state, fx, true, fx.pod_frame(*Ipv4Addr::parse("10.244.2.10")));
  fx.engine().set_trace(nullptr);
  if (session && session->drain([](const TraceRecord&) {}) != 0)
    state.SkipWithError("the trace took packets");
}
BENCHMARK(BM_VxlanEncapTrace)->Arg(0)->Arg(1);

// flannel's udp backend, 64 B inner frames (the argument is the inner UDP
// payload, 18, as for the VXLAN rows).
void BM_UdpBackendEncap(benchmark::State& state) {
  EngineFixture fx({.backend = BackendType::kUdp});
  fx.add_node(2);
  run_burst(
      state, fx, true,
      fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_UdpBackendEncap)->Arg(18);

// /18 as the rest: udp_tunnel_from's inner frame carries 18 B of payload.
void BM_UdpBackendDecap(benchmark::State& state) {
  EngineFixture fx({.backend = BackendType::kUdp});
  fx.add_node(2);
  run_burst(state, fx, false, fx.udp_tunnel_from(2, *Ipv4Addr::parse("10.244.1.10")));
}
BENCHMARK(BM_UdpBackendDecap)->Arg(18);

// The wireguard backend, one keypair to node 2 (the argument is the inner
// UDP payload: 18, 36, 548 and 1372 make IPv4 packets of 46, 64, 576 and
// 1400 bytes, the last within its 1420-byte MTU; 64/576/1400 are the
// imix's sizes, perf/suite/wireguard_go.py): each packet sealed in a
// transport message (encrypt) or opened from one (decrypt).
void BM_WireguardEncrypt(benchmark::State& state) {
  EngineFixture fx({.backend = BackendType::kWireguard});
  fx.add_node(2);
  fx.add_wireguard_keypair(2, wireguard::Key{1}, wireguard::Key{2}, 1);
  run_burst(
      state, fx, true,
      fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_WireguardEncrypt)->Arg(18)->Arg(36)->Arg(548)->Arg(1372);

// The replay window refuses a counter twice: the run is as many distinct
// messages as were sealed beforehand.
constexpr int kWireguardMessages = 1 << 14;
void BM_WireguardDecrypt(benchmark::State& state) {
  EngineFixture fx({.backend = BackendType::kWireguard});
  fx.add_node(2);
  const wireguard::Key receive{2};
  const uint32_t index = fx.add_wireguard_keypair(2, wireguard::Key{1}, receive, 1);
  const testing::Bytes inner =
      fx.pod_packet_from(2, *Ipv4Addr::parse("10.244.1.10"), static_cast<uint16_t>(state.range(0)));
  std::vector<testing::Bytes> frames;
  for (uint64_t c = 0; c < kWireguardMessages; ++c)
    frames.push_back(fx.wireguard_from(2, testing::wireguard_transport(receive, index, c, inner)));
  run_burst(state, fx, false, frames);
}
BENCHMARK(BM_WireguardDecrypt)
    ->Arg(18)
    ->Arg(36)
    ->Arg(548)
    ->Arg(1372)
    ->Iterations(kWireguardMessages / kBurst);

// VXLAN with DirectRouting to a node on our underlay subnet (node 2, at
// 192.0.2.20): no tunnel, the frame's Ethernet header rewritten for the
// node's underlay MAC, as host-gw does.
void BM_DirectRoutingEncap(benchmark::State& state) {
  EngineFixture fx({.direct_routing = true});
  fx.add_node(2);
  run_burst(
      state, fx, true,
      fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_DirectRoutingEncap)->Arg(18);

// Route i of a big table: 11.x.y.0/24 (outside the fixture's 10.244.0.0/16)
// to a node at 198.18.0.0 + i, or once moved 100.64.0.0 + i, behind the
// fixture's gateway.
RouteSpec big_table_route(uint32_t i, bool moved = false) {
  RouteSpec r;
  r.prefix = Ipv4Prefix{Ipv4Addr{(11u << 24) + (i << 8)}, 24};
  r.public_ip = Ipv4Addr{(moved ? (100u << 24) + (64u << 16) : (198u << 24) + (18u << 16)) + i};
  r.vtep_mac = MacAddr{{0x0e, 0x01, static_cast<uint8_t>(i >> 24), static_cast<uint8_t>(i >> 16),
                        static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
  return r;
}

// An engine holding `routes` remote nodes (one apply, as a resync would).
std::unique_ptr<EngineFixture> fixture_with_routes(uint32_t routes) {
  auto fx = std::make_unique<EngineFixture>(FixtureOptions{.max_routes = routes + 16});
  TableDelta d;
  for (uint32_t i = 0; i < routes; ++i) d.upsert_routes.push_back(big_table_route(i));
  if (Status s = fx->engine().apply(d); !s.ok()) throw std::runtime_error(s.message());
  return fx;
}

// The table-size rows send kTableFrames frames, kBurst at a time: each
// node of the table, in a random order, as often as fits (the 1-node rows
// as many copies of its one frame, so every row reads as many frame bytes).
// With bursts to 32 fixed nodes instead, those nodes' entries stayed in the
// cache and 100,000 nodes cost what 1 did, which traffic to all of them
// does not (perf/RESULTS.md).
constexpr uint32_t kTableFrames = 100000;

std::vector<uint32_t> nodes_in_turn(uint32_t routes) {
  std::vector<uint32_t> order(routes);
  for (uint32_t i = 0; i < routes; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  std::vector<uint32_t> nodes(kTableFrames);
  for (uint32_t i = 0; i < kTableFrames; ++i) nodes[i] = order[i % routes];
  return nodes;
}

// VXLAN encapsulation to every node of a table of N in turn.
void BM_VxlanEncapTableSize(benchmark::State& state) {
  const auto routes = static_cast<uint32_t>(state.range(0));
  auto fx = fixture_with_routes(routes);
  std::vector<testing::Bytes> frames;
  for (uint32_t n : nodes_in_turn(routes))
    frames.push_back(fx->pod_frame(Ipv4Addr{(11u << 24) + (n << 8) + 10}));
  run_burst(state, *fx, true, frames);
}
BENCHMARK(BM_VxlanEncapTableSize)->Arg(1)->Arg(1000)->Arg(100000)->Unit(benchmark::kNanosecond);

// VXLAN decapsulation from every node of a table of N in turn (node i of
// big_table_route, at its public IP), one flow each: from the .10 pod of
// the node's podCIDR to one of ours. Each packet looks up another sender and
// counts for another peer, as traffic from 100,000 nodes does.
void BM_VxlanDecapTableSize(benchmark::State& state) {
  const auto routes = static_cast<uint32_t>(state.range(0));
  auto fx = fixture_with_routes(routes);
  const testing::RemoteNode self = fx->self();
  std::vector<testing::Bytes> frames;
  for (uint32_t n : nodes_in_turn(routes)) {
    const RouteSpec r = big_table_route(n);
    testing::UdpSpec outer;
    outer.src_mac = EngineFixture::kGatewayMac;
    outer.dst_mac = self.underlay_mac;
    outer.src_ip = r.public_ip;
    outer.dst_ip = self.public_ip;
    outer.src_port = 40000;
    outer.dst_port = 8472;
    testing::UdpSpec inner;
    inner.src_mac = r.vtep_mac;
    inner.dst_mac = self.vtep_mac;
    inner.src_ip = Ipv4Addr{r.prefix.addr.value + 10};
    inner.dst_ip = fx->pod_ip();
    inner.ttl = 63;
    frames.push_back(testing::udp_frame(
        outer, testing::concat(testing::vxlan_header(1), testing::udp_frame(inner))));
  }
  run_burst(state, *fx, false, frames);
}
BENCHMARK(BM_VxlanDecapTableSize)->Arg(1)->Arg(1000)->Arg(100000)->Unit(benchmark::kNanosecond);

// One route change end to end: apply() moves the last node added to another
// public IP (RCU-published), then the next packet to it must leave for the
// new one. The last, because rte_lpm (the route table until issue 16) looked
// for an existing rule by scanning the rules of its prefix length in the
// order they were added; the rte_rib trie now finds any one in O(32).
void BM_RouteChangeToFirstPacket(benchmark::State& state) {
  const auto routes = static_cast<uint32_t>(state.range(0));
  const uint32_t last = routes - 1;
  auto fx = fixture_with_routes(routes);
  const testing::Bytes frame = fx->pod_frame(Ipv4Addr{(11u << 24) + (last << 8) + 10});
  rte_mbuf* m = testing::to_mbuf(fx->pool(), frame);
  Worker& w = *fx->engine().workers()[0];
  bool moved = false;
  for (auto _ : state) {
    moved = !moved;
    TableDelta d;
    d.upsert_routes.push_back(big_table_route(last, moved));
    if (Status s = fx->engine().apply(d); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    rte_pktmbuf_reset(m);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    fx->overlay_port().inject({m});
    w.poll_once();
    auto out = fx->underlay_port().drain();
    if (out.size() != 1 || testing::from_mbuf(out[0])[30] != (moved ? 100 : 198)) {
      state.SkipWithError("the packet did not follow the change");
      testing::free_all(out);
      break;
    }
    m = out[0];
  }
  rte_pktmbuf_free(m);
}
BENCHMARK(BM_RouteChangeToFirstPacket)
    ->Arg(1)
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);

// ARP requests for our underlay address, answered by the worker in place.
void BM_ArpReply(benchmark::State& state) {
  EngineFixture fx;
  const testing::RemoteNode peer = EngineFixture::node(2);
  const testing::Bytes request =
      testing::arp_frame(1, *MacAddr::parse("ff:ff:ff:ff:ff:ff"), peer.underlay_mac, peer.public_ip,
                         MacAddr{}, fx.self().public_ip);
  run_burst(state, fx, fx.underlay_port(), fx.underlay_port(),
            std::vector<testing::Bytes>(kBurst, request));
}
BENCHMARK(BM_ArpReply);

// The outer UDP checksum's work per packet: summing the inner packet (what
// encapsulation did before) against deriving its sum from its checksums.
testing::Bytes checksum_frame(uint16_t payload) {
  testing::UdpSpec s;
  return testing::udp_frame(s, payload);
}

void BM_InnerSumBySumming(benchmark::State& state) {
  const testing::Bytes f = checksum_frame(static_cast<uint16_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(rte_raw_cksum(&f[14], f.size() - 14));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InnerSumBySumming)->Arg(18)->Arg(1400);

void BM_InnerSumFromChecksums(benchmark::State& state) {
  EngineFixture fx;
  rte_mbuf* m = testing::to_mbuf(fx.pool(), checksum_frame(static_cast<uint16_t>(state.range(0))));
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  for (auto _ : state) benchmark::DoNotOptimize(inner_packet_sum(m, ip));
  state.SetItemsProcessed(state.iterations());
  rte_pktmbuf_free(m);
}
BENCHMARK(BM_InnerSumFromChecksums)->Arg(18)->Arg(1400);

// TTL decrement with its RFC 1624 checksum update, per routed packet.
void BM_DecrementTtl(benchmark::State& state) {
  testing::Bytes f = checksum_frame(18);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(&f[14]);
  for (auto _ : state) {
    ip->time_to_live = 64;
    decrement_ttl(ip);
    benchmark::DoNotOptimize(f.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecrementTtl);

}  // namespace
}  // namespace tartan
