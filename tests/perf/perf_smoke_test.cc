// Process-level smoke tests of tartan-perf: the real binary on DPDK virtual
// devices (net_null, a self-looping net_ring, net_pcap files read back with
// tshark, a memif pair), each bounded to a few seconds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/pcap_file.h"
#include "tests/support/process.h"

namespace tartan::testing {
namespace {

using Args = std::vector<std::string>;
using Json = std::map<std::string, std::string>;  // key -> value as Python prints it

std::string perf_binary() {
  const char* p = std::getenv("TARTAN_PERF");
  return p != nullptr ? p : "build/perf/tartan-perf";
}

class PerfSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tartan-perf-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // tartan-perf with `vdevs` on lcores `lcores`; `args` go after "--".
  CommandResult perf(const Args& vdevs, const Args& args, const std::string& lcores = "0") {
    return run_command(perf_argv(vdevs, args, lcores), std::chrono::seconds(60));
  }

  static Args perf_argv(const Args& vdevs, const Args& args, const std::string& lcores = "0") {
    static int run = 0;
    Args argv{perf_binary(),   "-l",
              lcores,          "--no-huge",
              "--no-shconf",   "-m",
              "512",           "--no-pci",
              "--log-level",   "lib.eal:error",
              "--file-prefix", "tperf-" + std::to_string(getpid()) + "-" + std::to_string(++run)};
    for (const auto& v : vdevs) {
      argv.push_back("--vdev");
      argv.push_back(v);
    }
    argv.push_back("--");
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Runs tartan-perf with --json and returns the object, loaded by Python's json.
  Json perf_json(const Args& vdevs, Args args, const std::string& lcores = "0") {
    const std::string file = path("result.json");
    args.insert(args.end(), {"--json", file, "--quiet"});
    const CommandResult r = perf(vdevs, args, lcores);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return load_json(file);
  }

  static Json load_json(const std::string& file) {
    const CommandResult r = run_command(
        {"python3", "-c",
         "import json, sys\n"
         "d = json.load(open(sys.argv[1]))\n"
         "assert isinstance(d, dict) and all(not isinstance(v, (dict, list)) for v in d.values())\n"
         "for k, v in d.items(): print(f'{k}={v}')\n",
         file});
    EXPECT_EQ(r.exit_code, 0) << "not a flat JSON object: " << r.output;
    Json j;
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line)) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) j[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return j;
  }

