// A running tartand with the wireguard backend (beside a wireguard-go
// peer) under hostile input from a host on the underlay: a flood of
// handshake initiations with a valid mac1 (made for tartand's key) from
// ever new sender indexes and ports, replays of a real transport message,
// bit-flipped ciphertext, unknown receiver indexes, truncated and unknown
// messages. Each kind is dropped under its own reason, the flood is
// answered with cookie replies (the handshake side under load), tartand's
// memory and packet buffers come back to where they were, and the peer
// still completes a new handshake afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "control/config/wireguard_key.h"
#include "engine/wireguard/cookie.h"
#include "engine/wireguard/messages.h"
#include "tests/e2e/cluster.h"
#include "tests/support/files.h"
#include "tests/support/packets.h"

namespace tartan::testing {
namespace {

using namespace std::chrono_literals;
namespace wg = wireguard;

// A file descriptor closed when it goes.
struct Fd {
  explicit Fd(int f) : fd(f) {
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  ~Fd() { ::close(fd); }
  int fd;
};

// The UDP payload of the first transport data message (not a keepalive)
// `ns`'s eth0 sends to `to`:51820 while `traffic` runs.
Bytes capture_transport(const Netns& ns, Ipv4Addr to, Process& traffic) {
  InNetns in(ns);
  Fd s(::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
  sockaddr_ll at{};
  at.sll_family = AF_PACKET;
  at.sll_protocol = htons(ETH_P_ALL);
  at.sll_ifindex = static_cast<int>(if_nametoindex("eth0"));
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0)
    throw std::runtime_error("bind eth0");
  timeval timeout{1, 0};
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::array<uint8_t, 2048> frame;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline && traffic.running()) {
    const ssize_t n = ::recv(s.fd, frame.data(), frame.size(), 0);
    if (n < 42 + static_cast<ssize_t>(wg::kTransportMinLen) + 16) continue;
    uint32_t dst;
    std::memcpy(&dst, &frame[30], 4);
    if (frame[12] != 0x08 || frame[13] != 0 || frame[23] != 17 || Ipv4Addr::from_be(dst) != to ||
        (frame[36] << 8 | frame[37]) != 51820 || frame[42] != 4)
      continue;
    return Bytes(frame.begin() + 42, frame.begin() + n);
  }
  return {};
}

// A UDP socket in `ns` (the thread enters it only to make the socket).
int udp_socket_in(const Netns& ns) {
  InNetns in(ns);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error("udp socket");
  return fd;
}

// Sends each of `messages` to `to`:51820 from `socket`, paced so that the
// af_packet rings between the hosts do not overflow.
void send_all(int socket, Ipv4Addr to, const std::vector<Bytes>& messages) {
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(51820);
  dst.sin_addr.s_addr = to.be();
  for (size_t i = 0; i < messages.size(); ++i) {
    while (::sendto(socket, messages[i].data(), messages[i].size(), 0,
                    reinterpret_cast<const sockaddr*>(&dst), sizeof dst) < 0 &&
           errno == EAGAIN)
      std::this_thread::sleep_for(1ms);
    if (i % 32 == 31) std::this_thread::sleep_for(1ms);
  }
}

// Cookie replies (type 3, 64 bytes) waiting on `socket`.
size_t cookie_replies_on(int socket) {
  size_t n = 0;
  std::array<uint8_t, 256> buf;
  ssize_t got;
  while ((got = ::recv(socket, buf.data(), buf.size(), 0)) >= 0) {
    if (got == static_cast<ssize_t>(sizeof(wg::CookieReply)) && buf[0] == 3) ++n;
  }
  return n;
}

uint64_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// tartand's packet buffers in use (its /tartan/mbufs telemetry).
int64_t mbufs_in_use(Cluster& c, ClusterNode& n) {
  std::smatch m;
  const std::string banner = n.tartand->output();
  if (!std::regex_search(banner, m, std::regex(R"(dpdk-telemetry\.py -f ([A-Za-z0-9_-]+))")))
    return -1;
  const CommandResult tel =
      c.sh(*n.ns, "echo /tartan/mbufs | dpdk-telemetry.py -f '" + m[1].str() + "' 2>/dev/null");
  std::smatch v;
  if (!std::regex_search(tel.output, v, std::regex(R"("in_use": (\d+))"))) return -1;
  return std::stoll(v[1]);
}

wg::Key public_key_of_node(Cluster& c, ClusterNode& n) {
  const auto annotations = nlohmann::json::parse(c.manifest(n)).at("metadata").at("annotations");
  const auto data = nlohmann::json::parse(
      annotations.at("flannel.alpha.coreos.com/backend-data").get<std::string>());
  const auto key = parse_wireguard_key(data.at("PublicKey").get<std::string>());
  if (!key) throw std::runtime_error(key.status().message());
  return *key;
}

class WireguardHostileInput : public WireguardGoAndTartanCluster {
 protected:
  WireguardHostileInput() : WireguardGoAndTartanCluster("wh") {}
};

TEST_F(WireguardHostileInput, EachKindIsDroppedUnderItsReasonNothingLeaksAndAPeerStillHandshakes) {
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  Process traffic(go->pod->exec({"ping", "-c", "30", "-i", "0.2", tartan->pod_ip.str()}));
  const Bytes transport = capture_transport(*go->ns, tartan->public_ip, traffic);
  ASSERT_FALSE(transport.empty()) << "no transport message from wireguard-go to tartand";
  ASSERT_TRUE(traffic.wait(30s).has_value());
  ASSERT_TRUE(all_replied(ping(c, *go, *tartan)));

  const uint64_t rss_before = rss_kib(tartan->tartand->pid());
  const int64_t mbufs_before = mbufs_in_use(c, *tartan);
  ASSERT_GE(mbufs_before, 0) << "no /tartan/mbufs telemetry";
  const std::vector<std::string> reasons = {"wg_replayed", "wg_bad_mac", "wg_unknown_index",
                                            "wg_truncated", "wg_bad_type"};
  std::map<std::string, uint64_t> before;
  for (const std::string& r : reasons) before[r] = drop_count(c, *tartan, r);

  // The flood: initiations only tartand's key makes mac1 for, from a
  // stranger's ever new ports and sender indexes, with no mac2.
  const wg::Key tartan_key = public_key_of_node(c, *tartan);
  wg::Peer flooder{};
  flooder.mac1_key = wg::mac1_key_for(tartan_key);
  constexpr size_t kSockets = 16, kPerSocket = 2000;
  std::vector<std::unique_ptr<Fd>> sockets;
  for (size_t s = 0; s < kSockets; ++s)
    sockets.push_back(std::make_unique<Fd>(udp_socket_in(c.stranger())));
  uint32_t sender = 1;
  for (const auto& s : sockets) {
    std::vector<Bytes> flood;
    for (size_t i = 0; i < kPerSocket; ++i) {
      wg::Initiation m{};
      wg::set_type(m.type, wg::MessageType::kInitiation);
      wg::store_le32(m.sender.data(), sender++);
      wg::stamp_macs(flooder, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&m), sizeof m),
                     wg::kMac1Offset<wg::Initiation>, std::chrono::nanoseconds(0));
      const wg::Bytes b = wg::as_bytes(m);
      flood.emplace_back(b.begin(), b.end());
    }
    send_all(s->fd, tartan->public_ip, flood);
  }

