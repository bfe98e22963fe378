// configs/kubernetes/ holds together: RBAC grants exactly what tartand
// uses, the ConfigMap's tartan.yaml loads with tartan's own loader and its
// net-conf.json as flanneld reads it, the DaemonSet mounts what that config
// points at and probes where it listens, and the patches merge as meant
// (checked with kubectl's own strategic merge, offline).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "control/config/config_loader.h"
#include "control/config/netconf_json.h"
#include "control/http/listen_address.h"
#include "tests/support/files.h"
#include "tests/support/kube_manifests.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::kube_object;
using testing::load_kube_manifests;
using testing::shipped_kube_config;

const char* kNamespace = "kube-flannel";

YAML::Node daemonset() {
  return kube_object(load_kube_manifests(), "DaemonSet", "tartan");
}

// The shipped tartan.yaml, loaded as tartand loads it, with network_file
// pointing at the shipped net-conf.json written under `dir`.
Config shipped_config(const testing::ScopedTempDir& dir) {
  testing::write_file(dir.path() + "/net-conf.json", shipped_kube_config().net_conf_json);
  auto c =
      parse_config(testing::shipped_tartan_yaml({{"network_file", dir.path() + "/net-conf.json"}}),
                   "tartan-cfg/tartan.yaml");
  if (!c) throw std::runtime_error(c.status().message());
  return *c;
}

// The container's mount at exactly `path`, and the pod volume behind it.
std::pair<YAML::Node, YAML::Node> mount_at(const std::string& path) {
  const YAML::Node spec = daemonset()["spec"]["template"]["spec"];
  const auto trimmed = [](std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
  };
  for (const YAML::Node& m : spec["containers"][0]["volumeMounts"]) {
    if (trimmed(m["mountPath"].as<std::string>()) != trimmed(path)) continue;
    for (const YAML::Node& v : spec["volumes"]) {
      if (v["name"].as<std::string>() == m["name"].as<std::string>()) return {m, v};
    }
  }
  return {};
}

// "1Gi" and the like, in bytes.
uint64_t quantity(const std::string& q) {
  const std::map<std::string, uint64_t> units{
      {"Ki", 1ull << 10}, {"Mi", 1ull << 20}, {"Gi", 1ull << 30}};
  const size_t digits = q.find_first_not_of("0123456789");
  const uint64_t n = std::stoull(q.substr(0, digits));
  return digits == std::string::npos ? n : n * units.at(q.substr(digits));
}

TEST(KubeManifests, EveryDocumentIsAnObjectInTheFlannelNamespace) {
  const auto manifests = load_kube_manifests();
  std::set<std::string> kinds;
  for (const auto& m : manifests) {
    const std::string kind = m.object["kind"].as<std::string>("");
    kinds.insert(kind);
    EXPECT_FALSE(m.object["apiVersion"].as<std::string>("").empty()) << m.file;
    EXPECT_FALSE(m.object["metadata"]["name"].as<std::string>("").empty()) << m.file;
    const bool cluster_scoped =
        kind == "Namespace" || kind == "ClusterRole" || kind == "ClusterRoleBinding";
    EXPECT_EQ(m.object["metadata"]["namespace"].as<std::string>(""),
              cluster_scoped ? "" : kNamespace)
        << m.file << " " << kind;
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"Namespace", "ServiceAccount", "ClusterRole",
                                          "ClusterRoleBinding", "ConfigMap", "DaemonSet"}));
  // kubectl applies a directory in file order: the namespace first.
  EXPECT_EQ(manifests.front().object["kind"].as<std::string>(), "Namespace");
  EXPECT_EQ(manifests.front()
                .object["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
                .as<std::string>(),
            "privileged");
  for (const auto& m : load_kube_manifests("patches"))
    EXPECT_TRUE(m.object["spec"].IsMap()) << m.file;
}

