// A whole tartand (engine on ring ports, mirror, lease, gRPC API on a
// temporary unix socket) inside the test process.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "control/daemon.h"
#include "tests/support/ring_port.h"

namespace tartan::testing {

struct DaemonOptions {
  std::string lease_source = "static";  // or "grpc", "etcd"
  uint32_t watch_history = 16384;
  std::string listen;        // "": a temporary unix socket
  std::string control_yaml;  // more keys of the control section, e.g. ", tls: {...}"
  std::string network = "{Network: 10.244.0.0/16, Backend: {Type: vxlan}}";  // flannel's net-conf
  std::string dataplane = "{max_routes: 1024, lpm_tbl8_groups: 64}";
  std::string subnet = "10.244.1.0/24";  // our lease with lease_source static
  std::string lease_yaml;       // more keys of the lease section, e.g. ", etcd: {endpoints: [...]}"
  std::string underlay_device;  // "" for a ring port of the fixture's; else the test's own
  std::string underlay_yaml;    // more keys of ports.underlay, e.g. ", ipv6_address: ..."
};

class DaemonFixture {
 public:
  explicit DaemonFixture(const DaemonOptions& options = {});
  ~DaemonFixture();

  Daemon& daemon() { return *daemon_; }
  // A channel to the API (the unix socket).
  std::shared_ptr<grpc::Channel> channel() const;
  const std::string& dir() const { return dir_; }
  RingPort& underlay_port() { return *underlay_; }
  RingPort& overlay_port() { return *overlay_; }
  // Sends `count` frames from a pod to an address no route covers (the
  // data plane drops them as no_route); returns how many the port took.
  unsigned inject_unroutable(unsigned count);

 private:
  std::string dir_;
  std::string socket_;
  std::unique_ptr<RingPort> underlay_, overlay_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace tartan::testing
