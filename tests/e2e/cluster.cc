#include "tests/e2e/cluster.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <thread>

#include "tests/support/files.h"

namespace tartan::testing {
using namespace std::chrono_literals;

namespace {

// wireguard-go's UAPI socket for `device`.
std::string wireguard_socket(const std::string& device) {
  return "/var/run/wireguard/" + device + ".sock";
}

}  // namespace

std::string ping(Cluster& c, ClusterNode& from, ClusterNode& to, const std::string& options) {
  return c.sh(*from.pod, "ping " + options + " " + to.pod_ip.str() + " 2>&1").output;
}

std::string ping6(Cluster& c, ClusterNode& from, ClusterNode& to, const std::string& options) {
  return c.sh(*from.pod, "ping " + options + " " + to.pod_ip_v6->str() + " 2>&1").output;
}

bool all_replied(const std::string& ping_output) {
  return ping_output.find(" 0% packet loss") != std::string::npos;
}

bool path_up(Cluster& c, ClusterNode& from, ClusterNode& to) {
  return eventually([&] { return all_replied(ping(c, from, to, "-c 1 -W 1")); }, 30s);
}

bool path_up6(Cluster& c, ClusterNode& from, ClusterNode& to) {
  return eventually([&] { return all_replied(ping6(c, from, to, "-c 1 -W 1")); }, 30s);
}

uint64_t drop_count(Cluster& c, ClusterNode& n, const std::string& reason) {
  const auto stats = nlohmann::json::parse(c.tartanctl(n, {"-o", "json", "stats"}).output);
  for (const auto& d : stats.at("drops")) {
    if (d.at("reason") == reason) return std::stoull(d.at("packets").get<std::string>());
  }
  return 0;
}

uint64_t event_count(Cluster& c, ClusterNode& n, const std::string& name) {
  auto stats = nlohmann::json::parse(c.tartanctl(n, {"-o", "json", "stats"}).output);
  // proto3's JSON leaves zero counters out.
  return std::stoull(stats["events"].value(name, "0"));
}

std::string e2e_tool(const std::string& name) {
  return required_env("TARTAN_SOURCE_ROOT") + "/tests/e2e/tools/" + name;
}

std::string python(const std::string& tool, const std::string& args) {
  return std::string(kPython) + " " + e2e_tool(tool) + " " + args;
}

double tcp_transfer(Cluster& c, ClusterNode& from, ClusterNode& to, uint64_t bytes, bool ipv6) {
  Process server(to.pod->exec({kPython, e2e_tool("tcp_stream.py"), "serve", "5201"}));
  std::this_thread::sleep_for(300ms);
  c.sh(*from.pod, "nstat -n");  // reset nstat's history
  const std::string to_ip = ipv6 ? to.pod_ip_v6->str() : to.pod_ip.str();
  const std::string sent =
      c.sh(*from.pod, python("tcp_stream.py", "send " + to_ip + " 5201 " + std::to_string(bytes)),
           600s)
          .output;
  const std::string nstat = c.sh(*from.pod, "nstat -az TcpRetransSegs TcpOutSegs").output;
  EXPECT_TRUE(server.wait(60s).has_value()) << server.output();
  EXPECT_EQ(server.output(), sent) << "bytes and SHA-256 at the receiver vs the sender";
  EXPECT_EQ(sent.substr(0, sent.find(' ')), std::to_string(bytes));
  std::smatch m;
  uint64_t retrans = 0, out = 1;
  if (std::regex_search(nstat, m, std::regex(R"(TcpRetransSegs\s+(\d+))")))
    retrans = std::stoull(m[1]);
  if (std::regex_search(nstat, m, std::regex(R"(TcpOutSegs\s+(\d+))"))) out = std::stoull(m[1]);
  return static_cast<double>(retrans) / static_cast<double>(out);
}

Cluster::Cluster(const std::string& tag, Stack stack) : tag_(tag), stack_(stack) {
  switch_ = std::make_unique<Netns>(tag + "sw");
  sh(*switch_,
     "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && ip link add br0 type bridge && ip link set "
     "br0 up");
}

Cluster::~Cluster() {
  for (auto& [i, n] : nodes_) {
    if (n->tartand) {
      n->tartand->signal(SIGTERM);
      n->tartand->wait(30s);
    }
    // wireguard-go removes its socket and device itself; the socket goes
    // here too in case it could not.
    for (auto [go, device] : {std::pair{&n->wireguard_go, &n->wg_device},
                              std::pair{&n->wireguard_go_v6, &n->wg_device_v6}}) {
      if (!*go) continue;
      (*go)->signal(SIGTERM);
      (*go)->wait(5s);
      std::filesystem::remove(wireguard_socket(*device));
    }
  }
  for (auto& [i, n] : nodes_) {
    if (!n->dir.empty()) run_command({"rm", "-rf", n->dir});
  }
  nodes_.clear();
  stranger_.reset();
  switch_.reset();
}

CommandResult Cluster::sh(const Netns& ns, const std::string& script,
                          std::chrono::milliseconds timeout) {
  CommandResult r = run_command(ns.exec({"sh", "-c", script}), timeout);
  if (r.exit_code != 0 && r.exit_code != 1) {
    // 1 is a legitimate answer of many commands (ping, grep); worse is a setup failure.
    throw std::runtime_error("in " + ns.name() + ": " + script + "\n" + r.output);
  }
  return r;
}

// IPv6 off, or on without duplicate address detection (addresses usable at
// once, as the test needs) and, on nodes, forwarding. Set before the
// namespace's links exist: they take the `default` settings.
std::string ipv6_sysctls(bool ipv6, bool forwarding) {
  if (!ipv6) return "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && ";
  return std::string(
             "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 ") +
         (forwarding ? "net.ipv6.conf.all.forwarding=1 " : "") + "&& ";
}

void Cluster::add_underlay_port(ClusterNode& n) {
  const std::string s = "s" + std::to_string(n.index);
  sh(*n.ns, ipv6_sysctls(ipv6(), true) + "true");
  run_command({"ip", "-n", switch_->name(), "link", "add", s, "type", "veth", "peer", "name",
               "eth0", "netns", n.ns->name()});
  sh(*switch_, "ip link set " + s + " master br0 up");
  sh(*n.ns, "sysctl -qw net.ipv4.ip_forward=1 && ip link set lo up && ip link set eth0 up");
  if (n.public_ipv6) sh(*n.ns, "ip -6 addr add " + n.public_ipv6->str() + "/64 dev eth0");
}

void Cluster::add_pod(ClusterNode& n) {
  n.pod = std::make_unique<Netns>(tag_ + "p" + std::to_string(n.index));
  sh(*n.pod, ipv6_sysctls(ipv6(), false) + "true");
  run_command({"ip", "-n", n.ns->name(), "link", "add", "veth0", "type", "veth", "peer", "name",
               "eth0", "netns", n.pod->name()});
  sh(*n.ns,
     "ip link add cni0 type bridge && ip link set cni0 up && ip link set veth0 master cni0 up");
  // Pods keep MTU 1500 (flannel's CNI would give them FLANNEL_MTU): path
  // MTU discovery has to work across the overlay.
  sh(*n.pod, "ip link set lo up && ip link set eth0 up");
  if (ipv4()) {
    const Ipv4Prefix gw{Ipv4Addr{n.pod_cidr.addr.value + 1}, n.pod_cidr.len};
    sh(*n.ns, "ip addr add " + gw.str() + " dev cni0");
    sh(*n.pod, "ip addr add " + n.pod_ip.str() + "/" + std::to_string(n.pod_cidr.len) +
                   " dev eth0 && ip route add default via " + gw.addr.str());
  }
  if (n.pod_cidr_v6) {
    Ipv6Addr gw6 = n.pod_cidr_v6->addr;
    gw6.bytes[15] = 1;
    sh(*n.ns, "ip -6 addr add " + gw6.str() + "/64 dev cni0");
    sh(*n.pod, "ip -6 addr add " + n.pod_ip_v6->str() +
                   "/64 dev eth0 && ip -6 route add default via " + gw6.str());
  }
}

void Cluster::add_routed_pod(ClusterNode& n) {
  n.pod = std::make_unique<Netns>(tag_ + "p" + std::to_string(n.index));
  sh(*n.pod, ipv6_sysctls(ipv6(), false) + "true");
  run_command({"ip", "-n", n.ns->name(), "link", "add", "veth0", "type", "veth", "peer", "name",
               "eth0", "netns", n.pod->name()});
  // veth0 is tartan's: the node's own stack keeps off it (no address, and
  // what it receives is for another MAC).
  sh(*n.ns, std::string(ipv6() ? "sysctl -qw net.ipv6.conf.veth0.disable_ipv6=1 && " : "") +
                "ip link set veth0 up");
  // tartan delivers to its port's MAC, veth0's: the pod takes the same.
  // The gateways' MAC only has to be another one: tartan takes whatever
  // the pod sends, and answers no ARP or neighbour discovery for them.
  const std::string mac = sh(*n.ns, "cat /sys/class/net/veth0/address").output.substr(0, 17);
  const std::string gateway_mac = "02:00:00:00:00:fe";
  // af_packet takes frames from the veth without their checksum state: the
  // pod finishes its own checksums (and so segments its own TCP), as a
  // pod's stack does behind a port with no offloads.
  sh(*n.pod, "ethtool -K eth0 tx off >/dev/null");
  sh(*n.pod, "ip link set lo up && ip link set eth0 address " + mac + " && ip link set eth0 up");
  if (ipv4()) {
    const Ipv4Addr gw{n.pod_cidr.addr.value + 1};
    sh(*n.pod, "ip addr add " + n.pod_ip.str() + "/" + std::to_string(n.pod_cidr.len) +
                   " dev eth0 && ip neigh replace " + gw.str() + " lladdr " + gateway_mac +
                   " dev eth0 nud permanent && ip route add default via " + gw.str());
  }
  if (n.pod_cidr_v6) {
    Ipv6Addr gw6 = n.pod_cidr_v6->addr;
    gw6.bytes[15] = 1;
    sh(*n.pod, "ip -6 addr add " + n.pod_ip_v6->str() + "/64 dev eth0 && ip -6 neigh replace " +
                   gw6.str() + " lladdr " + gateway_mac +
                   " dev eth0 nud permanent && ip -6 route add default via " + gw6.str());
  }
}

void Cluster::assign_addresses(ClusterNode& n, int i) {
  n.index = i;
  n.name = "node-" + std::to_string(i);
  n.ns = std::make_unique<Netns>(tag_ + "n" + std::to_string(i));
  n.public_ip = Ipv4Addr{(192u << 24) | (2u << 8) | static_cast<uint32_t>(10 + i)};
  n.pod_cidr =
      Ipv4Prefix{Ipv4Addr{(10u << 24) | (244u << 16) | (static_cast<uint32_t>(i) << 8)}, 24};
  n.pod_ip = Ipv4Addr{n.pod_cidr.addr.value + 2};
  if (!ipv6()) return;
  n.public_ipv6 = *Ipv6Addr::parse("2001:db8::" + std::to_string(10 + i));
  n.pod_cidr_v6 = *Ipv6Prefix::parse("fd00:10:244:" + std::to_string(i) + "::/64");
  n.pod_ip_v6 = *Ipv6Addr::parse("fd00:10:244:" + std::to_string(i) + "::2");
}

ClusterNode& Cluster::add_kernel_node(int i) {
  auto n = std::make_unique<ClusterNode>();
  assign_addresses(*n, i);
  add_underlay_port(*n);
  if (ipv4()) {
    // flanneld's flannel.1: vxlan id 1, local = our public IP, dstport 8472,
    // nolearning, MTU underlay - 50, address <podCIDR network>/32.
    sh(*n->ns, "ip addr add " + n->public_ip.str() +
                   "/24 dev eth0 && ip link add flannel.1 type vxlan id 1 local " +
                   n->public_ip.str() +
                   " dev eth0 dstport 8472 nolearning && ip link set flannel.1 mtu 1450 up && "
                   "ip addr add " +
                   n->pod_cidr.addr.str() + "/32 dev flannel.1");
    n->vtep_mac = sh(*n->ns, "cat /sys/class/net/flannel.1/address").output;
    n->vtep_mac.erase(n->vtep_mac.find_last_not_of("\n") + 1);
  }
  if (n->public_ipv6) {
    // flannel-v6.1 likewise, local = our public IPv6, with the lease's
    // network address as a /128 (configureDeviceIPv4IPv6). flanneld asks
    // for the same MTU as flannel.1's (device.go: MTU - 50 for both,
    // flannel#1781) when it creates the link; the kernel clamps it to what
    // an IPv6 underlay carries, 1500 - 70 = 1430.
    sh(*n->ns, "ip link add flannel-v6.1 mtu 1450 type vxlan id 1 local " + n->public_ipv6->str() +
                   " dev eth0 dstport 8472 nolearning && ip link set flannel-v6.1 up && "
                   "ip -6 addr add " +
                   n->pod_cidr_v6->addr.str() + "/128 dev flannel-v6.1");
    n->vtep_mac_v6 = sh(*n->ns, "cat /sys/class/net/flannel-v6.1/address").output;
    n->vtep_mac_v6.erase(n->vtep_mac_v6.find_last_not_of("\n") + 1);
  }
  add_pod(*n);
  return *(nodes_[i] = std::move(n));
}

void Cluster::set_wireguard_mode(const std::string& mode, uint16_t listen_port_v6) {
  wireguard_mode_ = mode;
  wireguard_listen_port_v6_ = listen_port_v6;
}

ClusterNode& Cluster::add_wireguard_go_node(int i, uint16_t listen_port) {
  auto n = std::make_unique<ClusterNode>();
  assign_addresses(*n, i);
  n->backend = "wireguard";
  n->dir = temp_dir(tag_ + "w" + std::to_string(i));
  n->wg_device = "wg" + std::to_string(getpid()) + "n" + std::to_string(i);
  n->wg_listen_port = listen_port;
  add_underlay_port(*n);
  sh(*n->ns, "ip addr add " + n->public_ip.str() + "/24 dev eth0");
  generate_wireguard_key(*n);
  n->wireguard_go = start_wireguard_go(*n, n->wg_device);
  const std::string& dev = n->wg_device;
  sh(*n->ns, "wg set " + dev + " listen-port " + std::to_string(listen_port) + " private-key " +
                 n->dir + "/wgkey && ip link set " + dev + " mtu 1420 && ip addr add " +
                 n->pod_cidr.addr.str() + "/32 dev " + dev + " && ip link set " + dev +
                 " up && ip route add 10.244.0.0/16 dev " + dev + " scope link");
  if (n->public_ipv6 && wireguard_mode_ != "separate") {
    sh(*n->ns, "ip -6 addr add " + n->pod_cidr_v6->addr.str() + "/128 dev " + dev +
                   " && ip -6 route add fd00:10:244::/56 dev " + dev);
  } else if (n->public_ipv6) {
    n->wg_device_v6 = n->wg_device + "v6";
    n->wireguard_go_v6 = start_wireguard_go(*n, n->wg_device_v6);
    const std::string& dev6 = n->wg_device_v6;
    sh(*n->ns, "wg set " + dev6 + " listen-port " + std::to_string(wireguard_listen_port_v6_) +
                   " private-key " + n->dir + "/wgkey && ip link set " + dev6 +
                   " mtu 1420 && ip -6 addr add " + n->pod_cidr_v6->addr.str() + "/128 dev " +
                   dev6 + " && ip link set " + dev6 +
                   " up && ip -6 route add fd00:10:244::/56 dev " + dev6);
  }
  add_pod(*n);
  return *(nodes_[i] = std::move(n));
}

std::unique_ptr<Process> Cluster::start_wireguard_go(ClusterNode& n, const std::string& device) {
  std::filesystem::remove(wireguard_socket(device));
  auto go = std::make_unique<Process>(n.ns->exec({"wireguard-go", "-f", device}));
  if (!eventually([&] { return std::filesystem::exists(wireguard_socket(device)); }, 10s))
    throw std::runtime_error("wireguard-go did not start:\n" + go->output());
  return go;
}

void Cluster::generate_wireguard_key(ClusterNode& n) {
  sh(*n.ns, "umask 077 && wg genkey > " + n.dir + "/wgkey");
  n.wg_public_key = sh(*n.ns, "wg pubkey < " + n.dir + "/wgkey").output.substr(0, 44);
}

void Cluster::change_wireguard_key(ClusterNode& n) {
  generate_wireguard_key(n);
  sh(*n.ns, "wg set " + n.wg_device + " private-key " + n.dir + "/wgkey");
  if (!n.wg_device_v6.empty())
    sh(*n.ns, "wg set " + n.wg_device_v6 + " private-key " + n.dir + "/wgkey");
}

void Cluster::add_wireguard_peer(ClusterNode& node, ClusterNode& peer) {
  const auto annotations = nlohmann::json::parse(manifest(peer)).at("metadata").at("annotations");
  const auto data = nlohmann::json::parse(
      annotations.at("flannel.alpha.coreos.com/backend-data").get<std::string>());
  const std::string key = data.at("PublicKey").get<std::string>();
  // flanneld's handleSubnetEvents: the peer's Port, or ours when it names none.
  const uint16_t port = data.value("Port", uint16_t{0});
  const std::string v4_endpoint =
      peer.public_ip.str() + ":" + std::to_string(port != 0 ? port : node.wg_listen_port);
  if (wireguard_mode_ != "separate") {
    // One peer on flannel-wg for both podCIDRs, at the mode's endpoint
    // (flannel has no ListenPortV6 device to default to: the Port as said).
    if (wireguard_mode_ != "ipv4" && wireguard_mode_ != "ipv6")
      throw std::logic_error("add_wireguard_peer: mode " + wireguard_mode_);
    std::string endpoint = v4_endpoint, allowed = peer.pod_cidr.str();
    if (peer.public_ipv6) {
      const auto data6 = nlohmann::json::parse(
          annotations.at("flannel.alpha.coreos.com/backend-v6-data").get<std::string>());
      if (wireguard_mode_ == "ipv6")
        endpoint = "[" + peer.public_ipv6->str() + "]:" + std::to_string(data6.value("Port", 0));
      allowed += "," + peer.pod_cidr_v6->str();
    }
    sh(*node.ns, "wg set " + node.wg_device + " peer " + key + " endpoint " + endpoint +
                     " allowed-ips " + allowed);
    return;
  }
  sh(*node.ns, "wg set " + node.wg_device + " peer " + key + " endpoint " + v4_endpoint +
                   " allowed-ips " + peer.pod_cidr.str());
  if (node.wg_device_v6.empty() || !peer.public_ipv6) return;
  const auto data6 = nlohmann::json::parse(
      annotations.at("flannel.alpha.coreos.com/backend-v6-data").get<std::string>());
  const uint16_t port6 = data6.value("Port", uint16_t{0});
  sh(*node.ns, "wg set " + node.wg_device_v6 + " peer " + data6.at("PublicKey").get<std::string>() +
                   " endpoint [" + peer.public_ipv6->str() +
                   "]:" + std::to_string(port6 != 0 ? port6 : wireguard_listen_port_v6_) +
                   " allowed-ips " +
                   peer.pod_cidr_v6->str());
}

ClusterNode& Cluster::add_unstarted_tartan_node(int i) {
  auto n = std::make_unique<ClusterNode>();
  assign_addresses(*n, i);
  n->tartan = true;
  n->dir = temp_dir(tag_ + "t" + std::to_string(i));
  add_underlay_port(*n);
  add_pod(*n);
  return *(nodes_[i] = std::move(n));
}

ClusterNode& Cluster::add_tartan_node(int i, const std::string& backend, bool direct_routing,
                                      const std::string& overlay, const std::string& control_yaml,
                                      const std::string& dataplane_yaml) {
  ClusterNode* n = &add_unstarted_tartan_node(i);
  n->backend = backend;
  // The tap stands where flanneld's device for the first family is.
  const std::string tap = ipv4() ? "flannel.1" : "flannel-v6.1";
  write_tartand_config(*n, "{name: " + tap + ", device: '" + overlay + "0,iface=" + tap + "'}",
                       direct_routing, control_yaml, dataplane_yaml);
  start_tartand(*n);
  return *n;
}

ClusterNode& Cluster::add_tartan_router_node(int i) {
  auto owned = std::make_unique<ClusterNode>();
  ClusterNode& n = *owned;
  assign_addresses(n, i);
  n.tartan = true;
  n.dir = temp_dir(tag_ + "t" + std::to_string(i));
  add_underlay_port(n);
  add_routed_pod(n);
  nodes_[i] = std::move(owned);
  write_tartand_config(n, "{name: pods, device: 'net_af_packet1,iface=veth0', routing: tartan}",
                       false, "", "");
  start_tartand(n);
  // The af_packet port gave veth0 the overlay MTU, and a veth drops what
  // is longer than its peer's MTU: the pod's full-size frames must reach
  // tartan for tartan to answer them.
  sh(*n.ns, "ip link set veth0 mtu 1500");
  return n;
}

void Cluster::write_tartand_config(ClusterNode& n, const std::string& overlay_port,
                                   bool direct_routing, const std::string& control_yaml,
                                   const std::string& dataplane_yaml) {
  const std::string net_conf =
      std::string(ipv4() ? "{Network: 10.244.0.0/16, " : "{EnableIPv4: false, ") +
      (ipv6() ? "EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', " : "") +
      "Backend: {Type: " + n.backend + (direct_routing ? ", DirectRouting: true" : "") +
      (n.backend == "wireguard" && wireguard_mode_ != "separate"
           ? ", Mode: " + wireguard_mode_ +
                 ", ListenPortV6: " + std::to_string(wireguard_listen_port_v6_)
           : "") +
      "}}";
  write_file(n.dir + "/tartan.yaml",
             "eal: {hugepages: off, memory_mb: 256}\n"
             "ports:\n"
             // An af_packet ring as deep as a NIC's (its default, 512 frames,
             // overflows whenever the 2-core host deschedules the worker).
             "  underlay: {device: 'net_af_packet0,iface=eth0,framecnt=4096'" +
                 (ipv4() ? ", address: " + n.public_ip.str() + "/24" : "") +
                 (n.public_ipv6 ? ", ipv6_address: '" + n.public_ipv6->str() + "/64'" : "") +
                 "}\n"
                 "  overlay: [" +
                 overlay_port +
                 "]\n"
                 "workers: {lcores: [1], idle_sleep_us: 100, mempool_size: 8191}\n"
                 "dataplane: {max_routes: 1024, lpm_tbl8_groups: 64" +
                 dataplane_yaml +
                 "}\n"
                 "network: " +
                 net_conf +
                 "\n"
                 "node: {name: " +
                 n.name + ", state_dir: " + n.dir +
                 "/state}\n"
                 "control: {listen: 'unix://" +
                 n.dir + "/tartan.sock'" + control_yaml +
                 "}\n"
                 "lease: {source: static" +
                 (ipv4() ? ", subnet: " + n.pod_cidr.str() : "") +
                 (n.pod_cidr_v6 ? ", subnet_v6: '" + n.pod_cidr_v6->str() + "'" : "") +
                 "}\n"
                 "subnet_file: " +
                 n.dir + "/subnet.env\n");
}

void Cluster::start_tartand(ClusterNode& n) {
  n.tartand = std::make_unique<Process>(tartand_command(n));
  if (!eventually([&] { return tartanctl(n, {"health"}).exit_code == 0; }, 60s)) {
    throw std::runtime_error(n.name + "'s tartand did not become ready:\n" + n.tartand->output());
  }
  const auto lease = nlohmann::json::parse(tartanctl(n, {"-o", "json", "lease"}).output);
  n.vtep_mac = lease.at("vtep_mac").get<std::string>();
  if (n.public_ipv6) n.vtep_mac_v6 = lease.at("vtep_mac_v6").get<std::string>();
}

std::vector<std::string> Cluster::tartand_command(const ClusterNode& n) const {
  std::vector<std::string> argv{"env"};
  argv.insert(argv.end(), n.tartand_env.begin(), n.tartand_env.end());
  argv.insert(argv.end(), {required_env("TARTAND"), "--config", n.dir + "/tartan.yaml",
                           "--stats-interval", "0"});
  return n.ns->exec(argv);
}

CommandResult Cluster::tartanctl(ClusterNode& n, const std::vector<std::string>& args) {
  std::vector<std::string> argv{required_env("TARTANCTL"), "--socket", n.dir + "/tartan.sock"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

std::string Cluster::manifest(ClusterNode& n) {
  std::map<std::string, std::string> annotations;
  if (n.tartan) {
    // What tartand says a kernel-flannel node needs to reach it.
    const auto lease = nlohmann::json::parse(tartanctl(n, {"-o", "json", "lease"}).output);
    for (const auto& [k, v] : lease.at("annotations").items())
      annotations[k] = v.get<std::string>();
  } else {
    // What flanneld writes on its own Node (IPv6 only: no IPv4 side).
    annotations = {{"flannel.alpha.coreos.com/backend-type", n.backend},
                   {"flannel.alpha.coreos.com/kube-subnet-manager", "true"}};
    if (!n.wg_public_key.empty()) {
      annotations["flannel.alpha.coreos.com/backend-data"] = R"({"PublicKey":")" + n.wg_public_key +
                                                             R"(","Port":)" +
                                                             std::to_string(n.wg_listen_port) + "}";
      annotations["flannel.alpha.coreos.com/public-ip"] = n.public_ip.str();
    } else if (ipv4()) {
      annotations["flannel.alpha.coreos.com/backend-data"] =
          R"({"VNI":1,"VtepMAC":")" + n.vtep_mac + R"("})";
      annotations["flannel.alpha.coreos.com/public-ip"] = n.public_ip.str();
    }
    if (n.public_ipv6) {
      annotations["flannel.alpha.coreos.com/backend-v6-data"] =
          n.wg_public_key.empty() ? R"({"VNI":1,"VtepMAC":")" + n.vtep_mac_v6 + R"("})"
                                  : R"({"PublicKey":")" + n.wg_public_key + R"(","Port":)" +
                                        std::to_string(wireguard_listen_port_v6_) + "}";
      annotations["flannel.alpha.coreos.com/public-ipv6"] = n.public_ipv6->str();
    }
  }
  nlohmann::json pod_cidrs = nlohmann::json::array();
  nlohmann::json addresses = nlohmann::json::array();
  if (ipv4()) {
    pod_cidrs.push_back(n.pod_cidr.str());
    addresses.push_back({{"type", "InternalIP"}, {"address", n.public_ip.str()}});
  }
  if (n.pod_cidr_v6) {
    pod_cidrs.push_back(n.pod_cidr_v6->str());
    addresses.push_back({{"type", "InternalIP"}, {"address", n.public_ipv6->str()}});
  }
  nlohmann::json node = {{"apiVersion", "v1"},
                         {"kind", "Node"},
                         {"metadata", {{"name", n.name}, {"annotations", annotations}}},
                         {"spec", {{"podCIDR", pod_cidrs[0]}, {"podCIDRs", pod_cidrs}}},
                         {"status", {{"addresses", addresses}}}};
  return node.dump(2);
}

void Cluster::learn(ClusterNode& who, ClusterNode& peer) {
  if (who.tartan) {
    const std::string path = who.dir + "/" + peer.name + ".json";
    write_file(path, manifest(peer));
    const CommandResult r = tartanctl(who, {"nodes", "apply", "-f", path});
    if (r.exit_code != 0)
      throw std::runtime_error(who.name + " learning " + peer.name + ": " + r.output);
    return;
  }
  if (!who.wg_device.empty()) return add_wireguard_peer(who, peer);
  if (ipv4()) add_vxlan_peer(who, peer.pod_cidr, peer.vtep_mac, peer.public_ip);
  if (who.public_ipv6 && peer.public_ipv6 && peer.pod_cidr_v6 && !peer.vtep_mac_v6.empty())
    add_vxlan6_peer(who, *peer.pod_cidr_v6, peer.vtep_mac_v6, *peer.public_ipv6);
}

void Cluster::add_vxlan_peer(ClusterNode& kernel, const Ipv4Prefix& pod_cidr,
                             const std::string& vtep_mac, Ipv4Addr public_ip) {
  // flanneld's handleSubnetEvents for a vxlan lease: permanent neighbour,
  // FDB entry, then the onlink route.
  const std::string net = pod_cidr.addr.str();
  sh(*kernel.ns, "ip neigh replace " + net + " lladdr " + vtep_mac +
                     " dev flannel.1 nud permanent && "
                     "bridge fdb replace " +
                     vtep_mac + " dev flannel.1 dst " + public_ip.str() +
                     " self permanent && "
                     "ip route replace " +
                     pod_cidr.str() + " via " + net + " dev flannel.1 onlink");
}

void Cluster::add_vxlan6_peer(ClusterNode& kernel, const Ipv6Prefix& pod_cidr,
                              const std::string& vtep_mac, const Ipv6Addr& public_ip) {
  // handleSubnetEvents' v6 branch: AddV6ARP, AddV6FDB, then the onlink route.
  const std::string net = pod_cidr.addr.str();
  sh(*kernel.ns, "ip -6 neigh replace " + net + " lladdr " + vtep_mac +
                     " dev flannel-v6.1 nud permanent && bridge fdb replace " + vtep_mac +
                     " dev flannel-v6.1 dst " + public_ip.str() +
                     " self permanent && ip -6 route replace " + pod_cidr.str() + " via " + net +
                     " dev flannel-v6.1 onlink");
}

void Cluster::learn_node_object(ClusterNode& kernel, const nlohmann::json& node) {
  // flanneld (pkg/subnet/kube/kube.go, nodeToLease): spec.podCIDR, the
  // public-ip annotation, and backend-data's VtepMAC (pkg/backend/vxlan).
  const std::string name = node.at("metadata").at("name").get<std::string>();
  const nlohmann::json& a = node.at("metadata").at("annotations");
  const auto pod_cidr = Ipv4Prefix::parse(node.at("spec").at("podCIDR").get<std::string>());
  const auto public_ip =
      Ipv4Addr::parse(a.at("flannel.alpha.coreos.com/public-ip").get<std::string>());
  const auto backend_data =
      nlohmann::json::parse(a.at("flannel.alpha.coreos.com/backend-data").get<std::string>());
  if (!pod_cidr || !public_ip || a.at("flannel.alpha.coreos.com/backend-type") != "vxlan")
    throw std::runtime_error("node " + name + " is no vxlan lease: " + node.dump());
  add_vxlan_peer(kernel, *pod_cidr, backend_data.at("VtepMAC").get<std::string>(), *public_ip);
}

void Cluster::readdress(ClusterNode& kernel, Ipv4Addr public_ip) {
  sh(*kernel.ns, "ip addr del " + kernel.public_ip.str() + "/24 dev eth0 && ip addr add " +
                     public_ip.str() + "/24 dev eth0 && ip link set flannel.1 type vxlan local " +
                     public_ip.str());
  kernel.public_ip = public_ip;
}

void Cluster::forget(ClusterNode& who, ClusterNode& peer) {
  const CommandResult r = tartanctl(who, {"nodes", "delete", peer.name});
  if (r.exit_code != 0)
    throw std::runtime_error(who.name + " forgetting " + peer.name + ": " + r.output);
}

const Netns& Cluster::stranger() {
  if (!stranger_) {
    stranger_ = std::make_unique<Netns>(tag_ + "x");
    run_command({"ip", "-n", switch_->name(), "link", "add", "sx", "type", "veth", "peer", "name",
                 "eth0", "netns", stranger_->name()});
    sh(*switch_, "ip link set sx master br0 up");
    sh(*stranger_, "ip link set eth0 up && ip addr add 192.0.2.66/24 dev eth0");
  }
  return *stranger_;
}

}  // namespace tartan::testing
