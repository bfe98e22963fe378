#include "engine/observe/telemetry.h"

#include <rte_telemetry.h>

#include <mutex>
#include <string>

#include "engine/engine.h"

namespace tartan {
namespace {

std::mutex g_mu;
Engine* g_engine = nullptr;

using Fill = void (*)(const StatsSnapshot&, rte_tel_data*);

int answer(rte_tel_data* d, Fill fill) {
  std::lock_guard lock(g_mu);
  if (g_engine == nullptr) return -1;
  rte_tel_data_start_dict(d);
  fill(g_engine->stats(), d);
  return 0;
}

void fill_ports(const StatsSnapshot& s, rte_tel_data* d) {
  for (const PortStats& p : s.ports) {
    rte_tel_data* c = rte_tel_data_alloc();
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_string(c, "role", p.role.c_str());
    rte_tel_data_add_dict_u64(c, "rx_packets", p.rx_packets);
    rte_tel_data_add_dict_u64(c, "rx_bytes", p.rx_bytes);
    rte_tel_data_add_dict_u64(c, "tx_packets", p.tx_packets);
    rte_tel_data_add_dict_u64(c, "tx_bytes", p.tx_bytes);
    rte_tel_data_add_dict_u64(c, "hw_rx_missed", p.hw_rx_missed);
    rte_tel_data_add_dict_u64(c, "link_up", p.link_up);
    rte_tel_data_add_dict_u64(c, "link_downs", p.link_downs);
    rte_tel_data_add_dict_container(d, p.name.c_str(), c, 0);
  }
}

void fill_drops(const StatsSnapshot& s, rte_tel_data* d) {
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    rte_tel_data_add_dict_u64(d, drop_reason_name(static_cast<DropReason>(r)), s.drops[r]);
  }
}

void fill_events(const StatsSnapshot& s, rte_tel_data* d) {
  rte_tel_data_add_dict_u64(d, "arp_replies", s.events.arp_replies);
  rte_tel_data_add_dict_u64(d, "arp_requests_sent", s.events.arp_requests_sent);
  rte_tel_data_add_dict_u64(d, "arp_learned", s.events.arp_learned);
  rte_tel_data_add_dict_u64(d, "arp_wait", s.events.arp_wait);
  rte_tel_data_add_dict_u64(d, "arp_released", s.events.arp_released);
  rte_tel_data_add_dict_u64(d, "arp_held_now", s.events.arp_held_now);
  rte_tel_data_add_dict_u64(d, "icmp_errors", s.events.icmp_errors);
  rte_tel_data_add_dict_u64(d, "to_exception", s.events.to_exception);
  rte_tel_data_add_dict_u64(d, "to_slow_path", s.events.to_slow_path);
  rte_tel_data_add_dict_u64(d, "decap_offloaded", s.events.decap_offloaded);
  rte_tel_data_add_dict_u64(d, "reassembled", s.events.reassembled);
  rte_tel_data_add_dict_u64(d, "fragments_reassembled", s.events.fragments_reassembled);
  rte_tel_data_add_dict_u64(d, "gso_packets", s.events.gso_packets);
  rte_tel_data_add_dict_u64(d, "gso_segments", s.events.gso_segments);
  rte_tel_data_add_dict_u64(d, "gro_merged", s.events.gro_merged);
  rte_tel_data_add_dict_u64(d, "gro_segments", s.events.gro_segments);
  rte_tel_data_add_dict_u64(d, "fragments_held_now", s.events.fragments_held_now);
}

void fill_workers(const StatsSnapshot& s, rte_tel_data* d) {
  for (const WorkerStats& w : s.workers) {
    rte_tel_data* c = rte_tel_data_alloc();
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_u64(c, "loops", w.loops);
    rte_tel_data_add_dict_u64(c, "busy_loops", w.busy_loops);
    rte_tel_data_add_dict_u64(c, "packets", w.processed);
    rte_tel_data_add_dict_u64(c, "cycles_per_packet",
                              w.processed ? w.busy_cycles / w.processed : 0);
    rte_tel_data_add_dict_container(d, ("lcore" + std::to_string(w.lcore)).c_str(), c, 0);
  }
}

// Telemetry keys allow no dots and arrays hold only plain values, so peers
// come column by column: entry i of every array is the same peer.
void fill_peers(const StatsSnapshot& s, rte_tel_data* d) {
  rte_tel_data* ip = rte_tel_data_alloc();
  rte_tel_data_start_array(ip, RTE_TEL_STRING_VAL);
  struct Column {
    const char* name;
    uint64_t PeerStats::*field;
    rte_tel_data* data;
  } columns[] = {{"encap_packets", &PeerStats::encap_packets, rte_tel_data_alloc()},
                 {"encap_bytes", &PeerStats::encap_bytes, rte_tel_data_alloc()},
                 {"decap_packets", &PeerStats::decap_packets, rte_tel_data_alloc()},
                 {"decap_bytes", &PeerStats::decap_bytes, rte_tel_data_alloc()}};
  for (Column& c : columns) rte_tel_data_start_array(c.data, RTE_TEL_U64_VAL);
  for (const PeerStats& p : s.peers) {
    rte_tel_data_add_array_string(ip, p.public_ip.str().c_str());
    for (Column& c : columns) rte_tel_data_add_array_u64(c.data, p.*c.field);
  }
  rte_tel_data_add_dict_container(d, "public_ip", ip, 0);
  for (Column& c : columns) rte_tel_data_add_dict_container(d, c.name, c.data, 0);
}

void register_commands() {
  rte_telemetry_register_cmd(
      "/tartan/ports",
      [](const char*, const char*, rte_tel_data* d) { return answer(d, fill_ports); },
      "tartan per-port packet and byte counters");
  rte_telemetry_register_cmd(
      "/tartan/drops",
      [](const char*, const char*, rte_tel_data* d) { return answer(d, fill_drops); },
      "tartan packets dropped, per reason");
  rte_telemetry_register_cmd(
      "/tartan/events",
      [](const char*, const char*, rte_tel_data* d) { return answer(d, fill_events); },
      "tartan ARP, ICMP, exception-path and reassembly counters");
  rte_telemetry_register_cmd(
      "/tartan/workers",
      [](const char*, const char*, rte_tel_data* d) { return answer(d, fill_workers); },
      "tartan per-worker loop counters and cycles per packet");
  rte_telemetry_register_cmd(
      "/tartan/peers",
      [](const char*, const char*, rte_tel_data* d) { return answer(d, fill_peers); },
      "tartan per remote node encap/decap counters");
}

}  // namespace

void register_telemetry(Engine* engine) {
  static std::once_flag once;
  std::call_once(once, register_commands);
  std::lock_guard lock(g_mu);
  g_engine = engine;
}

void unregister_telemetry(Engine* engine) {
  std::lock_guard lock(g_mu);
  if (g_engine == engine) g_engine = nullptr;
}

}  // namespace tartan
