// tartand: the tartan node daemon. EAL + worker lcores run the data plane;
// the main lcore runs the control plane (gRPC API on its own threads).
#include <getopt.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "control/cluster/local_lease.h"
#include "control/config/config_loader.h"
#include "control/config/pod_mtu.h"
#include "control/config/startup_checks.h"
#include "control/daemon.h"
#include "control/host/leftovers.h"
#include "engine/eal.h"
#include "engine/engine.h"
#include "engine/log.h"
#include "version.h"

namespace tartan {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::optional<std::string> config_path;
  std::optional<std::string> listen;
  std::optional<std::string> subnet_file;
  std::optional<std::string> state_dir;
  std::optional<uint32_t> log_level;
  std::optional<LogFormat> log_format;
  std::optional<uint32_t> stats_interval;
  bool print_config = false;
};

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: tartand [OPTIONS]\n"
      "\n"
      "The tartan node daemon: flannel's VXLAN/UDP data plane on DPDK poll-mode workers,\n"
      "driven by the tartan.v1 gRPC API (see tartanctl).\n"
      "\n"
      "Options:\n"
      "  -c, --config FILE        YAML config (default: the embedded configs/tartan.yaml)\n"
      "      --listen ADDR        override control.listen (unix:///PATH or HOST:PORT)\n"
      "      --subnet-file FILE   override subnet_file (flannel's subnet.env)\n"
      "      --state-dir DIR      override node.state_dir\n"
      "      --log-level LEVEL    override log.level: "
      "emerg|alert|crit|err|warning|notice|info|debug\n"
      "      --log-format FORMAT  override log.format: text (TIME LEVEL COMPONENT: MESSAGE) or "
      "json\n"
      "      --stats-interval S   override log.stats_interval: a counter summary every S seconds\n"
      "                           when counters moved; 0 = never\n"
      "      --print-config       print the effective config (defaults filled in) and exit\n"
      "  -h, --help               this text\n"
      "  -V, --version            print the version and exit\n"
      "\n"
      "Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime failure,\n"
      "2 on a bad command line or config (nothing is started then).\n");
}

