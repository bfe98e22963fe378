// engine/wireguard against the real wireguard-go (Debian's wireguard-go
// and wireguard-tools; the kernel here has no WireGuard module): in network
// namespaces joined by a veth, wireguard-go configured with `wg set` as
// flanneld configures flannel-wg, and our library on a plain UDP socket.
// Handshakes both ways and ICMP echoes through the tunnel both ways.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/wireguard/handshake.h"
#include "engine/wireguard/transport.h"
#include "engine/wireguard/x25519.h"
#include "tests/support/files.h"
#include "tests/support/netns.h"
#include "tests/support/packets.h"
#include "tests/support/process.h"

namespace tartan::wireguard {
namespace {

using namespace std::chrono_literals;
using tartan::testing::CommandResult;
using tartan::testing::eventually;
using tartan::testing::InNetns;
using tartan::testing::Netns;
using tartan::testing::Process;
using tartan::testing::run_command;
using tartan::testing::ScopedTempDir;

constexpr uint16_t kPort = 51820;
constexpr const char* kOurAddress = "192.0.2.1";    // the node's public IP
constexpr const char* kTheirAddress = "192.0.2.2";  // wireguard-go's node
constexpr const char* kOurPod = "10.244.1.5";       // in our podCIDR 10.244.1.0/24
constexpr const char* kTheirTun = "10.244.2.0";     // flannel-wg's address: its lease's first IP

std::string base64(const Key& key) {
  unsigned char out[45];
  EVP_EncodeBlock(out, key.data(), key.size());
  return std::string(reinterpret_cast<char*>(out), 44);
}

uint32_t ipv4(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return ntohl(a.s_addr);
}

// An IPv4 ICMP echo packet (type 8 request, 0 reply).
std::vector<uint8_t> icmp_echo(const char* from, const char* to, uint8_t type, uint16_t id,
                               uint16_t seq, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> icmp(8 + data.size());
  icmp[0] = type;
  icmp[4] = static_cast<uint8_t>(id >> 8);
  icmp[5] = static_cast<uint8_t>(id);
  icmp[6] = static_cast<uint8_t>(seq >> 8);
  icmp[7] = static_cast<uint8_t>(seq);
  std::copy(data.begin(), data.end(), icmp.begin() + 8);
  const uint16_t sum = tartan::testing::internet_checksum(icmp.data(), icmp.size());
  icmp[2] = static_cast<uint8_t>(sum >> 8);
  icmp[3] = static_cast<uint8_t>(sum);
  tartan::testing::Ipv4Spec ip;
  ip.src_ip.value = ipv4(from);
  ip.dst_ip.value = ipv4(to);
  ip.protocol = 1;
  const std::vector<uint8_t> frame = tartan::testing::ipv4_frame(ip, icmp);
  return {frame.begin() + 14, frame.end()};  // the TUN carries IP, no Ethernet
}

uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

struct Echo {
  uint8_t type;
  uint32_t src, dst;
  uint16_t id, seq;
  std::vector<uint8_t> data;
};
std::optional<Echo> parse_echo(const std::vector<uint8_t>& ip) {
  if (ip.size() < 28 || ip[0] != 0x45 || ip[9] != 1) return std::nullopt;
  const size_t total = size_t{ip[2]} << 8 | ip[3];
  if (total > ip.size() || total < 28) return std::nullopt;
  return Echo{ip[20],
              load_be32(&ip[12]),
              load_be32(&ip[16]),
              uint16_t(ip[24] << 8 | ip[25]),
              uint16_t(ip[26] << 8 | ip[27]),
              std::vector<uint8_t>(ip.begin() + 28, ip.begin() + total)};
}

// wireguard-go in its own namespace, on the far end of a veth from `ours`.
class WireguardGoNode {
 public:
  WireguardGoNode(const Netns& ours, const Key& our_public, const Key& preshared, int keepalive)
      : ns_("wggo"),
        keys_("wggo"),
        // The UAPI socket, /var/run/wireguard/<name>.sock, is not per
        // namespace: the name is unique per test process.
        ifname_("twg" + std::to_string(getpid())),
        private_key_(generate_private_key(os_random)) {
    sh_ok(ours, "ip link add wgu0 type veth peer name wgg0 netns " + ns_.name() +
                    " && ip addr add " + kOurAddress + "/24 dev wgu0 && ip link set wgu0 up");
    sh_ok(ns_, std::string("ip addr add ") + kTheirAddress + "/24 dev wgg0 && ip link set wgg0 up");
    std::filesystem::remove(socket_path());
    go_.emplace(ns_.exec({"env", "LOG_LEVEL=verbose", "wireguard-go", "-f", ifname_}));
    EXPECT_TRUE(eventually([&] { return std::filesystem::exists(socket_path()); }, 10s))
        << go_->output();
    tartan::testing::write_file(keys_.path() + "/private", base64(private_key_) + "\n");
    tartan::testing::write_file(keys_.path() + "/psk", base64(preshared) + "\n");
    // flanneld's flannel-wg: our key, listen port, the peer with its public
    // IP as endpoint and its podCIDR as allowed IPs, PSK and keepalive as
    // configured; the device gets its lease's first address and a route to
    // the whole network, MTU underlay - 80.
    sh_ok(ns_, "wg set " + ifname_ + " listen-port " + std::to_string(kPort) + " private-key " +
                   keys_.path() + "/private peer " + base64(our_public) + " preshared-key " +
                   keys_.path() + "/psk endpoint " + kOurAddress + ":" + std::to_string(kPort) +
                   " allowed-ips 10.244.1.0/24 persistent-keepalive " + std::to_string(keepalive));
    sh_ok(ns_, "ip link set " + ifname_ + " mtu 1420 && ip addr add " + kTheirTun + "/32 dev " +
                   ifname_ + " && ip link set " + ifname_ +
                   " up && ip route add 10.244.0.0/16 dev " + ifname_ + " scope link");
  }

