// The API server's errors as a person reads them: a metav1.Status object
// (kind "Status": code, reason, message), the body of every error response
// and the object of a watch's ERROR event, turned into
// "403 Forbidden: nodes is forbidden: User ...".
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tartan {

struct KubeApiStatus {
  int code = 0;        // the HTTP status it stands for (410 for an expired version)
  std::string reason;  // "Expired", "Forbidden", "Unauthorized", ...
  std::string message;
};

// Reads a Status object; nullopt when `object` is not one.
std::optional<KubeApiStatus> kube_api_status(const nlohmann::json& object);

// "Forbidden", "Gone", ... (Go's http.StatusText); "" for a code it does not know.
const char* http_status_text(long code);

// "64 MiB", or "4096 bytes" when not a whole number of MiB: the limits in messages.
std::string size_text(size_t bytes);

// "<code> <text>: <Status message>" when `body` is a Status, else
// "<code> <text>: <the start of the body>" (or no body part when empty).
std::string describe_http_error(long code, std::string_view body);

}  // namespace tartan
