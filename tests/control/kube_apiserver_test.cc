// The Kubernetes API server double (tests/support/kube_apiserver.h) proven
// faithful: the real kubectl (client-go) drives it as it drives a cluster,
// and what kubectl cannot show (chunk boundaries, ERROR events, bookmarks,
// continue tokens, cut connections) is checked over HTTP with libcurl.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/files.h"
#include "tests/support/kube/strategic_merge.h"
#include "tests/support/kube_apiserver.h"
#include "tests/support/kubectl.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace tartan::testing {
namespace {

using namespace std::chrono_literals;
using Json = KubeObject;

// libcurl's global state, made before any test thread uses libcurl.
[[maybe_unused]] const CURLcode kCurlReady = curl_global_init(CURL_GLOBAL_DEFAULT);

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

// A Node as a kubelet keeps it: conditions in its status.
Json node_with_conditions(const std::string& name) {
  Json node = node_manifest(name, "10.244.1.0/24");
  node["status"] = {
      {"conditions",
       {{{"type", "MemoryPressure"}, {"status", "False"}, {"reason", "KubeletHasSufficientMemory"}},
        {{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}}}}};
  return node;
}

std::vector<std::string> condition_types(const Json& node) {
  std::vector<std::string> out;
  for (const auto& c : node["status"]["conditions"]) out.push_back(c["type"]);
  return out;
}

const Json* condition(const Json& node, const std::string& type) {
  for (const auto& c : node["status"]["conditions"]) {
    if (c["type"] == type) return &c;
  }
  return nullptr;
}

struct HttpResult {
  CURLcode result = CURLE_OK;
  long code = 0;
  std::string headers;
  std::string body;
};

size_t append_to(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// How a libcurl request authenticates over TLS.
struct TlsClient {
  std::string ca_file;
  std::string token;
};

HttpResult http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::string& content_type = "application/json", const TlsClient& tls = {}) {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, ("Content-Type: " + content_type).c_str());
  if (!tls.token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + tls.token).c_str());
  if (!tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (!body.empty()) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_to);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, append_to);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  r.result = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

// A WATCH read by libcurl on a thread of its own, the body kept as it
// arrives: decoded, or raw with the chunked framing (to see where the
// server cut it).
class WatchReader {
 public:
  explicit WatchReader(const std::string& url, bool raw = false)
      : thread_([this, url, raw] { run(url, raw); }) {}
  ~WatchReader() {
    abort_ = true;
    thread_.join();
  }

  std::string received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  bool ended() const { return ended_; }
  // How many times libcurl handed over bytes: one per read that found some.
  int deliveries() const { return deliveries_; }
  // Waits for the stream's end; libcurl's result.
  CURLcode finish(std::chrono::milliseconds timeout = 30s) {
    eventually([&] { return ended_.load(); }, timeout);
    return result_;
  }

 private:
  static size_t on_data(char* data, size_t size, size_t n, void* self) {
    auto* w = static_cast<WatchReader*>(self);
    std::lock_guard lock(w->mu_);
    w->received_.append(data, size * n);
    ++w->deliveries_;
    return size * n;
  }
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<WatchReader*>(self)->abort_ ? 1 : 0;
  }

  void run(const std::string& url, bool raw) {
    CURL* c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    if (raw) curl_easy_setopt(c, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
    result_ = curl_easy_perform(c);
    curl_easy_cleanup(c);
    ended_ = true;
  }

  mutable std::mutex mu_;
  std::string received_;
  std::atomic<bool> abort_{false};
  std::atomic<bool> ended_{false};
  std::atomic<int> deliveries_{0};
  CURLcode result_ = CURLE_OK;
  std::thread thread_;
};

// The data of each chunk of a raw chunked body.
std::vector<std::string> chunks_of(const std::string& raw) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < raw.size()) {
    const size_t eol = raw.find("\r\n", at);
    if (eol == std::string::npos) break;
    const size_t size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
    if (size == 0) break;
    out.push_back(raw.substr(eol + 2, size));
    at = eol + 2 + size + 2;
  }
  return out;
}

// Watch events of a decoded body, one JSON value a line.
std::vector<Json> events_of(const std::string& body) {
  std::vector<Json> out;
  size_t at = 0;
  for (size_t nl; (nl = body.find('\n', at)) != std::string::npos; at = nl + 1)
    out.push_back(Json::parse(body.substr(at, nl - at)));
  return out;
}

TEST_F(KubectlAgainstTheDouble, StrategicStatusPatchMergesConditionsByType) {
  const KubectlVersion version = kubectl_version();
  api_.create_node(node_with_conditions("node-a"));
  // What flanneld sends (--set-node-network-unavailable), with a spec
  // change that the status subresource must ignore.
  const std::string patch =
      R"({"status":{"conditions":[{"type":"NetworkUnavailable","status":"False",)"
      R"("reason":"TartanIsUp","message":"tartan is running on this node"}]},)"
      R"("spec":{"unschedulable":true}})";
  if (version.major > 1 || version.minor >= 24) {
    const CommandResult r = kubectl_.run(
        {"patch", "node", "node-a", "--subresource=status", "--type", "strategic", "-p", patch});
    ASSERT_EQ(r.exit_code, 0) << r.output << request_log(api_);
    const auto sent = requests_to(api_, "PATCH", "/api/v1/nodes/node-a/status");
    ASSERT_EQ(sent.size(), 1u) << request_log(api_);
    EXPECT_EQ(sent[0].content_type, "application/strategic-merge-patch+json");
  } else {
    // kubectl before 1.24 has no --subresource (Debian 12's
    // kubernetes-client is 1.20): its patch reaches the main resource, whose
    // strategy keeps the old status and takes the spec...
    const CommandResult r =
        kubectl_.run({"patch", "node", "node-a", "--type", "strategic", "-p", patch});
    ASSERT_EQ(r.exit_code, 0) << r.output << request_log(api_);
    EXPECT_EQ(condition_types(*api_.node("node-a")),
              (std::vector<std::string>{"MemoryPressure", "Ready"}));
    EXPECT_EQ(api_.node("node-a").value()["spec"]["unschedulable"], true);
    api_.patch_node("node-a", KubePatchType::kMerge, R"({"spec":{"unschedulable":null}})");
    // ...and the same bytes go to /status as a newer kubectl sends them.
    ASSERT_EQ(http("PATCH", api_.url() + "/api/v1/nodes/node-a/status", patch,
                   "application/strategic-merge-patch+json")
                  .code,
              200);
  }
  const Json node = *api_.node("node-a");
  // Merged by type: the new condition first, as strategicpatch orders it.
  EXPECT_EQ(condition_types(node),
            (std::vector<std::string>{"NetworkUnavailable", "MemoryPressure", "Ready"}));
  EXPECT_EQ((*condition(node, "Ready"))["status"], "True");
  EXPECT_FALSE(node["spec"].contains("unschedulable")) << node.dump();

  // Patching it again changes that condition in place.
  ASSERT_EQ(http("PATCH", api_.url() + "/api/v1/nodes/node-a/status",
                 R"({"status":{"conditions":[{"type":"NetworkUnavailable","status":"True"}]}})",
                 "application/strategic-merge-patch+json")
                .code,
            200);
  const Json again = *api_.node("node-a");
  EXPECT_EQ(condition_types(again), condition_types(node));
  EXPECT_EQ((*condition(again, "NetworkUnavailable"))["status"], "True");
  EXPECT_EQ((*condition(again, "NetworkUnavailable"))["reason"], "TartanIsUp");
  // A JSON merge patch has no merge keys: the list is replaced.
  ASSERT_EQ(http("PATCH", api_.url() + "/api/v1/nodes/node-a/status",
                 R"({"status":{"conditions":[{"type":"NetworkUnavailable","status":"False"}]}})",
                 "application/merge-patch+json")
                .code,
            200);
  EXPECT_EQ(condition_types(*api_.node("node-a")),
            (std::vector<std::string>{"NetworkUnavailable"}));
}

