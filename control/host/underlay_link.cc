#include "control/host/underlay_link.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/eal.h"
#include "engine/log.h"

namespace tartan {
namespace {

// Receive aggregation, by ethtool's names for it ("ethtool -k" shows them
// as generic-receive-offload, large-receive-offload, rx-gro-hw,
// rx-gro-list, rx-udp-gro-forwarding).
constexpr const char* kAggregation[] = {"rx-gro", "rx-lro", "rx-gro-hw", "rx-gro-list",
                                        "rx-udp-gro-forwarding"};

std::string os_error(int err) {
  return std::strerror(err);
}

// The interface's ethtool feature bits through SIOCETHTOOL, as ethtool(8)
// sets them (no Debian library wraps this; libnl has no ethtool family).
class Ethtool {
 public:
  explicit Ethtool(const std::string& ifname) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    std::strncpy(ifr_.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  }
  ~Ethtool() {
    if (fd_ >= 0) close(fd_);
  }
  Ethtool(const Ethtool&) = delete;
  Ethtool& operator=(const Ethtool&) = delete;

  // Reads the driver's name and the feature names; errno on failure.
  int load() {
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    if (int err = call(&info); err != 0) return err;
    driver_ = info.driver;
    // The set's size follows the header, in its data[].
    std::vector<uint8_t> info_buf(sizeof(ethtool_sset_info) + sizeof(uint32_t));
    auto* sset = reinterpret_cast<ethtool_sset_info*>(info_buf.data());
    sset->cmd = ETHTOOL_GSSET_INFO;
    sset->sset_mask = 1ULL << ETH_SS_FEATURES;
    if (int err = call(sset); err != 0) return err;
    const uint32_t count = sset->data[0];
    std::vector<uint8_t> buf(sizeof(ethtool_gstrings) + size_t{count} * ETH_GSTRING_LEN);
    auto* strings = reinterpret_cast<ethtool_gstrings*>(buf.data());
    strings->cmd = ETHTOOL_GSTRINGS;
    strings->string_set = ETH_SS_FEATURES;
    strings->len = count;
    if (int err = call(strings); err != 0) return err;
    for (uint32_t i = 0; i < count; ++i) {
      const char* s = reinterpret_cast<const char*>(strings->data) + size_t{i} * ETH_GSTRING_LEN;
      names_.emplace_back(s, strnlen(s, ETH_GSTRING_LEN));
    }
    return 0;
  }

  const std::string& driver() const { return driver_; }

  // Whether `name` is on and may be changed (not fixed by the driver).
  struct State {
    bool active = false;
    bool changeable = false;
  };
  State state(const std::string& name) {
    const int bit = index_of(name);
    if (bit < 0) return {};
    std::vector<uint8_t> buf = feature_blocks(ETHTOOL_GFEATURES);
    auto* g = reinterpret_cast<ethtool_gfeatures*>(buf.data());
    if (call(g) != 0) return {};
    const ethtool_get_features_block& b = g->features[bit / 32];
    const uint32_t mask = 1u << (bit % 32);
    return {(b.active & mask) != 0, (b.available & mask) != 0 && (b.never_changed & mask) == 0};
  }

  // Asks for `name` on or off; errno on failure.
  int set(const std::string& name, bool on) {
    const int bit = index_of(name);
    if (bit < 0) return ENOENT;
    std::vector<uint8_t> buf = feature_blocks(ETHTOOL_SFEATURES);
    auto* s = reinterpret_cast<ethtool_sfeatures*>(buf.data());
    s->features[bit / 32].valid = 1u << (bit % 32);
    s->features[bit / 32].requested = on ? 1u << (bit % 32) : 0;
    return call(s);
  }

 private:
  int call(void* data) {
    ifr_.ifr_data = static_cast<char*>(data);
    return ioctl(fd_, SIOCETHTOOL, &ifr_) < 0 ? errno : 0;
  }
  int index_of(const std::string& name) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  // An ethtool_gfeatures or ethtool_sfeatures with a block per 32 features
  // (the two have the same header).
  std::vector<uint8_t> feature_blocks(uint32_t cmd) const {
    const uint32_t blocks = static_cast<uint32_t>((names_.size() + 31) / 32);
    std::vector<uint8_t> buf(sizeof(ethtool_gfeatures) +
                             blocks * sizeof(ethtool_get_features_block));
    auto* g = reinterpret_cast<ethtool_gfeatures*>(buf.data());
    g->cmd = cmd;
    g->size = blocks;
    return buf;
  }

