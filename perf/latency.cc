#include "perf/latency.h"

#include <algorithm>
#include <cmath>

namespace tartan::perf {

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (unsigned i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::clear() {
  *this = LatencyHistogram{};
}

uint64_t LatencyHistogram::bucket_value(unsigned b) {
  if (b < kSub) return b;
  const unsigned e = b / kSub + kSubBits - 1;
  const uint64_t mantissa = b % kSub + kSub;
  const uint64_t low = mantissa << (e - kSubBits);
  return low + ((uint64_t{1} << (e - kSubBits)) >> 1);
}

uint64_t LatencyHistogram::quantile_ns(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (unsigned b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= std::max<uint64_t>(rank, 1)) return std::clamp(bucket_value(b), min_, max_);
  }
  return max_;
}

LatencySummary LatencyHistogram::summary() const {
  LatencySummary s;
  s.samples = count_;
  if (count_ == 0) return s;
  s.min_us = static_cast<double>(min_) / 1e3;
  s.max_us = static_cast<double>(max_) / 1e3;
  s.avg_us = static_cast<double>(sum_) / static_cast<double>(count_) / 1e3;
  s.p50_us = static_cast<double>(quantile_ns(0.5)) / 1e3;
  s.p99_us = static_cast<double>(quantile_ns(0.99)) / 1e3;
  return s;
}

}  // namespace tartan::perf
