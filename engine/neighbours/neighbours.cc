#include "engine/neighbours/neighbours.h"

#include <rte_ether.h>

#include <cstring>
#include <functional>

#include "engine/log.h"

namespace tartan {

std::string to_string(const NeighbourAddr& addr) {
  return std::visit([](const auto& ip) { return ip.str(); }, addr);
}

size_t NeighbourTable::AddrHash::operator()(const NeighbourAddr& a) const {
  if (const auto* v4 = std::get_if<Ipv4Addr>(&a)) return std::hash<uint32_t>()(v4->value);
  // The interface identifier half is what differs between neighbours.
  const auto& b = std::get<Ipv6Addr>(a).bytes;
  uint64_t high, low;
  std::memcpy(&high, b.data(), 8);
  std::memcpy(&low, b.data() + 8, 8);
  return std::hash<uint64_t>()(low ^ (high * 0x9e3779b97f4a7c15ULL));
}

NeighbourTable::NeighbourTable(const NeighbourParams& params, AdjacencyTable& adjacency,
                               rte_mempool* pool, Emit emit)
    : params_(params), adjacency_(adjacency), pool_(pool), emit_(std::move(emit)) {
  entries_.resize(adjacency.capacity());
  for (uint32_t i = adjacency.capacity(); i-- > 0;) free_ids_.push_back(i);
}

NeighbourTable::~NeighbourTable() {
  for (Entry& e : entries_) {
    for (const Held& h : e.held) rte_pktmbuf_free(h.m);
  }
}

uint32_t NeighbourTable::allocate(const NeighbourAddr& addr) {
  const uint32_t id = free_ids_.back();
  free_ids_.pop_back();
  Entry& e = entries_[id];
  e = Entry{};
  e.addr = addr;
  e.in_use = true;
  by_addr_[addr] = id;
  return id;
}

void NeighbourTable::free_entry(uint32_t id) {
  Entry& e = entries_[id];
  drop_held(e);
  adjacency_.invalidate(id);
  by_addr_.erase(e.addr);
  e = Entry{};
  free_ids_.push_back(id);
}

Result<uint32_t> NeighbourTable::acquire(Ipv4Addr ip, uint64_t now_ms) {
  if (!params_.our_ip) {
    return Status(ErrorCode::kFailedPrecondition,
                  "neighbour " + ip.str() + ": the underlay has no IPv4 address to ARP from");
  }
  return acquire_addr(ip, now_ms);
}

Result<uint32_t> NeighbourTable::acquire(const Ipv6Addr& ip, uint64_t now_ms) {
  if (!params_.our_ip6) {
    return Status(ErrorCode::kFailedPrecondition,
                  "neighbour " + ip.str() + ": the underlay has no IPv6 address to solicit from");
  }
  return acquire_addr(ip, now_ms);
}

Result<uint32_t> NeighbourTable::acquire_addr(const NeighbourAddr& addr, uint64_t now_ms) {
  if (auto it = by_addr_.find(addr); it != by_addr_.end()) {
    ++entries_[it->second].references;
    return it->second;
  }
  if (free_ids_.empty()) {
    return Status(
        ErrorCode::kResourceExhausted,
        "neighbour table full (" + std::to_string(entries_.size()) + " underlay neighbours)");
  }
  const uint32_t id = allocate(addr);
  entries_[id].references = 1;
  // The first request goes out on the next tick, so a static entry given
  // in the same table change resolves it without a request on the wire.
  entries_[id].next_ms = now_ms;
  return id;
}

void NeighbourTable::release(uint32_t id) {
  Entry& e = entries_[id];
  if (!e.in_use || e.references == 0) return;
  if (--e.references == 0 && !e.is_static) free_entry(id);
}

Status NeighbourTable::set_static(Ipv4Addr ip, const MacAddr& mac) {
  return set_static_addr(ip, mac);
}

Status NeighbourTable::set_static(const Ipv6Addr& ip, const MacAddr& mac) {
  return set_static_addr(ip, mac);
}

Status NeighbourTable::set_static_addr(const NeighbourAddr& addr, const MacAddr& mac) {
  if (mac.is_zero() || mac.is_multicast()) {
    return Status::invalid("neighbour " + to_string(addr) + ": MAC " + mac.str() +
                           " is not a unicast address");
  }
  uint32_t id;
  if (auto it = by_addr_.find(addr); it != by_addr_.end()) {
    id = it->second;
  } else {
    if (free_ids_.empty()) return Status(ErrorCode::kResourceExhausted, "neighbour table full");
    id = allocate(addr);
  }
  entries_[id].is_static = true;
  resolved(id, mac);
  return {};
}

Status NeighbourTable::remove_static(Ipv4Addr ip) {
  return remove_static_addr(ip);
}

Status NeighbourTable::remove_static(const Ipv6Addr& ip) {
  return remove_static_addr(ip);
}

Status NeighbourTable::remove_static_addr(const NeighbourAddr& addr) {
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end() || !entries_[it->second].is_static) {
    return Status(ErrorCode::kNotFound, "no static neighbour " + to_string(addr));
  }
  const uint32_t id = it->second;
  Entry& e = entries_[id];
  e.is_static = false;
  if (e.references == 0) {
    free_entry(id);
  } else {
    // Still used: fall back to ARP or ND, keeping the MAC until the wire
    // says otherwise.
    e.requests = 0;
    e.next_ms = 0;
  }
  return {};
}