TEST_F(KubectlAgainstTheDouble, CreateWithoutValidationThenDelete) {
  kubectl_version();
  write_file(dir_.path() + "/node.yaml",
             "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-c\n  annotations:\n"
             "    flannel.alpha.coreos.com/backend-type: vxlan\nspec:\n  podCIDR: 10.244.3.0/24\n");
  // No OpenAPI here: kubectl validates against it unless told not to.
  const CommandResult refused = kubectl_.run({"create", "-f", dir_.path() + "/node.yaml"});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  const CommandResult created =
      kubectl_.run({"create", "--validate=false", "-f", dir_.path() + "/node.yaml"});
  ASSERT_EQ(created.exit_code, 0) << created.output << request_log(api_);
  EXPECT_NE(created.output.find("node/node-c created"), std::string::npos) << created.output;
  const Json node = *api_.node("node-c");
  EXPECT_EQ(node["metadata"]["annotations"]["flannel.alpha.coreos.com/backend-type"], "vxlan");
  EXPECT_FALSE(node["metadata"].value("uid", "").empty());
  EXPECT_FALSE(node["metadata"].value("creationTimestamp", "").empty());

  const CommandResult twice =
      kubectl_.run({"create", "--validate=false", "-f", dir_.path() + "/node.yaml"});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_NE(twice.output.find("Error from server (AlreadyExists)"), std::string::npos)
      << twice.output;
  EXPECT_NE(twice.output.find("nodes \"node-c\" already exists"), std::string::npos)
      << twice.output;

  const CommandResult deleted = kubectl_.run({"delete", "node", "node-c"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output << request_log(api_);
  EXPECT_NE(deleted.output.find("node \"node-c\" deleted"), std::string::npos) << deleted.output;
  EXPECT_FALSE(api_.node("node-c"));
  const auto deletes = requests_to(api_, "DELETE", "/api/v1/nodes/node-c");
  ASSERT_EQ(deletes.size(), 1u) << request_log(api_);
  EXPECT_NE(deletes[0].body.find("\"propagationPolicy\":\"Background\""), std::string::npos)
      << deletes[0].body;
  const CommandResult gone = kubectl_.run({"delete", "node", "node-c"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.output.find("Error from server (NotFound): nodes \"node-c\" not found"),
            std::string::npos)
      << gone.output;
}

TEST_F(KubectlAgainstTheDouble, GetPodInANamespace) {
  kubectl_version();
  api_.create_pod({{"metadata", {{"name", "kube-flannel-ds-x1"}, {"namespace", "kube-flannel"}}},
                   {"spec", {{"nodeName", "node-a"}}}});
  const CommandResult r =
      kubectl_.run({"get", "pod", "-n", "kube-flannel", "kube-flannel-ds-x1", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.output << request_log(api_);
  const Json pod = Json::parse(r.output);
  EXPECT_EQ(pod["kind"], "Pod");
  EXPECT_EQ(pod["spec"]["nodeName"], "node-a");
  const CommandResult missing = kubectl_.run({"get", "pod", "-n", "default", "kube-flannel-ds-x1"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("pods \"kube-flannel-ds-x1\" not found"), std::string::npos)
      << missing.output;
}

TEST_F(KubectlAgainstTheDouble, RetriesThroughTooManyRequestsAfterRetryAfter) {
  kubectl_version();
  api_.create_node(node_manifest("node-a", "10.244.1.0/24"));
  api_.fail_next(2, 429, {.method = "GET", .path = "/api/v1/nodes"}, 1);
  const CommandResult r = kubectl_.run({"get", "nodes", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.output << request_log(api_);
  EXPECT_NE(r.output.find("node/node-a"), std::string::npos);
  const auto lists = requests_to(api_, "GET", "/api/v1/nodes");
  ASSERT_EQ(lists.size(), 3u) << request_log(api_);
  EXPECT_EQ(lists[0].code, 429);
  EXPECT_EQ(lists[1].code, 429);
  EXPECT_EQ(lists[2].code, 200);
}

TEST_F(KubectlAgainstTheDouble, PagesThroughMoreNodesThanAChunk) {
  kubectl_version();
  for (int i = 0; i < 7; ++i)
    api_.create_node(
        node_manifest("node-" + std::to_string(i), "10.244." + std::to_string(i) + ".0/24"));
  const CommandResult r = kubectl_.run({"get", "nodes", "--chunk-size=3", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.output << request_log(api_);
  for (int i = 0; i < 7; ++i)
    EXPECT_NE(r.output.find("node/node-" + std::to_string(i)), std::string::npos) << r.output;
  const auto pages = requests_to(api_, "GET", "/api/v1/nodes");
  ASSERT_EQ(pages.size(), 3u) << request_log(api_);
  EXPECT_NE(pages[0].query.find("limit=3"), std::string::npos);
  EXPECT_EQ(pages[0].query.find("continue="), std::string::npos);
  EXPECT_NE(pages[1].query.find("continue="), std::string::npos);
  EXPECT_NE(pages[2].query.find("continue="), std::string::npos);
}

TEST(KubectlOverTls, BearerTokensAndClientCertificatesAuthenticateAndGrantsAuthorize) {
  const KubectlVersion version = kubectl_version();
  const ScopedTempDir dir("kd-tls");
  const std::string& d = dir.path();
  make_test_pki(d, {"operator"});
  const std::string flannel = "system:serviceaccount:kube-flannel:flannel";
  KubeApiOptions options;
  options.cert_pem = read_file(d + "/server.crt");
  options.key_pem = read_file(d + "/server.key");
  options.client_ca_pem = read_file(d + "/ca.crt");
  options.tokens = {{"flannel-token", flannel}};
  options.grants = {{flannel, flannel_cluster_role()}};
  KubeApiServer api(options);
  ASSERT_EQ(api.url().rfind("https://", 0), 0u);
  api.create_node(node_manifest("node-a", "10.244.1.0/24"));
  const std::string ca = d + "/ca.crt";

  // flannel's service account: what its ClusterRole grants, and no more.
  const Kubectl as_flannel(d + "/flannel", api.url(), {.token = "flannel-token"}, ca);
  const CommandResult listed = as_flannel.run({"get", "nodes", "-o", "name"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output << request_log(api);
  EXPECT_NE(listed.output.find("node/node-a"), std::string::npos);
  const CommandResult annotated = as_flannel.run({"annotate", "node", "node-a", "a=b"});
  EXPECT_NE(annotated.exit_code, 0);
  EXPECT_NE(annotated.output.find(
                "Error from server (Forbidden): nodes \"node-a\" is forbidden: User \"" + flannel +
                "\" cannot patch resource \"nodes\" in API group \"\" at the cluster scope"),
            std::string::npos)
      << annotated.output;
  const std::string patch =
      R"({"metadata":{"annotations":{"flannel.alpha.coreos.com/kube-subnet-manager":"true"}}})";
  if (version.major > 1 || version.minor >= 24) {
    // kubectl patch --subresource reads the status first; the role grants
    // flanneld's PATCH of it, not a GET.
    const CommandResult status = as_flannel.run(
        {"patch", "node", "node-a", "--subresource=status", "--type", "strategic", "-p", patch});
    EXPECT_NE(status.exit_code, 0);
    EXPECT_NE(status.output.find("User \"" + flannel +
                                 "\" cannot get resource \"nodes/status\" in API group \"\" at "
                                 "the cluster scope"),
              std::string::npos)
        << status.output;
  }
  // flanneld's own request, which the role grants.
  const HttpResult patched =
      http("PATCH", api.url() + "/api/v1/nodes/node-a/status", patch,
           "application/strategic-merge-patch+json", {.ca_file = ca, .token = "flannel-token"});
  EXPECT_EQ(patched.code, 200) << patched.body;
  EXPECT_EQ(api.node("node-a")
                .value()["metadata"]["annotations"]["flannel.alpha.coreos.com/kube-subnet-manager"],
            "true");

  // A client certificate from the CA: its CN is the user, here unrestricted.
  const Kubectl as_operator(d + "/operator", api.url(),
                            {.client_cert = d + "/operator.crt", .client_key = d + "/operator.key"},
                            ca);
  const CommandResult by_operator = as_operator.run({"annotate", "node", "node-a", "a=b"});
  EXPECT_EQ(by_operator.exit_code, 0) << by_operator.output << request_log(api);
  EXPECT_EQ(requests_to(api, "PATCH", "/api/v1/nodes/node-a").back().user, "operator");

  // Credentials nobody vouches for: 401, which kubectl reports as such
  // (1.32: "You must be logged in to the server (the server has asked for
  // the client to provide credentials)"; older: "(Unauthorized)").
  for (const KubectlCredentials& who : {KubectlCredentials{.token = "not-a-token"},
                                        KubectlCredentials{.client_cert = d + "/stranger.crt",
                                        .client_key = d + "/stranger.key"}}) {
    const Kubectl refused(d + "/refused", api.url(), who, ca);
    const CommandResult r = refused.run({"get", "nodes"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("error: You must be logged in to the server"), std::string::npos)
        << r.output;
  }
  // None at all (kubectl would prompt for a password here): 401 too, as
  // with --anonymous-auth=false, with a Status body.
  const HttpResult anonymous =
      http("GET", api.url() + "/api/v1/nodes", "", "application/json", {.ca_file = ca});
  EXPECT_EQ(anonymous.code, 401);
  EXPECT_EQ(Json::parse(anonymous.body),
            Json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                        R"("message":"Unauthorized","reason":"Unauthorized","code":401})"));
}

TEST(KubeApiServerNetns, ServesProcessesInsideANetworkNamespace) {
  kubectl_version();
  const Netns ns("kd-api");
  KubeApiServer api;
  api.create_node(node_manifest("node-a", "10.244.1.0/24"));
  const int port = api.listen_in_netns(ns.name(), "127.0.0.1");
  const ScopedTempDir dir("kd-netns");
  const Kubectl inside(dir.path(), "http://127.0.0.1:" + std::to_string(port));
  const CommandResult r = run_command(ns.exec(inside.argv({"get", "nodes", "-o", "name"})), 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("node/node-a"), std::string::npos) << r.output;
  // The same state: a change made here is seen there.
  api.create_node(node_manifest("node-b", "10.244.2.0/24"));
  EXPECT_NE(run_command(ns.exec(inside.argv({"get", "nodes", "-o", "name"})), 60s)
                .output.find("node/node-b"),
            std::string::npos);
}

class WatchOverHttp : public ::testing::Test {
 protected:
  std::string nodes_url(const std::string& query) const {
    return api_.url() + "/api/v1/nodes?" + query;
  }
  void create(const std::string& name) {
    api_.create_node(node_manifest(name, "10.244." + std::to_string(++subnet_) + ".0/24"));
  }

  KubeApiServer api_;
  int subnet_ = 0;
};

TEST_F(WatchOverHttp, EventsCanLeaveOneByteAChunk) {
  create("node-a");
  const std::string rv = api_.resource_version();
  api_.set_watch_chunking({.pieces = 1 << 20});
  WatchReader watch(nodes_url("watch=true&timeoutSeconds=2&resourceVersion=" + rv), true);
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  create("node-b");
  ASSERT_EQ(watch.finish(), CURLE_OK);
  const std::vector<std::string> chunks = chunks_of(watch.received());
  std::string body;
  for (const auto& c : chunks) {
    EXPECT_EQ(c.size(), 1u);
    body += c;
  }
  const auto events = events_of(body);
  ASSERT_EQ(events.size(), 1u) << body;
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "node-b");
  EXPECT_EQ(chunks.size(), body.size());
}

TEST_F(WatchOverHttp, PiecesWithAGapReachTheClientInReadsOfTheirOwn) {
  const std::string rv = api_.resource_version();
  api_.set_watch_chunking({.pieces = 4, .gap = 50ms});
  WatchReader watch(nodes_url("watch=true&timeoutSeconds=2&resourceVersion=" + rv));
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  create("node-a");
  ASSERT_EQ(watch.finish(), CURLE_OK);
  EXPECT_EQ(events_of(watch.received()).size(), 1u);
  EXPECT_GE(watch.deliveries(), 4);
}

TEST_F(WatchOverHttp, SeveralEventsCanLeaveInOneChunk) {
  const std::string rv = api_.resource_version();
  api_.set_watch_chunking({.events_per_chunk = 3});
  WatchReader watch(nodes_url("watch=1&timeoutSeconds=2&resourceVersion=" + rv), true);
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  // Held back while the three happen, then sent together.
  api_.stall();
  create("node-a");
  create("node-b");
  api_.delete_node("node-a");
  api_.release();
  ASSERT_EQ(watch.finish(), CURLE_OK);
  const auto chunks = chunks_of(watch.received());
  ASSERT_EQ(chunks.size(), 1u) << watch.received();
  const auto events = events_of(chunks[0]);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[1]["type"], "ADDED");
  EXPECT_EQ(events[2]["type"], "DELETED");
  EXPECT_EQ(events[2]["object"]["metadata"]["name"], "node-a");
  EXPECT_EQ(events[2]["object"]["metadata"]["resourceVersion"], api_.resource_version());
}

TEST_F(WatchOverHttp, RandomBoundariesKeepEveryByteInOrder) {
  const std::string rv = api_.resource_version();
  api_.set_watch_chunking({.events_per_chunk = 2, .pieces = 7, .random_boundaries = true});
  WatchReader watch(nodes_url("watch=true&timeoutSeconds=2&resourceVersion=" + rv), true);
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  for (int i = 0; i < 6; ++i) create("node-" + std::to_string(i));
  ASSERT_EQ(watch.finish(), CURLE_OK);
  std::string body;
  for (const auto& c : chunks_of(watch.received())) body += c;
  const auto events = events_of(body);
  ASSERT_EQ(events.size(), 6u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(events[i]["object"]["metadata"]["name"], "node-" + std::to_string(i));
}

TEST_F(WatchOverHttp, FromUnsetOrZeroStartsWithTheCurrentNodes) {
  create("node-a");
  create("node-b");
  for (const std::string rv : {"", "&resourceVersion=0"}) {
    WatchReader watch(nodes_url("watch=true&timeoutSeconds=1" + rv));
    ASSERT_EQ(watch.finish(), CURLE_OK);
    const auto events = events_of(watch.received());
    ASSERT_EQ(events.size(), 2u) << watch.received();
    EXPECT_EQ(events[0]["type"], "ADDED");
    EXPECT_EQ(events[1]["object"]["metadata"]["name"], "node-b");
  }
}

TEST_F(WatchOverHttp, FromACompactedVersionIsOneError410Event) {
  create("node-a");
  const std::string old_rv = api_.resource_version();
  create("node-b");
  api_.compact();
  const HttpResult r = http("GET", nodes_url("watch=true&resourceVersion=" + old_rv));
  EXPECT_EQ(r.result, CURLE_OK);
  EXPECT_EQ(r.code, 200);
  const auto events = events_of(r.body);
  ASSERT_EQ(events.size(), 1u) << r.body;
  EXPECT_EQ(events[0]["type"], "ERROR");
  const Json& status = events[0]["object"];
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["code"], 410);
  EXPECT_EQ(status["reason"], "Expired");
  EXPECT_EQ(status["message"],
            "too old resource version: " + old_rv + " (" + api_.resource_version() + ")");
  // The current version can still be watched from.
  WatchReader fresh(
      nodes_url("watch=true&timeoutSeconds=1&resourceVersion=" + api_.resource_version()));
  EXPECT_EQ(fresh.finish(), CURLE_OK);
  EXPECT_EQ(fresh.received(), "");
}

TEST_F(WatchOverHttp, TheHistoryWindowExpiresOldVersions) {
  api_.set_history_window(2);
  const std::string start = api_.resource_version();
  create("node-a");
  const std::string after_a = api_.resource_version();
  create("node-b");
  create("node-c");
  EXPECT_EQ(
      events_of(
          http("GET", nodes_url("watch=true&resourceVersion=" + start)).body)[0]["object"]["code"],
      410);
  // Both events after node-a are still kept.
  WatchReader watch(nodes_url("watch=true&timeoutSeconds=1&resourceVersion=" + after_a));
  ASSERT_EQ(watch.finish(), CURLE_OK);
  EXPECT_EQ(events_of(watch.received()).size(), 2u);
}

TEST_F(WatchOverHttp, BookmarksOnlyWhenAllowedAndWithTheCurrentVersion) {
  KubeApiOptions options;
  options.bookmark_interval = 200ms;
  KubeApiServer api(options);
  api.create_node(node_manifest("node-a", "10.244.1.0/24"));
  const std::string rv = api.resource_version();
  const std::string url =
      api.url() + "/api/v1/nodes?watch=true&timeoutSeconds=3&resourceVersion=" + rv;
  WatchReader with(url + "&allowWatchBookmarks=true");
  WatchReader without(url);
  ASSERT_EQ(with.finish(), CURLE_OK);
  ASSERT_EQ(without.finish(), CURLE_OK);
  EXPECT_EQ(without.received(), "");
  const auto events = events_of(with.received());
  ASSERT_GE(events.size(), 2u) << with.received();
  for (const auto& e : events) {
    EXPECT_EQ(e["type"], "BOOKMARK");
    EXPECT_EQ(e["object"]["kind"], "Node");
    EXPECT_EQ(e["object"]["metadata"]["resourceVersion"], rv);
  }
}

TEST_F(WatchOverHttp, TimeoutSecondsEndsTheStreamCleanly) {
  WatchReader watch(
      nodes_url("watch=true&timeoutSeconds=1&resourceVersion=" + api_.resource_version()));
  EXPECT_EQ(watch.finish(), CURLE_OK);
  EXPECT_TRUE(eventually([&] { return api_.open_watches() == 0; }, 10s));
}

TEST_F(WatchOverHttp, CloseWatchesEndsThemCleanly) {
  WatchReader watch(nodes_url("watch=true&resourceVersion=" + api_.resource_version()));
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  api_.close_watches();
  EXPECT_EQ(watch.finish(), CURLE_OK);
}

TEST_F(WatchOverHttp, AStalledWatchIsSilentWhileANewOneIsServed) {
  KubeApiServer api({.bookmark_interval = 100ms});
  const std::string url = api.url() + "/api/v1/nodes?watch=true&allowWatchBookmarks=true";
  WatchReader hung(url + "&resourceVersion=" + api.resource_version());
  ASSERT_TRUE(eventually([&] { return api.open_watches() == 1; }, 10s));
  api.stall_open_watches();
  const std::string before = hung.received();
  api.create_node(node_manifest("node-a"));
  WatchReader fresh(url + "&timeoutSeconds=1&resourceVersion=0");
  ASSERT_EQ(fresh.finish(), CURLE_OK);
  const auto events = events_of(fresh.received());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["type"], "ADDED");
  // Neither the event nor a bookmark reached the hung one...
  EXPECT_EQ(hung.received(), before);
  // ...until released.
  api.release();
  EXPECT_TRUE(eventually([&] { return hung.received().find("node-a") != std::string::npos; }, 10s));
  api.close_watches();
  EXPECT_EQ(hung.finish(), CURLE_OK);
}

TEST_F(WatchOverHttp, DroppedMidEventLeavesHalfAnEventAndAResetConnection) {
  create("node-a");
  WatchReader watch(nodes_url("watch=true&resourceVersion=" + api_.resource_version()));
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  api_.drop_watches_mid_event();
  api_.patch_node("node-a", KubePatchType::kMerge, R"({"metadata":{"labels":{"x":"y"}}})");
  const CURLcode result = watch.finish();
  EXPECT_TRUE(result == CURLE_PARTIAL_FILE || result == CURLE_RECV_ERROR)
      << curl_easy_strerror(result);
  const std::string got = watch.received();
  EXPECT_FALSE(got.empty());
  EXPECT_EQ(got.find('\n'), std::string::npos) << got;
  EXPECT_EQ(got.rfind(R"({"type":"MODIFIED","object":{)", 0), 0u) << got;
}

TEST_F(WatchOverHttp, SelectorsTurnChangesIntoAddedAndDeleted) {
  create("node-a");
  WatchReader watch(
      nodes_url("watch=true&timeoutSeconds=2&labelSelector=tartan%3Dyes&resourceVersion=" +
                api_.resource_version()));
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  api_.patch_node("node-a", KubePatchType::kMerge, R"({"metadata":{"labels":{"tartan":"yes"}}})");
  api_.patch_node("node-a", KubePatchType::kMerge, R"({"metadata":{"annotations":{"a":"1"}}})");
  api_.patch_node("node-a", KubePatchType::kMerge, R"({"metadata":{"labels":{"tartan":"no"}}})");
  ASSERT_EQ(watch.finish(), CURLE_OK);
  const auto events = events_of(watch.received());
  ASSERT_EQ(events.size(), 3u) << watch.received();
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[1]["type"], "MODIFIED");
  EXPECT_EQ(events[2]["type"], "DELETED");
  // The last state that matched, at the version of the change.
  EXPECT_EQ(events[2]["object"]["metadata"]["labels"]["tartan"], "yes");
  EXPECT_EQ(events[2]["object"]["metadata"]["resourceVersion"], api_.resource_version());
}

// Cases of k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go
// (YAML there), applied by the double's strategic merge: `original` with
// `patch` gives `result`. mergingList merges by "name", mergingIntList is a
// set; other lists are replaced.
struct StrategicCase {
  const char* description;
  const char* original;
  const char* patch;
  const char* result;
};

class StrategicMergePatch : public ::testing::TestWithParam<StrategicCase> {};

TEST_P(StrategicMergePatch, GivesWhatApimachineryGives) {
  const kube::PatchSchema schema = {{"mergingList", {"name"}}, {"mergingIntList", {""}}};
  const StrategicCase& c = GetParam();
  const Json result = kube::strategic_merge(Json::parse(c.original), Json::parse(c.patch), schema);
  EXPECT_EQ(result.dump(), Json::parse(c.result).dump()) << c.description;
}

INSTANTIATE_TEST_SUITE_P(
    ApimachineryCases, StrategicMergePatch,
    ::testing::Values(
        StrategicCase{
            "add an item in a list and preserve order",
            R"({"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]})",
            R"({"$setElementOrder/mergingList":[{"name":3},{"name":1},{"name":2}],)"
            R"("mergingList":[{"name":3,"value":3}]})",
            R"({"mergingList":[{"name":3,"value":3},{"name":1,"other":"a"},)"
            R"({"name":2,"value":2,"other":"b"}]})"},
        StrategicCase{"set elements order in a list with server-only items",
                      R"({"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},)"
                      R"({"name":4,"value":4},{"name":2,"value":2},{"name":9}]})",
                      R"({"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},)"
                      R"({"name":1}]})",
                      R"({"mergingList":[{"name":4,"value":4},{"name":2,"value":2},)"
                      R"({"name":3,"value":3},{"name":1,"other":"a"},{"name":9}]})"},
        StrategicCase{"delete map from merging list",
                      R"({"mergingList":[{"name":1},{"name":2,"other":"b"}]})",
                      R"({"$setElementOrder/mergingList":[{"name":2}],)"
                      R"("mergingList":[{"name":1,"$patch":"delete"}]})",
                      R"({"mergingList":[{"name":2,"other":"b"}]})"},
        StrategicCase{"delete all duplicate entries in a merging list",
                      R"({"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},)"
                      R"({"name":3},{"name":3}]})",
                      R"({"mergingList":[{"name":1,"$patch":"delete"},)"
                      R"({"name":3,"$patch":"delete"}]})",
                      R"({"mergingList":[{"name":2,"value":"a"}]})"},
        StrategicCase{"delete all items from merging list",
                      R"({"mergingList":[{"name":1},{"name":2}]})",
                      R"({"mergingList":[{"$patch":"replace"}]})", R"({"mergingList":[]})"},
        StrategicCase{"add an item in a list of primitives and preserve order",
                      R"({"mergingIntList":[1,4,2]})",
                      R"({"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]})",
                      R"({"mergingIntList":[3,1,4,2]})"},
        StrategicCase{"merge lists of scalars", R"({"mergingIntList":[1,2]})",
                      R"({"mergingIntList":[2,3]})", R"({"mergingIntList":[1,2,3]})"},
        StrategicCase{"add and delete items in lists of scalars", R"({"mergingIntList":[1,2,3,4]})",
                      R"({"$setElementOrder/mergingIntList":[1,2,4],)"
                      R"("$deleteFromPrimitiveList/mergingIntList":[3]})",
                      R"({"mergingIntList":[1,2,4]})"},
        StrategicCase{"$deleteFromPrimitiveList on a list without merge patch strategy",
                      R"({"nonMergingIntList":[1,2,3]})",
                      R"({"$deleteFromPrimitiveList/nonMergingIntList":[2]})",
                      R"({"nonMergingIntList":[1,3]})"},
        StrategicCase{"delete map from nested map", R"({"simpleMap":{"key1":1,"key2":1}})",
                      R"({"simpleMap":{"$patch":"delete"}})", R"({"simpleMap":{}})"},
        StrategicCase{"add key and delete all keys from map", R"({"name":1,"value":1})",
                      R"({"other":"a","$patch":"replace"})", R"({"other":"a"})"},
        StrategicCase{"retainKeys map adds a field and clear a field",
                      R"({"retainKeysMap":{"name":"foo","other":"a"}})",
                      R"({"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}})",
                      R"({"retainKeysMap":{"name":"foo","value":"bar"}})"},
        StrategicCase{"a list without a strategy is replaced", R"({"other":[1,2,3]})",
                      R"({"other":[4]})", R"({"other":[4]})"},
        StrategicCase{"null deletes a key", R"({"a":{"b":1,"c":2}})", R"({"a":{"b":null}})",
                      R"({"a":{"c":2}})"}));

