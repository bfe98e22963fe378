// Writes the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/):
//   - frames as the dataplane tests build them (packets.h, EngineFixture),
//   - captures of what real engines send (another node's VXLAN and udp
//     backend encapsulation, ARP requests, ICMP errors), fed to this one,
//   - frames of pcap captures given on the command line, readdressed to
//     the fuzzed node (e.g. tests/fuzz/captures/kernel-vxlan.pcap, kernel
//     flannel.1 traffic),
//   - the configs in configs/, node annotations flanneld writes, the
//     API requests tartanctl sends, and what the Kubernetes API server
//     sends (a watch stream, a Node, a NodeList page).
// Usage: make_fuzz_corpus SOURCE_ROOT OUT_DIR [PCAP...]
#include <rte_mbuf.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "control/cluster/flannel_annotations.h"
#include "engine/wireguard/handshake.h"
#include "engine/wireguard/x25519.h"
#include "tartan/v1/lease.pb.h"
#include "tartan/v1/node.pb.h"
#include "tests/fuzz/wireguard_setup.h"
#include "tests/support/dpdk_test_env.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/kubelet_node.h"
#include "tests/support/nd_packets.h"

namespace tartan::fuzz {
namespace {

namespace fs = std::filesystem;
using testing::Bytes;
using testing::EngineFixture;
using testing::FixtureOptions;

class Corpus {
 public:
  explicit Corpus(fs::path root) : root_(std::move(root)) {}

  void add(const std::string& target, const std::string& name, const Bytes& bytes) {
    const fs::path dir = root_ / target;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    ++counts_[target];
  }
  void add(const std::string& target, const std::string& name, uint8_t selector, const Bytes& b) {
    Bytes with{selector};
    with.insert(with.end(), b.begin(), b.end());
    add(target, name, with);
  }
  void add_text(const std::string& target, const std::string& name, const std::string& text) {
    add(target, name, Bytes(text.begin(), text.end()));
  }
  const std::map<std::string, int>& counts() const { return counts_; }

