// What every tartanctl command shares: the connection to tartand, call
// deadlines, error reporting and the command-line conventions.
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

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

// What the command line asked for, run once it has been parsed whole.
using Action = std::function<int()>;

// A command's errors that are the user's (a file that cannot be read): exit 2.
int usage_error(const std::string& message);

// Each adds its commands to `app`; the one the command line names sets `run`.
// `g` is filled by the parser before `run` is called.
void add_node_commands(CLI::App& app, const GlobalOptions& g, Action& run);
void add_info_commands(CLI::App& app, const GlobalOptions& g, Action& run);
void add_port_commands(CLI::App& app, const GlobalOptions& g, Action& run);
void add_capture_commands(CLI::App& app, const GlobalOptions& g, Action& run);
void add_trace_commands(CLI::App& app, const GlobalOptions& g, Action& run);

}  // namespace tartan::ctl