class ListOverHttp : public WatchOverHttp {
 protected:
  Json list(const std::string& query, long expect = 200) {
    const HttpResult r = http("GET", nodes_url(query));
    EXPECT_EQ(r.code, expect) << query << ": " << r.body;
    return Json::parse(r.body);
  }
};

TEST_F(ListOverHttp, PagesAtOneVersionWithOpaqueContinueTokens) {
  for (int i = 0; i < 5; ++i) create("node-" + std::to_string(i));
  const Json first = list("limit=2");
  EXPECT_EQ(names_of(first), (std::vector<std::string>{"node-0", "node-1"}));
  const std::string rv = first["metadata"]["resourceVersion"];
  EXPECT_EQ(first["metadata"]["remainingItemCount"], 3);
  // Items carry no kind or apiVersion; the list does.
  EXPECT_EQ(first["kind"], "NodeList");
  EXPECT_FALSE(first["items"][0].contains("kind"));
  // Later pages show the list's version, not what changed since.
  api_.delete_node("node-2");
  create("node-1a");
  const Json second = list("limit=2&continue=" + first["metadata"]["continue"].get<std::string>());
  EXPECT_EQ(names_of(second), (std::vector<std::string>{"node-2", "node-3"}));
  EXPECT_EQ(second["metadata"]["resourceVersion"], rv);
  const Json last = list("limit=2&continue=" + second["metadata"]["continue"].get<std::string>());
  EXPECT_EQ(names_of(last), (std::vector<std::string>{"node-4"}));
  EXPECT_FALSE(last["metadata"].contains("continue"));
  // A continue token with a resourceVersion is refused.
  const Json both =
      list("limit=2&resourceVersion=5&continue=" + first["metadata"]["continue"].get<std::string>(),
           400);
  EXPECT_EQ(both["message"], "specifying resource version is not allowed when using continue");
}

