#include "perf/ndr_search.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace tartan::perf {
namespace {

constexpr unsigned kMaxTrials = 64;

// [lo, hi): lo passed (or is 0), hi failed (or is the untried maximum).
struct Interval {
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  bool found = false;  // hi itself passed: the answer is the maximum
  TrialResult best;    // the trial at lo
  bool has_best = false;
};

}  // namespace

SearchResult ndr_search(const TrafficOptions& o, const std::function<TrialResult(double)>& trial,
                        const std::function<void(unsigned, const TrialResult&)>& on_trial,
                        const std::function<bool()>& stopped) {
  SearchResult s;
  Interval ndr, pdr;
  TrialResult lowest;
  bool has_lowest = false;
  // Runs a trial and narrows both intervals with its loss ratio.
  auto measure = [&](double rate) {
    TrialResult t = trial(rate);
    // A flat-out trial stands for the rate it reached.
    if (t.rate_pps == 0 && t.seconds > 0)
      t.rate_pps = static_cast<double>(t.counts.tx_packets) / t.seconds;
    on_trial(++s.trials, t);
    s.interrupted = t.interrupted;
    const double loss = t.counts.tx_packets == 0 ? 1.0 : loss_of(Mode::kLoopback, t.counts)->ratio;
    for (auto [iv, limit] : {std::pair{&ndr, 0.0}, std::pair{&pdr, o.pdr_loss}}) {
      if (loss <= limit) {
        if (t.rate_pps >= iv->lo) {
          iv->lo = t.rate_pps;
          iv->best = t;
          iv->has_best = true;
        }
      } else {
        iv->hi = std::min(iv->hi, t.rate_pps);
      }
    }
    if (!has_lowest || t.rate_pps < lowest.rate_pps) {
      lowest = t;
      has_lowest = true;
    }
    return t;
  };

  const TrialResult first = measure(o.rate_pps);
  s.max_rate_pps = first.rate_pps;
  for (Interval* iv : {&ndr, &pdr}) {
    iv->found = iv->has_best;
    iv->hi = std::min(iv->hi, s.max_rate_pps);
  }
  const double width = o.search_precision * s.max_rate_pps;
  while (s.trials < kMaxTrials && !stopped() && s.max_rate_pps > 0) {
    Interval* iv = nullptr;
    if (!pdr.found && pdr.hi - pdr.lo > width) {
      iv = &pdr;
    } else if (!ndr.found && std::min(ndr.hi, pdr.hi) - ndr.lo > width) {
      iv = &ndr;
      iv->hi = std::min(ndr.hi, pdr.hi);
    }
    if (iv == nullptr) break;
    measure((iv->lo + iv->hi) / 2);
  }
  s.ndr_pps = ndr.lo;
  s.pdr_pps = pdr.lo;
  s.ndr_trial = ndr.has_best ? ndr.best : lowest;
  s.pdr_trial = pdr.has_best ? pdr.best : lowest;
  return s;
}

}  // namespace tartan::perf
