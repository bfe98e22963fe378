// The NDR/PDR search and the latency histogram, on made-up trials.
#include <gtest/gtest.h>

#include <cmath>

#include "perf/latency.h"
#include "perf/ndr_search.h"

namespace tartan::perf {
namespace {

// A device that loses nothing up to 6 Mpps, 0.2% up to 8 Mpps and 5% above;
// the generator tops out at 10 Mpps.
TrialResult model_trial(double rate) {
  TrialResult t;
  t.rate_pps = rate;
  t.seconds = 1;
  const double offered = rate == 0 ? 10e6 : rate;
  const double loss = offered <= 6e6 ? 0 : offered <= 8e6 ? 0.002 : 0.05;
  t.counts.tx_packets = static_cast<uint64_t>(offered);
  t.counts.tx_bytes = t.counts.tx_packets * 60;
  t.counts.rx_packets = static_cast<uint64_t>(std::llround(offered * (1 - loss)));
  return t;
}

SearchResult search(const TrafficOptions& o, unsigned* trials_seen = nullptr) {
  return ndr_search(
      o, model_trial,
      [trials_seen](unsigned n, const TrialResult&) {
        if (trials_seen) *trials_seen = n;
      },
      [] { return false; });
}

TEST(NdrSearch, FindsNdrAndPdrWithinThePrecision) {
  TrafficOptions o;
  o.search_precision = 0.01;
  unsigned seen = 0;
  const SearchResult s = search(o, &seen);
  EXPECT_EQ(s.max_rate_pps, 10e6);
  EXPECT_LE(s.ndr_pps, 6e6);
  EXPECT_GE(s.ndr_pps, 6e6 - 0.01 * 10e6);
  EXPECT_LE(s.pdr_pps, 8e6);
  EXPECT_GE(s.pdr_pps, 8e6 - 0.01 * 10e6);
  EXPECT_EQ(seen, s.trials);
  EXPECT_LE(s.trials, 16u);  // two bisections of 1/128 shared
  EXPECT_EQ(s.ndr_trial.rate_pps, s.ndr_pps);
  EXPECT_EQ(s.ndr_trial.counts.rx_packets, s.ndr_trial.counts.tx_packets);
  EXPECT_EQ(s.pdr_trial.rate_pps, s.pdr_pps);
}

TEST(NdrSearch, AGivenRateIsTheMaximumAndAPassingOneEndsTheSearch) {
  TrafficOptions o;
  o.rate_pps = 5e6;
  const SearchResult s = search(o);
  EXPECT_EQ(s.trials, 1u);
  EXPECT_EQ(s.max_rate_pps, 5e6);
  EXPECT_EQ(s.ndr_pps, 5e6);
  EXPECT_EQ(s.pdr_pps, 5e6);
}

TEST(NdrSearch, PdrAtTheMaximumLeavesOnlyNdrToSearch) {
  TrafficOptions o;
  o.rate_pps = 7e6;  // 0.2% loss: passes PDR, fails NDR
  o.search_precision = 0.02;
  const SearchResult s = search(o);
  EXPECT_EQ(s.pdr_pps, 7e6);
  EXPECT_LE(s.ndr_pps, 6e6);
  EXPECT_GE(s.ndr_pps, 6e6 - 0.02 * 7e6);
}

TEST(NdrSearch, StopsWhenAskedTo) {
  TrafficOptions o;
  const SearchResult s = ndr_search(
      o, model_trial, [](unsigned, const TrialResult&) {}, [] { return true; });
  EXPECT_EQ(s.trials, 1u);
  EXPECT_EQ(s.ndr_pps, 0);
}

TEST(LatencyHistogram, PercentilesWithinTheBucketPrecision) {
  LatencyHistogram h, other;
  for (uint64_t ns = 1; ns <= 100000; ++ns) (ns % 2 ? h : other).record(ns);
  h.merge(other);
  const LatencySummary s = h.summary();
  EXPECT_EQ(s.samples, 100000u);
  EXPECT_DOUBLE_EQ(s.min_us, 0.001);
  EXPECT_DOUBLE_EQ(s.max_us, 100.0);
  EXPECT_NEAR(s.avg_us, 50.0005, 1e-9);
  EXPECT_NEAR(s.p50_us, 50.0, 50.0 / 64);
  EXPECT_NEAR(s.p99_us, 99.0, 99.0 / 64);
  h.clear();
  EXPECT_EQ(h.summary().samples, 0u);
  h.record(7);
  EXPECT_EQ(h.quantile_ns(0.99), 7u);
}

}  // namespace
}  // namespace tartan::perf
