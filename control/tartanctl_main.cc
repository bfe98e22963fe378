// tartanctl: the admin client of tartand's tartan.v1 gRPC API.
#include <getopt.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tartan/v1/config.grpc.pb.h"
#include "tartan/v1/health.grpc.pb.h"
#include "tartan/v1/stats.grpc.pb.h"
#include "version.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

enum class Output { kTable, kJson, kYaml };

struct GlobalOptions {
  std::string socket = "/run/tartan/tartan.sock";
  std::string addr;  // HOST:PORT: TCP with TLS
  std::string tls_ca, tls_cert, tls_key;
  Output output = Output::kTable;
  unsigned timeout_seconds = 5;
};

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: tartanctl [GLOBAL OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Admin client for tartand (tartan.v1 gRPC API).\n"
               "\n"
               "Commands:\n"
               "  health     liveness and readiness of tartand, condition by condition\n"
               "  config     the effective config tartand runs with (YAML)\n"
               "  stats      port, worker and drop-reason counters\n"
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

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "tartanctl: cannot read '%s'\n", path.c_str());
    std::exit(kExitUsage);
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::shared_ptr<grpc::Channel> connect(const GlobalOptions& g) {
  if (g.addr.empty())
    return grpc::CreateChannel("unix://" + g.socket, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions ssl;
  if (!g.tls_ca.empty()) ssl.pem_root_certs = read_file(g.tls_ca);
  if (!g.tls_cert.empty()) ssl.pem_cert_chain = read_file(g.tls_cert);
  if (!g.tls_key.empty()) ssl.pem_private_key = read_file(g.tls_key);
  return grpc::CreateChannel(g.addr, grpc::SslCredentials(ssl));
}

void set_deadline(grpc::ClientContext& ctx, const GlobalOptions& g) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(g.timeout_seconds));
}

int report(const grpc::Status& s, const GlobalOptions& g) {
  const std::string where = g.addr.empty() ? g.socket : g.addr;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::fprintf(stderr, "tartanctl: cannot reach tartand at %s: %s\n", where.c_str(),
                 s.error_message().c_str());
  } else {
    std::fprintf(stderr, "tartanctl: %s\n", s.error_message().c_str());
  }
  return kExitFailed;
}

std::string to_json(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, opts);
  return json;
}

std::string to_yaml(const google::protobuf::Message& m) {
  YAML::Emitter out;
  out << YAML::Load(to_json(m));
  return std::string(out.c_str()) + "\n";
}

// Prints `m` as JSON or YAML when asked; returns false for table output.
bool print_structured(const google::protobuf::Message& m, const GlobalOptions& g) {
  if (g.output == Output::kJson)
    std::printf("%s", to_json(m).c_str());
  else if (g.output == Output::kYaml)
    std::printf("%s", to_yaml(m).c_str());
  else
    return false;
  return true;
}

// Aligned columns, as kubectl prints them.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

bool wants_help(const std::vector<std::string>& args, const char* text) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("%s", text);
      return true;
    }
  }
  return false;
}

int cmd_health(const GlobalOptions& g, const std::vector<std::string>& args) {
  if (wants_help(args,
                 "Usage: tartanctl health\n\nLiveness, readiness and each readiness condition of "
                 "tartand.\n"
                 "Exits 0 when tartand is ready, 1 when it is not (or cannot be reached).\n")) {
    return kExitOk;
  }
  auto stub = tartan::v1::Health::NewStub(connect(g));
  grpc::ClientContext ctx;
  set_deadline(ctx, g);
  tartan::v1::HealthCheckResponse resp;
  grpc::Status s = stub->Check(&ctx, {}, &resp);
  if (!s.ok()) return report(s, g);
  if (!print_structured(resp, g)) {
    std::printf("tartand %s: %s (up %llus)\n", resp.version().c_str(),
                resp.ready() ? "ready" : "NOT READY",
                static_cast<unsigned long long>(resp.uptime_seconds()));
    std::vector<std::vector<std::string>> rows{{"CONDITION", "OK", "MESSAGE"}};
    for (const auto& c : resp.conditions())
      rows.push_back({c.name(), c.ok() ? "yes" : "no", c.message()});
    print_table(rows);
  }
  return resp.ready() ? kExitOk : kExitFailed;
}

