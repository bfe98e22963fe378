// A real etcd (Debian's etcd-server) for a test: one member on loopback
// ports nobody else holds, a data directory of its own (on tmpfs when there
// is one, else /tmp; $TARTAN_ETCD_DATA_ROOT overrides), killed and removed
// when the object goes. etcdctl, as an operator or a flanneld would write
// keys, reaches it with ctl().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace tartan::testing {

class EtcdServer {
 public:
  // Started and answering, or an exception. `wrapper` prefixes the etcd and
  // etcdctl command lines (e.g. Netns::exec({}) to run inside a namespace).
  // With `tls_dir` (holding ca.crt, server.crt/.key for 127.0.0.1 and
  // client.crt/.key), it serves https only to clients with a certificate
  // from that CA.
  explicit EtcdServer(std::vector<std::string> wrapper = {}, std::string tls_dir = "");
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // "http://127.0.0.1:<port>" of the member as it runs now.
  std::string endpoint() const;
  int client_port() const { return client_port_; }

  // SIGKILL, as a crash would.
  void kill();
  // SIGSTOP and SIGCONT: while paused etcd keeps its connections open and
  // answers nothing, as an overloaded or stalled member would.
  void pause();
  void resume();
  // Starts again on the same data; on `client_port` if given (where the
  // nodes under test do not look), else on the usual one.
  void restart(int client_port = 0);
  bool running();

  // etcdctl (v3 API) against the member; throws unless it exits 0.
  std::string ctl(const std::vector<std::string>& args);
  // The value of `key`, "" when it does not exist.
  std::string get(const std::string& key);
  void put(const std::string& key, const std::string& value);
  // Puts `value` on a fresh etcd lease of `ttl_s`, as flanneld does.
  void put_with_lease(const std::string& key, const std::string& value, int ttl_s = 86400);
  void del(const std::string& key);
  int64_t revision();
  // Keys under `prefix`, in key order.
  std::vector<std::string> keys(const std::string& prefix);

  // A loopback TCP port that was free a moment ago.
  static int free_port();

 private:
  void start(int client_port);
  std::vector<std::string> wrapped(const std::vector<std::string>& argv) const;

  std::vector<std::string> wrapper_;
  std::string tls_dir_;
  std::string dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  int running_port_ = 0;
  std::unique_ptr<Process> process_;
};

// Where flanneld keeps its leases under the default --etcd-prefix.
inline const std::string kSubnets = "/coreos.com/network/subnets/";

// A vxlan lease value exactly as flanneld v0.2x writes it (Go's json.Marshal
// of LeaseAttrs), typed out here rather than produced by tartan's encoder.
inline std::string flanneld_vxlan_lease(const std::string& public_ip, const std::string& vtep_mac,
                                        int vni = 1) {
  return "{\"PublicIP\":\"" + public_ip +
         "\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":" +
         std::to_string(vni) + ",\"VtepMAC\":\"" + vtep_mac + "\"}}";
}

// The same for a dual-stack flanneld (flannel.1 and flannel-v6.1, each
// with its VtepMAC) ...
inline std::string flanneld_dual_stack_lease(const std::string& public_ip,
                                             const std::string& vtep_mac,
                                             const std::string& public_ipv6,
                                             const std::string& vtep_mac_v6) {
  return "{\"PublicIP\":\"" + public_ip + "\",\"PublicIPv6\":\"" + public_ipv6 +
         "\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"" + vtep_mac +
         "\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"" + vtep_mac_v6 + "\"}}";
}

// ... and for an IPv6-only one (EnableIPv4 false: Go's zero PublicIP, no
// BackendData), under a key "0.0.0.0-0&<IPv6 subnet>".
inline std::string flanneld_ipv6_only_lease(const std::string& public_ipv6,
                                            const std::string& vtep_mac_v6) {
  return "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"" + public_ipv6 +
         "\",\"BackendType\":\"vxlan\",\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"" + vtep_mac_v6 +
         "\"}}";
}

}  // namespace tartan::testing
