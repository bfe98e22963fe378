// The `lease.kube` section: how tartan reaches the Kubernetes API server as
// flanneld's kube subnet manager (--kube-subnet-mgr) and its timings.
// Defaults are flanneld's and client-go's where they have one.
#pragma once

#include <cstdint>
#include <string>

namespace tartan {

struct KubeConfig {
  // flanneld's --kubeconfig-file: read only this file (no $KUBECONFIG
  // merging). Empty: the in-cluster service account
  // (KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/serviceaccount).
  std::string kubeconfig;
  // flanneld's --kube-api-url: replaces the server of either.
  std::string api_url;
  // Where the service account's token, ca.crt and namespace are (in-cluster).
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  // flanneld's --set-node-network-unavailable: publish NetworkUnavailable=False
  // on our Node once our lease is up.
  bool set_node_network_unavailable = true;
  uint32_t request_timeout_ms = 10000;  // each LIST page, GET and PATCH
  uint32_t retry_initial_ms = 800;      // client-go: 800 ms ...
  uint32_t retry_max_ms = 30000;        // ... doubling (with jitter) up to 30 s
  uint32_t watch_timeout_min_s = 300;   // each WATCH asks timeoutSeconds in [min, 2*min)
  uint32_t list_page_size = 500;        // LIST limit (client-go's)
  uint32_t max_response_mb = 64;        // a larger LIST page or GET is refused
  uint32_t token_reload_s = 60;         // projected service-account tokens rotate
  // How long start-up waits for our Node (GET) before giving up (or, when
  // the config names the whole underlay, starting without it).
  uint32_t startup_timeout_s = 60;
};

}  // namespace tartan
