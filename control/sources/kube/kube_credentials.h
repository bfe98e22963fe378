// What a connection to the Kubernetes API server needs, from lease.kube:
// the in-cluster service account, or a kubeconfig file read as client-go's
// clientcmd reads one (tools/clientcmd: loader.go ResolvePaths,
// client_config.go, validation.go), with flanneld's --kube-api-url
// replacing the server. Files are read once here, so a missing or
// malformed one is an error naming the file and the field at start-up,
// never a crash later; only the token file is read again (projected
// service-account tokens rotate).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "control/config/kube_config.h"
#include "engine/status.h"

namespace tartan {

// The bearer token a request carries: a fixed one, or a file read again
// once the last read is older than the reload interval. Thread-safe.
class KubeToken {
 public:
  explicit KubeToken(std::string token) : token_(std::move(token)) {}
  // Reads `path` now: a missing or empty file is an error naming it.
  static Result<std::shared_ptr<KubeToken>> from_file(std::string path,
                                                      std::chrono::seconds reload);

  // The token to send now. A file that cannot be read again keeps the last
  // token (as client-go's cachingTokenSource does) and logs why.
  std::string current();
  const std::string& path() const { return path_; }  // "" for a fixed token

 private:
  using Clock = std::chrono::steady_clock;
  KubeToken(std::string token, std::string path, std::chrono::seconds reload)
      : token_(std::move(token)), path_(std::move(path)), reload_(reload), read_at_(Clock::now()) {}

  std::mutex mu_;
  std::string token_;
  const std::string path_;
  const std::chrono::seconds reload_{0};
  Clock::time_point read_at_;
};

struct KubeCredentials {
  std::string server;  // "https://10.96.0.1:443", no trailing '/'
  std::string ca_pem;  // PEM; empty: the system's CAs
  std::string client_cert_pem;
  std::string client_key_pem;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;  // the name the server's certificate must carry, if not the host
  std::shared_ptr<KubeToken> token;  // null: no Authorization header
  // Where these came from, for messages: "kubeconfig /etc/k.yaml (context
  // ci, cluster c1, user u1)" or "in-cluster service account
  // /var/run/secrets/kubernetes.io/serviceaccount".
  std::string origin;
};

// The environment, as a function so that tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> process_env(const std::string& name);

// lease.kube.kubeconfig when set, else the in-cluster service account
// (KUBERNETES_SERVICE_HOST/PORT, <service_account_dir>/token and ca.crt);
// lease.kube.api_url replaces the server of either. With api_url and no
// service-account token, the server is used without credentials, as
// flanneld's --kube-api-url alone does (clientcmd.BuildConfigFromFlags).
// Errors name the file and the field:
//   "kubeconfig /x/k.yaml: users[0].user.client-certificate-data: not valid base64".
Result<KubeCredentials> load_kube_credentials(const KubeConfig& config,
                                              const EnvLookup& env = process_env);

}  // namespace tartan