  ~WireguardGoNode() {
    // SIGTERM: wireguard-go removes its UAPI socket and TUN itself; the
    // socket is removed here too in case it could not.
    if (go_ && go_->running()) {
      go_->signal(SIGTERM);
      go_->wait(5s);
    }
    std::filesystem::remove(socket_path());
  }

  const Netns& ns() const { return ns_; }
  Key public_key() const { return *public_key_of(private_key_); }
  std::string log() const { return go_ ? go_->output() : ""; }
  std::string wg_show() const { return run_command(ns_.exec({"wg", "show", ifname_})).output; }

 private:
  std::string socket_path() const { return "/var/run/wireguard/" + ifname_ + ".sock"; }
  static void sh_ok(const Netns& ns, const std::string& script) {
    const CommandResult r = run_command(ns.exec({"sh", "-c", script}));
    ASSERT_EQ(r.exit_code, 0) << script << "\n" << r.output;
  }

  Netns ns_;
  ScopedTempDir keys_;
  std::string ifname_;
  Key private_key_;
  std::optional<Process> go_;
};

// Our end: the library driven over a UDP socket, as the slow path and a
// worker will drive it. Answers initiations, completes its own, opens
// transport packets and answers echo requests through the tunnel.
class LibraryEnd {
 public:
  LibraryEnd(const Netns& ns)
      : identity_(*LocalIdentity::from_private_key(generate_private_key(os_random))),
        checker_(identity_),
        aead_(*ChaChaPoly::create()) {
    os_random(preshared_);
    InNetns in(ns);
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    // Any address: the veth and its address come with the wireguard-go node.
    sockaddr_in addr{AF_INET, htons(kPort), {htonl(INADDR_ANY)}, {}};
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~LibraryEnd() { close(fd_); }

  void set_peer(const Key& their_public) {
    peer_ = *Peer::create(identity_, their_public, preshared_);
  }
  const Key& public_key() const { return identity_.public_key; }
  const Key& preshared_key() const { return preshared_; }

  void initiate() {
    auto initiation =
        create_initiation(identity_, *peer_, kOurIndex, tai64n(wall()), now(), os_random);
    ASSERT_TRUE(initiation.ok()) << reject_name(initiation.reason());
    send(as_bytes(*initiation));
  }

  void send_through_tunnel(const std::vector<uint8_t>& ip) {
    ASSERT_TRUE(keypair_);
    std::vector<uint8_t> buffer(kTransportHeaderLen + ip.size() + kPaddingMultiple + kTagLen);
    std::copy(ip.begin(), ip.end(), buffer.begin() + kTransportHeaderLen);
    auto sealed = seal_transport(aead_, keypair_->sending, buffer.data() + kTransportHeaderLen,
                                 ip.size(), kTransportHeaderLen, kPaddingMultiple + kTagLen, 1420);
    ASSERT_TRUE(sealed.ok()) << reject_name(sealed.reason());
    send(Bytes(sealed->data, sealed->len));
  }

  // Handles what arrives within `timeout`, until `done` holds.
  template <class Done>
  bool pump_until(Done done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      std::vector<uint8_t> packet(2048);
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = recvfrom(fd_, packet.data(), packet.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n <= 0) continue;
      packet.resize(static_cast<size_t>(n));
      from_ = from;
      handle(packet);
    }
    return true;
  }

