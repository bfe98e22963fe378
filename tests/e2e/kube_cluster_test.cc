// issue 13 end to end: tartan nodes that join a flannel cluster through the
// Kubernetes API alone. Three tartan nodes run the real tartand with the
// shipped tartan.yaml and net-conf.json (configs/kubernetes), each with a
// kubeconfig whose user the API server double authorizes with exactly the
// shipped ClusterRole; one kernel-flannel node knows them only from what
// they published on their Node objects. Everything a user or a controller
// does goes through the double: the test-side API (as a kubelet and
// kube-controller-manager write) or the real kubectl.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/e2e/cluster.h"
#include "tests/support/files.h"
#include "tests/support/kube_apiserver.h"
#include "tests/support/kube_manifests.h"
#include "tests/support/kubectl.h"
#include "tests/support/test_pki.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::all_replied;
using testing::Cluster;
using testing::ClusterNode;
using testing::CommandResult;
using testing::eventually;
using testing::KubeApiServer;
using testing::KubeObject;
using testing::ping;
using testing::Process;
using Json = nlohmann::json;

constexpr const char* kPrefix = "flannel.alpha.coreos.com/";
constexpr int kApiPort = 6443;  // where each node reaches the API, in its own namespace

std::string annotation_key(const std::string& name) {
  return kPrefix + name;
}

// A node's bearer token; every one authenticates as the shipped ServiceAccount.
std::string token_of(const std::string& node_name) {
  return "kx-" + node_name + "-token";
}

// The API server double as the cluster's: HTTPS with the test CA, the
// tartan nodes' tokens for the shipped ServiceAccount with exactly the
// shipped ClusterRole, and an admin token for kubectl.
testing::KubeApiOptions api_options(const std::string& pki) {
  testing::make_test_pki(pki, {"kubernetes-admin"});
  const testing::ShippedRbac rbac = testing::shipped_rbac();
  testing::KubeApiOptions o;
  o.cert_pem = testing::read_file(pki + "/server.crt");
  o.key_pem = testing::read_file(pki + "/server.key");
  o.tokens["kx-admin-token"] = "kubernetes-admin";
  for (int i = 1; i <= 9; ++i) o.tokens[token_of("node-" + std::to_string(i))] = rbac.user;
  o.grants[rbac.user] = rbac.grants;
  return o;
}

// A kubeconfig as kubeadm writes one: the CA inline (base64), a bearer token.
std::string kubeconfig(int port, const std::string& ca_data, const std::string& token) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: kx\n"
         "clusters:\n- name: kx\n  cluster:\n    server: https://127.0.0.1:" +
         std::to_string(port) + "\n    certificate-authority-data: " + ca_data +
         "\nusers:\n- name: tartan\n  user:\n    token: " + token +
         "\ncontexts:\n- name: kx\n  context: {cluster: kx, user: tartan}\n";
}

// What a tartan node routes: podCIDR -> public IP, from `tartanctl routes`.
using RouteMap = std::map<std::string, std::string>;

// What every tartan node must route, from the Nodes in the API as flanneld
// reads them for vxlan: each other Node with kube-subnet-manager "true", a
// public-ip that is an address, backend-data that is JSON with a VtepMAC,
// and a podCIDR.
RouteMap wanted_routes(const KubeApiServer& api, const std::vector<std::string>& names,
                       const std::string& self) {
  RouteMap out;
  for (const std::string& name : names) {
    const auto n = api.node(name);
    if (!n || name == self || !(*n)["spec"].contains("podCIDR")) continue;
    const Json a = (*n)["metadata"].value("annotations", Json::object());
    const std::string ip = a.value(annotation_key("public-ip"), "");
    const Json data = Json::parse(a.value(annotation_key("backend-data"), ""), nullptr, false);
    if (a.value(annotation_key("kube-subnet-manager"), "") != "true" || !Ipv4Addr::parse(ip) ||
        !data.is_object() || !data.contains("VtepMAC"))
      continue;
    out[(*n)["spec"]["podCIDR"].get<std::string>()] = ip;
  }
  return out;
}

