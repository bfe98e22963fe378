#include "control/host/subnet_file.h"

#include <fstream>
#include <string_view>

#include "control/host/atomic_file.h"

namespace tartan {

std::string render_subnet_file(const SubnetFile& f) {
  std::string out;
  if (f.ipv4) {
    const Ipv4Prefix& sn = f.ipv4->subnet;
    const Ipv4Prefix first_host{Ipv4Addr{sn.addr.value + 1}, sn.len};
    out += "FLANNEL_NETWORK=" + f.ipv4->network.str() + "\n" +
           "FLANNEL_SUBNET=" + first_host.str() + "\n";
  }
  if (f.ipv6) {
    // flannel's IncrementIP: the address plus one, carried across bytes.
    Ipv6Prefix first_host = f.ipv6->subnet;
    for (int i = 15; i >= 0 && ++first_host.addr.bytes[i] == 0; --i) {
    }
    out += "FLANNEL_IPV6_NETWORK=" + f.ipv6->network.str() + "\n" +
           "FLANNEL_IPV6_SUBNET=" + first_host.str() + "\n";
  }
  return out + "FLANNEL_MTU=" + std::to_string(f.mtu) + "\n" +
         "FLANNEL_IPMASQ=" + (f.ip_masq ? "true" : "false") + "\n";
}

Status write_subnet_file(const std::string& path, const SubnetFile& f) {
  if (Status s = write_file_atomically(path, render_subnet_file(f), 0644); !s.ok()) {
    return Status(s.code(), "subnet_file: " + s.message());
  }
  return {};
}

PodCidrs read_previous_subnets(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  PodCidrs out;
  const auto value = [&line](std::string_view name) -> std::optional<std::string> {
    if (line.rfind(name, 0) != 0) return std::nullopt;
    return line.substr(name.size());
  };
  while (std::getline(in, line)) {
    if (auto v = value("FLANNEL_SUBNET="); v && !out.v4) {
      if (auto p = Ipv4Prefix::parse(*v, true)) out.v4 = p->network();
    }
    if (auto v = value("FLANNEL_IPV6_SUBNET="); v && !out.v6) {
      if (auto p = Ipv6Prefix::parse(*v, true)) out.v6 = p->network();
    }
  }
  return out;
}

}  // namespace tartan
