#include "control/host/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tartan {
namespace {

Status failed(const std::string& what, const std::string& path) {
  return Status(ErrorCode::kFailedPrecondition, what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace

Status write_file_atomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::filesystem::path target(path);
  const std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Status(ErrorCode::kFailedPrecondition,
                  "cannot create directory '" + dir + "': " + ec.message());

  std::string tmp = dir + "/." + target.filename().string() + ".XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) return failed("cannot create a temporary file in", dir);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = failed("cannot write", tmp);
      close(fd);
      unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
    Status s = failed("cannot finish", tmp);
    close(fd);
    unlink(tmp.c_str());
    return s;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = failed("cannot rename into", path);
    unlink(tmp.c_str());
    return s;
  }
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return {};
}

}  // namespace tartan
