#include "control/config/startup_checks.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "control/host/leftovers.h"
#include "engine/eal.h"

namespace tartan {
namespace {

// EAL pins lcore N to CPU N (-l) and refuses a CPU it does not detect
// (eal_cpu_detected: /sys/devices/system/cpu/cpuN/topology/core_id). Not
// the caller's affinity mask: a parent that is itself a DPDK process has
// narrowed its own, and EAL sets each lcore's affinity anew.
Status check_cpus(const EngineConfig& engine) {
  const auto& extra = engine.eal.extra_args;
  if (std::any_of(extra.begin(), extra.end(), [](const std::string& a) {
        return a == "--lcores" || a.rfind("--lcores=", 0) == 0;
      })) {
    return Status();  // an --lcores map places lcores on CPUs itself
  }
  const auto usable = [](unsigned cpu) {
    return std::filesystem::exists("/sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                                   "/topology/core_id");
  };
  const std::string cpus =
      std::to_string(sysconf(_SC_NPROCESSORS_CONF)) + " CPU(s) on this machine";
  for (size_t i = 0; i < engine.workers.lcores.size(); ++i) {
    const unsigned lcore = engine.workers.lcores[i];
    if (!usable(lcore))
      return Status::invalid("workers.lcores[" + std::to_string(i) + "]: CPU " +
                             std::to_string(lcore) + " does not exist (" + cpus + ")");
  }
  if (!usable(engine.eal.main_lcore))
    return Status::invalid("eal.main_lcore: CPU " + std::to_string(engine.eal.main_lcore) +
                           " does not exist (" + cpus + ")");
  return Status();
}

}  // namespace

Result<StartupPlan> check_startup(const Config& config) {
  if (Status s = check_cpus(config.engine); !s.ok()) return s;
  StartupPlan plan;
  const EalConfig& eal = config.engine.eal;
  const uint64_t free_mb = free_hugepage_mb();
  const bool enough = free_mb >= eal.memory_mb;
  const std::string shortfall = "eal.memory_mb " + std::to_string(eal.memory_mb) + " exceeds the " +
                                std::to_string(free_mb) + " MiB of free hugepages";
  switch (eal.hugepages) {
    case HugepageMode::kOn:
      if (!enough)
        return Status::invalid(
            "eal.hugepages is on but " + shortfall +
            " (echo 512 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev /dev/hugepages)");
      break;
    case HugepageMode::kOff:
      plan.use_hugepages = false;
      plan.hugepage_note = "eal.hugepages is off";
      break;
    case HugepageMode::kAuto:
      plan.use_hugepages = enough;
      if (!enough) plan.hugepage_note = shortfall;
      break;
  }
  if (const std::string path = unix_socket_path(config.control.listen);
      !path.empty() && unix_socket_answers(path)) {
    return Status::invalid("control.listen: another process (a running tartand?) serves " +
                           config.control.listen);
  }
  return plan;
}

}  // namespace tartan
