// tartanctl trace: every decision the workers made about the next packets
// received, one block per packet (or one JSON object per line with -o json,
// one YAML document each with -o yaml).
#include <csignal>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "control/ctl/client.h"
#include "tartan/v1/trace.grpc.pb.h"

namespace tartan::ctl {
namespace {

volatile std::sig_atomic_t g_trace_interrupted = 0;

std::string utc(uint64_t ns) {
  const std::time_t s = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%06lluZ",
                static_cast<unsigned long long>(ns % 1000000000 / 1000));
  return buf;
}

void print_block(const v1::TracedPacket& p) {
  std::printf("packet %llu  %s  worker %u  rx %s queue %u  %u bytes\n",
              static_cast<unsigned long long>(p.index()), utc(p.timestamp_ns()).c_str(), p.worker(),
              p.rx_port().c_str(), p.rx_queue(), p.length());
  std::printf("  %s\n", p.summary().c_str());
  for (const v1::TraceDecision& d : p.decisions())
    std::printf("  %-11s %s\n", d.step().c_str(), d.detail().c_str());
  if (p.decisions_lost() != 0)
    std::printf("  (%u more decisions not recorded)\n", p.decisions_lost());
  std::printf("  %-11s %s\n\n", "verdict", p.verdict().c_str());
}

int trace(const GlobalOptions& g, const v1::TraceRequest& req) {
  auto stub = v1::Trace::NewStub(connect(g));
  auto ctx = call_context(g, true);
  std::signal(SIGINT, [](int) { g_trace_interrupted = 1; });
  auto stream = stub->Trace(ctx.get(), req);
  v1::TracedPacket p;
  uint64_t packets = 0;
  while (!g_trace_interrupted && stream->Read(&p)) {
    ++packets;
    if (g.output == Output::kJson) {
      std::printf("%s\n", nlohmann::json::parse(to_json(p)).dump().c_str());
    } else if (g.output == Output::kYaml) {
      std::printf("---\n%s", to_yaml(p).c_str());
    } else {
      print_block(p);
    }
    std::fflush(stdout);
  }
  if (g_trace_interrupted) ctx->TryCancel();
  const grpc::Status s = stream->Finish();
  if (!s.ok() && !g_trace_interrupted) return report(s, g);
  std::fprintf(stderr, "%llu packets traced\n", static_cast<unsigned long long>(packets));
  return kExitOk;
}

}  // namespace

void add_trace_commands(CLI::App& app, const GlobalOptions& g, Action& run) {
  struct Values {
    v1::TraceRequest req;
    std::vector<std::string> ports;
    std::string filter;
    uint32_t count = 0, duration = 0;
  };
  auto v = std::make_shared<Values>();
  CLI::App* cmd = app.add_subcommand(
      "trace", "every decision the workers make about the next packets received (as VPP's trace)");
  cmd->add_option("-p,--port", v->ports, "port name from the config (repeat; default: all)")
      ->type_name("PORT");
  cmd->add_option("-f,--filter", v->filter,
                  "tcpdump filter expression on the frame as received (pcap-filter(7))");
  cmd->add_option("-c,--count", v->count, "packets to trace (1..1000; 10)");
  cmd->add_option("--duration", v->duration, "stop after this many seconds (1..3600; 60)")
      ->type_name("S");
  cmd->callback([&g, &run, v] {
    run = [&g, v] {
      for (const std::string& p : v->ports) v->req.add_ports(p);
      v->req.set_filter(v->filter);
      v->req.set_count(v->count);
      v->req.set_duration_s(v->duration);
      return trace(g, v->req);
    };
  });
}

}  // namespace tartan::ctl
