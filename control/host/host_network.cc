#include "control/host/host_network.h"

#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include <cstring>
#include <vector>

#include "engine/log.h"

namespace tartan {
namespace {

// Owns a libnl object; libnl counts references, put drops ours.
template <class T, void (*Put)(T*)>
struct NlPtr {
  T* p = nullptr;
  NlPtr() = default;
  explicit NlPtr(T* q) : p(q) {}
  ~NlPtr() {
    if (p) Put(p);
  }
  NlPtr(NlPtr&& other) noexcept : p(other.p) { other.p = nullptr; }
  NlPtr(const NlPtr&) = delete;
  NlPtr& operator=(const NlPtr&) = delete;
  T* get() const { return p; }
};

void put_addr(nl_addr* a) {
  nl_addr_put(a);
}
void put_link(rtnl_link* l) {
  rtnl_link_put(l);
}
void put_route(rtnl_route* r) {
  rtnl_route_put(r);
}
void put_neigh(rtnl_neigh* n) {
  rtnl_neigh_put(n);
}
void put_raddr(rtnl_addr* a) {
  rtnl_addr_put(a);
}
void put_cache(nl_cache* c) {
  nl_cache_free(c);
}

using Addr = NlPtr<nl_addr, put_addr>;
using Link = NlPtr<rtnl_link, put_link>;
using Route = NlPtr<rtnl_route, put_route>;
using Neigh = NlPtr<rtnl_neigh, put_neigh>;
using RAddr = NlPtr<rtnl_addr, put_raddr>;
using Cache = NlPtr<nl_cache, put_cache>;

// A prefix (or, with its full length, a host address) in libnl's terms.
nl_addr* nl_prefix(const Ipv4Prefix& p) {
  const uint32_t be = p.addr.be();
  nl_addr* addr = nl_addr_build(AF_INET, &be, 4);
  nl_addr_set_prefixlen(addr, p.len);
  return addr;
}
nl_addr* nl_prefix(const Ipv6Prefix& p) {
  nl_addr* addr = nl_addr_build(AF_INET6, p.addr.bytes.data(), 16);
  nl_addr_set_prefixlen(addr, p.len);
  return addr;
}
// The podCIDR's network address alone: the tap's address, and the onlink
// gateway and neighbour of a remote podCIDR, as flanneld uses them.
Ipv4Prefix network_host(const Ipv4Prefix& p) {
  return {p.addr, 32};
}
Ipv6Prefix network_host(const Ipv6Prefix& p) {
  return {p.addr, 128};
}
int family_of(const Ipv4Prefix&) {
  return AF_INET;
}
int family_of(const Ipv6Prefix&) {
  return AF_INET6;
}
// A route's destination back as a prefix of the cache's family.
bool from_nl(const nl_addr* a, Ipv4Prefix& out) {
  if (nl_addr_get_len(a) != 4) return false;
  uint32_t be = 0;
  std::memcpy(&be, nl_addr_get_binary_addr(a), 4);
  out = {Ipv4Addr::from_be(be), static_cast<uint8_t>(nl_addr_get_prefixlen(a))};
  return true;
}
bool from_nl(const nl_addr* a, Ipv6Prefix& out) {
  if (nl_addr_get_len(a) != 16) return false;
  std::memcpy(out.addr.bytes.data(), nl_addr_get_binary_addr(a), 16);
  out.len = static_cast<uint8_t>(nl_addr_get_prefixlen(a));
  return true;
}

Status failed(const std::string& what, int err) {
  return Status(ErrorCode::kFailedPrecondition, what + ": " + nl_geterror(err));
}

}  // namespace

Result<std::unique_ptr<HostNetwork>> HostNetwork::open(const std::string& ifname,
                                                       const MacAddr& mac) {
  std::unique_ptr<HostNetwork> h(new HostNetwork());
  h->ifname_ = ifname;
  h->mac_ = mac;
  h->sock_ = nl_socket_alloc();
  if (h->sock_ == nullptr)
    return Status(ErrorCode::kResourceExhausted, "cannot allocate a netlink socket");
  if (int err = nl_connect(h->sock_, NETLINK_ROUTE); err < 0) return failed("netlink", err);
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(h->sock_, 0, ifname.c_str(), &raw); err < 0) {
    return failed("host interface '" + ifname + "'", err);
  }
  Link link(raw);
  h->ifindex_ = rtnl_link_get_ifindex(link.get());
  return h;
}

HostNetwork::~HostNetwork() {
  const auto programmed_v4 = v4_.routes;
  for (const auto& [prefix, mac] : programmed_v4) (void)delete_route(prefix);
  const auto programmed_v6 = v6_.routes;
  for (const auto& [prefix, mac] : programmed_v6) (void)delete_route(prefix);
  nl_socket_free(sock_);
}

template <>
HostNetwork::Programmed<Ipv4Prefix>& HostNetwork::programmed() {
  return v4_;
}
template <>
HostNetwork::Programmed<Ipv6Prefix>& HostNetwork::programmed() {
  return v6_;
}

