// A real tartand whose memif peers come and go under traffic, a hundred
// times: memif clients in this process (its pods and its underlay) that
// connect, check that traffic is forwarded both ways, then flood tartand
// for a random moment and vanish (one port or both) while its worker is
// forwarding at full rate; and, every tenth time, a tartan-perf process
// SIGKILLed in the middle of its traffic, as a crashing pod would go. The
// PMD unmaps a departed peer's memory on tartand's interrupt thread
// (engine/unmap_barrier.h); tartand must stay up, count each link_down, and
// forward again as soon as the peer is back.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/memif_client.h"
#include "tests/support/node_manifest.h"
#include "tests/support/packets.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::MemifClient;
using testing::Process;
using testing::run_command;
using namespace std::chrono_literals;

constexpr int kCycles = 100;
constexpr int kProcessEvery = 10;  // every 10th cycle's peer is a tartan-perf killed mid-traffic
constexpr auto kBound = 10s;
constexpr unsigned kCheckFrames = 32;

const char* const kPodsPort = "pods";
const char* const kUnderlayPort = "underlay";
const char* const kUnderlayMac = "02:00:00:00:00:13";
const char* const kPodsMac = "02:00:00:00:01:01";

struct PortView {
  bool link_up = false;
  uint64_t link_downs = 0;
  uint64_t tx_packets = 0;
};

class TartandOnMemif {
 public:
  explicit TartandOnMemif(const std::string& dir) : dir_(dir), socket_(dir + "/tartan.sock") {
    const auto memif = [&](int i, const char* name) {
      return "net_memif" + std::to_string(i) +
             ",role=server,id=0,socket-abstract=no,socket=" + dir + "/" + name + ".sock";
    };
    testing::write_file(
        dir + "/tartan.yaml",
        "eal: {main_lcore: 0, memory_mb: 256, hugepages: off, file_prefix: memif-churn-" +
            std::to_string(getpid()) + "}\nports:\n  underlay: {name: underlay, device: '" +
            memif(1, kUnderlayPort) + "', address: 192.0.2.19/24, mac: '" + kUnderlayMac +
            "'}\n  overlay: [{name: pods, device: '" + memif(0, kPodsPort) + "', mac: '" +
            kPodsMac +
            "'}]\n"
            "workers: {lcores: [1]}\n"
            "network: {Network: 10.244.0.0/16, SubnetLen: 24, Backend: {Type: vxlan}}\n"
            // One route: a small table keeps the process within its 256 MiB
            // beside the memif rings (the default max_routes takes ~107 MiB).
            "dataplane: {max_routes: 1024, vtep_mac: '0e:00:00:00:00:01', "
            "static_neighbours: [{ip: 192.0.2.20, "
            "mac: '02:0b:00:00:00:02'}]}\n"
            "node: {name: churn-local, state_dir: " +
            dir + "/state}\ncontrol: {listen: 'unix://" + socket_ +
            "'}\nlease: {source: static, subnet: 10.244.1.0/24}\nsubnet_file: " + dir +
            "/subnet.env\n");
    // node-2 is tartan-perf's remote node 0 (perf/README.md); its underlay
    // MAC is the static neighbour above: nobody answers ARP here.
    testing::write_file(dir + "/node2.yaml", testing::kFlannelNode2Yaml);
    process_ = std::make_unique<Process>(std::vector<std::string>{testing::required_env("TARTAND"),
                                                                  "--config", dir + "/tartan.yaml",
                                                                  "--stats-interval", "0"});
  }

  Process& process() { return *process_; }
  const std::string& dir() const { return dir_; }

  testing::CommandResult ctl(std::vector<std::string> args) const {
    args.insert(args.begin(), {testing::required_env("TARTANCTL"), "-s", socket_});
    return run_command(args, 10s);
  }
  bool ready() const { return ctl({"health"}).exit_code == 0; }

  // Its ports by name, as `tartanctl stats` reports them; empty if it does
  // not answer.
  std::map<std::string, PortView> ports() const {
    const testing::CommandResult r = ctl({"-o", "json", "stats"});
    std::map<std::string, PortView> out;
    if (r.exit_code != 0) return out;
    const auto doc = nlohmann::json::parse(r.output, nullptr, false);
    if (doc.is_discarded()) return out;
    for (const auto& p : doc.value("ports", nlohmann::json::array())) {
      // int64 fields come as strings in the JSON mapping of protobuf.
      const auto num = [&](const char* k) { return std::stoull(p.value(k, std::string("0"))); };
      out[p.value("name", "")] = {p.value("link_up", false), num("link_downs"), num("tx_packets")};
    }
    return out;
  }

 private:
  std::string dir_, socket_;
  std::unique_ptr<Process> process_;
};

