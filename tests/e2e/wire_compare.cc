#include "tests/e2e/wire_compare.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tartan::testing {
namespace {

// Every header field of a VXLAN frame carrying the fixed packets (tshark's
// names), in both layers where both have it: those of either family, and
// each family's own.
constexpr const char* kTunnelFields =
    "frame.len eth.src eth.dst eth.type udp.srcport udp.dstport udp.length udp.checksum.status "
    "vxlan.flags vxlan.gbp vxlan.vni vxlan.reserved8 tcp.srcport tcp.dstport tcp.seq_raw "
    "tcp.ack_raw tcp.hdr_len tcp.flags tcp.window_size_value tcp.urgent_pointer tcp.options "
    "tcp.checksum.status data.data";
constexpr const char* kIpv4Fields =
    "ip.version ip.hdr_len ip.dsfield ip.len ip.id ip.flags ip.frag_offset ip.ttl ip.proto "
    "ip.checksum.status ip.src ip.dst icmp.type icmp.code icmp.checksum.status icmp.ident "
    "icmp.seq";
constexpr const char* kIpv6Fields =
    "ipv6.version ipv6.tclass ipv6.flow ipv6.plen ipv6.nxt ipv6.hlim ipv6.src ipv6.dst "
    "icmpv6.type icmpv6.code icmpv6.checksum.status icmpv6.echo.identifier "
    "icmpv6.echo.sequence_number";

std::vector<std::string> tunnel_frame_fields(bool ipv6) {
  std::vector<std::string> fields;
  std::istringstream words(std::string(kTunnelFields) + " " + (ipv6 ? kIpv6Fields : kIpv4Fields));
  for (std::string w; words >> w;) fields.push_back(w);
  return fields;
}

std::string shell_word(const std::string& s) {
  return "'" + s + "'";
}

std::string public_address(const ClusterNode& n, bool ipv6) {
  return ipv6 ? n.public_ipv6->str() : n.public_ip.str();
}

std::string pod_address(const ClusterNode& n, bool ipv6) {
  return ipv6 ? n.pod_ip_v6->str() : n.pod_ip.str();
}

std::string underlay_mac(Cluster& c, const ClusterNode& n) {
  std::string mac = c.sh(*n.ns, "cat /sys/class/net/eth0/address").output;
  return mac.substr(0, mac.find('\n'));
}

std::string value(const DecodedFrame& f, const std::string& key) {
  const auto it = f.find(key);
  return it == f.end() ? "(absent)" : it->second;
}

// The frame whose outer source is `address`, when exactly one is.
const DecodedFrame* sent_by(const std::vector<DecodedFrame>& frames, const std::string& ip,
                            const std::string& address) {
  const DecodedFrame* found = nullptr;
  for (const DecodedFrame& f : frames) {
    if (value(f, ip + ".src#1") != address) continue;
    if (found != nullptr) return nullptr;
    found = &f;
  }
  return found;
}

// What names the sender and the receiver, each the right node's; the flow
// hash in the port range; and every checksum good (tshark's status 1).
void expect_addressed(Cluster& c, const DecodedFrame& f, const ClusterNode& from,
                      const ClusterNode& to, bool ipv6) {
  const std::string ip = ipv6 ? "ipv6" : "ip";
  const std::string who = from.name + " -> " + to.name + ": ";
  EXPECT_EQ(value(f, "eth.src#1"), underlay_mac(c, from)) << who;
  EXPECT_EQ(value(f, "eth.dst#1"), underlay_mac(c, to)) << who;
  EXPECT_EQ(value(f, ip + ".src#1"), public_address(from, ipv6)) << who;
  EXPECT_EQ(value(f, ip + ".dst#1"), public_address(to, ipv6)) << who;
  EXPECT_EQ(value(f, "eth.src#2"), ipv6 ? from.vtep_mac_v6 : from.vtep_mac) << who;
  EXPECT_EQ(value(f, "eth.dst#2"), ipv6 ? to.vtep_mac_v6 : to.vtep_mac) << who;
  EXPECT_EQ(value(f, ip + ".src#2"), pod_address(from, ipv6)) << who;
  EXPECT_EQ(value(f, ip + ".dst#2"), pod_address(to, ipv6)) << who;
  // udp_flow_src_port() over net.ipv4.ip_local_port_range, 32768-60999 by
  // default: min + hash * (max - min) / 2^32, so at most 60998.
  const int port = std::stoi(value(f, "udp.srcport#1"));
  EXPECT_GE(port, 32768) << who;
  EXPECT_LE(port, 60998) << who;
  for (const auto& [key, v] : f) {
    if (key.find(".checksum.status#") != std::string::npos) {
      EXPECT_EQ(v, "1") << who << key;
    }
  }
}

}  // namespace

