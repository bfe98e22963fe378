// The tunnel probes' bookkeeping (control/cluster/probe_book.h) on a clock
// the test moves: spreading, matching, losses, states and their times.
#include "control/cluster/probe_book.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace tartan {
namespace {

constexpr uint32_t kInterval = 1000;
constexpr uint32_t kTimeout = 300;

ProbeClock at(uint64_t ms) {
  return {ms, ms * 1000000 + 1'700'000'000'000'000'000};
}

ProbeTarget target(int i) {
  return {"node-" + std::to_string(i), Ipv4Addr{(10u << 24) | (244u << 16) | (uint32_t(i) << 8)}};
}

// Runs the book from `from` to `to` ms in 1 ms steps, answering every
// probe sent to a node in `answering` before `answer_until` after 2 ms;
// returns the probes sent.
std::vector<std::pair<uint64_t, Ipv4Addr>> run(ProbeBook& book, uint64_t from, uint64_t to,
                                               const std::set<uint32_t>& answering,
                                               uint64_t answer_until = UINT64_MAX) {
  std::vector<std::pair<uint64_t, Ipv4Addr>> sent;
  std::vector<std::pair<uint64_t, ProbeBook::Due>> in_flight;
  for (uint64_t t = from; t < to; ++t) {
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      if (t < it->first) {
        ++it;
        continue;
      }
      book.reply(it->second.address, it->second.seq, 2000000, at(t));
      it = in_flight.erase(it);
    }
    book.expire(at(t));
    for (const ProbeBook::Due& d : book.due(at(t))) {
      sent.push_back({t, d.address});
      if (answering.count(d.address.value) && t < answer_until) in_flight.push_back({t + 2, d});
    }
  }
  return sent;
}

TEST(ProbeBook, EachNodeIsProbedOncePerIntervalAndTheNodesAreSpreadOverIt) {
  ProbeBook book(kInterval, kTimeout);
  std::vector<ProbeTarget> targets;
  for (int i = 1; i <= 200; ++i) targets.push_back(target(i));
  book.sync(targets, at(0));
  const auto sent = run(book, 0, 3 * kInterval, {});
  EXPECT_EQ(sent.size(), 600u);
  // No burst: no 10 ms holds more than a few of the 200.
  std::map<uint64_t, int> per_slot;
  for (const auto& [t, a] : sent) ++per_slot[t / 10];
  for (const auto& [slot, n] : per_slot) EXPECT_LE(n, 12) << "at " << slot * 10 << " ms";
  EXPECT_GT(per_slot.size(), 150u);
}

TEST(ProbeBook, AnsweredNodesAreReachableWithTheirRoundTrip) {
  ProbeBook book(kInterval, kTimeout);
  book.sync({target(2)}, at(0));
  EXPECT_EQ(book.get("node-2")->state, ProbeView::State::kPending);
  run(book, 0, 2 * kInterval + 10, {target(2).address.value});
  const ProbeView v = *book.get("node-2");
  EXPECT_EQ(v.state, ProbeView::State::kReachable);
  EXPECT_EQ(v.last_rtt_ns, 2000000u);
  EXPECT_EQ(v.sent, 2u);
  EXPECT_EQ(v.received, 2u);
  EXPECT_EQ(v.window, 2u);
  EXPECT_EQ(v.lost, 0u);
  EXPECT_NE(v.last_reply_ns, 0u);
}

TEST(ProbeBook, ANodeThatStopsAnsweringIsUnreachableSinceItsFirstLostProbe) {
  ProbeBook book(kInterval, kTimeout);
  book.sync({target(2)}, at(0));
  // Probes at p, p+1000 and p+2000 (p < 1000) are answered, then no more.
  const auto sent =
      run(book, 0, 5 * kInterval + kTimeout, {target(2).address.value}, 3 * kInterval);
  ASSERT_EQ(sent.size(), 5u);
  const ProbeView v = *book.get("node-2");
  EXPECT_EQ(v.state, ProbeView::State::kUnreachable);
  EXPECT_EQ(v.since_ns, at(sent[3].first).unix_ns) << "since the first unanswered probe went";
  EXPECT_EQ(v.lost, 2u);
  EXPECT_EQ(v.window, 5u);
  EXPECT_EQ(v.received, 3u);
  // Reported at most the timeout after that probe went.
  ProbeBook again(kInterval, kTimeout);
  again.sync({target(2)}, at(0));
  const auto first = run(again, 0, kInterval + kTimeout, {});
  ASSERT_FALSE(first.empty());
  EXPECT_LE(first[0].first + kTimeout, kInterval + kTimeout);
  EXPECT_EQ(again.get("node-2")->state, ProbeView::State::kUnreachable);
}

TEST(ProbeBook, LateDuplicateAndStrangersRepliesAreIgnored) {
  ProbeBook book(kInterval, kTimeout);
  book.sync({target(2)}, at(0));
  const auto sent = run(book, 0, kInterval, {});
  ASSERT_EQ(sent.size(), 1u);
  // seq 0 went unanswered and was lost; its reply now is late.
  const uint64_t late = sent[0].first + kTimeout;
  book.expire(at(late));
  EXPECT_FALSE(book.reply(target(2).address, 0, 1, at(late)));
  EXPECT_FALSE(book.reply(target(3).address, 0, 1, at(late)));
  EXPECT_EQ(book.get("node-2")->received, 0u);
  EXPECT_EQ(book.get("node-2")->state, ProbeView::State::kUnreachable);
}

TEST(ProbeBook, TheLossWindowKeepsTheLastTwentyOutcomes) {
  ProbeBook book(kInterval, kTimeout);
  book.sync({target(2)}, at(0));
  run(book, 0, 25 * kInterval, {});
  EXPECT_EQ(book.get("node-2")->window, kProbeLossWindow);
  EXPECT_EQ(book.get("node-2")->lost, kProbeLossWindow);
  // Exactly five probes go in [25 s, 30 s); each is answered within 2 ms.
  run(book, 25 * kInterval, 30 * kInterval + 5, {target(2).address.value}, 30 * kInterval);
  EXPECT_EQ(book.get("node-2")->lost, kProbeLossWindow - 5);
}

TEST(ProbeBook, NodesThatGoAreForgottenAndAMovedNodeStartsOver) {
  ProbeBook book(kInterval, kTimeout);
  book.sync({target(2), target(3)}, at(0));
  run(book, 0, 2 * kInterval, {target(2).address.value});
  book.sync({target(2)}, at(2 * kInterval));
  EXPECT_FALSE(book.get("node-3").has_value());
  ProbeTarget moved = target(2);
  moved.address = target(9).address;
  book.sync({moved}, at(2 * kInterval));
  EXPECT_EQ(book.get("node-2")->state, ProbeView::State::kPending);
  EXPECT_EQ(book.get("node-2")->target, target(9).address);
  EXPECT_EQ(book.get("node-2")->sent, 0u);
  EXPECT_EQ(book.all().size(), 1u);
}

TEST(ProbeBook, AProbeThatCouldNotBeSentIsNeitherSentNorLost) {
  ProbeBook book(kInterval, kTimeout);
  book.sync({target(2)}, at(0));
  for (uint64_t t = 0; t < kInterval; ++t) {
    for (const ProbeBook::Due& d : book.due(at(t))) book.unsent(d.address);
  }
  book.expire(at(kInterval));
  EXPECT_EQ(book.get("node-2")->sent, 0u);
  EXPECT_EQ(book.get("node-2")->state, ProbeView::State::kPending);
}

}  // namespace
}  // namespace tartan
