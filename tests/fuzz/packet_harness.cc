#include "tests/fuzz/packet_harness.h"

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <cstring>

#include "engine/log.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/dpdk_test_env.h"

namespace tartan::fuzz {
namespace {

std::vector<Bytes> take(testing::RingPort& port) {
  std::vector<Bytes> out;
  for (rte_mbuf* m : port.drain()) {
    out.push_back(testing::from_mbuf(m));
    rte_pktmbuf_free(m);
  }
  return out;
}

}  // namespace

std::optional<PacketInput> packet_input(const uint8_t* data, size_t size) {
  if (size < 1) return std::nullopt;
  return PacketInput{data[0], Bytes(data + 1, data + std::min(size, 1 + kMaxFrame))};
}

void init_eal() {
  testing::init_test_eal();
  set_log_level(RTE_LOG_WARNING);
}

PacketHarness::PacketHarness(const testing::FixtureOptions& options, const std::vector<int>& nodes,
                             const std::vector<int>& static_neighbours)
    : fx_(options), nodes_(nodes) {
  for (int n : nodes) {
    const bool is_static =
        std::find(static_neighbours.begin(), static_neighbours.end(), n) != static_neighbours.end();
    fx_.add_node(n, is_static);
    if (options.ipv6) fx_.add_node6(n, is_static);
  }
  static unsigned pools = 0;
  const std::string name = "fuzz_in_" + std::to_string(pools++);
  // No per-lcore cache, so the in-use count is exact. Room for what the
  // reassembly table may hold across inputs (256 packets of up to 7
  // waiting fragments) and more.
  inputs_ = rte_pktmbuf_pool_create(name.c_str(), 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
  FUZZ_CHECK(inputs_ != nullptr, "cannot create the input mempool");
  fx_.poll();  // what setting up the routes sent (ARP requests, neighbour solicitations)
  take(fx_.underlay_port());
}

bool PacketHarness::is_node(Ipv4Addr ip) const {
  return std::any_of(nodes_.begin(), nodes_.end(),
                     [&](int n) { return testing::EngineFixture::node(n).public_ip == ip; });
}

bool PacketHarness::is_node6(const Ipv6Addr& ip) const {
  return fx_.options().ipv6 && std::any_of(nodes_.begin(), nodes_.end(), [&](int n) {
           return testing::EngineFixture::node6(n).public_ip == ip;
         });
}

rte_mbuf* PacketHarness::input_mbuf(const Bytes& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(inputs_);
  FUZZ_CHECK(m != nullptr, "input mempool exhausted: the engine holds on to input frames");
  // A buffer comes back from the engine with the poison of its last use.
  ASAN_UNPOISON_MEMORY_REGION(m->buf_addr, m->buf_len);
  FUZZ_CHECK(frame.size() <= rte_pktmbuf_tailroom(m), "a frame larger than an mbuf");
  const size_t size = frame.size();
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(size));
  if (size != 0) std::memcpy(data, frame.data(), size);
  char* end = data + size;
  ASAN_POISON_MEMORY_REGION(end, static_cast<char*>(m->buf_addr) + m->buf_len - end);
  return m;
}

Outputs PacketHarness::run(InPort port, const Bytes& frame) {
  const uint64_t received_before = fx_.engine().accounting().received;
  testing::RingPort& in = port == InPort::kUnderlay ? fx_.underlay_port() : fx_.overlay_port();
  FUZZ_CHECK(in.inject({input_mbuf(frame)}) == 1, "RX ring full");
  fx_.poll();
  Outputs out;
  out.underlay = take(fx_.underlay_port());
  out.overlay = take(fx_.overlay_port());
  out.exception = fx_.take_exception();
  check_books(received_before);
  return out;
}

void PacketHarness::check_books(uint64_t received_before, uint64_t frames) {
  const Accounting a = fx_.engine().accounting();
  FUZZ_CHECK(a.received == received_before + frames,
             "the frame was received " + std::to_string(a.received - received_before) +
                 " times: " + a.describe());
  FUZZ_CHECK(a.imbalance() == 0, "packets unaccounted for: " + a.describe());
  // Every mbuf lent out, by either pool, is one the engine holds (held
  // for ARP, or between workers and control); the ports' rings are empty.
  const int64_t lent = fx_.mbufs_in_use() + static_cast<int64_t>(rte_mempool_in_use_count(inputs_));
  FUZZ_CHECK(lent == static_cast<int64_t>(a.holding()),
             std::to_string(lent) + " mbufs in use, but the engine holds " +
                 std::to_string(a.holding()) + ": " + a.describe());
}

}  // namespace tartan::fuzz
