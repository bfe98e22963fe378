// tartand: the tartan node daemon. EAL + worker lcores run the data plane;
// the main lcore runs the control plane (gRPC API on its own threads).
#include <getopt.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "control/config/config_loader.h"
#include "control/daemon.h"
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
  uint32_t log_level = RTE_LOG_INFO;
  unsigned stats_interval = 5;
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
      "      --log-level LEVEL    emerg|alert|crit|err|warning|notice|info|debug (default info)\n"
      "      --stats-interval S   print a counter summary every S seconds; 0 = never (default 5)\n"
      "      --print-config       print the effective config (defaults filled in) and exit\n"
      "  -h, --help               this text\n"
      "  -V, --version            print the version and exit\n"
      "\n"
      "Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime failure,\n"
      "2 on a bad command line or config (nothing is started then).\n");
}

std::optional<Options> parse_options(int argc, char** argv, int* exit_code) {
  enum { kListen = 1000, kSubnetFile, kStateDir, kLogLevel, kStatsInterval, kPrintConfig };
  static const option long_options[] = {
      {"config", required_argument, nullptr, 'c'},
      {"listen", required_argument, nullptr, kListen},
      {"subnet-file", required_argument, nullptr, kSubnetFile},
      {"state-dir", required_argument, nullptr, kStateDir},
      {"log-level", required_argument, nullptr, kLogLevel},
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
      case kStatsInterval: {
        char* end = nullptr;
        const long v = std::strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || v < 0 || v > 86400) {
          std::fprintf(stderr, "tartand: --stats-interval: expected seconds 0..86400, got '%s'\n",
                       optarg);
          *exit_code = kExitUsage;
          return std::nullopt;
        }
        o.stats_interval = static_cast<unsigned>(v);
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

void print_stats_line(const Engine& engine) {
  const StatsSnapshot s = engine.stats();
  std::string line = "tartand: stats";
  for (const PortStats& p : s.ports) {
    line += " | " + p.name + " rx " + std::to_string(p.rx_packets) + " tx " +
            std::to_string(p.tx_packets);
  }
  uint64_t drops = 0;
  for (uint64_t d : s.drops) drops += d;
  line += " | dropped " + std::to_string(drops);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int run(const Options& opts) {
  // Block the stop signals before EAL or gRPC start threads, so every thread
  // inherits the mask and only the main loop's sigtimedwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  set_log_level(opts.log_level);

  auto config = opts.config_path ? load_config_file(*opts.config_path) : load_default_config();
  if (!config) {
    std::fprintf(stderr, "tartand: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  if (opts.listen) config->control.listen = *opts.listen;
  if (opts.subnet_file) config->subnet_file = *opts.subnet_file;
  if (opts.state_dir) config->node.state_dir = *opts.state_dir;
  if (opts.print_config) {
    std::printf("%s", config_to_yaml(*config).c_str());
    return kExitOk;
  }

  bool use_hugepages = true;
  switch (config->engine.eal.hugepages) {
    case HugepageMode::kOn:
      if (!hugepages_available()) {
        std::fprintf(
            stderr,
            "tartand: eal.hugepages is on but no free hugepages are mounted "
            "(echo 512 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev /dev/hugepages)\n");
        return kExitRuntime;
      }
      break;
    case HugepageMode::kOff:
      use_hugepages = false;
      break;
    case HugepageMode::kAuto:
      use_hugepages = hugepages_available();
      break;
  }
  std::printf("tartand %s: config %s; %s\n", kTartanVersion, config->source_name.c_str(),
              use_hugepages ? "hugepages" : "no hugepages available, running with --no-huge");
  std::fflush(stdout);

  // The source settles what EAL is to probe (lease.source kube: the
  // underlay our Node's annotations name) before EAL starts.
  auto daemon = Daemon::prepare(*config);
  if (!daemon) {
    std::fprintf(stderr, "tartand: %s\n", daemon.status().message().c_str());
    return kExitRuntime;
  }
  const std::vector<std::string> eal_args =
      build_eal_args((*daemon)->config().engine, use_hugepages);
  auto eal = Eal::init(eal_args);
  if (!eal) {
    std::fprintf(stderr, "tartand: %s\n", eal.status().message().c_str());
    return kExitRuntime;
  }
  set_log_level(opts.log_level);  // EAL's --log-level handling may have reset ours

  if (Status s = (*daemon)->launch(); !s.ok()) daemon = s;
  if (!daemon) {
    std::fprintf(stderr, "tartand: %s\n", daemon.status().message().c_str());
    return kExitRuntime;
  }
  Engine& engine = (*daemon)->engine();

  const std::string prefix =
      eal_args[std::find(eal_args.begin(), eal_args.end(), "--file-prefix") - eal_args.begin() + 1];
  for (const Port& p : engine.ports()) {
    std::printf("tartand: port %-10s %-9s %-12s mac %s, %u rx / %u tx queues\n", p.name().c_str(),
                port_role_name(p.role()), p.driver().c_str(), p.mac().str().c_str(), p.rx_queues(),
                p.tx_queues());
  }
  const DataplaneConfig& dp = (*daemon)->config().engine.dataplane;
  const auto lease = (*daemon)->lease().get();  // etcd and static have one by now
  std::printf(
      "tartand: %s backend (VNI %u, UDP port %u), public IP %s, podCIDR %s, VtepMAC %s, overlay "
      "MTU %u\n",
      backend_type_name(dp.backend), dp.vni, dp.udp_port,
      (*daemon)->config().engine.underlay.address.addr.str().c_str(),
      lease ? lease->pod_cidr.str().c_str() : "(none yet)", engine.vtep_mac().str().c_str(),
      dp.overlay_mtu());
  std::printf("tartand: %zu worker(s) polling on lcore(s)", engine.workers().size());
  for (const auto& w : engine.workers()) std::printf(" %u", w->lcore());
  std::printf(
      "\ntartand: ready. Control API on %s.\n"
      "tartand: counters: `tartanctl stats`, DPDK telemetry (dpdk-telemetry.py -f %s), "
      "and a summary here every %u s.\n"
      "tartand: stop with Ctrl-C or SIGTERM.\n",
      (*daemon)->config().control.listen.c_str(), prefix.c_str(), opts.stats_interval);
  std::fflush(stdout);

  const timespec tick{1, 0};
  unsigned seconds = 0;
  int signal_number = -1;
  while (signal_number < 0) {
    signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
    if (signal_number < 0 && opts.stats_interval && ++seconds % opts.stats_interval == 0) {
      print_stats_line(engine);
    }
  }
  std::printf("tartand: %s received, shutting down\n", strsignal(signal_number));
  std::fflush(stdout);

  (*daemon)->stop();
  print_stats_line(engine);
  daemon->reset();
  eal->reset();
  std::printf("tartand: stopped cleanly\n");
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