  // tshark's fields of every frame in a pcap, one line per frame.
  static std::vector<std::string> fields(const std::string& pcap, const Args& extra,
                                         const Args& names) {
    Args args{"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
              "-o", "tcp.check_checksum:TRUE"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-T", "fields", "-E", "separator=;"});
    for (const auto& n : names) args.insert(args.end(), {"-e", n});
    return tshark_lines(pcap, args);
  }

  static std::map<std::string, int> histogram(const std::vector<std::string>& lines) {
    std::map<std::string, int> h;
    for (const auto& l : lines) ++h[l];
    return h;
  }

  std::string dir_;
};

double num(const Json& j, const std::string& key) {
  const auto it = j.find(key);
  if (it == j.end() || it->second == "None") {
    ADD_FAILURE() << "JSON has no value for " << key;
    return -1;
  }
  return std::stod(it->second);
}

TEST_F(PerfSmoke, BadOptionsExitTwoNamingTheOption) {
  const std::vector<std::pair<Args, std::string>> cases = {
      {{"--flows", "0"}, "--flows"},
      {{"--flows", "1000001"}, "--flows"},
      {{"--size", "63"}, "--size"},
      {{"--size", "jumbo"}, "--size"},
      {{"--mode", "fwd"}, "--mode"},
      {{"--proto", "sctp"}, "--proto"},
      {{"--encap", "gre"}, "--encap"},
      {{"--dst-subnets", "0"}, "--dst-subnets"},
      {{"--vtep-mac", "0e:00"}, "--vtep-mac"},
      {{"--local-ip", "192.0.2"}, "--local-ip"},
      {{"--rate-pps", "fast"}, "--rate-pps"},
      {{"--ndr"}, "--ndr"},
      {{"--no-such-option"}, "--no-such-option"},
      {{"--flows"}, "--flows"},
      {{"--pod-network", "10.0.0.0"}, "--pod-network"},
      {{"--pod-network", "10.0.0.1/8"}, "--pod-network"},
      {{"--subnet-len", "29"}, "--subnet-len"},
      {{"--subnet-len", "16"}, "--subnet-len"},     // not longer than the /16
      {{"--dst-subnets", "255"}, "--dst-subnets"},  // a /16 holds 256 /24s, 2 not remote
      {{"--vtep-base", "255.255.255.250", "--encap", "vxlan", "--dst-subnets", "9"}, "--vtep-base"},
      {{"--family", "ipv5"}, "--family"},
      // IPv6/UDP needs 66 B, IPv6/TCP 78 B; IMIX's 64 B frames fit neither.
      {{"--family", "ipv6", "--size", "64"}, "--size"},
      {{"--family", "ipv6", "--proto", "tcp", "--size", "77"}, "--size"},
      {{"--family", "ipv6", "--size", "imix"}, "--size"},
      {{"--family", "ipv6", "--encap", "udp", "--size", "78"}, "--encap"},  // IPv4 only
      {{"--pod-network6", "fd00::1/48"}, "--pod-network6"},
      {{"--pod-network6", "10.0.0.0/8"}, "--pod-network6"},
      {{"--local-ip6", "2001:db8::zz"}, "--local-ip6"},
      {{"--vtep-base6", "192.0.2.1"}, "--vtep-base6"},
      {{"--subnet-len6", "12"}, "--subnet-len6"},
      // fd00::/48 holds 65536 /64s, 2 not remote.
      {{"--family", "ipv6", "--size", "78", "--dst-subnets", "65535"}, "--dst-subnets"},
      {{"--family", "ipv6", "--size", "78", "--encap", "vxlan", "--vtep-base6",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "--dst-subnets", "3"},
       "--vtep-base6"},
  };
  for (const auto& [args, option] : cases) {
    const CommandResult r = perf({"net_null0"}, args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
    EXPECT_EQ(r.output.rfind("tartan-perf: ", 0), 0u) << args[0] << ": " << r.output;
    EXPECT_NE(r.output.find(option), std::string::npos) << args[0] << ": " << r.output;
  }
  const CommandResult port = perf({"net_null0"}, {"--tx-port", "5"});
  EXPECT_EQ(port.exit_code, 2) << port.output;
  EXPECT_NE(port.output.find("--tx-port"), std::string::npos) << port.output;

  const CommandResult help = run_command({perf_binary(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* o : {"--mode", "--rate-pps", "--size", "--encap", "--ndr", "--json", "--family",
                        "--pod-network6", "--vtep-base6", "--local-ip6"})
    EXPECT_NE(help.output.find(o), std::string::npos) << o;
}

TEST_F(PerfSmoke, TxonlyWritesTheRequestedSizesAndTheImixMix) {
  const std::string fixed = path("fixed.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + fixed}, {"--size", "128", "--packets", "500", "--quiet"})
                .exit_code,
            0);
  // Sizes count the FCS; the pcap holds frames without it. Checksums valid.
  EXPECT_EQ(
      histogram(fields(fixed, {}, {"frame.len", "ip.checksum.status", "udp.checksum.status"})),
      (std::map<std::string, int>{{"124;1;1", 500}}));

  const std::string imix = path("imix.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + imix},
                 {"--size", "imix", "--packets", "1200", "--flows", "100", "--quiet"})
                .exit_code,
            0);
  EXPECT_EQ(histogram(fields(imix, {}, {"frame.len"})),
            (std::map<std::string, int>{{"60", 700}, {"566", 400}, {"1514", 100}}));

  const std::string tcp = path("tcp.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + tcp},
                 {"--proto", "tcp", "--size", "200", "--packets", "50", "--quiet"})
                .exit_code,
            0);
  EXPECT_EQ(histogram(fields(tcp, {}, {"frame.len", "tcp.checksum.status", "tcp.dstport"})),
            (std::map<std::string, int>{{"196;1;5001", 50}}));
}

TEST_F(PerfSmoke, FlowsSpreadOverSubnetsAddressesAndPorts) {
  const std::string pcap = path("flows.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + pcap},
                 {"--flows", "1000", "--dst-subnets", "4", "--packets", "1000", "--quiet"})
                .exit_code,
            0);
  const auto lines = fields(pcap, {}, {"ip.src", "ip.dst", "udp.srcport"});
  ASSERT_EQ(lines.size(), 1000u);
  EXPECT_EQ(histogram(lines).size(), 1000u) << "5-tuples repeat";
  std::map<std::string, int> subnets;
  for (const auto& l : lines) {
    const std::string dst = l.substr(l.find(';') + 1);
    ++subnets[dst.substr(0, dst.rfind('.'))];
    EXPECT_EQ(l.rfind("10.244.1.", 0), 0u) << l;
  }
  EXPECT_EQ(subnets,
            (std::map<std::string, int>{
                {"10.244.2", 250}, {"10.244.3", 250}, {"10.244.4", 250}, {"10.244.5", 250}}));
}

// Remote node k of a large cluster (flows.h): podCIDR number 2+k of the pod
// network, VTEP --vtep-base + k, VtepMAC 0e:00 + (2+k); the same numbering
// tartan-nodeload gives tartand.
TEST_F(PerfSmoke, LargeClustersNumberRemoteNodesBeyondOneByte) {
  const std::string pcap = path("large.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + pcap},
                 {"--encap", "vxlan", "--pod-network", "10.0.0.0/7", "--local-subnet",
                  "10.0.1.0/24", "--vtep-base", "172.16.0.2", "--dst-subnets", "1000", "--flows",
                  "1000", "--packets", "1000", "--quiet"})
                .exit_code,
            0);
  const auto lines = fields(pcap, {"-d", "udp.port==8472,vxlan"}, {"ip.src", "eth.src"});
  ASSERT_EQ(lines.size(), 1000u);
  EXPECT_EQ(histogram(lines).size(), 1000u) << "1000 nodes should mean 1000 VTEPs";
  // Flow 999 is node 999: /24 number 2+999 = 1001 = 0x3e9 of 10.0.0.0/7 is
  // 10.3.233.0/24 (its first pod .2); VTEP 172.16.0.2 + 999 = 172.16.3.233.
  EXPECT_EQ(lines[999], "172.16.3.233,10.3.233.2;02:0b:00:00:03:e9,0e:00:00:00:03:e9");

