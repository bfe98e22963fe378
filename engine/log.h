// tartan logs through rte_log, under its own log types ("tartan.engine",
// "tartan.control", "tartan.daemon"), so one --log-level and DPDK's own log
// plumbing cover the whole process. install_log_stream() gives every line,
// DPDK's own included, one prefix: RFC 3339 UTC time, level and component
// ("2026-12-03T22:45:01.123Z info control: ..."), or one JSON object a line.
#pragma once

#include <rte_log.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tartan {

enum class LogComponent { kEngine, kControl, kDaemon };

enum class LogFormat { kText, kJson };

// Parses "emerg".."debug" or "1".."8" into an RTE_LOG_* level.
std::optional<uint32_t> parse_log_level(std::string_view text);

// "emerg".."debug" for an RTE_LOG_* level.
const char* log_level_name(uint32_t level);

// Parses "text" or "json".
std::optional<LogFormat> parse_log_format(std::string_view text);

// Sets the level of every tartan log type.
void set_log_level(uint32_t level);

// Makes rte_log write to stdout through tartan's line formatter, in `format`.
// Call before rte_eal_init, whose own default stream it then replaces.
void install_log_stream(LogFormat format);

// One formatted line (with its '\n') as install_log_stream() writes it;
// `time` is RFC 3339, `component` the tartan tag or "dpdk".
std::string format_log_line(LogFormat format, std::string_view time, std::string_view level,
                            std::string_view component, std::string_view message);

// Whether a line of `level` from `component` would be written: a caller
// whose message costs something to build asks first.
bool log_enabled(uint32_t level, LogComponent component);

void log_message(uint32_t level, LogComponent component, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace tartan

#define TARTAN_LOG(level, component, ...) \
  ::tartan::log_message(RTE_LOG_##level, ::tartan::LogComponent::component, __VA_ARGS__)
