// A Node object as a real kubelet-managed node of a kube-flannel cluster
// carries it (modelled on `kubectl get node -o json` of a kubeadm 1.30
// worker): labels, kubeadm's and flanneld's annotations, managedFields of
// the kubelet, kube-controller-manager and flanneld, podCIDR(s), the usual
// five conditions, addresses, capacity, nodeInfo and about thirty images.
// For the decoder, reflector and fuzz tests, and the benchmarks.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tartan::testing {

struct KubeletNodeSpec {
  std::string name = "worker-1";
  std::string resource_version = "73581";
  std::string pod_cidr = "10.244.1.0/24";
  std::string pod_cidr_v6;  // "": IPv4 only
  std::string internal_ip = "192.168.56.11";
  std::string vtep_mac = "8a:1f:3c:44:50:01";
  bool flannel_annotations = true;  // as flanneld writes them for vxlan
};

nlohmann::json kubelet_node(const KubeletNodeSpec& spec = {});

}  // namespace tartan::testing