 private:
  fs::path root_;
  std::map<std::string, int> counts_;
};

Ipv4Addr host_of(int node, uint32_t host) {
  return Ipv4Addr{EngineFixture::node(node).subnet.addr.value + host};
}

// What a node's engine sends when its pods send the frames `pod_frame`
// makes (a capture of real encapsulation by another tartan node), one
// frame per payload size; a dual-stack engine routes the peer's IPv6
// podCIDR too.
std::vector<Bytes> capture_egress(
    const FixtureOptions& options, int peer,
    const std::function<Bytes(const EngineFixture&, uint16_t size)>& pod_frame,
    const std::vector<uint16_t>& sizes) {
  EngineFixture fx(options);
  fx.add_node(peer);
  if (options.ipv6) fx.add_node6(peer);
  std::vector<Bytes> frames;
  for (uint16_t size : sizes) frames.push_back(pod_frame(fx, size));
  return fx.from_overlay(frames);
}

Ipv6Addr host6_of(int node, uint8_t host) {
  Ipv6Addr a = EngineFixture::node6(node).subnet.addr;
  a.bytes[15] = host;
  return a;
}

// The dual-stack engines' IPv6 frames (selector `ingress` into fuzz_ingress,
// `egress` into fuzz_egress): flannel-v6's VXLAN from nodes and strangers,
// neighbour discovery for our address, and pod traffic over IPv6.
void ipv6_seeds(Corpus& c, const EngineFixture& me, uint8_t ingress, uint8_t egress) {
  const auto self6 = me.self6();
  c.add("ingress", "vxlan6-from-node2", ingress, me.vxlan6_from(2, me.pod_ip6()));
  c.add("ingress", "vxlan6-from-node200", ingress, me.vxlan6_from(200, me.pod_ip6()));
  c.add("ingress", "vxlan6-from-stranger", ingress, me.vxlan6_from(5, me.pod_ip6()));
  c.add("ingress", "vxlan6-wrong-vni", ingress, me.vxlan6_from(2, me.pod_ip6(), 7));
  c.add("ingress", "vxlan6-big", ingress, me.vxlan6_from(2, me.pod_ip6(), 1, 1300));
  c.add("ingress", "vxlan-from-node2-dual-stack", ingress, me.vxlan_from(2, me.pod_ip()));
  const auto n2 = EngineFixture::node6(2);
  testing::NdSpec ns;
  ns.src_mac = n2.underlay_mac;
  ns.dst_mac = *MacAddr::parse("33:33:ff:00:00:13");
  ns.src_ip = n2.public_ip;
  ns.dst_ip = *Ipv6Addr::parse("ff02::1:ff00:13");
  ns.target = self6.public_ip;
  ns.options = {testing::link_option(1, n2.underlay_mac)};
  c.add("ingress", "nd-solicitation-for-us", ingress, testing::nd_frame(ns));
  testing::NdSpec na = ns;
  na.type = 136;
  na.flags = 0x60;  // solicited, override
  na.dst_mac = self6.underlay_mac;
  na.dst_ip = self6.public_ip;
  na.target = n2.public_ip;
  na.options = {testing::link_option(2, n2.underlay_mac)};
  c.add("ingress", "nd-advertisement-from-node2", ingress, testing::nd_frame(na));
  int i = 0;
  for (const Bytes& f : capture_egress({.self = 2, .ipv6 = true}, 1,
                                       [&](const EngineFixture&fx, uint16_t size) {
                                         return fx.pod_frame6(me.pod_ip6(), 10000, size);
                                       },
                                       {18, 900}))
    c.add("ingress", "captured-vxlan6-from-node2-" + std::to_string(i++), ingress, f);

  c.add("egress", "vxlan6-to-node2", egress, me.pod_frame6(host6_of(2, 5)));
  c.add("egress", "vxlan6-to-node3-unresolved", egress, me.pod_frame6(host6_of(3, 5)));
  c.add("egress", "vxlan6-to-node200", egress, me.pod_frame6(host6_of(200, 5)));
  c.add("egress", "vxlan6-to-nowhere", egress,
        me.pod_frame6(*Ipv6Addr::parse("fd00:10:244:77::5")));
  c.add("egress", "vxlan6-hairpin", egress, me.pod_frame6(me.pod_ip6(20)));
  c.add("egress", "vxlan6-hop-limit-1", egress, me.pod_frame6(host6_of(2, 5), 10000, 18, 1));
  c.add("egress", "vxlan6-too-big", egress, me.pod_frame6(host6_of(2, 5), 10000, 1500));
  c.add("egress", "vxlan-to-node2-dual-stack", egress, me.pod_frame(host_of(2, 5)));
}

void packet_seeds(Corpus& c) {
  EngineFixture me;  // node 1, as the fuzzed engines are
  const auto self = me.self();
  const MacAddr broadcast = *MacAddr::parse("ff:ff:ff:ff:ff:ff");
  const MacAddr stranger = *MacAddr::parse("02:00:00:00:0c:01");

  // ingress, selector 0: vxlan; 1: vxlan with DirectRouting; 2: udp.
  c.add("ingress", "vxlan-from-node2", 0, me.vxlan_from(2, me.pod_ip()));
  c.add("ingress", "vxlan-from-node200", 0, me.vxlan_from(200, me.pod_ip()));
  c.add("ingress", "vxlan-from-stranger", 0, me.vxlan_from(5, me.pod_ip()));
  c.add("ingress", "vxlan-wrong-vni", 0, me.vxlan_from(2, me.pod_ip(), 7));
  c.add("ingress", "vxlan-big", 0, me.vxlan_from(2, me.pod_ip(), 1, 1400));
  // A router on the way fragmented it: each fragment alone (the rest come
  // as other inputs, or never).
  int fragment = 0;
  for (const Bytes& f : testing::ipv4_fragments(me.vxlan_from(2, me.pod_ip(), 1, 1000), 400))
    c.add("ingress", "vxlan-fragment-" + std::to_string(fragment++), 0, f);
  c.add("ingress", "vxlan-dr-from-node200", 1, me.vxlan_from(200, me.pod_ip()));
  c.add("ingress", "udp-from-node200", 2, me.udp_tunnel_from(200, me.pod_ip()));
  c.add("ingress", "udp-from-node2", 2, me.udp_tunnel_from(2, me.pod_ip()));
  c.add("ingress", "arp-request-for-us", 0,
        testing::arp_frame(1, broadcast, stranger, *Ipv4Addr::parse("192.0.2.50"), MacAddr{},
                           self.public_ip));
  for (const auto& [selector, name, options] :
       std::vector<std::tuple<uint8_t, std::string, FixtureOptions>>{
           {0, "vxlan", {.self = 2}},
           {1, "direct", {.self = 2, .direct_routing = true}},
           {2, "udp", {.self = 2, .backend = BackendType::kUdp}}}) {
    int i = 0;
    for (const Bytes& f : capture_egress(options, 1,
                                         [&](const EngineFixture&fx, uint16_t size) {
                                           return fx.pod_frame(me.pod_ip(), size, size);
                                         },
                                         {18, 900}))
      c.add("ingress", "captured-" + name + "-from-node2-" + std::to_string(i++), selector, f);
  }

  // egress, selector 0: vxlan; 1: udp.
  for (uint8_t sel : {0, 1}) {
    const std::string b = sel == 0 ? "vxlan-" : "udp-";
    c.add("egress", b + "to-node2", sel, me.pod_frame(host_of(2, 5)));
    c.add("egress", b + "to-node3-unresolved", sel, me.pod_frame(host_of(3, 5)));
    c.add("egress", b + "to-node200", sel, me.pod_frame(host_of(200, 5)));
    c.add("egress", b + "to-nowhere", sel, me.pod_frame(*Ipv4Addr::parse("10.244.77.5")));
    c.add("egress", b + "hairpin", sel, me.pod_frame(me.pod_ip(20)));
    c.add("egress", b + "ttl-1", sel, me.pod_frame(host_of(2, 5), 10000, 18, 1));
    testing::UdpSpec big;
    big.src_mac = EngineFixture::kPodMac;
    big.dst_mac = EngineFixture::kOverlayMac;
    big.src_ip = me.pod_ip();
    big.dst_ip = host_of(2, 5);
    big.dont_fragment = true;
    c.add("egress", b + "too-big-df", sel, testing::udp_frame(big, 1500));
    big.dont_fragment = false;
    c.add("egress", b + "too-big", sel, testing::udp_frame(big, 1500));
    c.add("egress", b + "proxy-arp", sel,
          testing::arp_frame(1, broadcast, EngineFixture::kPodMac, me.pod_ip(), MacAddr{},
                             host_of(2, 1)));
  }

  // ingress selector 3 and egress selector 2: the dual-stack engines.
  ipv6_seeds(c, me, 3, 2);

  // arp: bit 0 the port (overlay), bit 1 a packet held for node 3 first.
  const auto n3 = EngineFixture::node(3);
  c.add("arp", "request-for-us", 0,
        testing::arp_frame(1, broadcast, stranger, *Ipv4Addr::parse("192.0.2.50"), MacAddr{},
                           self.public_ip));
  c.add("arp", "reply-from-node3", 2,
        testing::arp_frame(2, self.underlay_mac, n3.underlay_mac, n3.public_ip, self.underlay_mac,
                           self.public_ip));
  c.add("arp", "gratuitous-node3", 2,
        testing::arp_frame(1, broadcast, n3.underlay_mac, n3.public_ip, MacAddr{}, n3.public_ip));
  c.add("arp", "proxy-request", 1,
        testing::arp_frame(1, broadcast, EngineFixture::kPodMac, me.pod_ip(), MacAddr{},
                           host_of(2, 1)));
  // The ARP requests a real engine sends for an unresolved next hop.
  EngineFixture asker({.self = 3});
  asker.add_node(1, /*static_neighbour=*/false);
  int i = 0;
  for (const Bytes& f : asker.from_overlay({asker.pod_frame(me.pod_ip())}))
    c.add("arp", "captured-request-" + std::to_string(i++), 0, f);
}

// A pcap's frames, readdressed so they reach the fuzzed node's decap:
// outer to our underlay MAC and public IP from node 2's, inner to our VTEP
// MAC and a pod of ours; checksums redone (outer UDP's zeroed, as allowed).
void pcap_seeds(Corpus& c, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 24) throw std::runtime_error("not a pcap: " + path);
  const testing::RemoteNode me = EngineFixture::node(1), peer = EngineFixture::node(2);
  size_t at = 24, n = 0;
  const auto put = [](Bytes& f, size_t off, const uint8_t* p, size_t len) {
    std::copy(p, p + len, f.begin() + static_cast<std::ptrdiff_t>(off));
  };
  const auto put_ip = [&](Bytes& f, size_t off, Ipv4Addr a) {
    const uint8_t b[4] = {uint8_t(a.value >> 24), uint8_t(a.value >> 16), uint8_t(a.value >> 8),
                          uint8_t(a.value)};
    put(f, off, b, 4);
  };
  const auto fix_ip_sum = [](Bytes& f, size_t l3) {
    f[l3 + 10] = f[l3 + 11] = 0;
    const uint16_t s = testing::internet_checksum(&f[l3], 20);
    f[l3 + 10] = uint8_t(s >> 8), f[l3 + 11] = uint8_t(s);
  };
  while (at + 16 <= data.size()) {
    uint32_t incl = 0;
    std::memcpy(&incl, data.data() + at + 8, 4);
    at += 16;
    if (at + incl > data.size()) break;
    Bytes f(data.begin() + static_cast<std::ptrdiff_t>(at),
            data.begin() + static_cast<std::ptrdiff_t>(at + incl));
    at += incl;
    if (f.size() < 84 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17) continue;
    put(f, 0, me.underlay_mac.bytes.data(), 6);
    put(f, 6, peer.underlay_mac.bytes.data(), 6);
    put_ip(f, 26, peer.public_ip);
    put_ip(f, 30, me.public_ip);
    fix_ip_sum(f, 14);
    f[40] = f[41] = 0;
    put(f, 50, me.vtep_mac.bytes.data(), 6);
    put(f, 56, peer.vtep_mac.bytes.data(), 6);
    put_ip(f, 80, Ipv4Addr{me.subnet.addr.value + 10});
    fix_ip_sum(f, 64);
    c.add("ingress", fs::path(path).stem().string() + "-" + std::to_string(n++), 0, f);
  }
}

void config_seeds(Corpus& c, const fs::path& source_root) {
  for (const fs::path& dir : {source_root / "configs", source_root / "configs" / "examples"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".yaml") continue;
      std::ifstream in(e.path());
      std::stringstream s;
      s << in.rdbuf();
      c.add_text("config", dir.filename().string() + "-" + e.path().filename().string(), s.str());
    }
  }
  c.add_text("config", "flannel-net-conf-json",
             "ports:\n  underlay: {device: net_null0, address: 192.0.2.10/24}\n"
             "  overlay: [{device: net_ring0}]\n"
             "network: {\"Network\": \"10.244.0.0/16\", \"SubnetLen\": 25, \"Backend\": "
             "{\"Type\": \"vxlan\", \"VNI\": 4096, \"DirectRouting\": true}}\n"
             "lease: {source: static, subnet: 10.244.3.128/25}\n"
             "control: {listen: unix:///run/t.sock, socket_group: root, max_message_bytes: "
             "1048576, max_concurrent_streams: 8, stream_write_timeout_ms: 2000}\n");
}