TEST(KubeManifests, TheClusterRoleGrantsExactlyWhatTartandUsesToItsServiceAccount) {
  const auto manifests = load_kube_manifests();
  // Read as the e2e tests' API server authorizes tartand: core API group
  // only (it throws for another), every verb on every resource of a rule.
  const testing::ShippedRbac rbac = testing::shipped_rbac();
  std::set<std::pair<std::string, std::string>> grants;
  for (const auto& g : rbac.grants) grants.emplace(g.verb, g.resource);
  EXPECT_EQ(grants, (std::set<std::pair<std::string, std::string>>{
                        {"get", "pods"},
                        {"get", "nodes"},
                        {"list", "nodes"},
                        {"watch", "nodes"},
                        {"patch", "nodes/status"},
                    }));
  EXPECT_EQ(rbac.user, std::string("system:serviceaccount:") + kNamespace + ":tartan");
  const YAML::Node binding = kube_object(manifests, "ClusterRoleBinding", "tartan");
  EXPECT_EQ(binding["roleRef"]["kind"].as<std::string>(), "ClusterRole");
  EXPECT_EQ(binding["roleRef"]["name"].as<std::string>(), "tartan");
  ASSERT_EQ(binding["subjects"].size(), 1u);
  EXPECT_EQ(binding["subjects"][0]["kind"].as<std::string>(), "ServiceAccount");
  EXPECT_EQ(binding["subjects"][0]["namespace"].as<std::string>(), kNamespace);
  const std::string account = binding["subjects"][0]["name"].as<std::string>();
  EXPECT_NO_THROW(kube_object(manifests, "ServiceAccount", account));
  EXPECT_EQ(daemonset()["spec"]["template"]["spec"]["serviceAccountName"].as<std::string>(),
            account);
}

TEST(KubeManifests, TheConfigMapsTartanYamlLoadsInKubeModeAndItsNetConfParses) {
  const testing::ScopedTempDir dir("kh-manifests");
  const Config c = shipped_config(dir);
  EXPECT_EQ(c.lease.source, LeaseSource::kKube);
  EXPECT_EQ(c.engine.eal.hugepages, HugepageMode::kOn);
  EXPECT_FALSE(c.control.http.listen.empty());
  EXPECT_EQ(c.network.network.str(), "10.244.0.0/16");  // kube-flannel.yml's
  EXPECT_EQ(c.network.backend.type, BackendType::kVxlan);

  // As shipped it names the mounted file, and loads once that is there.
  const YAML::Node shipped = YAML::Load(shipped_kube_config().tartan_yaml);
  EXPECT_EQ(shipped["network_file"].as<std::string>(), "/etc/kube-flannel/net-conf.json");

  // What tests override to run it here (support/kube_manifests.h).
  auto here = parse_config(testing::shipped_tartan_yaml({{"network_file", c.network_file},
                                                         {"eal.hugepages", "off"},
                                                         {"control.http.listen", "127.0.0.1:0"}}),
                           "t.yaml");
  ASSERT_TRUE(here.ok()) << here.status().message();
  EXPECT_EQ(here->engine.eal.hugepages, HugepageMode::kOff);
  EXPECT_EQ(here->control.http.listen, "127.0.0.1:0");
  EXPECT_EQ(here->engine.eal.memory_mb, c.engine.eal.memory_mb);

  auto raw = parse_netconf_json(shipped_kube_config().net_conf_json);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  const auto cni = YAML::Load(shipped_kube_config().cni_conf_json);  // JSON is YAML
  EXPECT_EQ(cni["plugins"][0]["type"].as<std::string>(), "flannel");
}

