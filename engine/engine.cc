#include "engine/engine.h"

#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <string>

#include "engine/log.h"

namespace tartan {
namespace {

int launch_worker(void* arg) {
  auto* ctx = static_cast<std::pair<Worker*, std::atomic<bool>*>*>(arg);
  TARTAN_LOG(INFO, kEngine, "worker %u polling on lcore %u", ctx->first->index(), rte_lcore_id());
  ctx->first->run(*ctx->second);
  delete ctx;
  return 0;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config) {
  std::unique_ptr<Engine> engine(new Engine(config));
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
  engine->pool_ = rte_pktmbuf_pool_create(
      "tartan_mbufs", config.workers.mempool_size, config.workers.mempool_cache, 0,
      RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (engine->pool_ == nullptr) {
    return Status(ErrorCode::kResourceExhausted, "cannot create mempool of " +
                                                     std::to_string(config.workers.mempool_size) +
                                                     " mbufs: " + rte_strerror(rte_errno));
  }

  for (const PortConfig& pc : config.ports) {
    auto port = Port::open(pc, num_workers, num_workers, config.workers, engine->pool_);
    if (!port) return port.status();
    engine->ports_.push_back(std::move(port).value());
  }

  // Until the data path lands, workers patch-panel the ports: overlay and
  // exception traffic leaves on the underlay, underlay traffic on the first
  // overlay port.
  std::array<uint16_t, RTE_MAX_ETHPORTS> forward_to;
  forward_to.fill(kNoPort);
  uint16_t underlay = kNoPort, first_overlay = kNoPort;
  for (const Port& p : engine->ports_) {
    if (p.role() == PortRole::kUnderlay) underlay = p.id();
    if (p.role() == PortRole::kOverlay && first_overlay == kNoPort) first_overlay = p.id();
  }
  for (const Port& p : engine->ports_) {
    forward_to[p.id()] = p.role() == PortRole::kUnderlay ? first_overlay : underlay;
  }

  for (uint16_t w = 0; w < num_workers; ++w) {
    std::vector<RxQueueRef> rxqs;
    for (const Port& p : engine->ports_) {
      if (w < p.rx_queues()) rxqs.push_back({p.id(), w});
    }
    engine->workers_.push_back(std::make_unique<Worker>(
        w, config.workers.lcores[w], std::move(rxqs), forward_to, w, config.workers.burst_size));
  }
  return engine;
}

Status Engine::start_ports() {
  for (Port& p : ports_) {
    if (Status s = p.start(); !s.ok()) return s;
  }
  ports_started_ = true;
  return {};
}

Status Engine::start() {
  if (Status s = start_ports(); !s.ok()) return s;
  stop_.store(false);
  for (auto& w : workers_) {
    auto* ctx = new std::pair<Worker*, std::atomic<bool>*>(w.get(), &stop_);
    if (int rc = rte_eal_remote_launch(launch_worker, ctx, w->lcore()); rc != 0) {
      delete ctx;
      stop();
      return Status::internal("cannot launch worker on lcore " + std::to_string(w->lcore()) + ": " +
                              rte_strerror(-rc));
    }
    launched_ = true;
  }
  return {};
}

void Engine::stop() {
  if (launched_) {
    stop_.store(true);
    for (auto& w : workers_) rte_eal_wait_lcore(w->lcore());
    launched_ = false;
    TARTAN_LOG(INFO, kEngine, "workers stopped");
  }
  if (ports_started_) {
    for (Port& p : ports_) p.stop();
    ports_started_ = false;
  }
}

Engine::~Engine() {
  stop();
  for (Port& p : ports_) p.close();
  workers_.clear();
  rte_mempool_free(pool_);
}

StatsSnapshot Engine::stats() const {
  StatsSnapshot s;
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
    }
    s.ports.push_back(ps);
  }
  for (const auto& w : workers_) {
    s.workers.push_back({w->lcore(), w->counters().loops.get(), w->counters().busy_loops.get()});
    for (size_t r = 0; r < kNumDropReasons; ++r) s.drops[r] += w->counters().drops[r].get();
  }
  return s;
}

}  // namespace tartan
