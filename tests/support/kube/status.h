// The API server double's answers: an object or a metav1.Status, worded as
// kube-apiserver words them (k8s.io/apimachinery/pkg/api/errors/errors.go,
// k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tartan::testing::kube {

using Json = nlohmann::ordered_json;

// What a verb produced: the HTTP code and its body (the object, or a Status).
struct Outcome {
  int code = 200;
  Json body;
  bool ok() const { return code < 300; }
};

// A Status of `code` with `reason` and `message`; `details` only when given.
Outcome failure(int code, const std::string& reason, const std::string& message,
                Json details = nullptr);

// `resource` is the plural lower-case resource ("nodes"); StatusDetails.kind
// holds it, as the real server does.
Outcome not_found(const std::string& resource, const std::string& name);
Outcome already_exists(const std::string& resource, const std::string& name);
Outcome conflict(const std::string& resource, const std::string& name, const std::string& why);
// `causes`: one {"reason","message","field"} per invalid field.
Outcome invalid(const std::string& kind, const std::string& name, const Json& causes);
Outcome bad_request(const std::string& message);
Outcome expired(const std::string& message);
Outcome forbidden(const std::string& resource, const std::string& name, const std::string& user,
                  const std::string& verb, const std::string& resource_and_subresource,
                  const std::string& namespace_name);
Outcome unauthorized();
Outcome method_not_allowed();
Outcome unsupported_media_type();
Outcome too_large_resource_version(uint64_t wanted, uint64_t current);
Outcome internal_error(const std::string& message);
Outcome service_unavailable(const std::string& message);
Outcome request_entity_too_large(size_t limit);

// Status "Success" for a deleted object (generic registry's finalizeDelete).
Outcome deleted(const std::string& resource, const std::string& name, const std::string& uid);

}  // namespace tartan::testing::kube
