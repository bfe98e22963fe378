#include "perf/report.h"

#include <cstdio>
#include <string>

namespace tartan::perf {
namespace {

using ull = unsigned long long;

std::string rate_text(uint64_t packets, uint64_t bytes, double seconds) {
  const Rate r = rate_of(packets, bytes, seconds);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f Mpps %.3f Gbit/s", r.mpps, r.gbps);
  return buf;
}

std::string loss_text(const TrafficOptions& o, const Counts& c) {
  const auto loss = loss_of(o.mode, c);
  if (!loss) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "  loss %.3f%%", loss->ratio * 100);
  return buf;
}

bool sends(const TrafficOptions& o) {
  return o.mode != Mode::kRxOnly;
}
bool receives(const TrafficOptions& o) {
  return o.mode != Mode::kTxOnly;
}

}  // namespace

void print_progress(const TrafficOptions& o, double elapsed_s, double interval_s,
                    const Counts& prev, const Counts& cur, uint64_t p99_ns) {
  std::string line;
  if (sends(o))
    line += "  tx " +
            rate_text(cur.tx_packets - prev.tx_packets, cur.tx_bytes - prev.tx_bytes, interval_s);
  if (receives(o))
    line += "  rx " +
            rate_text(cur.rx_packets - prev.rx_packets, cur.rx_bytes - prev.rx_bytes, interval_s);
  line += loss_text(o, cur);
  if (has_receiver(o.mode)) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "  p99 %.1f us", static_cast<double>(p99_ns) / 1e3);
    line += buf;
  }
  std::printf("tartan-perf: %5.1fs%s\n", elapsed_s, line.c_str());
  std::fflush(stdout);
}

void print_trial(const TrafficOptions& o, unsigned n, const TrialResult& t) {
  const auto loss = loss_of(o.mode, t.counts);
  std::printf("tartan-perf: trial %u: offered %.6f Mpps for %.2f s: tx %llu rx %llu loss %.6f%%\n",
              n, t.rate_pps / 1e6, t.seconds, static_cast<ull>(t.counts.tx_packets),
              static_cast<ull>(t.counts.rx_packets), loss ? loss->ratio * 100 : 0.0);
  std::fflush(stdout);
}

void print_summary(const TrafficOptions& o, const TrialResult& t) {
  const Counts& c = t.counts;
  std::string traffic;
  if (has_generator(o.mode)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, " %s/%s size %s, %u flow(s) over %u subnet(s), encap %s",
                  family_name(o.family), proto_name(o.proto), size_name(o).c_str(), o.flows,
                  o.dst_subnets, encap_name(o.encap));
    traffic = buf;
  }
  std::printf("tartan-perf: %s%s: %.3f s%s\n", mode_name(o.mode), traffic.c_str(), t.seconds,
              t.interrupted ? " (interrupted)" : "");
  if (sends(o))
    std::printf("  tx %llu packets, %llu bytes: %s\n", static_cast<ull>(c.tx_packets),
                static_cast<ull>(c.tx_bytes),
                rate_text(c.tx_packets, c.tx_bytes, t.seconds).c_str());
  if (has_generator(o.mode))
    std::printf("  tx back pressure: %llu frame refusals (sent again later); %llu mbuf shortages\n",
                static_cast<ull>(c.tx_refused), static_cast<ull>(c.tx_alloc_failures));
  if (receives(o))
    std::printf("  rx %llu packets, %llu bytes: %s\n", static_cast<ull>(c.rx_packets),
                static_cast<ull>(c.rx_bytes),
                rate_text(c.rx_packets, c.rx_bytes, t.seconds).c_str());
  std::printf("  (Gbit/s at layer 1: each frame counts 24 bytes more, FCS + preamble + gap)\n");
  if (const auto loss = loss_of(o.mode, c))
    std::printf("  loss %llu packets, ratio %.6f\n", static_cast<ull>(loss->packets), loss->ratio);
  if (has_receiver(o.mode)) {
    std::printf(
        "  marked %llu, foreign %llu; sequence gaps %llu, reordered %llu; checked %llu, bad %llu\n",
        static_cast<ull>(c.marked), static_cast<ull>(c.foreign), static_cast<ull>(c.gaps),
        static_cast<ull>(c.reordered), static_cast<ull>(c.checked), static_cast<ull>(c.bad));
    const LatencySummary& l = t.latency;
    if (l.samples > 0) {
      std::printf("  latency (us, %llu samples): min %.3f avg %.3f p50 %.3f p99 %.3f max %.3f\n",
                  static_cast<ull>(l.samples), l.min_us, l.avg_us, l.p50_us, l.p99_us, l.max_us);
    } else {
      std::printf("  latency: no samples (frames of 70 bytes or more, 82 with TCP, carry a TSC)\n");
    }
  }
  std::fflush(stdout);
}

void print_search(const TrafficOptions& o, const SearchResult& s) {
  std::printf("tartan-perf: search%s after %u trials, maximum %.6f Mpps:\n",
              s.interrupted ? " interrupted" : "", s.trials, s.max_rate_pps / 1e6);
  std::printf("  NDR (no loss)      %.6f Mpps %.3f Gbit/s\n", s.ndr_pps / 1e6,
              l1_gbps(s.ndr_pps, avg_tx_frame_bytes(s.ndr_trial.counts)));
  std::printf("  PDR (loss <= %.2f%%) %.6f Mpps %.3f Gbit/s\n", o.pdr_loss * 100, s.pdr_pps / 1e6,
              l1_gbps(s.pdr_pps, avg_tx_frame_bytes(s.pdr_trial.counts)));
  std::fflush(stdout);
}

}  // namespace tartan::perf
