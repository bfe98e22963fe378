// ARP into a real engine, on the underlay (answers for our public IP,
// learning next-hop MACs, releasing packets held for them) and on the
// overlay (proxy ARP). Input: a selector byte (bit 0: the port; bit 1:
// first hold a packet for node 3, whose MAC is not known, afresh), then
// the frame, whose EtherType is forced to ARP. After each frame, besides
// the harness's books:
//   - a reply on the underlay speaks for our public IP with our MAC, and
//     only to a request for it;
//   - a packet released to node 3 goes to the MAC an ARP frame from node
//     3's public IP announced, well-formed;
//   - a proxy reply on the overlay names a remote podCIDR's VTEP MAC.
#include <algorithm>
#include <memory>

#include "tests/fuzz/frame_checks.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/packet_harness.h"

namespace tartan::fuzz {
namespace {

using testing::EngineFixture;

PacketHarness& harness() {
  static std::unique_ptr<PacketHarness> h;
  if (!h) {
    testing::FixtureOptions o;
    o.arp_retry_ms = 1000;
    h = std::make_unique<PacketHarness>(o, std::vector<int>{2, 3}, std::vector<int>{2});
  }
  return *h;
}

// Node 3's route and neighbour again, unresolved, with one packet held.
void hold_a_packet_for_node_3(PacketHarness& h) {
  EngineFixture& fx = h.fixture();
  TableDelta remove;
  remove.remove_routes.push_back(EngineFixture::node(3).subnet);
  FUZZ_CHECK(fx.engine().apply(remove).ok(), "removing node 3");
  fx.poll();  // the grace period ends: the neighbour goes, with what it held
  fx.add_node(3, /*static_neighbour=*/false);
  const Bytes frame = fx.pod_frame(Ipv4Addr{EngineFixture::node(3).subnet.addr.value + 5});
  const Outputs out = h.run(InPort::kOverlay, frame);
  FUZZ_CHECK(fx.engine().accounting().held >= 1, "the packet for node 3 was not held");
  (void)out;  // node 3's ARP request
}

void check_underlay(PacketHarness& h, const Bytes& in, const Bytes& f) {
  const auto self = h.fixture().self();
  if (is_arp(f)) {
    FUZZ_CHECK(
        f.size() == 42 && ip_at(f, 28) == self.public_ip && mac_at(f, 22) == self.underlay_mac,
        "ARP on the underlay that does not speak for our public IP");
    if (be16(f, 20) == 2) {
      FUZZ_CHECK(in.size() >= 42 && be16(in, 20) == 1 && ip_at(in, 38) == self.public_ip,
                 "an ARP reply that no request for our public IP asked for");
    }
    return;
  }
  // A packet released to node 3: its next hop's MAC is what the ARP frame
  // said node 3's public IP is at.
  const auto n3 = EngineFixture::node(3);
  FUZZ_CHECK(in.size() >= 42 && ip_at(in, 28) == n3.public_ip,
             "a packet left for " + ip_at(f, 30).str() + " without node 3's ARP");
  FUZZ_CHECK(mac_at(f, 0) == mac_at(in, 22),
             "released to " + mac_at(f, 0).str() + ", not the MAC node 3 announced");
  std::string why = ipv4_problem(f, 14);
  FUZZ_CHECK(why.empty(), "released packet: " + why);
  FUZZ_CHECK(ip_at(f, 30) == n3.public_ip, "released packet not to node 3");
}

void check_overlay(const Bytes& f) {
  FUZZ_CHECK(is_arp(f) && f.size() == 42 && be16(f, 20) == 2, "overlay got a non-reply");
  for (int n : {2, 3}) {
    if (EngineFixture::node(n).subnet.contains(ip_at(f, 28))) {
      FUZZ_CHECK(mac_at(f, 22) == EngineFixture::node(n).vtep_mac,
                 "proxy ARP for node " + std::to_string(n) + " answered " + mac_at(f, 22).str());
      return;
    }
  }
  violated("proxy ARP for " + ip_at(f, 28).str() + ", in no remote podCIDR");
}

}  // namespace
}  // namespace tartan::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tartan::fuzz::init_eal();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tartan::fuzz;
  auto input = packet_input(data, size);
  if (!input) return -1;
  PacketHarness& h = harness();
  if (input->selector & 2) hold_a_packet_for_node_3(h);
  Bytes& in = input->frame;
  if (in.size() >= 14) in[12] = 0x08, in[13] = 0x06;
  const InPort port = (input->selector & 1) ? InPort::kOverlay : InPort::kUnderlay;
  const Outputs out = h.run(port, in);
  for (const Bytes& f : out.underlay) check_underlay(h, in, f);
  for (const Bytes& f : out.overlay) check_overlay(f);
  FUZZ_CHECK(out.exception.empty(), "ARP sent to the exception port");
  return 0;
}
