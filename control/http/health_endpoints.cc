#include "control/http/health_endpoints.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "control/api/health_service.h"

namespace tartan {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

HttpResponse healthz(ControlLoopProbe& probe) {
  if (probe.answers()) return {200, kText, "ok"};
  return {
      503, kText,
      "control loop did not answer within " + std::to_string(probe.deadline().count()) + " ms\n"};
}

// The Health API's JSON, as `tartanctl -o json health` prints it.
std::string as_json(const v1::HealthCheckResponse& report) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(report, &json, opts);
  return json;
}

// `tartanctl health`'s lines: a summary, then each condition.
std::string as_text(const v1::HealthCheckResponse& report) {
  std::string out = "tartand " + report.version() + ": " +
                    (report.ready() ? "ready" : "NOT READY") + " (up " +
                    std::to_string(report.uptime_seconds()) + "s)\n";
  size_t width = 0;
  for (const auto& c : report.conditions()) width = std::max(width, c.name().size());
  for (const auto& c : report.conditions()) {
    out += c.name() + std::string(width - c.name().size() + 3, ' ') + (c.ok() ? "yes" : "no ") +
           "   " + c.message() + "\n";
  }
  return out;
}

HttpResponse readyz(const Readiness& readiness, const HttpRequest& request) {
  const auto format = request.query.find("format");
  bool json = request.accept.find("application/json") != std::string::npos;
  if (format != request.query.end()) {
    if (format->second != "json" && format->second != "text")
      return {400, kText, "format: expected json or text, found '" + format->second + "'\n"};
    json = format->second == "json";
  }
  const v1::HealthCheckResponse report = health_report(readiness);
  const unsigned status = report.ready() ? 200 : 503;
  if (json) return {status, "application/json", as_json(report)};
  return {status, kText, as_text(report)};
}

}  // namespace

std::map<std::string, HttpHandler> health_routes(const Readiness& readiness,
                                                 ControlLoopProbe& probe) {
  return {
      {"/healthz", [&probe](const HttpRequest&) { return healthz(probe); }},
      {"/readyz", [&readiness](const HttpRequest& r) { return readyz(readiness, r); }},
  };
}

}  // namespace tartan
