#include "engine/log.h"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace tartan {
namespace {

struct LogType {
  const char* name;
  const char* tag;
  int id;
};

LogType* log_types() {
  static LogType types[] = {
      {"tartan.engine", "engine",
       rte_log_register_type_and_pick_level("tartan.engine", RTE_LOG_INFO)},
      {"tartan.control", "control",
       rte_log_register_type_and_pick_level("tartan.control", RTE_LOG_INFO)},
  };
  return types;
}

constexpr const char* kLevelNames[] = {"emerg",   "alert",  "crit", "err",
                                       "warning", "notice", "info", "debug"};

}  // namespace

std::optional<uint32_t> parse_log_level(std::string_view text) {
  for (uint32_t i = 0; i < 8; ++i) {
    if (text == kLevelNames[i] || text == std::to_string(i + 1)) return i + 1;
  }
  return std::nullopt;
}

void set_log_level(uint32_t level) {
  for (int i = 0; i < 2; ++i) rte_log_set_level(log_types()[i].id, level);
}

void log_message(uint32_t level, LogComponent component, const char* format, ...) {
  const LogType& type = log_types()[static_cast<int>(component)];
  if (!rte_log_can_log(type.id, level)) return;
  char line[1024];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(line, sizeof line, format, ap);
  va_end(ap);
  rte_log(level, type.id, "tartan %s %s: %s\n", type.tag, kLevelNames[level - 1], line);
}

}  // namespace tartan
