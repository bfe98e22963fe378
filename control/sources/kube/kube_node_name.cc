#include "control/sources/kube/kube_node_name.h"

#include <nlohmann/json.hpp>

namespace tartan {

Result<std::string> kube_node_name(KubeHttp& http, const std::string& configured,
                                   const EnvLookup& env) {
  if (auto name = env("NODE_NAME"); name && !name->empty()) return *name;
  const auto pod = env("POD_NAME");
  const auto ns = env("POD_NAMESPACE");
  if (!pod || pod->empty() || !ns || ns->empty()) {
    if (configured.empty())
      return Status::invalid("node name: set NODE_NAME, POD_NAME and POD_NAMESPACE, or node.name");
    return configured;
  }
  const std::string what = "pod " + *ns + "/" + *pod;
  const std::string path =
      "/api/v1/namespaces/" + KubeHttp::escape(*ns) + "/pods/" + KubeHttp::escape(*pod);
  auto r = http.request("GET", path);
  if (!r) return Status(r.status().code(), "node name from " + what + ": " + r.status().message());
  if (!r->ok()) {
    return Status(r->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                  "node name from " + what + ": GET " + path + ": " + r->error());
  }
  const auto doc = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* name = nullptr;
  if (doc.is_object()) {
    if (const auto spec = doc.find("spec"); spec != doc.end() && spec->is_object()) {
      if (const auto it = spec->find("nodeName"); it != spec->end()) name = &*it;
    }
  }
  if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty())
    return Status::invalid("node name from " + what + ": spec.nodeName is empty");
  return name->get<std::string>();
}

}  // namespace tartan
