#include "control/sources/kube/node_decoder.h"

#include <cstdint>

namespace tartan {
namespace {

using json = nlohmann::json;

constexpr std::string_view kTartanPrefix = "tartan.io/";
constexpr std::string_view kNetworkUnavailable = "NetworkUnavailable";

// Where a JSON member is, as far as the decoders care: each member's place
// follows from its parent's and its own name, so the parse callback needs
// no path.
enum class Place : uint8_t {
  kDiscard,
  kLeaf,  // kept whole (its members, were it a container, are not: the decoder refuses it)
  kListRoot,
  kListMeta,
  kItems,
  kEventRoot,
  kNode,
  kMeta,
  kAnnotations,
  kSpec,
  kStringList,
  kStatus,
  kAddresses,
  kAddress,
  kConditions,
  kCondition,
};

Place child(Place parent, std::string_view name, const NodeDecodeOptions& options) {
  const auto is = [&](std::initializer_list<std::string_view> names) {
    for (std::string_view n : names)
      if (name == n) return true;
    return false;
  };
  switch (parent) {
    case Place::kListRoot:
      if (name == "metadata") return Place::kListMeta;
      if (name == "items") return Place::kItems;
      return Place::kDiscard;
    case Place::kListMeta:
      return is({"resourceVersion", "continue"}) ? Place::kLeaf : Place::kDiscard;
    case Place::kItems:
      return Place::kNode;
    case Place::kEventRoot:
      if (name == "type") return Place::kLeaf;
      if (name == "object") return Place::kNode;
      return Place::kDiscard;
    case Place::kNode:
      if (name == "metadata") return Place::kMeta;
      if (name == "spec") return Place::kSpec;
      if (name == "status") return Place::kStatus;  // a Status's "status" is a string: kept
      // A watch ERROR's object is a Status.
      return is({"kind", "code", "reason", "message"}) ? Place::kLeaf : Place::kDiscard;
    case Place::kMeta:
      if (name == "annotations") return Place::kAnnotations;
      return is({"name", "resourceVersion"}) ? Place::kLeaf : Place::kDiscard;
    case Place::kAnnotations:
      for (const std::string& prefix : options.annotation_prefixes)
        if (name.substr(0, prefix.size()) == prefix) return Place::kLeaf;
      return Place::kDiscard;
    case Place::kSpec:
      if (name == "podCIDRs") return Place::kStringList;
      return name == "podCIDR" ? Place::kLeaf : Place::kDiscard;
    case Place::kStringList:
      return Place::kLeaf;
    case Place::kStatus:
      if (name == "addresses") return Place::kAddresses;
      if (name == "conditions") return Place::kConditions;
      return Place::kDiscard;
    case Place::kAddresses:
      return Place::kAddress;
    case Place::kAddress:
      return is({"type", "address"}) ? Place::kLeaf : Place::kDiscard;
    case Place::kConditions:
      return Place::kCondition;
    case Place::kCondition:
      return is({"type", "status", "reason"}) ? Place::kLeaf : Place::kDiscard;
    case Place::kLeaf:
    case Place::kDiscard:
      return Place::kDiscard;
  }
  return Place::kDiscard;
}

// The containers open around the parser's position. nlohmann calls back
// with the depth of each event but not at the end of a container it was
// told to drop, so the stack is cut to the depth at every event.
struct Frame {
  Place place;
  bool array;
  std::string key;  // the member being read, in an object
};

Status bad(const std::string& field, const std::string& message) {
  return Status::invalid(field + ": " + message);
}

const json* member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// A string member: nullopt when absent (or null), an error when not a string.
Result<std::optional<std::string>> string_member(const json& object, const char* name,
                                                 const std::string& field) {
  const json* v = member(object, name);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return bad(field + name, "not a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::string> required_string(const json& object, const char* name,
                                    const std::string& field) {
  auto v = string_member(object, name, field);
  if (!v) return v.status();
  if (!*v || (*v)->empty()) return bad(field + name, "missing");
  return std::move(**v);
}

// An object member: nullptr when absent (or null), an error when not an object.
Result<const json*> object_member(const json& object, const char* name, const std::string& field) {
  const json* v = member(object, name);
  if (v == nullptr || v->is_null()) return static_cast<const json*>(nullptr);
  if (!v->is_object()) return bad(field + name, "not an object");
  return v;
}

Result<const json*> array_member(const json& object, const char* name, const std::string& field) {
  const json* v = member(object, name);
  if (v == nullptr || v->is_null()) return static_cast<const json*>(nullptr);
  if (!v->is_array()) return bad(field + name, "not a list");
  return v;
}

Status read_metadata(const json& node, const std::string& field, KubeNode& out) {
  auto meta = object_member(node, "metadata", field);
  if (!meta) return meta.status();
  if (*meta == nullptr) return bad(field + "metadata", "missing");
  const std::string mfield = field + "metadata.";
  auto name = required_string(**meta, "name", mfield);
  if (!name) return name.status();
  out.spec.name = std::move(*name);
  auto rv = required_string(**meta, "resourceVersion", mfield);
  if (!rv) return rv.status();
  out.resource_version = std::move(*rv);
  auto annotations = object_member(**meta, "annotations", mfield);
  if (!annotations) return annotations.status();
  if (*annotations == nullptr) return {};
  for (const auto& [key, value] : (*annotations)->items()) {
    if (!value.is_string()) return bad(mfield + "annotations[" + key + "]", "not a string");
    out.spec.annotations.emplace(key, value.get<std::string>());
  }
  return {};
}

Status read_spec(const json& node, const std::string& field, KubeNode& out) {
  auto spec = object_member(node, "spec", field);
  if (!spec) return spec.status();
  if (*spec == nullptr) return {};
  const std::string sfield = field + "spec.";
  auto cidrs = array_member(**spec, "podCIDRs", sfield);
  if (!cidrs) return cidrs.status();
  if (*cidrs != nullptr) {
    for (size_t i = 0; i < (*cidrs)->size(); ++i) {
      const json& c = (**cidrs)[i];
      if (!c.is_string())
        return bad(sfield + "podCIDRs[" + std::to_string(i) + "]", "not a string");
      out.spec.pod_cidrs.push_back(c.get<std::string>());
    }
  }
  auto cidr = string_member(**spec, "podCIDR", sfield);
  if (!cidr) return cidr.status();
  // podCIDRs is the newer field and, when set, starts with podCIDR
  // (flannel's kube.go reads it first).
  if (out.spec.pod_cidrs.empty() && *cidr && !(*cidr)->empty())
    out.spec.pod_cidrs.push_back(std::move(**cidr));
  return {};
}

Status read_status(const json& node, const std::string& field, const NodeDecodeOptions& options,
                   KubeNode& out) {
  auto status = object_member(node, "status", field);
  if (!status) return status.status();
  if (*status == nullptr) return {};
  const std::string sfield = field + "status.";
  auto addresses = array_member(**status, "addresses", sfield);
  if (!addresses) return addresses.status();
  for (size_t i = 0; *addresses != nullptr && i < (*addresses)->size(); ++i) {
    const json& a = (**addresses)[i];
    const std::string afield = sfield + "addresses[" + std::to_string(i) + "]";
    if (!a.is_object()) return bad(afield, "not an object");
    auto type = required_string(a, "type", afield + ".");
    if (!type) return type.status();
    auto address = required_string(a, "address", afield + ".");
    if (!address) return address.status();
    out.spec.addresses.push_back({std::move(*type), std::move(*address)});
  }
  auto conditions = array_member(**status, "conditions", sfield);
  if (!conditions) return conditions.status();
  if (*conditions == nullptr || out.spec.name != options.own_name) return {};
  // parse_kept kept the NetworkUnavailable entries only.
  for (const json& c : **conditions) {
    const std::string cfield = sfield + "conditions[" + std::string(kNetworkUnavailable) + "].";
    auto state = required_string(c, "status", cfield);
    if (!state) return state.status();
    auto reason = string_member(c, "reason", cfield);
    if (!reason) return reason.status();
    out.network_unavailable = NodeConditionState{std::move(*state), reason->value_or("")};
  }
  return {};
}

size_t string_heap(const std::string& s) {
  static const size_t inline_capacity = std::string().capacity();
  return s.capacity() > inline_capacity ? s.capacity() + 1 : 0;
}

}  // namespace

NodeDecodeOptions node_decode_options(const AnnotationKeys& keys, std::string own_name) {
  constexpr std::string_view kSuffix = "kube-subnet-manager";
  const std::string& k = keys.kube_subnet_manager;
  NodeDecodeOptions o;
  o.annotation_prefixes = {k.substr(0, k.size() - kSuffix.size()), std::string(kTartanPrefix)};
  o.own_name = std::move(own_name);
  return o;
}

Result<json> parse_kept(std::string_view text, NodeDocument document,
                        const NodeDecodeOptions& options) {
  const Place root = document == NodeDocument::kNode   ? Place::kNode
                     : document == NodeDocument::kList ? Place::kListRoot
                                                       : Place::kEventRoot;
  std::vector<Frame> frames;
  const auto place_of_child = [&](const Frame& parent) {
    return child(parent.place, parent.array ? std::string_view("[]") : parent.key, options);
  };
  json::parser_callback_t keep = [&](int depth, json::parse_event_t event, json& parsed) {
    const auto d = static_cast<size_t>(depth);
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        frames.resize(d);
        const Place p = d == 0 ? root : place_of_child(frames.back());
        frames.push_back({p, event == json::parse_event_t::array_start, {}});
        return p != Place::kDiscard;
      }
      case json::parse_event_t::key:
        frames.resize(d);
        frames.back().key = parsed.get<std::string>();
        return place_of_child(frames.back()) != Place::kDiscard;
      case json::parse_event_t::value:
        frames.resize(d);
        return d == 0 || place_of_child(frames.back()) != Place::kDiscard;
      case json::parse_event_t::object_end:
        if (d < frames.size() && frames[d].place == Place::kCondition) {
          const auto type = parsed.find("type");
          return type != parsed.end() && type->is_string() &&
                 type->get_ref<const std::string&>() == kNetworkUnavailable;
        }
        return true;
      case json::parse_event_t::array_end:
        return true;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), keep);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
    return Status::invalid(std::string("invalid JSON: ") + e.what());
  }
}

