#include "perf/traffic.h"

#include <poll.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

#include "perf/frames.h"
#include "perf/json_result.h"
#include "perf/ndr_search.h"
#include "perf/ports.h"
#include "perf/report.h"
#include "perf/runner.h"

namespace tartan::perf {
namespace {

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "tartan-perf: %s\n", msg.c_str());
  return code;
}

// Which ports the mode uses; "" or the option at fault.
std::string resolve_ports(const TrafficOptions& o, uint16_t available, RunnerPorts& p,
                          std::vector<uint16_t>& used) {
  p.count = available;
  p.tx = o.tx_port;
  p.rx = o.rx_port.value_or(o.mode == Mode::kLoopback && available >= 2 ? 1 : 0);
  const std::string have = " (EAL created " + std::to_string(available) +
                           " port(s); add one with --vdev or a PCI device)";
  if (available == 0) return "no ports" + have;
  std::set<uint16_t> ports;
  if (has_generator(o.mode)) {
    if (p.tx >= available)
      return "--tx-port: port " + std::to_string(p.tx) + " does not exist" + have;
    ports.insert(p.tx);
  }
  if (has_receiver(o.mode)) {
    if (p.rx >= available)
      return "--rx-port: port " + std::to_string(p.rx) + " does not exist" + have;
    ports.insert(p.rx);
  }
  if (o.mode == Mode::kIo || o.mode == Mode::kMacSwap) {
    ports.insert(0);
    if (available >= 2) ports.insert(1);
  }
  used.assign(ports.begin(), ports.end());
  return "";
}

// DPDK 22.11's memif PMD unmaps a departed peer's memory under the threads
// still polling it, so a device under test that is not protected against
// that (dpdk-testpmd) must stop forwarding before we close our ports: it is
// told to once our result is out, and then closes our stdin. Ctrl-C and
// SIGTERM end the wait too.
void hold_until_stdin_ends(volatile std::sig_atomic_t& stop) {
  std::fflush(stdout);
  pollfd in{STDIN_FILENO, POLLIN, 0};
  char buf[256];
  while (!stop) {
    const int ready = poll(&in, 1, 100);
    if (ready < 0 && errno != EINTR) return;
    if (ready > 0 && read(STDIN_FILENO, buf, sizeof buf) <= 0) return;
  }
}

}  // namespace

int run_traffic(const TrafficOptions& o, volatile std::sig_atomic_t& stop) {
  RunnerPorts ports;
  std::vector<uint16_t> used;
  if (std::string err = resolve_ports(o, rte_eth_dev_count_avail(), ports, used); !err.empty())
    return fail(2, err);
  if (!o.json_path.empty()) {
    FILE* f = std::fopen(o.json_path.c_str(), "w");
    if (f == nullptr)
      return fail(2, "--json: cannot write " + o.json_path + ": " + std::strerror(errno));
    std::fclose(f);
  }

  std::unique_ptr<FrameFactory> frames;
  uint16_t max_frame = 0;
  if (has_generator(o.mode)) {
    frames = std::make_unique<FrameFactory>(o, o.src_mac.value_or(Ports::mac(ports.tx)));
    if (std::string err = frames->self_check(); !err.empty())
      return fail(1, "internal error: generated frames fail their own check: " + err);
    max_frame = frames->max_frame_len();
  }
  std::string err;
  auto opened = Ports::open(used, o, max_frame, err);
  if (!opened) return fail(1, err);

  TrialResult result;
  std::optional<SearchResult> search;
  RunInfo info{ports.tx, ports.rx, 1};
  {
    Runner runner(o, opened->pool(), frames.get(), ports, stop);
    info.lcores = runner.lcores();
    if (rte_lcore_count() > 2)
      std::printf("tartan-perf: using lcores %u and %u of %u\n", rte_get_main_lcore(),
                  rte_get_next_lcore(-1, 1, 0), rte_lcore_count());
    if (o.ndr) {
      search = ndr_search(
          o, [&](double rate) { return runner.run(rate, o.trial_duration_s, 0, false); },
          [&](unsigned n, const TrialResult& t) {
            if (!o.quiet) print_trial(o, n, t);
          },
          [&] { return runner.stopped(); });
      result = search->ndr_trial;
      print_search(o, *search);
    } else {
      result = runner.run(o.rate_pps, o.duration_s, o.packets, !o.quiet);
      print_summary(o, result);
    }
  }
  if (!o.json_path.empty()) {
    if (std::string werr = write_result_json(o, info, result, search ? &*search : nullptr);
        !werr.empty())
      return fail(1, werr);
  }
  if (o.hold_ports) hold_until_stdin_ends(stop);
  return 0;
}

}  // namespace tartan::perf
