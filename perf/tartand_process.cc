#include "perf/tartand_process.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <stdexcept>

#include "tartan/v1/health.grpc.pb.h"

namespace tartan::perf {
namespace {

using namespace std::chrono_literals;

std::string next_tag() {
  static std::atomic<int> n{0};
  return "kp-tartand-" + std::to_string(n++);
}

bool ready(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 2s);
  v1::HealthCheckResponse health;
  return v1::Health::NewStub(channel)->Check(&ctx, {}, &health).ok() && health.ready();
}

}  // namespace

TartandProcess::TartandProcess(const TartandOptions& o)
    : dir_(next_tag()), socket_(dir_.path() + "/tartan.sock") {
  const std::string& dir = dir_.path();
  const std::string config = dir + "/tartan.yaml";
  // The prefix names the EAL's runtime files, so concurrent runs never share them.
  const std::string prefix = "kp" + std::to_string(getpid()) + "-" + dir.substr(dir.rfind('-') + 1);
  testing::write_file(
      config,
      "eal: {main_lcore: 0, hugepages: off, file_prefix: " + prefix +
          "}\n"
          "ports:\n"
          "  underlay: {device: 'net_null0,no-rx=1', address: 192.0.2.19/24, gateway: 192.0.2.1, "
          "mac: '02:00:00:00:0b:01'}\n"
          "  overlay: [{name: pods, device: 'net_null1,no-rx=1', mac: '02:00:00:00:01:01'}]\n"
          "workers: {lcores: [1]}\n"
          "dataplane: {max_routes: " +
          std::to_string(o.max_routes) +
          ", static_neighbours: [{ip: 192.0.2.1, mac: '02:00:00:00:00:fe'}]}\n"
          "network: {Network: 10.0.0.0/8, SubnetLen: 24, Backend: {Type: vxlan}}\n"
          "node: {name: node-1, state_dir: " +
          dir +
          "/state}\n"
          "control: {listen: 'unix://" +
          socket_ + "', watch_history_mb: " + std::to_string(o.watch_history_mb) +
          "}\n"
          "lease: " +
          o.lease + "\nsubnet_file: " + dir + "/subnet.env\n");
  process_ =
      std::make_unique<testing::Process>(std::vector<std::string>{o.binary, "--config", config});
  const auto channel = this->channel();
  if (!testing::eventually([&] { return !process_->running() || ready(channel); }, 120s, 50ms) ||
      !process_->running()) {
    throw std::runtime_error("tartand did not become ready:\n" + process_->output());
  }
}

TartandProcess::~TartandProcess() {
  process_->signal(SIGTERM);
  if (!process_->wait(30s)) process_->signal(SIGKILL);
  process_->wait(10s);
}

std::shared_ptr<grpc::Channel> TartandProcess::channel() const {
  return grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials());
}

size_t TartandProcess::rss_bytes() const {
  std::ifstream status("/proc/" + std::to_string(process_->pid()) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  throw std::runtime_error("no VmRSS for tartand " + std::to_string(process_->pid()));
}

}  // namespace tartan::perf
