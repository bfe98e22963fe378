#include "control/sources/kube/kube_status.h"

#include <nlohmann/json.hpp>

namespace tartan {
namespace {

constexpr size_t kBodyExcerpt = 200;

// Printable and on one line, for a log.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kBodyExcerpt)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  if (body.size() > kBodyExcerpt) return out + "...";
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::optional<KubeApiStatus> kube_api_status(const nlohmann::json& object) {
  if (!object.is_object()) return std::nullopt;
  const auto kind = object.find("kind");
  if (kind == object.end() || !kind->is_string() || kind->get<std::string>() != "Status")
    return std::nullopt;
  KubeApiStatus s;
  if (auto it = object.find("code"); it != object.end() && it->is_number_integer())
    s.code = it->get<int>();
  if (auto it = object.find("reason"); it != object.end() && it->is_string())
    s.reason = it->get<std::string>();
  if (auto it = object.find("message"); it != object.end() && it->is_string())
    s.message = it->get<std::string>();
  return s;
}

const char* http_status_text(long code) {
  switch (code) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string size_text(size_t bytes) {
  constexpr size_t kMiB = size_t{1} << 20;
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string describe_http_error(long code, std::string_view body) {
  std::string out = std::to_string(code);
  if (const char* text = http_status_text(code); *text != '\0') out += std::string(" ") + text;
  if (body.empty()) return out;
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (const auto status = kube_api_status(json); status && !status->message.empty())
    return out + ": " + status->message;
  return out + ": " + excerpt(body);
}

}  // namespace tartan
