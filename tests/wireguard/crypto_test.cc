// The crypto the data path and handshake stand on: the per-thread AEAD
// allocates nothing per packet and refuses forgeries, DH refuses
// low-order keys, timestamps order as bytes.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/peer.h"
#include "engine/wireguard/tai64n.h"
#include "engine/wireguard/transport.h"
#include "engine/wireguard/x25519.h"
#include "tests/wireguard/heap_allocations.h"

namespace tartan::wireguard {
namespace {

Key filled(uint8_t first) {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(first + i);
  return k;
}

TEST(ChaChaPoly, SealAndOpenAllocateNothingPerCall) {
  const uint64_t before_create = testing::heap_allocations();
  auto aead = ChaChaPoly::create();
  ASSERT_TRUE(aead);
  // The counter does count: construction is where the allocations are.
  EXPECT_GT(testing::heap_allocations(), before_create);
  const Key keys[2] = {filled(1), filled(100)};
  std::vector<uint8_t> packet(1400 + kTagLen, 0x5a);
  std::vector<uint8_t> burst(ChaChaPoly::kMaxBurst * packet.size(), 0x3c);
  std::array<AeadJob, ChaChaPoly::kMaxBurst> jobs;
  const uint64_t before = testing::heap_allocations();
  bool all_ok = true;
  for (uint64_t counter = 0; counter < 1000; ++counter) {
    // Runs of one key and changes of key, as a worker serving two peers
    // sees them.
    const Key& key = keys[(counter / 4) % 2];
    const size_t len = counter % 3 == 0 ? 64 : 1400;
    all_ok &= aead->seal(key, counter, Bytes(), packet.data(), len, packet.data());
    all_ok &= aead->open(key, counter, Bytes(), packet.data(), len + kTagLen, packet.data());
    if (counter % 50 != 0) continue;
    for (size_t i = 0; i < jobs.size(); ++i)
      jobs[i] = {&keys[i % 2], counter + i, burst.data() + i * packet.size(),
                 static_cast<uint32_t>(i % 2 == 0 ? 64 : 1400)};
    all_ok &= aead->seal_burst(jobs) == ~uint64_t{0};
    for (AeadJob& j : jobs) j.len += kTagLen;
    all_ok &= aead->open_burst(jobs) == ~uint64_t{0};
  }
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(testing::heap_allocations() - before, 0u);
}

// A burst seals each message as seal() does alone, whatever its length
// and key, and opens each; one forged message fails alone.
TEST(ChaChaPoly, ABurstSealsAsOneAtATimeAndRefusesOnlyTheForgedMessage) {
  auto aead = ChaChaPoly::create();
  ASSERT_TRUE(aead);
  const Key keys[3] = {filled(1), filled(50), filled(200)};
  constexpr size_t kJobs = 40;
  constexpr size_t kRoom = 1500 + kTagLen;
  std::vector<uint8_t> burst(kJobs * kRoom), single(kJobs * kRoom);
  for (size_t i = 0; i < burst.size(); ++i) burst[i] = static_cast<uint8_t>(i * 31 + 7);
  single = burst;
  std::array<AeadJob, kJobs> jobs;
  for (size_t i = 0; i < kJobs; ++i) {
    // Lengths from empty (a keepalive) to a full MTU, unaligned ones too.
    const uint32_t len = static_cast<uint32_t>((i * 37) % 1500);
    jobs[i] = {&keys[i % 3], 1000 + i * 3, burst.data() + i * kRoom, len};
    ASSERT_TRUE(aead->seal(keys[i % 3], 1000 + i * 3, Bytes(), single.data() + i * kRoom, len,
                           single.data() + i * kRoom));
  }
  EXPECT_EQ(aead->seal_burst(jobs), (uint64_t{1} << kJobs) - 1);
  EXPECT_EQ(burst, single);
  for (AeadJob& j : jobs) j.len += kTagLen;
  burst[7 * kRoom + jobs[7].len / 2] ^= 0x01;  // one bit of message 7 flipped
  EXPECT_EQ(aead->open_burst(jobs), ((uint64_t{1} << kJobs) - 1) & ~(uint64_t{1} << 7));
  for (size_t i = 0; i < kJobs; ++i) {
    if (i == 7) continue;
    const size_t len = jobs[i].len - kTagLen;
    std::vector<uint8_t> opened(burst.begin() + i * kRoom, burst.begin() + i * kRoom + len);
    std::vector<uint8_t> plain(len);
    for (size_t b = 0; b < len; ++b) plain[b] = static_cast<uint8_t>((i * kRoom + b) * 31 + 7);
    EXPECT_EQ(opened, plain) << "message " << i;
  }
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