TEST(KubeManifests, TheDaemonSetMountsWhatTheConfigPointsAt) {
  const testing::ScopedTempDir dir("kh-manifests");
  const Config c = shipped_config(dir);
  const YAML::Node shipped = YAML::Load(shipped_kube_config().tartan_yaml);
  const std::filesystem::path network_file = shipped["network_file"].as<std::string>();
  const YAML::Node container = daemonset()["spec"]["template"]["spec"]["containers"][0];

  // --config names a file of the tartan-cfg volume.
  const YAML::Node args = container["args"];
  ASSERT_EQ(args[0].as<std::string>(), "--config");
  const std::filesystem::path config_file = args[1].as<std::string>();
  auto [config_mount, config_volume] = mount_at(config_file.parent_path());
  ASSERT_TRUE(config_volume.IsMap()) << "nothing mounted at " << config_file.parent_path();
  EXPECT_EQ(config_volume["configMap"]["name"].as<std::string>(), "tartan-cfg");
  EXPECT_EQ(config_volume["configMap"]["items"][0]["key"].as<std::string>(), "tartan.yaml");
  EXPECT_EQ(config_volume["configMap"]["items"][0]["path"].as<std::string>(),
            config_file.filename());

  // network_file: net-conf.json of a ConfigMap laid out as kube-flannel-cfg.
  auto [netconf_mount, netconf_volume] = mount_at(network_file.parent_path());
  ASSERT_TRUE(netconf_volume.IsMap()) << "nothing mounted at " << network_file.parent_path();
  std::set<std::string> keys;
  for (const YAML::Node& item : netconf_volume["configMap"]["items"]) {
    EXPECT_EQ(item["key"].as<std::string>(), item["path"].as<std::string>());
    keys.insert(item["key"].as<std::string>());
  }
  EXPECT_EQ(keys, (std::set<std::string>{network_file.filename(), "cni-conf.json"}));

  // The VtepMAC's state dir and subnet.env outlive the pod: the node's own.
  for (const std::filesystem::path& dir_on_node :
       {std::filesystem::path(c.node.state_dir),
        std::filesystem::path(c.subnet_file).parent_path()}) {
    auto [mount, volume] = mount_at(dir_on_node);
    ASSERT_TRUE(volume.IsMap()) << "nothing mounted at " << dir_on_node;
    EXPECT_EQ(volume["hostPath"]["path"].as<std::string>(""), dir_on_node) << dir_on_node;
  }
  EXPECT_EQ(c.subnet_file, "/run/flannel/subnet.env");  // where flannel's CNI plugin reads it

  // DPDK: hugepages from the pod's own hugetlbfs, the node's vfio and sysfs.
  auto [huge_mount, huge_volume] = mount_at("/dev/hugepages");
  EXPECT_EQ(huge_volume["emptyDir"]["medium"].as<std::string>(""), "HugePages-2Mi");
  for (const char* host : {"/dev/vfio", "/sys"}) {
    auto [mount, volume] = mount_at(host);
    EXPECT_EQ(volume["hostPath"]["path"].as<std::string>(""), host);
  }
}

// The shipped config's control.http.listen: host and port.
std::pair<std::string, int> shipped_http_listen() {
  const testing::ScopedTempDir dir("kh-manifests");
  const auto address = parse_listen_address(shipped_config(dir).control.http.listen);
  if (!address.ok()) throw std::runtime_error(address.status().message());
  const std::string listen = listen_address_str(address->addr);
  return {listen.substr(0, listen.rfind(':')), std::stoi(listen.substr(listen.rfind(':') + 1))};
}

TEST(KubeManifests, TheDaemonSetProbesWhereControlHttpListens) {
  const auto [host, port] = shipped_http_listen();
  const YAML::Node container = daemonset()["spec"]["template"]["spec"]["containers"][0];
  for (const auto& [probe, path] :
       {std::pair{"livenessProbe", "/healthz"}, std::pair{"readinessProbe", "/readyz"}}) {
    const YAML::Node get = container[probe]["httpGet"];
    EXPECT_EQ(get["path"].as<std::string>(""), path) << probe;
    EXPECT_EQ(get["port"].as<int>(0), port) << probe;
    // The kubelet asks the pod's IP (the node's) unless told otherwise.
    if (host != "0.0.0.0") {
      EXPECT_EQ(get["host"].as<std::string>(""), host) << probe;
    }
  }
  EXPECT_EQ(container["ports"][0]["containerPort"].as<int>(), port);
}