  // More nodes than 16 bits count, each a flow of its own.
  const CommandResult many =
      perf({"net_null0"}, {"--encap", "vxlan", "--pod-network", "10.0.0.0/7", "--dst-subnets",
                           "100000", "--flows", "100000", "--packets", "1000"});
  EXPECT_EQ(many.exit_code, 0) << many.output;

  // /25 podCIDRs: remote pods stay inside them (.2 to .124: 123 addresses).
  const std::string small = path("small.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + small},
                 {"--pod-network", "10.244.0.0/16", "--subnet-len", "25", "--dst-subnets", "1",
                  "--flows", "300", "--packets", "300", "--quiet"})
                .exit_code,
            0);
  std::map<std::string, int> hosts;
  for (const auto& l : fields(small, {}, {"ip.dst"})) {
    ASSERT_EQ(l.rfind("10.244.1.", 0), 0u) << l;  // subnet 2 of /25s: 10.244.1.0/25
    const int host = std::stoi(l.substr(9));
    EXPECT_GE(host, 2) << l;
    EXPECT_LE(host, 124) << l;
    ++hosts[l];
  }
  EXPECT_EQ(hosts.size(), 123u);
}

TEST_F(PerfSmoke, DecapDirectionFramesAreValidVxlanAndUdpBackend) {
  const std::string vxlan = path("vxlan.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + vxlan},
                 {"--encap", "vxlan", "--size", "imix", "--flows", "20", "--dst-subnets", "4",
                  "--vni", "42", "--vtep-mac", "0e:00:00:00:00:01", "--dst-mac",
                  "02:00:00:00:0a:01", "--packets", "120", "--quiet"})
                .exit_code,
            0);
  const auto lines = fields(vxlan, {"-d", "udp.port==8472,vxlan"},
                            {"eth.dst", "udp.dstport", "vxlan.vni", "ip.dst", "ip.checksum.status",
                             "udp.checksum.status"});
  ASSERT_EQ(lines.size(), 120u);
  for (const auto& l : lines) {
    // Outer then inner: Ethernet to the DUT then to our VTEP MAC, UDP 8472,
    // VNI 42, to 192.0.2.19 then a pod in 10.244.1.0/24, every checksum good.
    EXPECT_EQ(l.rfind("02:00:00:00:0a:01,0e:00:00:00:00:01;8472,5001;42;192.0.2.19,10.244.1.", 0),
              0u)
        << l;
    EXPECT_NE(l.find(";1,1;1,1"), std::string::npos) << l;
  }
  std::map<std::string, int> vteps;
  for (const auto& l : fields(vxlan, {}, {"ip.src"})) ++vteps[l.substr(0, l.find(','))];
  EXPECT_EQ(vteps,
            (std::map<std::string, int>{
                {"192.0.2.20", 30}, {"192.0.2.21", 30}, {"192.0.2.22", 30}, {"192.0.2.23", 30}}));

  const std::string udp = path("udp.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + udp}, {"--encap", "udp", "--proto", "tcp", "--size", "300",
                                                "--packets", "20", "--quiet"})
                .exit_code,
            0);
  EXPECT_EQ(histogram(fields(udp, {"-d", "udp.port==8285,ip"},
                             {"udp.srcport", "udp.dstport", "ip.dst", "ip.checksum.status",
                              "udp.checksum.status", "tcp.checksum.status"})),
            (std::map<std::string, int>{{"8285;8285;192.0.2.19,10.244.1.2;1,1;1;1", 20}}));
}