TEST_F(ListOverHttp, AnExpiredContinueIs410WithATokenForTheRest) {
  for (int i = 0; i < 5; ++i) create("node-" + std::to_string(i));
  const Json first = list("limit=2");
  api_.delete_node("node-3");
  api_.compact();
  const Json gone =
      list("limit=2&continue=" + first["metadata"]["continue"].get<std::string>(), 410);
  EXPECT_EQ(gone["reason"], "Expired");
  EXPECT_EQ(
      gone["message"].get<std::string>().rfind(
          "The provided continue parameter is too old to display a consistent list result.", 0),
      0u);
  // Its token continues after the same item at the current state.
  const Json rest = list("limit=10&continue=" + gone["metadata"]["continue"].get<std::string>());
  EXPECT_EQ(names_of(rest), (std::vector<std::string>{"node-2", "node-4"}));
  EXPECT_EQ(rest["metadata"]["resourceVersion"], api_.resource_version());
}

TEST_F(ListOverHttp, ResourceVersionZeroIsServedWholeUnlessConfigured) {
  for (int i = 0; i < 5; ++i) create("node-" + std::to_string(i));
  EXPECT_EQ(list("limit=2&resourceVersion=0")["items"].size(), 5u);
  EXPECT_EQ(list("limit=2")["items"].size(), 2u);
  KubeApiServer paging({.paginate_any_version = true});
  paging.create_node(node_manifest("node-a"));
  paging.create_node(node_manifest("node-b"));
  const Json page =
      Json::parse(http("GET", paging.url() + "/api/v1/nodes?limit=1&resourceVersion=0").body);
  EXPECT_EQ(page["items"].size(), 1u);
  EXPECT_TRUE(page["metadata"].contains("continue"));
}

