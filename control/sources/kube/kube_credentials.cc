#include "control/sources/kube/kube_credentials.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/config/base64.h"
#include "engine/log.h"

namespace tartan {
namespace {

// The file's bytes, or strerror naming why not ("No such file or directory").
Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalid(std::strerror(errno));
  std::stringstream s;
  s << in.rdbuf();
  if (in.bad()) return Status::invalid(std::strerror(errno));
  return s.str();
}

bool looks_like_pem(const std::string& text) {
  return text.find("-----BEGIN ") != std::string::npos;
}

// Reads a kubeconfig; every error names the file and the field.
class KubeconfigReader {
 public:
  KubeconfigReader(std::string path, const KubeConfig& config)
      : path_(std::move(path)),
        dir_(std::filesystem::path(path_).parent_path().string()),
        config_(config) {}

  Result<KubeCredentials> read() {
    auto text = read_text(path_);
    if (!text) return Status::invalid("kubeconfig " + path_ + ": " + text.status().message());
    YAML::Node root;
    try {
      root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      return Status::invalid("kubeconfig " + path_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                             std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    try {
      return from(root);
    } catch (const YAML::Exception& e) {  // a subscript of a scalar: each node is checked first
      return Status::invalid("kubeconfig " + path_ + ": " + e.what());
    }
  }

 private:
  Status bad(const std::string& field, const std::string& message) const {
    return Status::invalid("kubeconfig " + path_ + ": " + field + ": " + message);
  }

  Result<std::string> string_at(const YAML::Node& map, const std::string& key,
                                const std::string& field) const {
    const YAML::Node v = map[key];
    if (!v.IsDefined() || v.IsNull()) return std::string();
    if (!v.IsScalar()) return bad(field, "expected a string");
    return v.Scalar();
  }

  // The entry of `list_key` whose name is `name`, and its index.
  Result<std::pair<YAML::Node, size_t>> named(const YAML::Node& root, const std::string& list_key,
                                              const std::string& item_key,
                                              const std::string& name) const {
    const YAML::Node list = root[list_key];
    if (list.IsDefined() && !list.IsNull() && !list.IsSequence())
      return bad(list_key, "expected a list");
    for (size_t i = 0; list.IsSequence() && i < list.size(); ++i) {
      const YAML::Node entry = list[i];
      const std::string field = list_key + "[" + std::to_string(i) + "]";
      if (!entry.IsMap()) return bad(field, "expected a map");
      auto n = string_at(entry, "name", field + ".name");
      if (!n) return n.status();
      if (*n != name) continue;
      const YAML::Node item = entry[item_key];
      if (!item.IsDefined() || item.IsNull()) return std::pair{YAML::Node(YAML::NodeType::Map), i};
      if (!item.IsMap()) return bad(field + "." + item_key, "expected a map");
      return std::pair{item, i};
    }
    return bad(list_key, "no entry named '" + name + "'");
  }

  std::string resolve(const std::string& file) const {
    if (file.empty() || file[0] == '/' || dir_.empty()) return file;
    return (std::filesystem::path(dir_) / file).string();
  }

  // PEM from `<key>-data` (base64) or from the file `<key>` (relative to
  // the kubeconfig's directory); both is an error, as in client-go's
  // validation.go. Empty when neither is set.
  Result<std::string> pem(const YAML::Node& map, const std::string& field_prefix,
                          const std::string& key) const {
    auto file = string_at(map, key, field_prefix + key);
    if (!file) return file.status();
    auto data = string_at(map, key + "-data", field_prefix + key + "-data");
    if (!data) return data.status();
    if (!file->empty() && !data->empty())
      return bad(field_prefix + key, "both " + key + " and " + key + "-data are set");
    if (!data->empty()) {
      auto bytes = decode_base64(*data);
      if (!bytes) return bad(field_prefix + key + "-data", "not valid base64");
      if (!looks_like_pem(*bytes)) return bad(field_prefix + key + "-data", "not PEM");
      return *bytes;
    }
    if (file->empty()) return std::string();
    const std::string path = resolve(*file);
    auto bytes = read_text(path);
    if (!bytes) return bad(field_prefix + key, path + ": " + bytes.status().message());
    if (!looks_like_pem(*bytes)) return bad(field_prefix + key, path + ": not PEM");
    return *bytes;
  }

  Result<KubeCredentials> from(const YAML::Node& root) {
    if (!root.IsMap()) return Status::invalid("kubeconfig " + path_ + ": expected a YAML map");
    KubeCredentials c;
    auto context_name = string_at(root, "current-context", "current-context");
    if (!context_name) return context_name.status();
    if (context_name->empty()) return bad("current-context", "missing");

    auto context = named(root, "contexts", "context", *context_name);
    if (!context) return context.status();
    const std::string context_field = "contexts[" + std::to_string(context->second) + "].context.";
    auto cluster_name = string_at(context->first, "cluster", context_field + "cluster");
    if (!cluster_name) return cluster_name.status();
    if (cluster_name->empty()) return bad(context_field + "cluster", "missing");
    auto user_name = string_at(context->first, "user", context_field + "user");
    if (!user_name) return user_name.status();

    auto cluster = named(root, "clusters", "cluster", *cluster_name);
    if (!cluster) return cluster.status();
    const YAML::Node& cl = cluster->first;
    const std::string cluster_field = "clusters[" + std::to_string(cluster->second) + "].cluster.";
    auto server = string_at(cl, "server", cluster_field + "server");
    if (!server) return server.status();
    c.server = config_.api_url.empty() ? *server : config_.api_url;
    if (c.server.empty()) return bad(cluster_field + "server", "missing");
    auto ca = pem(cl, cluster_field, "certificate-authority");
    if (!ca) return ca.status();
    c.ca_pem = std::move(*ca);
    if (const YAML::Node v = cl["insecure-skip-tls-verify"]; v.IsDefined() && !v.IsNull()) {
      bool insecure = false;
      if (!v.IsScalar() || !YAML::convert<bool>::decode(v, insecure))
        return bad(cluster_field + "insecure-skip-tls-verify", "expected true or false");
      c.insecure_skip_tls_verify = insecure;
    }
    // client-go's transport refuses this pair (transport/transport.go).
    if (c.insecure_skip_tls_verify && !c.ca_pem.empty())
      return bad(cluster_field + "insecure-skip-tls-verify",
                 "a certificate authority with insecure-skip-tls-verify is not allowed");
    auto tls_name = string_at(cl, "tls-server-name", cluster_field + "tls-server-name");
    if (!tls_name) return tls_name.status();
    c.tls_server_name = *tls_name;

    c.origin = "kubeconfig " + path_ + " (context " + *context_name + ", cluster " + *cluster_name +
               (user_name->empty() ? "" : ", user " + *user_name) + ")";
    if (user_name->empty()) return c;
    auto user = named(root, "users", "user", *user_name);
    if (!user) return user.status();
    if (Status s = read_user(user->first, user->second, c); !s.ok()) return s;
    return c;
  }

  Status read_user(const YAML::Node& u, size_t index, KubeCredentials& c) const {
    const std::string field = "users[" + std::to_string(index) + "].user.";
    for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
      if (const YAML::Node v = u[unsupported]; v.IsDefined() && !v.IsNull())
        return bad(field + unsupported,
                   "not supported (use a token, tokenFile or client certificate)");
    }
    auto cert = pem(u, field, "client-certificate");
    if (!cert) return cert.status();
    auto key = pem(u, field, "client-key");
    if (!key) return key.status();
    if (cert->empty() != key->empty()) {
      return bad(field + (cert->empty() ? "client-certificate" : "client-key"),
                 "missing: a client certificate needs both certificate and key");
    }
    c.client_cert_pem = std::move(*cert);
    c.client_key_pem = std::move(*key);

    auto token = string_at(u, "token", field + "token");
    if (!token) return token.status();
    auto token_file = string_at(u, "tokenFile", field + "tokenFile");
    if (!token_file) return token_file.status();
    // client-go reads tokenFile on every request when both are set
    // (transport/round_trippers.go NewBearerAuthWithRefreshRoundTripper).
    if (!token_file->empty()) {
      auto t =
          KubeToken::from_file(resolve(*token_file), std::chrono::seconds(config_.token_reload_s));
      if (!t) return bad(field + "tokenFile", t.status().message());
      c.token = std::move(*t);
    } else if (!token->empty()) {
      c.token = std::make_shared<KubeToken>(*token);
    }
    return {};
  }

  const std::string path_;
  const std::string dir_;
  const KubeConfig& config_;
};

// client-go's rest.InClusterConfig, with api_url as the server override.
Result<KubeCredentials> in_cluster(const KubeConfig& config, const EnvLookup& env) {
  KubeCredentials c;
  const std::string& dir = config.service_account_dir;
  const std::string token_path = dir + "/token";
  c.origin = "in-cluster service account " + dir;
  if (config.api_url.empty()) {
    const auto host = env("KUBERNETES_SERVICE_HOST");
    const auto port = env("KUBERNETES_SERVICE_PORT");
    if (!host || host->empty() || !port || port->empty()) {
      return Status::invalid(
          "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (or set "
          "lease.kube.kubeconfig or lease.kube.api_url)");
    }
    // net.JoinHostPort: an IPv6 address goes in brackets.
    const bool v6 = host->find(':') != std::string::npos;
    c.server = "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port;
  } else {
    c.server = config.api_url;
    std::error_code ec;
    if (!std::filesystem::exists(token_path, ec)) {
      c.origin = "lease.kube.api_url without credentials (no " + token_path + ")";
      return c;
    }
  }
  auto token = KubeToken::from_file(token_path, std::chrono::seconds(config.token_reload_s));
  if (!token) return Status::invalid("in-cluster: token " + token.status().message());
  c.token = std::move(*token);
  // client-go logs a CA it cannot load and goes on with the system's CAs.
  const std::string ca_path = dir + "/ca.crt";
  if (auto ca = read_text(ca_path); !ca) {
    TARTAN_LOG(WARNING, kControl, "kube: in-cluster CA %s: %s; using the system's CAs",
               ca_path.c_str(), ca.status().message().c_str());
  } else if (!looks_like_pem(*ca)) {
    TARTAN_LOG(WARNING, kControl, "kube: in-cluster CA %s: not PEM; using the system's CAs",
               ca_path.c_str());
  } else {
    c.ca_pem = std::move(*ca);
  }
  return c;
}

std::string trim_token(std::string token) {
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  size_t start = 0;
  while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
  return token.substr(start);
}

}  // namespace

Result<std::shared_ptr<KubeToken>> KubeToken::from_file(std::string path,
                                                        std::chrono::seconds reload) {
  auto text = read_text(path);
  if (!text) return Status::invalid(path + ": " + text.status().message());
  std::string token = trim_token(std::move(*text));
  if (token.empty()) return Status::invalid(path + ": empty");
  return std::shared_ptr<KubeToken>(new KubeToken(std::move(token), std::move(path), reload));
}

std::string KubeToken::current() {
  std::lock_guard lock(mu_);
  if (path_.empty() || Clock::now() - read_at_ < reload_) return token_;
  read_at_ = Clock::now();
  auto text = read_text(path_);
  std::string token = text ? trim_token(std::move(*text)) : std::string();
  if (token.empty()) {
    TARTAN_LOG(WARNING, kControl, "kube: token file %s: %s; keeping the last token", path_.c_str(),
               text ? "empty" : text.status().message().c_str());
  } else {
    token_ = std::move(token);
  }
  return token_;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

Result<KubeCredentials> load_kube_credentials(const KubeConfig& config, const EnvLookup& env) {
  auto c = config.kubeconfig.empty() ? in_cluster(config, env)
                                     : KubeconfigReader(config.kubeconfig, config).read();
  if (!c) return c;
  while (!c->server.empty() && c->server.back() == '/') c->server.pop_back();
  if (c->server.rfind("https://", 0) != 0 && c->server.rfind("http://", 0) != 0)
    return Status::invalid(c->origin + ": server '" + c->server + "' is not an http(s) URL");
  return c;
}

}  // namespace tartan
