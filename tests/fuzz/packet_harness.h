// Drives one real engine (EngineFixture: ring ports, worker poll_once and
// housekeeping on the fuzzing thread) with one frame per input, and checks
// after each what must hold whatever the frame was: the books balance, the
// mempools lend out exactly what the engine holds, and the frame was
// received exactly once.
//
// Input frames are built in mbufs of a pool of their own whose tailroom is
// poisoned for AddressSanitizer: mbuf memory is DPDK's, not malloc's, so
// without this a read past the end of a frame would go unnoticed.
#pragma once

#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tests/support/engine_fixture.h"

namespace tartan::fuzz {

using testing::Bytes;

// The test EAL (--no-huge, lcores 0-1), and tartan's logs at warnings only.
void init_eal();

enum class InPort { kUnderlay, kOverlay };

// A packet target's input: the first byte picks the set-up, the rest is
// the frame, cut at kMaxFrame bytes (a frame an underlay MTU of 1500 never
// carries, well within an mbuf). nullopt for an empty input, which the
// target refuses (returns -1: not kept in the corpus).
inline constexpr size_t kMaxFrame = 1920;
struct PacketInput {
  uint8_t selector = 0;
  Bytes frame;
};
std::optional<PacketInput> packet_input(const uint8_t* data, size_t size);

// A packet target's engine, picked by the input's first byte.
struct Setup {
  const char* name;
  testing::FixtureOptions options;
};

struct Outputs {
  std::vector<Bytes> underlay, overlay, exception;
};

class PacketHarness {
 public:
  // An engine as node(1) with routes to `nodes` (static neighbours for
  // those in `static_neighbours`); with `options.ipv6` their IPv6 routes
  // (node6) too, the same neighbours static.
  PacketHarness(const testing::FixtureOptions& options, const std::vector<int>& nodes,
                const std::vector<int>& static_neighbours);

  // Receives `frame` on `port`, runs a worker pass and a control pass, and
  // returns what each port sent; then checks the books.
  Outputs run(InPort port, const Bytes& frame);

  testing::EngineFixture& fixture() { return fx_; }
  // Whether `ip` is the public IP of a node with a route here.
  bool is_node(Ipv4Addr ip) const;
  // Whether `ip` is the public IPv6 of a node with an IPv6 route here.
  bool is_node6(const Ipv6Addr& ip) const;
  const std::vector<int>& nodes() const { return nodes_; }

  // Checks the books (Engine::accounting) and the mempools; aborts if off.
  // `frames`: how many were received since `received_before`.
  void check_books(uint64_t received_before, uint64_t frames = 1);

 private:
  rte_mbuf* input_mbuf(const Bytes& frame);

  testing::EngineFixture fx_;
  std::vector<int> nodes_;
  rte_mempool* inputs_ = nullptr;
};

}  // namespace tartan::fuzz