int cmd_config(const GlobalOptions& g, const std::vector<std::string>& args) {
  if (wants_help(args,
                 "Usage: tartanctl config\n\nThe effective config of tartand, every default filled "
                 "in.\n")) {
    return kExitOk;
  }
  auto stub = tartan::v1::Config::NewStub(connect(g));
  grpc::ClientContext ctx;
  set_deadline(ctx, g);
  tartan::v1::GetConfigResponse resp;
  grpc::Status s = stub->GetConfig(&ctx, {}, &resp);
  if (!s.ok()) return report(s, g);
  if (g.output == Output::kJson) {
    std::printf("%s", to_json(resp).c_str());
  } else {
    std::printf("# source: %s\n%s", resp.source().c_str(), resp.yaml().c_str());
  }
  return kExitOk;
}

int cmd_stats(const GlobalOptions& g, const std::vector<std::string>& args) {
  if (wants_help(args,
                 "Usage: tartanctl stats\n\nPort, worker and drop-reason counters (summed over "
                 "workers).\n")) {
    return kExitOk;
  }
  auto stub = tartan::v1::Stats::NewStub(connect(g));
  grpc::ClientContext ctx;
  set_deadline(ctx, g);
  tartan::v1::StatsSnapshot resp;
  grpc::Status s = stub->GetStats(&ctx, {}, &resp);
  if (!s.ok()) return report(s, g);
  if (print_structured(resp, g)) return kExitOk;
  std::vector<std::vector<std::string>> ports{{"PORT", "ROLE", "RX-PKTS", "RX-BYTES", "TX-PKTS",
                                               "TX-BYTES", "HW-MISSED", "HW-RX-ERR", "HW-TX-ERR"}};
  for (const auto& p : resp.ports()) {
    ports.push_back({p.name(), p.role(), std::to_string(p.rx_packets()),
                     std::to_string(p.rx_bytes()), std::to_string(p.tx_packets()),
                     std::to_string(p.tx_bytes()), std::to_string(p.hw_rx_missed()),
                     std::to_string(p.hw_rx_errors()), std::to_string(p.hw_tx_errors())});
  }
  print_table(ports);
  std::printf("\n");
  std::vector<std::vector<std::string>> workers{{"WORKER-LCORE", "LOOPS", "BUSY-LOOPS"}};
  for (const auto& w : resp.workers()) {
    workers.push_back(
        {std::to_string(w.lcore()), std::to_string(w.loops()), std::to_string(w.busy_loops())});
  }
  print_table(workers);
  std::printf("\n");
  std::vector<std::vector<std::string>> drops{{"DROP-REASON", "PACKETS", "MEANING"}};
  for (const auto& d : resp.drops())
    drops.push_back({d.reason(), std::to_string(d.packets()), d.help()});
  print_table(drops);
  return kExitOk;
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
      case kTimeout:
        g.timeout_seconds = static_cast<unsigned>(std::strtoul(optarg, nullptr, 10));
        break;
      case 'o': {
        const std::string v = optarg;
        if (v == "table")
          g.output = Output::kTable;
        else if (v == "json")
          g.output = Output::kJson;
        else if (v == "yaml")
          g.output = Output::kYaml;
        else {
          std::fprintf(stderr, "tartanctl: --output: expected table, json or yaml, got '%s'\n",
                       optarg);
          return kExitUsage;
        }
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
  const std::vector<std::string> args(argv + optind + 1, argv + argc);
  const std::map<std::string,
                 std::function<int(const GlobalOptions&, const std::vector<std::string>&)>>
      commands{{"health", cmd_health}, {"config", cmd_config}, {"stats", cmd_stats}};
  auto it = commands.find(command);
  if (it == commands.end()) {
    std::fprintf(stderr, "tartanctl: unknown command '%s' (see tartanctl --help)\n",
                 command.c_str());
    return kExitUsage;
  }
  return it->second(g, args);
}