std::vector<DecodedFrame> decode_frames(Capture& capture, const std::string& filter,
                                        const std::vector<std::string>& fields) {
  std::string args =
      "-d udp.port==8472,vxlan -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE "
      "-o tcp.check_checksum:TRUE -Y " +
      shell_word(filter) + " -T fields -E occurrence=a -E 'aggregator=;'";
  for (const std::string& f : fields) args += " -e " + f;
  std::vector<DecodedFrame> frames;
  std::istringstream lines(capture.read(args));
  for (std::string line; std::getline(lines, line);) {
    DecodedFrame frame;
    std::istringstream columns(line);
    std::string column;
    for (size_t i = 0; i < fields.size() && std::getline(columns, column, '\t'); ++i) {
      std::istringstream layers(column);
      int layer = 0;
      for (std::string v; std::getline(layers, v, ';');)
        frame[fields[i] + "#" + std::to_string(++layer)] = v;
    }
    frames.push_back(std::move(frame));
  }
  return frames;
}

std::string differences(const DecodedFrame& a, const DecodedFrame& b,
                        const std::set<std::string>& may_differ) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  std::string out;
  for (const std::string& k : keys) {
    if (!may_differ.contains(k) && value(a, k) != value(b, k))
      out += k + ": " + value(a, k) + " | " + value(b, k) + "\n";
  }
  return out;
}

void expect_kernel_wire_format(Cluster& c, ClusterNode& kernel, ClusterNode& tartan, bool ipv6) {
  // A veth hands the outer UDP checksum on unfinished, for the device to
  // complete as a NIC would: with transmit checksumming off, the kernel
  // node completes it itself and the wire shows what it computed.
  c.sh(*kernel.ns, "ethtool -K eth0 tx off >/dev/null");
  const std::string ip = ipv6 ? "ipv6" : "ip";
  Capture capture(c.underlay(), "br0", "udp port 8472", 5, tartan.dir + "/wire-" + ip + ".pcap");
  c.sh(*kernel.pod, python("fixed_packets.py", pod_address(tartan, ipv6)));
  c.sh(*tartan.pod, python("fixed_packets.py", pod_address(kernel, ipv6)));

  std::set<std::string> may_differ = {"eth.src#1",   "eth.dst#1",   "eth.src#2",
                                      "eth.dst#2",   ip + ".src#1", ip + ".dst#1",
                                      ip + ".src#2", ip + ".dst#2", "udp.srcport#1"};
  if (!ipv6) may_differ.insert("ip.id#1");
  const std::vector<std::string> fields = tunnel_frame_fields(ipv6);
  std::set<std::string> decoded;  // fields tshark found in the kernel's frames
  for (const auto& [kind, filter] :
       {std::pair<std::string, std::string>{"echo request",
                                            ipv6 ? "icmpv6.type == 128" : "icmp.type == 8"},
        {"SYN", "tcp.flags == 0x002"}}) {
    const std::vector<DecodedFrame> frames = decode_frames(capture, filter, fields);
    const DecodedFrame* from_kernel = sent_by(frames, ip, public_address(kernel, ipv6));
    const DecodedFrame* from_tartan = sent_by(frames, ip, public_address(tartan, ipv6));
    if (from_kernel == nullptr || from_tartan == nullptr) {
      ADD_FAILURE() << kind << ": not one tunnel frame from each node among " << frames.size()
                    << "\n"
                    << capture.log() << c.tartanctl(tartan, {"stats"}).output;
      continue;
    }
    for (const auto& [key, v] : *from_kernel) decoded.insert(key.substr(0, key.find('#')));
    EXPECT_EQ(differences(*from_kernel, *from_tartan, may_differ), "")
        << kind << ", fields where the kernel's frame (left) and tartan's differ";
    EXPECT_EQ(value(*from_tartan, "udp.dstport#1"), "8472") << kind;
    EXPECT_EQ(value(*from_tartan, "vxlan.vni#1"), "1") << kind;
    expect_addressed(c, *from_kernel, kernel, tartan, ipv6);
    expect_addressed(c, *from_tartan, tartan, kernel, ipv6);
  }
  // A field tshark does not know (or no longer decodes) would be absent
  // from both frames and compare equal: each must be in one of them.
  for (const std::string& f : fields) EXPECT_TRUE(decoded.contains(f)) << f << " never decoded";
}

}  // namespace tartan::testing