testing::UdpSpec pod_to_node2() {
  testing::UdpSpec s;
  s.src_mac = *MacAddr::parse("02:00:00:00:01:99");
  s.dst_mac = *MacAddr::parse(kPodsMac);
  s.src_ip = *Ipv4Addr::parse("10.244.1.10");
  s.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  return s;
}

Bytes vxlan_from_node2() {
  testing::UdpSpec outer;
  outer.src_mac = *MacAddr::parse("02:0b:00:00:00:02");
  outer.dst_mac = *MacAddr::parse(kUnderlayMac);
  outer.src_ip = *Ipv4Addr::parse("192.0.2.20");
  outer.dst_ip = *Ipv4Addr::parse("192.0.2.19");
  outer.src_port = 40000;
  outer.dst_port = 8472;
  testing::UdpSpec inner;
  inner.src_mac = *MacAddr::parse("0e:00:00:00:00:02");
  inner.dst_mac = *MacAddr::parse("0e:00:00:00:00:01");
  inner.src_ip = *Ipv4Addr::parse("10.244.2.10");
  inner.dst_ip = *Ipv4Addr::parse("10.244.1.10");
  inner.ttl = 63;
  return testing::udp_frame(outer,
                            testing::concat(testing::vxlan_header(1), testing::udp_frame(inner)));
}

bool is_vxlan(const Bytes& f) {
  return f.size() >= 50 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 && f[36] == 8472 >> 8 &&
         f[37] == (8472 & 0xff);
}

// Frames of `from` sent into tartand, counted as they come out at `to`
// (`wanted` says which count).
bool forwards(MemifClient& from, const Bytes& frame, MemifClient& to, bool (*wanted)(const Bytes&),
              std::string& why) {
  to.receive();  // what an earlier flood left, and free slots for tartand
  const unsigned sent = from.send(frame, kCheckFrames);
  unsigned arrived = 0;
  const bool all = testing::eventually(
      [&] {
        for (const Bytes& f : to.receive()) arrived += wanted(f);
        return arrived >= sent;
      },
      kBound, 100us);
  why = std::to_string(arrived) + " of " + std::to_string(sent) + " sent came back";
  return sent == kCheckFrames && all;
}

