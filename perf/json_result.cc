#include "perf/json_result.h"

#include <rte_cycles.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <tuple>

namespace tartan::perf {
namespace {

// A flat JSON object, keys in insertion order.
class JsonObject {
 public:
  void add(const std::string& key, const std::string& v) {
    std::string quoted = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') {
        quoted += '\\';
        quoted += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", c);
        quoted += esc;
      } else {
        quoted += c;
      }
    }
    raw(key, quoted + "\"");
  }
  void add(const std::string& key, const char* v) { add(key, std::string(v)); }
  void add(const std::string& key, uint64_t v) { raw(key, std::to_string(v)); }
  void add(const std::string& key, unsigned v) { add(key, static_cast<uint64_t>(v)); }
  void add(const std::string& key, bool v) { raw(key, v ? "true" : "false"); }
  void add(const std::string& key, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    raw(key, std::isfinite(v) ? buf : "null");
  }
  void add(const std::string& key, std::optional<double> v) {
    if (v) {
      add(key, *v);
    } else {
      raw(key, "null");
    }
  }
  std::string text() const { return "{\n" + body_ + "\n}\n"; }

 private:
  void raw(const std::string& key, const std::string& value) {
    if (!body_.empty()) body_ += ",\n";
    body_ += "  \"" + key + "\": " + value;
  }
  std::string body_;
};

// A latency figure, or null without samples.
std::optional<double> latency_value(const LatencySummary& l, double v) {
  if (l.samples == 0) return std::nullopt;
  return v;
}

}  // namespace

std::string result_json(const TrafficOptions& o, const RunInfo& info, const TrialResult& t,
                        const SearchResult* search) {
  const Counts& c = t.counts;
  JsonObject j;
  j.add("tool", "tartan-perf");
  j.add("mode", mode_name(o.mode));
  j.add("family", family_name(o.family));
  j.add("proto", proto_name(o.proto));
  j.add("encap", encap_name(o.encap));
  j.add("size", size_name(o));
  j.add("flows", o.flows);
  j.add("dst_subnets", o.dst_subnets);
  j.add("vni", o.vni);
  j.add("rate_pps", t.rate_pps);
  j.add("burst", unsigned{o.burst});
  j.add("tx_port", unsigned{info.tx_port});
  j.add("rx_port", unsigned{info.rx_port});
  j.add("lcores", info.lcores);
  j.add("tsc_hz", rte_get_tsc_hz());
  j.add("duration_s", t.seconds);
  j.add("interrupted", t.interrupted || (search != nullptr && search->interrupted));
  j.add("tx_packets", c.tx_packets);
  j.add("tx_bytes", c.tx_bytes);
  j.add("tx_refused", c.tx_refused);
  j.add("tx_alloc_failures", c.tx_alloc_failures);
  j.add("rx_packets", c.rx_packets);
  j.add("rx_bytes", c.rx_bytes);
  const Rate tx = rate_of(c.tx_packets, c.tx_bytes, t.seconds);
  const Rate rx = rate_of(c.rx_packets, c.rx_bytes, t.seconds);
  j.add("tx_mpps", tx.mpps);
  j.add("rx_mpps", rx.mpps);
  j.add("tx_gbps", tx.gbps);
  j.add("rx_gbps", rx.gbps);
  const auto loss = loss_of(o.mode, c);
  j.add("loss_packets",
        loss ? std::optional<double>(static_cast<double>(loss->packets)) : std::nullopt);
  j.add("loss_ratio", loss ? std::optional<double>(loss->ratio) : std::nullopt);
  j.add("rx_marked", c.marked);
  j.add("rx_foreign", c.foreign);
  j.add("seq_gaps", c.gaps);
  j.add("seq_reordered", c.reordered);
  j.add("payload_checked", c.checked);
  j.add("payload_bad", c.bad);
  const LatencySummary& l = t.latency;
  j.add("latency_samples", l.samples);
  j.add("latency_min_us", latency_value(l, l.min_us));
  j.add("latency_avg_us", latency_value(l, l.avg_us));
  j.add("latency_p50_us", latency_value(l, l.p50_us));
  j.add("latency_p99_us", latency_value(l, l.p99_us));
  j.add("latency_max_us", latency_value(l, l.max_us));
  if (search != nullptr) {
    const SearchResult& s = *search;
    for (const auto& [name, pps, trial] :
         {std::tuple{"ndr", s.ndr_pps, &s.ndr_trial}, std::tuple{"pdr", s.pdr_pps, &s.pdr_trial}}) {
      j.add(std::string(name) + "_pps", pps);
      j.add(std::string(name) + "_mpps", pps / 1e6);
      j.add(std::string(name) + "_gbps", l1_gbps(pps, avg_tx_frame_bytes(trial->counts)));
    }
    j.add("pdr_loss", o.pdr_loss);
    j.add("pdr_latency_p99_us", latency_value(s.pdr_trial.latency, s.pdr_trial.latency.p99_us));
    j.add("search_max_pps", s.max_rate_pps);
    j.add("search_trials", s.trials);
    j.add("search_precision", o.search_precision);
    j.add("trial_duration_s", o.trial_duration_s);
  }
  return j.text();
}

std::string write_result_json(const TrafficOptions& o, const RunInfo& info, const TrialResult& t,
                              const SearchResult* search) {
  const std::string text = result_json(o, info, t, search);
  FILE* f = std::fopen(o.json_path.c_str(), "w");
  if (f == nullptr) return "--json: cannot write " + o.json_path + ": " + std::strerror(errno);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok)
    return "--json: cannot write " + o.json_path + ": " + std::strerror(errno);
  return "";
}

}  // namespace tartan::perf
