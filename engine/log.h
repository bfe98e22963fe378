// tartan logs through rte_log, under its own log types ("tartan.engine",
// "tartan.control"), so one --log-level and DPDK's own log plumbing
// (stream, syslog, telemetry) cover the whole process.
#pragma once

#include <rte_log.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace tartan {

enum class LogComponent { kEngine, kControl };

// Parses "emerg".."debug" or "1".."8" into an RTE_LOG_* level.
std::optional<uint32_t> parse_log_level(std::string_view text);

// Sets the level of every tartan log type.
void set_log_level(uint32_t level);

void log_message(uint32_t level, LogComponent component, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace tartan

#define TARTAN_LOG(level, component, ...) \
  ::tartan::log_message(RTE_LOG_##level, ::tartan::LogComponent::component, __VA_ARGS__)
