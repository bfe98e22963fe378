// One node of an etcd-mode cluster inside the test process: tartand's
// control plane for lease.source etcd (the config loader, connect_etcd,
// EtcdLeaseSource, the node mirror and the local lease) on a real engine
// whose ports are ring ports. Its worker is not launched (only one engine
// per process can own lcore 1), so many nodes fit in one process; routes are
// read from the engine's tables.
//
// Node i has public IP 192.0.2.(10+i), VtepMAC 0e:00:00:00:00:i (i < 256)
// and its files in a directory of its own; with IPv6, public IPv6
// 2001:db8::(10+i) and flannel-v6's VtepMAC 0e:00:00:00:01:i.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "control/cluster/local_lease.h"
#include "control/cluster/node_mirror.h"
#include "control/cluster/readiness.h"
#include "control/config/config.h"
#include "control/sources/etcd/etcd_lease_source.h"
#include "engine/engine.h"
#include "tests/support/ring_port.h"

namespace tartan::testing {

struct EtcdNodeOptions {
  int index = 1;
  std::vector<std::string> endpoints;
  // "": none, so <prefix>/config in etcd is the network config.
  std::string network = "{Network: 10.244.0.0/16, Backend: {Type: vxlan}}";
  // The underlay's addresses: IPv4 (and with `ipv6`, IPv6) for the
  // families `network` enables (or etcd's network config does).
  bool ipv4 = true;
  bool ipv6 = false;
  std::string underlay_yaml;  // more keys of ports.underlay, e.g. ", mtu: 1300"
  std::string etcd_yaml;      // more keys of lease.etcd, e.g. ", lease_ttl_s: 6"
  uint32_t startup_timeout_s = 20;
  uint32_t max_routes = 1024;
  EtcdLeaseSource::Hooks hooks;
};

class EtcdNode {
 public:
  explicit EtcdNode(const EtcdNodeOptions& options);
  ~EtcdNode();

  // Connects and takes a lease, as tartand's start does.
  Status start();
  void stop();

  static Ipv4Addr public_ip(int index);
  static MacAddr vtep_mac(int index);
  static Ipv6Addr public_ipv6(int index);
  static MacAddr vtep_mac_v6(int index);

  Ipv4Addr public_ip() const { return public_ip(options_.index); }
  MacAddr vtep_mac() const { return vtep_mac(options_.index); }
  Ipv6Addr public_ipv6() const { return public_ipv6(options_.index); }
  MacAddr vtep_mac_v6() const { return vtep_mac_v6(options_.index); }
  std::optional<Ipv4Prefix> subnet() const;
  // Both families' podCIDRs of our lease ({} without one).
  PodCidrs subnets() const;
  // Remote routes in the engine (our own podCIDR left out).
  std::vector<RouteView> routes() const;
  std::vector<Route6View> routes6() const;
  EtcdLeaseSource& source() { return *source_; }
  NodeMirror& mirror() { return *mirror_; }
  LocalLease& lease() { return *lease_; }
  Readiness& readiness() { return readiness_; }
  Engine& engine() { return *engine_; }
  const Config& config() const { return config_; }
  const std::string& dir() const { return dir_; }

 private:
  EtcdNodeOptions options_;
  std::string dir_;
  Config config_;
  Readiness readiness_;
  std::unique_ptr<RingPort> underlay_, overlay_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<NodeMirror> mirror_;
  std::unique_ptr<LocalLease> lease_;
  std::unique_ptr<EtcdLeaseSource> source_;
};

}  // namespace tartan::testing
