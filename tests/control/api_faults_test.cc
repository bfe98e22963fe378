// Fault injection on the tartan.v1 API of an in-process tartand: clients
// that die mid-stream, that stop reading, and that send bytes that are no
// message or too large ones. The server must stay bounded and keep serving
// everyone else.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
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
using testing::apply;
using testing::ctx;
using testing::DaemonFixture;
using testing::flannel_node;
using testing::Process;

// node-2 with `padding` bytes more and a revision: every call is a
// MODIFIED event.
v1::Node node_2_revision(int revision, size_t padding = 1000) {
  v1::Node n = flannel_node(2);
  (*n.mutable_annotations())["example.com/padding"] = std::string(padding, 'x');
  (*n.mutable_annotations())["example.com/revision"] = std::to_string(revision);
  return n;
}

// A WatchNodes call from resource version 1 whose client reads nothing
// until told to, on a connection of its own whose receive window stays at
// HTTP/2's 64 KiB (no BDP probing): the server feels it after a few
// hundred kilobytes.
struct UnreadWatch {
  explicit UnreadWatch(const DaemonFixture& fx) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    client = v1::Nodes::NewStub(grpc::CreateCustomChannel(
        "unix://" + fx.dir() + "/tartan.sock", grpc::InsecureChannelCredentials(), args));
    context.set_deadline(std::chrono::system_clock::now() + 120s);
    v1::WatchNodesRequest req;
    req.set_resource_version("1");
    stream = client->WatchNodes(&context, req);
  }
  // Reads to the end: how many events came, then the status.
  grpc::Status finish(size_t* read) {
    v1::NodeEvent e;
    while (stream->Read(&e)) ++*read;
    return stream->Finish();
  }

  grpc::ClientContext context;
  std::unique_ptr<v1::Nodes::Stub> client;
  std::unique_ptr<grpc::ClientReader<v1::NodeEvent>> stream;
};

TEST(ApiFaults, ClientsKilledMidStreamLeaveNoStreamBehindAndOthersAreStillServed) {
  DaemonFixture fx;
  auto nodes = v1::Nodes::NewStub(fx.channel());
  const std::string ctl = testing::required_env("TARTANCTL");
  const std::string sock = fx.dir() + "/tartan.sock";
  std::vector<std::unique_ptr<Process>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(
        std::make_unique<Process>(std::vector<std::string>{ctl, "--socket", sock, "events"}));
    clients.push_back(std::make_unique<Process>(
        std::vector<std::string>{ctl, "--socket", sock, "stats", "--watch", "1s"}));
  }
  ASSERT_TRUE(testing::eventually([&] { return fx.daemon().open_streams() == 6; }, 20s))
      << fx.daemon().open_streams() << " streams open";
  ASSERT_TRUE(apply(*nodes, flannel_node(2)).ok());
  // Mid-stream, the way a crash or a lost connection ends them: no
  // cancellation, the socket just closes.
  for (auto& c : clients) c->signal(SIGKILL);
  for (auto& c : clients) ASSERT_TRUE(c->wait(10s).has_value());
  EXPECT_TRUE(testing::eventually([&] { return fx.daemon().open_streams() == 0; }, 5s))
      << fx.daemon().open_streams() << " streams still open after their clients died";

  grpc::ClientContext c;
  v1::WatchNodesRequest req;
  req.set_resource_version("1");
  auto stream = nodes->WatchNodes(&c, req);
  ASSERT_TRUE(apply(*nodes, flannel_node(3)).ok());
  v1::NodeEvent e;
  ASSERT_TRUE(stream->Read(&e));
  EXPECT_EQ(e.node().name(), "node-3");
  c.TryCancel();
}