void NeighbourTable::resolved(uint32_t id, const MacAddr& mac) {
  Entry& e = entries_[id];
  const bool changed = !e.mac || *e.mac != mac;
  e.mac = mac;
  e.requests = 0;
  e.next_ms = 0;
  if (changed) {
    // Held packets go out before the MAC is published, so they are queued
    // ahead of anything the workers send directly from now on.
    for (const Held& h : e.held) {
      std::memcpy(rte_pktmbuf_mtod(h.m, rte_ether_hdr*)->dst_addr.addr_bytes, mac.bytes.data(), 6);
      if (emit_(h.worker, h.m)) {
        ++counters_.held_released;
      } else {
        rte_pktmbuf_free(h.m);
        ++counters_.dropped_queue_full;
      }
    }
    held_total_ -= e.held.size();
    e.held.clear();
    adjacency_.publish(id, mac);
    TARTAN_LOG(DEBUG, kEngine, "neighbour %s is at %s%s", to_string(e.addr).c_str(),
               mac.str().c_str(), e.is_static ? " (static)" : "");
  }
}

void NeighbourTable::on_arp(const ArpInfo& arp, uint64_t now_ms) {
  learn(arp.sender_ip, arp.sender_mac, true, now_ms);
}

void NeighbourTable::learn(const NeighbourAddr& addr, const MacAddr& mac, bool override_mac,
                           uint64_t now_ms) {
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) return;  // not a neighbour we send to: do not learn
  Entry& e = entries_[it->second];
  if (e.is_static || mac.is_zero() || mac.is_multicast()) return;
  if (!override_mac && e.mac && *e.mac != mac) return;
  ++family_counters(addr).replies_learned;
  resolved(it->second, mac);
  e.next_ms = now_ms + uint64_t{params_.refresh_s} * 1000;
}

NeighbourFamilyCounters& NeighbourTable::family_counters(const NeighbourAddr& addr) {
  return std::holds_alternative<Ipv4Addr>(addr) ? counters_.arp : counters_.nd;
}

void NeighbourTable::on_nd(rte_mbuf* m, unsigned worker, uint64_t now_ms) {
  auto parsed = parse_nd(m);
  if (const auto* reason = std::get_if<DropReason>(&parsed)) return drop_nd(m, *reason);
  const NdInfo& nd = std::get<NdInfo>(parsed);
  if (nd.type == kIcmp6NeighbourSolicit) return on_solicit(m, nd, worker, now_ms);
  on_advert(nd, now_ms);
  rte_pktmbuf_free(m);
  ++counters_.nd_consumed;
}

void NeighbourTable::drop_nd(rte_mbuf* m, DropReason reason) {
  rte_pktmbuf_free(m);
  ++counters_.nd_drops[static_cast<size_t>(reason)];
}

void NeighbourTable::on_solicit(rte_mbuf* m, const NdInfo& ns, unsigned worker, uint64_t now_ms) {
  if (!params_.our_ip6 || ns.target != *params_.our_ip6) return drop_nd(m, DropReason::kNdNotForUs);
  // 7.2.3: the asker's address is worth keeping if we send to it.
  if (!ns.src.is_zero() && ns.link_addr) learn(ns.src, *ns.link_addr, true, now_ms);
  if (!make_nd_advert_reply(m, ns, params_.our_mac)) return drop_nd(m, DropReason::kNdMalformed);
  if (!emit_(worker, m)) {
    rte_pktmbuf_free(m);
    ++counters_.dropped_queue_full;
    return;
  }
  ++counters_.nd_answered;
}

void NeighbourTable::on_advert(const NdInfo& na, uint64_t now_ms) {
  if (params_.our_ip6 && na.target == *params_.our_ip6) {
    TARTAN_LOG(WARNING, kEngine, "%s is advertised at %s too: a duplicate of our underlay address",
               na.target.str().c_str(), na.link_addr ? na.link_addr->str().c_str() : "(no MAC)");
    return;
  }
  if (na.link_addr) return learn(na.target, *na.link_addr, na.override_flag, now_ms);
  // 7.2.5: without a target link-layer address an advertisement only
  // confirms a neighbour already known.
  auto it = by_addr_.find(na.target);
  if (it == by_addr_.end() || !na.solicited) return;
  Entry& e = entries_[it->second];
  if (e.is_static || !e.mac) return;
  ++counters_.nd.replies_learned;
  e.requests = 0;
  e.next_ms = now_ms + uint64_t{params_.refresh_s} * 1000;
}