// --family ipv6: pod frames from the IPv6 podCIDRs (flannel's IPv6Network
// cut in /64s, node k's the (2+k)th), and flannel-v6's VXLAN over IPv6 from
// node k's public IPv6: hop limit 64, flow label 0, every UDP checksum
// computed and valid, at 78 B (CSIT's smallest IPv6 frame) and more.
TEST_F(PerfSmoke, Ipv6FramesArePodFramesAndFlannelV6Vxlan) {
  const std::string plain = path("plain6.pcap");
  ASSERT_EQ(
      perf({"net_pcap0,tx_pcap=" + plain}, {"--family", "ipv6", "--size", "78", "--flows", "8",
                                            "--dst-subnets", "2", "--packets", "8", "--quiet"})
          .exit_code,
      0);
  const auto lines = fields(
      plain, {},
      {"frame.len", "ipv6.hlim", "ipv6.flow", "ipv6.src", "ipv6.dst", "udp.checksum.status"});
  ASSERT_EQ(lines.size(), 8u);
  // Flow 0 is node 0's (podCIDR 2: fd00:0:0:2::/64), flow 1 node 1's; j = 0.
  EXPECT_EQ(lines[0], "74;64;0x000000;fd00:0:0:1::2;fd00:0:0:2::2;1");
  EXPECT_EQ(lines[1], "74;64;0x000000;fd00:0:0:1::2;fd00:0:0:3::2;1");
  EXPECT_EQ(lines[2], "74;64;0x000000;fd00:0:0:1::3;fd00:0:0:2::3;1");

  const std::string vxlan = path("vxlan6.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + vxlan},
                 {"--family", "ipv6", "--encap", "vxlan", "--proto", "tcp", "--size", "200",
                  "--flows", "40", "--dst-subnets", "4", "--vni", "42", "--vtep-mac",
                  "0e:00:00:00:06:01", "--packets", "80", "--quiet"})
                .exit_code,
            0);
  const auto outer =
      fields(vxlan, {"-d", "udp.port==8472,vxlan"},
             {"frame.len", "eth.dst", "ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.flow",
              "udp.dstport", "udp.checksum.status", "vxlan.vni", "tcp.checksum.status"});
  ASSERT_EQ(outer.size(), 80u);
  std::map<std::string, int> vteps;
  for (const auto& l : outer) {
    // 196 B inner frame + 70 B of outer Ethernet, IPv6, UDP and VXLAN; the
    // inner Ethernet to our flannel-v6 VtepMAC; the inner packet to a
    // local pod; both checksums good.
    EXPECT_EQ(l.rfind("266;02:00:00:00:00:02,0e:00:00:00:06:01;", 0), 0u) << l;
    EXPECT_NE(l.find(";2001:db8::13,fd00:0:0:1::"), std::string::npos) << l;
    EXPECT_NE(l.find(";64,64;0x000000,0x000000;8472;1;42;1"), std::string::npos) << l;
    const std::string src = l.substr(l.find(';', l.find(';') + 1) + 1);
    ++vteps[src.substr(0, src.find(','))];
  }
  EXPECT_EQ(
      vteps,
      (std::map<std::string, int>{
          {"2001:db8::14", 20}, {"2001:db8::15", 20}, {"2001:db8::16", 20}, {"2001:db8::17", 20}}));
  // Node k's VtepMAC on flannel-v6 is its own: 0e:06 + (2+k).
  EXPECT_EQ(histogram(fields(vxlan, {"-d", "udp.port==8472,vxlan"}, {"eth.src"}))
                .count("02:0b:00:00:00:02,0e:06:00:00:00:02"),
            1u);
}

