// Hostile and broken input: each is refused with the reason the data path
// will count it under, and none disturbs the state a genuine message needs.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "engine/wireguard/transport.h"
#include "tests/wireguard/test_pair.h"

namespace tartan::wireguard {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::TestPair;

std::vector<uint8_t> bytes_of(const auto& message) {
  const Bytes b = as_bytes(message);
  return {b.begin(), b.end()};
}

Reject consume_initiation_reason(TestPair& pair, Bytes packet, bool under_load = false) {
  auto consumed =
      consume_initiation(pair.b.identity, pair.b.checker,
                         {packet, pair.source_a, under_load, pair.now}, pair.peers_of(pair.b));
  EXPECT_FALSE(consumed.ok());
  return consumed.ok() ? Reject::kCryptoFailed : consumed.reason();
}

// A transport packet from A to B, sealed with A's keypair.
std::vector<uint8_t> transport_packet(ChaChaPoly& aead, Keypair& keys, size_t len) {
  std::vector<uint8_t> buffer(kTransportHeaderLen + len + kPaddingMultiple + kTagLen, 0x33);
  auto sealed = seal_transport(aead, keys.sending, buffer.data() + kTransportHeaderLen, len,
                               kTransportHeaderLen, kPaddingMultiple + kTagLen, 0);
  EXPECT_TRUE(sealed.ok());
  return {sealed->data, sealed->data + sealed->len};
}

TEST(WireguardHostileInput, InitiationOfTheWrongSizeIsWrongSize) {
  TestPair pair;
  std::vector<uint8_t> packet = bytes_of(pair.initiation_from_a());
  packet.push_back(0);
  EXPECT_EQ(consume_initiation_reason(pair, packet), Reject::kWrongSize);
  packet.resize(sizeof(Initiation) - 1);
  EXPECT_EQ(consume_initiation_reason(pair, packet), Reject::kWrongSize);
  EXPECT_EQ(consume_initiation_reason(pair, Bytes()), Reject::kWrongSize);
}

TEST(WireguardHostileInput, NonzeroReservedBytesAreWrongType) {
  TestPair pair;
  std::vector<uint8_t> packet = bytes_of(pair.initiation_from_a());
  packet[2] = 1;
  EXPECT_EQ(consume_initiation_reason(pair, packet), Reject::kWrongType);
}

TEST(WireguardHostileInput, AnyBitFlippedInAnInitiationIsBadMac1) {
  TestPair pair;
  const std::vector<uint8_t> genuine = bytes_of(pair.initiation_from_a());
  for (size_t byte = 4; byte < kMac2Offset<Initiation>; ++byte) {
    std::vector<uint8_t> packet = genuine;
    packet[byte] ^= 0x10;
    ASSERT_EQ(consume_initiation_reason(pair, packet), Reject::kBadMac1) << byte;
  }
}

// A sender that knows our public key (mac1 right) but not the keys inside.
TEST(WireguardHostileInput, InitiationCiphertextFlippedUnderAValidMac1IsDecryptFailed) {
  TestPair pair;
  for (size_t byte : {offsetof(Initiation, encrypted_static) + 3,
                      offsetof(Initiation, encrypted_timestamp) + 20}) {
    Initiation initiation = pair.initiation_from_a();
    reinterpret_cast<uint8_t*>(&initiation)[byte] ^= 1;
    stamp_macs(pair.a.peer,
               std::span<uint8_t>(reinterpret_cast<uint8_t*>(&initiation), sizeof initiation),
               kMac1Offset<Initiation>, pair.now);
    EXPECT_EQ(consume_initiation_reason(pair, as_bytes(initiation)), Reject::kDecryptFailed)
        << byte;
  }
}

TEST(WireguardHostileInput, InitiationFromAStrangerIsUnknownPeer) {
  TestPair pair;
  const Initiation initiation = pair.initiation_from_a();
  auto consumed = consume_initiation(pair.b.identity, pair.b.checker,
                                     {as_bytes(initiation), pair.source_a, false, pair.now},
                                     [](const Key&) { return nullptr; });
  ASSERT_FALSE(consumed.ok());
  EXPECT_EQ(consumed.reason(), Reject::kUnknownPeer);
}

TEST(WireguardHostileInput, ReplayedInitiationIsReplayedTimestamp) {
  TestPair pair;
  const Initiation initiation = pair.initiation_from_a();
  auto first = consume_initiation(pair.b.identity, pair.b.checker,
                                  {as_bytes(initiation), pair.source_a, false, pair.now},
                                  pair.peers_of(pair.b));
  ASSERT_TRUE(first.ok());
  pair.now += seconds(5);
  EXPECT_EQ(consume_initiation_reason(pair, as_bytes(initiation)), Reject::kReplayedTimestamp);
  // An older initiation too: a timestamp must be strictly newer.
  pair.wall -= seconds(1);
  EXPECT_EQ(consume_initiation_reason(pair, as_bytes(pair.initiation_from_a())),
            Reject::kReplayedTimestamp);
}

TEST(WireguardHostileInput, FreshInitiationsFasterThanFiftyASecondAreTooFrequent) {
  TestPair pair;
  auto consume = [&] {
    return consume_initiation(pair.b.identity, pair.b.checker,
                              {as_bytes(pair.initiation_from_a()), pair.source_a, false, pair.now},
                              pair.peers_of(pair.b));
  };
  ASSERT_TRUE(consume().ok());
  pair.wall += seconds(1);
  pair.now += milliseconds(5);
  auto second = consume();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.reason(), Reject::kInitiationTooFrequent);
  pair.now += milliseconds(20);
  EXPECT_TRUE(consume().ok());
}

