// tartanctl capture: packets on the data plane's ports, as pcapng, to a file
// or stdout (`-w - | tshark -r -`).
#include <csignal>
#include <cstdio>

#include "control/ctl/client.h"
#include "tartan/v1/capture.grpc.pb.h"

namespace tartan::ctl {
namespace {

volatile std::sig_atomic_t g_capture_interrupted = 0;

int capture(const GlobalOptions& g, const v1::CaptureRequest& req, const std::string& file) {
  FILE* out = file == "-" ? stdout : std::fopen(file.c_str(), "wb");
  if (out == nullptr) return usage_error("-w " + file + ": cannot open for writing");
  auto stub = v1::Capture::NewStub(connect(g));
  auto ctx = call_context(g, true);
  std::signal(SIGINT, [](int) { g_capture_interrupted = 1; });
  auto stream = stub->Capture(ctx.get(), req);
  v1::CaptureChunk chunk;
  uint64_t packets = 0, missed = 0;
  while (!g_capture_interrupted && stream->Read(&chunk)) {
    std::fwrite(chunk.pcapng().data(), 1, chunk.pcapng().size(), out);
    std::fflush(out);
    packets = chunk.packets(), missed = chunk.missed();
  }
  if (out != stdout) std::fclose(out);
  if (g_capture_interrupted) ctx->TryCancel();
  const grpc::Status s = stream->Finish();
  if (!s.ok() && !g_capture_interrupted) return report(s, g);
  std::fprintf(stderr, "%llu packets captured, %llu missed (rate cap or rings full)\n",
               static_cast<unsigned long long>(packets), static_cast<unsigned long long>(missed));
  return kExitOk;
}

}  // namespace

void add_capture_commands(CLI::App& app, const GlobalOptions& g, Action& run) {
  struct Values {
    v1::CaptureRequest req;
    std::vector<std::string> ports;
    std::string direction = "both", filter, file;
    uint32_t count = 0, duration = 0, snaplen = 0, rate = 0;
  };
  auto v = std::make_shared<Values>();
  CLI::App* cmd = app.add_subcommand(
      "capture", "capture packets received, sent or dropped on the data plane's ports (pcapng)");
  cmd->add_option("-i,--interface", v->ports, "port name from the config (repeat; default: all)")
      ->type_name("PORT");
  cmd->add_option("--direction", v->direction, "rx, tx, both or drop (drops carry their reason)")
      ->check(CLI::IsMember({"rx", "tx", "both", "drop"}));
  cmd->add_option("-f,--filter", v->filter, "tcpdump filter expression (pcap-filter(7))");
  cmd->add_option("-c,--count", v->count, "stop after this many packets (1..1000000; 1000)");
  cmd->add_option("--duration", v->duration, "stop after this many seconds (1..3600; 60)")
      ->type_name("S");
  cmd->add_option("--snaplen", v->snaplen, "bytes kept of each packet (64..16384; 2048)");
  cmd->add_option("--rate", v->rate, "packets per second taken at most (1..100000; 10000)");
  cmd->add_option("-w,--write", v->file, "pcapng file to write, - for stdout")->required();
  cmd->callback([&g, &run, v] {
    run = [&g, v] {
      for (const std::string& p : v->ports) v->req.add_ports(p);
      v->req.set_direction(v->direction);
      v->req.set_filter(v->filter);
      v->req.set_count(v->count);
      v->req.set_duration_s(v->duration);
      v->req.set_snaplen(v->snaplen);
      v->req.set_rate_pps(v->rate);
      return capture(g, v->req, v->file);
    };
  });
}

}  // namespace tartan::ctl