TEST_F(PerfSmoke, TxonlyOnNullSendsAndReportsARate) {
  const Json j = perf_json({"net_null0"}, {"--duration", "1", "--size", "64"});
  EXPECT_EQ(j.at("mode"), "txonly");
  EXPECT_GT(num(j, "tx_packets"), 0);
  EXPECT_GT(num(j, "tx_mpps"), 0);
  // 64-byte frames: 60 bytes in DPDK + 24 on the wire.
  EXPECT_NEAR(num(j, "tx_gbps"), num(j, "tx_mpps") * 84 * 8 / 1e3, 1e-3);
  EXPECT_EQ(j.at("loss_ratio"), "None");
}

// Every key perf/README.md documents.
const char* const kResultKeys =
    "tool mode family proto encap size flows dst_subnets vni rate_pps burst tx_port rx_port lcores "
    "tsc_hz duration_s interrupted tx_packets tx_bytes tx_refused tx_alloc_failures rx_packets "
    "rx_bytes "
    "tx_mpps rx_mpps tx_gbps rx_gbps loss_packets loss_ratio rx_marked rx_foreign seq_gaps "
    "seq_reordered payload_checked payload_bad latency_samples latency_min_us latency_avg_us "
    "latency_p50_us latency_p99_us latency_max_us";

// Each key has the value given.
void expect_values(const Json& j, const std::map<std::string, double>& want) {
  for (const auto& [key, value] : want) EXPECT_EQ(num(j, key), value) << key;
}

void expect_clean_loopback(const Json& j, double packets) {
  std::istringstream keys(kResultKeys);
  for (std::string k; keys >> k;) EXPECT_TRUE(j.count(k)) << "no key " << k;
  expect_values(j, {{"tx_packets", packets},
                    {"rx_packets", packets},
                    {"rx_marked", packets},
                    {"loss_packets", 0},
                    {"loss_ratio", 0},
                    {"seq_gaps", 0},
                    {"seq_reordered", 0},
                    {"payload_bad", 0},
                    {"latency_samples", packets}});
  EXPECT_GT(num(j, "payload_checked"), 0);
  EXPECT_GT(num(j, "latency_min_us"), 0);
  EXPECT_LE(num(j, "latency_min_us"), num(j, "latency_p50_us"));
  EXPECT_LE(num(j, "latency_p50_us"), num(j, "latency_p99_us"));
  EXPECT_LE(num(j, "latency_p99_us"), num(j, "latency_max_us"));
  EXPECT_LT(num(j, "latency_max_us"), 5e6);  // under the run's own length
}

TEST_F(PerfSmoke, LoopbackOverALoopingRingLosesNothing) {
  // A net_ring vdev without arguments receives what it sends.
  const Json j = perf_json({"net_ring0"}, {"--mode", "loopback", "--packets", "200000", "--flows",
                                           "1000", "--size", "128", "--duration", "10"});
  expect_clean_loopback(j, 200000);
  expect_values(j, {{"lcores", 1}, {"tx_port", 0}, {"rx_port", 0}});
}

