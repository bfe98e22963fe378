// tartan-nodeload: applies tartan-perf's remote nodes to a running tartand,
// or churns their routes at a fixed rate, through the gRPC API.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "perf/node_load.h"

namespace {

using tartan::perf::NodeLoadOptions;

constexpr const char* kUsage =
    "Usage: tartan-nodeload [options]\n"
    "\n"
    "Applies remote nodes first..first+N-1 of tartan-perf's addressing scheme to a running\n"
    "tartand as flannel-annotated Nodes (ApplyNode, or ApplyNodes with --batch), or with\n"
    "--churn-rate moves them between two public IPs at that many changes per second, so\n"
    "their routes change under traffic.\n"
    "\n"
    "  -s, --socket PATH   tartand's API socket (default /run/tartan/tartan.sock)\n"
    "  --nodes N           remote nodes to apply or churn (default 1)\n"
    "  --first K           index of the first (default 0)\n"
    "  --backend vxlan|udp the backend their annotations name (default vxlan)\n"
    "  --churn-rate R      changes per second; 0 (default): apply the nodes once, as fast\n"
    "                      as tartand takes them\n"
    "  --duration S        seconds of churn (default 5)\n"
    "  --concurrency C     RPCs in flight, 1..64 (default 4)\n"
    "  --batch B           B nodes per ApplyNodes call, 1..10000; churn: an ApplyNodes of\n"
    "                      B changes every B/R seconds; 0 (default): one ApplyNode call\n"
    "                      per node or change\n"
    "  --json FILE         write the result as a JSON object\n"
    "  --dual-stack        nodes have an IPv6 podCIDR, public IPv6 and flannel-v6 VtepMAC\n"
    "                      too, and count as applied when routed for both families\n"
    "  --pod-network C, --subnet-len L, --vtep-base A, --vni N,\n"
    "  --pod-network6 C, --subnet-len6 L, --vtep-base6 A\n"
    "                      the scheme, as tartan-perf takes them (see tartan-perf --help)\n"
    "  -h, --help          this text\n"
    "\n"
    "Node k is \"remote-<k>\" with podCIDR number 2+k of the pod network, public IP\n"
    "vtep-base + k (churn: and that + 1.0.0.0) and VtepMAC 0e:00 + (2+k as 32 bits);\n"
    "dual-stack, IPv6 podCIDR number 2+k of pod-network6, public IPv6 vtep-base6 + k (churn\n"
    "leaves it) and flannel-v6 VtepMAC 0e:06 + (2+k as 32 bits).\n"
    "Exit status: 0 when every change was applied, 1 when some failed, 2 bad command line.\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "tartan-nodeload: %s (see --help)\n", msg.c_str());
  return 2;
}

bool parse_number(const std::string& v, double min, double max, double& out) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || d < min || d > max) return false;
  out = d;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  NodeLoadOptions o;
  std::vector<std::string> scheme_args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    const bool has_value = i + 1 < argc;
    const std::string v = has_value ? argv[i + 1] : "";
    auto number = [&](double min, double max, double& out) {
      if (!has_value || !parse_number(v, min, max, out)) return false;
      ++i;
      return true;
    };
    double n = 0;
    if (a == "-s" || a == "--socket") {
      if (!has_value) return usage_error(a + ": needs a path");
      o.socket = v;
      ++i;
    } else if (a == "--nodes") {
      if (!number(1, 1e6, n)) return usage_error("--nodes: expected 1..1000000");
      o.nodes = static_cast<uint32_t>(n);
    } else if (a == "--first") {
      if (!number(0, 1e6, n)) return usage_error("--first: expected 0..1000000");
      o.first = static_cast<uint32_t>(n);
    } else if (a == "--backend") {
      if (v == "vxlan") {
        o.backend = tartan::BackendType::kVxlan;
      } else if (v == "udp") {
        o.backend = tartan::BackendType::kUdp;
      } else {
        return usage_error("--backend: expected vxlan or udp, got '" + v + "'");
      }
      ++i;
    } else if (a == "--churn-rate") {
      if (!number(0, 1e6, o.churn_rate)) return usage_error("--churn-rate: expected 0..1000000");
    } else if (a == "--duration") {
      if (!number(0.001, 86400, o.duration_s))
        return usage_error("--duration: expected seconds, 0.001..86400");
    } else if (a == "--concurrency") {
      if (!number(1, 64, n)) return usage_error("--concurrency: expected 1..64");
      o.concurrency = static_cast<unsigned>(n);
    } else if (a == "--batch") {
      if (!number(0, 10000, n)) return usage_error("--batch: expected 0..10000");
      o.batch = static_cast<uint32_t>(n);
    } else if (a == "--json") {
      if (!has_value) return usage_error("--json: needs a file name");
      o.json_path = v;
      ++i;
    } else if (a == "--dual-stack") {
      o.dual_stack = true;
    } else if (a == "--pod-network" || a == "--subnet-len" || a == "--vtep-base" || a == "--vni" ||
               a == "--pod-network6" || a == "--subnet-len6" || a == "--vtep-base6") {
      if (!has_value) return usage_error(a + ": needs a value");
      scheme_args.insert(scheme_args.end(), {a, v});
      ++i;
    } else {
      return usage_error("unknown option '" + a + "'");
    }
  }
  // ApplyNodes takes a name once per call: a batch of changes moves distinct nodes.
  if (o.churn_rate > 0 && o.batch > o.nodes)
    return usage_error("--batch: churn moves each node at most once a call, so at most --nodes (" +
                       std::to_string(o.nodes) + ")");
  // The scheme's options mean exactly what they mean to tartan-perf.
  scheme_args.insert(scheme_args.end(), {"--dst-subnets", std::to_string(o.first + o.nodes)});
  const auto parsed = tartan::perf::parse_options(scheme_args);
  if (parsed.action == tartan::perf::ParseOutcome::Action::kError) return usage_error(parsed.error);
  o.scheme = parsed.options;
  if (o.dual_stack) {
    if (std::string err = tartan::perf::check_scheme(o.scheme, tartan::perf::Family::kIpv6);
        !err.empty())
      return usage_error(err);
  }

  const auto r = o.churn_rate > 0 ? tartan::perf::churn_nodes(o) : tartan::perf::apply_nodes(o);
  std::printf(
      "tartan-nodeload: %s: %llu of %llu applied in %.3f s (%.0f/s), %llu failed; RPC latency "
      "p50 %.3f ms, p99 %.3f ms, max %.3f ms; worst lag behind schedule %.3f ms\n",
      o.churn_rate > 0 ? "churn" : "apply", static_cast<unsigned long long>(r.applied),
      static_cast<unsigned long long>(r.requested), r.seconds, r.rate_per_s,
      static_cast<unsigned long long>(r.failed), r.latency_p50_ms, r.latency_p99_ms,
      r.latency_max_ms, r.lag_max_ms);
  if (!r.first_error.empty()) std::fprintf(stderr, "tartan-nodeload: %s\n", r.first_error.c_str());
  if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    out << tartan::perf::node_load_json(o, r);
    if (!out) {
      std::fprintf(stderr, "tartan-nodeload: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
  }
  return r.failed == 0 && r.applied == r.requested ? 0 : 1;
}
