// Known answers from wireguard-go (tests/support/wgkat): the initiation,
// the response and transport messages in both directions rebuilt byte for
// byte from the same keys and random draws, and wireguard-go's own
// messages consumed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "engine/wireguard/handshake.h"
#include "engine/wireguard/transport.h"

namespace tartan::wireguard {
namespace {

using std::chrono::seconds;

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

Key key_of(const std::vector<uint8_t>& bytes) {
  Key key{};
  EXPECT_EQ(bytes.size(), key.size());
  std::copy_n(bytes.begin(), std::min(bytes.size(), key.size()), key.begin());
  return key;
}

// kat.txt: named keys, numbered random draws, plaintexts and wire messages.
struct Vectors {
  std::map<std::string, Key> keys;
  std::vector<std::vector<uint8_t>> draws;
  std::vector<std::vector<uint8_t>> plaintexts;  // A->B, then B->A
  std::vector<std::vector<uint8_t>> wire;        // initiation, response, A->B data, B->A data

  static Vectors load() {
    const char* root = std::getenv("TARTAN_SOURCE_ROOT");
    EXPECT_NE(root, nullptr) << "TARTAN_SOURCE_ROOT unset";
    std::ifstream in(std::string(root ? root : ".") + "/tests/support/wgkat/kat.txt");
    EXPECT_TRUE(in) << "tests/support/wgkat/kat.txt unreadable";
    Vectors v;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string s; words >> s;) w.push_back(s);
      if (w.size() == 2) v.keys[w[0]] = key_of(from_hex(w[1]));
      if (w.size() == 3 && w[0].starts_with("rand[")) v.draws.push_back(from_hex(w[2]));
      if (!w.empty() && w[0] == "plaintext") v.plaintexts.push_back(from_hex(w.back()));
      if (!w.empty() && w[0] == "wire") v.wire.push_back(from_hex(w.back()));
    }
    EXPECT_EQ(v.draws.size(), 4u);
    EXPECT_EQ(v.plaintexts.size(), 2u);
    EXPECT_EQ(v.wire.size(), 4u);
    return v;
  }
  uint32_t index_draw(size_t i) const { return load_le32(draws.at(i).data()); }
};

// Hands out wireguard-go's draws in order, each exactly the size it was.
class ReplayedDraws {
 public:
  explicit ReplayedDraws(std::vector<std::vector<uint8_t>> draws)
      : draws_(draws.begin(), draws.end()) {}
  RandomSource source() {
    return [this](std::span<uint8_t> out) {
      ASSERT_FALSE(draws_.empty()) << "more randomness drawn than wireguard-go drew";
      ASSERT_EQ(draws_.front().size(), out.size()) << "a draw of another size than wireguard-go's";
      std::copy(draws_.front().begin(), draws_.front().end(), out.begin());
      draws_.pop_front();
    };
  }

 private:
  std::deque<std::vector<uint8_t>> draws_;
};

std::vector<uint8_t> bytes_of(const auto& message) {
  const Bytes b = as_bytes(message);
  return {b.begin(), b.end()};
}

// Both sides of wireguard-go's exchange, driven by our library.
class WireguardGoKnownAnswers : public ::testing::Test {
 protected:
  WireguardGoKnownAnswers()
      : v_(Vectors::load()),
        a_(*LocalIdentity::from_private_key(v_.keys.at("privA"))),
        b_(*LocalIdentity::from_private_key(v_.keys.at("privB"))),
        a_peer_b_(*Peer::create(a_, v_.keys.at("pubB"), v_.keys.at("psk"))),
        b_peer_a_(*Peer::create(b_, v_.keys.at("pubA"), v_.keys.at("psk"))),
        a_checker_(a_),
        b_checker_(b_) {}

  // B consumes wireguard-go's initiation; its timestamp is what A used.
  Tai64n consume_wireguard_go_initiation() {
    auto consumed =
        consume_initiation(b_, b_checker_, {v_.wire[0], {}, false, seconds(1)},
                           [&](const Key& k) { return k == a_.public_key ? &b_peer_a_ : nullptr; });
    EXPECT_TRUE(consumed.ok()) << reject_name(consumed.reason());
    return b_peer_a_.last_timestamp;
  }

  Vectors v_;
  LocalIdentity a_, b_;
  Peer a_peer_b_, b_peer_a_;
  CookieChecker a_checker_, b_checker_;
};

TEST_F(WireguardGoKnownAnswers, PublicKeysMatchWireguardGos) {
  EXPECT_EQ(a_.public_key, v_.keys.at("pubA"));
  EXPECT_EQ(b_.public_key, v_.keys.at("pubB"));
}

