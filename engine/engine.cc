#include "engine/engine.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>

#include "engine/log.h"
#include "engine/observe/telemetry.h"
#include "engine/unmap_barrier.h"
#include "engine/worker_barrier.h"

namespace tartan {
namespace {

constexpr unsigned kRingSize = 4096;
// How often the ports' links are looked at: a peer that comes back is
// noticed within this, and a memif peer takes longer to start.
constexpr uint64_t kLinkCheckMs = 10;

int launch_worker(void* arg) {
  auto* ctx = static_cast<std::pair<Worker*, std::atomic<bool>*>*>(arg);
  TARTAN_LOG(INFO, kEngine, "worker %u polling on lcore %u", ctx->first->index(), rte_lcore_id());
  ctx->first->run(*ctx->second);
  delete ctx;
  return 0;
}

// A random locally administered unicast MAC, as flannel makes VtepMACs.
MacAddr random_vtep_mac() {
  std::random_device rd;
  MacAddr m;
  for (auto& b : m.bytes) b = static_cast<uint8_t>(rd());
  m.bytes[0] = static_cast<uint8_t>((m.bytes[0] & 0xfe) | 0x02);
  return m;
}

rte_ether_addr to_ether(const MacAddr& m) {
  rte_ether_addr a;
  std::memcpy(a.addr_bytes, m.bytes.data(), 6);
  return a;
}

Status check_roles(const EngineConfig& config) {
  int underlays = 0, overlays = 0, exceptions = 0;
  for (const PortConfig& p : config.ports) {
    underlays += p.role == PortRole::kUnderlay;
    overlays += p.role == PortRole::kOverlay;
    exceptions += p.role == PortRole::kException;
  }
  if (underlays != 1) return Status::invalid("ports: exactly one underlay port is needed");
  if (overlays == 0) return Status::invalid("ports.overlay: at least one overlay port is needed");
  if (exceptions > 1) return Status::invalid("ports.exception: at most one exception port");
  return {};
}

// The public IPs `routes` make tunnel senders (IPv4 or IPv6 routes).
template <class Spec>
auto tunnel_senders(const ForwardingTables& tables, const std::vector<Spec>& routes) {
  std::vector<decltype(Spec::public_ip)> out;
  // A cross-family route is wireguard's, which has no flow rules.
  for (const Spec& r : routes) {
    if (tables.is_tunnel(r) && !r.cross_ip) out.push_back(r.public_ip);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config) {
  std::unique_ptr<Engine> engine(new Engine(config));
  if (Status s = check_roles(config); !s.ok()) return s;
  const auto num_workers = static_cast<uint16_t>(config.workers.lcores.size());
  if (num_workers == 0)
    return Status::invalid("workers.lcores: at least one worker lcore is needed");
  if (config.workers.burst_size == 0 || config.workers.burst_size > kMaxBurst) {
    return Status::invalid("workers.burst_size: must be 1.." + std::to_string(kMaxBurst));
  }
  for (unsigned lcore : config.workers.lcores) {
    if (!rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore()) {
      return Status::invalid("workers.lcores: lcore " + std::to_string(lcore) +
                             " is not an enabled worker lcore of this EAL");
    }
  }

  // Mempools are per NUMA socket; vdevs have no socket, so the pool lives on
  // the main lcore's socket, which is where every worker of a 1-socket box is.
  static std::atomic<unsigned> pools{0};
  const std::string pool_name = "tartan_mbufs_" + std::to_string(pools++);
  engine->pool_ = rte_pktmbuf_pool_create(
      pool_name.c_str(), config.workers.mempool_size, config.workers.mempool_cache, 0,
      RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (engine->pool_ == nullptr) {
    return Status(ErrorCode::kResourceExhausted, "cannot create mempool of " +
                                                     std::to_string(config.workers.mempool_size) +
                                                     " mbufs: " + rte_strerror(rte_errno));
  }
  // Segments of GSO packets from a vnet tap reference their payload
  // (rte_gso's indirect mbufs, no data room): one per segment in flight.
  engine->indirect_pool_ = rte_pktmbuf_pool_create(
      ("tartan_indirect_" + std::to_string(pools - 1)).c_str(), config.workers.mempool_size / 2,
      config.workers.mempool_cache, 0, 0, static_cast<int>(rte_socket_id()));
  if (engine->indirect_pool_ == nullptr) {
    return Status(ErrorCode::kResourceExhausted,
                  std::string("cannot create the indirect mbuf pool: ") + rte_strerror(rte_errno));
  }
  for (const PortConfig& pc : config.ports) {
    auto port = Port::open(pc, num_workers, num_workers, config.workers, engine->pool_);
    if (!port) return port.status();
    if (pc.role == PortRole::kUnderlay) engine->underlay_index_ = engine->ports_.size();
    engine->ports_.push_back(std::move(port).value());
  }
  engine->links_.resize(engine->ports_.size());
  engine->vtep_mac_ =
      config.dataplane.vtep_mac.is_zero() ? random_vtep_mac() : config.dataplane.vtep_mac;
  // flannel-v6 is its own device with its own VtepMAC (backend-v6-data).
  engine->vtep_mac_v6_ =
      config.dataplane.vtep_mac_v6.is_zero() ? random_vtep_mac() : config.dataplane.vtep_mac_v6;

  for (uint16_t w = 0; w < num_workers; ++w) {
    const std::string suffix = std::to_string(pools - 1) + "_" + std::to_string(w);
    engine->to_control_.push_back(rte_ring_create(("tartan_ctl_" + suffix).c_str(), kRingSize,
                                                  static_cast<int>(rte_socket_id()),
                                                  RING_F_SP_ENQ | RING_F_SC_DEQ));
    engine->inject_.push_back(rte_ring_create(("tartan_inj_" + suffix).c_str(), kRingSize,
                                              static_cast<int>(rte_socket_id()),
                                              RING_F_SP_ENQ | RING_F_SC_DEQ));
    if (engine->to_control_.back() == nullptr || engine->inject_.back() == nullptr) {
      return Status(ErrorCode::kResourceExhausted,
                    std::string("cannot create worker rings: ") + rte_strerror(rte_errno));
    }
    if (w == 0) {
      engine->probes_ =
          rte_ring_create(("tartan_probe_" + suffix).c_str(), kRingSize,
                          static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (engine->probes_ == nullptr) {
        return Status(ErrorCode::kResourceExhausted,
                      std::string("cannot create the probe ring: ") + rte_strerror(rte_errno));
      }
      continue;
    }
    engine->to_slow_.push_back(rte_ring_create(("tartan_slow_" + suffix).c_str(), kRingSize,
                                               static_cast<int>(rte_socket_id()),
                                               RING_F_SP_ENQ | RING_F_SC_DEQ));
    if (engine->to_slow_.back() == nullptr) {
      return Status(ErrorCode::kResourceExhausted,
                    std::string("cannot create slow-path rings: ") + rte_strerror(rte_errno));
    }
  }
  if (Status s = engine->build_context(); !s.ok()) return s;
  worker_barrier::attach(engine->ctx_.rcu);
  if (!unmap_barrier::interposed()) {
    TARTAN_LOG(WARNING, kEngine,
               "this executable does not export munmap (engine/unmap_barrier.h): a memif peer "
               "going away under traffic may crash it");
  }

  for (uint16_t w = 0; w < num_workers; ++w) {
    std::vector<RxQueueRef> rxqs;
    for (const Port& p : engine->ports_) {
      if (w < p.rx_queues()) rxqs.push_back({p.id(), w});
    }
    auto reassembly = Reassembly::create(config.dataplane.reassembly_max_packets,
                                         config.dataplane.reassembly_timeout_ms,
                                         static_cast<int>(rte_socket_id()));
    if (!reassembly) return reassembly.status();
    engine->workers_.push_back(std::make_unique<Worker>(
        w, config.workers.lcores[w], engine->ctx_, std::move(rxqs), w, config.workers.burst_size,
        engine->to_control_[w], engine->inject_[w], engine->peers_[w],
        std::move(reassembly).value()));
    if (w > 0) engine->workers_[w]->set_slow_path(engine->to_slow_[w - 1], {});
    if (engine->wireguard_) {
      auto aead = wireguard::ChaChaPoly::create();
      if (!aead) return Status::internal("OpenSSL has no ChaCha20-Poly1305 for wireguard");
      engine->workers_[w]->set_wireguard_cipher(std::move(*aead));
    }
  }
  engine->workers_[0]->set_slow_path(nullptr, engine->to_slow_);
  // Probes come from our own podCIDR's side: the first overlay port's.
  for (const Port& p : engine->ports_) {
    if (p.role() != PortRole::kOverlay) continue;
    engine->workers_[0]->set_probe_source(engine->probes_, p.id());
    break;
  }
  if (!config.dataplane.static_neighbours.empty() ||
      !config.dataplane.static_neighbours_v6.empty()) {
    TableDelta delta;
    delta.set_neighbours = config.dataplane.static_neighbours;
    delta.set_neighbours6 = config.dataplane.static_neighbours_v6;
    if (Status s = engine->apply(delta); !s.ok()) return s;
  }
  register_telemetry(engine.get());
  return engine;
}

Status Engine::build_context() {
  const DataplaneConfig& dp = config_.dataplane;
  const Port& ul = ports_[underlay_index_];
  ctx_.backend = dp.backend;
  ctx_.underlay_port = ul.id();
  ctx_.underlay_mac = to_ether(ul.mac());
  // 0 on an IPv6-only underlay: no IPv4 tunnel packet or ARP is for us.
  const std::optional<Ipv4Prefix>& ip4 = config_.underlay.address;
  ctx_.underlay_ip_be = ip4 ? ip4->addr.be() : 0;
  ctx_.tunnel_port_be = rte_cpu_to_be_16(dp.udp_port);
  ctx_.vni_be = rte_cpu_to_be_32(dp.vni << 8);
  ctx_.vtep_mac = to_ether(vtep_mac_);
  ctx_.overlay_mtu = dp.overlay_mtu();
  const std::optional<Ipv6Prefix>& ip6 = config_.underlay.ipv6_address;
  ctx_.ipv6 = ip6.has_value();
  if (ip6) ctx_.underlay_ip6 = ip6->addr.bytes;
  ctx_.vtep_mac6 = to_ether(vtep_mac_v6_);
  ctx_.overlay_mtu6 = dp.overlay_mtu6();
  ctx_.tunnel_port6_be = rte_cpu_to_be_16(dp.tunnel_port6());
  ctx_.udp_checksum = dp.udp_checksum;
  ctx_.direct_routing = dp.direct_routing;
  ctx_.cross_family_routes = dp.cross_family_routes();
  ctx_.tx_ipv4_cksum_offload = ul.offloads().ipv4_cksum;
  ctx_.tx_udp_cksum_offload = ul.offloads().udp_cksum;
  ctx_.rx_udp_cksum_offload = ul.offloads().rx_cksum;
  ctx_.icmp_rate_per_s = dp.icmp_rate_per_s;
  ctx_.idle_sleep_us = config_.workers.idle_sleep_us;
  ctx_.overlay_address_be = &overlay_address_be_;
  ctx_.overlay_address6 = &overlay_address6_;
  // As ping takes its process id: another prober on the host (pinging from
  // the same address) is unlikely to share it, and the payload's marker
  // tells ours apart anyway.
  ctx_.probe_ident_be = rte_cpu_to_be_16(static_cast<uint16_t>(std::random_device{}()));
  ctx_.capture = &capture_;
  ctx_.trace = &trace_;

  TablesParams tp;
  tp.max_routes = dp.max_routes;
  tp.tbl8_groups = dp.lpm_tbl8_groups;
  tp.num_readers = static_cast<unsigned>(config_.workers.lcores.size());
  tp.backend = dp.backend;
  tp.vni = dp.vni;
  tp.udp_port = dp.udp_port;
  tp.udp_port6 = dp.tunnel_port6();
  tp.direct_routing = dp.direct_routing;
  tp.cross_family_routes = dp.cross_family_routes();
  tp.underlay = config_.underlay.address;
  tp.gateway = config_.underlay.gateway;
  tp.underlay_mac = ul.mac();
  tp.underlay_port = ul.id();
  tp.vtep_mac = vtep_mac_;
  tp.underlay6 = config_.underlay.ipv6_address;
  tp.gateway6 = config_.underlay.ipv6_gateway;
  tp.vtep_mac6 = vtep_mac_v6_;
  for (size_t i = 0; i < ports_.size(); ++i) {
    const Port& p = ports_[i];
    PortContext& pc = ctx_.ports[p.id()];
    pc.role = p.role();
    pc.mac = to_ether(p.mac());
    if (p.role() == PortRole::kException) ctx_.exception_port = p.id();
    if (p.role() != PortRole::kOverlay) continue;
    const OverlayRouting routing = config_.ports[i].routing;
    pc.tartan_routes = routing == OverlayRouting::kTartan ||
                       (routing == OverlayRouting::kAuto && !p.is_kernel_tap());
    pc.vnet_tap = p.vnet_tap();
    tp.overlays.push_back({p.id(), p.name(), p.mac()});
  }

  adjacency_ = std::make_unique<AdjacencyTable>(dp.max_routes + 64);
  if (!adjacency_->ok())
    return Status(ErrorCode::kResourceExhausted, "cannot allocate the neighbour table");
  NeighbourParams np;
  if (ip4) np.our_ip = ip4->addr;
  if (config_.underlay.ipv6_address) np.our_ip6 = config_.underlay.ipv6_address->addr;
  np.our_mac = ul.mac();
  np.retry_ms = dp.arp_retry_ms;
  np.max_retries = dp.arp_max_retries;
  np.refresh_s = dp.arp_refresh_s;
  np.queue_len = dp.arp_queue_len;
  neighbours_ = std::make_unique<NeighbourTable>(
      np, *adjacency_, pool_, [this](unsigned w, rte_mbuf* m) { return inject(w, m); });
  auto tables = ForwardingTables::create(
      tp, *neighbours_,
      [this](uint32_t id) {
        peer_baseline_[id] = peer_totals(id);
        // A reused next hop is another node: none of its keys stay.
        if (wireguard_) wireguard_->clear(id);
      },
      [this] { drain_to_control(); });
  if (!tables) return tables.status();
  tables_ = std::move(tables).value();
  ctx_.tables = tables_->readers();
  ctx_.tables.adjacency = adjacency_.get();
  ctx_.rcu = tables_->rcu();
  ctx_.pool = pool_;
  ctx_.indirect_pool = indirect_pool_;
  ctx_.next_hop_capacity = tables_->next_hop_capacity();
  if (dp.backend == BackendType::kWireguard) {
    auto sessions =
        WireguardSessions::create(tables_->next_hop_capacity(), ctx_.rcu, dp.wireguard_times);
    if (!sessions) return sessions.status();
    wireguard_ = std::move(sessions).value();
    ctx_.wireguard = wireguard_.get();
  }
  tables_->set_sender_hook([this](const Ipv4Addr& ip, std::optional<uint32_t> next_hop) {
    sender_changes_[ip] = next_hop;
  });
  tables_->set_sender_hook([this](const Ipv6Addr& ip, std::optional<uint32_t> next_hop) {
    sender6_changes_[ip] = next_hop;
  });
  FlowPlanParams fp;
  fp.backend = dp.backend;
  if (ip4) fp.our_ip = ip4->addr;
  if (ip6) fp.our_ip6 = ip6->addr;
  fp.udp_port = dp.udp_port;
  fp.vni = dp.vni;
  fp.rx_queues = ul.rx_queues();
  fp.slow_queue = 0;  // worker 0's, the slow-path worker
  flow_ = std::make_unique<FlowOffload>(ul.id(), fp);

  const uint32_t capacity = tables_->next_hop_capacity();
  peer_baseline_.assign(capacity, PeerBaseline{});
  for (size_t w = 0; w < config_.workers.lcores.size(); ++w) {
    auto* peers = static_cast<PeerCounters*>(
        rte_zmalloc("tartan_peer_counters", sizeof(PeerCounters) * capacity, RTE_CACHE_LINE_SIZE));
    if (peers == nullptr)
      return Status(ErrorCode::kResourceExhausted, "cannot allocate per-node counters");
    peers_.push_back(peers);
  }
  return {};
}

uint64_t Engine::now_ms() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

bool Engine::inject(unsigned worker, rte_mbuf* m) {
  return rte_ring_sp_enqueue(inject_[worker % inject_.size()], m) == 0;
}

void Engine::drain_to_control() {
  const uint64_t now = now_ms();
  std::array<rte_mbuf*, 64> pkts;
  for (unsigned w = 0; w < to_control_.size(); ++w) {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst(to_control_[w], reinterpret_cast<void**>(pkts.data()),
                                          pkts.size(), nullptr)) > 0) {
      for (unsigned i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        if (m->hash.usr == kToControlArp) {
          if (auto arp = parse_arp(m)) neighbours_->on_arp(*arp, now);
          rte_pktmbuf_free(m);
          ++arp_consumed_;
        } else if (m->hash.usr == kToControlNd) {
          neighbours_->on_nd(m, w, now);
        } else if (m->hash.usr == kToControlWireguard) {
          if (wg_messages_.size() == kMaxWireguardMessages) {
            ++wg_queue_full_;
          } else {
            if (auto msg = take_wireguard_message(m)) wg_messages_.push_back(std::move(*msg));
            ++wg_messages_taken_;
          }
          rte_pktmbuf_free(m);
        } else if (m->hash.usr == kToControlProbe) {
          if (auto reply = parse_probe_reply(m, rte_get_tsc_hz())) {
            if (probe_replies_.size() == kMaxProbeReplies) probe_replies_.pop_front();
            probe_replies_.push_back(*reply);
          }
          rte_pktmbuf_free(m);
          ++probe_replies_taken_;
        } else {
          neighbours_->hold(m->hash.usr, m, w);
        }
      }
    }
  }
}

void Engine::housekeeping() {
  std::lock_guard lock(mu_);
  drain_to_control();
  // Reclaim first: a neighbour whose last user just went needs no ARP.
  tables_->reclaim();
  if (wireguard_) wireguard_->tick();
  const uint64_t now = now_ms();
  neighbours_->tick(now);
  watch_links(now);
}

void Engine::watch_links(uint64_t now) {
  if (!ports_started_ || now < next_link_check_ms_) return;
  next_link_check_ms_ = now + kLinkCheckMs;
  for (size_t i = 0; i < ports_.size(); ++i) {
    const Port& p = ports_[i];
    LinkState& link = links_[i];
    const bool up = p.link_up();
    if (up == link.up) continue;
    link.up = up;
    // A memif or vhost port's link is its peer being connected.
    const bool peer = p.driver() == "net_memif" || p.driver() == "net_vhost";
    if (!up) {
      ++link.downs;
      // Workers go on polling it: the PMD returns nothing and takes nothing
      // (tx_queue_full) until it is back.
      TARTAN_LOG(NOTICE, kEngine, "port '%s' (%s): link down%s (%llu time(s))", p.name().c_str(),
                 p.driver().c_str(), peer ? ", its peer went away" : "",
                 static_cast<unsigned long long>(link.downs));
    } else if (link.downs != 0) {
      TARTAN_LOG(NOTICE, kEngine, "port '%s' (%s): link up again%s", p.name().c_str(),
                 p.driver().c_str(), peer ? ", a peer is back" : "");
    } else {
      TARTAN_LOG(INFO, kEngine, "port '%s' (%s): link up", p.name().c_str(), p.driver().c_str());
    }
  }
}

void Engine::housekeeping_loop() {
  while (!stop_housekeeping_.load()) {
    housekeeping();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Status Engine::start_ports() {
  for (Port& p : ports_) {
    if (Status s = p.start(); !s.ok()) return s;
  }
  ports_started_ = true;
  // rte_flow rules go on a started port; workers are not running yet, so
  // the context may still change.
  std::lock_guard lock(mu_);
  flow_->start(tables_->senders(), tables_->senders6());
  sender_changes_.clear();
  sender6_changes_.clear();
  ctx_.hw_decap = flow_->decap_offloaded();
  return {};
}

Status Engine::start() {
  if (Status s = start_ports(); !s.ok()) return s;
  if (Status s = launch_workers(); !s.ok()) {
    stop();
    return s;
  }
  stop_housekeeping_.store(false);
  housekeeping_thread_ = std::thread([this] { housekeeping_loop(); });
  {
    std::lock_guard lock(mu_);
    neighbours_->announce();
  }
  return {};
}

Status Engine::launch_workers() {
  stop_workers_.store(false);
  for (auto& w : workers_) {
    auto* ctx = new std::pair<Worker*, std::atomic<bool>*>(w.get(), &stop_workers_);
    if (int rc = rte_eal_remote_launch(launch_worker, ctx, w->lcore()); rc != 0) {
      delete ctx;
      return Status::internal("cannot launch worker on lcore " + std::to_string(w->lcore()) + ": " +
                              rte_strerror(-rc));
    }
    launched_ = true;
  }
  return {};
}

void Engine::stop_workers() {
  if (!launched_) return;
  stop_workers_.store(true);
  for (auto& w : workers_) rte_eal_wait_lcore(w->lcore());
  launched_ = false;
  TARTAN_LOG(INFO, kEngine, "workers stopped");
}

Status Engine::reopen_port(size_t index) {
  if (!launched_ || index >= ports_.size()) {
    return Status(ErrorCode::kFailedPrecondition, "reopen_port: the engine is not running");
  }
  // A worker finishes its loop (and its TX bursts) before it stops: no
  // packet is inside the device while it goes.
  stop_workers();
  Port& port = ports_[index];
  const uint16_t num_workers = static_cast<uint16_t>(workers_.size());
  Status reprobed;
  {
    // Not while housekeeping looks at the link of a device being replaced.
    std::lock_guard lock(mu_);
    reprobed = port.reprobe(config_.ports[index], num_workers, num_workers, config_.workers, pool_);
  }
  if (Status s = launch_workers(); !s.ok()) return s;
  if (reprobed.ok()) {
    TARTAN_LOG(NOTICE, kEngine, "port '%s' probed again; workers resumed", port.name().c_str());
  }
  return reprobed;
}

void Engine::stop() {
  if (housekeeping_thread_.joinable()) {
    stop_housekeeping_.store(true);
    housekeeping_thread_.join();
  }
  stop_workers();
  if (ports_started_) {
    {
      std::lock_guard lock(mu_);
      flow_->stop();
    }
    for (Port& p : ports_) p.stop();
    ports_started_ = false;
  }
  // Nothing moves now: free what sat between workers and control.
  std::array<rte_mbuf*, 64> pkts;
  std::vector<rte_ring*> between = inject_;
  between.insert(between.end(), to_slow_.begin(), to_slow_.end());
  if (probes_ != nullptr) between.push_back(probes_);  // null when start-up failed before it
  for (rte_ring* r : between) {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts.data()), pkts.size(),
                                          nullptr)) > 0) {
      rte_pktmbuf_free_bulk(pkts.data(), n);
      std::lock_guard lock(mu_);
      discarded_at_stop_ += n;
    }
  }
  if (neighbours_) {
    std::lock_guard lock(mu_);
    drain_to_control();
  }
}

Engine::~Engine() {
  unregister_telemetry(this);
  stop();
  if (ctx_.rcu != nullptr) worker_barrier::detach(ctx_.rcu);
  tables_.reset();      // releases neighbours
  neighbours_.reset();  // frees held packets
  for (PeerCounters* p : peers_) rte_free(p);
  for (rte_ring* r : to_control_) rte_ring_free(r);
  for (rte_ring* r : inject_) rte_ring_free(r);
  for (rte_ring* r : to_slow_) rte_ring_free(r);
  rte_ring_free(probes_);
  for (Port& p : ports_) p.close();
  workers_.clear();
  rte_mempool_free(indirect_pool_);
  rte_mempool_free(pool_);
}

Status Engine::apply(const TableDelta& delta) {
  std::lock_guard lock(mu_);
  drain_to_control();
  // A new node is admitted by the NIC before its route goes live...
  flow_->admit(tunnel_senders(*tables_, delta.upsert_routes));
  flow_->admit(tunnel_senders(*tables_, delta.upsert_routes6));
  sender_changes_.clear();
  sender6_changes_.clear();
  const Status s = tables_->apply(delta, now_ms());
  // ... and a node's rules go only once its route is gone (a refused
  // change takes back what was admitted for it).
  flow_->update(sender_changes_);
  flow_->update(sender6_changes_);
  sender_changes_.clear();
  sender6_changes_.clear();
  return s;
}

Status Engine::set_local_subnet(std::optional<Ipv4Prefix> subnet) {
  std::lock_guard lock(mu_);
  if (Status s = tables_->set_local_subnet(subnet); !s.ok()) return s;
  overlay_address_be_.store(subnet ? subnet->addr.be() : 0, std::memory_order_relaxed);
  return {};
}

Status Engine::send_probe(Ipv4Addr dst, uint16_t seq) {
  const uint32_t src = overlay_address_be_.load(std::memory_order_relaxed);
  if (src == 0) return Status(ErrorCode::kFailedPrecondition, "no lease: no overlay address yet");
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return Status(ErrorCode::kResourceExhausted, "no free mbuf for a probe");
  const uint16_t ident = rte_be_to_cpu_16(ctx_.probe_ident_be);
  if (!build_probe(m, Ipv4Addr::from_be(src), dst, ident, seq, rte_rdtsc()) ||
      rte_ring_sp_enqueue(probes_, m) != 0) {
    rte_pktmbuf_free(m);
    return Status(ErrorCode::kResourceExhausted, "the probe ring is full");
  }
  std::lock_guard lock(mu_);
  ++probes_sent_;
  return {};
}

std::vector<ProbeReply> Engine::take_probe_replies() {
  std::lock_guard lock(mu_);
  std::vector<ProbeReply> out(probe_replies_.begin(), probe_replies_.end());
  probe_replies_.clear();
  return out;
}

Result<uint32_t> Engine::wireguard_slot(const IpAddr& peer) const {
  if (!wireguard_)
    return Status(ErrorCode::kFailedPrecondition, "this node's backend is not wireguard");
  const auto id = std::visit(
      [&](const auto& ip) { return tables_->next_hop_of(ip, NextHopKind::kWireguard); }, peer);
  if (id) return *id;
  return Status(ErrorCode::kNotFound, "peer " + ip_addr_str(peer) + ": no wireguard routes to it");
}

Result<uint32_t> Engine::wireguard_reserve_index() {
  std::lock_guard lock(mu_);
  if (!wireguard_)
    return Status(ErrorCode::kFailedPrecondition, "this node's backend is not wireguard");
  return wireguard_->reserve_index();
}

void Engine::wireguard_release_index(uint32_t index) {
  std::lock_guard lock(mu_);
  if (wireguard_) wireguard_->release_index(index);
}

Status Engine::wireguard_install(const IpAddr& peer, const wireguard::Keypair& keypair) {
  std::lock_guard lock(mu_);
  auto slot = wireguard_slot(peer);
  if (!slot) return slot.status();
  // One device takes a peer's messages over either family.
  const uint8_t families = config_.dataplane.wireguard_one_device   ? 0b11
                           : std::holds_alternative<Ipv6Addr>(peer) ? 0b10
                                                                    : 0b01;
  return wireguard_->install(*slot, keypair, families);
}

Status Engine::wireguard_clear(const IpAddr& peer) {
  std::lock_guard lock(mu_);
  auto slot = wireguard_slot(peer);
  if (!slot) return slot.status();
  wireguard_->clear(*slot);
  return {};
}

Result<WireguardPeerView> Engine::wireguard_peer(const IpAddr& peer) const {
  std::lock_guard lock(mu_);
  auto slot = wireguard_slot(peer);
  if (!slot) return slot.status();
  WireguardPeerView v = wireguard_->view(*slot);
  const PeerBaseline t = peer_transfer(*slot);
  v.rx_packets = t.decap_packets;
  v.rx_bytes = t.decap_bytes;
  v.tx_packets = t.encap_packets;
  v.tx_bytes = t.encap_bytes;
  return v;
}

Engine::PeerBaseline Engine::peer_totals(uint32_t id) const {
  PeerBaseline t{};
  for (const PeerCounters* pc : peers_) {
    t.encap_packets += pc[id].encap_packets.get();
    t.encap_bytes += pc[id].encap_bytes.get();
    t.decap_packets += pc[id].decap_packets.get();
    t.decap_bytes += pc[id].decap_bytes.get();
  }
  return t;
}

Engine::PeerBaseline Engine::peer_transfer(uint32_t id) const {
  PeerBaseline t = peer_totals(id);
  const PeerBaseline& b = peer_baseline_[id];
  t.encap_packets -= b.encap_packets;
  t.encap_bytes -= b.encap_bytes;
  t.decap_packets -= b.decap_packets;
  t.decap_bytes -= b.decap_bytes;
  return t;
}

Status Engine::wireguard_set_endpoint(const IpAddr& peer, const IpAddr& ip, uint16_t port) {
  if (peer.index() != ip.index()) {
    return Status::invalid("peer " + ip_addr_str(peer) + ": endpoint " + ip_addr_str(ip) +
                           " is of the other family");
  }
  std::lock_guard lock(mu_);
  auto slot = wireguard_slot(peer);
  if (!slot) return slot.status();
  Status s = std::visit(
      [&](const auto& a) { return tables_->set_wireguard_endpoint(*slot, a, port, now_ms()); }, ip);
  if (!s.ok()) return s;
  // The peer is where it was last seen: what the workers record next is
  // compared with this.
  WireguardPeer& p = wireguard_->peer(*slot);
  const uint16_t port_be = rte_cpu_to_be_16(port);
  if (const auto* v4 = std::get_if<Ipv4Addr>(&ip))
    p.endpoint.store(wireguard_endpoint(v4->be(), port_be), std::memory_order_relaxed);
  else
    note_endpoint6(p, std::get<Ipv6Addr>(ip).bytes.data(), port_be);
  return s;
}

Result<uint8_t> Engine::wireguard_take_wants(const IpAddr& peer) {
  std::lock_guard lock(mu_);
  auto slot = wireguard_slot(peer);
  if (!slot) return slot.status();
  return wireguard_->take_wants(*slot);
}

std::vector<WireguardMessage> Engine::take_wireguard_messages() {
  std::lock_guard lock(mu_);
  std::vector<WireguardMessage> out(std::make_move_iterator(wg_messages_.begin()),
                                    std::make_move_iterator(wg_messages_.end()));
  wg_messages_.clear();
  return out;
}

void Engine::set_capture(CaptureSession* session) {
  capture_.store(session, std::memory_order_release);
  // Each worker loads the pointer once per loop and reports quiescence
  // after it: once all have, none holds the old one.
  if (ctx_.rcu != nullptr) rte_rcu_qsbr_synchronize(ctx_.rcu, RTE_QSBR_THRID_INVALID);
}

void Engine::set_trace(TraceSession* session) {
  trace_.store(session, std::memory_order_release);
  // As set_capture: after a grace period no worker follows the old one.
  if (ctx_.rcu != nullptr) rte_rcu_qsbr_synchronize(ctx_.rcu, RTE_QSBR_THRID_INVALID);
}

Status Engine::set_local_subnet6(std::optional<Ipv6Prefix> subnet) {
  std::lock_guard lock(mu_);
  if (subnet == tables_->local_subnet6()) return {};
  if (Status s = tables_->set_local_subnet6(subnet); !s.ok()) return s;
  const Ipv6Addr* published = overlay_address6_.load(std::memory_order_relaxed);
  Ipv6Addr* next = published == &overlay_address6_slots_[0] ? &overlay_address6_slots_[1]
                                                            : &overlay_address6_slots_[0];
  if (subnet) *next = subnet->addr;
  overlay_address6_.store(subnet ? next : nullptr, std::memory_order_release);
  // Once every worker has passed a quiescent state none holds the address
  // replaced, and the next change may write its slot.
  if (ctx_.rcu != nullptr) rte_rcu_qsbr_synchronize(ctx_.rcu, RTE_QSBR_THRID_INVALID);
  return {};
}

std::optional<Ipv6Prefix> Engine::local_subnet6() const {
  std::lock_guard lock(mu_);
  return tables_->local_subnet6();
}

std::vector<Route6View> Engine::routes6() const {
  std::lock_guard lock(mu_);
  return tables_->routes6();
}

std::optional<Ipv4Prefix> Engine::local_subnet() const {
  std::lock_guard lock(mu_);
  return tables_->local_subnet();
}

std::vector<RouteView> Engine::routes() const {
  std::lock_guard lock(mu_);
  return tables_->routes();
}

std::vector<NeighbourView> Engine::neighbours() const {
  std::lock_guard lock(mu_);
  return neighbours_->view();
}

StatsSnapshot Engine::stats() const {
  StatsSnapshot s;
  s.tsc_hz = rte_get_tsc_hz();
  for (const Port& p : ports_) {
    PortStats ps;
    ps.name = p.name();
    ps.role = port_role_name(p.role());
    ps.port_id = p.id();
    for (const auto& w : workers_) {
      const PortCounters& c = w->counters().ports[p.id()];
      ps.rx_packets += c.rx_packets.get();
      ps.rx_bytes += c.rx_bytes.get();
      ps.tx_packets += c.tx_packets.get();
      ps.tx_bytes += c.tx_bytes.get();
    }
    rte_eth_stats hw{};
    if (rte_eth_stats_get(p.id(), &hw) == 0) {
      ps.hw_rx_missed = hw.imissed;
      ps.hw_rx_errors = hw.ierrors;
      ps.hw_tx_errors = hw.oerrors;
      if (const VnetTap* tap = p.vnet_tap()) {
        ps.hw_rx_errors += tap->rx_errors();
        ps.hw_tx_errors += tap->tx_errors();
      }
    }
    s.ports.push_back(ps);
  }
  for (const auto& w : workers_) {
    const WorkerCounters& c = w->counters();
    s.workers.push_back(
        {w->lcore(), c.loops.get(), c.busy_loops.get(), c.busy_cycles.get(), c.processed.get()});
    for (size_t r = 0; r < kNumDropReasons; ++r) s.drops[r] += c.drops[r].get();
    s.events.arp_replies += c.events.arp_replies.get();
    s.events.icmp_errors += c.events.icmp_errors.get();
    s.events.to_exception += c.events.to_exception.get();
    s.events.to_control += c.events.to_control.get();
    s.events.arp_wait += c.events.arp_wait.get();
    s.events.injected += c.events.injected.get();
    s.events.to_slow_path += c.events.to_slow_path.get();
    s.events.decap_offloaded += c.events.decap_offloaded.get();
    s.events.reassembled += c.events.reassembled.get();
    s.events.fragments_reassembled += c.events.fragments_reassembled.get();
    s.events.gso_packets += c.events.gso_packets.get();
    s.events.gso_segments += c.events.gso_segments.get();
    s.events.gro_merged += c.events.gro_merged.get();
    s.events.gro_segments += c.events.gro_segments.get();
    s.events.fragments_held_now += fragments_held(c);
    s.events.probe_replies += c.events.probe_replies.get();
    s.events.wg_keepalives += c.events.wg_keepalives.get();
    s.events.wg_handshakes += c.events.wg_handshakes.get();
  }
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < ports_.size(); ++i) {
    s.ports[i].link_up = links_[i].up;
    s.ports[i].link_downs = links_[i].downs;
  }
  const NeighbourCounters& nc = neighbours_->counters();
  s.events.arp_requests_sent = nc.arp.requests_sent;
  s.events.arp_learned = nc.arp.replies_learned;
  s.events.arp_released = nc.held_released;
  s.events.arp_held_now = neighbours_->held_packets();
  s.events.nd_solicits_sent = nc.nd.requests_sent;
  s.events.nd_solicits_answered = nc.nd_answered;
  s.events.nd_adverts_received = nc.nd_consumed;
  s.events.nd_learned = nc.nd.replies_learned;
  s.events.probes_sent = probes_sent_;
  s.drops[static_cast<size_t>(DropReason::kArpQueueFull)] += nc.dropped_queue_full;
  s.drops[static_cast<size_t>(DropReason::kArpUnresolved)] += nc.dropped_unresolved;
  for (size_t r = 0; r < kNumDropReasons; ++r) s.drops[r] += nc.nd_drops[r];
  s.drops[static_cast<size_t>(DropReason::kWgHandshakeQueueFull)] += wg_queue_full_;
  // What the NIC's sender filter dropped never reached a worker.
  s.drops[static_cast<size_t>(DropReason::kUnknownSender)] += flow_->spoof_drops();
  for (uint32_t id : tables_->remote_next_hop_ids()) {
    PeerStats ps;
    ps.next_hop_id = id;
    if (auto v = tables_->next_hop_view(id)) {
      ps.public_ip = v->public_ip;
      ps.public_ip6 = v->other_public_ip;
    }
    const PeerBaseline t = peer_transfer(id);
    ps.encap_packets = t.encap_packets;
    ps.encap_bytes = t.encap_bytes;
    ps.decap_packets = t.decap_packets;
    ps.decap_bytes = t.decap_bytes;
    s.peers.push_back(ps);
  }
  return s;
}

std::vector<PortView> Engine::port_views() const {
  std::vector<PortView> out;
  for (size_t i = 0; i < ports_.size(); ++i) {
    const Port& p = ports_[i];
    PortView v;
    v.name = p.name();
    v.role = port_role_name(p.role());
    v.device = config_.ports[i].device;
    v.driver = p.driver();
    v.port_id = p.id();
    v.rx_queues = p.rx_queues();
    v.tx_queues = p.tx_queues();
    v.offloads = p.offloads();
    out.push_back(std::move(v));
  }
  std::lock_guard lock(mu_);
  out[underlay_index_].flow_classes = flow_->classes();
  return out;
}

std::vector<FlowRuleView> Engine::flow_rules() const {
  std::lock_guard lock(mu_);
  return flow_->rules();
}

}  // namespace tartan
