#include "engine/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace tartan {
namespace {

struct LogType {
  const char* name;
  const char* tag;
  int id;
};

constexpr int kTypes = 3;

LogType* log_types() {
  static LogType types[kTypes] = {
      {"tartan.engine", "engine",
       rte_log_register_type_and_pick_level("tartan.engine", RTE_LOG_INFO)},
      {"tartan.control", "control",
       rte_log_register_type_and_pick_level("tartan.control", RTE_LOG_INFO)},
      {"tartan.daemon", "tartand",
       rte_log_register_type_and_pick_level("tartan.daemon", RTE_LOG_INFO)},
  };
  return types;
}

constexpr const char* kLevelNames[] = {"emerg",   "alert",  "crit", "err",
                                       "warning", "notice", "info", "debug"};

const char* component_tag(int type) {
  for (int i = 0; i < kTypes; ++i) {
    if (log_types()[i].id == type) return log_types()[i].tag;
  }
  return "dpdk";
}

std::string now_rfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return text;
}

// engine/ takes no JSON library (DESIGN.md), and a log line needs only
// string escaping.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out += esc;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// rte_log writes a message with one vfprintf on an unbuffered stream, so one
// call here is usually one message; a message split over several calls (or
// several lines in one) is reassembled into whole lines first. rte_vlog sets
// the per-thread current level and type before it writes.
struct LineWriter {
  std::mutex mutex;
  LogFormat format = LogFormat::kText;
  std::string pending;
  int level = RTE_LOG_INFO;
  int type = -1;
};

LineWriter& writer() {
  static LineWriter w;
  return w;
}

void write_all(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) return;  // nowhere to log to: drop, never block the caller
    done += static_cast<size_t>(n);
  }
}

ssize_t write_log(void*, const char* buf, size_t size) {
  LineWriter& w = writer();
  std::lock_guard lock(w.mutex);
  if (w.pending.empty()) {
    w.level = rte_log_cur_msg_loglevel();
    w.type = rte_log_cur_msg_logtype();
  }
  w.pending.append(buf, size);
  std::string out;
  size_t start = 0;
  for (size_t nl; (nl = w.pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    out += format_log_line(w.format, now_rfc3339(), log_level_name(static_cast<uint32_t>(w.level)),
                           component_tag(w.type),
                           std::string_view(w.pending).substr(start, nl - start));
  }
  w.pending.erase(0, start);
  write_all(out);
  return static_cast<ssize_t>(size);
}

}  // namespace

std::optional<uint32_t> parse_log_level(std::string_view text) {
  for (uint32_t i = 0; i < 8; ++i) {
    if (text == kLevelNames[i] || text == std::to_string(i + 1)) return i + 1;
  }
  return std::nullopt;
}

const char* log_level_name(uint32_t level) {
  return level >= 1 && level <= 8 ? kLevelNames[level - 1] : "info";
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

void set_log_level(uint32_t level) {
  for (int i = 0; i < kTypes; ++i) rte_log_set_level(log_types()[i].id, level);
}

void install_log_stream(LogFormat format) {
  {
    std::lock_guard lock(writer().mutex);
    writer().format = format;
  }
  static FILE* const stream = [] {
    FILE* f =
        fopencookie(nullptr, "w", cookie_io_functions_t{nullptr, write_log, nullptr, nullptr});
    if (f != nullptr) setvbuf(f, nullptr, _IONBF, 0);
    return f;
  }();
  if (stream != nullptr) rte_openlog_stream(stream);
}

std::string format_log_line(LogFormat format, std::string_view time, std::string_view level,
                            std::string_view component, std::string_view message) {
  std::string line;
  if (format == LogFormat::kJson) {
    line += "{\"time\":";
    append_json_string(line, time);
    line += ",\"level\":";
    append_json_string(line, level);
    line += ",\"component\":";
    append_json_string(line, component);
    line += ",\"msg\":";
    append_json_string(line, message);
    line += "}\n";
  } else {
    line.append(time).append(" ").append(level).append(" ");
    line.append(component).append(": ").append(message).append("\n");
  }
  return line;
}

bool log_enabled(uint32_t level, LogComponent component) {
  return rte_log_can_log(log_types()[static_cast<int>(component)].id, level);
}

void log_message(uint32_t level, LogComponent component, const char* format, ...) {
  if (!log_enabled(level, component)) return;
  const LogType& type = log_types()[static_cast<int>(component)];
  char line[1024];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(line, sizeof line, format, ap);
  va_end(ap);
  rte_log(level, type.id, "%s\n", line);
}

}  // namespace tartan
