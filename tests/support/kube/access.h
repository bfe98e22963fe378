// Authentication and authorization of the API server double, as
// kube-apiserver does them with client certificates (the CN is the user),
// static bearer tokens, --anonymous-auth=false and RBAC: a request no
// authenticator accepts is 401, a verb the user's grants do not allow is
// 403 worded as the RBAC authorizer's denial is.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tests/support/kube/exchange.h"
#include "tests/support/kube/status.h"

namespace tartan::testing::kube {

// One (verb, resource) pair a user may use: "patch" on "nodes/status".
struct Grant {
  std::string verb;
  std::string resource;  // "nodes", "nodes/status", "pods"
};

struct AccessPolicy {
  std::map<std::string, std::string> tokens;  // bearer token -> user
  bool client_certificates = false;           // a client CA is configured
  // Users listed here may do only what their grants say; every other
  // authenticated user may do everything (as system:masters).
  std::map<std::string, std::vector<Grant>> grants;

  // Nothing configured: every request is served, as to an admin.
  bool open() const { return tokens.empty() && !client_certificates; }
};

// What a resource request asks for (authorizer.Attributes).
struct Attributes {
  std::string verb;
  std::string resource;
  std::string subresource;
  std::string name;
  std::string namespace_name;
};

// The user name, or the 401 to answer.
std::variant<std::string, Outcome> authenticate(const AccessPolicy& policy, const Request& request);
// The 403 to answer, if `user` may not do it.
std::optional<Outcome> authorize(const AccessPolicy& policy, const std::string& user,
                                 const Attributes& attributes);

}  // namespace tartan::testing::kube