TEST_F(ListOverHttp, AnExactVersionIsTheStateThen) {
  create("node-a");
  const std::string then = api_.resource_version();
  create("node-b");
  api_.patch_node("node-a", KubePatchType::kMerge, R"({"metadata":{"labels":{"x":"y"}}})");
  const Json exact = list("resourceVersion=" + then + "&resourceVersionMatch=Exact");
  EXPECT_EQ(names_of(exact), (std::vector<std::string>{"node-a"}));
  EXPECT_FALSE(exact["items"][0]["metadata"].contains("labels"));
  EXPECT_EQ(exact["metadata"]["resourceVersion"], then);
  // A version with a limit and no match is Exact too (the legacy rule).
  EXPECT_EQ(names_of(list("resourceVersion=" + then + "&limit=10")),
            (std::vector<std::string>{"node-a"}));
  // Without, not older than it: the current state.
  EXPECT_EQ(names_of(list("resourceVersion=" + then)),
            (std::vector<std::string>{"node-a", "node-b"}));
  api_.compact();
  EXPECT_EQ(list("resourceVersion=" + then + "&resourceVersionMatch=Exact", 410)["message"],
            "The resourceVersion for the provided list is too old.");
}

TEST_F(ListOverHttp, AVersionFromTheFutureIsTooLarge) {
  const std::string future = std::to_string(std::stoull(api_.resource_version()) + 10);
  const Json status = list("resourceVersion=" + future, 504);
  EXPECT_EQ(status["reason"], "Timeout");
  EXPECT_EQ(status["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
  EXPECT_EQ(status["details"]["retryAfterSeconds"], 1);
  const auto events =
      events_of(http("GET", nodes_url("watch=true&resourceVersion=" + future)).body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ERROR");
  EXPECT_EQ(events[0]["object"]["code"], 504);
}

TEST_F(ListOverHttp, LabelAndFieldSelectors) {
  api_.create_node(node_manifest("node-a", "", {}, {{"role", "edge"}}));
  api_.create_node(node_manifest("node-b", "", {}, {{"role", "core"}, {"gpu", "yes"}}));
  api_.create_node(node_manifest("node-c", "", {}, {{"role", "core"}}));
  Json unschedulable = node_manifest("node-d");
  unschedulable["spec"]["unschedulable"] = true;
  api_.create_node(unschedulable);
  EXPECT_EQ(names_of(list("labelSelector=role%20in%20(edge,core),!gpu")),
            (std::vector<std::string>{"node-a", "node-c"}));
  EXPECT_EQ(names_of(list("labelSelector=role!=core")),
            (std::vector<std::string>{"node-a", "node-d"}));
  EXPECT_EQ(names_of(list("fieldSelector=metadata.name%3Dnode-b")),
            (std::vector<std::string>{"node-b"}));
  EXPECT_EQ(names_of(list("fieldSelector=spec.unschedulable%3Dtrue")),
            (std::vector<std::string>{"node-d"}));
  EXPECT_EQ(list("fieldSelector=status.phase%3DReady", 400)["message"],
            "field label not supported: status.phase");
  EXPECT_EQ(list("labelSelector=role%20in%20edge", 400)["reason"], "BadRequest");
}

class VerbsOverHttp : public WatchOverHttp {
 protected:
  HttpResult patch(const std::string& path, const std::string& body,
                   const std::string& type = "application/strategic-merge-patch+json") {
    return http("PATCH", api_.url() + path, body, type);
  }
};

TEST_F(VerbsOverHttp, StatusesAreWordedAsTheRealServerWordsThem) {
  EXPECT_EQ(http("GET", api_.url() + "/api/v1/nodes/nowhere").body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"nodes \"nowhere\" not found","reason":"NotFound",)"
            R"("details":{"name":"nowhere","kind":"nodes"},"code":404})");
  create("node-a");
  const HttpResult again =
      http("POST", api_.url() + "/api/v1/nodes", node_manifest("node-a").dump());
  EXPECT_EQ(again.code, 409);
  EXPECT_EQ(again.body, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                        R"("message":"nodes \"node-a\" already exists","reason":"AlreadyExists",)"
                        R"("details":{"name":"node-a","kind":"nodes"},"code":409})");
  KubeApiServer guarded({.tokens = {{"t", "someone"}}, .grants = {{"someone", {}}}});
  const HttpResult denied = [&] {
    HttpResult r;
    CURL* c = curl_easy_init();
    curl_slist* h = curl_slist_append(nullptr, "Authorization: Bearer t");
    const std::string url = guarded.url() + "/api/v1/nodes";
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_to);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
  }();
  EXPECT_EQ(denied.code, 403);
  EXPECT_EQ(denied.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"nodes is forbidden: User \"someone\" cannot list resource \"nodes\" )"
            R"(in API group \"\" at the cluster scope","reason":"Forbidden",)"
            R"("details":{"kind":"nodes"},"code":403})");
}

