#include "control/sources/etcd/etcd_allocator.h"

#include <algorithm>
#include <utility>

namespace tartan {
namespace {

constexpr size_t kCandidates = 100;  // flannel picks among the first 100 free

uint32_t last_address(const Ipv4Prefix& p) {
  return p.addr.value | ~p.mask();
}

// Leased ranges for overlap tests in log time. Ranges may nest (a /16
// lease among /24s), so each range also knows the highest last address of
// itself and every range starting before it.
class Leased {
 public:
  explicit Leased(const std::vector<LeaseInEtcd>& leases) {
    for (const LeaseInEtcd& l : leases)
      ranges_.push_back({l.subnet.addr.value, last_address(l.subnet)});
    std::sort(ranges_.begin(), ranges_.end());
    uint32_t highest = 0;
    for (auto& [first, last] : ranges_) {
      highest = std::max(highest, last);
      reach_.push_back(highest);
    }
  }
  bool overlaps(const Ipv4Prefix& p) const {
    // Among the ranges starting at or below p's last address, one overlaps
    // p exactly when the furthest-reaching of them gets to p's first.
    const auto it =
        std::upper_bound(ranges_.begin(), ranges_.end(), std::pair{last_address(p), ~uint32_t{0}});
    if (it == ranges_.begin()) return false;
    return reach_[static_cast<size_t>(it - ranges_.begin()) - 1] >= p.addr.value;
  }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;  // (first, last), sorted
  std::vector<uint32_t> reach_;
};

bool fits(const NetworkConfig& net, const Ipv4Prefix& p) {
  return p.len == net.subnet_len && net.subnet_min.value <= p.addr.value &&
         p.addr.value <= net.subnet_max.value;
}

}  // namespace

Result<SubnetChoice> choose_subnet(const NetworkConfig& net, const std::vector<LeaseInEtcd>& leases,
                                   Ipv4Addr our_ip, std::optional<Ipv4Prefix> previous,
                                   std::mt19937_64& rng) {
  SubnetChoice choice;
  const LeaseInEtcd* ours = nullptr;
  for (const LeaseInEtcd& l : leases) {
    if (l.public_ip != our_ip) continue;
    if (ours == nullptr && fits(net, l.subnet))
      ours = &l;
    else
      choice.stale_keys.push_back(l.key);
  }
  if (ours != nullptr) {
    choice.kind = SubnetChoice::Kind::kOurs;
    choice.subnet = ours->subnet;
    choice.existing_key = ours->key;
    return choice;
  }
  // Our stale keys are about to go: they do not block a subnet.
  std::vector<LeaseInEtcd> others;
  for (const LeaseInEtcd& l : leases) {
    if (l.public_ip != our_ip) others.push_back(l);
  }
  const Leased leased(others);
  if (previous && fits(net, *previous) && !leased.overlaps(*previous)) {
    choice.kind = SubnetChoice::Kind::kPrevious;
    choice.subnet = *previous;
    return choice;
  }
  const uint64_t step = uint64_t{1} << (32 - net.subnet_len);
  std::vector<Ipv4Prefix> free;
  for (uint64_t a = net.subnet_min.value; a <= net.subnet_max.value && free.size() < kCandidates;
       a += step) {
    const Ipv4Prefix p{Ipv4Addr{static_cast<uint32_t>(a)}, net.subnet_len};
    if (!leased.overlaps(p)) free.push_back(p);
  }
  if (free.empty()) {
    const uint64_t total = (uint64_t{net.subnet_max.value} - net.subnet_min.value) / step + 1;
    return Status(ErrorCode::kResourceExhausted,
                  "out of subnets: all " + std::to_string(total) + " /" +
                      std::to_string(net.subnet_len) + " subnets from SubnetMin " +
                      net.subnet_min.str() + " to SubnetMax " + net.subnet_max.str() +
                      " of Network " + net.network.str() + " are leased");
  }
  choice.kind = SubnetChoice::Kind::kRandom;
  choice.subnet = free[std::uniform_int_distribution<size_t>(0, free.size() - 1)(rng)];
  return choice;
}

}  // namespace tartan
