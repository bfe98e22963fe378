#include "tests/support/files.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tartan::testing {

std::string required_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr)
    throw std::runtime_error(std::string("$") + name + " is not set (run through meson test)");
  return v;
}

std::string temp_dir(const std::string& tag) {
  const std::string dir = "/tmp/tartan-" + tag + "-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

ScopedTempDir::ScopedTempDir(const std::string& tag) : path_(temp_dir(tag)) {}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace tartan::testing