Status HostNetwork::set_local(const Ipv4Prefix& pod_cidr, uint16_t mtu) {
  std::lock_guard lock(mu_);
  return set_local_address(pod_cidr, mtu);
}
Status HostNetwork::set_local(const Ipv6Prefix& pod_cidr, uint16_t mtu) {
  std::lock_guard lock(mu_);
  return set_local_address(pod_cidr, mtu);
}

template <class Prefix>
Status HostNetwork::set_local_address(const Prefix& pod_cidr, uint16_t mtu) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_, ifindex_, nullptr, &raw); err < 0)
    return failed(ifname_, err);
  Link orig(raw);
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  rtnl_link_set_mtu(change.get(), mtu);
  if (int err = rtnl_link_change(sock_, orig.get(), change.get(), 0); err < 0) {
    return failed("bringing " + ifname_ + " up with MTU " + std::to_string(mtu), err);
  }
  const auto address = [&](const Prefix& p) {
    RAddr a(rtnl_addr_alloc());
    rtnl_addr_set_ifindex(a.get(), ifindex_);
    Addr local(nl_prefix(network_host(p)));
    rtnl_addr_set_local(a.get(), local.get());
    return a;
  };
  std::optional<Prefix>& local = programmed<Prefix>().local;
  if (local && *local != pod_cidr) {
    RAddr old = address(*local);
    rtnl_addr_delete(sock_, old.get(), 0);
  }
  RAddr a = address(pod_cidr);
  if (int err = rtnl_addr_add(sock_, a.get(), NLM_F_REPLACE); err < 0 && err != -NLE_EXIST) {
    return failed("address " + network_host(pod_cidr).str() + " on " + ifname_, err);
  }
  local = pod_cidr;
  mtu_ = mtu;
  return {};
}

int HostNetwork::ifindex() const {
  std::lock_guard lock(mu_);
  return ifindex_;
}

Status HostNetwork::reattach() {
  Programmed<Ipv4Prefix> v4;
  Programmed<Ipv6Prefix> v6;
  uint16_t mtu = 0;
  {
    std::lock_guard lock(mu_);
    rtnl_link* raw = nullptr;
    if (int err = rtnl_link_get_kernel(sock_, 0, ifname_.c_str(), &raw); err < 0) {
      return failed("host interface '" + ifname_ + "'", err);
    }
    Link link(raw);
    ifindex_ = rtnl_link_get_ifindex(link.get());
    v4 = v4_;
    v6 = v6_;
    mtu = mtu_;
  }
  if (Status s = reprogram(v4, mtu); !s.ok()) return s;
  return reprogram(v6, mtu);
}

template <class Prefix>
Status HostNetwork::reprogram(const Programmed<Prefix>& saved, uint16_t mtu) {
  if (saved.local) {
    if (Status s = set_local(*saved.local, mtu); !s.ok()) return s;
  }
  for (const auto& [prefix, mac] : saved.routes) {
    if (Status s = add_route(prefix, mac); !s.ok()) return s;
  }
  return {};
}
Result<std::string> HostNetwork::restore_link() {
  std::lock_guard lock(mu_);
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_, ifindex_, nullptr, &raw); err < 0)
    return failed(ifname_, err);
  Link now(raw);
  Link change(rtnl_link_alloc());
  std::string restored;
  const unsigned mtu = rtnl_link_get_mtu(now.get());
  if (mtu_ != 0 && mtu != mtu_) {
    rtnl_link_set_mtu(change.get(), mtu_);
    restored =
        "MTU " + std::to_string(mtu) + " set from outside, put back to " + std::to_string(mtu_);
  }
  const nl_addr* lladdr = rtnl_link_get_addr(now.get());
  if (lladdr == nullptr || nl_addr_get_len(lladdr) != 6 ||
      std::memcmp(nl_addr_get_binary_addr(lladdr), mac_.bytes.data(), 6) != 0) {
    Addr ours(nl_addr_build(AF_LLC, mac_.bytes.data(), 6));
    rtnl_link_set_addr(change.get(), ours.get());
    char was[32] = "none";
    if (lladdr != nullptr) nl_addr2str(lladdr, was, sizeof was);
    restored += (restored.empty() ? "" : "; ") + std::string("MAC ") + was +
                " set from outside, put back to " + mac_.str();
  }
  if (restored.empty()) return restored;
  if (int err = rtnl_link_change(sock_, now.get(), change.get(), 0); err < 0) {
    return failed("putting back " + ifname_ + "'s " + restored, err);
  }
  return restored;
}

Status HostNetwork::add_route(const Ipv4Prefix& pod_cidr, const MacAddr& next_hop_mac) {
  std::lock_guard lock(mu_);
  return add_route_locked(pod_cidr, next_hop_mac);
}
Status HostNetwork::add_route(const Ipv6Prefix& pod_cidr, const MacAddr& next_hop_mac) {
  std::lock_guard lock(mu_);
  return add_route_locked(pod_cidr, next_hop_mac);
}

