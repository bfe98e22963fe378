// Checks of a loaded config against this host, made before EAL, ports or
// anything else on the host is touched: what would otherwise fail half-way
// through start-up (EAL's usage dump, a port already up) fails here, naming
// the key.
#pragma once

#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

struct StartupPlan {
  bool use_hugepages = true;
  std::string hugepage_note;  // why hugepages are not used ("" when they are)
};

// workers.lcores and eal.main_lcore are CPUs this process may run on;
// eal.hugepages `on` has eal.memory_mb free (`auto` falls back to --no-huge
// when not); control.listen is no socket another process answers on.
Result<StartupPlan> check_startup(const Config& config);

}  // namespace tartan
