// tartan-perf: testpmd-style traffic for tartan's perf suite.
//   tartan-perf [EAL args] -- --mode txonly|rxonly|loopback|io|macswap [options]
// Options are checked before EAL starts, so a bad one costs nothing.
#include <rte_eal.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/eal.h"
#include "perf/options.h"
#include "perf/traffic.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

}  // namespace

int main(int argc, char** argv) {
  using tartan::perf::ParseOutcome;
  // EAL's arguments come before "--", ours after it.
  int dash = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      dash = i;
      break;
    }
  }
  std::vector<std::string> ours(argv + (dash < argc ? dash + 1 : argc), argv + argc);
  if (dash == argc) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "-h" || a == "--help") {
        tartan::perf::print_usage(stdout);
        return 0;
      }
      if (tartan::perf::is_our_option(a)) {
        std::fprintf(stderr, "tartan-perf: %s: tartan-perf's options go after -- (see --help)\n",
                     a.c_str());
        return 2;
      }
    }
  }
  const ParseOutcome parsed = tartan::perf::parse_options(ours);
  if (parsed.action == ParseOutcome::Action::kHelp) {
    tartan::perf::print_usage(stdout);
    return 0;
  }
  if (parsed.action == ParseOutcome::Action::kError) {
    std::fprintf(stderr, "tartan-perf: %s\n", parsed.error.c_str());
    return 2;
  }

  const int eal_argc = dash;  // argv[0] and the EAL arguments
  tartan::remove_runtime_dir_at_exit();
  if (rte_eal_init(eal_argc, argv) < 0) {
    std::fprintf(stderr,
                 "tartan-perf: EAL initialisation failed (see above); tartan-perf's own options "
                 "go after --, see --help\n");
    return 2;
  }
  tartan::note_eal_started();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const int rc = tartan::perf::run_traffic(parsed.options, g_stop);
  rte_eal_cleanup();
  return rc;
}