TEST(WireguardHostileInput, ResponseToAnUnknownIndexIsUnknownReceiver) {
  TestPair pair;
  auto consumed = consume_initiation(
      pair.b.identity, pair.b.checker,
      {as_bytes(pair.initiation_from_a()), pair.source_a, false, pair.now}, pair.peers_of(pair.b));
  ASSERT_TRUE(consumed.ok());
  auto response = create_response(pair.b.peer, pair.b.index, pair.now, pair.random());
  ASSERT_TRUE(response.ok());
  auto finished = consume_response(pair.a.identity, pair.a.checker,
                                   {as_bytes(response->message), {}, false, pair.now},
                                   [](uint32_t) { return nullptr; });
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.reason(), Reject::kUnknownReceiver);
}

TEST(WireguardHostileInput, ResponseWithNoInitiationPendingIsUnexpected) {
  TestPair pair;
  pair.handshake();
  // The same response again: A's handshake is complete, nothing waits for it.
  auto response = create_response(pair.b.peer, pair.b.index, pair.now, pair.random());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.reason(), Reject::kUnexpectedMessage);
}

// Transport packets between two nodes past their handshake.
class WireguardHostileTransport : public ::testing::Test {
 protected:
  WireguardHostileTransport() : keys_(pair_.handshake()), aead_(*ChaChaPoly::create()) {}

  TestPair pair_;
  std::pair<Keypair, Keypair> keys_;
  Keypair& a_keys_ = keys_.first;
  Keypair& b_keys_ = keys_.second;
  ChaChaPoly aead_;
};

TEST_F(WireguardHostileTransport, BitFlippedTransportIsDecryptFailedAndTheGenuineStillOpens) {
  const std::vector<uint8_t> genuine = transport_packet(aead_, a_keys_, 100);
  // Every bit after the type and receiver: counter, ciphertext, tag.
  for (size_t bit = 64; bit < genuine.size() * 8; bit += 7) {
    std::vector<uint8_t> packet = genuine;
    packet[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    auto opened = open_transport(aead_, b_keys_.receiving, packet.data(), packet.size());
    ASSERT_FALSE(opened.ok()) << bit;
    ASSERT_EQ(opened.reason(), Reject::kDecryptFailed) << bit;
  }
  std::vector<uint8_t> packet = genuine;
  EXPECT_TRUE(open_transport(aead_, b_keys_.receiving, packet.data(), packet.size()).ok());
}

TEST_F(WireguardHostileTransport, ReplayedTransportIsReplayedCounter) {
  const std::vector<uint8_t> genuine = transport_packet(aead_, a_keys_, 64);
  std::vector<uint8_t> packet = genuine;
  ASSERT_TRUE(open_transport(aead_, b_keys_.receiving, packet.data(), packet.size()).ok());
  packet = genuine;
  auto again = open_transport(aead_, b_keys_.receiving, packet.data(), packet.size());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.reason(), Reject::kReplayedCounter);
}

TEST_F(WireguardHostileTransport, TruncatedTransportIsWrongSizeAndOtherTypesWrongType) {
  std::vector<uint8_t> packet = transport_packet(aead_, a_keys_, 0);  // a keepalive: 32 bytes
  ASSERT_EQ(packet.size(), kTransportMinLen);
  EXPECT_EQ(transport_receiver(Bytes(packet.data(), kTransportMinLen - 1)), std::nullopt);
  auto truncated = open_transport(aead_, b_keys_.receiving, packet.data(), kTransportMinLen - 1);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.reason(), Reject::kWrongSize);
  packet[0] = static_cast<uint8_t>(MessageType::kInitiation);
  auto retyped = open_transport(aead_, b_keys_.receiving, packet.data(), packet.size());
  ASSERT_FALSE(retyped.ok());
  EXPECT_EQ(retyped.reason(), Reject::kWrongType);
}

