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

using Mac = std::array<uint8_t, 6>;

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
// Whether `arg` ("--flows" or "--flows=8") is one of tartan-perf's options.
bool is_our_option(const std::string& arg);
void print_usage(FILE* out);

const char* mode_name(Mode m);
const char* proto_name(Proto p);
const char* encap_name(Encap e);
// "64" or "imix".
std::string size_name(const TrafficOptions& o);
bool has_generator(Mode m);
bool has_receiver(Mode m);

}  // namespace tartan::perf
