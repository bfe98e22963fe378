// A memif client in the test's own process, driven from the test thread:
// the peer of a memif server in an engine (in process or a real tartand)
// that can connect, send, receive and vanish at will.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/packets.h"

namespace tartan::testing {

// A virtual device made at run time, removed when it goes.
class Vdev {
 public:
  Vdev(std::string name, const std::string& args);
  ~Vdev();
  Vdev(const Vdev&) = delete;
  Vdev& operator=(const Vdev&) = delete;
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  uint16_t port() const { return port_; }
  bool link_up() const;

 private:
  std::string name_;
  bool ok_ = false;
  uint16_t port_ = UINT16_MAX;
};

// One queue pair on `socket` (a file: socket-abstract=no), buffers from a
// mempool of its own; `name` makes the vdev's and the pool's names unique.
class MemifClient {
 public:
  MemifClient(const std::string& name, const std::string& socket);
  ~MemifClient();
  MemifClient(const MemifClient&) = delete;
  MemifClient& operator=(const MemifClient&) = delete;

  bool ok() const { return ok_; }
  bool connect();
  // Closes the control channel without a word, as a killed peer does.
  void vanish();
  bool link_up() const { return dev_.link_up(); }

  // `n` copies of `frame` in bursts of 32; returns how many the PMD took
  // (the rest are freed).
  unsigned send(const Bytes& frame, unsigned n);
  // Everything waiting; a memif client also hands the server free slots
  // for it here.
  std::vector<Bytes> receive();
  // As receive(), counting and freeing instead of copying out.
  unsigned discard_received();

 private:
  rte_mempool* pool_;
  Vdev dev_;
  bool ok_ = false;
};

}  // namespace tartan::testing