TEST_F(VerbsOverHttp, TheNodeKeepsItsStatusAndStatusKeepsTheSpec) {
  api_.create_node(node_with_conditions("node-a"));
  Json node = *api_.node("node-a");
  node["spec"]["unschedulable"] = true;
  node["status"]["conditions"] = Json::array();
  ASSERT_EQ(http("PUT", api_.url() + "/api/v1/nodes/node-a", node.dump()).code, 200);
  Json now = *api_.node("node-a");
  EXPECT_EQ(now["spec"]["unschedulable"], true);
  EXPECT_EQ(now["status"]["conditions"].size(), 2u);
  now["spec"]["unschedulable"] = false;
  now["status"]["conditions"] = Json::array();
  now["metadata"]["labels"] = {{"via", "status"}};
  ASSERT_EQ(http("PUT", api_.url() + "/api/v1/nodes/node-a/status", now.dump()).code, 200);
  const Json after = *api_.node("node-a");
  EXPECT_EQ(after["spec"]["unschedulable"], true);
  EXPECT_EQ(after["status"]["conditions"].size(), 0u);
  EXPECT_EQ(after["metadata"]["labels"]["via"], "status");
  // A main-resource patch of status is dropped the same way.
  ASSERT_EQ(patch("/api/v1/nodes/node-a", R"({"status":{"phase":"Running"}})").code, 200);
  EXPECT_FALSE(api_.node("node-a").value()["status"].contains("phase"));
}

