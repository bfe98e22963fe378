#include "control/api/pcapng_writer.h"

#include <cstring>

namespace tartan {
namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterface = 1, kEnhancedPacket = 6;
constexpr uint16_t kLinkEthernet = 1;
constexpr uint16_t kOptEnd = 0, kOptComment = 1, kShbUserAppl = 4, kIfName = 2, kIfTsresol = 9,
                   kEpbFlags = 2;

// Host byte order, which the section header's magic declares.
template <class T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void pad4(std::string& out) {
  while (out.size() % 4 != 0) out += '\0';
}

void option(std::string& out, uint16_t code, const void* value, uint16_t len) {
  put(out, code);
  put(out, len);
  out.append(static_cast<const char*>(value), len);
  pad4(out);
}

// A block: type, total length, body, total length again.
void block(std::string& out, uint32_t type, const std::string& body) {
  const uint32_t total = static_cast<uint32_t>(12 + body.size());
  put(out, type);
  put(out, total);
  out += body;
  put(out, total);
}

void end_options(std::string& body) {
  put(body, kOptEnd);
  put(body, uint16_t{0});
}

}  // namespace

std::string pcapng_header(const std::vector<std::string>& names, uint32_t snaplen) {
  std::string out, body;
  put(body, uint32_t{0x1A2B3C4D});
  put(body, uint16_t{1});
  put(body, uint16_t{0});
  put(body, int64_t{-1});  // section length not given
  const std::string app = "tartand";
  option(body, kShbUserAppl, app.data(), static_cast<uint16_t>(app.size()));
  end_options(body);
  block(out, kSectionHeader, body);
  for (const std::string& name : names) {
    body.clear();
    put(body, kLinkEthernet);
    put(body, uint16_t{0});
    put(body, snaplen);
    option(body, kIfName, name.data(), static_cast<uint16_t>(name.size()));
    const uint8_t nanoseconds = 9;
    option(body, kIfTsresol, &nanoseconds, 1);
    end_options(body);
    block(out, kInterface, body);
  }
  return out;
}

void append_pcapng_packet(std::string& out, uint32_t interface, uint64_t time_ns,
                          const uint8_t* data, uint32_t cap_len, uint32_t orig_len,
                          PcapngDirection direction, const std::string& comment) {
  std::string body;
  put(body, interface);
  put(body, static_cast<uint32_t>(time_ns >> 32));
  put(body, static_cast<uint32_t>(time_ns));
  put(body, cap_len);
  put(body, orig_len);
  body.append(reinterpret_cast<const char*>(data), cap_len);
  pad4(body);
  if (!comment.empty())
    option(body, kOptComment, comment.data(), static_cast<uint16_t>(comment.size()));
  if (direction != PcapngDirection::kUnknown) {
    const uint32_t flags = static_cast<uint32_t>(direction);
    option(body, kEpbFlags, &flags, 4);
  }
  end_options(body);
  block(out, kEnhancedPacket, body);
}

}  // namespace tartan
