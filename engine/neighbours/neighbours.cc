#include "engine/neighbours/neighbours.h"

#include <rte_ether.h>

#include <cstring>

#include "engine/log.h"

namespace tartan {

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

uint32_t NeighbourTable::allocate(Ipv4Addr ip) {
  const uint32_t id = free_ids_.back();
  free_ids_.pop_back();
  Entry& e = entries_[id];
  e = Entry{};
  e.ip = ip;
  e.in_use = true;
  by_ip_[ip.value] = id;
  return id;
}

void NeighbourTable::free_entry(uint32_t id) {
  Entry& e = entries_[id];
  drop_held(e);
  adjacency_.invalidate(id);
  by_ip_.erase(e.ip.value);
  e = Entry{};
  free_ids_.push_back(id);
}

Result<uint32_t> NeighbourTable::acquire(Ipv4Addr ip, uint64_t now_ms) {
  if (auto it = by_ip_.find(ip.value); it != by_ip_.end()) {
    ++entries_[it->second].references;
    return it->second;
  }
  if (free_ids_.empty()) {
    return Status(
        ErrorCode::kResourceExhausted,
        "neighbour table full (" + std::to_string(entries_.size()) + " underlay neighbours)");
  }
  const uint32_t id = allocate(ip);
  entries_[id].references = 1;
  // The first request goes out on the next tick, so a static entry given
  // in the same table change resolves it without an ARP on the wire.
  entries_[id].next_ms = now_ms;
  return id;
}

void NeighbourTable::release(uint32_t id) {
  Entry& e = entries_[id];
  if (!e.in_use || e.references == 0) return;
  if (--e.references == 0 && !e.is_static) free_entry(id);
}

Status NeighbourTable::set_static(Ipv4Addr ip, const MacAddr& mac) {
  if (mac.is_zero() || mac.is_multicast()) {
    return Status::invalid("neighbour " + ip.str() + ": MAC " + mac.str() +
                           " is not a unicast address");
  }
  uint32_t id;
  if (auto it = by_ip_.find(ip.value); it != by_ip_.end()) {
    id = it->second;
  } else {
    if (free_ids_.empty()) return Status(ErrorCode::kResourceExhausted, "neighbour table full");
    id = allocate(ip);
  }
  entries_[id].is_static = true;
  resolved(id, mac);
  return {};
}

Status NeighbourTable::remove_static(Ipv4Addr ip) {
  auto it = by_ip_.find(ip.value);
  if (it == by_ip_.end() || !entries_[it->second].is_static) {
    return Status(ErrorCode::kNotFound, "no static neighbour " + ip.str());
  }
  const uint32_t id = it->second;
  Entry& e = entries_[id];
  e.is_static = false;
  if (e.references == 0) {
    free_entry(id);
  } else {
    // Still used: fall back to ARP, keeping the MAC until ARP says otherwise.
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
    TARTAN_LOG(DEBUG, kEngine, "neighbour %s is at %s%s", e.ip.str().c_str(), mac.str().c_str(),
               e.is_static ? " (static)" : "");
  }
}

void NeighbourTable::on_arp(const ArpInfo& arp, uint64_t now_ms) {
  auto it = by_ip_.find(arp.sender_ip.value);
  if (it == by_ip_.end()) return;  // not a neighbour we send to: do not learn
  Entry& e = entries_[it->second];
  if (e.is_static || arp.sender_mac.is_zero() || arp.sender_mac.is_multicast()) return;
  ++counters_.replies_learned;
  resolved(it->second, arp.sender_mac);
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
  if (build_arp_request(m, params_.our_mac, params_.our_ip, e.ip) && emit_(0, m)) {
    ++counters_.requests_sent;
  } else {
    rte_pktmbuf_free(m);
  }
}

void NeighbourTable::tick(uint64_t now_ms) {
  for (const auto& [ip, id] : by_ip_) {
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
        TARTAN_LOG(NOTICE, kEngine, "neighbour %s does not answer ARP; dropping %zu held packets",
                   e.ip.str().c_str(), e.held.size());
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
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return;
  if (build_arp_request(m, params_.our_mac, params_.our_ip, params_.our_ip) && emit_(0, m)) {
    ++counters_.announcements;
  } else {
    rte_pktmbuf_free(m);
  }
}

std::optional<uint32_t> NeighbourTable::find(Ipv4Addr ip) const {
  auto it = by_ip_.find(ip.value);
  if (it == by_ip_.end()) return std::nullopt;
  return it->second;
}

bool NeighbourTable::is_static(Ipv4Addr ip) const {
  auto it = by_ip_.find(ip.value);
  return it != by_ip_.end() && entries_[it->second].is_static;
}

std::vector<NeighbourView> NeighbourTable::view() const {
  std::vector<NeighbourView> out;
  for (const auto& [ip, id] : by_ip_) {
    const Entry& e = entries_[id];
    out.push_back(
        {e.ip, e.mac, e.is_static, e.references, static_cast<uint32_t>(e.held.size()), e.requests});
  }
  return out;
}

}  // namespace tartan