  // Then each kind of bad transport message, kEach times.
  constexpr size_t kEach = 500;
  std::map<std::string, std::vector<Bytes>> bad;
  for (size_t i = 0; i < kEach; ++i) {
    bad["wg_replayed"].push_back(transport);
    Bytes flipped = transport;
    flipped[wg::kTransportHeaderLen + i % (transport.size() - wg::kTransportHeaderLen)] ^=
        static_cast<uint8_t>(1u << (i % 8));
    bad["wg_bad_mac"].push_back(flipped);
    Bytes unknown = transport;
    wg::store_le32(unknown.data() + 4, wg::load_le32(transport.data() + 4) ^ (0x5a5a0000u + i));
    bad["wg_unknown_index"].push_back(unknown);
    bad["wg_truncated"].push_back(Bytes(transport.begin(), transport.begin() + 4 + i % 28));
    Bytes unknown_type = transport;
    unknown_type[0] = static_cast<uint8_t>(5 + i % 200);
    bad["wg_bad_type"].push_back(unknown_type);
  }
  const Fd hostile(udp_socket_in(c.stranger()));
  for (const std::string& r : reasons) send_all(hostile.fd, tartan->public_ip, bad[r]);
  for (const std::string& r : reasons) {
    EXPECT_TRUE(eventually([&] { return drop_count(c, *tartan, r) - before[r] == kEach; }, 20s))
        << r << ": " << drop_count(c, *tartan, r) - before[r] << " of " << kEach;
  }

  // The handshake side was under load: strangers got cookie replies.
  size_t cookies = 0;
  eventually(
      [&] {
        for (const auto& s : sockets) cookies += cookie_replies_on(s->fd);
        return cookies > 0;
      },
      10s);
  EXPECT_GT(cookies, 0u) << "no cookie reply to the flood";

  // Nothing kept: every packet buffer back, memory within a generous bound.
  EXPECT_TRUE(eventually([&] { return mbufs_in_use(c, *tartan) <= mbufs_before; }, 20s))
      << mbufs_in_use(c, *tartan) << " mbufs in use, " << mbufs_before << " before";
  const uint64_t rss_after = rss_kib(tartan->tartand->pid());
  EXPECT_LT(rss_after, rss_before + 64 * 1024)
      << "tartand's RSS grew from " << rss_before << " to " << rss_after << " KiB";

  // Load passes; wireguard-go, made to forget its session, handshakes anew.
  std::this_thread::sleep_for(2s);
  const std::string key = wireguard_key_text(tartan_key);
  ASSERT_EQ(c.sh(*go->ns, "wg set " + go->wg_device + " peer " + key + " remove").exit_code, 0);
  c.learn(*go, *tartan);
  EXPECT_TRUE(path_up(c, *go, *tartan)) << c.sh(*go->ns, "wg show").output;
}

}  // namespace
}  // namespace tartan::testing
