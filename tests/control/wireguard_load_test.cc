// The wireguard handshake side under load (whitepaper 5.3): a flood of
// initiations deep enough in the engine's handshake queue turns on
// cookies. Every initiation without a valid mac2 then gets a cookie reply
// instead of a DH, one that a real initiator (engine/wireguard) takes;
// its retried initiation, carrying mac2, is answered during the flood; a
// sender's handshakes over its rate are refused. Time is stepped.
#include <gtest/gtest.h>

#include <cstring>

#include "control/wireguard/wireguard_peers.h"
#include "engine/wireguard/constants.h"
#include "engine/wireguard/x25519.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/wireguard_frames.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using testing::Bytes;
using testing::EngineFixture;
namespace wg = wireguard;

wg::Key new_private_key() {
  return wg::generate_private_key(wg::os_random);
}

std::unique_ptr<WireguardPeers> make_peers(Engine& engine) {
  auto p = WireguardPeers::create(engine, {new_private_key(), {}, 0s});
  if (!p) throw std::runtime_error(p.status().message());
  return std::move(p).value();
}

// An identity whose public key is below `other`: the node with `other`
// then waits REKEY_TIMEOUT for it to initiate, and initiates nothing itself
// within a test.
wg::LocalIdentity identity_below(const wg::Key& other) {
  for (;;) {
    auto id = wg::LocalIdentity::from_private_key(new_private_key());
    if (id && id->public_key < other) return *id;
  }
}

// Deeper than the queue depth at which the handshake side is under load.
constexpr size_t kFlood = Engine::kMaxWireguardMessages / 4;

// Node 2 of the fixture as a bare initiator (engine/wireguard, no
// engine of its own), and the node under test (1) that knows it as a peer.
class WireguardUnderLoad : public ::testing::Test {
 protected:
  WireguardUnderLoad()
      : responder_(make_peers(fx_.engine())),
        initiator_(identity_below(responder_->public_key())),
        peer_(*wg::Peer::create(initiator_, responder_->public_key(), {})) {
    fx_.add_node(2);
    responder_->set_peers({{EngineFixture::node(2).public_ip, initiator_.public_key}}, now_);
  }

  // A fresh initiation from node 2, at receiver index `index`.
  Bytes initiation(uint32_t index) {
    wall_ += 1s;
    auto made =
        wg::create_initiation(initiator_, peer_, index, wg::tai64n(wall_), now_, wg::os_random);
    if (!made) throw std::runtime_error("create_initiation failed");
    const Bytes b(reinterpret_cast<const uint8_t*>(&*made),
                  reinterpret_cast<const uint8_t*>(&*made) + sizeof *made);
    return b;
  }

  // `count` initiations with a valid mac1 (made for our key) but from
  // strangers, each from an address and port of its own.
  std::vector<Bytes> flood(size_t count) {
    wg::Peer stranger = *wg::Peer::create(*wg::LocalIdentity::from_private_key(new_private_key()),
                                          responder_->public_key(), {});
    std::vector<Bytes> frames;
    for (size_t i = 0; i < count; ++i) {
      wg::Initiation m{};
      wg::set_type(m.type, wg::MessageType::kInitiation);
      wg::store_le32(m.sender.data(), static_cast<uint32_t>(i));
      wg::stamp_macs(stranger, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&m), sizeof m),
                     wg::kMac1Offset<wg::Initiation>, now_);
      const wg::Bytes b = wg::as_bytes(m);
      // 198.18.0.0/15, ports from 40000.
      frames.push_back(fx_.wireguard_from(2, Bytes(b.begin(), b.end()),
                                          Ipv4Addr{0xc6120000u + static_cast<uint32_t>(i)},
                                          static_cast<uint16_t>(40000 + i % 1000)));
    }
    return frames;
  }

  // Hands `frames` to the engine's workers and every one to the handshake
  // queue, then one handshake round; returns what went out on the underlay.
  std::vector<Bytes> deliver(const std::vector<Bytes>& frames) {
    // A worker pass takes a burst; what the handshake side sends goes
    // out a burst a pass too.
    const int passes = static_cast<int>(frames.size() / 32 + 1);
    fx_.from_underlay(frames);
    fx_.poll(passes);
    responder_->tick(now_, wall_);
    fx_.poll(passes);
    return fx_.take_underlay();
  }

  // The UDP payloads of `frames` sent to node 2's ListenPort.
  static std::vector<Bytes> to_initiator(const std::vector<Bytes>& frames) {
    std::vector<Bytes> out;
    for (const Bytes& f : frames) {
      if (f.size() < 42) continue;
      uint32_t dst;
      std::memcpy(&dst, &f[30], 4);
      const uint16_t port = static_cast<uint16_t>(f[36] << 8 | f[37]);
      if (Ipv4Addr::from_be(dst) == EngineFixture::node(2).public_ip &&
          port == testing::kWireguardPort)
        out.emplace_back(f.begin() + 42, f.end());
    }
    return out;
  }

  const WireguardHandshakeCounters& counters() const { return responder_->counters(); }

  EngineFixture fx_{{.self = 1, .backend = BackendType::kWireguard}};
  nanoseconds now_{1h};
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'700'000'000)};
  std::unique_ptr<WireguardPeers> responder_;
  wg::LocalIdentity initiator_;
  wg::Peer peer_;
};

