// Who may use the API and how much one client may ask of it: the unix
// socket's owner group and mode, and the limit on calls open at once on a
// connection. (TLS with client certificates: api_test.cc.)
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <vector>

#include "tartan/v1/health.grpc.pb.h"
#include "tartan/v1/node.grpc.pb.h"
#include "tests/support/api_calls.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::ctx;
using testing::DaemonFixture;

TEST(ApiSecurity, TheSocketIsMode0660InTheConfiguredGroupAndRefusesOtherUsers) {
  DaemonFixture fx({.control_yaml = ", socket_group: daemon"});
  const std::string sock = fx.dir() + "/tartan.sock";
  struct stat st {};
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  const group* daemon_group = getgrnam("daemon");
  ASSERT_NE(daemon_group, nullptr);
  EXPECT_EQ(st.st_gid, daemon_group->gr_gid);

  // tartanctl as an unprivileged user, in the group and not.
  const auto health_as_nobody = [&](const std::string& groups) {
    return testing::run_command({"setpriv", "--reuid=nobody", "--regid=nogroup", groups,
                                 testing::required_env("TARTANCTL"), "--socket", sock, "--timeout",
                                 "5", "health"});
  };
  const testing::CommandResult member = health_as_nobody("--groups=daemon");
  EXPECT_EQ(member.exit_code, 0) << member.output;
  const testing::CommandResult stranger = health_as_nobody("--clear-groups");
  EXPECT_EQ(stranger.exit_code, 1) << stranger.output;
  EXPECT_NE(stranger.output.find("ermission denied"), std::string::npos) << stranger.output;
}

TEST(ApiSecurity, CallsOpenAtOnceOnAConnectionAreLimited) {
  DaemonFixture fx({.control_yaml = ", max_concurrent_streams: 4"});
  auto channel = fx.channel();
  auto nodes = v1::Nodes::NewStub(channel);
  // Four long-lived calls take every slot of this connection.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::NodeEvent>>> watches;
  for (int i = 0; i < 4; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    watches.push_back(nodes->WatchNodes(contexts.back().get(), {}));
    v1::NodeEvent resync;
    ASSERT_TRUE(watches.back()->Read(&resync));
  }
  v1::HealthCheckResponse health;
  auto fifth = std::make_unique<grpc::ClientContext>();
  fifth->set_deadline(std::chrono::system_clock::now() + 1s);
  EXPECT_EQ(v1::Health::NewStub(channel)->Check(fifth.get(), {}, &health).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED)
      << "a fifth call on the connection was served";
  // Another client (connection) is not affected ...
  auto other = grpc::CreateCustomChannel("unix://" + fx.dir() + "/tartan.sock",
                                         grpc::InsecureChannelCredentials(), [] {
                                           grpc::ChannelArguments a;
                                           a.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
                                           return a;
                                         }());
  EXPECT_TRUE(v1::Health::NewStub(other)->Check(ctx().get(), {}, &health).ok());
  // ... and a slot freed is a slot taken.
  contexts[0]->TryCancel();
  EXPECT_TRUE(v1::Health::NewStub(channel)->Check(ctx().get(), {}, &health).ok());
  for (size_t i = 1; i < contexts.size(); ++i) contexts[i]->TryCancel();
}

}  // namespace
}  // namespace tartan
