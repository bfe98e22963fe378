// The private key file, as flanneld's setupKeys keeps /run/flannel/wgkey,
// checked against wireguard-tools' own `wg pubkey`.
#include "control/host/wireguard_key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

TEST(WireguardKeyStore, AKeyIsMadeOnceKeptAsFlanneldKeepsItAndItsPublicKeyIsWgs) {
  const testing::ScopedTempDir dir("wgkey");
  const std::string path = dir.path() + "/state/wgkey";
  auto made = stable_wireguard_keys(path);
  ASSERT_TRUE(made.ok()) << made.status().message();
  const std::string text = testing::read_file(path);
  EXPECT_EQ(text, wireguard_key_text(made->private_key));  // base64, no newline
  EXPECT_EQ(text.size(), 44u);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  // Clamped as wg genkey's (RFC 7748).
  EXPECT_EQ(made->private_key[0] & 7, 0);
  EXPECT_EQ(made->private_key[31] & 0xc0, 0x40);

  auto again = stable_wireguard_keys(path);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->private_key, made->private_key);
  EXPECT_EQ(again->public_key, made->public_key);

  const auto wg = testing::run_command({"sh", "-c", "wg pubkey < " + path});
  ASSERT_EQ(wg.exit_code, 0) << wg.output;
  EXPECT_EQ(wg.output, wireguard_key_text(made->public_key) + "\n");
}

TEST(WireguardKeyStore, AKeyFileFromWgGenkeyIsReadWithItsNewline) {
  const testing::ScopedTempDir dir("wgkey");
  const std::string path = dir.path() + "/wgkey";
  const auto genkey = testing::run_command({"sh", "-c", "wg genkey > " + path});
  ASSERT_EQ(genkey.exit_code, 0) << genkey.output;
  auto keys = stable_wireguard_keys(path);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ(wireguard_key_text(keys->private_key) + "\n", testing::read_file(path));
}

TEST(WireguardKeyStore, AFileThatHoldsNoKeyIsNamedAndLeftAlone) {
  const testing::ScopedTempDir dir("wgkey");
  const std::string path = dir.path() + "/wgkey";
  std::ofstream(path) << "not a key\n";
  auto keys = stable_wireguard_keys(path);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().message(),
            path +
                ": not a WireGuard private key: not base64 (a WireGuard key is 44 characters, as "
                "wg genkey prints) (delete the file to get a new key)");
  EXPECT_EQ(testing::read_file(path), "not a key\n");
}

}  // namespace
}  // namespace tartan
