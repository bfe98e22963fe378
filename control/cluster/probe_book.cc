#include "control/cluster/probe_book.h"

#include <bit>
#include <functional>

#include "engine/log.h"

namespace tartan {

const char* probe_state_name(ProbeView::State state) {
  switch (state) {
    case ProbeView::State::kPending:
      return "pending";
    case ProbeView::State::kReachable:
      return "reachable";
    case ProbeView::State::kUnreachable:
      return "unreachable";
  }
  return "?";
}

uint64_t ProbeBook::first_due(const std::string& node, uint64_t now_ms) const {
  // The node's phase in the interval: stable across restarts and node
  // churn, and uniform over many nodes.
  const uint64_t phase = std::hash<std::string>{}(node) % interval_ms_;
  const uint64_t start = now_ms - now_ms % interval_ms_ + phase;
  return start >= now_ms ? start : start + interval_ms_;
}

void ProbeBook::sync(const std::vector<ProbeTarget>& targets, const ProbeClock& clock) {
  std::map<std::string, Entry> next;
  by_address_.clear();
  for (const ProbeTarget& t : targets) {
    auto it = nodes_.find(t.node);
    if (it != nodes_.end() && it->second.view.target == t.address) {
      next.emplace(t.node, std::move(it->second));
    } else {
      Entry e;
      e.view.node = t.node;
      e.view.target = t.address;
      e.view.since_ns = clock.unix_ns;
      e.next_ms = first_due(t.node, clock.now_ms);
      next.emplace(t.node, std::move(e));
    }
    by_address_[t.address.value] = t.node;
  }
  nodes_ = std::move(next);
}

std::vector<ProbeBook::Due> ProbeBook::due(const ProbeClock& clock) {
  std::vector<Due> out;
  for (auto& [name, e] : nodes_) {
    if (clock.now_ms < e.next_ms) continue;
    // Late (a slow round, a long pause): the next one keeps the phase.
    e.next_ms += interval_ms_ * ((clock.now_ms - e.next_ms) / interval_ms_ + 1);
    // The timeout is at most the interval, so the last one has an outcome
    // by now unless the caller skipped expire(): it counts as lost.
    if (e.outstanding) outcome(e, true, e.outstanding_unix_ns);
    e.outstanding = e.next_seq++;
    e.outstanding_since_ms = clock.now_ms;
    e.outstanding_unix_ns = clock.unix_ns;
    ++e.view.sent;
    out.push_back({e.view.target, *e.outstanding});
  }
  return out;
}

void ProbeBook::unsent(Ipv4Addr address) {
  auto it = by_address_.find(address.value);
  if (it == by_address_.end()) return;
  Entry& e = nodes_.at(it->second);
  e.outstanding.reset();
  --e.view.sent;
}

bool ProbeBook::reply(Ipv4Addr from, uint16_t seq, uint64_t rtt_ns, const ProbeClock& clock) {
  auto it = by_address_.find(from.value);
  if (it == by_address_.end()) return false;
  Entry& e = nodes_.at(it->second);
  if (e.outstanding != seq) return false;
  e.outstanding.reset();
  ++e.view.received;
  e.view.last_rtt_ns = rtt_ns;
  e.view.last_reply_ns = clock.unix_ns;
  outcome(e, false, clock.unix_ns);
  return true;
}

void ProbeBook::expire(const ProbeClock& clock) {
  for (auto& [name, e] : nodes_) {
    if (e.outstanding && clock.now_ms - e.outstanding_since_ms >= timeout_ms_) {
      outcome(e, true, e.outstanding_unix_ns);
      e.outstanding.reset();
    }
  }
}

// `unix_ns`: when the state, if it changes, began: the reply's arrival, or
// the sending of the probe that was lost (the node was not answering then).
void ProbeBook::outcome(Entry& e, bool lost, uint64_t unix_ns) {
  constexpr uint32_t kMask = (uint32_t{1} << kProbeLossWindow) - 1;
  e.history = ((e.history << 1) | (lost ? 1u : 0u)) & kMask;
  if (e.view.window < kProbeLossWindow) ++e.view.window;
  e.view.lost = static_cast<uint32_t>(std::popcount(e.history));
  const auto state = lost ? ProbeView::State::kUnreachable : ProbeView::State::kReachable;
  if (e.view.state == state) return;
  if (state == ProbeView::State::kUnreachable) {
    TARTAN_LOG(NOTICE, kControl, "node %s does not answer through the tunnel (probe of %s lost)",
               e.view.node.c_str(), e.view.target.str().c_str());
  } else if (e.view.state == ProbeView::State::kUnreachable) {
    TARTAN_LOG(NOTICE, kControl, "node %s answers through the tunnel again", e.view.node.c_str());
  }
  e.view.state = state;
  e.view.since_ns = unix_ns;
}

std::optional<ProbeView> ProbeBook::get(const std::string& node) const {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.view;
}

std::vector<ProbeView> ProbeBook::all() const {
  std::vector<ProbeView> out;
  out.reserve(nodes_.size());
  for (const auto& [name, e] : nodes_) out.push_back(e.view);
  return out;
}

}  // namespace tartan
