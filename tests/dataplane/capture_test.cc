// The workers' side of capture (engine/observe/capture.h) on ring ports:
// what a session takes for each direction and filter, the drop reason it
// keeps, and that packets and buffers stay where they were (the fixture's
// books balance at teardown).
#include <gtest/gtest.h>

#include "engine/observe/capture.h"
#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

struct Seen {
  uint16_t port;
  uint8_t direction, reason;
  uint32_t orig_len, cap_len;
};

std::unique_ptr<CaptureSession> attach(EngineFixture& fx, uint8_t directions,
                                       const std::string& filter, uint32_t snaplen = 2048) {
  CaptureSettings s;
  for (const Port& p : fx.engine().ports()) s.ports.set(p.id());
  s.directions = directions;
  s.filter = filter;
  s.snaplen = snaplen;
  s.workers = static_cast<unsigned>(fx.engine().workers().size());
  auto session = CaptureSession::create(s);
  EXPECT_TRUE(session.ok()) << session.status().message();
  fx.engine().set_capture(session->get());
  return std::move(session).value();
}

std::vector<Seen> drain(CaptureSession& session) {
  std::vector<Seen> seen;
  session.drain([&](const CaptureSlot& s) {
    seen.push_back({s.port, s.direction, s.reason, s.orig_len, s.cap_len});
  });
  return seen;
}

Ipv4Addr in_subnet_of(int node, uint32_t host) {
  return Ipv4Addr{EngineFixture::node(node).subnet.addr.value + host};
}

TEST(Capture, RxAndTxOfAForwardedPacketAndADropWithItsReason) {
  EngineFixture fx;
  fx.add_node(2);
  auto session = attach(fx, kCaptureRx | kCaptureTx | kCaptureDrop, "");
  const Bytes frame = fx.pod_frame(in_subnet_of(2, 5));
  ASSERT_EQ(fx.from_overlay({frame}).size(), 1u);
  // A runt, its mbuf's port set as a NIC's PMD sets it (net_ring does not).
  rte_mbuf* runt = testing::to_mbuf(fx.pool(), Bytes(10, 0x11));
  runt->port = fx.underlay_port().port_id();
  fx.underlay_port().inject({runt});
  fx.engine().workers()[0]->poll_once();
  // Nor is the drop of one from a port it does not know refused.
  fx.from_underlay({Bytes(10, 0x11)});
  fx.engine().set_capture(nullptr);

  const std::vector<Seen> seen = drain(*session);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].port, fx.overlay_port().port_id());
  EXPECT_EQ(seen[0].direction, kCaptureRx);
  EXPECT_EQ(seen[0].orig_len, frame.size());
  EXPECT_EQ(seen[1].port, fx.underlay_port().port_id());
  EXPECT_EQ(seen[1].direction, kCaptureTx);
  EXPECT_EQ(seen[1].orig_len, frame.size() + 50) << "VXLAN's outer headers";
  EXPECT_EQ(seen[2].direction, kCaptureRx);
  EXPECT_EQ(seen[3].direction, kCaptureDrop);
  EXPECT_EQ(seen[3].port, fx.underlay_port().port_id());
  EXPECT_EQ(seen[3].reason, static_cast<uint8_t>(DropReason::kRunt));
  EXPECT_EQ(seen[4].direction, kCaptureRx);
  EXPECT_EQ(session->missed(), 0u);
}

TEST(Capture, TheFilterAndTheSnapLengthDecideWhatIsKept) {
  EngineFixture fx;
  fx.add_node(2);
  auto session = attach(fx, kCaptureTx, "udp port 8472", 64);
  ASSERT_EQ(fx.from_overlay({fx.pod_frame(in_subnet_of(2, 5), 10000, 1000)}).size(), 1u);
  fx.engine().set_capture(nullptr);
  std::vector<Seen> seen = drain(*session);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].cap_len, 64u);
  EXPECT_GT(seen[0].orig_len, 1000u);

  session = attach(fx, kCaptureRx | kCaptureTx, "udp port 1");
  ASSERT_EQ(fx.from_overlay({fx.pod_frame(in_subnet_of(2, 5))}).size(), 1u);
  fx.engine().set_capture(nullptr);
  EXPECT_TRUE(drain(*session).empty());
}

TEST(Capture, AFilterLibpcapRejectsIsRefusedWithItsMessage) {
  CaptureSettings s;
  s.filter = "udp prot 1";
  auto session = CaptureSession::create(s);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(session.status().message().rfind("filter: ", 0), 0u) << session.status().message();
}

}  // namespace
}  // namespace tartan
