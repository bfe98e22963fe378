// The real tartand with control.http.listen set: the endpoints the
// DaemonSet's liveness and readiness probes ask, and how a bad or taken
// address stops it.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <functional>
#include <regex>

#include "tests/support/files.h"
#include "tests/support/http_client.h"
#include "tests/support/null_node.h"
#include "tests/support/process.h"
#include "tests/support/taken_port.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::http_request;
using testing::Process;
using testing::run_command;

// A node on sink devices (no hugepages) with its HTTP endpoints on `http`;
// `more_control`: further keys of the control section.
std::string write_config(const std::string& dir, const std::string& http,
                         const std::string& more_control = "") {
  return testing::write_null_node_config(
      dir, "hugepages: off, memory_mb: 256",
      "http: {listen: '" + http + "'}" + (more_control.empty() ? "" : ", " + more_control));
}

// The address tartand says its endpoints are on, once it has said so.
std::string health_address(const Process& daemon) {
  std::string address;
  testing::eventually(
      [&] {
        std::smatch m;
        const std::string out = daemon.output();
        if (!std::regex_search(out, m, std::regex("HTTP endpoints on http://([0-9.:]+) ")))
          return false;
        address = m[1];
        return true;
      },
      60s);
  return address;
}

TEST(TartandHttp, ProbesSeeAliveNotReadyUntilTheLeaseThenReadyAndNothingAfterSigterm) {
  const testing::ScopedTempDir dir("kh-http");
  Process daemon({testing::required_env("TARTAND"), "--config",
                  write_config(dir.path(), "127.0.0.1:0"), "--stats-interval", "0"});
  const std::string address = health_address(daemon);
  ASSERT_FALSE(address.empty()) << daemon.output();
  const std::string base = "http://" + address;

  auto r = http_request(base + "/healthz");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok");
  ASSERT_TRUE(testing::eventually(
      [&] {
        return http_request(base + "/readyz").body.find("api_serving          yes") !=
               std::string::npos;
      },
      30s));
  r = http_request(base + "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("lease_acquired       no    waiting for Leases.SetLocalLease"),
            std::string::npos)
      << r.body;

  const auto set = run_command({testing::required_env("TARTANCTL"), "--socket",
                                dir.path() + "/tartan.sock", "lease", "set", "10.244.3.0/24"});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  r = http_request(base + "/readyz?format=json");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"ready\": true"), std::string::npos) << r.body;

  daemon.signal(SIGTERM);
  const auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.output();
  EXPECT_EQ(*code, 0) << daemon.output();
  EXPECT_EQ(http_request(base + "/healthz").status, 0);
}

// A remote node with a route, so peer series exist.
constexpr const char* kRemoteNode =
    "{apiVersion: v1, kind: Node, metadata: {name: node-2, annotations: {"
    "flannel.alpha.coreos.com/backend-data: '{\"VNI\":1,\"VtepMAC\":\"0e:00:00:00:00:02\"}', "
    "flannel.alpha.coreos.com/backend-type: vxlan, "
    "flannel.alpha.coreos.com/kube-subnet-manager: 'true', "
    "flannel.alpha.coreos.com/public-ip: 192.0.2.20}}, spec: {podCIDR: 10.244.2.0/24}}\n";

// tartand with its HTTP endpoints on a free port, its lease set and one
// remote node applied (so peer series exist), probed every second (its VTEP
// never answers: net_null), for scrapers.
struct NodeWithAPeer {
  explicit NodeWithAPeer(const testing::ScopedTempDir& d)
      : dir(d),
        daemon(
            {testing::required_env("TARTAND"), "--config",
             write_config(d.path(), "127.0.0.1:0", "probe: {interval_ms: 1000, timeout_ms: 500}"),
             "--stats-interval", "0"}) {
    start();
  }
  // Separate from the constructor, so that its assertions may return.
  void start() {
    address = health_address(daemon);
    ASSERT_FALSE(address.empty()) << daemon.output();
    ASSERT_TRUE(testing::eventually([&] { return ctl({"health"}).exit_code != 2; }, 30s));
    ASSERT_EQ(ctl({"lease", "set", "10.244.3.0/24"}).exit_code, 0);
    testing::write_file(dir.path() + "/node2.yaml", kRemoteNode);
    const auto applied = ctl({"nodes", "apply", "-f", dir.path() + "/node2.yaml"});
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
  }
  testing::CommandResult ctl(std::vector<std::string> args) const {
    args.insert(args.begin(),
                {testing::required_env("TARTANCTL"), "--socket", dir.path() + "/tartan.sock"});
    return run_command(args);
  }
  const testing::ScopedTempDir& dir;
  Process daemon;
  std::string address;  // of the HTTP endpoints
};

