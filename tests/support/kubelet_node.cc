#include "tests/support/kubelet_node.h"

#include <cstdio>

namespace tartan::testing {
namespace {

using json = nlohmann::json;

// A managedFields set: {"f:<name>": {}} for each name ("." marks the
// map itself, as "{\".\": {}}" does in the real thing).
json fields(std::initializer_list<const char*> names) {
  json out = json::object();
  for (const char* n : names)
    out[std::string(n) == "." ? "." : std::string("f:") + n] = json::object();
  return out;
}

json condition_fields() {
  return fields(
      {".", "lastHeartbeatTime", "lastTransitionTime", "message", "reason", "status", "type"});
}

json managed_fields(const KubeletNodeSpec& s) {
  const json kubelet_fields = {
      {"f:metadata",
       {{"f:annotations", fields({".", "kubeadm.alpha.kubernetes.io/cri-socket",
                                  "volumes.kubernetes.io/controller-managed-attach-detach"})},
        {"f:labels",
         fields({".", "beta.kubernetes.io/arch", "beta.kubernetes.io/os", "kubernetes.io/arch",
                 "kubernetes.io/hostname", "kubernetes.io/os"})}}}};
  const json resources =
      fields({"cpu", "ephemeral-storage", "hugepages-1Gi", "hugepages-2Mi", "memory", "pods"});
  json status_fields = {
      {"f:status",
       {{"f:allocatable", resources},
        {"f:capacity", resources},
        {"f:conditions", json::object()},
        {"f:daemonEndpoints", {{"f:kubeletEndpoint", fields({"Port"})}}},
        {"f:images", json::object()},
        {"f:nodeInfo", fields({"architecture", "bootID", "containerRuntimeVersion", "kernelVersion",
                               "kubeProxyVersion", "kubeletVersion", "machineID", "operatingSystem",
                               "osImage", "systemUUID"})}}}};
  for (const char* type : {"DiskPressure", "MemoryPressure", "PIDPressure", "Ready"}) {
    status_fields["f:status"]["f:conditions"][std::string("k:{\"type\":\"") + type + "\"}"] =
        condition_fields();
  }
  const json flannel_fields = {
      {"f:metadata",
       {{"f:annotations",
         fields({"flannel.alpha.coreos.com/backend-data", "flannel.alpha.coreos.com/backend-type",
                 "flannel.alpha.coreos.com/kube-subnet-manager",
                 "flannel.alpha.coreos.com/public-ip"})}}},
      {"f:status",
       {{"f:conditions", {{"k:{\"type\":\"NetworkUnavailable\"}", condition_fields()}}}}}};
  json controller_fields = {
      {"f:metadata", {{"f:annotations", fields({"node.alpha.kubernetes.io/ttl"})}}},
      {"f:spec", {{"f:podCIDR", json::object()}, {"f:podCIDRs", fields({"."})}}}};
  controller_fields["f:spec"]["f:podCIDRs"]["v:\"" + s.pod_cidr + "\""] = json::object();
  const auto entry = [](const char* manager, const char* operation, const char* time,
                        const json& fields, const char* subresource) {
    json e = {{"manager", manager}, {"operation", operation},   {"apiVersion", "v1"},
              {"time", time},       {"fieldsType", "FieldsV1"}, {"fieldsV1", fields}};
    if (subresource != nullptr) e["subresource"] = subresource;
    return e;
  };
  return json::array({entry("kubeadm", "Update", "2026-11-02T09:14:21Z", kubelet_fields, nullptr),
                      entry("kube-controller-manager", "Update", "2026-11-02T09:14:38Z",
                            controller_fields, nullptr),
                      entry("flanneld", "Update", "2026-11-02T09:14:52Z", flannel_fields, "status"),
                      entry("kubelet", "Update", "2026-12-03T08:51:07Z", status_fields, "status")});
}

json images() {
  static const char* const kImages[][2] = {
      {"docker.io/flannel/flannel:v0.26.1", "32841536"},
      {"docker.io/flannel/flannel-cni-plugin:v1.5.1-flannel2", "4856224"},
      {"registry.k8s.io/kube-proxy:v1.30.6", "29054372"},
      {"registry.k8s.io/pause:3.9", "321520"},
      {"registry.k8s.io/coredns/coredns:v1.11.1", "18182961"},
      {"registry.k8s.io/metrics-server/metrics-server:v0.7.2", "19494617"},
      {"quay.io/prometheus/node-exporter:v1.8.2", "12055418"},
      {"quay.io/prometheus/prometheus:v2.54.1", "110352081"},
      {"docker.io/grafana/grafana:11.2.2", "129435128"},
      {"docker.io/library/nginx:1.27.2", "71026652"},
      {"docker.io/library/busybox:1.36.1", "2160406"},
      {"docker.io/library/redis:7.4.1", "45006722"},
      {"docker.io/library/postgres:16.4", "158433019"},
      {"ghcr.io/fluxcd/source-controller:v1.4.1", "39451092"},
      {"ghcr.io/fluxcd/kustomize-controller:v1.4.0", "36012544"},
      {"registry.k8s.io/ingress-nginx/controller:v1.11.3", "105311296"},
      {"registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.4", "23842931"},
      {"quay.io/jetstack/cert-manager-controller:v1.16.1", "21742365"},
      {"quay.io/jetstack/cert-manager-webhook:v1.16.1", "17806514"},
      {"quay.io/jetstack/cert-manager-cainjector:v1.16.1", "15734092"},
      {"docker.io/bitnami/kubectl:1.30.6", "86451632"},
      {"docker.io/calico/node:v3.28.2", "115420832"},
      {"registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.12.0", "10963455"},
      {"registry.k8s.io/sig-storage/livenessprobe:v2.14.0", "9856224"},
      {"docker.io/rancher/local-path-provisioner:v0.0.30", "19813728"},
      {"docker.io/library/alpine:3.20.3", "3626898"},
      {"docker.io/library/python:3.12-slim", "51642110"},
      {"docker.io/library/golang:1.23.2", "299874562"},
  };
  json out = json::array();
  int i = 0;
  for (const auto& [name, size] : kImages) {
    // Real entries carry the digest and the tag; digests here are made up.
    char digest[72];
    std::snprintf(digest, sizeof digest, "sha256:%064x", 0x5eed0000 + i++);
    const std::string repo = std::string(name).substr(0, std::string(name).rfind(':'));
    out.push_back({{"names", {repo + "@" + digest, name}}, {"sizeBytes", std::stoll(size)}});
  }
  return out;
}

json condition(const char* type, const char* status, const char* reason, const char* message,
               const char* heartbeat) {
  return {{"type", type},
          {"status", status},
          {"lastHeartbeatTime", heartbeat},
          {"lastTransitionTime", "2026-11-02T09:14:52Z"},
          {"reason", reason},
          {"message", message}};
}

}  // namespace

json kubelet_node(const KubeletNodeSpec& s) {
  json annotations = {
      {"kubeadm.alpha.kubernetes.io/cri-socket", "unix:///var/run/containerd/containerd.sock"},
      {"node.alpha.kubernetes.io/ttl", "0"},
      {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}};
  if (s.flannel_annotations) {
    annotations["flannel.alpha.coreos.com/backend-data"] =
        "{\"VNI\":1,\"VtepMAC\":\"" + s.vtep_mac + "\"}";
    annotations["flannel.alpha.coreos.com/backend-type"] = "vxlan";
    annotations["flannel.alpha.coreos.com/kube-subnet-manager"] = "true";
    annotations["flannel.alpha.coreos.com/public-ip"] = s.internal_ip;
  }
  json pod_cidrs = json::array({s.pod_cidr});
  if (!s.pod_cidr_v6.empty()) pod_cidrs.push_back(s.pod_cidr_v6);
  return {
      {"kind", "Node"},
      {"apiVersion", "v1"},
      {"metadata",
       {{"name", s.name},
        {"uid", "4f1c2a9e-7d3b-4b8e-9a51-0c6d2e8f" + std::to_string(1000 + s.name.size())},
        {"resourceVersion", s.resource_version},
        {"creationTimestamp", "2026-11-02T09:14:21Z"},
        {"labels",
         {{"beta.kubernetes.io/arch", "amd64"},
          {"beta.kubernetes.io/os", "linux"},
          {"kubernetes.io/arch", "amd64"},
          {"kubernetes.io/hostname", s.name},
          {"kubernetes.io/os", "linux"},
          {"node.kubernetes.io/instance-type", "k8s-worker"},
          {"topology.kubernetes.io/zone", "rack-3"}}},
        {"annotations", annotations},
        {"managedFields", managed_fields(s)}}},
      {"spec", {{"podCIDR", s.pod_cidr}, {"podCIDRs", pod_cidrs}}},
      {"status",
       {{"capacity",
         {{"cpu", "16"},
          {"ephemeral-storage", "488245288Ki"},
          {"hugepages-1Gi", "0"},
          {"hugepages-2Mi", "2Gi"},
          {"memory", "65776432Ki"},
          {"pods", "110"}}},
        {"allocatable",
         {{"cpu", "16"},
          {"ephemeral-storage", "449964829233"},
          {"hugepages-1Gi", "0"},
          {"hugepages-2Mi", "2Gi"},
          {"memory", "63576880Ki"},
          {"pods", "110"}}},
        {"conditions",
         json::array({condition("NetworkUnavailable", "False", "FlannelIsUp",
                                "Flannel is running on this node", "2026-11-02T09:14:52Z"),
                      condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                "kubelet has sufficient memory available", "2026-12-03T08:51:07Z"),
                      condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                                "kubelet has no disk pressure", "2026-12-03T08:51:07Z"),
                      condition("PIDPressure", "False", "KubeletHasSufficientPID",
                                "kubelet has sufficient PID available", "2026-12-03T08:51:07Z"),
                      condition("Ready", "True", "KubeletReady", "kubelet is posting ready status",
                                "2026-12-03T08:51:07Z")})},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", s.internal_ip}},
                                   {{"type", "Hostname"}, {"address", s.name}}})},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo",
         {{"machineID", "c0a4d7b1e95f4c3a8e2b6d1f0a9c8e7d"},
          {"systemUUID", "8d3e2f1a-5b6c-4d7e-8f9a-0b1c2d3e4f5a"},
          {"bootID", "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"},
          {"kernelVersion", "6.1.0-27-amd64"},
          {"osImage", "Debian GNU/Linux 12 (bookworm)"},
          {"containerRuntimeVersion", "containerd://1.7.22"},
          {"kubeletVersion", "v1.30.6"},
          {"kubeProxyVersion", "v1.30.6"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}},
        {"images", images()}}}};
}

}  // namespace tartan::testing