TEST_F(VerbsOverHttp, AChangelessPatchKeepsTheVersionAndSendsNoEvent) {
  api_.create_node(node_manifest("node-a", "", {{"a", "1"}}));
  const std::string rv = api_.resource_version();
  WatchReader watch(nodes_url("watch=true&timeoutSeconds=1&resourceVersion=" + rv));
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  const HttpResult same = patch("/api/v1/nodes/node-a", R"({"metadata":{"annotations":{"a":"1"}}})",
                                "application/merge-patch+json");
  ASSERT_EQ(same.code, 200);
  EXPECT_EQ(Json::parse(same.body)["metadata"]["resourceVersion"], rv);
  EXPECT_EQ(api_.resource_version(), rv);
  ASSERT_EQ(watch.finish(), CURLE_OK);
  EXPECT_EQ(watch.received(), "");
}

TEST_F(VerbsOverHttp, PreconditionsAreConflicts) {
  create("node-a");
  const std::string stale = api_.resource_version();
  api_.patch_node("node-a", KubePatchType::kMerge, R"({"metadata":{"labels":{"x":"1"}}})");
  const HttpResult r = patch("/api/v1/nodes/node-a", R"({"metadata":{"resourceVersion":")" + stale +
                                                         R"(","labels":{"x":"2"}}})");
  EXPECT_EQ(r.code, 409);
  EXPECT_EQ(Json::parse(r.body)["message"],
            "Operation cannot be fulfilled on nodes \"node-a\": the object has been modified; "
            "please apply your changes to the latest version and try again");
  const HttpResult wrong_uid =
      http("DELETE", api_.url() + "/api/v1/nodes/node-a", R"({"preconditions":{"uid":"not-it"}})");
  EXPECT_EQ(wrong_uid.code, 409);
  EXPECT_TRUE(api_.node("node-a"));
  const HttpResult deleted =
      http("DELETE", api_.url() + "/api/v1/nodes/node-a", R"({"propagationPolicy":"Background"})");
  EXPECT_EQ(deleted.code, 200);
  EXPECT_EQ(Json::parse(deleted.body)["status"], "Success");
  EXPECT_FALSE(api_.node("node-a"));
}

