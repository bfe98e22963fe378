// tartanctl: the admin client of tartand's tartan.v1 gRPC API.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "control/ctl/client.h"
#include "version.h"

namespace {

using namespace tartan::ctl;

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: tartanctl [GLOBAL OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Admin client for tartand (tartan.v1 gRPC API).\n"
               "\n"
               "Commands:\n"
               "  nodes list|get NAME|apply -f FILE|delete NAME\n"
               "             the Kubernetes Nodes tartand mirrors, and the routes they give\n"
               "  events     follow node changes (WatchNodes)\n"
               "  lease      this node's lease and the annotations peers need; `lease set CIDR`,\n"
               "             `lease remote`\n"
               "  routes     what the forwarding tables hold\n"
               "  ports      devices, queues, offloads, and which flow rules the NIC runs\n"
               "             (`ports --flows`: the rules as dpdk-testpmd commands)\n"
               "  stats      port, worker, drop-reason, event and per-node counters (--watch 1s)\n"
               "  health     liveness and readiness, condition by condition\n"
               "  config     the effective config tartand runs with (YAML)\n"
               "\n"
               "Global options:\n"
               "  -s, --socket PATH     unix socket of tartand (default /run/tartan/tartan.sock,\n"
               "                        or $TARTAN_SOCKET)\n"
               "      --addr HOST:PORT  connect over TCP with TLS instead\n"
               "      --tls-ca FILE     CA that signed tartand's certificate (with --addr)\n"
               "      --tls-cert FILE   client certificate for mutual TLS (with --addr)\n"
               "      --tls-key FILE    client key for mutual TLS (with --addr)\n"
               "  -o, --output FORMAT   table (default), json or yaml\n"
               "      --timeout SEC     per-call deadline in seconds (default 5)\n"
               "  -h, --help            this text; `tartanctl COMMAND --help` for a command\n"
               "  -V, --version         print the version and exit\n"
               "\n"
               "Exit status: 0 on success, 1 when tartand reports an error (its message is\n"
               "printed) or cannot be reached, 2 on a bad command line.\n");
}

}  // namespace

int main(int argc, char** argv) {
  GlobalOptions g;
  if (const char* env = std::getenv("TARTAN_SOCKET")) g.socket = env;
  enum { kAddr = 1000, kTlsCa, kTlsCert, kTlsKey, kTimeout };
  static const option long_options[] = {
      {"socket", required_argument, nullptr, 's'},
      {"addr", required_argument, nullptr, kAddr},
      {"tls-ca", required_argument, nullptr, kTlsCa},
      {"tls-cert", required_argument, nullptr, kTlsCert},
      {"tls-key", required_argument, nullptr, kTlsKey},
      {"output", required_argument, nullptr, 'o'},
      {"timeout", required_argument, nullptr, kTimeout},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  int c;
  // "+": stop at the first non-option, the command; its own flags follow it.
  while ((c = getopt_long(argc, argv, "+s:o:hV", long_options, nullptr)) != -1) {
    switch (c) {
      case 's':
        g.socket = optarg;
        break;
      case kAddr:
        g.addr = optarg;
        break;
      case kTlsCa:
        g.tls_ca = optarg;
        break;
      case kTlsCert:
        g.tls_cert = optarg;
        break;
      case kTlsKey:
        g.tls_key = optarg;
        break;
      case kTimeout: {
        char* end = nullptr;
        const long v = std::strtol(optarg, &end, 10);
        if (*end != '\0' || v < 1 || v > 3600)
          return usage_error(std::string("--timeout: expected seconds 1..3600, got '") + optarg +
                             "'");
        g.timeout_seconds = static_cast<unsigned>(v);
        break;
      }
      case 'o': {
        const std::string v = optarg;
        if (v == "table")
          g.output = Output::kTable;
        else if (v == "json")
          g.output = Output::kJson;
        else if (v == "yaml")
          g.output = Output::kYaml;
        else
          return usage_error("--output: expected table, json or yaml, got '" + v + "'");
        break;
      }
      case 'h':
        usage(stdout);
        return kExitOk;
      case 'V':
        std::printf("tartanctl %s\n", tartan::kTartanVersion);
        return kExitOk;
      default:
        usage(stderr);
        return kExitUsage;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return kExitUsage;
  }
  const std::string command = argv[optind];
  const Args args(argv + optind + 1, argv + argc);
  std::map<std::string, Command> commands = node_commands();
  commands.merge(info_commands());
  commands.merge(port_commands());
  auto it = commands.find(command);
  if (it == commands.end())
    return usage_error("unknown command '" + command + "' (see tartanctl --help)");
  return it->second(g, args);
}
