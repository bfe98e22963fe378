// The crypto the data path and handshake stand on: the per-thread AEAD
// allocates nothing per packet and refuses forgeries, DH refuses
// low-order keys, timestamps order as bytes.
#include <gtest/gtest.h>

#include <vector>

#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/peer.h"
#include "engine/wireguard/tai64n.h"
#include "engine/wireguard/transport.h"
#include "engine/wireguard/x25519.h"
#include "tests/wireguard/openssl_allocations.h"

namespace tartan::wireguard {
namespace {

Key filled(uint8_t first) {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(first + i);
  return k;
}

TEST(ChaChaPoly, SealAndOpenAllocateNothingPerCall) {
  const uint64_t before_create = testing::openssl_allocations();
  auto aead = ChaChaPoly::create();
  ASSERT_TRUE(aead);
  // The counter does count: construction is where the allocations are.
  EXPECT_GT(testing::openssl_allocations(), before_create);
  const Key keys[2] = {filled(1), filled(100)};
  std::vector<uint8_t> packet(1400 + kTagLen, 0x5a);
  const uint64_t before = testing::openssl_allocations();
  bool all_ok = true;
  for (uint64_t counter = 0; counter < 1000; ++counter) {
    // Runs of one key and changes of key, as a worker serving two peers
    // sees them.
    const Key& key = keys[(counter / 4) % 2];
    const size_t len = counter % 3 == 0 ? 64 : 1400;
    all_ok &= aead->seal(key, counter, Bytes(), packet.data(), len, packet.data());
    all_ok &= aead->open(key, counter, Bytes(), packet.data(), len + kTagLen, packet.data());
  }
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(testing::openssl_allocations() - before, 0u);
}

// Consecutive messages under one key reuse the key already in the context:
// each must still equal a seal by a fresh context.
TEST(ChaChaPoly, ConsecutiveSealsUnderOneKeyEqualOneShotSeals) {
  auto aead = ChaChaPoly::create();
  ASSERT_TRUE(aead);
  const std::vector<uint8_t> plain(80, 0x61);
  for (uint64_t counter = 0; counter < 4; ++counter) {
    std::vector<uint8_t> reused(plain.size() + kTagLen), fresh(plain.size() + kTagLen);
    ASSERT_TRUE(aead->seal(filled(3), counter, Bytes(), plain.data(), plain.size(), reused.data()));
    ASSERT_TRUE(aead_seal(filled(3), counter, plain, Bytes(), fresh.data()));
    EXPECT_EQ(reused, fresh) << counter;
  }
}

TEST(ChaChaPoly, OpenRefusesAWrongKeyCounterOrAd) {
  auto aead = ChaChaPoly::create();
  ASSERT_TRUE(aead);
  const uint8_t ad[] = {1, 2, 3};
  std::vector<uint8_t> sealed(100 + kTagLen), out(100);
  const std::vector<uint8_t> plain(100, 7);
  ASSERT_TRUE(aead->seal(filled(1), 9, ad, plain.data(), plain.size(), sealed.data()));
  EXPECT_TRUE(aead->open(filled(1), 9, ad, sealed.data(), sealed.size(), out.data()));
  EXPECT_EQ(out, plain);
  EXPECT_FALSE(aead->open(filled(2), 9, ad, sealed.data(), sealed.size(), out.data()));
  EXPECT_FALSE(aead->open(filled(1), 10, ad, sealed.data(), sealed.size(), out.data()));
  EXPECT_FALSE(aead->open(filled(1), 9, Bytes(), sealed.data(), sealed.size(), out.data()));
  EXPECT_FALSE(aead->open(filled(1), 9, ad, sealed.data(), kTagLen - 1, out.data()));
}

TEST(X25519, BothSidesDeriveTheSameSecret) {
  const Key a = generate_private_key(os_random), b = generate_private_key(os_random);
  EXPECT_EQ(a[0] & 7, 0);
  EXPECT_EQ(a[31] & 0xc0, 0x40);
  const auto ab = dh(a, *public_key_of(b)), ba = dh(b, *public_key_of(a));
  ASSERT_TRUE(ab && ba);
  EXPECT_EQ(*ab, *ba);
}

TEST(X25519, LowOrderPublicKeysGiveNoSecretAndNoPeer) {
  const auto local = LocalIdentity::from_private_key(generate_private_key(os_random));
  ASSERT_TRUE(local);
  const Key zero{};
  Key one{};
  one[0] = 1;
  EXPECT_FALSE(dh(local->private_key, zero));
  EXPECT_FALSE(dh(local->private_key, one));
  EXPECT_FALSE(Peer::create(*local, zero, Key{}));
}

TEST(Tai64n, LaterTimesCompareLaterAndNanosecondsAreWhitened) {
  using namespace std::chrono;
  const system_clock::time_point t(seconds(1'700'000'000) + nanoseconds(123'456'789));
  const Tai64n stamp = tai64n(t);
  const Tai64n expected = {0x40, 0,    0,    0,   0x65, 0x53, 0xf1, 0x0a,  // 2^62 + 10 + 1700000000
                           0x07, 0x00, 0x00, 0x00};  // 123456789 & ~(2^24 - 1)
  EXPECT_EQ(stamp, expected);
  EXPECT_TRUE(tai64n_after(tai64n(t + milliseconds(17)), stamp));
  EXPECT_FALSE(tai64n_after(tai64n(t + milliseconds(1)), stamp));
  EXPECT_TRUE(tai64n_after(tai64n(t + seconds(1)), stamp));
}

TEST(TransportPadding, PadsToSixteenButNotPastTheMtu) {
  EXPECT_EQ(padded_length(0, 1420), 0u);
  EXPECT_EQ(padded_length(1, 1420), 16u);
  EXPECT_EQ(padded_length(32, 1420), 32u);
  EXPECT_EQ(padded_length(1415, 1420), 1420u);
  EXPECT_EQ(padded_length(1419, 1420), 1420u);
  EXPECT_EQ(padded_length(1419, 0), 1424u);
}

}  // namespace
}  // namespace tartan::wireguard
