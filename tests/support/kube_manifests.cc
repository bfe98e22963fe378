#include "tests/support/kube_manifests.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace tartan::testing {

std::string kube_manifest_dir() {
  return std::string(TARTAN_SOURCE_ROOT) + "/configs/kubernetes";
}

std::vector<KubeManifest> load_kube_manifests(const std::string& subdir) {
  const std::string dir = kube_manifest_dir() + (subdir.empty() ? "" : "/" + subdir);
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml")
      files.push_back(entry.path().filename());
  }
  std::sort(files.begin(), files.end());  // kubectl's order
  std::vector<KubeManifest> out;
  for (const std::string& f : files) {
    for (const YAML::Node& doc : YAML::LoadAllFromFile(dir + "/" + f)) {
      if (!doc.IsNull()) out.push_back({(subdir.empty() ? "" : subdir + "/") + f, doc});
    }
  }
  return out;
}

YAML::Node kube_object(const std::vector<KubeManifest>& manifests, const std::string& kind,
                       const std::string& name) {
  for (const KubeManifest& m : manifests) {
    if (m.object["kind"].as<std::string>("") == kind &&
        m.object["metadata"]["name"].as<std::string>("") == name)
      return m.object;
  }
  throw std::runtime_error("configs/kubernetes has no " + kind + " " + name);
}

ShippedRbac shipped_rbac() {
  const auto manifests = load_kube_manifests();
  const YAML::Node binding = kube_object(manifests, "ClusterRoleBinding", "tartan");
  const YAML::Node subject = binding["subjects"][0];
  ShippedRbac rbac;
  rbac.user = "system:serviceaccount:" + subject["namespace"].as<std::string>() + ":" +
              subject["name"].as<std::string>();
  const YAML::Node role =
      kube_object(manifests, "ClusterRole", binding["roleRef"]["name"].as<std::string>());
  for (const YAML::Node& rule : role["rules"]) {
    for (const YAML::Node& group : rule["apiGroups"]) {
      if (group.as<std::string>() != "")
        throw std::runtime_error("ClusterRole rule for API group '" + group.as<std::string>() +
                                 "': the API server double serves the core group only");
    }
    for (const YAML::Node& resource : rule["resources"]) {
      for (const YAML::Node& verb : rule["verbs"])
        rbac.grants.push_back({verb.as<std::string>(), resource.as<std::string>()});
    }
  }
  return rbac;
}

ShippedKubeConfig shipped_kube_config() {
  const YAML::Node data = kube_object(load_kube_manifests(), "ConfigMap", "tartan-cfg")["data"];
  return {data["tartan.yaml"].as<std::string>(), data["net-conf.json"].as<std::string>(),
          data["cni-conf.json"].as<std::string>()};
}

std::string shipped_tartan_yaml(const std::map<std::string, std::string>& overrides) {
  YAML::Node root = YAML::Load(shipped_kube_config().tartan_yaml);
  for (const auto& [path, value] : overrides) {
    // Walk with copies of the handles: assigning through a reference would
    // rebind the handle, not change the tree.
    std::vector<std::string> keys;
    std::stringstream parts(path);
    for (std::string key; std::getline(parts, key, '.');) keys.push_back(key);
    std::vector<YAML::Node> chain{root};
    for (size_t i = 0; i + 1 < keys.size(); ++i) chain.push_back(chain.back()[keys[i]]);
    chain.back()[keys.back()] = YAML::Load(value);
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tartan::testing
