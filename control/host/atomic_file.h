// Writing a file so readers see the old content or the new, never a part:
// a temporary file in the same directory, fsync, rename, directory fsync.
#pragma once

#include <sys/types.h>

#include <string>

#include "engine/status.h"

namespace tartan {

// Creates the parent directory (0755) if needed. `mode` is applied as is,
// whatever the umask. Errors name the path.
Status write_file_atomically(const std::string& path, const std::string& content, mode_t mode);

}  // namespace tartan
