// A watch response's bytes to events, whatever the chunking: the splitter
// must give the same values for every way of cutting the same stream, and
// refuse garbage and oversized values with a clear error.
#include "control/sources/kube/watch_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/support/kubelet_node.h"

namespace tartan {
namespace {

using nlohmann::json;
using testing::kubelet_node;
using testing::KubeletNodeSpec;

NodeDecodeOptions options() {
  return node_decode_options(annotation_keys("flannel.alpha.coreos.com").value(), "worker-1");
}

json event(const char* type, const json& object) {
  return {{"type", type}, {"object", object}};
}

// A real stream's events: kubelet-managed Nodes (whose backend-data
// annotation is JSON in a string: escaped quotes and braces), a string
// made to confuse a splitter, a bookmark and an ERROR.
std::vector<std::string> stream_events() {
  KubeletNodeSpec a{.name = "worker-1", .resource_version = "100"};
  KubeletNodeSpec b{.name = "worker-2",
                    .resource_version = "101",
                    .pod_cidr = "10.244.2.0/24",
                    .internal_ip = "192.168.56.12"};
  json tricky = kubelet_node(b);
  tricky["metadata"]["resourceVersion"] = "102";
  tricky["metadata"]["annotations"]["tartan.io/note"] =
      "a \"}{\" ]][[ \\\" \\\\ \\u00e9 \xc3\xa9 }";
  return {
      event("ADDED", kubelet_node(a)).dump(),
      event("ADDED", kubelet_node(b)).dump(),
      event("MODIFIED", tricky).dump(),
      event("BOOKMARK",
            {{"kind", "Node"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", "150"}}}})
          .dump(),
      event("DELETED", tricky).dump(),
      event("ERROR", {{"kind", "Status"},
                      {"apiVersion", "v1"},
                      {"metadata", json::object()},
                      {"status", "Failure"},
                      {"message", "too old resource version: 1 (150)"},
                      {"reason", "Expired"},
                      {"code", 410}})
          .dump(),
  };
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += v + "\n";  // as kube-apiserver writes them
  return out;
}

// Feeds `bytes` in pieces of the given sizes and returns the values.
std::vector<std::string> split(const std::string& bytes, const std::vector<size_t>& cuts,
                               Status* status = nullptr, size_t max = 1 << 20) {
  JsonStreamSplitter splitter(max);
  std::vector<std::string> values;
  size_t at = 0;
  for (size_t i = 0; at < bytes.size(); ++i) {
    const size_t n = i < cuts.size() ? cuts[i] : bytes.size() - at;
    Status s = splitter.feed(std::string_view(bytes).substr(at, n), [&](std::string_view v) {
      values.emplace_back(v);
      return Status();
    });
    at += n;
    if (!s.ok()) {
      if (status != nullptr) *status = s;
      break;
    }
  }
  return values;
}

TEST(JsonStreamSplitter, OneChunkWithEveryEvent) {
  const auto events = stream_events();
  EXPECT_EQ(split(joined(events), {}), events);
}

TEST(JsonStreamSplitter, OneByteChunks) {
  const auto events = stream_events();
  const std::string bytes = joined(events);
  EXPECT_EQ(split(bytes, std::vector<size_t>(bytes.size(), 1)), events);
}

TEST(JsonStreamSplitter, RandomChunkingsGiveTheSameValues) {
  const auto events = stream_events();
  const std::string bytes = joined(events);
  std::mt19937 rng(20261203);
  for (int round = 0; round < 300; ++round) {
    std::vector<size_t> cuts;
    const size_t max_piece = size_t{1} << (round % 15);
    std::uniform_int_distribution<size_t> piece(1, max_piece);
    for (size_t at = 0; at < bytes.size();) {
      cuts.push_back(std::min(piece(rng), bytes.size() - at));
      at += cuts.back();
    }
    ASSERT_EQ(split(bytes, cuts), events) << "round " << round;
  }
}

TEST(JsonStreamSplitter, ValuesWithoutNewlinesAndWithCrLf) {
  const std::string bytes = "{\"a\":1}{\"b\":[{}]}\r\n\t {\"c\":\"}\"}";
  EXPECT_EQ(split(bytes, {3, 9, 2}),
            (std::vector<std::string>{"{\"a\":1}", "{\"b\":[{}]}", "{\"c\":\"}\"}"}));
}

TEST(JsonStreamSplitter, PendingCountsAnUnfinishedValue) {
  JsonStreamSplitter splitter(1024);
  int values = 0;
  const auto count = [&](std::string_view) {
    ++values;
    return Status();
  };
  ASSERT_TRUE(splitter.feed("{\"type\":\"ADDED\"}\n{\"type\":\"MOD", count).ok());
  EXPECT_EQ(values, 1);
  EXPECT_EQ(splitter.pending(), std::string("{\"type\":\"MOD").size());
  ASSERT_TRUE(splitter.feed("IFIED\"}\n", count).ok());
  EXPECT_EQ(values, 2);
  EXPECT_EQ(splitter.pending(), 0u);
}

TEST(JsonStreamSplitter, GarbageBetweenValuesIsAnErrorNamingTheOffset) {
  Status s;
  const auto values = split("{\"a\":1}\n<html>", {10}, &s);
  EXPECT_EQ(values.size(), 1u);
  EXPECT_EQ(s.message(), "watch stream: byte 0x3c at offset 8 is not '{'");

  JsonStreamSplitter splitter(1024);
  const auto ignore = [](std::string_view) { return Status(); };
  EXPECT_FALSE(splitter.feed("}", ignore).ok());
  // Failed for good: the stream cannot be resynchronised.
  EXPECT_EQ(splitter.feed("{}", ignore).message(),
            "watch stream: byte 0x7d at offset 0 is not '{'");
}

TEST(JsonStreamSplitter, OversizedValueIsRefusedBeforeItIsHeld) {
  Status s;
  const std::string big = "{\"a\":\"" + std::string(5000, 'x') + "\"}";
  const auto values = split("{}\n" + big, std::vector<size_t>(100, 64), &s, 4096);
  EXPECT_EQ(values, std::vector<std::string>{"{}"});
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "watch stream: an event larger than 4096 bytes (lease.kube.max_response_mb)");
}

TEST(JsonStreamSplitter, NestingIsBounded) {
  Status s;
  split(std::string(300, '{'), {}, &s);
  EXPECT_EQ(s.message(), "watch stream: an event nested deeper than 256");
}

TEST(JsonStreamSplitter, OnValuesErrorStopsTheStream) {
  JsonStreamSplitter splitter(1024);
  int values = 0;
  const Status s = splitter.feed("{}{}{}", [&](std::string_view) {
    return ++values == 2 ? Status::invalid("no more") : Status();
  });
  EXPECT_EQ(s.message(), "no more");
  EXPECT_EQ(values, 2);
}

TEST(WatchEventDecoder, EveryTypeOfARealStream) {
  const auto events = stream_events();
  auto added = decode_watch_event(events[0], options());
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(added->type, WatchEventType::kAdded);
  EXPECT_EQ(added->node.spec.name, "worker-1");
  EXPECT_EQ(added->node.resource_version, "100");
  EXPECT_EQ(added->node.spec.pod_cidrs, std::vector<std::string>{"10.244.1.0/24"});
  ASSERT_TRUE(added->node.network_unavailable.has_value());  // our own node
  EXPECT_EQ(added->node.network_unavailable->reason, "FlannelIsUp");

  auto modified = decode_watch_event(events[2], options());
  ASSERT_TRUE(modified.ok()) << modified.status().message();
  EXPECT_EQ(modified->type, WatchEventType::kModified);
  EXPECT_EQ(modified->node.spec.annotations.at("tartan.io/note"),
            "a \"}{\" ]][[ \\\" \\\\ \\u00e9 \xc3\xa9 }");
  EXPECT_FALSE(modified->node.network_unavailable.has_value());  // not ours

  auto bookmark = decode_watch_event(events[3], options());
  ASSERT_TRUE(bookmark.ok()) << bookmark.status().message();
  EXPECT_EQ(bookmark->type, WatchEventType::kBookmark);
  EXPECT_EQ(bookmark->node, (KubeNode{.resource_version = "150"}));

  auto deleted = decode_watch_event(events[4], options());
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->type, WatchEventType::kDeleted);
  EXPECT_EQ(deleted->node.spec.name, "worker-2");

  auto error = decode_watch_event(events[5], options());
  ASSERT_TRUE(error.ok()) << error.status().message();
  EXPECT_EQ(error->type, WatchEventType::kError);
  EXPECT_EQ(error->error.code, 410);
  EXPECT_EQ(error->error.reason, "Expired");
  EXPECT_EQ(error->error.message, "too old resource version: 1 (150)");
}

TEST(WatchEventDecoder, MalformedEventsNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"object\":{}}", "type: missing"},
      {"{\"type\":\"ADDED\"}", "object: missing"},
      {"{\"type\":\"RENAMED\",\"object\":{}}", "type: unknown event type 'RENAMED'"},
      {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}",
       "object.metadata.name: missing"},
      {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"1\"},"
       "\"spec\":{\"podCIDRs\":[\"10.0.0.0/24\",7]}}}",
       "object.spec.podCIDRs[1]: not a string"},
      {"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}",
       "object.metadata.resourceVersion: missing"},
      {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Node\"}}", "object: not a Status"},
      {"[1,2]", "watch event: not a JSON object"},
  };
  for (const auto& [text, message] : cases) {
    auto e = decode_watch_event(text, options());
    ASSERT_FALSE(e.ok()) << text;
    EXPECT_EQ(e.status().message(), message) << text;
  }
  auto truncated = decode_watch_event("{\"type\":\"ADDED\",\"object\":{\"metadata\":", options());
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().message().rfind("watch event: invalid JSON: ", 0), 0u)
      << truncated.status().message();
}

}  // namespace
}  // namespace tartan
