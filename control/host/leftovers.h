// What a killed tartand leaves behind (its API socket file, its DPDK runtime
// directory /var/run/dpdk/<prefix> and any hugepage files of that prefix),
// told apart from what a live process
// holds, so the next start can remove the first and refuse to touch the
// second.
#pragma once

#include <string>
#include <vector>

namespace tartan {

// The socket path of a "unix:///PATH" or "unix:PATH" listen address; "" for TCP.
std::string unix_socket_path(const std::string& listen);

// Whether a process accepts connections on the unix socket at `path`.
bool unix_socket_answers(const std::string& path);

// Where EAL keeps runtime directories for this user (rte_eal_get_runtime_dir's
// parent): /var/run/dpdk for root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk.
std::string dpdk_runtime_base();

// Removes the socket file at `socket_path` when nothing answers on it, and
// the runtime directories under `runtime_base` of dead tartands: `prefix`
// (eal.file_prefix) and every "tartan-<pid>" one whose pid is gone. A
// directory is live while a process holds its config file's lock or answers
// on one of its sockets. Returns one line per thing removed.
std::vector<std::string> remove_dead_leftovers(const std::string& socket_path,
                                               const std::string& runtime_base,
                                               const std::string& prefix);

}  // namespace tartan
