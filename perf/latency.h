// A latency histogram that records in constant time without allocating:
// log-linear buckets (64 per power of two, so a percentile is within 1.6%
// of the true value), exact minimum, maximum and mean.
#pragma once

#include <array>
#include <cstdint>

namespace tartan::perf {

struct LatencySummary {
  uint64_t samples = 0;
  double min_us = 0, avg_us = 0, p50_us = 0, p99_us = 0, max_us = 0;
};

class LatencyHistogram {
 public:
  void record(uint64_t ns) {
    ++buckets_[bucket(ns)];
    ++count_;
    sum_ += ns;
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
  }
  void merge(const LatencyHistogram& other);
  void clear();
  uint64_t count() const { return count_; }
  // The value (ns) below which a fraction `q` of the samples lie.
  uint64_t quantile_ns(double q) const;
  LatencySummary summary() const;

 private:
  static constexpr unsigned kSubBits = 6;
  static constexpr unsigned kSub = 1u << kSubBits;
  static constexpr unsigned kMaxExponent = 40;  // 2^40 ns: 18 minutes
  static constexpr unsigned kBuckets = (kMaxExponent - kSubBits + 2) * kSub;

  static unsigned bucket(uint64_t v) {
    if (v < kSub) return static_cast<unsigned>(v);
    unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(v));
    if (e > kMaxExponent) return kBuckets - 1;
    return (e - kSubBits + 1) * kSub + static_cast<unsigned>((v >> (e - kSubBits)) - kSub);
  }
  // The middle of a bucket's range.
  static uint64_t bucket_value(unsigned b);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace tartan::perf
