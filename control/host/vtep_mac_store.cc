#include "control/host/vtep_mac_store.h"

#include <fstream>
#include <random>

#include "control/host/atomic_file.h"

namespace tartan {

Result<MacAddr> stable_vtep_mac(const std::string& state_dir) {
  const std::string path = state_dir + "/vtep_mac";
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
  if (Status s = store_vtep_mac(state_dir, mac); !s.ok()) return s;
  return mac;
}

Status store_vtep_mac(const std::string& state_dir, const MacAddr& mac) {
  if (Status s = write_file_atomically(state_dir + "/vtep_mac", mac.str() + "\n", 0644); !s.ok())
    return Status(s.code(), "node.state_dir: " + s.message());
  return {};
}

}  // namespace tartan
