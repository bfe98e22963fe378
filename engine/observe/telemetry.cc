#include "engine/observe/telemetry.h"

#include <rte_mempool.h>
#include <rte_telemetry.h>

#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/observe/stats_fields.h"

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
    for (const auto& f : port_stat_fields()) rte_tel_data_add_dict_u64(c, f.name, p.*f.field);
    rte_tel_data_add_dict_u64(c, "link_up", p.link_up);
    rte_tel_data_add_dict_container(d, p.name.c_str(), c, 0);
  }
}

void fill_drops(const StatsSnapshot& s, rte_tel_data* d) {
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    rte_tel_data_add_dict_u64(d, drop_reason_name(static_cast<DropReason>(r)), s.drops[r]);
  }
}

void fill_events(const StatsSnapshot& s, rte_tel_data* d) {
  for (const auto& f : event_stat_fields()) rte_tel_data_add_dict_u64(d, f.name, s.events.*f.field);
}

void fill_workers(const StatsSnapshot& s, rte_tel_data* d) {
  for (const WorkerStats& w : s.workers) {
    rte_tel_data* c = rte_tel_data_alloc();
    rte_tel_data_start_dict(c);
    for (const auto& f : worker_stat_fields()) rte_tel_data_add_dict_u64(c, f.name, w.*f.field);
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
  std::vector<rte_tel_data*> columns;
  for (size_t i = 0; i < peer_stat_fields().size(); ++i) {
    columns.push_back(rte_tel_data_alloc());
    rte_tel_data_start_array(columns.back(), RTE_TEL_U64_VAL);
  }
  for (const PeerStats& p : s.peers) {
    rte_tel_data_add_array_string(ip, p.address().c_str());
    for (size_t i = 0; i < columns.size(); ++i) {
      rte_tel_data_add_array_u64(columns[i], p.*peer_stat_fields()[i].field);
    }
  }
  rte_tel_data_add_dict_container(d, "public_ip", ip, 0);
  for (size_t i = 0; i < columns.size(); ++i) {
    rte_tel_data_add_dict_container(d, peer_stat_fields()[i].name, columns[i], 0);
  }
}

// The mbufs lent out of the engine's pool now: a test's leak check, and
// how close a burst came to exhausting it.
int answer_mbufs(rte_tel_data* d) {
  std::lock_guard lock(g_mu);
  if (g_engine == nullptr) return -1;
  const rte_mempool* pool = g_engine->mempool();
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "in_use", rte_mempool_in_use_count(pool));
  rte_tel_data_add_dict_u64(d, "size", pool->size);
  return 0;
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
  rte_telemetry_register_cmd(
      "/tartan/mbufs", [](const char*, const char*, rte_tel_data* d) { return answer_mbufs(d); },
      "tartan packet buffers in use, of the pool's size");
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
