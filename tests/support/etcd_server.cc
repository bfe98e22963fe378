#include "tests/support/etcd_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "tests/support/files.h"

namespace tartan::testing {
namespace {

using namespace std::chrono_literals;

std::string data_root() {
  // $TARTAN_ETCD_DATA_ROOT, e.g. to measure on a disk; else tmpfs, where
  // etcd's fsync of every write costs nothing.
  if (const char* root = std::getenv("TARTAN_ETCD_DATA_ROOT"); root != nullptr && *root != '\0')
    return root;
  std::error_code ec;
  return std::filesystem::is_directory("/dev/shm", ec) && access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                                                        : "/tmp";
}

std::string url(int port, bool tls = false) {
  return (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port);
}

}  // namespace

int EtcdServer::free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

EtcdServer::EtcdServer(std::vector<std::string> wrapper, std::string tls_dir)
    : wrapper_(std::move(wrapper)), tls_dir_(std::move(tls_dir)) {
  static std::atomic<int> n{0};
  dir_ = data_root() + "/tartan-etcd-" + std::to_string(getpid()) + "-" + std::to_string(n++);
  std::filesystem::remove_all(dir_);
  // Another process may take a port between free_port() and etcd's bind:
  // try a few pairs.
  for (int attempt = 0;; ++attempt) {
    client_port_ = free_port();
    peer_port_ = free_port();
    try {
      start(client_port_);
      return;
    } catch (const std::exception&) {
      process_.reset();
      std::filesystem::remove_all(dir_);
      if (attempt == 4) throw;
    }
  }
}

EtcdServer::~EtcdServer() {
  process_.reset();  // SIGKILLs and reaps it
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> EtcdServer::wrapped(const std::vector<std::string>& argv) const {
  std::vector<std::string> out = wrapper_;
  out.insert(out.end(), argv.begin(), argv.end());
  if (!tls_dir_.empty() && argv[0] == "etcdctl") {
    out.insert(out.end(), {"--cacert", tls_dir_ + "/ca.crt", "--cert", tls_dir_ + "/client.crt",
                           "--key", tls_dir_ + "/client.key"});
  } else if (!tls_dir_.empty()) {
    out.insert(out.end(),
               {"--cert-file", tls_dir_ + "/server.crt", "--key-file", tls_dir_ + "/server.key",
                "--trusted-ca-file", tls_dir_ + "/ca.crt", "--client-cert-auth"});
  }
  return out;
}

std::string EtcdServer::endpoint() const {
  return url(running_port_, !tls_dir_.empty());
}

void EtcdServer::start(int client_port) {
  running_port_ = client_port;
  process_ = std::make_unique<Process>(
      wrapped({"etcd", "--name", "tartan-test", "--data-dir", dir_, "--listen-client-urls",
               url(client_port, !tls_dir_.empty()), "--advertise-client-urls",
               url(client_port, !tls_dir_.empty()), "--listen-peer-urls", url(peer_port_),
               "--initial-advertise-peer-urls", url(peer_port_), "--initial-cluster",
               "tartan-test=" + url(peer_port_), "--logger", "zap", "--log-level", "error"}));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running())
      throw std::runtime_error("etcd exited at start:\n" + process_->output());
    const CommandResult r = run_command(wrapped({"etcdctl", "--endpoints", endpoint(),
                                                 "--dial-timeout", "1s", "endpoint", "health"}),
                                        5s);
    if (r.exit_code == 0) return;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("etcd did not become healthy in 30 s:\n" + process_->output());
}

void EtcdServer::kill() {
  process_.reset();
}

void EtcdServer::pause() {
  process_->signal(SIGSTOP);
}

void EtcdServer::resume() {
  process_->signal(SIGCONT);
}

void EtcdServer::restart(int client_port) {
  process_.reset();
  start(client_port != 0 ? client_port : client_port_);
}

bool EtcdServer::running() {
  return process_ && process_->running();
}

std::string EtcdServer::ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = wrapped({"etcdctl", "--endpoints", endpoint()});
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = run_command(argv, 20s);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error(cmd + "failed (" + std::to_string(r.exit_code) + "): " + r.output);
  }
  return r.output;
}

std::string EtcdServer::get(const std::string& key) {
  std::string out = ctl({"get", key, "--print-value-only"});
  if (!out.empty() && out.back() == '\n') out.pop_back();  // etcdctl ends the value with one
  return out;
}

void EtcdServer::put(const std::string& key, const std::string& value) {
  ctl({"put", key, value});
}

void EtcdServer::put_with_lease(const std::string& key, const std::string& value, int ttl_s) {
  // "lease 694d... granted with TTL(86400s)"
  const std::string granted = ctl({"lease", "grant", std::to_string(ttl_s)});
  const std::string id = granted.substr(6, granted.find(' ', 6) - 6);
  ctl({"put", "--lease=" + id, key, value});
}

void EtcdServer::del(const std::string& key) {
  ctl({"del", key});
}

int64_t EtcdServer::revision() {
  // {"header":{"cluster_id":...,"member_id":...,"revision":N,...}}
  const std::string out = ctl({"get", "/", "--write-out=json"});
  const auto at = out.find("\"revision\":");
  if (at == std::string::npos) throw std::runtime_error("no revision in " + out);
  return std::stoll(out.substr(at + 11));
}

std::vector<std::string> EtcdServer::keys(const std::string& prefix) {
  const std::string out = ctl({"get", prefix, "--prefix", "--keys-only"});
  std::vector<std::string> keys;
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t end = out.find('\n', pos);
    const std::string line = out.substr(pos, end == std::string::npos ? end : end - pos);
    if (!line.empty()) keys.push_back(line);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return keys;
}

}  // namespace tartan::testing
