// Files and environment for process-level tests.
#pragma once

#include <string>

namespace tartan::testing {

// $name, or an exception saying the test must run through meson test.
std::string required_env(const char* name);

// A fresh directory /tmp/tartan-<tag>-<pid> (emptied if it exists).
std::string temp_dir(const std::string& tag);

// temp_dir(tag), removed when the test ends, failed assertions included.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& tag);
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

}  // namespace tartan::testing