void annotation_seeds(Corpus& c) {
  const auto join = [](const std::vector<std::string>& fields) {
    std::string out;
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? std::string(1, '\0') : "") + fields[i];
    return out;
  };
  const std::string vxlan_data =
      flannel_backend_data(BackendType::kVxlan, 1, *MacAddr::parse("0e:00:00:00:00:02"));
  c.add_text("annotations", "kernel-vxlan-node",
             join({"flannel.alpha.coreos.com", "node-2", "10.244.2.0/24", "vxlan", vxlan_data,
                   "192.0.2.20", "", "true"}));
  c.add_text("annotations", "udp-node",
             join({"example.com/foo", "node-3", "10.244.3.0/24,fd00::/64", "", "null", "192.0.2.21",
                   "198.51.100.7", "true"}));
  c.add_text("annotations", "host-gw-node",
             join({"flannel.alpha.coreos.com", "node-4", "10.244.4.0/24", "host-gw", "null",
                   "192.0.2.22"}));
}

void api_seeds(Corpus& c) {
  const auto add = [&](const std::string& name, uint8_t selector,
                       const google::protobuf::Message& m) {
    const std::string bytes = m.SerializeAsString();
    c.add("api", name, selector, Bytes(bytes.begin(), bytes.end()));
  };
  v1::ApplyNodesRequest batch;
  for (int i : {2, 3, 200}) {
    const auto n = EngineFixture::node(i);
    v1::ApplyNodeRequest req;
    v1::Node& node = *req.mutable_node();
    node.set_name("node-" + std::to_string(i));
    node.add_pod_cidrs(n.subnet.str());
    auto* a = node.add_addresses();
    a->set_type("InternalIP");
    a->set_address(n.public_ip.str());
    auto& ann = *node.mutable_annotations();
    ann["flannel.alpha.coreos.com/backend-data"] =
        flannel_backend_data(BackendType::kVxlan, 1, n.vtep_mac);
    ann["flannel.alpha.coreos.com/backend-type"] = "vxlan";
    ann["flannel.alpha.coreos.com/kube-subnet-manager"] = "true";
    ann["flannel.alpha.coreos.com/public-ip"] = n.public_ip.str();
    add("apply-node-" + std::to_string(i), 0, req);
    *batch.add_apply() = req;
    req.set_expected_resource_version("1");
    add("apply-node-" + std::to_string(i) + "-at-version-1", 0, req);
  }
  add("apply-nodes-2-3-200", 5, batch);
  v1::DeleteNodeRequest del;
  del.set_name("node-2");
  add("delete-node-2", 1, del);
  *batch.add_remove() = del;
  add("apply-nodes-removing-node-2", 5, batch);
  v1::GetNodeRequest get;
  get.set_name("node-3");
  add("get-node-3", 2, get);
  v1::ListNodesRequest list;
  list.set_page_size(2);
  list.set_page_token("node-2");
  add("list-page-2", 3, list);
  v1::SetLocalLeaseRequest lease;
  lease.set_pod_cidr("10.244.9.0/24");
  add("set-lease-9", 4, lease);
}

