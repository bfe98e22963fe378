// tartand's plain-HTTP server (libmicrohttpd): fixed paths, each answered
// by a handler, for probes and scrapers (/healthz, /readyz, /metrics).
// GET and HEAD only: another method gets 405, another path 404.
// Handlers run on the connection's own thread, so a slow one (a liveness
// check waiting for a lock) holds up no other request.
#pragma once

#include <microhttpd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/status.h"

namespace tartan {

struct HttpRequest {
  std::string path;
  std::map<std::string, std::string> query;  // ?format=json
  std::string accept;                        // the Accept header, "" when absent
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Listens on `listen` (control.http.listen syntax) and serves `routes`
  // (path -> handler) until destroyed. Errors name the address and why
  // (a bad address, the port in use).
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                   std::map<std::string, HttpHandler> routes);
  ~HttpServer();  // stops listening and waits for requests under way
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Where it listens, the port filled in ("127.0.0.1:40123").
  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }

 private:
  HttpServer(std::map<std::string, HttpHandler> routes) : routes_(std::move(routes)) {}
  static MHD_Result on_request(void* self, MHD_Connection* connection, const char* url,
                               const char* method, const char* version, const char* upload_data,
                               size_t* upload_data_size, void** request_state);
  HttpResponse answer(MHD_Connection* connection, const std::string& path,
                      const std::string& method) const;

  const std::map<std::string, HttpHandler> routes_;
  MHD_Daemon* daemon_ = nullptr;
  std::string address_;
  uint16_t port_ = 0;
};

}  // namespace tartan
