#include "control/http/http_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "control/http/listen_address.h"
#include "engine/log.h"

namespace tartan {
namespace {

constexpr unsigned kMaxConnections = 16;      // probes and a scraper or two
constexpr unsigned kConnectionTimeoutS = 10;  // an idle client holds nothing longer

void log_mhd(void*, const char* format, va_list args) {
  char line[512];
  const int n = std::vsnprintf(line, sizeof line, format, args);
  // libmicrohttpd ends its messages with a newline; the log adds its own.
  if (n > 0 && static_cast<size_t>(n) < sizeof line && line[n - 1] == '\n') line[n - 1] = '\0';
  TARTAN_LOG(WARNING, kControl, "http: %s", line);
}

// A bound, listening socket for `a`, or why not. Made here rather than by
// libmicrohttpd so the error says exactly what failed (EADDRINUSE...).
Result<int> listen_socket(const ListenAddress& a, const std::string& text) {
  const int fd = socket(a.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::internal(text + ": socket: " + std::strerror(errno));
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // a restart finds TIME_WAITs
  if (a.ipv6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0 || listen(fd, 64) != 0) {
    const int err = errno;
    close(fd);
    return Status(ErrorCode::kUnavailable, text + ": cannot listen: " + std::strerror(err));
  }
  return fd;
}

std::string header(MHD_Connection* c, MHD_ValueKind kind, const char* name) {
  const char* v = MHD_lookup_connection_value(c, kind, name);
  return v == nullptr ? "" : v;
}

MHD_Result collect_query(void* out, MHD_ValueKind, const char* key, const char* value) {
  (*static_cast<std::map<std::string, std::string>*>(out))[key] = value == nullptr ? "" : value;
  return MHD_YES;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                      std::map<std::string, HttpHandler> routes) {
  auto address = parse_listen_address(listen);
  if (!address) return address.status();
  auto fd = listen_socket(*address, listen);
  if (!fd) return fd.status();
  std::unique_ptr<HttpServer> s(new HttpServer(std::move(routes)));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &len);
  s->address_ = listen_address_str(bound);
  s->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_ERROR_LOG | (address->ipv6 ? MHD_USE_IPv6 : 0);
  // The logger first, so that even messages about the other options go to our log.
  s->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &HttpServer::on_request, s.get(), MHD_OPTION_EXTERNAL_LOGGER,
      &log_mhd, nullptr, MHD_OPTION_LISTEN_SOCKET, *fd, MHD_OPTION_CONNECTION_LIMIT,
      kMaxConnections, MHD_OPTION_CONNECTION_TIMEOUT, kConnectionTimeoutS, MHD_OPTION_END);
  if (s->daemon_ == nullptr) {
    close(*fd);
    return Status::internal(listen + ": libmicrohttpd did not start (see the log)");
  }
  return s;
}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);  // closes the listening socket too
}

HttpResponse HttpServer::answer(MHD_Connection* connection, const std::string& path,
                                const std::string& method) const {
  const auto route = routes_.find(path);
  if (route == routes_.end()) return {404, "text/plain; charset=utf-8", "404 page not found\n"};
  if (method != MHD_HTTP_METHOD_GET && method != MHD_HTTP_METHOD_HEAD)
    return {405, "text/plain; charset=utf-8", "405 method not allowed (GET or HEAD)\n"};
  HttpRequest request{path, {}, header(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT)};
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collect_query, &request.query);
  try {
    return route->second(request);
  } catch (const std::exception& e) {  // never into libmicrohttpd's C frames
    return {500, "text/plain; charset=utf-8", std::string("500 ") + e.what() + "\n"};
  }
}

MHD_Result HttpServer::on_request(void* self, MHD_Connection* connection, const char* url,
                                  const char* method, const char*, const char*,
                                  size_t* upload_data_size, void** request_state) {
  // Answered on the first call, with the headers: no route takes a body,
  // and one that still arrives is dropped.
  if (*request_state != nullptr) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  *request_state = self;
  const HttpResponse r = static_cast<HttpServer*>(self)->answer(connection, url, method);
  MHD_Response* response = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  if (r.status == 405) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  const MHD_Result queued = MHD_queue_response(connection, r.status, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace tartan
