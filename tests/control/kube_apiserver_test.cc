// The Kubernetes API server double (tests/support/kube_apiserver.h) proven
// faithful: the real kubectl (client-go) drives it as it drives a cluster,
// and what kubectl cannot show (chunk boundaries, ERROR events, bookmarks,
// continue tokens, cut connections) is checked over HTTP with libcurl.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/files.h"
#include "tests/support/kube_apiserver.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan::testing {
namespace {

using namespace std::chrono_literals;
using Json = KubeObject;

// kubectl on PATH (scripts/install-deps.sh installs Debian's
// kubernetes-client when there is none): the tests fail without it.
struct KubectlVersion {
  int major = 0;
  int minor = 0;
};

KubectlVersion kubectl_version() {
  const CommandResult r = run_command({"kubectl", "version", "--client", "-o", "json"});
  if (r.exit_code != 0)
    throw std::runtime_error("kubectl is needed on PATH (scripts/install-deps.sh): " + r.output);
  const Json v = Json::parse(r.output.substr(r.output.find('{')))["clientVersion"];
  // "minor" may carry a suffix ("20+").
  return {std::stoi(v["major"].get<std::string>()), std::stoi(v["minor"].get<std::string>())};
}

// How kubectl authenticates in its kubeconfig.
struct Credentials {
  std::string token;
  std::string client_cert;  // paths
  std::string client_key;
};

// kubectl with a kubeconfig, HOME and discovery cache of its own.
class Kubectl {
 public:
  Kubectl(const std::string& dir, const std::string& server, const Credentials& who = {},
          const std::string& ca_file = "")
      : dir_(dir) {
    std::string user = "{}";
    if (!who.token.empty()) user = "{token: " + who.token + "}";
    if (!who.client_cert.empty())
      user = "{client-certificate: " + who.client_cert + ", client-key: " + who.client_key + "}";
    const std::string ca = ca_file.empty() ? "" : ", certificate-authority: " + ca_file;
    write_file(dir + "/kubeconfig",
               "apiVersion: v1\nkind: Config\n"
               "clusters:\n- name: double\n  cluster: {server: '" +
                   server + "'" + ca +
                   "}\n"
                   "users:\n- name: tester\n  user: " +
                   user +
                   "\n"
                   "contexts:\n- name: double\n  context: {cluster: double, user: tester}\n"
                   "current-context: double\n");
  }

  std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> out = {"env",          "HOME=" + dir_,       "kubectl",
                                    "--kubeconfig", dir_ + "/kubeconfig", "--cache-dir",
                                    dir_ + "/cache"};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  CommandResult run(const std::vector<std::string>& args) const {
    return run_command(argv(args), 60s);
  }

 private:
  std::string dir_;
};

std::vector<KubeLoggedRequest> requests_to(const KubeApiServer& api, const std::string& method,
                                           const std::string& path) {
  std::vector<KubeLoggedRequest> out;
  for (auto& r : api.requests()) {
    if (r.method == method && r.path == path) out.push_back(r);
  }
  return out;
}

// The requests the server saw, one a line, for failure messages.
std::string request_log(const KubeApiServer& api) {
  std::string out;
  for (const auto& r : api.requests()) {
    out += r.method + " " + r.path + (r.query.empty() ? "" : "?" + r.query) + " [" +
           r.content_type + "] " + r.body + " -> " + std::to_string(r.code) + "\n";
  }
  return out;
}

std::vector<std::string> names_of(const Json& list) {
  std::vector<std::string> out;
  for (const auto& item : list["items"]) out.push_back(item["metadata"]["name"]);
  return out;
}

class KubectlAgainstTheDouble : public ::testing::Test {
 protected:
  KubectlAgainstTheDouble() : dir_("kd-kubectl"), kubectl_(dir_.path(), api_.url()) {}

