#include "control/ctl/manifest.h"

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace tartan::ctl {
namespace {

std::string at(const std::string& source, const YAML::Node& n) {
  return source + ":" + std::to_string(n.Mark().line + 1);
}

// Every scalar as a JSON string: the fields a client may set on a
// tartan.v1.Node are all strings, and protobuf's JSON parser takes them so.
nlohmann::json strings_as_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (auto it = n.begin(); it != n.end(); ++it)
      j[it->first.as<std::string>()] = strings_as_json(it->second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const YAML::Node& item : n) j.push_back(strings_as_json(item));
    return j;
  }
  if (n.IsNull()) return nullptr;
  return n.as<std::string>();
}

// A node as `tartanctl nodes get NAME -o yaml|json` prints it (the API's
// Node): its output-only fields are dropped, the rest is the request's.
Status api_node_from_yaml(const YAML::Node& doc, const std::string& source,
                          std::vector<v1::Node>& out) {
  nlohmann::json j = strings_as_json(doc);
  j.erase("resource_version");
  j.erase("status");
  v1::Node node;
  if (auto s = google::protobuf::util::JsonStringToMessage(j.dump(), &node); !s.ok())
    return Status::invalid(at(source, doc) + ": not a tartan.v1.Node: " + s.ToString());
  out.push_back(std::move(node));
  return {};
}

Status node_from_yaml(const YAML::Node& doc, const std::string& source,
                      std::vector<v1::Node>& out) {
  if (!doc.IsMap()) return Status::invalid(at(source, doc) + ": expected a Node object");
  if (!doc["kind"] && !doc["metadata"] && doc["name"]) return api_node_from_yaml(doc, source, out);
  const std::string kind = doc["kind"] ? doc["kind"].as<std::string>() : "Node";
  if (kind == "List" || kind == "NodeList") {
    const YAML::Node items = doc["items"];
    if (!items || !items.IsSequence())
      return Status::invalid(at(source, doc) + ": " + kind + " without items");
    for (const YAML::Node& item : items) {
      if (Status s = node_from_yaml(item, source, out); !s.ok()) return s;
    }
    return {};
  }
  if (kind != "Node")
    return Status::invalid(at(source, doc) + ": kind '" + kind + "' is not a Node");
  v1::Node node;
  const YAML::Node meta = doc["metadata"];
  if (!meta || !meta["name"])
    return Status::invalid(at(source, doc) + ": metadata.name is missing");
  node.set_name(meta["name"].as<std::string>());
  if (const YAML::Node ann = meta["annotations"]; ann && ann.IsMap()) {
    for (auto it = ann.begin(); it != ann.end(); ++it) {
      (*node.mutable_annotations())[it->first.as<std::string>()] = it->second.as<std::string>();
    }
  }
  if (const YAML::Node spec = doc["spec"]) {
    if (spec["podCIDRs"] && spec["podCIDRs"].IsSequence()) {
      for (const YAML::Node& c : spec["podCIDRs"]) node.add_pod_cidrs(c.as<std::string>());
    } else if (spec["podCIDR"]) {
      node.add_pod_cidrs(spec["podCIDR"].as<std::string>());
    }
  }
  if (const YAML::Node status = doc["status"];
      status && status["addresses"] && status["addresses"].IsSequence()) {
    for (const YAML::Node& a : status["addresses"]) {
      auto* pa = node.add_addresses();
      pa->set_type(a["type"] ? a["type"].as<std::string>() : "");
      pa->set_address(a["address"] ? a["address"].as<std::string>() : "");
    }
  }
  out.push_back(std::move(node));
  return {};
}

}  // namespace

Result<std::vector<v1::Node>> parse_node_manifests(const std::string& text,
                                                   const std::string& source) {
  std::vector<v1::Node> nodes;
  try {
    for (const YAML::Node& doc : YAML::LoadAll(text)) {
      if (doc.IsNull()) continue;  // an empty document between separators
      if (Status s = node_from_yaml(doc, source, nodes); !s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return Status::invalid(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (nodes.empty()) return Status::invalid(source + ": no Node in the input");
  return nodes;
}

}  // namespace tartan::ctl
