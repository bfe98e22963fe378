#include "tests/support/capture.h"

#include <cstdio>

namespace tartan::testing {

using namespace std::chrono_literals;

Capture::Capture(const Netns& ns, const std::string& iface, const std::string& filter, int seconds,
                 std::string pcap)
    : pcap_(std::move(pcap)) {
  tshark_ =
      std::make_unique<Process>(ns.exec({"tshark", "-n", "-i", iface, "-f", filter, "-a",
                                         "duration:" + std::to_string(seconds), "-w", pcap_}));
  eventually([&] { return tshark_->output().find("Capture started") != std::string::npos; }, 10s);
}

Capture::~Capture() {
  tshark_.reset();
  std::remove(pcap_.c_str());
}

std::string Capture::read(const std::string& args, const std::string& then) {
  tshark_->wait(30s);
  const std::string pipe = then.empty() ? "" : " | " + then;
  return run_command({"sh", "-c", "tshark -n -r " + pcap_ + " " + args + " 2>/dev/null" + pipe})
      .output;
}

}  // namespace tartan::testing
