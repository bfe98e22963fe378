// What every tartanctl command shares: the connection to tartand, call
// deadlines, error reporting and the command-line conventions.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/ctl/output.h"

namespace tartan::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string socket = "/run/tartan/tartan.sock";
  std::string addr;  // HOST:PORT: TCP with TLS
  std::string tls_ca, tls_cert, tls_key;
  Output output = Output::kTable;
  unsigned timeout_seconds = 5;
};

std::shared_ptr<grpc::Channel> connect(const GlobalOptions& g);
// A context whose deadline is the global timeout (none for streams).
std::unique_ptr<grpc::ClientContext> call_context(const GlobalOptions& g, bool stream = false);
// Prints the server's message (or why it cannot be reached); returns kExitFailed.
int report(const grpc::Status& s, const GlobalOptions& g);

using Args = std::vector<std::string>;
using Command = std::function<int(const GlobalOptions&, const Args&)>;

// Prints `usage` and returns true when args ask for --help/-h.
bool wants_help(const Args& args, const char* usage);
// Fails with a usage error naming the command unless args.size() is in [min, max].
bool check_arity(const Args& args, size_t min, size_t max, const char* usage);
int usage_error(const std::string& message);

std::map<std::string, Command> node_commands();
std::map<std::string, Command> info_commands();
std::map<std::string, Command> port_commands();

}  // namespace tartan::ctl