  const std::optional<Keypair>& keypair() const { return keypair_; }
  const std::vector<std::vector<uint8_t>>& received() const { return received_; }
  int keepalives() const { return keepalives_; }
  int echo_requests_answered() const { return echo_requests_answered_; }
  const std::vector<std::string>& rejects() const { return rejects_; }

 private:
  static constexpr uint32_t kOurIndex = 0x0badcafe;

  static std::chrono::nanoseconds now() {
    return std::chrono::steady_clock::now().time_since_epoch();
  }
  static std::chrono::system_clock::time_point wall() { return std::chrono::system_clock::now(); }

  void send(Bytes message) {
    sockaddr_in to{AF_INET, htons(kPort), {htonl(ipv4(kTheirAddress))}, {}};
    ASSERT_EQ(
        sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(message.size()));
  }

  void reject(Reject why) { rejects_.emplace_back(reject_name(why)); }

  void handle(std::vector<uint8_t>& packet) {
    // The cookie key: the sender's address and port bytes, network order.
    std::vector<uint8_t> source(6);
    std::memcpy(source.data(), &from_.sin_addr, 4);
    std::memcpy(source.data() + 4, &from_.sin_port, 2);
    const Arrival arrival{packet, source, false, now()};
    switch (static_cast<MessageType>(message_type(packet))) {
      case MessageType::kInitiation: {
        auto consumed = consume_initiation(identity_, checker_, arrival, [&](const Key& k) {
          return k == peer_->public_key ? &*peer_ : nullptr;
        });
        if (!consumed.ok()) return reject(consumed.reason());
        auto response = create_response(*peer_, kOurIndex, now(), os_random);
        if (!response.ok()) return reject(response.reason());
        keypair_ = response->keypair;
        send(as_bytes(response->message));
        return;
      }
      case MessageType::kResponse: {
        auto consumed = consume_response(identity_, checker_, arrival, [&](uint32_t index) {
          return index == kOurIndex ? &*peer_ : nullptr;
        });
        if (!consumed.ok()) return reject(consumed.reason());
        keypair_ = consumed->keypair;
        return;
      }
      case MessageType::kTransport: {
        if (!keypair_ || transport_receiver(packet) != keypair_->local_index)
          return reject(Reject::kUnknownReceiver);
        auto opened = open_transport(aead_, keypair_->receiving, packet.data(), packet.size());
        if (!opened.ok()) return reject(opened.reason());
        if (opened->len == 0) {
          ++keepalives_;
          return;
        }
        received_.emplace_back(opened->data, opened->data + opened->len);
        answer_echo_request(received_.back());
        return;
      }
      default:
        return reject(Reject::kWrongType);
    }
  }

