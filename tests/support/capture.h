// A tshark capture in a network namespace: started, waited for until it
// really captures, and read back with tshark's own decoders.
#pragma once

#include <memory>
#include <string>

#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan::testing {

class Capture {
 public:
  // Captures `filter` (BPF) on `iface` for `seconds` into `pcap`; returns
  // once tshark says the capture started.
  Capture(const Netns& ns, const std::string& iface, const std::string& filter, int seconds,
          std::string pcap);
  ~Capture();

  // Waits for the capture to end, then decodes it: `tshark -n -r PCAP ARGS`
  // (its standard output only), piped through `then` when given.
  std::string read(const std::string& args, const std::string& then = "");
  std::string log() const { return tshark_->output(); }

 private:
  std::string pcap_;
  std::unique_ptr<Process> tshark_;
};

}  // namespace tartan::testing
