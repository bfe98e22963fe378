// flannel's node annotations and backend-data JSON
// (control/flannel_annotations read_flannel_node), the annotation prefix
// rules (annotation_keys), and the same JSON as etcd carries it (a lease's
// value, decode_lease_attrs; <prefix>/config, parse_netconf_json). The input is split at NUL bytes
// into: the prefix, then the node's name, podCIDRs (comma-separated), and the values of
// backend-type, backend-data, public-ip, public-ip-overwrite and kube-subnet-manager; missing
// fields are absent annotations. Whatever the input: no crash and no exception escapes, errors name
// the field, and what is read back is well-formed.
#include <sstream>
#include <string>
#include <vector>

#include "control/cluster/flannel_annotations.h"
#include "control/config/netconf_json.h"
#include "control/sources/etcd/etcd_lease_json.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::vector<std::string> split(const uint8_t* data, size_t size, char at) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == static_cast<uint8_t>(at)) {
      out.emplace_back();
    } else {
      out.back().push_back(static_cast<char>(data[i]));
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tartan;
  const std::vector<std::string> f = split(data, size, '\0');
  const auto field = [&](size_t i) -> const std::string* { return i < f.size() ? &f[i] : nullptr; };

  auto keys = annotation_keys(*field(0));
  if (!keys) {
    FUZZ_CHECK(keys.status().message().rfind("annotation prefix '", 0) == 0,
               "prefix error does not name the prefix: " + keys.status().message());
    keys = annotation_keys("flannel.alpha.coreos.com");
  }
  NodeSpec node;
  if (auto* name = field(1)) node.name = *name;
  if (auto* cidrs = field(2)) {
    std::stringstream s(*cidrs);
    for (std::string c; std::getline(s, c, ',');) node.pod_cidrs.push_back(c);
  }
  const std::string* keys_in_order[] = {&keys->backend_type, &keys->backend_data, &keys->public_ip,
                                        &keys->public_ip_overwrite, &keys->kube_subnet_manager};
  for (size_t i = 0; i < std::size(keys_in_order); ++i) {
    if (auto* v = field(3 + i)) node.annotations[*keys_in_order[i]] = *v;
  }

  if (auto* json = field(4)) {
    (void)decode_lease_attrs(*json);
    (void)parse_netconf_json(*json);
  }
  auto info = read_flannel_node(node, *keys);
  if (!info) {
    const std::string& m = info.status().message();
    FUZZ_CHECK(m.rfind("annotations[", 0) == 0 || m.rfind("pod_cidrs", 0) == 0,
               "an error that names no field: " + m);
    return 0;
  }
  if (info->vtep_mac) {
    FUZZ_CHECK(MacAddr::parse(info->vtep_mac->str()) == info->vtep_mac,
               "VtepMAC does not survive printing");
  }
  if (info->public_ip) {
    FUZZ_CHECK(Ipv4Addr::parse(info->public_ip->str()) == info->public_ip,
               "public IP does not survive printing");
  }
  if (info->pod_cidr) {
    FUZZ_CHECK(info->pod_cidr->len <= 32, "podCIDR length " + std::to_string(info->pod_cidr->len));
  }
  if (info->vni) FUZZ_CHECK(*info->vni <= 0xffffff, "VNI " + std::to_string(*info->vni));
  return 0;
}
