// The tunnel probes' bookkeeping, without threads or packets: which remote
// nodes are probed (their overlay addresses), when each is due (spread over
// the interval by a phase taken from its name, so 5,000 nodes are 5,000
// probes evenly spaced, not a burst), the one probe outstanding per node,
// replies matched by sequence number, losses after the timeout, and the
// state an operator sees. TunnelProber drives it with the engine.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/net_types.h"

namespace tartan {

// The loss window: answered-or-lost outcomes kept per node.
inline constexpr uint32_t kProbeLossWindow = 20;

struct ProbeTarget {
  std::string node;
  Ipv4Addr address;  // the network address of its podCIDR
};

struct ProbeView {
  enum class State { kPending, kReachable, kUnreachable };
  std::string node;
  Ipv4Addr target;
  State state = State::kPending;
  uint64_t since_ns = 0;  // Unix time the state began
  uint64_t last_rtt_ns = 0;
  uint64_t last_reply_ns = 0;  // Unix time; 0: never
  uint32_t window = 0;         // outcomes kept (<= kProbeLossWindow)
  uint32_t lost = 0;           // lost among them
  uint64_t sent = 0, received = 0;
};

const char* probe_state_name(ProbeView::State state);

// Times: `now_ms` from a monotonic clock, `unix_ns` the wall clock then.
struct ProbeClock {
  uint64_t now_ms = 0;
  uint64_t unix_ns = 0;
};

class ProbeBook {
 public:
  ProbeBook(uint32_t interval_ms, uint32_t timeout_ms)
      : interval_ms_(interval_ms), timeout_ms_(timeout_ms) {}

  // The nodes to probe now: new ones start pending (first probe at their
  // phase), gone ones are forgotten, one whose address changed starts over.
  void sync(const std::vector<ProbeTarget>& targets, const ProbeClock& clock);
  // Probes due at `clock`, each with its sequence number, now outstanding.
  struct Due {
    Ipv4Addr address;
    uint16_t seq;
  };
  std::vector<Due> due(const ProbeClock& clock);
  // A probe that could not be sent is not outstanding.
  void unsent(Ipv4Addr address);
  // A reply: the outstanding probe of the node at `from` with `seq`, else
  // ignored (late, duplicate or not ours). Returns whether it matched.
  bool reply(Ipv4Addr from, uint16_t seq, uint64_t rtt_ns, const ProbeClock& clock);
  // Outstanding probes older than the timeout are lost.
  void expire(const ProbeClock& clock);

  std::optional<ProbeView> get(const std::string& node) const;
  std::vector<ProbeView> all() const;  // in node name order

 private:
  struct Entry {
    ProbeView view;
    uint64_t next_ms = 0;  // when the next probe is due
    uint16_t next_seq = 0;
    std::optional<uint16_t> outstanding;
    uint64_t outstanding_since_ms = 0;
    uint64_t outstanding_unix_ns = 0;
    uint32_t history = 0;  // bit i: outcome i probes ago was a loss
  };
  void outcome(Entry& e, bool lost, uint64_t unix_ns);
  uint64_t first_due(const std::string& node, uint64_t now_ms) const;

  uint32_t interval_ms_;
  uint32_t timeout_ms_;
  std::map<std::string, Entry> nodes_;
  std::unordered_map<uint32_t, std::string> by_address_;  // host-order address -> node
};

}  // namespace tartan
