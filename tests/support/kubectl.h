// The real kubectl (client-go) for tests against the Kubernetes API server
// double: a kubeconfig, HOME and discovery cache of its own in a directory.
#pragma once

#include <string>
#include <vector>

#include "tests/support/process.h"

namespace tartan::testing {

// How kubectl authenticates in its kubeconfig.
struct KubectlCredentials {
  std::string token;
  std::string client_cert;  // paths
  std::string client_key;
};

class Kubectl {
 public:
  // Writes `dir`/kubeconfig (creating `dir`) for `server`, trusting
  // `ca_file` when one is given.
  Kubectl(const std::string& dir, const std::string& server, const KubectlCredentials& who = {},
          const std::string& ca_file = "");

  // kubectl with `args`, for a Process of the test's own (`get -w`).
  std::vector<std::string> argv(const std::vector<std::string>& args) const;
  // Runs it to completion (60 s at most).
  CommandResult run(const std::vector<std::string>& args) const;

 private:
  std::string dir_;
};

}  // namespace tartan::testing