  int fd_;
  ifreq ifr_{};
  std::string driver_;
  std::vector<std::string> names_;
};

}  // namespace

std::string UnderlayLink::af_packet_interface(const std::string& device) {
  const bool af_packet =
      device.rfind("net_af_packet", 0) == 0 || device.rfind("eth_af_packet", 0) == 0;
  return af_packet ? device_iface(device) : "";
}

Result<std::unique_ptr<UnderlayLink>> UnderlayLink::prepare(const PortConfig& underlay) {
  const std::string ifname = af_packet_interface(underlay.device);
  if (ifname.empty()) return std::unique_ptr<UnderlayLink>();
  std::unique_ptr<UnderlayLink> link(new UnderlayLink());
  link->ifname_ = ifname;
  link->ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (link->ifindex_ == 0) {
    return Status(ErrorCode::kNotFound,
                  "ports.underlay: af_packet interface '" + ifname + "': " + os_error(errno));
  }
  if (Status s = link->turn_off_receive_aggregation(); !s.ok()) return s;
  return link;
}

Status UnderlayLink::turn_off_receive_aggregation() {
  Ethtool ethtool(ifname_);
  if (int err = ethtool.load(); err != 0) {
    return Status(ErrorCode::kFailedPrecondition, "ports.underlay: cannot read the features of '" +
                                                      ifname_ + "': " + os_error(err));
  }
  if (ethtool.driver() == "veth") {
    if (Status s = attach_xdp_pass(); !s.ok()) return s;
  }
  std::string off;
  for (const char* feature : kAggregation) {
    const Ethtool::State was = ethtool.state(feature);
    if (!was.active || !was.changeable) continue;
    ethtool.set(feature, false);
    // A veth keeps GRO on while an XDP program runs; without a UDP tunnel
    // socket on the port it aggregates no VXLAN.
    if (ethtool.state(feature).active) continue;
    turned_off_.emplace_back(feature);
    off += (off.empty() ? "" : ", ") + std::string(feature);
  }
  if (!off.empty()) {
    TARTAN_LOG(NOTICE, kControl,
               "underlay %s (af_packet): turned off %s, so frames reach tartan at most "
               "MTU-sized; turned on again when tartand stops",
               ifname_.c_str(), off.c_str());
  }
  return {};
}

Status UnderlayLink::attach_xdp_pass() {
  // r0 = XDP_PASS; exit.
  const bpf_insn program[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "tartan_pass", "GPL", program,
                               sizeof program / sizeof program[0], nullptr);
  if (fd < 0) {
    return Status(
        ErrorCode::kFailedPrecondition,
        "ports.underlay: cannot load an XDP program for veth '" + ifname_ + "': " + os_error(-fd));
  }
  const int rc =
      bpf_xdp_attach(ifindex_, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
  if (rc == -EBUSY || rc == -EEXIST) {
    // Any XDP program there already makes the peer segment.
    close(fd);
    TARTAN_LOG(NOTICE, kControl, "underlay %s (veth): an XDP program is attached already",
               ifname_.c_str());
    return {};
  }
  if (rc < 0) {
    close(fd);
    return Status(
        ErrorCode::kFailedPrecondition,
        "ports.underlay: cannot attach an XDP program to veth '" + ifname_ + "': " + os_error(-rc));
  }
  xdp_fd_ = fd;
  TARTAN_LOG(NOTICE, kControl,
             "underlay %s (veth): XDP program attached that passes every frame, so the veth's "
             "peer segments what it sends; it is detached when tartand stops",
             ifname_.c_str());
  return {};
}

UnderlayLink::~UnderlayLink() {
  if (xdp_fd_ >= 0) {
    // Only if it is still ours.
    bpf_xdp_attach_opts opts{};
    opts.sz = sizeof opts;
    opts.old_prog_fd = xdp_fd_;
    bpf_xdp_detach(ifindex_, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, &opts);
    close(xdp_fd_);
  }
  if (turned_off_.empty()) return;
  Ethtool ethtool(ifname_);
  if (ethtool.load() != 0) return;  // the interface is gone
  for (const std::string& feature : turned_off_) ethtool.set(feature, true);
}

}  // namespace tartan
