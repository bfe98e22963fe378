// node-2 as flanneld annotates it on a kernel-flannel cluster (vxlan, VNI
// 1, podCIDR 10.244.2.0/24 at 192.0.2.20, VtepMAC 0e:00:00:00:00:02), as
// `kubectl get node -o yaml` prints it: the manifest tests give
// `tartanctl nodes apply -f`.
#pragma once

namespace tartan::testing {

inline constexpr const char* kFlannelNode2Yaml = R"(apiVersion: v1
kind: Node
metadata:
  name: node-2
  annotations:
    flannel.alpha.coreos.com/backend-data: '{"VNI":1,"VtepMAC":"0e:00:00:00:00:02"}'
    flannel.alpha.coreos.com/backend-type: vxlan
    flannel.alpha.coreos.com/kube-subnet-manager: "true"
    flannel.alpha.coreos.com/public-ip: 192.0.2.20
spec:
  podCIDR: 10.244.2.0/24
  podCIDRs:
  - 10.244.2.0/24
)";

}  // namespace tartan::testing
