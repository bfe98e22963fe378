#include "engine/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_pdump.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include "engine/callback_barrier.h"
#include "engine/log.h"
#include "engine/path/vnet_tap.h"

namespace tartan {

namespace {

// Where hugetlbfs is mounted, from /proc/mounts.
std::vector<std::string> hugetlbfs_mounts() {
  std::ifstream mounts("/proc/mounts");
  std::vector<std::string> dirs;
  std::string device, dir, type;
  while (mounts >> device >> dir >> type) {
    if (type == "hugetlbfs") dirs.push_back(dir);
    mounts.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return dirs;
}

}  // namespace

uint64_t free_hugepage_mb() {
  if (hugetlbfs_mounts().empty()) return 0;
  std::string line;
  std::ifstream meminfo("/proc/meminfo");
  uint64_t free_pages = 0;
  uint64_t page_kb = 0;
  while (std::getline(meminfo, line)) {
    if (line.rfind("HugePages_Free:", 0) == 0) free_pages = std::stoull(line.substr(15));
    if (line.rfind("Hugepagesize:", 0) == 0) page_kb = std::stoull(line.substr(13));
  }
  return free_pages * page_kb / 1024;
}

size_t remove_hugepage_files(const std::string& prefix) {
  // EAL names them <prefix>map_<n> (eal_get_hugefile_path).
  const std::string stem = prefix + "map_";
  size_t removed = 0;
  for (const std::string& dir : hugetlbfs_mounts()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().rfind(stem, 0) == 0 &&
          std::filesystem::remove(entry.path(), ec))
        ++removed;
    }
  }
  return removed;
}

bool is_pci_device(const std::string& device) {
  static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7](,.*)?$)");
  return std::regex_match(device, pci);
}

std::string device_port_name(const std::string& device) {
  std::string name = device.substr(0, device.find(','));
  if (is_pci_device(name) && std::count(name.begin(), name.end(), ':') == 1) name = "0000:" + name;
  return name;
}

std::string device_iface(const std::string& device) {
  std::stringstream args(device);
  std::string arg;
  while (std::getline(args, arg, ',')) {
    if (arg.rfind("iface=", 0) == 0) return arg.substr(6);
  }
  return "";
}

std::string eal_file_prefix(const EalConfig& eal) {
  return eal.file_prefix.empty() ? "tartan-" + std::to_string(getpid()) : eal.file_prefix;
}

std::vector<std::string> build_eal_args(const EngineConfig& config, bool use_hugepages) {
  std::vector<unsigned> lcores{config.eal.main_lcore};
  for (unsigned l : config.workers.lcores) lcores.push_back(l);
  std::ostringstream lcore_list;
  for (size_t i = 0; i < lcores.size(); ++i) lcore_list << (i ? "," : "") << lcores[i];

  // An --lcores map in extra_args places lcores on CPUs itself (e.g. more
  // workers than CPUs); EAL refuses it next to -l.
  const bool mapped = std::any_of(
      config.eal.extra_args.begin(), config.eal.extra_args.end(),
      [](const std::string& a) { return a == "--lcores" || a.rfind("--lcores=", 0) == 0; });
  std::vector<std::string> args{"tartand"};
  if (!mapped) args.insert(args.end(), {"-l", lcore_list.str()});
  args.insert(args.end(), {"--main-lcore", std::to_string(config.eal.main_lcore)});
  args.insert(args.end(), {"--file-prefix", eal_file_prefix(config.eal)});
  // Nothing may outlive the process, even when it is killed: --in-memory
  // keeps hugepage backing files unlinked; --no-huge has no such files but
  // implies legacy memory, which --in-memory refuses, so there --no-shconf
  // keeps the shared config files away instead.
  // memif's peers find each other through the multi-process channel, which
  // --in-memory disables; --huge-unlink still unlinks the backing files.
  // A secondary process maps the primary's hugepage files, so with
  // eal.secondary_processes they stay (the next EAL to start on this
  // machine removes those of a process that died).
  const bool any_memif =
      std::any_of(config.ports.begin(), config.ports.end(),
                  [](const PortConfig& p) { return p.device.rfind("net_memif", 0) == 0; });
  if (use_hugepages) {
    if (!config.eal.secondary_processes)
      args.push_back(any_memif ? "--huge-unlink" : "--in-memory");
  } else {
    args.insert(args.end(), {"--no-huge", "--no-shconf"});
  }
  args.insert(args.end(), {"-m", std::to_string(config.eal.memory_mb)});

  bool any_pci = false;
  for (const PortConfig& port : config.ports) {
    if (is_pci_device(port.device)) {
      args.insert(args.end(), {"-a", port.device});
      any_pci = true;
    } else if (!is_vnet_tap_device(port.device)) {  // the engine opens those itself
      args.insert(args.end(), {"--vdev", port.device});
    }
  }
  if (!any_pci) args.push_back("--no-pci");
  args.insert(args.end(), config.eal.extra_args.begin(), config.eal.extra_args.end());
  return args;
}

namespace {

bool g_eal_started = false;

// DPDK's telemetry unlinks its sockets from an atexit handler registered
// during rte_eal_init; registering this one before init makes it run after
// that. Only a process whose EAL started owns the directory: a failed init
// may have met another process's prefix.
void remove_runtime_dir() {
  if (!g_eal_started) return;
  std::error_code ignored;
  const std::filesystem::path dir = rte_eal_get_runtime_dir();
  std::filesystem::remove_all(dir, ignored);
  // Only kept with eal.secondary_processes; the memory is unmapped by now.
  remove_hugepage_files(dir.filename());
}

}  // namespace

void remove_runtime_dir_at_exit() {
  static const bool registered = (std::atexit(remove_runtime_dir), true);
  (void)registered;
}

void note_eal_started() {
  g_eal_started = true;
}

Result<std::unique_ptr<Eal>> Eal::init(const std::vector<std::string>& args, bool pdump) {
  remove_runtime_dir_at_exit();
  std::vector<char*> argv;
  std::vector<std::string> storage(args);  // rte_eal_init may permute argv
  for (auto& a : storage) argv.push_back(a.data());
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  TARTAN_LOG(INFO, kEngine, "starting EAL: %s", joined.c_str());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    return Status(ErrorCode::kFailedPrecondition, std::string("EAL initialisation failed: ") +
                                                      rte_strerror(rte_errno) +
                                                      " (arguments: " + joined + ")");
  }
  note_eal_started();
  const bool huge = std::find(args.begin(), args.end(), "--no-huge") == args.end();
  std::unique_ptr<Eal> eal(new Eal(huge));
  if (pdump) {
    // Registers the multi-process request dpdk-dumpcap sends; its RX/TX
    // callbacks are installed on a port only while a capture runs, and
    // their removal must wait for the workers (callback_barrier.h).
    if (!callback_barrier::interposed()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "eal.secondary_processes: this executable does not export "
                    "rte_eth_remove_rx_callback/rte_eth_remove_tx_callback (link with the "
                    "engine's dependency): ending a dpdk-dumpcap capture could crash it");
    }
    if (rte_pdump_init() != 0) {
      return Status(ErrorCode::kFailedPrecondition,
                    std::string("rte_pdump_init failed: ") + rte_strerror(rte_errno));
    }
    eal->pdump_ = true;
  }
  return eal;
}

Eal::~Eal() {
  if (pdump_) rte_pdump_uninit();
  rte_eal_cleanup();
}

}  // namespace tartan