// A Node as flanneld leaves it on a host of its own (vxlan, VNI 1), at
// 192.0.2.(10+i) with podCIDR 10.244.i.0/24: a peer that need not exist
// for its route to.
KubeObject flannel_node(int i) {
  const std::string n = std::to_string(i);
  char mac[18];
  std::snprintf(mac, sizeof mac, "0e:00:00:00:00:%02x", i);
  return testing::node_manifest(
      "node-" + n, "10.244." + n + ".0/24",
      {{annotation_key("backend-data"), R"({"VNI":1,"VtepMAC":")" + std::string(mac) + R"("})"},
       {annotation_key("backend-type"), "vxlan"},
       {annotation_key("kube-subnet-manager"), "true"},
       {annotation_key("public-ip"), "192.0.2." + std::to_string(10 + i)}});
}

// The tartan.yaml of the ConfigMap for node `n`, with only what this test
// environment forces replaced.
std::string kube_tartan_yaml(const ClusterNode& n, const std::string& file_prefix) {
  return testing::shipped_tartan_yaml({
      // No hugepages to spare on a shared test machine; a DPDK file prefix
      // of this test's own.
      {"eal.hugepages", "off"},
      {"eal.file_prefix", file_prefix},
      // The node's NIC is the veth eth0, through af_packet (a ring as deep
      // as a NIC's: the 2-core host deschedules the worker).
      {"ports.underlay.device", "'net_af_packet0,iface=eth0,framecnt=4096'"},
      // Three nodes' workers share one CPU: they must yield it when idle.
      {"workers.idle_sleep_us", "100"},
      // Paths under the node's directory instead of the host's.
      {"network_file", n.dir + "/net-conf.json"},
      {"node.state_dir", n.dir + "/state"},
      {"control.listen", "'unix://" + n.dir + "/tartan.sock'"},
      {"subnet_file", n.dir + "/subnet.env"},
      // No service account here: a kubeconfig (flanneld's --kubeconfig-file).
      {"lease.kube.kubeconfig", n.dir + "/kubeconfig"},
  });
}

std::string file_prefix(const ClusterNode& n) {
  return "kx" + std::to_string(n.index) + "-" + std::to_string(getpid());
}

// `count` echo requests from `from`'s pod to `to`'s, `gap` seconds apart,
// one at a time so that each has 15 s for its reply (ping -c N gives the
// last ones only twice the largest round trip, and a 2-core host loaded by
// other builds, with the API double sending 100 MB over TLS, stalls every
// process for seconds now and then without losing anything); prints each
// one lost.
std::vector<std::string> pings(const ClusterNode& from, const ClusterNode& to, int count,
                               const std::string& gap) {
  return from.pod->exec({"sh", "-c",
                         "for i in $(seq " + std::to_string(count) +
                             "); do ping -n -q -c 1 -W 15 " + to.pod_ip.str() +
                             " >/dev/null 2>&1 || echo '" + from.name + " -> " + to.name +
                             ": echo request lost'; sleep " + gap + "; done"});
}

// A tartan node's readiness over HTTP as the kubelet's probe asks it: the
// body, then the status code on a line of its own.
std::string readyz(Cluster& c, const ClusterNode& n) {
  return c.sh(*n.ns, "curl -s -m 10 -w '%{http_code}\\n' http://127.0.0.1:8091/readyz 2>&1; true")
      .output;
}

class KubeCluster : public ::testing::Test {
 protected:
  KubeCluster() : pki_("kx-pki"), api_(api_options(pki_.path())), c_("kx") {}

  void SetUp() override {
    ca_data_ = run_or_throw({"base64", "-w0", pki_.path() + "/ca.crt"});
    kubectl_ = std::make_unique<testing::Kubectl>(pki_.path() + "/kubectl", api_.url(),
                                                  testing::KubectlCredentials{"kx-admin-token"},
                                                  pki_.path() + "/ca.crt");
    kernel_ = &c_.add_kernel_node(1);
    // flanneld's own Node, as it leaves it.
    api_.create_node(Json::parse(c_.manifest(*kernel_)));
    names_ = {kernel_->name};
    for (int i = 2; i <= 4; ++i) {
      ClusterNode& n = add_kube_tartan_node(i);
      c_.start_tartand(n);
      tartan_.push_back(&n);
    }
    // The kernel node learns each tartan node from its Node object alone.
    for (ClusterNode* n : tartan_) {
      ASSERT_TRUE(eventually([&] { return published(*n); }, 60s, 200ms))
          << n->name << " did not publish its annotations:\n"
          << api_.node(n->name)->dump(2) << n->tartand->output();
      c_.learn_node_object(*kernel_, *api_.node(n->name));
    }
    ASSERT_TRUE(converged()) << report();
  }

