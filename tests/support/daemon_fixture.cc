#include "tests/support/daemon_fixture.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>

#include "control/config/config_loader.h"
#include "tests/support/packets.h"

namespace tartan::testing {

DaemonFixture::DaemonFixture(const DaemonOptions& o) {
  static std::atomic<int> n{0};
  dir_ = "/tmp/tartan-daemon-" + std::to_string(getpid()) + "-" + std::to_string(n++);
  // Without a child process: a fork makes every page of this process
  // copy-on-write, which a benchmark's prepared requests then pay for.
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  std::filesystem::create_directories(dir_);
  socket_ = dir_ + "/tartan.sock";
  if (o.underlay_device.empty()) underlay_ = std::make_unique<RingPort>();
  overlay_ = std::make_unique<RingPort>();
  const std::string listen = o.listen.empty() ? "unix://" + socket_ : o.listen;
  const std::string yaml =
      "ports:\n"
      "  underlay: {device: " +
      (underlay_ ? underlay_->name() : o.underlay_device) +
      ", address: 192.0.2.19/24, gateway: 192.0.2.1, mac: '02:00:00:00:0b:01'" + o.underlay_yaml +
      "}\n"
      "  overlay: [{name: pods, device: " +
      overlay_->name() +
      ", mac: '02:00:00:00:01:01'}]\n"
      "workers: {lcores: [1], mempool_size: 4095, rx_descriptors: 256, tx_descriptors: 256}\n"
      "dataplane: " +
      o.dataplane +
      "\n"
      "network: " +
      o.network +
      "\n"
      "node: {name: node-1, state_dir: " +
      dir_ +
      "/state}\n"
      "control: {listen: '" +
      listen + "', watch_history: " + std::to_string(o.watch_history) + o.control_yaml +
      "}\n"
      "lease: {source: " +
      o.lease_source + (o.lease_source == "static" ? ", subnet: " + o.subnet : "") + o.lease_yaml +
      "}\n"
      "subnet_file: " +
      dir_ + "/subnet.env\n";
  auto config = parse_config(yaml, "test.yaml");
  auto d = config ? Daemon::start(*config) : config.status();
  if (!d) {
    // No destructor runs for a constructor that throws.
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw std::runtime_error(d.status().message());
  }
  daemon_ = std::move(d).value();
}

DaemonFixture::~DaemonFixture() {
  daemon_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::shared_ptr<grpc::Channel> DaemonFixture::channel() const {
  return grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials());
}

unsigned DaemonFixture::inject_unroutable(unsigned count) {
  std::vector<rte_mbuf*> pkts;
  for (unsigned i = 0; i < count; ++i) {
    UdpSpec s;
    s.dst_mac = *MacAddr::parse("02:00:00:00:01:01");
    s.dst_ip = *Ipv4Addr::parse("10.244.77.7");
    pkts.push_back(to_mbuf(daemon_->engine().mempool(), udp_frame(s)));
  }
  return overlay_->inject(pkts);
}

}  // namespace tartan::testing
