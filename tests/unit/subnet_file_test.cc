// subnet.env byte for byte as flanneld writes it, and never seen half-written.
#include "control/host/subnet_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace tartan {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

SubnetFile file(int third_octet) {
  SubnetFile f;
  f.ipv4 = SubnetFileFamily<Ipv4Prefix>{
      *Ipv4Prefix::parse("10.244.0.0/16"),
      Ipv4Prefix{Ipv4Addr{(10u << 24) | (244u << 16) | (uint32_t(third_octet) << 8)}, 24}};
  f.mtu = 1450;
  f.ip_masq = third_octet % 2 == 0;
  return f;
}

TEST(SubnetFile, ContentIsFlannelsLinesInFlannelsOrder) {
  EXPECT_EQ(render_subnet_file(file(1)),
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/"
            "24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
}

// flanneld's WriteSubnetFile with EnableIPv6: the IPv6 lines after the
// IPv4 ones, each subnet as its first address (IncrementIP), Go's text for
// IPv6 (RFC 5952, as inet_ntop).
TEST(SubnetFile, DualStackAddsTheIpv6LinesAfterTheIpv4Ones) {
  SubnetFile f = file(1);
  f.ipv6 = SubnetFileFamily<Ipv6Prefix>{*Ipv6Prefix::parse("fd00:10:244::/56"),
                                        *Ipv6Prefix::parse("fd00:10:244:1::/64")};
  f.mtu = 1430;
  EXPECT_EQ(render_subnet_file(f),
            "FLANNEL_NETWORK=10.244.0.0/16\n"
            "FLANNEL_SUBNET=10.244.1.1/24\n"
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"
            "FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n"
            "FLANNEL_MTU=1430\n"
            "FLANNEL_IPMASQ=false\n");
  // IPv6 only: no IPv4 lines at all, as flanneld with EnableIPv4 false.
  f.ipv4.reset();
  f.ipv6->subnet = *Ipv6Prefix::parse("2001:db8:0:ff::ff00/120");
  EXPECT_EQ(render_subnet_file(f),
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"
            "FLANNEL_IPV6_SUBNET=2001:db8:0:ff::ff01/120\n"
            "FLANNEL_MTU=1430\n"
            "FLANNEL_IPMASQ=false\n");
}

TEST(SubnetFile, WrittenWithMode0644InANewDirectory) {
  const std::string dir = "/tmp/tartan-sf-" + std::to_string(getpid());
  const std::string path = dir + "/flannel/subnet.env";
  ASSERT_TRUE(write_subnet_file(path, file(2)).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(read(path), render_subnet_file(file(2)));
  std::system(("rm -rf " + dir).c_str());
}

TEST(SubnetFile, UnwritableDirectoryIsAClearErrorAndLeavesNoFile) {
  const std::string dir = "/tmp/tartan-sf-ro-" + std::to_string(getpid());
  std::system(
      ("rm -rf " + dir + " && mkdir -p " + dir + " && mount -t tmpfs -o ro,size=1m tmpfs " + dir)
          .c_str());
  const Status s = write_subnet_file(dir + "/subnet.env", file(3));
  std::system(("umount " + dir + "; rmdir " + dir).c_str());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "subnet_file: cannot create a temporary file in '" + dir + "': Read-only file system");
}

TEST(SubnetFile, ReadersNeverSeeAPartialFile) {
  const std::string path = "/tmp/tartan-sf-atomic-" + std::to_string(getpid()) + ".env";
  ASSERT_TRUE(write_subnet_file(path, file(1)).ok());
  std::set<std::string> complete;
  for (int i = 1; i <= 200; ++i) complete.insert(render_subnet_file(file(i)));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i <= 200; ++i) ASSERT_TRUE(write_subnet_file(path, file(i)).ok());
    done = true;
  });
  size_t reads = 0, partial = 0;
  while (!done) {
    const std::string seen = read(path);
    ++reads;
    if (!complete.count(seen)) ++partial;
  }
  writer.join();
  EXPECT_EQ(partial, 0u) << "of " << reads << " reads";
  EXPECT_GT(reads, 10u);
  unlink(path.c_str());
}

}  // namespace
}  // namespace tartan
