// Writes frames to a classic pcap file (Ethernet link type) so independent
// decoders such as tshark can read what the data plane produced.
#pragma once

#include <string>
#include <vector>

#include "tests/support/packets.h"

namespace tartan::testing {

void write_pcap(const std::string& path, const std::vector<Bytes>& frames);

// Runs tshark on `path` with `args` and returns its standard output lines.
std::vector<std::string> tshark_lines(const std::string& path,
                                      const std::vector<std::string>& args);

}  // namespace tartan::testing
