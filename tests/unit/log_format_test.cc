#include <gtest/gtest.h>

#include "engine/log.h"

namespace tartan {
namespace {

TEST(LogFormat, TextLinesCarryTimeLevelAndComponent) {
  EXPECT_EQ(format_log_line(LogFormat::kText, "2026-12-03T22:45:01.123Z", "info", "control",
                            "node b applied"),
            "2026-12-03T22:45:01.123Z info control: node b applied\n");
}

TEST(LogFormat, JsonLinesAreOneEscapedObject) {
  EXPECT_EQ(format_log_line(LogFormat::kJson, "2026-12-03T22:45:01.123Z", "err", "dpdk",
                            "EAL: \"x\"\tat \\ \x01"),
            "{\"time\":\"2026-12-03T22:45:01.123Z\",\"level\":\"err\",\"component\":\"dpdk\","
            "\"msg\":\"EAL: \\\"x\\\"\\tat \\\\ \\u0001\"}\n");
}

TEST(LogFormat, LevelsAndFormatsParse) {
  EXPECT_EQ(parse_log_level("warning"), uint32_t{RTE_LOG_WARNING});
  EXPECT_STREQ(log_level_name(RTE_LOG_DEBUG), "debug");
  EXPECT_EQ(parse_log_format("json"), LogFormat::kJson);
  EXPECT_FALSE(parse_log_format("xml").has_value());
}

}  // namespace
}  // namespace tartan
