#include "tests/support/kube/status.h"

namespace tartan::testing::kube {

Outcome failure(int code, const std::string& reason, const std::string& message, Json details) {
  // Field order of metav1.Status as Go encodes it.
  Json s = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason}};
  if (!details.is_null()) s["details"] = std::move(details);
  s["code"] = code;
  return {code, std::move(s)};
}

namespace {

Json details_of(const std::string& kind, const std::string& name) {
  Json d = Json::object();
  if (!name.empty()) d["name"] = name;
  d["kind"] = kind;
  return d;
}

std::string quoted(const std::string& s) {
  return Json(s).dump();
}

}  // namespace

Outcome not_found(const std::string& resource, const std::string& name) {
  return failure(404, "NotFound", resource + " " + quoted(name) + " not found",
                 details_of(resource, name));
}

Outcome already_exists(const std::string& resource, const std::string& name) {
  return failure(409, "AlreadyExists", resource + " " + quoted(name) + " already exists",
                 details_of(resource, name));
}

Outcome conflict(const std::string& resource, const std::string& name, const std::string& why) {
  return failure(409, "Conflict",
                 "Operation cannot be fulfilled on " + resource + " " + quoted(name) + ": " + why,
                 details_of(resource, name));
}

Outcome invalid(const std::string& kind, const std::string& name, const Json& causes) {
  // errors.NewInvalid: one error is printed bare, several as "[a, b]".
  std::string all;
  for (const auto& c : causes) {
    if (!all.empty()) all += ", ";
    all += c.value("field", "") + ": " + c.value("message", "");
  }
  if (causes.size() > 1) all = "[" + all + "]";
  Json details = details_of(kind, name);
  details["causes"] = causes;
  return failure(422, "Invalid", kind + " " + quoted(name) + " is invalid: " + all,
                 std::move(details));
}

Outcome bad_request(const std::string& message) {
  return failure(400, "BadRequest", message);
}

Outcome expired(const std::string& message) {
  return failure(410, "Expired", message);
}

Outcome forbidden(const std::string& resource, const std::string& name, const std::string& user,
                  const std::string& verb, const std::string& resource_and_subresource,
                  const std::string& namespace_name) {
  // responsewriters.forbiddenMessage, then errors.NewForbidden around it.
  std::string why = "User " + quoted(user) + " cannot " + verb + " resource " +
                    quoted(resource_and_subresource) + " in API group \"\"";
  why += namespace_name.empty() ? " at the cluster scope"
                                : " in the namespace " + quoted(namespace_name);
  const std::string subject = name.empty() ? resource : resource + " " + quoted(name);
  return failure(403, "Forbidden", subject + " is forbidden: " + why, details_of(resource, name));
}

Outcome unauthorized() {
  return failure(401, "Unauthorized", "Unauthorized");
}

Outcome method_not_allowed() {
  return failure(405, "MethodNotAllowed",
                 "the server does not allow this method on the requested resource");
}

Outcome unsupported_media_type() {
  return failure(415, "UnsupportedMediaType",
                 "the body of the request was in an unknown format - accepted media types "
                 "include: application/json-patch+json, application/merge-patch+json, "
                 "application/apply-patch+yaml, application/strategic-merge-patch+json");
}

Outcome too_large_resource_version(uint64_t wanted, uint64_t current) {
  // storage.NewTooLargeResourceVersionError: a Timeout with retryAfterSeconds 1.
  Json details = {{"causes", Json::array({{{"reason", "ResourceVersionTooLarge"},
                                           {"message", "Too large resource version"}}})},
                  {"retryAfterSeconds", 1}};
  return failure(504, "Timeout",
                 "Timeout: Too large resource version: " + std::to_string(wanted) +
                     ", current: " + std::to_string(current),
                 std::move(details));
}

Outcome internal_error(const std::string& message) {
  return failure(500, "InternalError", "Internal error occurred: " + message,
                 {{"causes", Json::array({{{"message", message}}})}});
}

Outcome service_unavailable(const std::string& message) {
  return failure(503, "ServiceUnavailable", message);
}

Outcome request_entity_too_large(size_t limit) {
  return failure(413, "RequestEntityTooLarge",
                 "Request entity too large: limit is " + std::to_string(limit));
}

Outcome deleted(const std::string& resource, const std::string& name, const std::string& uid) {
  Json details = details_of(resource, name);
  details["uid"] = uid;
  return {200,
          {{"kind", "Status"},
           {"apiVersion", "v1"},
           {"metadata", Json::object()},
           {"status", "Success"},
           {"details", std::move(details)}}};
}

}  // namespace tartan::testing::kube