TEST(MemifPeerOfTartand,
     PeersVanishingUnderFullTrafficAHundredTimesNeverCrashItAndItForwardsAgainEachTime) {
  testing::ScopedTempDir dir("memif-churn");
  TartandOnMemif tartand(dir.path());
  ASSERT_TRUE(testing::eventually([&] { return tartand.ready(); }, 60s))
      << tartand.process().output();
  const testing::CommandResult applied =
      tartand.ctl({"nodes", "apply", "-f", dir.path() + "/node2.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_NE(applied.output.find("routed"), std::string::npos) << applied.output;
  ASSERT_EQ(applied.output.find("not routed"), std::string::npos) << applied.output;

  MemifClient pods("churn_pods", dir.path() + "/pods.sock");
  MemifClient underlay("churn_underlay", dir.path() + "/underlay.sock");
  ASSERT_TRUE(pods.ok() && underlay.ok()) << "cannot create the memif clients";
  const Bytes pod_frame = testing::udp_frame(pod_to_node2());
  const Bytes vxlan_frame = vxlan_from_node2();

  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  RecordProperty("seed", std::to_string(seed));
  std::map<std::string, uint64_t> downs{{kPodsPort, 0}, {kUnderlayPort, 0}};
  std::map<std::string, bool> connected{{kPodsPort, false}, {kUnderlayPort, false}};
  std::map<std::string, MemifClient*> clients{{kPodsPort, &pods}, {kUnderlayPort, &underlay}};

  // tartand saw every peer that left go: its link is down and counted.
  const auto downs_counted = [&] {
    return testing::eventually(
        [&] {
          const auto ports = tartand.ports();
          if (ports.size() < 2) return false;
          for (const auto& [name, n] : downs)
            if (ports.at(name).link_downs != n || ports.at(name).link_up != connected[name])
              return false;
          return true;
        },
        kBound, 20ms);
  };
  const auto vanish = [&](const std::string& name) {
    clients[name]->vanish();
    connected[name] = false;
    ++downs[name];
  };

  for (int cycle = 1; cycle <= kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle) + " (seed " + std::to_string(seed) + ")");
    if (cycle % kProcessEvery == 0) {
      // A tartan-perf process, SIGKILLed at a random moment of its traffic
      // (encap or decap, at the rate it can).
      for (const auto& [name, up] : std::map(connected))
        if (up) vanish(name);
      ASSERT_TRUE(downs_counted()) << tartand.process().output();
      const bool encap = rng() % 2 == 0;
      const std::string prefix =
          "memif-churn-gen-" + std::to_string(getpid()) + "-" + std::to_string(cycle);
      std::vector<std::string> argv{testing::required_env("TARTAN_PERF"),
                                    "-l",
                                    "0",
                                    "--no-pci",
                                    "--no-huge",
                                    "-m",
                                    "128",
                                    "--file-prefix",
                                    prefix};
      // Port 0 the pods' side, port 1 the underlay, as in the perf suite.
      int port = 0;
      for (const char* name : {kPodsPort, kUnderlayPort})
        argv.insert(argv.end(), {"--vdev", "net_memif" + std::to_string(port++) +
                                               ",role=client,id=0,socket-abstract=no,socket=" +
                                               dir.path() + "/" + name + ".sock"});
      argv.insert(argv.end(), {"--", "--mode", "loopback", "--duration", "60", "--quiet"});
      if (encap)
        argv.insert(argv.end(), {"--tx-port", "0", "--rx-port", "1", "--dst-mac", kPodsMac});
      else
        argv.insert(argv.end(), {"--tx-port", "1", "--rx-port", "0", "--encap", "vxlan",
                                 "--dst-mac", kUnderlayMac, "--local-ip", "192.0.2.19"});
      Process gen(argv);
      const char* out_port = encap ? kUnderlayPort : kPodsPort;
      uint64_t tx_before = 0;
      ASSERT_TRUE(testing::eventually(
          [&] {
            const auto p = tartand.ports();
            if (p.size() < 2 || !p.at(kPodsPort).link_up || !p.at(kUnderlayPort).link_up)
              return false;
            tx_before = p.at(out_port).tx_packets;
            return true;
          },
          kBound, 20ms))
          << "tartan-perf did not connect\n"
          << gen.output();
      ASSERT_TRUE(testing::eventually(
          [&] { return tartand.ports()[out_port].tx_packets > tx_before + 1000; }, kBound, 20ms))
          << "tartand forwarded nothing of tartan-perf's traffic to " << out_port << "\n"
          << gen.output() << tartand.ctl({"stats"}).output;
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
      ASSERT_TRUE(gen.running()) << "tartan-perf ended on its own\n" << gen.output();
      gen.signal(SIGKILL);
      EXPECT_EQ(gen.wait(kBound), 128 + SIGKILL);
      // EAL's runtime directory, which a killed process leaves behind.
      std::filesystem::remove_all("/var/run/dpdk/" + prefix);
      for (auto& [name, n] : downs) ++n;
    } else {
      for (const auto& [name, up] : std::map(connected)) {
        if (up) continue;
        ASSERT_TRUE(clients[name]->connect()) << name;
        connected[name] = true;
      }
      ASSERT_TRUE(testing::eventually([&] { return pods.link_up() && underlay.link_up(); }, kBound))
          << "the peers did not connect\n"
          << tartand.process().output();
      // tartand polls link state (every kLinkCheckMs): a peer that came and
      // went between two polls would be no transition to it. Its link must
      // be seen up before this cycle takes it down.
      ASSERT_TRUE(downs_counted()) << "tartand did not see the peers connect\n"
                                   << tartand.process().output();
      std::string why;
      ASSERT_TRUE(forwards(pods, pod_frame, underlay, is_vxlan, why))
          << "pods -> underlay (encap): " << why << "\n"
          << tartand.ctl({"stats"}).output;
      ASSERT_TRUE(forwards(
          underlay, vxlan_frame, pods, [](const Bytes&) { return true; }, why))
          << "underlay -> pods (decap): " << why << "\n"
          << tartand.ctl({"stats"}).output;
      // A flood both ways for up to 20 ms, then one peer or both go while
      // tartand's worker is busy with it.
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 20000);
      do {
        pods.send(pod_frame, 64);
        underlay.send(vxlan_frame, 64);
        pods.discard_received();
        underlay.discard_received();
      } while (std::chrono::steady_clock::now() < until);
      const unsigned which = 1 + rng() % 3;
      if (which & 1) vanish(kPodsPort);
      if (which & 2) vanish(kUnderlayPort);
    }
    ASSERT_TRUE(tartand.process().running()) << "tartand died\n" << tartand.process().output();
    ASSERT_TRUE(downs_counted()) << "link_downs: pods " << tartand.ports()[kPodsPort].link_downs
                                 << " underlay " << tartand.ports()[kUnderlayPort].link_downs
                                 << ", " << downs[kPodsPort] << " and " << downs[kUnderlayPort]
                                 << " expected\n"
                                 << tartand.process().output();
  }
  tartand.process().signal(SIGTERM);
  EXPECT_EQ(tartand.process().wait(30s), 0) << tartand.process().output();
}

}  // namespace
}  // namespace tartan
