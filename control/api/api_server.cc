#include "control/api/api_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/host/leftovers.h"
#include "engine/log.h"

namespace tartan {
namespace {

Result<std::string> read_file(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in)
    return Status(ErrorCode::kFailedPrecondition,
                  std::string("cannot read ") + what + " '" + path + "'");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// True when something accepts connections on the socket: another tartand.
Result<std::shared_ptr<grpc::ServerCredentials>> tls_credentials(const ControlConfig& config) {
  auto cert = read_file(config.tls_cert, "control.tls.cert");
  if (!cert) return cert.status();
  auto key = read_file(config.tls_key, "control.tls.key");
  if (!key) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tls_client_ca.empty()) {
    auto ca = read_file(config.tls_client_ca, "control.tls.client_ca");
    if (!ca) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// Only root and the members of control.socket_group may connect.
Status restrict_socket(const std::string& path, const ControlConfig& config) {
  if (config.socket_gid && chown(path.c_str(), static_cast<uid_t>(-1), *config.socket_gid) != 0) {
    return Status(ErrorCode::kFailedPrecondition, "control.socket_group: chown '" + path +
                                                      "' to group '" + config.socket_group +
                                                      "': " + std::strerror(errno));
  }
  if (chmod(path.c_str(), 0660) != 0) {
    return Status(ErrorCode::kFailedPrecondition,
                  "control.listen: chmod 0660 '" + path + "': " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::start(const ControlConfig& config,
                                                    const std::vector<grpc::Service*>& services) {
  auto server = std::unique_ptr<ApiServer>(new ApiServer());
  server->address_ = config.listen;
  server->socket_path_ = unix_socket_path(config.listen);
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!server->socket_path_.empty()) {
    const std::string& path = server->socket_path_;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) {
      return Status(ErrorCode::kFailedPrecondition,
                    "control.listen: cannot create directory for '" + path + "': " + ec.message());
    }
    if (unix_socket_answers(path)) {
      return Status(ErrorCode::kAlreadyExists, "control.listen: another process serves on '" +
                                                   path + "' (is tartand already running?)");
    }
    unlink(path.c_str());  // a stale socket from a process that died
    creds = grpc::InsecureServerCredentials();
  } else {
    auto tls = tls_credentials(config);
    if (!tls) return tls.status();
    creds = *tls;
  }

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(config.listen, creds, &bound_port);
  // Bounds on what one client can make the server hold: a larger message
  // is refused with RESOURCE_EXHAUSTED, a connection's further calls wait
  // for one of its open calls to end.
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(config.max_concurrent_streams));
  for (grpc::Service* s : services) builder.RegisterService(s);
  server->server_ = builder.BuildAndStart();
  server->port_ = server->socket_path_.empty() ? bound_port : 0;
  if (!server->server_ || (server->socket_path_.empty() && bound_port == 0)) {
    return Status(ErrorCode::kUnavailable,
                  "control.listen: cannot listen on '" + config.listen + "'");
  }
  if (!server->socket_path_.empty()) {
    if (Status s = restrict_socket(server->socket_path_, config); !s.ok()) return s;
  }
  TARTAN_LOG(INFO, kControl, "control API listening on %s", config.listen.c_str());
  return server;
}

void ApiServer::shutdown() {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
}

ApiServer::~ApiServer() {
  shutdown();
}

}  // namespace tartan
