// configs/examples/etcd.yaml is a working config: the real tartand runs on
// it against a real etcd (both in a network namespace of their own, where
// its tap and the etcd on 127.0.0.1 cannot disturb the host), takes a lease
// and reports ready.
#include <gtest/gtest.h>
#include <signal.h>

#include "control/config/config_loader.h"
#include "tests/support/etcd_server.h"
#include "tests/support/files.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;

const std::string kExample = std::string(TARTAN_SOURCE_ROOT) + "/configs/examples/etcd.yaml";

TEST(EtcdExample, LoadsWithTheEtcdLeaseSource) {
  auto c = load_config_file(kExample);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->lease.source, LeaseSource::kEtcd);
  EXPECT_EQ(c->lease.etcd.endpoints, std::vector<std::string>{"http://127.0.0.1:2379"});
}

TEST(EtcdExample, TartandRunsOnItAndTakesALease) {
  testing::Netns ns("etcd-example");
  testing::EtcdServer etcd(ns.exec({}));
  const testing::ScopedTempDir scoped("etcd-example");
  const std::string& dir = scoped.path();
  std::string yaml = testing::read_file(kExample);
  const std::string endpoint = "http://127.0.0.1:2379";
  yaml.replace(yaml.find(endpoint), endpoint.size(), etcd.endpoint());
  testing::write_file(dir + "/etcd.yaml", yaml);
  const std::string sock = dir + "/tartan.sock";
  testing::Process tartand(
      ns.exec({testing::required_env("TARTAND"), "--config", dir + "/etcd.yaml", "--listen",
               "unix://" + sock, "--subnet-file", dir + "/subnet.env", "--state-dir",
               dir + "/state", "--stats-interval", "0"}));
  const std::string ctl = testing::required_env("TARTANCTL");
  ASSERT_TRUE(testing::eventually(
      [&] {
        return testing::run_command({ctl, "--socket", sock, "health"}).exit_code == 0;
      },
      60s, 100ms))
      << tartand.output();
  const std::string health = testing::run_command({ctl, "--socket", sock, "health"}).output;
  EXPECT_NE(health.find("etcd "), std::string::npos) << health;
  const auto keys = etcd.keys(testing::kSubnets);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_NE(etcd.get(keys[0]).find(R"({"PublicIP":"192.0.2.10","PublicIPv6":null,)"),
            std::string::npos);
  tartand.signal(SIGTERM);
  EXPECT_EQ(tartand.wait(30s), 0) << tartand.output();
}

}  // namespace
}  // namespace tartan