  // A tartan node as the DaemonSet runs it: the shipped tartan.yaml and
  // net-conf.json with only what this test environment forces replaced,
  // NODE_NAME from the pod's spec.nodeName, and a kubeconfig for the API
  // inside its namespace. Its Node is registered as a kubelet and
  // kube-controller-manager make it, with the tartan.io/underlay-address
  // annotation the README asks for. Not started.
  ClusterNode& add_kube_tartan_node(int i, const std::string& pod_cidr = "") {
    ClusterNode& n = c_.add_unstarted_tartan_node(i);
    const int port = api_.listen_in_netns(n.ns->name(), "127.0.0.1", kApiPort);
    testing::write_file(n.dir + "/kubeconfig", kubeconfig(port, ca_data_, token_of(n.name)));
    testing::write_file(n.dir + "/net-conf.json", testing::shipped_kube_config().net_conf_json);
    testing::write_file(n.dir + "/tartan.yaml", kube_tartan_yaml(n, file_prefix(n)));
    n.tartand_env = {"NODE_NAME=" + n.name};  // the DaemonSet's fieldRef spec.nodeName
    register_node(n, pod_cidr.empty() ? n.pod_cidr.str() : pod_cidr);
    names_.push_back(n.name);
    return n;
  }

  // The kubelet registers its Node (addresses, labels); kube-controller-
  // manager then assigns its podCIDR.
  void register_node(ClusterNode& n, const std::string& pod_cidr) {
    KubeObject node = testing::node_manifest(
        n.name, "", {{"tartan.io/underlay-address", n.public_ip.str() + "/24"}},
        {{"kubernetes.io/hostname", n.name},
         {"kubernetes.io/os", "linux"},
         {"tartan.io/dataplane", "true"}});
    node["status"] = {{"addresses",
                       {{{"type", "InternalIP"}, {"address", n.public_ip.str()}},
                        {{"type", "Hostname"}, {"address", n.name}}}}};
    api_.create_node(node);
    api_.patch_node(n.name, testing::KubePatchType::kStrategic,
                    Json{{"spec", {{"podCIDR", pod_cidr}, {"podCIDRs", {pod_cidr}}}}}.dump());
  }

  // tartand has put its flannel annotations on its Node.
  bool published(const ClusterNode& n) const {
    const auto node = api_.node(n.name);
    return node && (*node)["metadata"]
                           .value("annotations", Json::object())
                           .value(annotation_key("kube-subnet-manager"), "") == "true";
  }

  RouteMap routes_of(ClusterNode& n) {
    // A minute's deadline, not tartanctl's 5 s: a loaded 2-core host
    // starves tartand's control threads for seconds, which loses nothing.
    const CommandResult r = c_.tartanctl(n, {"--timeout", "60", "-o", "json", "routes"});
    RouteMap out;
    if (r.exit_code != 0) return {{"error", r.output}};
    for (const Json& route : Json::parse(r.output).value("routes", Json::array())) {
      if (route.value("kind", "") == "local") continue;
      out[route.value("prefix", "")] = route.value("public_ip", "");
    }
    return out;
  }

  // The destinations of `ip route` output, one a line.
  static std::string prefixes(const std::string& routes) {
    return std::regex_replace(routes, std::regex(" [^\n]*"), "");
  }

  // The host routes tartand keeps on its tap (as flanneld's on flannel.1).
  std::string host_routes(ClusterNode& n) {
    return c_.sh(*n.ns, "ip route show dev flannel.1 proto 116").output;
  }

