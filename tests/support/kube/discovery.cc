#include "tests/support/kube/discovery.h"

namespace tartan::testing::kube {

Json api_versions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs",
           {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

Json core_v1_resources() {
  const Json node_verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  return {{"kind", "APIResourceList"},
          {"groupVersion", "v1"},
          {"resources",
           {{{"name", "nodes"},
             {"singularName", "node"},
             {"namespaced", false},
             {"kind", "Node"},
             {"verbs", node_verbs},
             {"shortNames", {"no"}}},
            {{"name", "nodes/status"},
             {"singularName", ""},
             {"namespaced", false},
             {"kind", "Node"},
             {"verbs", {"get", "patch", "update"}}},
            {{"name", "pods"},
             {"singularName", "pod"},
             {"namespaced", true},
             {"kind", "Pod"},
             {"verbs", {"get"}},
             {"shortNames", {"po"}},
             {"categories", {"all"}}}}}};
}

Json api_groups() {
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", Json::array()}};
}

Json version_info() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.0-tartan-double"},
          {"gitCommit", "0000000000000000000000000000000000000000"},
          {"gitTreeState", "clean"},
          {"buildDate", "2026-01-01T00:00:00Z"},
          {"goVersion", "go1.23.0"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

}  // namespace tartan::testing::kube