// fuzz_wireguard: node 2's valid initiation (from node 2 and from a
// stranger), a pod packet and a keepalive sealed under the keypair,
// and messages of each other type.
void wireguard_seeds(Corpus& c) {
  namespace setup = wireguard_setup;
  namespace wg = wireguard;
  const EngineFixture me({.backend = BackendType::kWireguard});
  const auto node2 = wg::LocalIdentity::from_private_key(setup::kPeerPrivateKey);
  const auto ours = wg::public_key_of(setup::kOurPrivateKey);
  auto peer = wg::Peer::create(*node2, *ours, {});
  const auto initiation =
      wg::create_initiation(*node2, *peer, 7, wg::tai64n(std::chrono::system_clock::now()),
                            std::chrono::seconds(1), wg::os_random);
  const wg::Bytes as = wg::as_bytes(*initiation);
  const Bytes init(as.begin(), as.end());
  c.add("wireguard", "initiation-from-node2", 0, init);
  c.add("wireguard", "initiation-from-stranger", setup::kFromStranger, init);
  c.add("wireguard", "transport-pod-packet", setup::kToOurKeypair,
        testing::wireguard_transport(setup::kPeerSends, 0, 0, me.pod_packet_from(2, me.pod_ip())));
  c.add("wireguard", "transport-keepalive", setup::kToOurKeypair,
        testing::wireguard_transport(setup::kPeerSends, 0, 1, {}));
  c.add("wireguard", "transport-unknown-index", 0,
        testing::wireguard_transport(setup::kPeerSends, 0, 2, {}));
  const std::pair<uint8_t, size_t> others[] = {
      {2, sizeof(wg::Response)}, {3, sizeof(wg::CookieReply)}, {1, 4}, {5, 32}};
  for (const auto& [type, size] : others) {
    Bytes m(size, 0);
    m[0] = type;
    c.add("wireguard", "type-" + std::to_string(type) + "-" + std::to_string(size), 0, m);
  }
}