TEST_F(WireguardGoKnownAnswers, InitiationRebuiltByteForByte) {
  const Tai64n timestamp = consume_wireguard_go_initiation();
  ReplayedDraws draws({v_.draws[0]});  // the ephemeral key; the index is rand[2]
  auto initiation =
      create_initiation(a_, a_peer_b_, v_.index_draw(1), timestamp, seconds(1), draws.source());
  ASSERT_TRUE(initiation.ok()) << reject_name(initiation.reason());
  EXPECT_EQ(bytes_of(*initiation), v_.wire[0]);
}

TEST_F(WireguardGoKnownAnswers, ResponseRebuiltByteForByte) {
  consume_wireguard_go_initiation();
  ReplayedDraws draws({v_.draws[3]});  // the responder's ephemeral; its index is rand[3]
  auto response = create_response(b_peer_a_, v_.index_draw(2), seconds(1), draws.source());
  ASSERT_TRUE(response.ok()) << reject_name(response.reason());
  EXPECT_EQ(bytes_of(response->message), v_.wire[1]);
}

// A's side: our initiation (identical to wireguard-go's), wireguard-go's
// response consumed, then transport both ways: ours equal to wireguard-go's
// bytes, and wireguard-go's opened.
TEST_F(WireguardGoKnownAnswers, InitiatorConsumesResponseAndTransportMatchesBothWays) {
  const Tai64n timestamp = consume_wireguard_go_initiation();
  ReplayedDraws draws({v_.draws[0]});
  ASSERT_TRUE(
      create_initiation(a_, a_peer_b_, v_.index_draw(1), timestamp, seconds(1), draws.source())
          .ok());
  auto consumed = consume_response(
      a_, a_checker_, {v_.wire[1], {}, false, seconds(1)},
      [&](uint32_t index) { return index == v_.index_draw(1) ? &a_peer_b_ : nullptr; });
  ASSERT_TRUE(consumed.ok()) << reject_name(consumed.reason());
  Keypair& keys = consumed->keypair;
  EXPECT_EQ(keys.sending.remote_index, v_.index_draw(2));
  EXPECT_EQ(keys.local_index, v_.index_draw(1));
  EXPECT_TRUE(keys.initiator);

  auto aead = ChaChaPoly::create();
  ASSERT_TRUE(aead);
  std::vector<uint8_t> buffer(kTransportHeaderLen + 64 + kTagLen);
  const std::vector<uint8_t>& ping = v_.plaintexts[0];
  std::copy(ping.begin(), ping.end(), buffer.begin() + kTransportHeaderLen);
  auto sealed = seal_transport(*aead, keys.sending, buffer.data() + kTransportHeaderLen,
                               ping.size(), kTransportHeaderLen, 64 - ping.size() + kTagLen, 1420);
  ASSERT_TRUE(sealed.ok()) << reject_name(sealed.reason());
  EXPECT_EQ(std::vector<uint8_t>(sealed->data, sealed->data + sealed->len), v_.wire[2]);

  std::vector<uint8_t> theirs = v_.wire[3];
  ASSERT_EQ(transport_receiver(theirs), keys.local_index);
  auto opened = open_transport(*aead, keys.receiving, theirs.data(), theirs.size());
  ASSERT_TRUE(opened.ok()) << reject_name(opened.reason());
  EXPECT_EQ(std::vector<uint8_t>(opened->data, opened->data + opened->len), v_.plaintexts[1]);
}

// B's side: the response's keypair opens wireguard-go's first data packet
// and seals the answer as wireguard-go did.
TEST_F(WireguardGoKnownAnswers, ResponderKeypairOpensAndSealsAsWireguardGo) {
  consume_wireguard_go_initiation();
  ReplayedDraws draws({v_.draws[3]});
  auto response = create_response(b_peer_a_, v_.index_draw(2), seconds(1), draws.source());
  ASSERT_TRUE(response.ok());
  Keypair& keys = response->keypair;
  EXPECT_FALSE(keys.initiator);

  auto aead = ChaChaPoly::create();
  ASSERT_TRUE(aead);
  std::vector<uint8_t> theirs = v_.wire[2];
  auto opened = open_transport(*aead, keys.receiving, theirs.data(), theirs.size());
  ASSERT_TRUE(opened.ok()) << reject_name(opened.reason());
  EXPECT_EQ(std::vector<uint8_t>(opened->data, opened->data + opened->len), v_.plaintexts[0]);

  std::vector<uint8_t> buffer(kTransportHeaderLen + 64 + kTagLen);
  const std::vector<uint8_t>& pong = v_.plaintexts[1];
  std::copy(pong.begin(), pong.end(), buffer.begin() + kTransportHeaderLen);
  auto sealed = seal_transport(*aead, keys.sending, buffer.data() + kTransportHeaderLen,
                               pong.size(), kTransportHeaderLen, 64 - pong.size() + kTagLen, 1420);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(std::vector<uint8_t>(sealed->data, sealed->data + sealed->len), v_.wire[3]);
}

}  // namespace
}  // namespace tartan::wireguard
