// Arbitrary bytes as the UDP payload to our wireguard ListenPort, from
// node 2 (a peer with a keypair) or from a stranger (wireguard_setup.h),
// through the worker's wireguard ingress and then the control side's
// handshake (WireguardPeers, its clock a millisecond further each input).
// After each input, besides the harness's books (which cover the
// handshake side's own frames too):
//   - only node 2's traffic reaches the overlay, from node 2's podCIDR;
//   - the underlay gets ARP, or wireguard messages of the right size for
//     their type from our ListenPort: a cookie reply only to where the
//     input came from, anything else only to node 2's ListenPort or to an
//     address an input came from (an authenticated handshake from a new
//     address roams node 2's endpoint there, as WireGuard does); never to
//     an address that sent nothing.
#include <memory>
#include <set>
#include <utility>

#include "control/wireguard/wireguard_peers.h"
#include "engine/wireguard/messages.h"
#include "engine/wireguard/x25519.h"
#include "tests/fuzz/frame_checks.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/packet_harness.h"
#include "tests/fuzz/wireguard_setup.h"

namespace tartan::fuzz {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;
namespace setup = wireguard_setup;

struct Target {
  Target()
      : h({.backend = BackendType::kWireguard, .arp_retry_ms = 1000}, {2, 3}, {2, 3}),
        keypair_index(h.fixture().add_wireguard_keypair(2, setup::kPeerReceives, setup::kPeerSends,
                                                        setup::kPeerIndex)) {
    auto created = WireguardPeers::create(h.fixture().engine(), {setup::kOurPrivateKey, {}, 0s});
    FUZZ_CHECK(created.ok(), "WireguardPeers: " + created.status().message());
    peers = std::move(created).value();
    const auto peer_public = wireguard::public_key_of(setup::kPeerPrivateKey);
    FUZZ_CHECK(peer_public.has_value(), "node 2's public key");
    peers->set_peers({{EngineFixture::node(2).public_ip, *peer_public}}, now);
  }

  PacketHarness h;
  uint32_t keypair_index;
  std::set<std::pair<Ipv4Addr, uint16_t>> senders;  // every input's source address and port
  std::unique_ptr<WireguardPeers> peers;
  std::chrono::nanoseconds now{1h};
};

Target& target() {
  static Target t;
  return t;
}

size_t message_size(uint32_t type) {
  switch (static_cast<wireguard::MessageType>(type)) {
    case wireguard::MessageType::kInitiation:
      return sizeof(wireguard::Initiation);
    case wireguard::MessageType::kResponse:
      return sizeof(wireguard::Response);
    case wireguard::MessageType::kCookieReply:
      return sizeof(wireguard::CookieReply);
    default:
      return 0;
  }
}

void check_underlay(Target& t, const Bytes& in, const Bytes& f) {
  const auto self = t.h.fixture().self();
  if (is_arp(f)) {
    FUZZ_CHECK(f.size() == 42 && ip_at(f, 28) == self.public_ip,
               "ARP on the underlay speaks for " + ip_at(f, 28).str());
    return;
  }
  FUZZ_CHECK(is_ipv4(f) && f.size() >= 46 && f[23] == 17 && ipv4_problem(f, 14).empty() &&
                 udp_problem(f, 14, 34).empty(),
             "the underlay got a frame that is neither ARP nor good IPv4/UDP");
  FUZZ_CHECK(ip_at(f, 26) == self.public_ip && be16(f, 34) == testing::kWireguardPort,
             "a frame on the underlay not from our ListenPort");
  const Bytes message(f.begin() + 42, f.end());
  const uint32_t type = wireguard::message_type(message);
  if (type == static_cast<uint32_t>(wireguard::MessageType::kTransport)) {
    FUZZ_CHECK(message.size() >= wireguard::kTransportMinLen, "a short transport message");
  } else {
    FUZZ_CHECK(message_size(type) != 0 && message.size() == message_size(type),
               "a wireguard message of type " + std::to_string(type) + " and " +
                   std::to_string(message.size()) + " bytes");
  }
  const bool to_sender = ip_at(f, 30) == ip_at(in, 26) && be16(f, 36) == be16(in, 34);
  const bool to_node2 =
      ip_at(f, 30) == EngineFixture::node(2).public_ip && be16(f, 36) == testing::kWireguardPort;
  if (type == static_cast<uint32_t>(wireguard::MessageType::kCookieReply)) {
    FUZZ_CHECK(to_sender, "a cookie reply to " + ip_at(f, 30).str() + ", not the input's sender");
  } else {
    FUZZ_CHECK(to_node2 || t.senders.contains({ip_at(f, 30), be16(f, 36)}),
               "a wireguard message to " + ip_at(f, 30).str() +
                   ", which is no peer and sent "
                   "nothing");
  }
}

}  // namespace
}  // namespace tartan::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tartan::fuzz::init_eal();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tartan::fuzz;
  const auto input = packet_input(data, size);
  if (!input) return -1;
  Target& t = target();
  EngineFixture& fx = t.h.fixture();
  const Bytes frame = wireguard_setup::frame_of(fx, input->selector, input->frame, t.keypair_index);
  t.senders.insert({ip_at(frame, 26), be16(frame, 34)});
  Outputs out = t.h.run(InPort::kUnderlay, frame);
  // The handshake side takes what the workers handed over; what it sends
  // leaves on the next worker pass.
  const uint64_t received = fx.engine().accounting().received;
  t.now += 1ms;
  t.peers->tick(t.now, std::chrono::system_clock::now());
  fx.poll();
  for (Bytes& f : fx.take_underlay()) out.underlay.push_back(std::move(f));
  for (const Bytes& f : fx.take_overlay()) out.overlay.push_back(f);
  t.h.check_books(received, 0);

  const bool stranger = (input->selector & wireguard_setup::kFromStranger) != 0;
  for (const Bytes& f : out.overlay) {
    FUZZ_CHECK(!stranger, "a stranger's wireguard payload reached the overlay");
    FUZZ_CHECK(tartan::testing::EngineFixture::node(2).subnet.contains(ip_at(f, 26)),
               "node 2's packet from " + ip_at(f, 26).str() + ", outside its podCIDR");
  }
  for (const Bytes& f : out.underlay) check_underlay(t, frame, f);
  FUZZ_CHECK(out.exception.empty(), "the exception port got a frame (it has none)");
  return 0;
}
