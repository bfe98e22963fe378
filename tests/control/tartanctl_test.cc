// tartanctl, the built binary, against a real tartand (in process): its
// command line (CLI11: flags anywhere, --help, usage errors with exit 2,
// completion scripts), `-o yaml` that reads back as it was written, and
// `stats --watch` printing only what changed.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tartan/v1/node.grpc.pb.h"
#include "tests/support/api_calls.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::DaemonFixture;

const std::string& tartanctl() {
  static const std::string path = testing::required_env("TARTANCTL");
  return path;
}

CommandResult ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{tartanctl()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run_command(argv, 30s);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A command's output has a match of `pattern` (ECMAScript).
void expect_shows(const CommandResult& r, const std::string& pattern) {
  EXPECT_TRUE(std::regex_search(r.output, std::regex(pattern))) << pattern << " not in\n"
                                                                << r.output;
}

// A socket nobody serves: the command line is parsed, the call fails.
const std::string kNoTartand = "/tmp/h18cli-nobody.sock";

TEST(TartanctlCommandLine, GlobalFlagsGoBeforeOrAfterTheCommandInEitherForm) {
  DaemonFixture fx;
  const std::string sock = fx.dir() + "/tartan.sock";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"lease", "-o", "json", "--socket", sock},
        {"--output=json", "lease", "-s", sock},
        {"-o", "json", "--socket=" + sock, "lease"},
        {"lease", "--output", "json", "--timeout=3", "--socket", sock}}) {
    const CommandResult r = ctl(args);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << ": " << r.output;
    EXPECT_EQ(r.output.substr(0, 1), "{") << ::testing::PrintToString(args) << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "\"pod_cidr\": \"10.244.1.0/24\"")) << r.output;
  }
  const CommandResult yaml = ctl({"nodes", "list", "-s", sock, "--output=yaml"});
  EXPECT_EQ(yaml.exit_code, 0) << yaml.output;
  // Errors of tartand's are exit 1, as before.
  const CommandResult missing = ctl({"nodes", "get", "node-9", "--socket", sock});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_TRUE(contains(missing.output, "node-9")) << missing.output;
}

TEST(TartanctlCommandLine, EveryCommandsHelpListsTheGlobalFlags) {
  for (const std::string command :
       {"", "nodes", "nodes list", "nodes get", "nodes apply", "nodes delete", "events", "health",
        "config", "lease", "lease set", "lease remote", "routes", "stats", "ports", "completion"}) {
    std::vector<std::string> args;
    std::istringstream words(command);
    for (std::string w; words >> w;) args.push_back(w);
    args.push_back("--help");
    const CommandResult r = ctl(args);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "Usage: tartanctl" + (command.empty() ? "" : " " + command)))
        << command << ": " << r.output;
    for (const char* flag : {"--socket", "--addr", "--tls-ca", "--output", "--timeout"})
      EXPECT_TRUE(contains(r.output, flag)) << command << " --help lacks " << flag << ":\n"
                                            << r.output;
  }
}

TEST(TartanctlCommandLine, ABadCommandLineNamesWhatIsWrongAndExits2) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases{
      {{"nodes", "get"}, "tartanctl: nodes get: missing NAME"},
      {{"nodes", "delete"}, "tartanctl: nodes delete: missing NAME"},
      {{"lease", "set"}, "tartanctl: lease set: missing POD_CIDR"},
      {{"nodes", "apply"}, "tartanctl: nodes apply: missing --filename"},
      {{"nodes"}, "tartanctl: nodes: missing COMMAND (one of list, get, apply, delete)"},
      {{"nodes", "frob"}, "tartanctl: nodes: unknown command 'frob'"},
      {{}, "tartanctl: missing COMMAND"},
      {{"frob"}, "tartanctl: unknown command 'frob'"},
      {{"nodes", "get", "a", "b"}, "nodes get"},
      {{"ports", "--frob"}, "--frob"},
      {{"stats", "--watch=abc"}, "stats: --watch: expected an interval of 100ms..1h"},
      {{"stats", "--watch"}, "--watch"},
      {{"events", "--from", "abc"}, "events: --from: expected a resource version"},
      {{"lease", "-o", "xml"}, "--output"},
      {{"routes", "--timeout", "0"}, "--timeout"},
      {{"completion", "fish"}, "completion"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--socket", kNoTartand});
    const CommandResult r = ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(c.args) << ": " << r.output;
    EXPECT_TRUE(contains(r.output, c.message))
        << ::testing::PrintToString(c.args) << ": expected '" << c.message << "' in:\n"
        << r.output;
  }
}

