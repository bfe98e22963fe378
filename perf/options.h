// tartan-perf's command line (what follows `--`), parsed and checked
// without DPDK: every error names its option.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace tartan::perf {

enum class Mode { kTxOnly, kRxOnly, kIo, kMacSwap, kLoopback };
enum class Proto { kUdp, kTcp };
enum class Encap { kNone, kVxlan, kUdp };
// The pods' address family; encapsulated frames are of the same family
// outside (flannel's flannel.<VNI> and flannel-v6.<VNI>).
enum class Family { kIpv4, kIpv6 };

using Mac = std::array<uint8_t, 6>;
// An IPv6 address as a number (host order), so the scheme's arithmetic is
// IPv4's.
using Ipv6Int = unsigned __int128;

inline constexpr Ipv6Int ipv6_int(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g7) {
  return Ipv6Int{g0} << 112 | Ipv6Int{g1} << 96 | Ipv6Int{g2} << 80 | Ipv6Int{g3} << 64 | g7;
}

inline constexpr uint16_t kMinFrame = 64;  // sizes count the 4-byte FCS
inline constexpr uint16_t kMaxFrame = 1518;
inline constexpr uint32_t kMaxFlows = 1000000;
inline constexpr uint16_t kMaxBurst = 64;
// Remote node k has the (2+k)th --subnet-len subnet of --pod-network and,
// when encapsulating, VTEP --vtep-base + k (see flows.h).
inline constexpr uint32_t kMaxDstSubnets = 1000000;

struct TrafficOptions {
  Mode mode = Mode::kTxOnly;
  uint16_t tx_port = 0;
  std::optional<uint16_t> rx_port;  // default: 0, or in loopback 1 when there are two ports
  // Frame sizes with FCS, sent in this order over and over (IMIX: 12 entries).
  std::vector<uint16_t> sizes{64};
  bool imix = false;
  Proto proto = Proto::kUdp;
  uint32_t flows = 1;
  uint32_t dst_subnets = 1;
  Encap encap = Encap::kNone;
  uint32_t vni = 1;
  uint32_t local_ip = 0xc0000213;      // 192.0.2.19, host order
  uint32_t local_subnet = 0x0af40100;  // 10.244.1.0, host order; a /8 to /24
  uint32_t pod_network = 0x0af40000;   // 10.244.0.0/16, host order: flannel's Network
  uint8_t pod_network_len = 16;
  uint8_t subnet_len = 24;          // flannel's SubnetLen: each node's podCIDR
  uint32_t vtep_base = 0xc0000214;  // 192.0.2.20: remote node 0's public IP
  Family family = Family::kIpv4;
  // The IPv6 side of the scheme (flannel's IPv6Network, IPv6SubnetLen),
  // used with --family ipv6.
  Ipv6Int local_ip6 = ipv6_int(0x2001, 0xdb8, 0, 0, 0x13);  // 2001:db8::13
  Ipv6Int local_subnet6 = ipv6_int(0xfd00, 0, 0, 1, 0);     // fd00:0:0:1::/64
  Ipv6Int pod_network6 = ipv6_int(0xfd00, 0, 0, 0, 0);      // fd00::/48
  uint8_t pod_network6_len = 48;
  uint8_t subnet_len6 = 64;
  Ipv6Int vtep_base6 = ipv6_int(0x2001, 0xdb8, 0, 0, 0x14);  // 2001:db8::14
  Mac vtep_mac{0x0e, 0, 0, 0, 0, 0x01};
  Mac dst_mac{0x02, 0, 0, 0, 0, 0x02};
  std::optional<Mac> src_mac;  // default: the tx port's MAC (plain), per node (encapsulated)
  double rate_pps = 0;         // 0: as fast as the port takes them
  double duration_s = 5;       // 0: until SIGINT/SIGTERM
  uint64_t packets = 0;        // 0: no limit
  uint16_t burst = 32;
  uint32_t mbufs = 8191;
  uint16_t descriptors = 1024;
  uint32_t verify_every = 64;  // full check of every Nth marked frame; 0: never
  uint32_t drain_ms = 100;
  std::string json_path;
  bool quiet = false;
  bool hold_ports = false;  // after the run, keep the ports open until stdin ends
  bool ndr = false;
  double trial_duration_s = 1;
  double search_precision = 0.01;
  double pdr_loss = 0.005;
};

struct ParseOutcome {
  enum class Action { kRun, kHelp, kError } action = Action::kRun;
  std::string error;  // "--flows: '0' is not in 1..1000000"
  TrafficOptions options;
};

ParseOutcome parse_options(const std::vector<std::string>& args);
// Whether a family's side of the addressing scheme (flows.h) holds
// o.dst_subnets remote nodes: "" or "--option: problem". parse_options
// checks the family of the traffic; tartan-nodeload's dual-stack nodes need
// both.
std::string check_scheme(const TrafficOptions& o, Family family);
// Whether `arg` ("--flows" or "--flows=8") is one of tartan-perf's options.
bool is_our_option(const std::string& arg);
void print_usage(FILE* out);

const char* mode_name(Mode m);
const char* proto_name(Proto p);
const char* encap_name(Encap e);
const char* family_name(Family f);
// "64" or "imix".
std::string size_name(const TrafficOptions& o);
bool has_generator(Mode m);
bool has_receiver(Mode m);

}  // namespace tartan::perf
