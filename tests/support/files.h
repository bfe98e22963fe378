// Files and environment for process-level tests.
#pragma once

#include <string>

namespace tartan::testing {

// $name, or an exception saying the test must run through meson test.
std::string required_env(const char* name);

// A fresh directory /tmp/tartan-<tag>-<pid> (emptied if it exists).
std::string temp_dir(const std::string& tag);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

}  // namespace tartan::testing