TEST_F(WireguardUnderLoad, WithoutLoadAnInitiationIsAnsweredWithoutACookie) {
  const auto out = to_initiator(deliver({fx_.wireguard_from(2, initiation(7))}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(wg::message_type(out[0]), static_cast<uint32_t>(wg::MessageType::kResponse));
  EXPECT_EQ(counters().responses_sent, 1u);
  EXPECT_EQ(counters().cookie_replies_sent, 0u);
}

TEST_F(WireguardUnderLoad, AFloodGetsCookieRepliesThatTheInitiatorTakesAndItsRetryIsAnswered) {
  std::vector<Bytes> frames = flood(kFlood);
  frames.push_back(fx_.wireguard_from(2, initiation(7)));
  const std::vector<Bytes> sent = deliver(frames);
  // No DH for any of them: each got a cookie reply, to where it came from.
  EXPECT_EQ(counters().cookie_replies_sent, kFlood + 1);
  EXPECT_EQ(counters().responses_sent, 0u);
  EXPECT_EQ(sent.size(), kFlood + 1);
  const Bytes& first = sent.front();
  uint32_t dst;
  std::memcpy(&dst, &first[30], 4);
  EXPECT_EQ(Ipv4Addr::from_be(dst), Ipv4Addr{0xc6120000u});
  EXPECT_EQ(first[36] << 8 | first[37], 40000);
  EXPECT_EQ(first.size(), 42 + sizeof(wg::CookieReply));

  const auto replies = to_initiator(sent);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(wg::message_type(replies[0]), static_cast<uint32_t>(wg::MessageType::kCookieReply));
  EXPECT_EQ(wg::load_le32(replies[0].data() + 4), 7u) << "to the initiation's sender index";
  ASSERT_TRUE(wg::consume_cookie_reply(peer_, replies[0], now_));

  // Still under load: the retry carries mac2 under the cookie and is
  // answered; the strangers' initiations still get only cookies.
  now_ += wg::kRekeyTimeout / 10;
  frames = flood(kFlood);
  frames.push_back(fx_.wireguard_from(2, initiation(8)));
  const auto answers = to_initiator(deliver(frames));
  EXPECT_EQ(counters().cookie_replies_sent, 2 * kFlood + 1);
  EXPECT_EQ(counters().responses_sent, 1u);
  EXPECT_EQ(counters().completed, 1u);
  ASSERT_EQ(answers.size(), 1u);
  // The response completes the initiator's handshake.
  wg::CookieChecker checker(initiator_);
  const std::array<uint8_t, 6> source{};
  auto done = wg::consume_response(initiator_, checker, {answers[0], source, false, now_},
                                   [&](uint32_t index) { return index == 8 ? &peer_ : nullptr; });
  EXPECT_TRUE(done) << wg::reject_name(done.reason());
  EXPECT_EQ(fx_.mbufs_in_use(), 0);
}

TEST_F(WireguardUnderLoad, ASendersHandshakesOverItsRateAreRefused) {
  std::vector<Bytes> frames = flood(kFlood);
  frames.push_back(fx_.wireguard_from(2, initiation(7)));
  ASSERT_TRUE(wg::consume_cookie_reply(peer_, to_initiator(deliver(frames)).at(0), now_));
  // Ten initiations with mac2 from node 2 behind a flood: its bucket holds
  // wireguard-go's burst (the first, then three more), the rest are over.
  frames = flood(kFlood);
  for (uint32_t i = 0; i < 10; ++i) frames.push_back(fx_.wireguard_from(2, initiation(10 + i)));
  deliver(frames);
  EXPECT_EQ(counters().handshakes_rate_limited, 6u);
  EXPECT_EQ(counters().responses_sent, 1u) << "the others, too frequent, are refused as such";

  // Load passes a second after the queue was last deep: no cookie, no
  // rate, for the next initiation.
  now_ += 2s;
  const auto answers = to_initiator(deliver({fx_.wireguard_from(2, initiation(30))}));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(wg::message_type(answers[0]), static_cast<uint32_t>(wg::MessageType::kResponse));
  EXPECT_EQ(counters().handshakes_rate_limited, 6u);
}

}  // namespace
}  // namespace tartan
