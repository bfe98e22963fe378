#include "control/host/leftovers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/eal.h"

namespace tartan {
namespace {

bool connects(const std::string& path, int type) {
  const int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool live = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return live;
}

// DPDK's primary process holds a write lock on <dir>/config while it runs.
bool config_locked(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  const bool locked = fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  close(fd);
  return locked;
}

// Telemetry's sockets are SOCK_SEQPACKET, the multi-process channel's
// SOCK_DGRAM: a socket file any process still answers on is live.
bool dir_live(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string path = entry.path().string();
    if (entry.path().filename() == "config" && config_locked(path)) return true;
    if (entry.is_socket(ec) && (connects(path, SOCK_SEQPACKET) || connects(path, SOCK_STREAM) ||
                                connects(path, SOCK_DGRAM))) {
      return true;
    }
  }
  return false;
}

// The pid of a default "tartan-<pid>" prefix, or 0.
pid_t prefix_pid(const std::string& name) {
  if (name.rfind("tartan-", 0) != 0) return 0;
  char* end = nullptr;
  const long pid = std::strtol(name.c_str() + 7, &end, 10);
  return *end == '\0' && pid > 0 ? static_cast<pid_t>(pid) : 0;
}

bool process_alive(pid_t pid) {
  return kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

std::string unix_socket_path(const std::string& listen) {
  if (listen.rfind("unix://", 0) == 0) return listen.substr(7);
  if (listen.rfind("unix:", 0) == 0) return listen.substr(5);
  return "";
}

bool unix_socket_answers(const std::string& path) {
  return connects(path, SOCK_STREAM);
}

std::string dpdk_runtime_base() {
  if (getuid() == 0) return "/var/run/dpdk";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  return std::string(xdg != nullptr && *xdg != '\0' ? xdg : "/tmp") + "/dpdk";
}

std::vector<std::string> remove_dead_leftovers(const std::string& socket_path,
                                               const std::string& runtime_base,
                                               const std::string& prefix) {
  std::vector<std::string> removed;
  struct stat st {};
  if (!socket_path.empty() && lstat(socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      !unix_socket_answers(socket_path) && unlink(socket_path.c_str()) == 0) {
    removed.push_back("removed the API socket " + socket_path +
                      " a dead tartand left (nothing answers on it)");
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(runtime_base, ec)) {
    const std::string name = entry.path().filename().string();
    const pid_t pid = prefix_pid(name);
    if (name != prefix && pid == 0) continue;
    if (!entry.is_directory(ec) || (pid != 0 && process_alive(pid)) || dir_live(entry.path()))
      continue;
    if (std::filesystem::remove_all(entry.path(), ec) > 0 && !ec) {
      removed.push_back("removed the DPDK runtime directory " + entry.path().string() +
                        " a dead tartand left");
    }
    // Its hugepage files (eal.secondary_processes keeps them) go with it.
    if (const size_t files = remove_hugepage_files(name); files > 0) {
      removed.push_back("removed " + std::to_string(files) + " hugepage files of " + name +
                        " a dead tartand left");
    }
  }
  return removed;
}

}  // namespace tartan
