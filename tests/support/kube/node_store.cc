#include "tests/support/kube/node_store.h"

#include <gnutls/gnutls.h>
#include <time.h>

#include <algorithm>
#include <random>
#include <regex>

#include "tests/support/kube/strategic_merge.h"

namespace tartan::testing::kube {
namespace {

// ValidateObjectMeta's limit on all annotations together (256 KiB).
constexpr size_t kAnnotationsLimit = 256 * 1024;

std::string now_rfc3339() {
  const time_t t = time(nullptr);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string new_uid() {
  static std::mt19937_64 rng{std::random_device{}()};
  const uint64_t hi = rng(), lo = rng();
  char buf[40];
  snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
           static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xfff),
           static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
           static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

// Equal as JSON values whatever the order of object members.
bool same_json(const Json& a, const Json& b) {
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto& [k, v] : a.items()) {
      if (!b.contains(k) || !same_json(v, b[k])) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!same_json(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

std::string name_of(const Json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object())
    return "";
  const Json& name = object["metadata"].value("name", Json());
  return name.is_string() ? name.get<std::string>() : "";
}

std::string rv_of(const Json& object) {
  return object["metadata"].value("resourceVersion", "");
}

Json cause(const std::string& reason, const std::string& field, const std::string& message) {
  return {{"reason", reason}, {"message", message}, {"field", field}};
}

// ValidateObjectMeta as far as a Node's name, labels and annotations go.
Json validation_causes(const Json& node) {
  Json causes = Json::array();
  const std::string name = name_of(node);
  static const std::regex subdomain(
      R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
  if (name.empty()) {
    causes.push_back(cause("FieldValueRequired", "metadata.name",
                           "Required value: name or generateName is required"));
  } else if (name.size() > 253 || !std::regex_match(name, subdomain)) {
    causes.push_back(cause(
        "FieldValueInvalid", "metadata.name",
        "Invalid value: " + Json(name).dump() +
            ": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
  }
  const Json& meta = node["metadata"];
  if (meta.contains("annotations") && meta["annotations"].is_object()) {
    size_t total = 0;
    for (auto& [k, v] : meta["annotations"].items())
      total += k.size() + (v.is_string() ? v.get<std::string>().size() : 0);
    if (total > kAnnotationsLimit)
      causes.push_back(
          cause("FieldValueTooLong", "metadata.annotations",
                "Too long: must have at most " + std::to_string(kAnnotationsLimit) + " bytes"));
  }
  return causes;
}

// What decoding into the typed Node would refuse (a 400 from the decoder).
std::optional<std::string> decode_error(const Json& node) {
  if (!node.is_object()) return "Object 'Kind' is missing in '" + node.dump() + "'";
  if (!node.contains("metadata")) return std::nullopt;
  if (!node["metadata"].is_object())
    return "json: cannot unmarshal " + std::string(node["metadata"].type_name()) +
           " into Go struct field Node.metadata of type v1.ObjectMeta";
  for (const char* map : {"labels", "annotations"}) {
    const Json& m = node["metadata"].value(map, Json::object());
    if (m.is_null()) continue;
    if (!m.is_object())
      return std::string("json: cannot unmarshal ") + m.type_name() +
             " into Go struct field ObjectMeta.metadata." + map + " of type map[string]string";
    for (auto& [k, v] : m.items()) {
      if (!v.is_string())
        return std::string("json: cannot unmarshal ") + v.type_name() +
               " into Go struct field ObjectMeta.metadata." + map + " of type string";
    }
  }
  return std::nullopt;
}

// storage/continue.go: base64url (no padding) of
// {"v":"meta.k8s.io/v1","rv":N,"start":"<key after the last item>"}.
std::string encode_continue(const std::string& start, int64_t rv) {
  const std::string text = Json{{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", start}}.dump();
  gnutls_datum_t in{reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
                    static_cast<unsigned>(text.size())};
  gnutls_datum_t out{};
  if (gnutls_base64_encode2(&in, &out) != 0) return "";
  std::string b64(reinterpret_cast<char*>(out.data), out.size);
  gnutls_free(out.data);
  std::erase(b64, '=');
  std::replace(b64.begin(), b64.end(), '+', '-');
  std::replace(b64.begin(), b64.end(), '/', '_');
  return b64;
}

struct Continuation {
  int64_t rv;
  std::string start;
};

std::optional<Continuation> decode_continue(std::string token) {
  std::replace(token.begin(), token.end(), '-', '+');
  std::replace(token.begin(), token.end(), '_', '/');
  while (token.size() % 4 != 0) token += '=';
  gnutls_datum_t in{reinterpret_cast<unsigned char*>(token.data()),
                    static_cast<unsigned>(token.size())};
  gnutls_datum_t out{};
  if (gnutls_base64_decode2(&in, &out) != 0) return std::nullopt;
  const std::string text(reinterpret_cast<char*>(out.data), out.size);
  gnutls_free(out.data);
  const Json j = Json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("v", "") != "meta.k8s.io/v1" || !j.contains("rv") ||
      !j["rv"].is_number_integer() || j["rv"] == 0 || !j.contains("start") ||
      !j["start"].is_string() || j["start"].get<std::string>().empty())
    return std::nullopt;
  return Continuation{j["rv"].get<int64_t>(), j["start"].get<std::string>()};
}

const char* kInconsistentContinue =
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.";

std::optional<uint64_t> parse_rv(const std::string& s) {
  if (s.empty() || s.size() > 19 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(s);
}

// kind and apiVersion first, then the rest in the order given.
Json stamped(Json object, const std::string& kind) {
  Json out = {{"kind", kind}, {"apiVersion", "v1"}};
  for (auto& [k, v] : object.items()) {
    if (k != "kind" && k != "apiVersion") out[k] = std::move(v);
  }
  return out;
}

}  // namespace

void NodeStore::record(NodeEvent event) {
  history_.push_back(std::move(event));
  trim_history();
}

void NodeStore::trim_history() {
  while (history_.size() > window_) {
    compacted_ = history_.front().resource_version;
    history_.pop_front();
  }
}

Outcome NodeStore::create(Json node, bool checked, std::optional<NodeEvent>& event) {
  if (auto error = decode_error(node)) return bad_request(*error);
  const std::string name = name_of(node);
  if (Json causes = validation_causes(node); !causes.empty() && (checked || name.empty()))
    return invalid("Node", name, causes);
  if (nodes_.contains(name)) return already_exists("nodes", name);
  // rest.BeforeCreate: the server owns uid, creationTimestamp and the version.
  Json& meta = node["metadata"];
  meta["uid"] = new_uid();
  meta["resourceVersion"] = std::to_string(++rv_);
  meta["creationTimestamp"] = now_rfc3339();
  Json stored = stamped(std::move(node), "Node");
  nodes_[name] = stored;
  event = NodeEvent{"ADDED", rv_, stored, nullptr};
  record(*event);
  return {201, std::move(stored)};
}

Outcome NodeStore::commit(const std::string& name, const Json& old, Json changed,
                          const Write& write, std::optional<NodeEvent>& event) {
  if (auto error = decode_error(changed)) return bad_request(*error);
  if (name_of(changed) != name)
    return bad_request("the name of the object (" + name_of(changed) +
                       ") does not match the name on the URL (" + name + ")");
  // An update carrying a resourceVersion is conditional on it.
  if (const std::string rv = rv_of(changed); !rv.empty() && rv != rv_of(old))
    return conflict("nodes", name,
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again");
  if (Json causes = validation_causes(changed); !causes.empty() && write.checked)
    return invalid("Node", name, causes);
  // nodeStrategy / nodeStatusStrategy PrepareForUpdate.
  if (write.part != Subresource::kWhole) {
    const char* kept = write.part == Subresource::kMain ? "status" : "spec";
    if (old.contains(kept))
      changed[kept] = old[kept];
    else
      changed.erase(kept);
  }
  for (const char* system : {"uid", "creationTimestamp"}) {
    if (old["metadata"].contains(system)) changed["metadata"][system] = old["metadata"][system];
  }
  changed["metadata"]["resourceVersion"] = rv_of(old);
  changed = stamped(std::move(changed), "Node");
  if (same_json(changed, old)) return {200, old};
  changed["metadata"]["resourceVersion"] = std::to_string(++rv_);
  // `old` is the stored Node: keep it in the event before replacing it.
  event = NodeEvent{"MODIFIED", rv_, changed, old};
  nodes_[name] = changed;
  record(*event);
  return {200, std::move(changed)};
}

Outcome NodeStore::update(const std::string& name, Json node, const Write& write,
                          std::optional<NodeEvent>& event) {
  const auto it = nodes_.find(name);
  if (it == nodes_.end()) return not_found("nodes", name);
  return commit(name, it->second, std::move(node), write, event);
}

Outcome NodeStore::patch(const std::string& name, PatchType type, const std::string& patch,
                         const Write& write, std::optional<NodeEvent>& event) {
  const auto it = nodes_.find(name);
  if (it == nodes_.end()) return not_found("nodes", name);
  const Json body = Json::parse(patch, nullptr, false);
  if (body.is_discarded()) return bad_request("error decoding patch: invalid JSON: " + patch);
  Json changed = it->second;
  try {
    switch (type) {
      case PatchType::kMerge:
        changed.merge_patch(body);
        break;
      case PatchType::kStrategic:
        if (!body.is_object()) return bad_request("invalid JSON document");
        changed = strategic_merge(std::move(changed), body, node_patch_schema());
        break;
      case PatchType::kJson:
        if (!body.is_array())
          return bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
        changed = changed.patch(body);
        break;
    }
  } catch (const PatchError& e) {
    return bad_request(e.what());
  } catch (const nlohmann::json::exception& e) {
    // apply JSON patch failures are 422 (handlers/patch.go applyJSPatch).
    return failure(422, "Invalid", e.what());
  }
  return commit(name, it->second, std::move(changed), write, event);
}

Outcome NodeStore::remove(const std::string& name, const Json& options,
                          std::optional<NodeEvent>& event) {
  const auto it = nodes_.find(name);
  if (it == nodes_.end()) return not_found("nodes", name);
  const Json& old = it->second;
  const std::string uid = old["metadata"].value("uid", "");
  if (options.is_object() && options.contains("preconditions") &&
      options["preconditions"].is_object()) {
    const Json& pre = options["preconditions"];
    if (pre.contains("uid") && pre["uid"].is_string() && pre["uid"] != uid)
      return conflict("nodes", name,
                      "Precondition failed: UID in precondition: " + pre["uid"].get<std::string>() +
                          ", UID in object meta: " + uid);
    if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string() &&
        pre["resourceVersion"] != rv_of(old))
      return conflict("nodes", name,
                      "Precondition failed: ResourceVersion in precondition: " +
                          pre["resourceVersion"].get<std::string>() +
                          ", ResourceVersion in object meta: " + rv_of(old));
  }
  Json last = old;
  last["metadata"]["resourceVersion"] = std::to_string(++rv_);
  event = NodeEvent{"DELETED", rv_, last, old};
  record(*event);
  nodes_.erase(it);
  return deleted("nodes", name, uid);
}

Outcome NodeStore::get(const std::string& name) const {
  const auto it = nodes_.find(name);
  if (it == nodes_.end()) return not_found("nodes", name);
  return {200, it->second};
}

std::map<std::string, Json> NodeStore::nodes_at(uint64_t rv) const {
  std::map<std::string, Json> at = nodes_;
  for (auto e = history_.rbegin(); e != history_.rend() && e->resource_version > rv; ++e) {
    const std::string name = name_of(e->object);
    if (e->type == "ADDED")
      at.erase(name);
    else
      at[name] = e->previous;
  }
  return at;
}

Outcome NodeStore::page(const std::map<std::string, Json>& nodes, uint64_t rv,
                        const std::string& start, const ListRequest& request, bool paginate) const {
  Json items = Json::array();
  auto it = nodes.lower_bound(start);
  const bool limited = paginate && request.limit > 0;
  std::string last;
  for (; it != nodes.end(); ++it) {
    if (limited && static_cast<int64_t>(items.size()) >= request.limit) break;
    last = it->first;
    if (!request.selector.matches(it->second)) continue;
    Json item = it->second;
    item.erase("kind");
    item.erase("apiVersion");
    items.push_back(std::move(item));
  }
  Json meta = {{"resourceVersion", std::to_string(rv)}};
  if (it != nodes.end()) {
    // PrepareContinueToken: resume after the last key read.
    meta["continue"] = encode_continue(last + '\0', static_cast<int64_t>(rv));
    if (request.selector.empty())
      meta["remainingItemCount"] = static_cast<int64_t>(std::distance(it, nodes.end()));
  }
  return {200,
          {{"kind", "NodeList"},
           {"apiVersion", "v1"},
           {"metadata", std::move(meta)},
           {"items", std::move(items)}}};
}

Outcome NodeStore::page_at(uint64_t rv, const std::string& start,
                           const ListRequest& request) const {
  // Copying every Node made each page cost as much as the whole list (the
  // 40 pages of 20,000 kubelet-sized Nodes took 86 s): only when one
  // changed since `rv`.
  if (history_.empty() || history_.back().resource_version <= rv)
    return page(nodes_, rv, start, request, true);
  return page(nodes_at(rv), rv, start, request, true);
}

Outcome NodeStore::list(const ListRequest& request) const {
  const std::string& rv = request.resource_version;
  const std::string& match = request.resource_version_match;
  if (request.limit < 0)
    return bad_request("limit: Invalid value: " + std::to_string(request.limit) +
                       ": must be greater than or equal to 0");
  if (!request.continue_token.empty()) {
    if (!rv.empty() && rv != "0")
      return bad_request("specifying resource version is not allowed when using continue");
    const auto c = decode_continue(request.continue_token);
    if (!c) return bad_request("continue key is not valid: " + request.continue_token);
    if (c->rv == -1) return page(nodes_, rv_, c->start, request, true);
    if (static_cast<uint64_t>(c->rv) < compacted_) {
      Outcome gone = expired(kInconsistentContinue);
      gone.body["metadata"]["continue"] = encode_continue(c->start, -1);
      return gone;
    }
    if (static_cast<uint64_t>(c->rv) > rv_)
      return too_large_resource_version(static_cast<uint64_t>(c->rv), rv_);
    return page_at(static_cast<uint64_t>(c->rv), c->start, request);
  }
  if (!match.empty()) {
    if (match != "Exact" && match != "NotOlderThan")
      return bad_request("resourceVersionMatch: Unsupported value: \"" + match +
                         "\": supported values: \"Exact\", \"NotOlderThan\"");
    if (rv.empty())
      return bad_request(
          "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden "
          "unless resourceVersion is provided");
    if (match == "Exact" && rv == "0")
      return bad_request(
          "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is "
          "forbidden for resourceVersion \"0\"");
  }
  if (rv.empty()) return page(nodes_, rv_, "", request, true);
  if (rv == "0") return page(nodes_, rv_, "", request, request.paginate_any_version);
  const auto wanted = parse_rv(rv);
  if (!wanted) return bad_request("resource version is not well formed: " + rv);
  if (*wanted > rv_) return too_large_resource_version(*wanted, rv_);
  // Legacy semantics: a version with a limit and no match means Exact.
  const bool exact = match == "Exact" || (match.empty() && request.limit > 0);
  if (!exact) return page(nodes_, rv_, "", request, true);
  if (*wanted < compacted_) return expired("The resourceVersion for the provided list is too old.");
  return page_at(*wanted, "", request);
}

std::optional<std::vector<NodeEvent>> NodeStore::events_since(uint64_t since) const {
  if (since < compacted_) return std::nullopt;
  std::vector<NodeEvent> out;
  for (const auto& e : history_) {
    if (e.resource_version > since) out.push_back(e);
  }
  return out;
}

void NodeStore::set_history_window(size_t events) {
  window_ = events;
  trim_history();
}

void NodeStore::compact() {
  history_.clear();
  compacted_ = rv_;
}

Outcome NodeStore::create_pod(Json pod) {
  if (auto error = decode_error(pod)) return bad_request(*error);
  const std::string name = name_of(pod);
  const std::string ns = pod["metadata"].value("namespace", "default");
  if (pods_.contains({ns, name})) return already_exists("pods", name);
  Json& meta = pod["metadata"];
  meta["namespace"] = ns;
  meta["uid"] = new_uid();
  meta["resourceVersion"] = std::to_string(++rv_);
  meta["creationTimestamp"] = now_rfc3339();
  Json stored = stamped(std::move(pod), "Pod");
  pods_[{ns, name}] = stored;
  return {201, std::move(stored)};
}

Outcome NodeStore::get_pod(const std::string& namespace_name, const std::string& name) const {
  const auto it = pods_.find({namespace_name, name});
  if (it == pods_.end()) return not_found("pods", name);
  return {200, it->second};
}

}  // namespace tartan::testing::kube