TEST_F(VerbsOverHttp, PatchTypesAndBadBodies) {
  create("node-a");
  const HttpResult json_patch = patch(
      "/api/v1/nodes/node-a", R"([{"op":"add","path":"/metadata/annotations","value":{"k":"v"}}])",
      "application/json-patch+json");
  EXPECT_EQ(json_patch.code, 200) << json_patch.body;
  EXPECT_EQ(api_.node("node-a").value()["metadata"]["annotations"]["k"], "v");
  EXPECT_EQ(patch("/api/v1/nodes/node-a", "{}", "application/json").code, 415);
  EXPECT_EQ(patch("/api/v1/nodes/node-a", "{not json").code, 400);
  EXPECT_EQ(patch("/api/v1/nodes/nowhere", "{}").code, 404);
  const HttpResult bad_name =
      http("POST", api_.url() + "/api/v1/nodes", node_manifest("Bad_Name").dump());
  EXPECT_EQ(bad_name.code, 422);
  EXPECT_EQ(Json::parse(bad_name.body)["message"].get<std::string>().rfind(
                "Node \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a "
                "lowercase RFC 1123 subdomain",
                0),
            0u)
      << bad_name.body;
  const HttpResult too_big =
      http("POST", api_.url() + "/api/v1/nodes",
           node_manifest("node-big", "", {{"big", std::string(300 * 1024, 'x')}}).dump());
  EXPECT_EQ(too_big.code, 422);
  EXPECT_EQ(Json::parse(too_big.body)["details"]["causes"][0]["field"], "metadata.annotations");
  const HttpResult huge =
      http("POST", api_.url() + "/api/v1/nodes",
           node_manifest("node-huge", "", {{"big", std::string(4 << 20, 'x')}}).dump());
  EXPECT_EQ(huge.code, 413);
}

TEST_F(VerbsOverHttp, ErrorsOnDemand) {
  create("node-a");
  api_.fail_next(1, 503, {.path = "/api/v1/nodes/node-a"}, 2);
  const HttpResult unavailable = http("GET", api_.url() + "/api/v1/nodes/node-a");
  EXPECT_EQ(unavailable.code, 503);
  EXPECT_NE(unavailable.headers.find("Retry-After: 2"), std::string::npos) << unavailable.headers;
  EXPECT_EQ(Json::parse(unavailable.body)["reason"], "ServiceUnavailable");
  api_.fail_next(1, 429, {.method = "GET"}, 1);
  const HttpResult limited = http("GET", api_.url() + "/api/v1/nodes");
  EXPECT_EQ(limited.code, 429);
  EXPECT_EQ(limited.body, "Too many requests, please try again later.\n");
  api_.fail_next(1, 500, {.watch = true});
  EXPECT_EQ(http("GET", api_.url() + "/api/v1/nodes").code, 200);
  EXPECT_EQ(http("GET", nodes_url("watch=true&resourceVersion=1")).code, 500);
  EXPECT_EQ(http("GET", api_.url() + "/api/v1/nodes/node-a").code, 200);
}

TEST_F(VerbsOverHttp, GarbageTruncatedAndHugeBodiesOnDemand) {
  create("node-a");
  create("node-b");
  api_.respond_with_garbage({.path = "/api/v1/nodes"});
  EXPECT_TRUE(Json::parse(http("GET", nodes_url("")).body, nullptr, false).is_discarded());
  const std::string whole = http("GET", nodes_url("")).body;
  api_.respond_truncated({.path = "/api/v1/nodes"});
  const std::string half = http("GET", nodes_url("")).body;
  EXPECT_EQ(half, whole.substr(0, whole.size() / 2));
  // A watch: half of its first event, then a clean end.
  api_.respond_truncated({.watch = true});
  const HttpResult cut = http("GET", nodes_url("watch=true"));
  EXPECT_EQ(cut.result, CURLE_OK);
  EXPECT_EQ(cut.body.rfind(R"({"type":"ADDED","object":)", 0), 0u) << cut.body;
  EXPECT_EQ(cut.body.find('\n'), std::string::npos);
  // 100 MB, streamed: counted here, never held.
  api_.respond_huge({.path = "/api/v1/nodes"}, 100u << 20);
  size_t bytes = 0;
  std::string head;
  CURL* c = curl_easy_init();
  const std::string url = nodes_url("");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  struct Count {
    size_t* bytes;
    std::string* head;
  } count{&bytes, &head};
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* p) {
        auto* k = static_cast<Count*>(p);
        if (k->head->size() < 64) k->head->append(d, std::min<size_t>(s * n, 64));
        *k->bytes += s * n;
        return s * n;
      });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &count);
  EXPECT_EQ(curl_easy_perform(c), CURLE_OK);
  curl_easy_cleanup(c);
  EXPECT_EQ(bytes, 100u << 20);
  EXPECT_EQ(head.rfind(R"({"kind":"NodeList")", 0), 0u) << head;
}

TEST_F(VerbsOverHttp, AStallHoldsRequestsUntilReleased) {
  create("node-a");
  api_.stall();
  std::atomic<long> code{0};
  std::thread waiting([&] { code = http("GET", api_.url() + "/api/v1/nodes/node-a").code; });
  // Nothing answers while stalled (the request is held, not refused).
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(code, 0);
  api_.release();
  waiting.join();
  EXPECT_EQ(code, 200);
  // A stall with a deadline ends by itself.
  api_.stall(200ms);
  EXPECT_EQ(http("GET", api_.url() + "/api/v1/nodes/node-a").code, 200);
}

TEST_F(VerbsOverHttp, StoppedServingIsGoneAndBackWithTheSameState) {
  create("node-a");
  WatchReader watch(nodes_url("watch=true&resourceVersion=" + api_.resource_version()));
  ASSERT_TRUE(eventually([&] { return api_.open_watches() == 1; }, 10s));
  api_.stop_serving();
  EXPECT_NE(watch.finish(), CURLE_OK);
  EXPECT_EQ(http("GET", api_.url() + "/api/v1/nodes/node-a").result, CURLE_COULDNT_CONNECT);
  api_.resume_serving();
  EXPECT_EQ(http("GET", api_.url() + "/api/v1/nodes/node-a").code, 200);
}

}  // namespace
}  // namespace tartan::testing
