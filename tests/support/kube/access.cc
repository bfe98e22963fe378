#include "tests/support/kube/access.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace tartan::testing::kube {

std::variant<std::string, Outcome> authenticate(const AccessPolicy& policy,
                                                const Request& request) {
  if (policy.open()) return std::string();
  // The union authenticator: the first that accepts wins; a credential
  // that is presented and refused, or none at all, is 401.
  if (policy.client_certificates && request.peer.presented && request.peer.verified)
    return request.peer.common_name;
  // bearertoken.go: "Bearer <token>", the scheme matched case-insensitively.
  std::istringstream words(request.header("authorization"));
  std::string scheme, token;
  words >> scheme >> token;
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme == "bearer" && !token.empty()) {
    const auto it = policy.tokens.find(token);
    if (it != policy.tokens.end()) return it->second;
  }
  return unauthorized();
}

std::optional<Outcome> authorize(const AccessPolicy& policy, const std::string& user,
                                 const Attributes& a) {
  const auto it = policy.grants.find(user);
  if (it == policy.grants.end()) return std::nullopt;
  const std::string resource =
      a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  for (const Grant& g : it->second) {
    if (g.verb == a.verb && g.resource == resource) return std::nullopt;
  }
  return forbidden(a.resource, a.name, user, a.verb, resource, a.namespace_name);
}

}  // namespace tartan::testing::kube