  // How `nodes`' routes differ from what the API says: each such node's
  // routes (or tartanctl's error) and the wanted ones; "" when none does.
  std::string routes_not_as_wanted(const std::vector<ClusterNode*>& nodes) {
    std::string out;
    for (ClusterNode* n : nodes) {
      const RouteMap got = routes_of(*n);
      const RouteMap wanted = wanted_routes(api_, names_, n->name);
      if (got != wanted) out += routes_line(*n, got, wanted);
    }
    return out;
  }
  static std::string routes_line(const ClusterNode& n, const RouteMap& got,
                                 const RouteMap& wanted) {
    std::string out = n.name + " routes:";
    for (const auto& [p, ip] : got) out += " " + p + "->" + ip;
    out += "\n  wanted:";
    for (const auto& [p, ip] : wanted) out += " " + p + "->" + ip;
    return out + "\n";
  }
  // Every tartan node (of `nodes`) routes exactly what the API says, in time.
  bool converged() { return converged(tartan_); }
  bool converged(const std::vector<ClusterNode*>& nodes) {
    return eventually([&] { return routes_not_as_wanted(nodes).empty(); }, 90s, 250ms);
  }

  // Adds a Node through the test-side API, as a controller would.
  void add_api_node(const KubeObject& node) {
    api_.create_node(node);
    names_.push_back(node["metadata"]["name"].get<std::string>());
  }

  // For failure messages: each tartan node's routes and the API's view.
  std::string report() {
    std::string out;
    for (ClusterNode* n : tartan_)
      out += routes_line(*n, routes_of(*n), wanted_routes(api_, names_, n->name));
    for (ClusterNode* n : tartan_) {
      if (n->tartand) out += "--- " + n->name + "'s tartand:\n" + n->tartand->output();
    }
    return out;
  }

  // Every ordered pair of `nodes` pings; the lost echo requests, or "".
  std::string ping_all(const std::vector<ClusterNode*>& nodes) {
    std::string lost;
    for (ClusterNode* from : nodes) {
      for (ClusterNode* to : nodes) {
        if (from != to) lost += testing::run_command(pings(*from, *to, 3, "0.2"), 60s).output;
      }
    }
    return lost;
  }

  // Every tartan node's pod and `peer`'s ping each other; the lost, or "".
  std::string pings_with(ClusterNode& peer) {
    std::string lost;
    for (ClusterNode* n : tartan_) {
      lost += testing::run_command(pings(*n, peer, 3, "0.2"), 60s).output;
      lost += testing::run_command(pings(peer, *n, 3, "0.2"), 60s).output;
    }
    return lost;
  }

  // Pings around the cluster, pod to pod (`count` from each, 0.4 s apart),
  // in processes of their own while the test does something else.
  std::vector<std::unique_ptr<Process>> steady_pings(int count) {
    std::vector<std::unique_ptr<Process>> out;
    const std::vector<ClusterNode*> all = everyone();
    for (size_t i = 0; i < all.size(); ++i)
      out.push_back(
          std::make_unique<Process>(pings(*all[i], *all[(i + 1) % all.size()], count, "0.4")));
    return out;
  }
  // What the steady pings lost, or "" when every echo request was answered.
  static std::string losses(std::vector<std::unique_ptr<Process>>& pings) {
    std::string out;
    for (auto& p : pings) {
      if (!p->wait(300s).has_value()) out += "still pinging: ";
      out += p->output();
    }
    return out;
  }

  std::vector<ClusterNode*> everyone() {
    std::vector<ClusterNode*> all{kernel_};
    all.insert(all.end(), tartan_.begin(), tartan_.end());
    return all;
  }

  CommandResult kubectl(const std::vector<std::string>& args) { return kubectl_->run(args); }

  static std::string run_or_throw(const std::vector<std::string>& argv) {
    const CommandResult r = testing::run_command(argv);
    if (r.exit_code != 0) throw std::runtime_error(argv[0] + ": " + r.output);
    return r.output;
  }

  testing::ScopedTempDir pki_;
  KubeApiServer api_;
  Cluster c_;
  std::string ca_data_;
  std::unique_ptr<testing::Kubectl> kubectl_;
  ClusterNode* kernel_ = nullptr;
  std::vector<ClusterNode*> tartan_;
  std::vector<std::string> names_;  // every Node the test made, deleted or not
};