template <class Prefix>
Status HostNetwork::add_route_locked(const Prefix& pod_cidr, const MacAddr& next_hop_mac) {
  programmed<Prefix>().routes[pod_cidr] = next_hop_mac;
  const Prefix gateway_host = network_host(pod_cidr);
  // The neighbour first: the kernel would otherwise resolve the gateway.
  Neigh n(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(n.get(), ifindex_);
  rtnl_neigh_set_family(n.get(), family_of(pod_cidr));
  Addr dst(nl_prefix(gateway_host));
  rtnl_neigh_set_dst(n.get(), dst.get());
  Addr ll(nl_addr_build(AF_LLC, next_hop_mac.bytes.data(), 6));
  rtnl_neigh_set_lladdr(n.get(), ll.get());
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  if (int err = rtnl_neigh_add(sock_, n.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0) {
    return failed("neighbour " + gateway_host.addr.str() + " on " + ifname_, err);
  }
  Route r(rtnl_route_alloc());
  rtnl_route_set_family(r.get(), family_of(pod_cidr));
  Addr prefix(nl_prefix(pod_cidr));
  rtnl_route_set_dst(r.get(), prefix.get());
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(r.get(), kTartanRouteProtocol);
  rtnl_route_set_scope(r.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(r.get(), RTN_UNICAST);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex_);
  Addr gateway(nl_prefix(gateway_host));
  rtnl_route_nh_set_gateway(nh, gateway.get());
  rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
  rtnl_route_add_nexthop(r.get(), nh);  // the route owns nh now
  if (int err = rtnl_route_add(sock_, r.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0) {
    return failed("route " + pod_cidr.str() + " via " + gateway_host.addr.str() + " dev " + ifname_,
                  err);
  }
  return {};
}

Status HostNetwork::remove_route(const Ipv4Prefix& pod_cidr) {
  std::lock_guard lock(mu_);
  return delete_route(pod_cidr);
}
Status HostNetwork::remove_route(const Ipv6Prefix& pod_cidr) {
  std::lock_guard lock(mu_);
  return delete_route(pod_cidr);
}

template <class Prefix>
Status HostNetwork::delete_route(const Prefix& pod_cidr) {
  programmed<Prefix>().routes.erase(pod_cidr);
  Route r(rtnl_route_alloc());
  rtnl_route_set_family(r.get(), family_of(pod_cidr));
  Addr prefix(nl_prefix(pod_cidr));
  rtnl_route_set_dst(r.get(), prefix.get());
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(r.get(), kTartanRouteProtocol);
  // Any scope: left unset, libnl guesses "link" for a route without a next
  // hop, the kernel finds no such route, and the delete silently does nothing.
  rtnl_route_set_scope(r.get(), RT_SCOPE_NOWHERE);
  const int route_err = rtnl_route_delete(sock_, r.get(), 0);
  Neigh n(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(n.get(), ifindex_);
  rtnl_neigh_set_family(n.get(), family_of(pod_cidr));
  Addr dst(nl_prefix(network_host(pod_cidr)));
  rtnl_neigh_set_dst(n.get(), dst.get());
  rtnl_neigh_delete(sock_, n.get(), 0);
  // Gone already (the tap went away, or someone removed it) is fine.
  if (route_err < 0 && route_err != -NLE_OBJ_NOTFOUND && route_err != -NLE_NODEV) {
    return failed("removing route " + pod_cidr.str() + " from " + ifname_, route_err);
  }
  return {};
}

Status HostNetwork::reconcile(const std::map<Ipv4Prefix, MacAddr>& wanted,
                              const std::map<Ipv6Prefix, MacAddr>& wanted6) {
  if (Status s = reconcile_family(wanted); !s.ok()) return s;
  return reconcile_family(wanted6);
}

template <class Prefix>
Status HostNetwork::reconcile_family(const std::map<Prefix, MacAddr>& wanted) {
  std::vector<Prefix> stale;
  {
    std::lock_guard lock(mu_);
    nl_cache* raw = nullptr;
    if (int err = rtnl_route_alloc_cache(sock_, family_of(Prefix{}), 0, &raw); err < 0)
      return failed("listing routes", err);
    Cache cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
      auto* r = reinterpret_cast<rtnl_route*>(o);
      if (rtnl_route_get_protocol(r) != kTartanRouteProtocol || rtnl_route_get_nnexthops(r) != 1)
        continue;
      if (rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, 0)) != ifindex_) continue;
      Prefix p;
      if (!from_nl(rtnl_route_get_dst(r), p)) continue;
      if (!wanted.count(p)) stale.push_back(p);
    }
    for (const Prefix& p : stale) {
      if (Status s = delete_route(p); !s.ok()) return s;
    }
  }
  if (!stale.empty()) {
    TARTAN_LOG(NOTICE, kControl, "removed %zu stale host route(s) on %s left by an earlier run",
               stale.size(), ifname_.c_str());
  }
  for (const auto& [prefix, mac] : wanted) {
    if (Status s = add_route(prefix, mac); !s.ok()) return s;
  }
  return {};
}

}  // namespace tartan