TEST_F(PerfSmoke, LoopbackOnTwoLcoresSendsOnOneReceivesOnTheOther) {
  const Json j = perf_json({"net_ring0"},
                           {"--mode", "loopback", "--packets", "200000", "--size", "imix",
                            "--flows", "5000", "--rate-pps", "400000", "--duration", "10"},
                           "0,1");
  expect_values(j, {{"lcores", 2},
                    {"tx_packets", 200000},
                    {"rx_packets", 200000},
                    {"rx_marked", 200000},
                    {"loss_packets", 0},
                    {"seq_gaps", 0},
                    {"seq_reordered", 0},
                    {"payload_bad", 0}});
  // IMIX: the 570- and 1518-byte frames (5 of 12) carry a timestamp.
  EXPECT_NEAR(num(j, "latency_samples"), 200000.0 * 5 / 12, 2);
  // --rate-pps paces: 200000 frames at 400000/s take at least half a
  // second (a pacer may fall behind on a loaded machine, never run ahead;
  // no upper bound, which would time the machine rather than the pacer).
  EXPECT_GE(num(j, "duration_s"), 0.5 * 0.98);
}

TEST_F(PerfSmoke, LoopbackFindsTheMarkerInsideTunnels) {
  for (const char* encap : {"vxlan", "udp"}) {
    const Json j =
        perf_json({"net_ring0"}, {"--mode", "loopback", "--encap", encap, "--proto", "tcp",
                                  "--size", "256", "--packets", "50000", "--flows", "300",
                                  "--dst-subnets", "7", "--verify-every", "1"});
    expect_clean_loopback(j, 50000);
    EXPECT_EQ(num(j, "payload_checked"), 50000) << encap;
  }
}

// The receiver finds and fully checks IPv6 frames, plain and in flannel-v6's
// VXLAN; 82 B frames carry a sequence number, 90 B a timestamp too.
TEST_F(PerfSmoke, LoopbackChecksIpv6FramesPlainAndInsideVxlan) {
  for (const char* encap : {"none", "vxlan"}) {
    const Json j = perf_json({"net_ring0"}, {"--mode", "loopback", "--family", "ipv6", "--encap",
                                             encap, "--size", "90", "--packets", "50000", "--flows",
                                             "300", "--dst-subnets", "7", "--verify-every", "1"});
    expect_clean_loopback(j, 50000);
    EXPECT_EQ(num(j, "payload_checked"), 50000) << encap;
  }
  const Json tcp =
      perf_json({"net_ring0"}, {"--mode", "loopback", "--family", "ipv6", "--proto", "tcp",
                                "--size", "400", "--packets", "20000", "--verify-every", "1"});
  expect_clean_loopback(tcp, 20000);
  const Json small = perf_json({"net_ring0"}, {"--mode", "loopback", "--family", "ipv6", "--size",
                                               "82", "--packets", "20000", "--verify-every", "1"});
  expect_values(
      small, {{"rx_marked", 20000}, {"seq_gaps", 0}, {"payload_bad", 0}, {"latency_samples", 0}});
}

TEST_F(PerfSmoke, LoopbackAcrossTwoPortsOverMemif) {
  const std::string sock = path("memif.sock");
  const Json j = perf_json(
      {"net_memif0,role=server,id=0,socket=" + sock, "net_memif1,role=client,id=0,socket=" + sock},
      {"--mode", "loopback", "--tx-port", "0", "--rx-port", "1", "--packets", "100000", "--size",
       "100", "--duration", "20"},
      "0,1");
  expect_clean_loopback(j, 100000);
  expect_values(j, {{"lcores", 2}, {"tx_port", 0}, {"rx_port", 1}});
}

TEST_F(PerfSmoke, RxonlyChecksAReplayedCapture) {
  const std::string pcap = path("replay.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + pcap}, {"--encap", "vxlan", "--size", "imix", "--packets",
                                                 "3000", "--flows", "64", "--quiet"})
                .exit_code,
            0);
  const Json j =
      perf_json({"net_pcap0,rx_pcap=" + pcap}, {"--mode", "rxonly", "--flows", "64", "--packets",
                                                "3000", "--duration", "10", "--verify-every", "1"});
  expect_values(j, {{"rx_packets", 3000},
                    {"rx_marked", 3000},
                    {"payload_checked", 3000},
                    {"payload_bad", 0},
                    {"seq_gaps", 0},
                    {"loss_ratio", 0}});
}