// Prometheus finds /metrics where tartand serves it: at the pod's IP (the
// node's), through the pod annotations or the operator's PodMonitor.
TEST(KubeManifests, PrometheusScrapesWhereMetricsAreServed) {
  const auto [host, port_number] = shipped_http_listen();
  EXPECT_EQ(host, "0.0.0.0") << "a scraper reaches the node's IP";
  const std::string port = std::to_string(port_number);

  const YAML::Node pod = daemonset()["spec"]["template"];
  const YAML::Node annotations = pod["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/scrape"].as<std::string>(""), "true");
  EXPECT_EQ(annotations["prometheus.io/port"].as<std::string>(""), port);
  EXPECT_EQ(annotations["prometheus.io/path"].as<std::string>(""), "/metrics");

  const YAML::Node monitor = kube_object(load_kube_manifests("monitoring"), "PodMonitor", "tartan");
  EXPECT_EQ(monitor["metadata"]["namespace"].as<std::string>(""), kNamespace);
  for (const auto& label : monitor["spec"]["selector"]["matchLabels"]) {
    EXPECT_EQ(pod["metadata"]["labels"][label.first.as<std::string>()].as<std::string>(""),
              label.second.as<std::string>())
        << label.first;
  }
  const YAML::Node endpoint = monitor["spec"]["podMetricsEndpoints"][0];
  EXPECT_EQ(endpoint["path"].as<std::string>(""), "/metrics");
  std::string named_port;
  for (const YAML::Node& p : pod["spec"]["containers"][0]["ports"]) {
    if (std::to_string(p["containerPort"].as<int>()) == port)
      named_port = p["name"].as<std::string>();
  }
  EXPECT_EQ(endpoint["port"].as<std::string>(""), named_port);
}

TEST(KubeManifests, TheDaemonSetRunsWhereAndAsDpdkNeeds) {
  const testing::ScopedTempDir dir("kh-manifests");
  const Config c = shipped_config(dir);
  const YAML::Node spec = daemonset()["spec"]["template"]["spec"];
  EXPECT_TRUE(spec["hostNetwork"].as<bool>(false));
  EXPECT_EQ(spec["priorityClassName"].as<std::string>(""), "system-node-critical");
  EXPECT_EQ(spec["tolerations"][0]["operator"].as<std::string>(""), "Exists");
  const YAML::Node terms =
      spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
          ["nodeSelectorTerms"];
  ASSERT_EQ(terms.size(), 1u);
  bool dataplane_only = false;
  for (const YAML::Node& e : terms[0]["matchExpressions"]) {
    dataplane_only |= e["key"].as<std::string>() == "tartan.io/dataplane" &&
                      e["operator"].as<std::string>() == "In" && e["values"].size() == 1 &&
                      e["values"][0].as<std::string>() == "true";
  }
  EXPECT_TRUE(dataplane_only);

  const YAML::Node container = spec["containers"][0];
  const YAML::Node resources = container["resources"];
  const std::string huge = resources["requests"]["hugepages-2Mi"].as<std::string>("");
  EXPECT_EQ(resources["limits"]["hugepages-2Mi"].as<std::string>(""), huge);
  EXPECT_GE(quantity(huge), uint64_t{c.engine.eal.memory_mb} << 20);
  EXPECT_FALSE(resources["requests"]["memory"].as<std::string>("").empty());
  const YAML::Node security = container["securityContext"];
  std::set<std::string> caps;
  if (security["capabilities"]) {
    for (const YAML::Node& cap : security["capabilities"]["add"])
      caps.insert(cap.as<std::string>());
  }
  const std::set<std::string> dpdk_caps{"IPC_LOCK", "SYS_ADMIN", "NET_ADMIN", "NET_RAW",
                                        "SYS_RESOURCE"};
  EXPECT_TRUE(security["privileged"].as<bool>(false) ||
              std::includes(caps.begin(), caps.end(), dpdk_caps.begin(), dpdk_caps.end()));

  std::map<std::string, std::string> env;
  for (const YAML::Node& e : container["env"])
    env[e["name"].as<std::string>()] = e["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>("");
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"NODE_NAME", "spec.nodeName"},
                                                     {"POD_NAME", "metadata.name"},
                                                     {"POD_NAMESPACE", "metadata.namespace"}}));

  // kube-flannel's init containers: the CNI plugin and the conflist on the node.
  std::set<std::string> host_paths;
  for (const YAML::Node& init : spec["initContainers"]) {
    for (const YAML::Node& m : init["volumeMounts"])
      host_paths.insert(m["mountPath"].as<std::string>());
  }
  EXPECT_TRUE(host_paths.count("/opt/cni/bin"));
  EXPECT_TRUE(host_paths.count("/etc/cni/net.d"));
}