// fuzz_kube_watch: the first byte seeds how the rest is cut into reads.
void kube_watch_seeds(Corpus& c) {
  using nlohmann::json;
  using testing::kubelet_node;
  const auto add = [&](const std::string& name, uint8_t cutting, const std::string& text) {
    c.add("kube_watch", name, cutting, Bytes(text.begin(), text.end()));
  };
  const json n1 = kubelet_node({.name = "worker-1", .resource_version = "100"});
  json n2 = kubelet_node({.name = "worker-2",
                          .resource_version = "101",
                          .pod_cidr = "10.244.2.0/24",
                          .pod_cidr_v6 = "fd00:10:244:2::/64",
                          .internal_ip = "192.168.56.12"});
  const auto event = [](const char* type, const json& object) {
    return json{{"type", type}, {"object", object}}.dump() + "\n";
  };
  std::string stream = event("ADDED", n1) + event("ADDED", n2);
  n2["metadata"]["resourceVersion"] = "102";
  n2["metadata"]["annotations"]["flannel.alpha.coreos.com/public-ip"] = "192.168.57.12";
  stream += event("MODIFIED", n2);
  stream +=
      event("BOOKMARK",
            {{"kind", "Node"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", "150"}}}});
  stream += event("DELETED", n2);
  stream += event("ERROR", {{"kind", "Status"},
                            {"apiVersion", "v1"},
                            {"metadata", json::object()},
                            {"status", "Failure"},
                            {"message", "too old resource version: 100 (150)"},
                            {"reason", "Expired"},
                            {"code", 410}});
  add("watch-stream-whole", 0, stream);
  add("watch-stream-small-reads", 3, stream);
  add("watch-stream-1-byte-reads", 1, stream);
  add("kubelet-node", 0, n1.dump());
  json list = {{"kind", "NodeList"},
               {"apiVersion", "v1"},
               {"metadata", {{"resourceVersion", "150"}, {"continue", "eyJydiI6MTUwfQ"}}},
               {"items", json::array({n1, n2})}};
  add("node-list-page", 0, list.dump());
  // What the decoder keeps and little else: small, so mutations are quick.
  const json small = {
      {"metadata",
       {{"name", "worker-1"},
        {"resourceVersion", "7"},
        {"annotations",
         {{"flannel.alpha.coreos.com/public-ip", "192.0.2.1"},
          {"flannel.alpha.coreos.com/backend-data",
           "{\"VNI\":1,\"VtepMAC\":\"0e:00:00:00:00:01\"}"},
          {"tartan.io/x", "a \"}{\" b"}}}}},
      {"spec", {{"podCIDR", "10.244.1.0/24"}}},
      {"status",
       {{"addresses", json::array({{{"type", "InternalIP"}, {"address", "192.0.2.1"}}})},
        {"conditions", json::array({{{"type", "NetworkUnavailable"},
                                     {"status", "False"},
                                     {"reason", "FlannelIsUp"}}})}}}};
  add("small-stream", 5,
      event("ADDED", small) +
          event("BOOKMARK", {{"kind", "Node"}, {"metadata", {{"resourceVersion", "8"}}}}) +
          event("DELETED", small));
}

}  // namespace
}  // namespace tartan::fuzz

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SOURCE_ROOT OUT_DIR [PCAP...]\n", argv[0]);
    return 2;
  }
  tartan::testing::init_test_eal();
  tartan::fuzz::Corpus corpus(argv[2]);
  tartan::fuzz::packet_seeds(corpus);
  for (int i = 3; i < argc; ++i) tartan::fuzz::pcap_seeds(corpus, argv[i]);
  tartan::fuzz::config_seeds(corpus, argv[1]);
  tartan::fuzz::annotation_seeds(corpus);
  tartan::fuzz::api_seeds(corpus);
  tartan::fuzz::kube_watch_seeds(corpus);
  tartan::fuzz::wireguard_seeds(corpus);
  for (const auto& [target, n] : corpus.counts()) std::printf("%s: %d seeds\n", target.c_str(), n);
  return 0;
}