TEST_F(PerfSmoke, IoAndMacswapForwardBetweenTwoPorts) {
  const std::string in0 = path("in0.pcap"), in1 = path("in1.pcap");
  ASSERT_EQ(perf({"net_pcap0,tx_pcap=" + in0}, {"--packets", "100", "--quiet"}).exit_code, 0);
  ASSERT_EQ(
      perf({"net_pcap0,tx_pcap=" + in1}, {"--packets", "40", "--size", "200", "--quiet"}).exit_code,
      0);
  const auto src_dst = [](const std::string& pcap) {
    return histogram(fields(pcap, {}, {"eth.src", "eth.dst", "frame.len"}));
  };
  const std::string src = fields(in0, {}, {"eth.src"}).at(0);
  for (const std::string mode : {"io", "macswap"}) {
    for (const std::string lcores : {"0", "0,1"}) {
      // No comma in a devargs value.
      const std::string tag = mode + (lcores == "0" ? "-1lcore" : "-2lcores");
      const std::string out0 = path(tag + "-out0.pcap"), out1 = path(tag + "-out1.pcap");
      const Json j = perf_json({"net_pcap0,rx_pcap=" + in0 + ",tx_pcap=" + out0,
                                "net_pcap1,rx_pcap=" + in1 + ",tx_pcap=" + out1},
                               {"--mode", mode, "--duration", "1"}, lcores);
      expect_values(j, {{"rx_packets", 140}, {"tx_packets", 140}, {"loss_packets", 0}});
      const std::string macs =
          mode == "io" ? src + ";02:00:00:00:00:02" : "02:00:00:00:00:02;" + src;
      EXPECT_EQ(src_dst(out1), (std::map<std::string, int>{{macs + ";60", 100}})) << mode << lcores;
      EXPECT_EQ(src_dst(out0), (std::map<std::string, int>{{macs + ";196", 40}})) << mode << lcores;
    }
  }
}

TEST_F(PerfSmoke, NdrSearchTerminatesAndReportsARate) {
  // A lossless loop: NDR and PDR are the maximum the first (flat-out) trial reached.
  Json j = perf_json({"net_ring0"}, {"--mode", "loopback", "--ndr", "--trial-duration", "0.2",
                                     "--size", "128", "--drain-ms", "20"});
  EXPECT_GE(num(j, "search_trials"), 1);
  EXPECT_GT(num(j, "ndr_pps"), 0);
  EXPECT_EQ(num(j, "ndr_pps"), num(j, "search_max_pps"));
  EXPECT_GE(num(j, "pdr_pps"), num(j, "ndr_pps"));
  EXPECT_GT(num(j, "ndr_gbps"), 0);

  // Everything lost (sent into net_null, received on a quiet ring): the
  // search narrows down to nothing and says so.
  j = perf_json({"net_null0", "net_ring0"},
                {"--mode", "loopback", "--tx-port", "0", "--rx-port", "1", "--ndr",
                 "--trial-duration", "0.05", "--search-precision", "0.1", "--drain-ms", "5"});
  expect_values(j, {{"ndr_pps", 0}, {"pdr_pps", 0}, {"tx_port", 0}, {"rx_port", 1}});
  EXPECT_GE(num(j, "search_trials"), 4);
  EXPECT_LE(num(j, "search_trials"), 10);
}

TEST_F(PerfSmoke, HoldPortsKeepsThemOpenAfterTheResultUntilStdinEnds) {
  const std::string fifo = path("stdin"), file = path("result.json");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string command = "exec";
  for (const std::string& a :
       perf_argv({"net_null0"}, {"--packets", "1000", "--json", file, "--quiet", "--hold-ports"}))
    command += " " + a;
  Process p({"sh", "-c", command + " < " + fifo});
  int in = -1;  // the FIFO opens for writing once the shell has it open for reading
  ASSERT_TRUE(eventually([&] { return (in = open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; },
                         std::chrono::seconds(10)));
  ASSERT_TRUE(eventually(
      [&] {
        std::ifstream f(file);
        const std::string text((std::istreambuf_iterator<char>(f)), {});
        return text.find('}') != std::string::npos;
      },
      std::chrono::seconds(30)))
      << p.output();
  EXPECT_EQ(num(load_json(file), "tx_packets"), 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(p.running()) << "it let go of its ports before its stdin ended";
  close(in);
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0) << p.output();
}

}  // namespace
}  // namespace tartan::testing
