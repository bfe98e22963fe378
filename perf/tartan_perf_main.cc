// tartan-perf: testpmd-style traffic for tartan's perf suite.
//   tartan-perf [EAL args] -- --mode txonly|rxonly|io [options]
#include <getopt.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "perf/traffic.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: tartan-perf [EAL options] -- [options]\n"
      "\n"
      "testpmd-style traffic generator and receiver for the tartan perf suite.\n"
      "Ports are the DPDK ethdevs EAL creates (e.g. --vdev net_ring0), numbered from 0.\n"
      "\n"
      "Options:\n"
      "  --mode MODE        txonly: send generated frames; rxonly: count received frames;\n"
      "                     io: forward port 0 <-> port 1 unchanged (default txonly)\n"
      "  --tx-port N        port to send on (txonly; default 0)\n"
      "  --rx-port N        port to receive on (rxonly; default 0)\n"
      "  --size BYTES       frame size without CRC, 60..1514 (default 64)\n"
      "  --flows N          distinct UDP source ports, 1..65535 (default 1)\n"
      "  --dst-ip A.B.C.D   inner destination IPv4 (default 10.244.2.10)\n"
      "  --duration SEC     stop after SEC seconds (default 5; 0 = until Ctrl-C)\n"
      "  --burst N          packets per burst, 1..64 (default 32)\n"
      "  -h, --help         this text\n");
}

void on_signal(int) {
  g_stop = 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int eal_argc = rte_eal_init(argc, argv);
  if (eal_argc < 0) {
    std::fprintf(stderr,
                 "tartan-perf: EAL initialisation failed (see above); try --help after --\n");
    return 2;
  }
  argc -= eal_argc;
  argv += eal_argc;

  tartan::perf::TrafficOptions opts;
  enum { kMode = 1000, kTxPort, kRxPort, kSize, kFlows, kDstIp, kDuration, kBurst, kMbufs };
  static const option long_options[] = {
      {"mode", required_argument, nullptr, kMode},
      {"tx-port", required_argument, nullptr, kTxPort},
      {"rx-port", required_argument, nullptr, kRxPort},
      {"size", required_argument, nullptr, kSize},
      {"flows", required_argument, nullptr, kFlows},
      {"dst-ip", required_argument, nullptr, kDstIp},
      {"duration", required_argument, nullptr, kDuration},
      {"burst", required_argument, nullptr, kBurst},
      {"mbufs", required_argument, nullptr, kMbufs},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", long_options, nullptr)) != -1) {
    switch (c) {
      case kMode:
        opts.mode = optarg;
        break;
      case kTxPort:
        opts.tx_port = static_cast<uint16_t>(std::atoi(optarg));
        break;
      case kRxPort:
        opts.rx_port = static_cast<uint16_t>(std::atoi(optarg));
        break;
      case kSize:
        opts.frame_size = static_cast<uint16_t>(std::atoi(optarg));
        break;
      case kFlows:
        opts.flows = static_cast<uint32_t>(std::atoi(optarg));
        break;
      case kDstIp:
        opts.dst_ip = optarg;
        break;
      case kDuration:
        opts.duration_seconds = static_cast<unsigned>(std::atoi(optarg));
        break;
      case kBurst:
        opts.burst = static_cast<uint16_t>(std::atoi(optarg));
        break;
      case 'h':
        usage(stdout);
        rte_eal_cleanup();
        return 0;
      default:
        usage(stderr);
        rte_eal_cleanup();
        return 2;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const int rc = tartan::perf::run_traffic(opts, g_stop);
  rte_eal_cleanup();
  return rc;
}