TEST_F(WireguardHostileTransport, ExhaustedCountersAreRefusedBothWays) {
  a_keys_.sending.next_counter = kRejectAfterMessages;
  std::vector<uint8_t> buffer(64);
  auto sealed = seal_transport(aead_, a_keys_.sending, buffer.data() + 16, 16, 16, 32, 0);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.reason(), Reject::kCounterExhausted);
  // A forged header with the limit as counter is refused before decryption.
  std::vector<uint8_t> packet = transport_packet(aead_, b_keys_, 0);
  store_le64(packet.data() + 8, kRejectAfterMessages);
  auto opened = open_transport(aead_, a_keys_.receiving, packet.data(), packet.size());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.reason(), Reject::kCounterExhausted);
}

TEST_F(WireguardHostileTransport, SealWithoutHeadroomOrTailroomIsNoRoom) {
  std::vector<uint8_t> buffer(128);
  auto no_head = seal_transport(aead_, a_keys_.sending, buffer.data() + 15, 20, 15, 100, 0);
  ASSERT_FALSE(no_head.ok());
  EXPECT_EQ(no_head.reason(), Reject::kNoRoom);
  // 20 bytes pad to 32: 12 of padding and the 16-byte tag.
  auto no_tail = seal_transport(aead_, a_keys_.sending, buffer.data() + 16, 20, 16, 27, 0);
  ASSERT_FALSE(no_tail.ok());
  EXPECT_EQ(no_tail.reason(), Reject::kNoRoom);
  EXPECT_EQ(a_keys_.sending.next_counter, 0u) << "a refused seal used a counter";
}

// Under load the responder answers an initiation without mac2 with a
// cookie reply; the initiator's next initiation carries mac2 and passes.
TEST(WireguardHostileInput, UnderLoadACookieIsRequiredAndThenAccepted) {
  TestPair pair;
  const Initiation first = pair.initiation_from_a();
  EXPECT_EQ(consume_initiation_reason(pair, as_bytes(first), true), Reject::kCookieRequired);

  const CookieReply reply = pair.b.checker.create_reply(as_bytes(first), kMac1Offset<Initiation>,
                                                        load_le32(first.sender.data()),
                                                        pair.source_a, pair.now, pair.random());
  EXPECT_EQ(load_le32(reply.receiver.data()), pair.a.index);
  CookieReply flipped = reply;
  flipped.encrypted_cookie[0] ^= 1;
  auto refused = consume_cookie_reply(pair.a.peer, as_bytes(flipped), pair.now);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.reason(), Reject::kDecryptFailed);
  ASSERT_TRUE(consume_cookie_reply(pair.a.peer, as_bytes(reply), pair.now).ok());
  auto second_reply = consume_cookie_reply(pair.a.peer, as_bytes(reply), pair.now);
  ASSERT_FALSE(second_reply.ok());
  EXPECT_EQ(second_reply.reason(), Reject::kUnexpectedMessage);

  pair.wall += seconds(1);
  pair.now += seconds(1);
  const Initiation with_mac2 = pair.initiation_from_a();
  EXPECT_NE(with_mac2.mac2, Mac{});
  // From another address the cookie is not valid.
  std::vector<uint8_t> elsewhere = {192, 0, 2, 9, 0xca, 0x6c};
  auto moved =
      consume_initiation(pair.b.identity, pair.b.checker,
                         {as_bytes(with_mac2), elsewhere, true, pair.now}, pair.peers_of(pair.b));
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.reason(), Reject::kCookieRequired);
  auto accepted = consume_initiation(pair.b.identity, pair.b.checker,
                                     {as_bytes(with_mac2), pair.source_a, true, pair.now},
                                     pair.peers_of(pair.b));
  EXPECT_TRUE(accepted.ok()) << reject_name(accepted.reason());

  // The cookie expires after kCookieRefreshTime: no mac2 is sent on.
  pair.now += kCookieRefreshTime;
  pair.wall += seconds(200);
  EXPECT_EQ(pair.initiation_from_a().mac2, Mac{});
}

TEST(WireguardHostileInput, EveryRejectHasItsOwnName) {
  std::set<std::string_view> names;
  for (int r = 0; r <= static_cast<int>(Reject::kCryptoFailed); ++r)
    EXPECT_TRUE(names.insert(reject_name(static_cast<Reject>(r))).second) << r;
  EXPECT_FALSE(names.contains("unknown"));
}

}  // namespace
}  // namespace tartan::wireguard