TEST(ApiFaults, AWatchThatNeverReadsIsEndedWithResourceExhaustedAfterABoundedBacklog) {
  DaemonFixture fx({.watch_history = 256});
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(apply(*nodes, node_2_revision(0)).ok());
  UnreadWatch watch(fx);
  // The client reads nothing while 5,000 changes happen.
  constexpr int kChanges = 5000;
  for (int i = 1; i <= kChanges; ++i) ASSERT_TRUE(apply(*nodes, node_2_revision(i)).ok());
  // The server ended the watch on its own, before the client read a thing:
  // the client gets what was already on its way, then the status.
  size_t read = 0;
  const grpc::Status status = watch.finish(&read);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("more than 256 node changes behind"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("control.watch_history"), std::string::npos);
  EXPECT_LT(read, static_cast<size_t>(kChanges) / 2)
      << "the client got most changes: the watch was not bounded";
  EXPECT_TRUE(testing::eventually([&] { return fx.daemon().open_streams() == 0; }, 5s));

  // Others are served as before.
  grpc::ClientContext fresh;
  auto again = nodes->WatchNodes(&fresh, {});
  v1::NodeEvent e;
  ASSERT_TRUE(again->Read(&e));
  EXPECT_EQ(e.type(), v1::NodeEvent::RESYNC);
  fresh.TryCancel();
}

TEST(ApiFaults, AStoppedWatchClientIsDroppedAfterTheWriteTimeoutWithoutReadingAnything) {
  DaemonFixture fx({.control_yaml = ", stream_write_timeout_ms: 300"});
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(apply(*nodes, node_2_revision(0, 4000)).ok());
  UnreadWatch watch(fx);
  // 4 MB of changes, far more than the window and the socket buffers hold:
  // the server's write waits on the client.
  constexpr int kChanges = 1000;
  for (int i = 1; i <= kChanges; ++i) ASSERT_TRUE(apply(*nodes, node_2_revision(i, 4000)).ok());
  // The client never reads, yet the server lets the call go: the write
  // timeout ends the watch, one more cancels it.
  EXPECT_TRUE(testing::eventually([&] { return fx.daemon().open_streams() == 0; }, 10s))
      << "a watch whose client reads nothing is still open";
  size_t read = 0;
  const grpc::Status status = watch.finish(&read);
  EXPECT_FALSE(status.ok());
  EXPECT_LT(read, static_cast<size_t>(kChanges));
}

// Sends raw bytes as the request of `method` and returns the status.
grpc::Status raw_call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  auto c = ctx();
  stub.UnaryCall(c.get(), method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

TEST(ApiFaults, MalformedRequestsAreRefusedAndOversizedOnesAreResourceExhausted) {
  DaemonFixture fx({.control_yaml = ", max_message_bytes: 65536"});
  auto channel = fx.channel();
  // Not a protobuf message: a field with wire type 7, a length past the end.
  for (const std::string& junk : {std::string("\xff\xff\xff\xff", 4), std::string("\x0a\x7f", 2),
                                  std::string("\x0a\xff\xff\xff\xff\x0f", 6)}) {
    const grpc::Status s = raw_call(channel, "/tartan.v1.Nodes/ApplyNode", junk);
    EXPECT_TRUE(s.error_code() == grpc::StatusCode::INTERNAL ||
                s.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
        << s.error_code() << ": " << s.error_message();
  }
  // Above control.max_message_bytes: refused before it is parsed.
  v1::Node big = flannel_node(2);
  (*big.mutable_annotations())["example.com/padding"] = std::string(70000, 'x');
  auto nodes = v1::Nodes::NewStub(channel);
  const grpc::Status too_big = apply(*nodes, big);
  EXPECT_EQ(too_big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << too_big.error_message();
  v1::GetNodeRequest get;
  get.set_name("node-2");
  v1::Node out;
  EXPECT_EQ(nodes->GetNode(ctx().get(), get, &out).error_code(), grpc::StatusCode::NOT_FOUND)
      << "nothing of the oversized request was applied";
  // Just under the limit is fine, and the server serves on.
  (*big.mutable_annotations())["example.com/padding"] = std::string(60000, 'x');
  EXPECT_TRUE(apply(*nodes, big).ok());
  v1::HealthCheckResponse health;
  EXPECT_TRUE(v1::Health::NewStub(channel)->Check(ctx().get(), {}, &health).ok());
}

}  // namespace
}  // namespace tartan