// Completes `words` (the last one is being typed) with the generated bash
// script, as bash's programmable completion calls it.
std::string bash_completes(const std::string& words) {
  const std::string script =
      "source <('" + tartanctl() + "' completion bash) && COMP_WORDS=(" + words +
      ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _tartanctl && echo \"${COMPREPLY[*]}\"";
  const CommandResult r = testing::run_command({"bash", "-c", script}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

TEST(TartanctlCommandLine, CompletionScriptsComeFromTheParser) {
  EXPECT_EQ(bash_completes("tartanctl ''"),
            "nodes events health config lease routes stats ports capture trace completion\n");
  EXPECT_EQ(bash_completes("tartanctl -o json nodes ''"), "list get apply delete\n");
  EXPECT_EQ(bash_completes("tartanctl lease s"), "set\n");
  EXPECT_EQ(bash_completes("tartanctl nodes get x --output ''"), "table json yaml\n");
  EXPECT_EQ(bash_completes("tartanctl stats --w"), "--watch\n");
  EXPECT_EQ(bash_completes("tartanctl completion ''"), "bash zsh\n");
  EXPECT_TRUE(contains(bash_completes("tartanctl nodes apply --"), "--resource-version"));
  EXPECT_EQ(bash_completes("tartanctl trace --d"), "--duration\n");
  const CommandResult zsh = ctl({"completion", "zsh"});
  EXPECT_EQ(zsh.exit_code, 0);
  EXPECT_TRUE(contains(zsh.output, "bashcompinit")) << zsh.output;
  EXPECT_TRUE(contains(zsh.output, "complete -F _tartanctl tartanctl")) << zsh.output;
}

// Strings YAML 1.1 (kubectl's go-yaml v2, PyYAML) or 1.2 would read as
// something else if printed plain.
const std::map<std::string, std::string> kTrickyAnnotations{
    {"example.com/bool", "true"},      {"example.com/on", "on"},  {"example.com/float", "1e3"},
    {"example.com/hex", "0x1f"},       {"example.com/null", "~"}, {"example.com/empty", ""},
    {"example.com/int", "042"},        {"example.com/no", "No"},  {"example.com/time", "12:30"},
    {"example.com/date", "2026-12-03"}};

v1::Node tricky_node() {
  v1::Node n = testing::flannel_node(2);
  (*n.mutable_annotations())["flannel.alpha.coreos.com/backend-data"] =
      R"({"VNI":1,"VtepMAC":"12:34:56:12:34:56"})";
  for (const auto& [k, v] : kTrickyAnnotations) (*n.mutable_annotations())[k] = v;
  return n;
}

std::string without_version(const std::string& yaml) {
  return std::regex_replace(yaml, std::regex("resource_version: [^\n]*\n"), "");
}

TEST(TartanctlYaml, StringsAYaml11ReaderWouldTakeForOtherTypesAreQuotedInBlockStyle) {
  DaemonFixture fx;
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(testing::apply(*nodes, tricky_node()).ok());
  const CommandResult r =
      ctl({"-o", "yaml", "--socket", fx.dir() + "/tartan.sock", "nodes", "get", "node-2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\nname: node-2\n") || r.output.starts_with("name: node-2\n"))
      << "not block style:\n"
      << r.output;
  EXPECT_TRUE(contains(r.output, "  vtep_mac: \"12:34:56:12:34:56\"\n")) << r.output;
  for (const auto& [k, v] : kTrickyAnnotations)
    EXPECT_TRUE(contains(r.output, "  " + k + ": \"" + v + "\"\n")) << k << ":\n" << r.output;
  EXPECT_TRUE(contains(r.output, "  routed: true\n")) << r.output;  // a real boolean stays one
  EXPECT_TRUE(contains(r.output, "\n  - 10.244.2.0/24\n")) << r.output;

  // Read back by a YAML 1.1 reader (PyYAML), every string is the string.
  const CommandResult read = testing::run_command(
      {"bash", "-c",
       "set -o pipefail; '" + tartanctl() + "' -o yaml -s '" + fx.dir() +
           "/tartan.sock' nodes get node-2 | python3 -c 'import json, sys, yaml; "
           "print(json.dumps(yaml.safe_load(sys.stdin)))'"},
      30s);
  ASSERT_EQ(read.exit_code, 0) << read.output;
  const auto node = nlohmann::json::parse(read.output);
  EXPECT_EQ(node["status"]["vtep_mac"], "12:34:56:12:34:56") << read.output;
  EXPECT_EQ(node["status"]["routed"], true) << read.output;
  for (const auto& [k, v] : kTrickyAnnotations)
    EXPECT_EQ(node["annotations"][k], v) << k << ": " << read.output;
}

TEST(TartanctlYaml, NodesGetYamlPipedIntoNodesApplyChangesNothing) {
  DaemonFixture fx;
  const std::string sock = fx.dir() + "/tartan.sock";
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(testing::apply(*nodes, tricky_node()).ok());
  const CommandResult before = ctl({"-o", "yaml", "-s", sock, "nodes", "get", "node-2"});
  ASSERT_EQ(before.exit_code, 0) << before.output;
  for (const char* format : {"yaml", "json"}) {
    const CommandResult piped = testing::run_command(
        {"bash", "-c",
         "set -o pipefail; '" + tartanctl() + "' -o " + format + " -s '" + sock +
             "' nodes get node-2 | '" + tartanctl() + "' -s '" + sock + "' nodes apply -f -"},
        30s);
    ASSERT_EQ(piped.exit_code, 0) << format << ": " << piped.output;
    EXPECT_TRUE(contains(piped.output, "node/node-2 applied")) << piped.output;
    const CommandResult after = ctl({"-o", "yaml", "-s", sock, "nodes", "get", "node-2"});
    ASSERT_EQ(after.exit_code, 0) << after.output;
    EXPECT_EQ(without_version(after.output), without_version(before.output)) << format;
  }
  v1::GetNodeRequest req;
  req.set_name("node-2");
  v1::Node got;
  ASSERT_TRUE(nodes->GetNode(testing::ctx().get(), req, &got).ok());
  const v1::Node sent = tricky_node();
  EXPECT_EQ(got.annotations_size(), sent.annotations_size());
  for (const auto& [k, v] : sent.annotations()) {
    ASSERT_TRUE(got.annotations().contains(k)) << k;
    EXPECT_EQ(got.annotations().at(k), v) << k;
  }
  EXPECT_EQ(got.pod_cidrs(0), "10.244.2.0/24");
  ASSERT_EQ(got.addresses_size(), 1);
  EXPECT_EQ(got.addresses(0).address(), sent.addresses(0).address());
  EXPECT_TRUE(got.status().routed()) << got.status().reason();
}

// The sections `stats --watch` printed after its first, full one.
std::vector<std::string> watch_intervals(const std::string& output) {
  std::vector<std::string> sections;
  const std::string header = "--- last 100ms ---\n";
  for (size_t at = output.find(header); at != std::string::npos;) {
    const size_t next = output.find(header, at + header.size());
    sections.push_back(output.substr(at, next == std::string::npos ? next : next - at));
    at = next;
  }
  return sections;
}

TEST(TartanctlStats, WatchPrintsTheTotalsThenOnlyTheCountersThatChanged) {
  DaemonFixture fx;
  testing::Process watch(
      {tartanctl(), "stats", "--socket", fx.dir() + "/tartan.sock", "--watch=100ms"});
  ASSERT_TRUE(testing::eventually([&] { return watch_intervals(watch.output()).size() >= 2; }, 20s))
      << watch.output();
  // Three frames the data plane drops (no route).
  ASSERT_EQ(fx.inject_unroutable(3), 3u);
  const size_t before = watch_intervals(watch.output()).size();
  ASSERT_TRUE(testing::eventually(
      [&] {
        const std::string output = watch.output();
        return contains(output.substr(output.find("--- last")), "no_route") &&
               watch_intervals(output).size() >= before + 3;
      },
      20s))
      << watch.output();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(10s), 0);
  const std::string output = watch.output();

  // The totals come first, the full tables as `stats` prints them.
  ASSERT_TRUE(output.starts_with("--- totals ---\n")) << output;
  const std::string totals = output.substr(0, output.find("--- last"));
  for (const char* header : {"PORT", "WORKER-LCORE", "DROP-REASON", "ARP-REPLIES"})
    EXPECT_TRUE(contains(totals, header)) << header << " missing from\n" << totals;
  // Then each interval: the counters that moved, drop reasons only when
  // non-zero, in aligned columns.
  for (const std::string& s : watch_intervals(output)) {
    EXPECT_FALSE(contains(s, "DROP-REASON")) << s;
    EXPECT_FALSE(contains(s, "MEANING")) << s;
    EXPECT_FALSE(contains(s, " +0\n")) << s;
    EXPECT_TRUE(contains(s, "WHAT") || contains(s, "(no change)")) << s;
  }
  uint64_t no_route = 0;
  for (const std::string& s : watch_intervals(output)) {
    std::istringstream lines(s);
    std::string line, header;
    std::getline(lines, line);  // "--- last 100ms ---"
    std::getline(lines, header);
    if (header == "(no change)") continue;
    const size_t change_column = header.find("CHANGE");
    ASSERT_NE(change_column, std::string::npos) << s;
    while (std::getline(lines, line) && !line.empty()) {
      EXPECT_EQ(line.find('+'), change_column) << "not aligned:\n" << s;
      if (!line.starts_with("drop ")) continue;
      EXPECT_TRUE(contains(line, "no_route")) << line;
      no_route += std::stoull(line.substr(change_column + 1));
    }
  }
  EXPECT_EQ(no_route, 3u) << output;
}

// The wireguard backend (issue 17): `nodes list` shows each node's peer as
// `wg show` does, `stats` the handshakes' counters. The node never answers
// (its address is silent): no handshake, no transfer, initiations sent.
TEST(TartanctlWireguard, NodesShowEachPeerAndStatsTheHandshakes) {
  DaemonFixture fx({.lease_source = "grpc",
                    .network = "{Network: 10.244.0.0/16, Backend: {Type: wireguard, "
                               "PersistentKeepaliveInterval: 25}}"});
  const std::string sock = fx.dir() + "/tartan.sock";
  ASSERT_EQ(ctl({"-s", sock, "lease", "set", "10.244.1.0/24"}).exit_code, 0);
  const std::string key = "KOVvQz6NuZNW08+pnu+XS0+C4Dp2dmpwiLm2LDrIgDE=";
  v1::Node peer = testing::flannel_node(2);
  (*peer.mutable_annotations())["flannel.alpha.coreos.com/backend-type"] = "wireguard";
  (*peer.mutable_annotations())["flannel.alpha.coreos.com/backend-data"] =
      R"({"PublicKey":")" + key + R"("})";
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(testing::apply(*nodes, peer).ok());
  const CommandResult list = ctl({"-s", sock, "nodes", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  expect_shows(list, R"(ROUTED +PUBLIC-KEY +ENDPOINT +HANDSHAKE +RX +TX +KEEPALIVE +PROBE)");
  expect_shows(list, "node-2 .* yes +" + std::regex_replace(key, std::regex(R"(\+)"), R"(\+)") +
                         R"( +192\.0\.2\.20:51820 +never +0 B +0 B +every 25s )");
  const CommandResult json = ctl({"-o", "json", "-s", sock, "nodes", "get", "node-2"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const auto wg = nlohmann::json::parse(json.output)["status"]["wireguard"];
  EXPECT_EQ(wg["public_key"], key) << json.output;
  EXPECT_EQ(wg["persistent_keepalive_s"], 25) << json.output;
  // A node whose backend-data names its Port (flannel since v0.26.6) is
  // sent to there; ours, in our lease's backend-data, is ListenPort.
  v1::Node named = testing::flannel_node(3);
  (*named.mutable_annotations())["flannel.alpha.coreos.com/backend-type"] = "wireguard";
  (*named.mutable_annotations())["flannel.alpha.coreos.com/backend-data"] =
      R"({"PublicKey":"qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=","Port":51999})";
  ASSERT_TRUE(testing::apply(*nodes, named).ok());
  const CommandResult json3 = ctl({"-o", "json", "-s", sock, "nodes", "get", "node-3"});
  ASSERT_EQ(json3.exit_code, 0) << json3.output;
  EXPECT_EQ(nlohmann::json::parse(json3.output)["status"]["wireguard"]["endpoint"],
            "192.0.2.21:51999")
      << json3.output;
  const CommandResult lease = ctl({"-o", "json", "-s", sock, "lease"});
  ASSERT_EQ(lease.exit_code, 0) << lease.output;
  const std::string ours = nlohmann::json::parse(lease.output)["annotations"].value(
      "flannel.alpha.coreos.com/backend-data", "");
  EXPECT_TRUE(
      std::regex_match(ours, std::regex(R"(\{"PublicKey":"[A-Za-z0-9+/]{43}=","Port":51820\})")))
      << ours;
  // The node is initiated to (its key or ours the smaller: at once or
  // after REKEY_TIMEOUT); every counter and refusal reason is listed.
  ASSERT_TRUE(testing::eventually(
      [&] {
        const CommandResult stats = ctl({"-o", "json", "-s", sock, "stats"});
        return stats.exit_code == 0 && nlohmann::json::parse(stats.output)["wireguard"].value(
                                           "initiations_sent", "0") != "0";
      },
      20s));
  const CommandResult stats = ctl({"-s", sock, "stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  expect_shows(stats, R"(WG-INITIATIONS +WG-RESPONSES +WG-COMPLETED)");
  expect_shows(stats, R"(\nbad_mac1 +0\n)");
}

// Dual stack (issue 14): `lease set` takes one podCIDR per family, and
// `lease`, `lease remote` and `nodes list` show both families.
TEST(TartanctlDualStack, LeaseSetTakesOnePodCidrPerFamilyAndTablesShowBoth) {
  DaemonFixture fx({.lease_source = "grpc",
                    .network = "{Network: 10.244.0.0/16, EnableIPv6: true, IPv6Network: "
                               "'fd00:10:244::/56', Backend: {Type: vxlan}}",
                    .underlay_yaml = ", ipv6_address: '2001:db8::19/64'"});
  const std::string sock = fx.dir() + "/tartan.sock";
  const CommandResult twice = ctl({"-s", sock, "lease", "set", "10.244.7.0/24", "10.244.8.0/24"});
  EXPECT_EQ(twice.exit_code, 2) << twice.output;
  EXPECT_TRUE(contains(twice.output, "tartanctl: one podCIDR per address family")) << twice.output;
  const CommandResult v4 = ctl({"-s", sock, "lease", "set", "10.244.7.0/24"});
  EXPECT_EQ(v4.exit_code, 1) << v4.output;
  EXPECT_TRUE(contains(v4.output, "pod_cidr_v6: required (network.EnableIPv6)")) << v4.output;
  const CommandResult set =
      ctl({"-s", sock, "lease", "set", "fd00:10:244:7::/64", "10.244.7.0/24"});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  EXPECT_TRUE(std::regex_search(
      set.output, std::regex(R"(POD-CIDR-V6 +IPV6-NETWORK +PUBLIC-IPV6 +VTEP-MAC-V6\n)")))
      << set.output;
  EXPECT_TRUE(std::regex_search(
      set.output,
      std::regex(
          R"(fd00:10:244:7::/64 +fd00:10:244::/56 +2001:db8::19 +([0-9a-f]{2}:){5}[0-9a-f]{2}\n)")))
      << set.output;
  EXPECT_TRUE(contains(set.output, "flannel.alpha.coreos.com/public-ipv6: '2001:db8::19'"))
      << set.output;

  auto nodes = v1::Nodes::NewStub(fx.channel());
  v1::Node dual = testing::flannel_node(2);
  dual.add_pod_cidrs("fd00:10:244:2::/64");
  (*dual.mutable_annotations())["flannel.alpha.coreos.com/backend-v6-data"] =
      R"({"VNI":1,"VtepMAC":"0e:00:00:00:06:02"})";
  (*dual.mutable_annotations())["flannel.alpha.coreos.com/public-ipv6"] = "2001:db8::2";
  ASSERT_TRUE(testing::apply(*nodes, dual).ok());
  ASSERT_TRUE(testing::apply(*nodes, testing::flannel_node(3)).ok());
  const CommandResult list = ctl({"-s", sock, "nodes", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_TRUE(std::regex_search(
      list.output,
      std::regex(R"(ROUTED +PUBLIC-IPV6 +VTEP-MAC-V6 +ROUTED-V6 +PROBE.* REASON +REASON-V6\n)")))
      << list.output;
  EXPECT_TRUE(std::regex_search(
      list.output, std::regex(R"(node-2 .* yes +2001:db8::2 +0e:00:00:00:06:02 +yes )")))
      << list.output;
  EXPECT_TRUE(std::regex_search(
      list.output, std::regex(R"(node-3 .* yes +<none> +<none> +no .* no IPv6 podCIDR\n)")))
      << list.output;
  const CommandResult remote = ctl({"-s", sock, "lease", "remote"});
  ASSERT_EQ(remote.exit_code, 0) << remote.output;
  EXPECT_TRUE(std::regex_search(
      remote.output,
      std::regex(
          R"(node-2 +10\.244\.2\.0/24 .* fd00:10:244:2::/64 +2001:db8::2 +0e:00:00:00:06:02\n)")))
      << remote.output;
}

}  // namespace
}  // namespace tartan
