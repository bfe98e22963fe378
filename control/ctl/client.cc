#include "control/ctl/client.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tartan::ctl {
namespace {

std::string read_pem(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "tartanctl: cannot read '%s'\n", path.c_str());
    std::exit(kExitUsage);
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::shared_ptr<grpc::Channel> connect(const GlobalOptions& g) {
  if (g.addr.empty())
    return grpc::CreateChannel("unix://" + g.socket, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions ssl;
  if (!g.tls_ca.empty()) ssl.pem_root_certs = read_pem(g.tls_ca);
  if (!g.tls_cert.empty()) ssl.pem_cert_chain = read_pem(g.tls_cert);
  if (!g.tls_key.empty()) ssl.pem_private_key = read_pem(g.tls_key);
  return grpc::CreateChannel(g.addr, grpc::SslCredentials(ssl));
}

std::unique_ptr<grpc::ClientContext> call_context(const GlobalOptions& g, bool stream) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!stream)
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(g.timeout_seconds));
  return ctx;
}

int report(const grpc::Status& s, const GlobalOptions& g) {
  const std::string where = g.addr.empty() ? g.socket : g.addr;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::fprintf(stderr, "tartanctl: cannot reach tartand at %s: %s\n", where.c_str(),
                 s.error_message().c_str());
  } else {
    std::fprintf(stderr, "tartanctl: %s\n", s.error_message().c_str());
  }
  return kExitFailed;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "tartanctl: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace tartan::ctl
