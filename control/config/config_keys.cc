#include "control/config/config_keys.h"

#include <algorithm>

namespace tartan {
namespace {

constexpr std::string_view kKeys[] = {
    "eal.main_lcore",
    "eal.memory_mb",
    "eal.hugepages",
    "eal.file_prefix",
    "eal.secondary_processes",
    "eal.extra_args",
    "ports.underlay.name",
    "ports.underlay.device",
    "ports.underlay.mac",
    "ports.underlay.address",
    "ports.underlay.gateway",
    "ports.underlay.ipv6_address",
    "ports.underlay.ipv6_gateway",
    "ports.underlay.mtu",
    "ports.overlay[].name",
    "ports.overlay[].device",
    "ports.overlay[].mac",
    "ports.overlay[].routing",
    "ports.overlay[].host_routes",
    "ports.exception.name",
    "ports.exception.device",
    "ports.exception.mac",
    "workers.lcores",
    "workers.burst_size",
    "workers.rx_descriptors",
    "workers.tx_descriptors",
    "workers.mempool_size",
    "workers.mempool_cache",
    "workers.idle_sleep_us",
    "network.Network",
    "network.SubnetLen",
    "network.SubnetMin",
    "network.SubnetMax",
    "network.EnableIPv4",
    "network.EnableIPv6",
    "network.EnableNFTables",
    "network.IPv6Network",
    "network.IPv6SubnetLen",
    "network.IPv6SubnetMin",
    "network.IPv6SubnetMax",
    "network.Networks",
    "network.IPv6Networks",
    "network.Backend.Type",
    "network.Backend.VNI",
    "network.Backend.Port",
    "network.Backend.MTU",
    "network.Backend.DirectRouting",
    "network.Backend.GBP",
    "network.Backend.Learning",
    "network.Backend.ListenPort",
    "network.Backend.ListenPortV6",
    "network.Backend.PSK",
    "network.Backend.PersistentKeepaliveInterval",
    "network.Backend.Mode",
    "network_file",
    "dataplane.vtep_mac",
    "dataplane.vtep_mac_v6",
    "dataplane.udp_checksum",
    "dataplane.max_routes",
    "dataplane.lpm_tbl8_groups",
    "dataplane.icmp_rate_per_s",
    "dataplane.arp.retry_ms",
    "dataplane.arp.max_retries",
    "dataplane.arp.refresh_s",
    "dataplane.arp.queue_len",
    "dataplane.reassembly.max_packets",
    "dataplane.reassembly.timeout_ms",
    "dataplane.wireguard.rekey_after_s",
    "dataplane.wireguard.reject_after_s",
    "dataplane.static_neighbours[].ip",
    "dataplane.static_neighbours[].mac",
    "dataplane.static_neighbours_v6[].ip",
    "dataplane.static_neighbours_v6[].mac",
    "node.name",
    "node.annotation_prefix",
    "node.state_dir",
    "control.listen",
    "control.socket_group",
    "control.watch_history",
    "control.watch_history_mb",
    "control.max_message_bytes",
    "control.max_concurrent_streams",
    "control.stream_write_timeout_ms",
    "control.tls.cert",
    "control.tls.key",
    "control.tls.client_ca",
    "control.http.listen",
    "control.http.metrics_peers",
    "control.probe.interval_ms",
    "control.probe.timeout_ms",
    "lease.source",
    "lease.subnet",
    "lease.subnet_v6",
    "lease.etcd.endpoints",
    "lease.etcd.prefix",
    "lease.etcd.tls.cert",
    "lease.etcd.tls.key",
    "lease.etcd.tls.ca",
    "lease.etcd.username",
    "lease.etcd.password",
    "lease.etcd.password_file",
    "lease.etcd.lease_ttl_s",
    "lease.etcd.renew_margin_s",
    "lease.etcd.request_timeout_ms",
    "lease.etcd.retry_initial_ms",
    "lease.etcd.retry_max_ms",
    "lease.etcd.startup_timeout_s",
    "lease.kube.kubeconfig",
    "lease.kube.api_url",
    "lease.kube.service_account_dir",
    "lease.kube.set_node_network_unavailable",
    "lease.kube.request_timeout_ms",
    "lease.kube.retry_initial_ms",
    "lease.kube.retry_max_ms",
    "lease.kube.watch_timeout_min_s",
    "lease.kube.list_page_size",
    "lease.kube.max_response_mb",
    "lease.kube.token_reload_s",
    "lease.kube.startup_timeout_s",
    "subnet_file",
    "ip_masq",
    "log.level",
    "log.format",
    "log.stats_interval",
};

}  // namespace

std::span<const std::string_view> config_keys() {
  return kKeys;
}

std::vector<std::string> config_keys_in(std::string_view section) {
  const std::string prefix = section.empty() ? "" : std::string(section) + ".";
  std::vector<std::string> out;
  for (std::string_view key : kKeys) {
    if (!key.starts_with(prefix)) continue;
    std::string_view rest = key.substr(prefix.size());
    // The next path component, a list's "[]" dropped: "overlay[].name" -> "overlay".
    std::string child(rest.substr(0, std::min(rest.find('.'), rest.find('['))));
    if (std::find(out.begin(), out.end(), child) == out.end()) out.push_back(std::move(child));
  }
  return out;
}

}  // namespace tartan