TEST_F(KubeCluster, PodsPingAcrossEveryPairOfNodes) {
  EXPECT_EQ(tartan_.size(), 3u);
  // What each tartan node published is what it runs.
  for (ClusterNode* n : tartan_) {
    const Json a = (*api_.node(n->name))["metadata"]["annotations"];
    EXPECT_EQ(a[annotation_key("backend-data")], R"({"VNI":1,"VtepMAC":")" + n->vtep_mac + R"("})");
    EXPECT_EQ(a[annotation_key("public-ip")], n->public_ip.str());
    EXPECT_EQ(a[annotation_key("backend-type")], "vxlan");
    EXPECT_NE(testing::read_file(n->dir + "/subnet.env")
                  .find("FLANNEL_SUBNET=" + Ipv4Addr{n->pod_cidr.addr.value + 1}.str() + "/24"),
              std::string::npos)
        << testing::read_file(n->dir + "/subnet.env");
    EXPECT_NE(n->tartand->output().find("public IP " + n->public_ip.str()), std::string::npos)
        << "the start-up summary names the address from the Node's annotation\n"
        << n->tartand->output();
  }
  const std::string failed = ping_all(everyone());
  EXPECT_EQ(failed, "") << report();
}

TEST_F(KubeCluster, ANodeAddedReaddressedAndDeletedWithKubectlIsFollowedByEveryTartanNode) {
  // A kernel-flannel node joins: its Node created with kubectl, as flanneld
  // would have left it; it learns the tartan nodes from their Nodes.
  ClusterNode& added = c_.add_kernel_node(5);
  for (ClusterNode* n : tartan_) c_.learn_node_object(added, *api_.node(n->name));
  const std::string manifest = pki_.path() + "/node-5.json";
  testing::write_file(manifest, c_.manifest(added));
  CommandResult r = kubectl({"create", "--validate=false", "-f", manifest});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  names_.push_back(added.name);
  ASSERT_TRUE(converged()) << report();
  for (ClusterNode* n : tartan_)
    EXPECT_NE(host_routes(*n).find("10.244.5.0/24 via 10.244.5.0"), std::string::npos)
        << n->name << ":\n"
        << host_routes(*n);
  EXPECT_EQ(pings_with(added), "") << report();

  // Its public IP changes: the host is re-addressed and its public-ip
  // annotation follows.
  c_.readdress(added, *Ipv4Addr::parse("192.0.2.25"));
  r = kubectl(
      {"annotate", "node", added.name, "--overwrite", annotation_key("public-ip") + "=192.0.2.25"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(converged()) << report();
  for (ClusterNode* n : tartan_) EXPECT_EQ(routes_of(*n)["10.244.5.0/24"], "192.0.2.25");
  EXPECT_EQ(pings_with(added), "") << report();

  r = kubectl({"delete", "node", added.name});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(converged()) << report();
  for (ClusterNode* n : tartan_) {
    EXPECT_EQ(routes_of(*n).count("10.244.5.0/24"), 0u);
    EXPECT_EQ(host_routes(*n).find("10.244.5.0/24"), std::string::npos) << host_routes(*n);
    EXPECT_FALSE(all_replied(ping(c_, *n, added, "-c 1 -W 1")))
        << n->name << " still reaches the deleted node's pod";
  }
  EXPECT_EQ(ping_all(everyone()), "") << report();
}

TEST_F(KubeCluster, ATartandRestartedWhileANodeWasDeletedDropsItsRouteAfterItsList) {
  add_api_node(flannel_node(6));
  ClusterNode& n = *tartan_[0];
  // Its tap made persistent, as a host's flannel.1 outlives flanneld: what
  // a killed tartand programmed there stays behind.
  n.tartand->signal(SIGTERM);
  ASSERT_TRUE(n.tartand->wait(30s).has_value());
  c_.sh(*n.ns, "ip tuntap add dev flannel.1 mode tap multi_queue && ip link set flannel.1 up");
  c_.start_tartand(n);
  ASSERT_TRUE(converged()) << report();
  const std::string before = host_routes(n);
  ASSERT_NE(before.find("10.244.6.0/24"), std::string::npos) << before;

  n.tartand->signal(SIGKILL);
  ASSERT_TRUE(n.tartand->wait(10s).has_value());
  // Only its telemetry socket outlives a killed EAL (nothing runs its exit
  // handlers): the test removes it.
  std::filesystem::remove_all("/var/run/dpdk/" + file_prefix(n));
  ASSERT_EQ(prefixes(host_routes(n)), prefixes(before)) << "the tap did not keep what tartand left";
  CommandResult r = kubectl({"delete", "node", "node-6"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<ClusterNode*> others(tartan_.begin() + 1, tartan_.end());
  ASSERT_TRUE(converged(others)) << report();

  c_.start_tartand(n);
  ASSERT_TRUE(converged()) << report();
  const std::string after = host_routes(n);
  EXPECT_EQ(after.find("10.244.6.0/24"), std::string::npos) << after;
  for (const char* kept : {"10.244.1.0/24", "10.244.3.0/24", "10.244.4.0/24"})
    EXPECT_NE(after.find(kept), std::string::npos) << after;
  EXPECT_EQ(ping_all(everyone()), "") << report();
}

TEST_F(KubeCluster, AWatchDroppedMidEventAndAForcedRelistConvergeToTheApisState) {
  // Every watch is cut half-way through its next event: each resumes from
  // the last version it saw and gets the event whole.
  api_.drop_watches_mid_event();
  add_api_node(flannel_node(6));
  ASSERT_TRUE(converged()) << report();
  for (ClusterNode* n : tartan_)
    EXPECT_NE(n->tartand->output().find("bytes into an event (from "), std::string::npos)
        << n->tartand->output();

  // Changes no watch sees, then the history compacted: each watch's version
  // is gone (410 Expired), and only a LIST, reconciled, shows what happened.
  api_.stop_serving();
  api_.delete_node("node-6");
  add_api_node(flannel_node(7));
  api_.patch_node(kernel_->name, testing::KubePatchType::kMerge,
                  Json{{"metadata", {{"labels", {{"kx", "changed"}}}}}}.dump());
  api_.compact();
  api_.resume_serving();
  ASSERT_TRUE(converged()) << report();
  for (ClusterNode* n : tartan_) {
    EXPECT_EQ(routes_of(*n).count("10.244.6.0/24"), 0u);
    EXPECT_EQ(routes_of(*n)["10.244.7.0/24"], "192.0.2.17");
    EXPECT_NE(n->tartand->output().find("410 Expired"), std::string::npos) << n->tartand->output();
  }
  EXPECT_EQ(ping_all(everyone()), "") << report();
}

TEST_F(KubeCluster, TheApiServerGoneForThirtySecondsKeepsForwardingAndReadinessSaysWhy) {
  auto pings = steady_pings(100);  // 40 s
  std::this_thread::sleep_for(2s);
  api_.stop_serving();
  const auto gone = std::chrono::steady_clock::now();
  for (ClusterNode* n : tartan_) {
    EXPECT_TRUE(eventually(
        [&] {
          return readyz(c_, *n).find("kube_api") != std::string::npos &&
                 readyz(c_, *n).rfind("503\n") != std::string::npos;
        },
        60s, 500ms))
        << readyz(c_, *n);
    const CommandResult health = c_.tartanctl(*n, {"health"});
    EXPECT_NE(health.exit_code, 0) << health.output;
    EXPECT_TRUE(std::regex_search(health.output, std::regex("kube_api +no +\\S"))) << health.output;
    EXPECT_EQ(routes_of(*n), wanted_routes(api_, names_, n->name)) << "tables kept";
  }
  std::this_thread::sleep_until(gone + 30s);
  api_.resume_serving();
  for (ClusterNode* n : tartan_) {
    EXPECT_TRUE(
        eventually([&] { return c_.tartanctl(*n, {"health"}).exit_code == 0; }, 120s, 500ms))
        << c_.tartanctl(*n, {"health"}).output;
    EXPECT_EQ(readyz(c_, *n).rfind("200\n"), readyz(c_, *n).size() - 4) << readyz(c_, *n);
  }
  EXPECT_EQ(losses(pings), "") << report();
  // And it follows the API again.
  add_api_node(flannel_node(6));
  EXPECT_TRUE(converged()) << report();
}

TEST_F(KubeCluster, FlannelAnnotationsRemovedByHandArePutBack) {
  ClusterNode& a = *tartan_[0];
  ClusterNode& b = *tartan_[1];
  const auto annotations = [&](const ClusterNode& n) {
    return (*api_.node(n.name))["metadata"]["annotations"]
        .get<std::map<std::string, std::string>>();
  };
  const auto published_a = annotations(a);
  const auto published_b = annotations(b);
  CommandResult r = kubectl({"annotate", "node", a.name, annotation_key("public-ip") + "-"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = kubectl({"annotate", "node", b.name, annotation_key("backend-data") + "-",
               annotation_key("kube-subnet-manager") + "-"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(eventually(
      [&] { return annotations(a) == published_a && annotations(b) == published_b; }, 60s, 250ms))
      << api_.node(a.name)->dump(2) << api_.node(b.name)->dump(2);
  EXPECT_NE(a.tartand->output().find("restored our annotations"), std::string::npos)
      << a.tartand->output();
  ASSERT_TRUE(converged()) << report();
  EXPECT_EQ(ping_all(everyone()), "") << report();
}

// The reason `tartanctl nodes list` gives on `n` for Node `name` not being
// routed, or "routed" / "absent".
std::string not_routed_reason(Cluster& c, ClusterNode& n, const std::string& name) {
  const CommandResult r = c.tartanctl(n, {"-o", "json", "nodes", "list"});
  if (r.exit_code != 0) return r.output;
  for (const Json& node : Json::parse(r.output).value("nodes", Json::array())) {
    if (node.value("name", "") != name) continue;
    const Json status = node.value("status", Json::object());
    return status.value("routed", false) ? "routed" : status.value("reason", "");
  }
  return "absent";
}

TEST_F(KubeCluster, MalformedAnnotationsAndAPodCidrOutsideTheNetworkAreNamedAndRouteNothing) {
  KubeObject bad_ip = flannel_node(6);
  bad_ip["metadata"]["annotations"][annotation_key("public-ip")] = "192.0.2.300";
  KubeObject bad_data = flannel_node(7);
  bad_data["metadata"]["annotations"][annotation_key("backend-data")] = R"({"VNI":1,"VtepMAC":)";
  add_api_node(bad_ip);
  add_api_node(bad_data);
  // A tartan node whose podCIDR kube-controller-manager took from another range.
  ClusterNode& outside = add_kube_tartan_node(8, "10.9.8.0/24");
  outside.tartand = std::make_unique<Process>(c_.tartand_command(outside));
  const std::string why =
      "spec.podCIDRs[0]: 10.9.8.0/24 of node 'node-8' is outside "
      "network.Network 10.244.0.0/16";
  EXPECT_TRUE(eventually(
      [&] { return c_.tartanctl(outside, {"health"}).output.find(why) != std::string::npos; }, 90s,
      500ms))
      << c_.tartanctl(outside, {"health"}).output << outside.tartand->output();
  EXPECT_NE(readyz(c_, outside).find(why), std::string::npos) << readyz(c_, outside);
  EXPECT_NE(c_.tartanctl(outside, {"health"}).exit_code, 0);
  EXPECT_FALSE(published(outside)) << "nothing published without a lease";

  ASSERT_TRUE(converged()) << report();
  for (ClusterNode* n : tartan_) {
    EXPECT_NE(not_routed_reason(c_, *n, "node-6").find("public-ip"), std::string::npos)
        << not_routed_reason(c_, *n, "node-6");
    EXPECT_NE(not_routed_reason(c_, *n, "node-7").find("backend-data"), std::string::npos)
        << not_routed_reason(c_, *n, "node-7");
    EXPECT_NE(not_routed_reason(c_, *n, "node-8"), "routed");
    EXPECT_NE(not_routed_reason(c_, *n, "node-8"), "absent");
  }
  EXPECT_TRUE(outside.tartand->running()) << outside.tartand->output();
  EXPECT_EQ(ping_all(everyone()), "") << report();
}

TEST_F(KubeCluster, GarbageTruncatedAndHugeListsFromTheApiLoseNothingProgrammed) {
  // The next LISTs (three of each fault, as many as there are tartan
  // nodes) are not JSON, cut in half, and 100 MB.
  const testing::KubeRequestMatch list{"GET", "/api/v1/nodes", false};
  for (int i = 0; i < 3; ++i) api_.respond_with_garbage(list);
  for (int i = 0; i < 3; ++i) api_.respond_truncated(list);
  for (int i = 0; i < 3; ++i) api_.respond_huge(list, size_t{100} << 20);
  auto pings = steady_pings(60);
  api_.clear_requests();
  // A change no watch sees, and the history compacted: every watch's
  // version is gone, and every node lists again.
  api_.stop_serving();
  api_.patch_node(kernel_->name, testing::KubePatchType::kMerge,
                  Json{{"metadata", {{"labels", {{"kx", "changed"}}}}}}.dump());
  api_.compact();
  api_.resume_serving();
  const auto lists = [&] {
    int n = 0;
    for (const auto& r : api_.requests())
      n += r.method == "GET" && r.path == "/api/v1/nodes" &&
           r.query.find("watch=true") == std::string::npos;
    return n;
  };
  // The nine faulty answers, then one good LIST for each node; all the
  // while every node keeps its routes.
  std::string lost;
  EXPECT_TRUE(eventually(
      [&] {
        if (lost.empty()) lost = routes_not_as_wanted(tartan_);
        return lists() >= 12;
      },
      240s, 500ms))
      << lists() << " LISTs\n"
      << report();
  EXPECT_EQ(lost, "") << "routes lost while the API answered garbage";
  ASSERT_TRUE(converged()) << report();
  std::string all_output;
  for (ClusterNode* n : tartan_) {
    EXPECT_TRUE(n->tartand->running()) << n->tartand->output();
    EXPECT_TRUE(
        eventually([&] { return c_.tartanctl(*n, {"health"}).exit_code == 0; }, 120s, 500ms))
        << c_.tartanctl(*n, {"health"}).output;
    all_output += n->tartand->output();
  }
  // Each fault named in the log of whichever node it met.
  EXPECT_NE(all_output.find("invalid JSON"), std::string::npos) << all_output;
  EXPECT_NE(all_output.find("(lease.kube.max_response_mb)"), std::string::npos) << all_output;
  EXPECT_EQ(losses(pings), "") << report();
  // And it follows the API again.
  add_api_node(flannel_node(6));
  EXPECT_TRUE(converged()) << report();
}

// A tartan node whose kubeconfig cannot be used: tartand stops at start
// with a message naming the field, and leaves nothing behind.
TEST(KubeClusterKubeconfig, AMissingFileOrBadBase64StopsTartandNamingTheField) {
  Cluster c("kx");
  ClusterNode& n = c.add_unstarted_tartan_node(2);
  testing::write_file(n.dir + "/net-conf.json", testing::shipped_kube_config().net_conf_json);
  testing::write_file(n.dir + "/tartan.yaml", kube_tartan_yaml(n, file_prefix(n)));
  n.tartand_env = {"NODE_NAME=" + n.name};
  const std::string head =
      "apiVersion: v1\nkind: Config\ncurrent-context: kx\n"
      "contexts:\n- name: kx\n  context: {cluster: kx, user: tartan}\n";
  const struct {
    std::string kubeconfig;
    std::string named;  // in tartand's message
  } cases[] = {
      {head +
           "clusters:\n- name: kx\n  cluster: {server: 'https://127.0.0.1:6443', "
           "certificate-authority: missing-ca.crt}\nusers:\n- name: tartan\n  user: {token: t}\n",
       "clusters[0].cluster.certificate-authority: " + n.dir + "/missing-ca.crt: No such file"},
      {head + "clusters:\n- name: kx\n  cluster: {server: 'https://127.0.0.1:6443', "
              "certificate-authority-data: 'LS0t*not base64*'}\nusers:\n- name: tartan\n  user: "
              "{token: t}\n",
       "clusters[0].cluster.certificate-authority-data: not valid base64"},
      {head + "clusters:\n- name: kx\n  cluster: {server: 'https://127.0.0.1:6443'}\n"
              "users:\n- name: tartan\n  user: {tokenFile: missing-token}\n",
       "users[0].user.tokenFile: " + n.dir + "/missing-token: No such file"},
  };
  for (const auto& t : cases) {
    testing::write_file(n.dir + "/kubeconfig", t.kubeconfig);
    Process tartand(c.tartand_command(n));
    const auto code = tartand.wait(60s);
    ASSERT_TRUE(code.has_value()) << t.named << ": still running\n" << tartand.output();
    EXPECT_NE(*code, 0) << tartand.output();
    EXPECT_NE(tartand.output().find("kubeconfig " + n.dir + "/kubeconfig: " + t.named),
              std::string::npos)
        << tartand.output();
    EXPECT_NE(c.sh(*n.ns, "ip link show flannel.1").exit_code, 0) << "the overlay tap outlived it";
  }
}

}  // namespace
}  // namespace tartan
