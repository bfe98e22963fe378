// The API server double's routes and verbs: discovery, Nodes (LIST, WATCH,
// GET, POST, PUT, PATCH, DELETE, and the status subresource), Pods (GET),
// behind authentication and authorization.
#pragma once

#include <chrono>
#include <string>

#include "tests/support/kube/access.h"
#include "tests/support/kube/exchange.h"
#include "tests/support/kube/server_state.h"

namespace tartan::testing::kube {

struct HandlerConfig {
  AccessPolicy access;
  // Between BOOKMARKs on a watch that asked for them (kube-apiserver: 1 min).
  std::chrono::milliseconds bookmark_interval{60'000};
  // A watch without timeoutSeconds ends after a random time between this
  // and twice this (--min-request-timeout, 1800 s by default).
  std::chrono::milliseconds min_request_timeout{1'800'000};
  bool paginate_any_version = false;
  std::string server_address;  // "host:port" for /api
};

// The reply to `request`, and the user it was served as ("" when the
// policy is open or authentication failed). Takes the state's lock.
Reply handle_request(ServerState& state, const HandlerConfig& config, const Request& request,
                     std::string& user);

}  // namespace tartan::testing::kube