Result<KubeNode> node_from_json(const json& node, const std::string& field,
                                const NodeDecodeOptions& options) {
  if (!node.is_object()) {
    return Status::invalid((field.empty() ? "node" : field.substr(0, field.size() - 1)) +
                           ": not a JSON object");
  }
  KubeNode out;
  if (Status s = read_metadata(node, field, out); !s.ok()) return s;
  if (Status s = read_spec(node, field, out); !s.ok()) return s;
  if (Status s = read_status(node, field, options, out); !s.ok()) return s;
  return out;
}

Result<KubeNode> decode_node(std::string_view text, const NodeDecodeOptions& options) {
  auto doc = parse_kept(text, NodeDocument::kNode, options);
  if (!doc) return doc.status();
  return node_from_json(*doc, "", options);
}

Result<KubeNodeList> decode_node_list(std::string_view text, const NodeDecodeOptions& options) {
  auto doc = parse_kept(text, NodeDocument::kList, options);
  if (!doc) return doc.status();
  if (!doc->is_object()) return Status::invalid("node list: not a JSON object");
  KubeNodeList list;
  auto meta = object_member(*doc, "metadata", "");
  if (!meta) return meta.status();
  if (*meta == nullptr) return bad("metadata", "missing");
  auto rv = required_string(**meta, "resourceVersion", "metadata.");
  if (!rv) return rv.status();
  list.resource_version = std::move(*rv);
  auto cont = string_member(**meta, "continue", "metadata.");
  if (!cont) return cont.status();
  list.continue_token = cont->value_or("");
  auto items = array_member(*doc, "items", "");
  if (!items) return items.status();
  if (*items == nullptr) return list;
  list.items.reserve((*items)->size());
  for (size_t i = 0; i < (*items)->size(); ++i) {
    auto node = node_from_json((**items)[i], "items[" + std::to_string(i) + "].", options);
    if (!node) return node.status();
    list.items.push_back(std::move(*node));
  }
  return list;
}

size_t node_kept_bytes(const KubeNode& n) {
  // A std::map node: the red-black tree's header (colour, three links) and the pair.
  constexpr size_t kMapNodeHeader = 4 * sizeof(void*);
  size_t bytes = sizeof(KubeNode) + string_heap(n.resource_version) + string_heap(n.spec.name);
  bytes += n.spec.pod_cidrs.capacity() * sizeof(std::string);
  for (const std::string& c : n.spec.pod_cidrs) bytes += string_heap(c);
  bytes += n.spec.addresses.capacity() * sizeof(NodeAddressSpec);
  for (const NodeAddressSpec& a : n.spec.addresses)
    bytes += string_heap(a.type) + string_heap(a.address);
  for (const auto& [key, value] : n.spec.annotations) {
    bytes += kMapNodeHeader + sizeof(std::pair<const std::string, std::string>) + string_heap(key) +
             string_heap(value);
  }
  if (n.network_unavailable)
    bytes +=
        string_heap(n.network_unavailable->status) + string_heap(n.network_unavailable->reason);
  return bytes;
}

}  // namespace tartan