// A real Prometheus on loopback scraping `target` once a second, stopped
// when it goes.
struct ScrapingPrometheus {
  ScrapingPrometheus(const testing::ScopedTempDir& dir, const std::string& target)
      : server({"prometheus", "--config.file=" + write_scrape_config(dir, target),
                "--storage.tsdb.path=" + dir.path() + "/tsdb", "--web.listen-address=" + address}) {
  }
  ~ScrapingPrometheus() {
    server.signal(SIGTERM);
    EXPECT_TRUE(server.wait(30s).has_value());
  }
  // The answer of the query API to `promql` (URL-encoded).
  std::string query(const std::string& promql) const {
    return http_request("http://" + address + "/api/v1/query?query=" + promql).body;
  }
  static std::string write_scrape_config(const testing::ScopedTempDir& dir,
                                         const std::string& target) {
    const std::string path = dir.path() + "/prometheus.yml";
    testing::write_file(path,
                        "global: {scrape_interval: 1s}\n"
                        "scrape_configs:\n"
                        "  - job_name: tartan\n"
                        "    static_configs: [{targets: ['" +
                            target + "']}]\n");
    return path;
  }
  const std::string address = "127.0.0.1:24915";
  Process server;
};

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

// Prometheus' own tools read /metrics: promtool finds nothing to object to,
// and a real Prometheus scraping tartand answers PromQL with what the API says.
TEST(TartandHttp, MetricsPassPromtoolAndARealPrometheusScrapesThem) {
  const testing::ScopedTempDir dir("h15obs-metrics");
  const NodeWithAPeer node(dir);
  ASSERT_FALSE(HasFatalFailure());
  const std::string& address = node.address;
  const auto ctl = [&](std::vector<std::string> args) { return node.ctl(std::move(args)); };

  const auto r = http_request("http://" + address + "/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* want : {"tartan_port_rx_packets_total{port=\"underlay\",role=\"underlay\"} ",
                           "tartan_worker_busy_cycles_total{worker=\"0\",lcore=\"",
                           "tartan_lease_info{pod_cidr=\"10.244.3.0/24\",source=\"grpc\"} 1\n",
                           "tartan_routes 1\n", "tartan_ready 1\n"}) {
    EXPECT_NE(r.body.find(want), std::string::npos) << want << "\n" << r.body;
  }
  testing::write_file(dir.path() + "/metrics.txt", r.body);
  const auto lint =
      run_command({"sh", "-c", "promtool check metrics < " + dir.path() + "/metrics.txt"});
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "") << lint.output;

  ScrapingPrometheus prometheus(dir, address);
  const auto query = [&](const std::string& promql) { return prometheus.query(promql); };
  // Every drop reason the Stats API reports is a series Prometheus stored.
  const auto stats = ctl({"-o", "json", "stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  size_t reasons = 0;
  for (size_t at = 0; (at = stats.output.find("\"reason\":", at)) != std::string::npos; ++at)
    ++reasons;
  ASSERT_GT(reasons, 0u) << stats.output;
  std::string answer;
  EXPECT_TRUE(testing::eventually(
      [&] {
        answer = query("count%28tartan_drops_total%7Bjob%3D%22tartan%22%7D%29");
        return answer.find("\"" + std::to_string(reasons) + "\"]") != std::string::npos;
      },
      60s, 200ms))
      << answer << prometheus.server.output();
  answer = query("tartan_lease_info");
  EXPECT_NE(answer.find("\"pod_cidr\":\"10.244.3.0/24\""), std::string::npos) << answer;
  answer = query("tartan_routes");
  EXPECT_NE(answer.find(",\"1\"]"), std::string::npos) << answer;
}

// Every panel of the shipped Grafana dashboard asks something a real
// Prometheus scraping tartand answers with data: no query names a metric
// or label tartand lacks, and the node list finds this node.
TEST(TartandHttp, EveryGrafanaDashboardQueryAnswersFromARealPrometheus) {
  const testing::ScopedTempDir dir("h15-dashboard");
  const NodeWithAPeer node(dir);
  ASSERT_FALSE(HasFatalFailure());
  const std::string& address = node.address;

  const nlohmann::json dashboard = nlohmann::json::parse(testing::read_file(
      testing::required_env("TARTAN_SOURCE_ROOT") + "/configs/dashboards/tartan.json"));
  std::vector<std::pair<std::string, std::string>> queries;  // panel title, expr
  std::function<void(const nlohmann::json&)> collect = [&](const nlohmann::json& panels) {
    for (const auto& p : panels) {
      if (p.contains("panels")) collect(p["panels"]);
      for (const auto& t : p.value("targets", nlohmann::json::array()))
        queries.emplace_back(p["title"], t["expr"]);
    }
  };
  collect(dashboard["panels"]);
  ASSERT_GT(queries.size(), 20u);
  std::string instance_query;
  for (const auto& v : dashboard["templating"]["list"]) {
    if (v["name"] == "instance") instance_query = v["definition"];
  }
  ASSERT_EQ(instance_query, "label_values(tartan_build_info, instance)");

  ScrapingPrometheus prometheus(dir, address);
  // rate() needs two samples inside its window: wait for a few scrapes.
  std::string answer;
  ASSERT_TRUE(testing::eventually(
      [&] {
        answer = prometheus.query(url_escape("count_over_time(tartan_build_info[1m]) >= 4"));
        return answer.find("\"result\":[{") != std::string::npos;
      },
      60s, 500ms))
      << answer << prometheus.server.output();
  answer = http_request("http://" + prometheus.address +
                        "/api/v1/label/instance/values?match[]=tartan_build_info")
               .body;
  EXPECT_NE(answer.find("\"" + address + "\""), std::string::npos) << answer;

  for (auto [title, expr] : queries) {
    // Grafana's variables as it expands them: every node, a 15 s window.
    for (const auto& [var, value] :
         {std::pair{"$__rate_interval", "15s"}, std::pair{"$instance", ".+"}}) {
      for (size_t at; (at = expr.find(var)) != std::string::npos;)
        expr.replace(at, std::string(var).size(), value);
    }
    answer = prometheus.query(url_escape(expr));
    EXPECT_NE(answer.find("\"status\":\"success\""), std::string::npos)
        << title << ": " << expr << "\n"
        << answer;
    // A round trip needs a peer that answers: TunnelProbes.* (interop
    // suite) has one and reads the same gauge.
    if (expr.find("tartan_peer_probe_rtt_seconds") != std::string::npos) continue;
    EXPECT_NE(answer.find("\"result\":[{"), std::string::npos)
        << title << ": " << expr << " has no data\n"
        << answer;
  }
}

TEST(TartandHttp, APortInUseExitsOneNamingTheKey) {
  const testing::ScopedTempDir dir("kh-http");
  const testing::TakenPort taken;  // as flanneld's --healthz-port would hold it
  const std::string& listen = taken.address();

  const auto r = run_command(
      {testing::required_env("TARTAND"), "--config", write_config(dir.path(), listen)}, 60s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tartand: control.http.listen " + listen +
                          ": cannot listen: Address already in use"),
            std::string::npos)
      << r.output;
}

TEST(TartandHttp, ABadListenAddressIsAConfigErrorExitingTwo) {
  const testing::ScopedTempDir dir("kh-http");
  const std::string config = write_config(dir.path(), "localhost:8081");
  const auto r = run_command({testing::required_env("TARTAND"), "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(
      r.output.find(config + ":7:26: control.http.listen: 'localhost' is not an IPv4 address in "
                             "'localhost:8081'"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("EAL"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tartan