// kube-flannel.yml v0.28.9's DaemonSet, what the patch touches.
const char* kKubeFlannelDaemonSet = R"(apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
spec:
  selector:
    matchLabels:
      app: flannel
  template:
    metadata:
      labels:
        app: flannel
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - key: kubernetes.io/os
                operator: In
                values:
                - linux
      hostNetwork: true
      containers:
      - name: kube-flannel
        image: ghcr.io/flannel-io/flannel:v0.28.9
)";

// `kubectl patch --local`: the object with the patch file merged, as the
// API server would merge it (strategic merge), without a cluster.
YAML::Node kubectl_patch(const std::string& object_file, const std::string& patch_file) {
  const auto r = testing::run_command({"kubectl", "patch", "--local", "-f", object_file, "-p",
                                       testing::read_file(patch_file), "-o", "yaml"});
  if (r.exit_code != 0) throw std::runtime_error("kubectl patch: " + r.output);
  return YAML::Load(r.output);
}

TEST(KubeManifests, KubeFlannelsPatchedAffinityExcludesEveryNodeTartansAdmits) {
  const testing::ScopedTempDir dir("kh-manifests");
  testing::write_file(dir.path() + "/kube-flannel-ds.yaml", kKubeFlannelDaemonSet);
  const YAML::Node patched = kubectl_patch(
      dir.path() + "/kube-flannel-ds.yaml",
      testing::kube_manifest_dir() + "/patches/kube-flannel-ds-avoid-tartan-nodes.yaml");
  const YAML::Node terms =
      patched["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
             ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
  ASSERT_EQ(terms.size(), 1u);  // one term: every expression must hold
  std::set<std::string> expressions;
  for (const YAML::Node& e : terms[0]["matchExpressions"]) {
    std::string values;
    for (const YAML::Node& v : e["values"]) values += " " + v.as<std::string>();
    expressions.insert(e["key"].as<std::string>() + " " + e["operator"].as<std::string>() + values);
  }
  EXPECT_EQ(expressions, (std::set<std::string>{"kubernetes.io/os In linux",
                                                "tartan.io/dataplane DoesNotExist"}));
}

TEST(KubeManifests, TheKubeFlannelCfgPatchOnlyRenamesTheNetConfVolumesConfigMap) {
  const YAML::Node patched =
      kubectl_patch(testing::kube_manifest_dir() + "/03-daemonset.yaml",
                    testing::kube_manifest_dir() + "/patches/tartan-use-kube-flannel-cfg.yaml");
  const YAML::Node before = daemonset()["spec"]["template"]["spec"]["volumes"];
  const YAML::Node after = patched["spec"]["template"]["spec"]["volumes"];
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    const std::string name = before[i]["name"].as<std::string>();
    EXPECT_EQ(after[i]["name"].as<std::string>(), name);
    if (!before[i]["configMap"]) {
      EXPECT_FALSE(after[i]["configMap"]) << name;
      continue;
    }
    EXPECT_EQ(after[i]["configMap"]["name"].as<std::string>(),
              name == "flannel-cfg" ? "kube-flannel-cfg"
                                    : before[i]["configMap"]["name"].as<std::string>())
        << name;
    EXPECT_EQ(after[i]["configMap"]["items"].size(), before[i]["configMap"]["items"].size())
        << name;
  }
}

}  // namespace
}  // namespace tartan