  void answer_echo_request(const std::vector<uint8_t>& ip) {
    const std::optional<Echo> echo = parse_echo(ip);
    if (!echo || echo->type != 8 || echo->dst != ipv4(kOurPod)) return;
    in_addr src{htonl(echo->src)};
    send_through_tunnel(icmp_echo(kOurPod, inet_ntoa(src), 0, echo->id, echo->seq, echo->data));
    ++echo_requests_answered_;
  }

  LocalIdentity identity_;
  CookieChecker checker_;
  ChaChaPoly aead_;
  Key preshared_{};
  std::optional<Peer> peer_;
  std::optional<Keypair> keypair_;
  int fd_ = -1;
  sockaddr_in from_{};
  std::vector<std::vector<uint8_t>> received_;
  std::vector<std::string> rejects_;
  int keepalives_ = 0;
  int echo_requests_answered_ = 0;
};

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += w + " ";
  return out;
}

// flannel's default PersistentKeepaliveInterval is 0: wireguard-go stays
// silent until we initiate.
TEST(WireguardGoInterop, OurHandshakeIsAnsweredAndItsTunEchoesOurPing) {
  Netns ours("wgus");
  LibraryEnd end(ours);
  WireguardGoNode go(ours, end.public_key(), end.preshared_key(), 0);
  end.set_peer(go.public_key());

  end.initiate();
  ASSERT_TRUE(end.pump_until([&] { return end.keypair().has_value(); }, 10s))
      << joined(end.rejects()) << "\n"
      << go.log();
  EXPECT_TRUE(end.keypair()->initiator);

  const std::vector<uint8_t> data = {'t', 'a', 'r', 't', 'a', 'n', 0, 1, 2, 3, 4, 5, 6, 7};
  end.send_through_tunnel(icmp_echo(kOurPod, kTheirTun, 8, 0x7a7a, 1, data));
  std::optional<Echo> reply;
  ASSERT_TRUE(end.pump_until(
      [&] {
        for (const auto& ip : end.received())
          if (auto e = parse_echo(ip); e && e->type == 0) reply = e;
        return reply.has_value();
      },
      10s))
      << joined(end.rejects()) << "\n"
      << go.wg_show() << "\n"
      << go.log();
  EXPECT_EQ(reply->src, ipv4(kTheirTun));
  EXPECT_EQ(reply->dst, ipv4(kOurPod));
  EXPECT_EQ(reply->id, 0x7a7a);
  EXPECT_EQ(reply->seq, 1);
  EXPECT_EQ(reply->data, data);
  EXPECT_TRUE(end.rejects().empty()) << joined(end.rejects());
}

// With a persistent keepalive (as flanneld passes it when configured),
// wireguard-go initiates; a ping from its namespace into our podCIDR goes
// through the handshake we answer, and our echo replies come back to it.
TEST(WireguardGoInterop, ItsHandshakeIsAnsweredAndItsPingIntoOurPodCidrIsEchoed) {
  Netns ours("wgus");
  LibraryEnd end(ours);
  WireguardGoNode go(ours, end.public_key(), end.preshared_key(), 25);
  end.set_peer(go.public_key());

  Process ping(go.ns().exec({"ping", "-c", "3", "-i", "0.2", "-W", "5", kOurPod}));
  ASSERT_TRUE(end.pump_until([&] { return end.echo_requests_answered() >= 3; }, 15s))
      << joined(end.rejects()) << "\n"
      << go.wg_show() << "\n"
      << go.log();
  ASSERT_TRUE(end.keypair());
  EXPECT_FALSE(end.keypair()->initiator);
  EXPECT_EQ(ping.wait(10s), 0) << ping.output();
  // A persistent keepalive makes wireguard-go send one as the interface
  // comes up, after the handshake it starts for it: an empty transport
  // message, opened and counted.
  EXPECT_TRUE(end.pump_until([&] { return end.keepalives() > 0; }, 10s));
  EXPECT_TRUE(end.rejects().empty()) << joined(end.rejects());
}

}  // namespace
}  // namespace tartan::wireguard
