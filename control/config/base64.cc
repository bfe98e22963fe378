#include "control/config/base64.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <vector>

namespace tartan {

// yaml-cpp's decoder (used here) skips whitespace and refuses bad
// characters but silently drops an incomplete last group, so that is
// checked first.
std::optional<std::string> decode_base64(std::string_view text) {
  size_t chars = 0;
  for (unsigned char c : text) chars += std::isspace(c) ? 0 : 1;
  if (chars == 0 || chars % 4 != 0) return std::nullopt;
  const std::vector<unsigned char> bytes = YAML::DecodeBase64(std::string(text));
  if (bytes.empty()) return std::nullopt;
  return std::string(bytes.begin(), bytes.end());
}

std::string encode_base64(std::string_view bytes) {
  return YAML::EncodeBase64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

}  // namespace tartan
