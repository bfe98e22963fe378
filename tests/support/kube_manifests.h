// configs/kubernetes/ as shipped: its objects, and the files of the
// tartan-cfg ConfigMap, so tests check and run exactly what a cluster gets.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/kube/access.h"

namespace tartan::testing {

// <source tree>/configs/kubernetes
std::string kube_manifest_dir();

struct KubeManifest {
  std::string file;  // relative to kube_manifest_dir(), e.g. "03-daemonset.yaml"
  YAML::Node object;
};

// Every YAML document of every .yaml file there (what `kubectl apply -f
// configs/kubernetes/` applies), in file order; with `subdir`, those under
// it instead (patches/: what `kubectl patch --patch-file` takes;
// monitoring/: what clusters with the Prometheus operator add).
std::vector<KubeManifest> load_kube_manifests(const std::string& subdir = "");

// The object of that kind and name among them; throws when there is none.
YAML::Node kube_object(const std::vector<KubeManifest>& manifests, const std::string& kind,
                       const std::string& name);

// What the shipped RBAC lets tartand do: the user its ServiceAccount
// authenticates as ("system:serviceaccount:<namespace>:<name>", from the
// ClusterRoleBinding "tartan") and its ClusterRole's rules, as the API
// server double's grants. Throws for a rule the double cannot hold (an API
// group other than the core one).
struct ShippedRbac {
  std::string user;
  std::vector<kube::Grant> grants;
};
ShippedRbac shipped_rbac();

// The files of the tartan-cfg ConfigMap, byte for byte.
struct ShippedKubeConfig {
  std::string tartan_yaml;
  std::string net_conf_json;
  std::string cni_conf_json;
};
ShippedKubeConfig shipped_kube_config();

// The shipped tartan.yaml with some keys replaced: dotted paths to YAML
// values, e.g. {{"network_file", "/tmp/x/net-conf.json"},
// {"eal.hugepages", "off"}, {"ports.underlay", "{device: net_ring0, address: 192.0.2.2/24}"}}.
// Everything else is as shipped (comments are not kept).
std::string shipped_tartan_yaml(const std::map<std::string, std::string>& overrides = {});

}  // namespace tartan::testing