std::optional<Options> parse_options(int argc, char** argv, int* exit_code) {
  enum {
    kListen = 1000,
    kSubnetFile,
    kStateDir,
    kLogLevel,
    kLogFormat,
    kStatsInterval,
    kPrintConfig
  };
  static const option long_options[] = {
      {"config", required_argument, nullptr, 'c'},
      {"listen", required_argument, nullptr, kListen},
      {"subnet-file", required_argument, nullptr, kSubnetFile},
      {"state-dir", required_argument, nullptr, kStateDir},
      {"log-level", required_argument, nullptr, kLogLevel},
      {"log-format", required_argument, nullptr, kLogFormat},
      {"stats-interval", required_argument, nullptr, kStatsInterval},
      {"print-config", no_argument, nullptr, kPrintConfig},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  Options o;
  int c;
  while ((c = getopt_long(argc, argv, "c:hV", long_options, nullptr)) != -1) {
    switch (c) {
      case 'c':
        o.config_path = optarg;
        break;
      case kListen:
        o.listen = optarg;
        break;
      case kSubnetFile:
        o.subnet_file = optarg;
        break;
      case kStateDir:
        o.state_dir = optarg;
        break;
      case kLogLevel: {
        auto level = parse_log_level(optarg);
        if (!level) {
          std::fprintf(stderr, "tartand: --log-level: unknown level '%s'\n", optarg);
          *exit_code = kExitUsage;
          return std::nullopt;
        }
        o.log_level = *level;
        break;
      }
      case kLogFormat: {
        o.log_format = parse_log_format(optarg);
        if (!o.log_format) {
          std::fprintf(stderr, "tartand: --log-format: expected text or json, got '%s'\n", optarg);
          *exit_code = kExitUsage;
          return std::nullopt;
        }
        break;
      }
      case kStatsInterval: {
        char* end = nullptr;
        const long v = std::strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || v < 0 || v > 86400) {
          std::fprintf(stderr, "tartand: --stats-interval: expected seconds 0..86400, got '%s'\n",
                       optarg);
          *exit_code = kExitUsage;
          return std::nullopt;
        }
        o.stats_interval = static_cast<uint32_t>(v);
        break;
      }
      case kPrintConfig:
        o.print_config = true;
        break;
      case 'h':
        usage(stdout);
        *exit_code = kExitOk;
        return std::nullopt;
      case 'V':
        std::printf("tartand %s\n", kTartanVersion);
        *exit_code = kExitOk;
        return std::nullopt;
      default:
        usage(stderr);
        *exit_code = kExitUsage;
        return std::nullopt;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "tartand: unexpected argument '%s'\n", argv[optind]);
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  return o;
}

// The counters' summary line, "" when nothing moved since `last`.
std::string stats_line(const Engine& engine, std::string& last) {
  const StatsSnapshot s = engine.stats();
  std::string line = "stats";
  for (const PortStats& p : s.ports) {
    line += " | " + p.name + " rx " + std::to_string(p.rx_packets) + " tx " +
            std::to_string(p.tx_packets);
  }
  uint64_t drops = 0;
  for (uint64_t d : s.drops) drops += d;
  line += " | dropped " + std::to_string(drops);
  if (line == last) return "";
  last = line;
  return line;
}

// Config and command line merged, checked against this host, before EAL,
// ports or anything on the host is touched. nullopt: exit 2 (said why).
std::optional<Config> settle_config(const Options& opts) {
  auto config = opts.config_path ? load_config_file(*opts.config_path) : load_default_config();
  if (!config) {
    TARTAN_LOG(ERR, kDaemon, "%s", config.status().message().c_str());
    return std::nullopt;
  }
  if (opts.listen) config->control.listen = *opts.listen;
  if (opts.subnet_file) config->subnet_file = *opts.subnet_file;
  if (opts.state_dir) config->node.state_dir = *opts.state_dir;
  if (opts.log_level) config->log.level = *opts.log_level;
  if (opts.log_format) config->log.format = *opts.log_format;
  if (opts.stats_interval) config->log.stats_interval = *opts.stats_interval;
  if (Status s = check_control_listen(config->control); !s.ok()) {
    TARTAN_LOG(ERR, kDaemon, "%s: control.listen: %s", config->source_name.c_str(),
               s.message().c_str());
    return std::nullopt;
  }
  return std::move(*config);
}

int run(const Options& opts) {
  // Block the stop signals before EAL or gRPC start threads, so every thread
  // inherits the mask and only the main loop's sigtimedwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  install_log_stream(opts.log_format.value_or(LogFormat::kText));
  set_log_level(opts.log_level.value_or(RTE_LOG_INFO));

  auto config = settle_config(opts);
  if (!config) return kExitUsage;
  install_log_stream(config->log.format);
  set_log_level(config->log.level);
  if (opts.print_config) {
    std::printf("%s", config_to_yaml(*config).c_str());
    return kExitOk;
  }
  auto plan = check_startup(*config);
  if (!plan) {
    TARTAN_LOG(ERR, kDaemon, "%s: %s", config->source_name.c_str(),
               plan.status().message().c_str());
    return kExitUsage;
  }
  for (const std::string& line :
       remove_dead_leftovers(unix_socket_path(config->control.listen), dpdk_runtime_base(),
                             config->engine.eal.file_prefix)) {
    TARTAN_LOG(NOTICE, kDaemon, "%s", line.c_str());
  }
  // The prefix EAL will run with, so `tartanctl config` shows what
  // dpdk-telemetry.py -f needs.
  config->engine.eal.file_prefix = eal_file_prefix(config->engine.eal);
  TARTAN_LOG(
      INFO, kDaemon, "tartand %s: config %s; %s", kTartanVersion, config->source_name.c_str(),
      plan->use_hugepages ? "hugepages"
                          : ("running with --no-huge (" + plan->hugepage_note + ")").c_str());

  // The source settles what EAL is to probe (lease.source kube: the
  // underlay our Node's annotations name) before EAL starts.
  auto daemon = Daemon::prepare(*config);
  if (!daemon) {
    TARTAN_LOG(ERR, kDaemon, "%s", daemon.status().message().c_str());
    return kExitRuntime;
  }
  const std::vector<std::string> eal_args =
      build_eal_args((*daemon)->config().engine, plan->use_hugepages);
  auto eal = Eal::init(eal_args, config->engine.eal.secondary_processes);
  if (!eal) {
    TARTAN_LOG(ERR, kDaemon, "%s", eal.status().message().c_str());
    return kExitRuntime;
  }
  set_log_level(config->log.level);  // EAL's --log-level handling may have reset ours

  if (Status s = (*daemon)->launch(); !s.ok()) daemon = s;
  if (!daemon) {
    TARTAN_LOG(ERR, kDaemon, "%s", daemon.status().message().c_str());
    return kExitRuntime;
  }
  Engine& engine = (*daemon)->engine();

  const std::string& prefix = config->engine.eal.file_prefix;
  for (const Port& p : engine.ports()) {
    TARTAN_LOG(INFO, kDaemon, "port %-10s %-9s %-12s mac %s, %u rx / %u tx queues",
               p.name().c_str(), port_role_name(p.role()), p.driver().c_str(),
               p.mac().str().c_str(), p.rx_queues(), p.tx_queues());
  }
  // As the source settled it (etcd's network config, our Node's
  // tartan.io/underlay-* annotations), not as the file has it.
  const Config& settled = (*daemon)->config();
  const DataplaneConfig& dp = settled.engine.dataplane;
  const auto lease = (*daemon)->lease().get();  // etcd and static have one by now
  // Each family's public IP and VtepMAC (flannel.1's, flannel-v6's).
  std::string ends;
  if (const auto ip = own_public_ip(settled))
    ends = "public IP " + ip->str() + " VtepMAC " + engine.vtep_mac().str() + ", ";
  if (const auto ip6 = own_public_ipv6(settled))
    ends += "public IPv6 " + ip6->public_ip.str() + " VtepMAC " + ip6->vtep_mac.str() + ", ";
  TARTAN_LOG(INFO, kDaemon, "%s backend (VNI %u, UDP port %u), %spodCIDR %s, overlay MTU %u",
             backend_type_name(dp.backend), dp.vni, dp.udp_port, ends.c_str(),
             lease ? lease->cidrs().str().c_str() : "(none yet)", pod_mtu(settled.network, dp));
  std::string lcores;
  for (const auto& w : engine.workers()) lcores += " " + std::to_string(w->lcore());
  TARTAN_LOG(INFO, kDaemon, "%zu worker(s) polling on lcore(s)%s", engine.workers().size(),
             lcores.c_str());
  const uint32_t interval = config->log.stats_interval;
  const std::string summary =
      interval ? ", and a summary here every " + std::to_string(interval) + " s when they move"
               : "";
  TARTAN_LOG(INFO, kDaemon, "ready. Control API on %s.",
             (*daemon)->config().control.listen.c_str());
  TARTAN_LOG(INFO, kDaemon,
             "counters: `tartanctl stats`, DPDK telemetry (dpdk-telemetry.py -f %s)%s.",
             prefix.c_str(), summary.c_str());
  TARTAN_LOG(INFO, kDaemon, "stop with Ctrl-C or SIGTERM.");

  const timespec tick{1, 0};
  unsigned seconds = 0;
  int signal_number = -1;
  std::string last_stats;
  while (signal_number < 0) {
    signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
    if (signal_number < 0 && interval && ++seconds % interval == 0) {
      if (const std::string line = stats_line(engine, last_stats); !line.empty())
        TARTAN_LOG(INFO, kDaemon, "%s", line.c_str());
    }
  }
  TARTAN_LOG(INFO, kDaemon, "%s received, shutting down", strsignal(signal_number));

  (*daemon)->stop();
  last_stats.clear();
  TARTAN_LOG(INFO, kDaemon, "%s", stats_line(engine, last_stats).c_str());
  daemon->reset();
  eal->reset();
  TARTAN_LOG(INFO, kDaemon, "stopped cleanly");
  return kExitOk;
}

}  // namespace
}  // namespace tartan

int main(int argc, char** argv) {
  int exit_code = 0;
  auto options = tartan::parse_options(argc, argv, &exit_code);
  if (!options) return exit_code;
  return tartan::run(*options);
}
