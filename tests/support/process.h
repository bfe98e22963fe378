// Real processes for process-level tests: spawn with output captured to a
// file, wait with a deadline, signal, and always reap.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tartan::testing {

class Process {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) with its output (stdout and stderr) in a
  // temp file.
  explicit Process(const std::vector<std::string>& argv);
  ~Process();  // SIGKILLs and reaps the process if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Exit code once it exits within `timeout`; nullopt if it is still running.
  // A death by signal is reported as 128 + signal, like a shell does.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string output_path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs a command to completion (killed after `timeout`), output captured.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls `probe` every `interval` until it returns true or `timeout` passes.
template <class Probe>
bool eventually(Probe probe, std::chrono::milliseconds timeout,
                std::chrono::microseconds interval = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    const timespec ts{0, static_cast<long>(interval.count()) * 1000};
    nanosleep(&ts, nullptr);
  }
  return probe();
}

}  // namespace tartan::testing
