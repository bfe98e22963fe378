// A Kubernetes watch response as the API server (or anything pretending to
// be one) could send it: the stream splitter (control/sources/kube/
// watch_stream), each event decoded, and the same bytes as a Node and as a
// NodeList (node_decoder). The first input byte seeds how the rest is cut
// into reads. Whatever the input: no crash, no exception escapes; the
// values do not depend on the cutting; errors name a field; a decoded Node
// says the same once written back as JSON and decoded again.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "control/sources/kube/node_decoder.h"
#include "control/sources/kube/watch_stream.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tartan;

constexpr size_t kMaxValue = 1 << 20;

struct Split {
  std::vector<std::string> values;
  Status status;
};

// Feeds `bytes` in pieces whose sizes follow `seed`.
Split split(std::string_view bytes, uint8_t seed) {
  JsonStreamSplitter splitter(kMaxValue);
  Split out;
  uint32_t state = seed;
  for (size_t at = 0; at < bytes.size() && out.status.ok();) {
    state = state * 1103515245 + 12345;
    const size_t n = seed == 0 ? bytes.size() : 1 + (state >> 16) % (seed * 4u);
    out.status = splitter.feed(bytes.substr(at, n), [&](std::string_view v) {
      out.values.emplace_back(v);
      return Status();
    });
    at += n;
  }
  return out;
}

bool starts_with_any(const std::string& s, std::initializer_list<const char*> prefixes) {
  for (const char* p : prefixes)
    if (s.rfind(p, 0) == 0) return true;
  return false;
}

nlohmann::json to_json(const KubeNode& n) {
  nlohmann::json addresses = nlohmann::json::array();
  for (const auto& a : n.spec.addresses)
    addresses.push_back({{"type", a.type}, {"address", a.address}});
  nlohmann::json j = {
      {"metadata",
       {{"name", n.spec.name},
        {"resourceVersion", n.resource_version},
        {"annotations", n.spec.annotations}}},
      {"spec", {{"podCIDRs", n.spec.pod_cidrs}}},
      {"status", {{"addresses", addresses}, {"conditions", nlohmann::json::array()}}}};
  if (n.network_unavailable) {
    j["status"]["conditions"].push_back({{"type", "NetworkUnavailable"},
                                         {"status", n.network_unavailable->status},
                                         {"reason", n.network_unavailable->reason}});
  }
  return j;
}

void check_node(const Result<KubeNode>& node, const NodeDecodeOptions& options) {
  if (!node.ok()) return;
  FUZZ_CHECK(!node->spec.name.empty(), "a node without a name");
  FUZZ_CHECK(node_kept_bytes(*node) >= sizeof(KubeNode), "kept bytes below the object's size");
  auto again = decode_node(to_json(*node).dump(), options);
  FUZZ_CHECK(again.ok(), "a decoded node does not decode again: " + again.status().message());
  FUZZ_CHECK(*again == *node, "a decoded node changes when written back: " + to_json(*node).dump());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const NodeDecodeOptions options =
      node_decode_options(annotation_keys("flannel.alpha.coreos.com").value(), "worker-1");

  const Split whole = split(bytes, 0);
  const Split cut = split(bytes, data[0]);
  FUZZ_CHECK(whole.values == cut.values, "the values depend on how the stream is cut");
  FUZZ_CHECK(whole.status.ok() == cut.status.ok(), "the verdict depends on how the stream is cut");

  for (const std::string& value : whole.values) {
    auto event = decode_watch_event(value, options);
    if (!event.ok()) {
      FUZZ_CHECK(starts_with_any(event.status().message(), {"watch event: ", "type: ", "object"}),
                 "an event error that names no field: " + event.status().message());
      continue;
    }
    if (event->type == WatchEventType::kAdded || event->type == WatchEventType::kModified ||
        event->type == WatchEventType::kDeleted)
      check_node(event->node, options);
  }

  auto node = decode_node(bytes, options);
  if (!node.ok()) {
    FUZZ_CHECK(starts_with_any(node.status().message(),
                               {"invalid JSON: ", "node: ", "metadata", "spec.", "status"}),
               "a node error that names no field: " + node.status().message());
  }
  check_node(node, options);
  auto list = decode_node_list(bytes, options);
  if (!list.ok()) {
    FUZZ_CHECK(starts_with_any(list.status().message(),
                               {"invalid JSON: ", "node list: ", "metadata", "items"}),
               "a list error that names no field: " + list.status().message());
  }
  return 0;
}
