#include "tests/support/pcap_file.h"

#include <cstdint>
#include <fstream>
#include <sstream>

#include "tests/support/process.h"

namespace tartan::testing {
namespace {

template <class T>
void put(std::ofstream& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

void write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
  std::ofstream out(path, std::ios::binary);
  put<uint32_t>(out, 0xa1b2c3d4);  // microsecond timestamps, host byte order
  put<uint16_t>(out, 2);
  put<uint16_t>(out, 4);
  put<int32_t>(out, 0);
  put<uint32_t>(out, 0);
  put<uint32_t>(out, 65535);
  put<uint32_t>(out, 1);  // LINKTYPE_ETHERNET
  uint32_t t = 0;
  for (const Bytes& f : frames) {
    put<uint32_t>(out, 1700000000);
    put<uint32_t>(out, t++);
    put<uint32_t>(out, static_cast<uint32_t>(f.size()));
    put<uint32_t>(out, static_cast<uint32_t>(f.size()));
    out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
  }
}

std::vector<std::string> tshark_lines(const std::string& path,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv{"tshark", "-n", "-r", path};
  argv.insert(argv.end(), args.begin(), args.end());
  // tshark's own notes (e.g. about running as root) go to stderr; keep stdout only.
  const std::string out_path = path + ".out";
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  const CommandResult r = run_command({"sh", "-c", cmd + "> '" + out_path + "' 2>/dev/null"});
  std::ifstream in(out_path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  std::remove(out_path.c_str());
  (void)r;
  return lines;
}

}  // namespace tartan::testing