  ScopedTempDir dir_;
  KubeApiServer api_;
  Kubectl kubectl_;
};

TEST_F(KubectlAgainstTheDouble, GetNodesPrintsThemAndTheirJson) {
  kubectl_version();
  api_.create_node(node_manifest("node-a", "10.244.1.0/24",
                                 {{"flannel.alpha.coreos.com/public-ip", "192.168.50.1"}}));
  api_.create_node(node_manifest("node-b", "10.244.2.0/24"));

  const CommandResult table = kubectl_.run({"get", "nodes"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("node-a"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("node-b"), std::string::npos) << table.output;

  const CommandResult json = kubectl_.run({"get", "nodes", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const Json list = Json::parse(json.output);
  EXPECT_EQ(names_of(list), (std::vector<std::string>{"node-a", "node-b"}));
  EXPECT_EQ(list["items"][0]["metadata"]["annotations"]["flannel.alpha.coreos.com/public-ip"],
            "192.168.50.1");
  EXPECT_EQ(list["items"][0]["spec"]["podCIDR"], "10.244.1.0/24");
  // kubectl lists in pages of 500 from the most recent version.
  const auto lists = requests_to(api_, "GET", "/api/v1/nodes");
  ASSERT_FALSE(lists.empty());
  EXPECT_NE(lists.back().query.find("limit=500"), std::string::npos) << lists.back().query;
}

TEST_F(KubectlAgainstTheDouble, GetNodesWatchSeesAddedAndModified) {
  kubectl_version();
  api_.create_node(node_manifest("node-a", "10.244.1.0/24"));
  // Both forms: the table rows, and the EVENT column.
  Process rows(kubectl_.argv({"get", "nodes", "-w", "-o", "name"}));
  Process events(kubectl_.argv({"get", "nodes", "-w", "--output-watch-events"}));
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 2; }, 30s)) << request_log(api_);
  api_.create_node(node_manifest("node-b", "10.244.2.0/24"));
  api_.patch_node(
      "node-a", KubePatchType::kMerge,
      R"({"metadata":{"annotations":{"flannel.alpha.coreos.com/public-ip":"10.0.0.1"}}})");
  ASSERT_TRUE(eventually(
      [&] {
        const std::string out = events.output();
        return out.find("ADDED") != std::string::npos && out.find("MODIFIED") != std::string::npos;
      },
      30s))
      << events.output();
  EXPECT_TRUE(std::regex_search(events.output(), std::regex("\nADDED +node-b ")))
      << events.output();
  EXPECT_TRUE(std::regex_search(events.output(), std::regex("\nMODIFIED +node-a ")))
      << events.output();
  ASSERT_TRUE(eventually(
      [&] {
        const std::string out = rows.output();
        return out.find("node/node-b") != std::string::npos &&
               out.rfind("node/node-a") > out.find("node/node-b");
      },
      30s))
      << rows.output();
  // A watch from the list's version, as client-go's reflector starts it.
  const auto watches = requests_to(api_, "GET", "/api/v1/nodes");
  bool watched = false;
  for (const auto& r : watches)
    watched |= r.query.find("watch=true") != std::string::npos &&
               r.query.find("resourceVersion=") != std::string::npos;
  EXPECT_TRUE(watched) << request_log(api_);
}

TEST_F(KubectlAgainstTheDouble, AnnotateSendsAMergePatchTheServerApplies) {
  kubectl_version();
  api_.create_node(node_manifest("node-a", "10.244.1.0/24", {{"keep", "me"}}));
  const CommandResult r = kubectl_.run(
      {"annotate", "node", "node-a", "flannel.alpha.coreos.com/public-ip=192.168.50.7"});
  ASSERT_EQ(r.exit_code, 0) << r.output << request_log(api_);
  EXPECT_NE(r.output.find("node/node-a annotated"), std::string::npos) << r.output;
  const Json node = *api_.node("node-a");
  EXPECT_EQ(node["metadata"]["annotations"]["flannel.alpha.coreos.com/public-ip"], "192.168.50.7");
  EXPECT_EQ(node["metadata"]["annotations"]["keep"], "me");
  const auto patches = requests_to(api_, "PATCH", "/api/v1/nodes/node-a");
  ASSERT_EQ(patches.size(), 1u) << request_log(api_);
  EXPECT_EQ(patches[0].content_type, "application/merge-patch+json");
  EXPECT_NE(patches[0].query.find("fieldManager=kubectl-annotate"), std::string::npos);
  // Removing it ("key-") is a null in the merge patch.
  ASSERT_EQ(kubectl_.run({"annotate", "node", "node-a", "keep-"}).exit_code, 0);
  EXPECT_FALSE(api_.node("node-a").value()["metadata"]["annotations"].contains("keep"));
}

// A paged LIST is one snapshot, at the version of its first page, however
// the Nodes change between pages (pages from an unchanged store are served
// from it directly, without copying every Node).
TEST(KubeNodeStore, PagesOfAListShowTheNodesAsAtItsFirstPage) {
  kube::NodeStore store(100);
  std::optional<kube::NodeEvent> event;
  for (const char* name : {"node-a", "node-b", "node-c", "node-d"})
    ASSERT_TRUE(store.create(node_manifest(name, "", {{"v", "1"}}), true, event).ok());
  kube::ListRequest first;
  first.limit = 2;
  const kube::Outcome page1 = store.list(first);
  ASSERT_TRUE(page1.ok()) << page1.body.dump();
  EXPECT_EQ(names_of(page1.body), (std::vector<std::string>{"node-a", "node-b"}));
  kube::ListRequest next = first;
  next.continue_token = page1.body["metadata"]["continue"];
  const kube::Outcome unchanged = store.list(next);
  EXPECT_EQ(names_of(unchanged.body), (std::vector<std::string>{"node-c", "node-d"}));

  ASSERT_TRUE(store
                  .patch("node-d", kube::PatchType::kMerge,
                         R"({"metadata":{"annotations":{"v":"2"}}})", {}, event)
                  .ok());
  ASSERT_TRUE(store.remove("node-c", nullptr, event).ok());
  ASSERT_TRUE(store.create(node_manifest("node-e"), true, event).ok());
  const kube::Outcome changed = store.list(next);
  ASSERT_TRUE(changed.ok()) << changed.body.dump();
  EXPECT_EQ(names_of(changed.body), (std::vector<std::string>{"node-c", "node-d"}));
  EXPECT_EQ(changed.body["items"][1]["metadata"]["annotations"]["v"], "1");
  EXPECT_EQ(changed.body["metadata"]["resourceVersion"], page1.body["metadata"]["resourceVersion"]);
  EXPECT_FALSE(changed.body["metadata"].contains("continue"));
}

}  // namespace
}  // namespace tartan::testing
