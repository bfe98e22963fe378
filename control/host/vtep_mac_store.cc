#include "control/host/vtep_mac_store.h"

#include <fstream>
#include <random>

#include "control/host/atomic_file.h"

namespace tartan {
namespace {

std::string mac_file(const std::string& state_dir, bool ipv6) {
  return state_dir + (ipv6 ? "/vtep_mac_v6" : "/vtep_mac");
}

}  // namespace

Result<MacAddr> stable_vtep_mac(const std::string& state_dir, bool ipv6) {
  const std::string path = mac_file(state_dir, ipv6);
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line)) {
    auto mac = MacAddr::parse(line);
    if (!mac || mac->is_zero() || mac->is_multicast()) {
      return Status(
          ErrorCode::kFailedPrecondition,
          path + ": '" + line + "' is not a unicast MAC (delete the file to get a new one)");
    }
    return *mac;
  }
  std::random_device rd;
  MacAddr mac;
  for (auto& b : mac.bytes) b = static_cast<uint8_t>(rd());
  mac.bytes[0] = static_cast<uint8_t>((mac.bytes[0] & 0xfe) | 0x02);
  if (Status s = store_vtep_mac(state_dir, mac, ipv6); !s.ok()) return s;
  return mac;
}

Status store_vtep_mac(const std::string& state_dir, const MacAddr& mac, bool ipv6) {
  if (Status s = write_file_atomically(mac_file(state_dir, ipv6), mac.str() + "\n", 0644); !s.ok())
    return Status(s.code(), "node.state_dir: " + s.message());
  return {};
}

}  // namespace tartan