void NeighbourTable::hold(uint32_t id, rte_mbuf* m, unsigned worker) {
  Entry& e = entries_[id];
  if (!e.in_use || e.held.size() >= params_.queue_len) {
    rte_pktmbuf_free(m);
    ++counters_.dropped_queue_full;
    return;
  }
  if (e.mac) {
    // Resolved since the worker looked: send it right away.
    std::memcpy(rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr.addr_bytes, e.mac->bytes.data(), 6);
    if (!emit_(worker, m)) {
      rte_pktmbuf_free(m);
      ++counters_.dropped_queue_full;
    }
    return;
  }
  e.held.push_back({m, worker});
  ++held_total_;
}

void NeighbourTable::drop_held(Entry& e) {
  for (const Held& h : e.held) rte_pktmbuf_free(h.m);
  counters_.dropped_unresolved += e.held.size();
  held_total_ -= e.held.size();
  e.held.clear();
}

void NeighbourTable::send_request(Entry& e, uint64_t now_ms) {
  e.next_ms = now_ms + params_.retry_ms;
  ++e.requests;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return;  // retried at next_ms
  if (build_request(e, m) && emit_(0, m)) {
    ++family_counters(e.addr).requests_sent;
  } else {
    rte_pktmbuf_free(m);
  }
}

bool NeighbourTable::build_request(const Entry& e, rte_mbuf* m) const {
  // acquire() refuses neighbours of a family we have no address of; a
  // static one that fell back to resolution had it too, or could not have
  // been used.
  if (const auto* ip = std::get_if<Ipv4Addr>(&e.addr))
    return params_.our_ip && build_arp_request(m, params_.our_mac, *params_.our_ip, *ip);
  // The first request for a neighbour whose MAC is known asks that MAC
  // (RFC 4861 7.3.3's probe); if it goes unanswered, the next asks all.
  const bool probe = e.mac && e.requests == 1;
  return params_.our_ip6 &&
         build_nd_solicit(m, params_.our_mac, *params_.our_ip6, std::get<Ipv6Addr>(e.addr),
                          probe ? e.mac : std::nullopt);
}

void NeighbourTable::tick(uint64_t now_ms) {
  for (const auto& [addr, id] : by_addr_) {
    Entry& e = entries_[id];
    if (e.is_static || now_ms < e.next_ms) continue;
    if (e.mac) {
      // Refresh a resolved neighbour; keep using its MAC meanwhile.
      send_request(e, now_ms);
      e.next_ms = now_ms + uint64_t{params_.refresh_s} * 1000;
      continue;
    }
    if (e.requests >= params_.max_retries) {
      if (!e.held.empty()) {
        TARTAN_LOG(NOTICE, kEngine, "neighbour %s does not answer %s; dropping %zu held packets",
                   to_string(addr).c_str(), std::holds_alternative<Ipv4Addr>(addr) ? "ARP" : "ND",
                   e.held.size());
      }
      drop_held(e);
      e.requests = 0;  // keep trying, at the refresh pace
      e.next_ms = now_ms + uint64_t{params_.refresh_s} * 1000;
      continue;
    }
    send_request(e, now_ms);
  }
}

void NeighbourTable::announce() {
  const auto send = [this](NeighbourFamilyCounters& c, const auto& build) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return;
    if (build(m) && emit_(0, m)) {
      ++c.announcements;
    } else {
      rte_pktmbuf_free(m);
    }
  };
  if (params_.our_ip) {
    send(counters_.arp, [this](rte_mbuf* m) {
      return build_arp_request(m, params_.our_mac, *params_.our_ip, *params_.our_ip);
    });
  }
  if (params_.our_ip6) {
    send(counters_.nd,
         [this](rte_mbuf* m) { return build_nd_announce(m, params_.our_mac, *params_.our_ip6); });
  }
}

std::optional<uint32_t> NeighbourTable::find(Ipv4Addr ip) const {
  return find_addr(ip);
}

std::optional<uint32_t> NeighbourTable::find(const Ipv6Addr& ip) const {
  return find_addr(ip);
}

std::optional<uint32_t> NeighbourTable::find_addr(const NeighbourAddr& addr) const {
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) return std::nullopt;
  return it->second;
}

Ipv4Addr NeighbourTable::ip_of(uint32_t id) const {
  const auto* ip = std::get_if<Ipv4Addr>(&entries_.at(id).addr);
  return ip != nullptr ? *ip : Ipv4Addr{};
}

bool NeighbourTable::is_static(Ipv4Addr ip) const {
  return is_static_addr(ip);
}

bool NeighbourTable::is_static(const Ipv6Addr& ip) const {
  return is_static_addr(ip);
}

bool NeighbourTable::is_static_addr(const NeighbourAddr& addr) const {
  auto it = by_addr_.find(addr);
  return it != by_addr_.end() && entries_[it->second].is_static;
}

std::vector<NeighbourView> NeighbourTable::view() const {
  std::vector<NeighbourView> out;
  for (const auto& [addr, id] : by_addr_) {
    const Entry& e = entries_[id];
    out.push_back({e.addr, e.mac, e.is_static, e.references, static_cast<uint32_t>(e.held.size()),
                   e.requests});
  }
  return out;
}

}  // namespace tartan
