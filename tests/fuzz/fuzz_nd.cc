// Neighbour discovery frames into the control side's neighbour table
// (NeighbourTable::on_nd), as the workers hand them over. Input: a
// selector byte (bit 0: first acquire node 3's IPv6 address afresh and
// hold a packet for it), then the frame, whose EtherType and IPv6 next
// header are forced to IPv6/ICMPv6. After each frame:
//   - what went out is either our answer, a well-formed solicited (or DAD)
//     advertisement of our address with our MAC, to an asker whose
//     solicitation named our address, or the held packet, sent to the MAC
//     the frame gave for node 3;
//   - the frame is counted exactly once (answered, consumed, dropped by
//     reason, or refused by a full queue);
//   - every mbuf is back in the pool once the table lets go.
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <memory>
#include <variant>

#include "engine/neighbours/neighbours.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/packet_harness.h"

namespace tartan::fuzz {
namespace {

const MacAddr kOurMac = *MacAddr::parse("02:00:00:00:0b:01");
const Ipv6Addr kOurs = *Ipv6Addr::parse("2001:db8:0:2::13");
const Ipv6Addr kNode3 = *Ipv6Addr::parse("2001:db8:0:2::15");

struct Table {
  rte_mempool* pool = nullptr;
  AdjacencyTable adjacency{64};
  std::unique_ptr<NeighbourTable> table;
  std::vector<rte_mbuf*> sent;
  uint32_t node3 = 0;
};

// Never destroyed: what it holds goes with the process, not into a mempool
// EAL may have let go of by then.
Table& table() {
  static Table& t = *new Table;
  if (t.pool == nullptr) {
    t.pool =
        rte_pktmbuf_pool_create("fuzz_nd", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    FUZZ_CHECK(t.pool != nullptr, "no mempool");
    NeighbourParams p;
    p.our_ip = *Ipv4Addr::parse("192.0.2.19");
    p.our_ip6 = kOurs;
    p.our_mac = kOurMac;
    p.queue_len = 4;
    t.table = std::make_unique<NeighbourTable>(p, t.adjacency, t.pool, [](unsigned, rte_mbuf* m) {
      table().sent.push_back(m);
      return true;
    });
  }
  return t;
}

uint64_t frames_counted(const NeighbourCounters& c) {
  uint64_t n = c.nd_answered + c.nd_consumed + c.dropped_queue_full;
  for (uint64_t d : c.nd_drops) n += d;
  return n;
}

Ipv6Addr ip6_at(const Bytes& f, size_t at) {
  Ipv6Addr a;
  std::copy(f.begin() + at, f.begin() + at + 16, a.bytes.begin());
  return a;
}

MacAddr mac_at(const Bytes& f, size_t at) {
  MacAddr m;
  std::copy(f.begin() + at, f.begin() + at + 6, m.bytes.begin());
  return m;
}

void check_answer(rte_mbuf* m, const Bytes& in) {
  const auto parsed = parse_nd(m);
  FUZZ_CHECK(std::holds_alternative<NdInfo>(parsed), "our answer does not parse as valid ND");
  const NdInfo& na = std::get<NdInfo>(parsed);
  FUZZ_CHECK(na.type == kIcmp6NeighbourAdvert, "we sent a solicitation in answer");
  FUZZ_CHECK(na.target == kOurs && na.src == kOurs, "an answer for another address");
  FUZZ_CHECK(na.link_addr == kOurMac, "an answer without our MAC");
  FUZZ_CHECK(na.override_flag && !na.router, "an answer without O, or with R");
  FUZZ_CHECK(in.size() >= 78 && in[54] == kIcmp6NeighbourSolicit && ip6_at(in, 62) == kOurs,
             "an answer that no solicitation for our address asked for");
  const bool dad = ip6_at(in, 22).is_zero();
  FUZZ_CHECK(dad ? na.dst == *Ipv6Addr::parse("ff02::1") && !na.solicited
                 : na.dst == ip6_at(in, 22) && na.solicited,
             "an answer to the wrong address, or with the wrong S flag");
}

}  // namespace
}  // namespace tartan::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tartan::fuzz::init_eal();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tartan;
  using namespace tartan::fuzz;
  auto input = packet_input(data, size);
  if (!input || input->frame.empty()) return -1;
  Table& t = table();
  if (input->selector & 1) {
    if (auto id = t.table->find(kNode3)) t.table->release(*id);  // with what it held
    t.node3 = t.table->acquire(kNode3, 0).value();
    Bytes held(64, 0x5a);
    std::fill(held.begin(), held.begin() + 6, 0);
    t.table->hold(t.node3, testing::to_mbuf(t.pool, held), 0);
  }
  Bytes& in = input->frame;
  if (in.size() >= 21) in[12] = 0x86, in[13] = 0xdd, in[20] = 58;
  const uint64_t before = frames_counted(t.table->counters());
  t.table->on_nd(testing::to_mbuf(t.pool, in), 0, 1);
  FUZZ_CHECK(frames_counted(t.table->counters()) == before + 1,
             "the frame counted other than once");
  for (rte_mbuf* m : t.sent) {
    const Bytes f = testing::from_mbuf(m);
    if (f.size() == 64 && f[6] == 0x5a) {
      FUZZ_CHECK(t.table->mac_of(t.node3) == mac_at(f, 0),
                 "the held packet went to a MAC node 3 is not at");
    } else {
      check_answer(m, in);
    }
    rte_pktmbuf_free(m);
  }
  t.sent.clear();
  // The table holds nothing but the packets waiting for node 3.
  FUZZ_CHECK(rte_mempool_in_use_count(t.pool) == t.table->held_packets(), "an mbuf leaked");
  return 0;
}
