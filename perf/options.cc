#include "perf/options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "perf/family.h"

namespace tartan::perf {
namespace {

// An option's handler: sets its field from `value`; returns an error ("" when fine).
using Setter = std::function<std::string(const std::string& value, TrafficOptions& o)>;

struct OptionSpec {
  const char* name;  // without the leading "--"
  bool takes_value;
  Setter set;
};

std::string quoted(const std::string& v) {
  return "'" + v + "'";
}

std::string parse_uint(const std::string& v, uint64_t min, uint64_t max, uint64_t& out) {
  const std::string range = " is not in " + std::to_string(min) + ".." + std::to_string(max);
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    return quoted(v) + " is not a whole number";
  errno = 0;
  const unsigned long long n = std::strtoull(v.c_str(), nullptr, 10);
  if (errno == ERANGE || n < min || n > max) return quoted(v) + range;
  out = n;
  return "";
}

template <class T>
Setter uint_setter(T TrafficOptions::*field, uint64_t min, uint64_t max) {
  return [field, min, max](const std::string& v, TrafficOptions& o) {
    uint64_t n = 0;
    std::string err = parse_uint(v, min, max, n);
    if (err.empty()) o.*field = static_cast<T>(n);
    return err;
  };
}

Setter double_setter(double TrafficOptions::*field, double min, double max) {
  return [field, min, max](const std::string& v, TrafficOptions& o) -> std::string {
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d))
      return quoted(v) + " is not a number";
    if (d < min || d > max) {
      char range[96];
      std::snprintf(range, sizeof range, " is not in %g..%g", min, max);
      return quoted(v) + range;
    }
    o.*field = d;
    return "";
  };
}

Setter flag_setter(bool TrafficOptions::*field) {
  return [field](const std::string&, TrafficOptions& o) {
    o.*field = true;
    return std::string();
  };
}

// The command-line names of an enum's values.
template <class T>
using Names = std::vector<std::pair<std::string, T>>;

const Names<Mode>& mode_names() {
  static const Names<Mode> names = {{"txonly", Mode::kTxOnly},
                                    {"rxonly", Mode::kRxOnly},
                                    {"io", Mode::kIo},
                                    {"macswap", Mode::kMacSwap},
                                    {"loopback", Mode::kLoopback}};
  return names;
}

const Names<Proto>& proto_names() {
  static const Names<Proto> names = {{"udp", Proto::kUdp}, {"tcp", Proto::kTcp}};
  return names;
}

const Names<Family>& family_names() {
  static const Names<Family> names = {{"ipv4", Family::kIpv4}, {"ipv6", Family::kIpv6}};
  return names;
}

const Names<Encap>& encap_names() {
  static const Names<Encap> names = {
      {"none", Encap::kNone}, {"vxlan", Encap::kVxlan}, {"udp", Encap::kUdp}};
  return names;
}

template <class T>
const char* name_of(const Names<T>& names, T value) {
  for (const auto& [name, v] : names) {
    if (v == value) return name.c_str();
  }
  return "?";
}

// Sets the field to the value `names` gives the argument.
template <class T>
Setter choice_setter(T TrafficOptions::*field, const Names<T>& choices) {
  return [field, &choices](const std::string& v, TrafficOptions& o) -> std::string {
    std::string names;
    for (const auto& [name, value] : choices) {
      if (v == name) {
        o.*field = value;
        return "";
      }
      names += (names.empty() ? "" : ", ") + name;
    }
    return "expected one of " + names + ", got " + quoted(v);
  };
}

bool parse_ip(const std::string& v, uint32_t& host_order) {
  in_addr a{};
  if (inet_pton(AF_INET, v.c_str(), &a) != 1) return false;
  host_order = ntohl(a.s_addr);
  return true;
}

bool parse_ip(const std::string& v, Ipv6Int& host_order) {
  in6_addr a{};
  if (inet_pton(AF_INET6, v.c_str(), &a) != 1) return false;
  host_order = 0;
  for (uint8_t b : a.s6_addr) host_order = host_order << 8 | b;
  return true;
}

template <class A>
constexpr unsigned bits_of() {
  return sizeof(A) * 8;
}

template <class A>
const char* family_of() {
  return bits_of<A>() == 32 ? "IPv4" : "IPv6";
}

template <class A>
Setter address_setter(A TrafficOptions::*field) {
  return [field](const std::string& v, TrafficOptions& o) {
    return parse_ip(v, o.*field) ? "" : quoted(v) + " is not an " + family_of<A>() + " address";
  };
}

std::string set_mac(const std::string& v, Mac& out) {
  unsigned b[6];
  char tail = 0;
  if (std::sscanf(v.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                  &tail) != 6 ||
      v.size() != 17)
    return quoted(v) + " is not a MAC address (xx:xx:xx:xx:xx:xx)";
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
  return "";
}

std::string set_size(const std::string& v, TrafficOptions& o) {
  if (v == "imix") {
    // 7:4:1 of 64/570/1518-byte frames, interleaved.
    o.sizes = {64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570};
    o.imix = true;
    return "";
  }
  uint64_t n = 0;
  std::string err = parse_uint(v, kMinFrame, kMaxFrame, n);
  if (!err.empty()) return err + " (or imix)";
  o.sizes = {static_cast<uint16_t>(n)};
  o.imix = false;
  return "";
}

// A CIDR of A's family with a prefix length in min_len..max_len and no host bits.
template <class A>
std::string parse_cidr(const std::string& v, uint64_t min_len, uint64_t max_len,
                       const char* example, A& addr, uint64_t& len) {
  const auto slash = v.find('/');
  if (slash == std::string::npos || !parse_ip(v.substr(0, slash), addr) ||
      !parse_uint(v.substr(slash + 1), 0, bits_of<A>(), len).empty())
    return quoted(v) + " is not an " + family_of<A>() + " CIDR (e.g. " + example + ")";
  if (len < min_len || len > max_len)
    return quoted(v) + ": the prefix length must be " + std::to_string(min_len) + ".." +
           std::to_string(max_len);
  if (len < bits_of<A>() && (addr & ~(~A{0} << (bits_of<A>() - len))) != 0)
    return quoted(v) + " has host bits set";
  return "";
}

// Sets a CIDR's address, and its length when `len_field` is given.
template <class A>
Setter cidr_setter(A TrafficOptions::*addr_field, uint8_t TrafficOptions::*len_field,
                   uint64_t min_len, uint64_t max_len, const char* example) {
  return [=](const std::string& v, TrafficOptions& o) {
    A addr{};
    uint64_t len = 0;
    std::string err = parse_cidr(v, min_len, max_len, example, addr, len);
    if (err.empty()) {
      o.*addr_field = addr;
      if (len_field != nullptr) o.*len_field = static_cast<uint8_t>(len);
    }
    return err;
  };
}

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"mode", true, choice_setter(&TrafficOptions::mode, mode_names())},
      {"tx-port", true, uint_setter(&TrafficOptions::tx_port, 0, 1023)},
      {"rx-port", true,
       [](const std::string& v, TrafficOptions& o) {
         uint64_t n = 0;
         std::string err = parse_uint(v, 0, 1023, n);
         if (err.empty()) o.rx_port = static_cast<uint16_t>(n);
         return err;
       }},
      {"size", true, set_size},
      {"proto", true, choice_setter(&TrafficOptions::proto, proto_names())},
      {"flows", true, uint_setter(&TrafficOptions::flows, 1, kMaxFlows)},
      {"dst-subnets", true, uint_setter(&TrafficOptions::dst_subnets, 1, kMaxDstSubnets)},
      {"encap", true, choice_setter(&TrafficOptions::encap, encap_names())},
      {"vni", true, uint_setter(&TrafficOptions::vni, 0, 16777215)},
      {"family", true, choice_setter(&TrafficOptions::family, family_names())},
      {"local-ip", true, address_setter(&TrafficOptions::local_ip)},
      // Local pods are .2 to .252 of the local subnet's first /24 (/120).
      {"local-subnet", true,
       cidr_setter(&TrafficOptions::local_subnet, nullptr, 8, 24, "10.244.1.0/24")},
      {"pod-network", true,
       cidr_setter(&TrafficOptions::pod_network, &TrafficOptions::pod_network_len, 1, 27,
                   "10.244.0.0/16")},
      {"subnet-len", true, uint_setter(&TrafficOptions::subnet_len, 8, 28)},
      {"vtep-base", true, address_setter(&TrafficOptions::vtep_base)},
      {"local-ip6", true, address_setter(&TrafficOptions::local_ip6)},
      {"local-subnet6", true,
       cidr_setter(&TrafficOptions::local_subnet6, nullptr, 16, 120, "fd00:0:0:1::/64")},
      {"pod-network6", true,
       cidr_setter(&TrafficOptions::pod_network6, &TrafficOptions::pod_network6_len, 1, 123,
                   "fd00::/48")},
      {"subnet-len6", true, uint_setter(&TrafficOptions::subnet_len6, 16, 124)},
      {"vtep-base6", true, address_setter(&TrafficOptions::vtep_base6)},
      {"vtep-mac", true,
       [](const std::string& v, TrafficOptions& o) { return set_mac(v, o.vtep_mac); }},
      {"dst-mac", true,
       [](const std::string& v, TrafficOptions& o) { return set_mac(v, o.dst_mac); }},
      {"src-mac", true,
       [](const std::string& v, TrafficOptions& o) {
         Mac m{};
         std::string err = set_mac(v, m);
         if (err.empty()) o.src_mac = m;
         return err;
       }},
      {"rate-pps", true, double_setter(&TrafficOptions::rate_pps, 0, 1e10)},
      {"duration", true, double_setter(&TrafficOptions::duration_s, 0, 1e7)},
      {"packets", true, uint_setter(&TrafficOptions::packets, 0, UINT64_MAX)},
      {"burst", true, uint_setter(&TrafficOptions::burst, 1, kMaxBurst)},
      {"mbufs", true, uint_setter(&TrafficOptions::mbufs, 1023, 16777215)},
      {"descriptors", true, uint_setter(&TrafficOptions::descriptors, 64, 16384)},
      {"verify-every", true, uint_setter(&TrafficOptions::verify_every, 0, UINT32_MAX)},
      {"drain-ms", true, uint_setter(&TrafficOptions::drain_ms, 0, 60000)},
      {"json", true,
       [](const std::string& v, TrafficOptions& o) -> std::string {
         if (v.empty()) return "needs a file name";
         o.json_path = v;
         return "";
       }},
      {"quiet", false, flag_setter(&TrafficOptions::quiet)},
      {"hold-ports", false, flag_setter(&TrafficOptions::hold_ports)},
      {"ndr", false, flag_setter(&TrafficOptions::ndr)},
      {"trial-duration", true, double_setter(&TrafficOptions::trial_duration_s, 0.01, 3600)},
      {"search-precision", true, double_setter(&TrafficOptions::search_precision, 0.0001, 0.5)},
      {"pdr-loss", true, double_setter(&TrafficOptions::pdr_loss, 0, 0.5)},
  };
  return specs;
}

template <class F>
std::string check_scheme_of(const TrafficOptions& o) {
  const std::string six = F::kFamily == Family::kIpv6 ? "6" : "";
  const unsigned subnet_len = F::subnet_len(o), network_len = F::pod_network_len(o);
  if (subnet_len <= network_len)
    return "--subnet-len" + six + ": " + std::to_string(subnet_len) + " must be longer than " +
           "--pod-network" + six + "'s /" + std::to_string(network_len);
  // Subnets 0 and 1 are not remote nodes' (1 is ours by convention).
  const unsigned bits = std::min(subnet_len - network_len, 40u);
  const uint64_t subnets = uint64_t{1} << bits;
  if (o.dst_subnets + uint64_t{2} > subnets)
    return "--dst-subnets: " + std::to_string(o.dst_subnets) + " remote nodes need " +
           std::to_string(o.dst_subnets + 2) + " /" + std::to_string(subnet_len) +
           " subnets; --pod-network" + six + " holds " + std::to_string(subnets);
  if (o.encap != Encap::kNone && F::vtep_base(o) + (o.dst_subnets - 1) < F::vtep_base(o))
    return "--vtep-base" + six + ": " + std::to_string(o.dst_subnets) +
           " remote VTEPs run past the last address";
  return "";
}

// Checks between options; returns "--option: problem" or "".
std::string cross_check(const TrafficOptions& o) {
  const bool gen = has_generator(o.mode);
  if (o.ndr && o.mode != Mode::kLoopback) return "--ndr: needs --mode loopback";
  if (o.rate_pps > 0 && !gen) return "--rate-pps: only txonly and loopback send";
  if (o.packets > 0 && !gen && o.mode != Mode::kRxOnly)
    return "--packets: only txonly, loopback (sent) and rxonly (received) count packets";
  if (o.family == Family::kIpv6 && o.encap == Encap::kUdp)
    return "--encap: the udp backend is IPv4 only (as in flannel); use vxlan with --family ipv6";
  const uint16_t min = min_frame(o.family, o.proto);
  for (uint16_t size : o.sizes) {
    if (size < min)
      return "--size: " + std::string(o.imix ? "imix's " : "") + std::to_string(size) +
             "-byte frames cannot carry Ethernet, " +
             (o.family == Family::kIpv6 ? "IPv6" : "IPv4") + " and " +
             (o.proto == Proto::kTcp ? "TCP" : "UDP") + " headers (at least " +
             std::to_string(min) + ")";
  }
  return check_scheme(o, o.family);
}

}  // namespace

std::string check_scheme(const TrafficOptions& o, Family family) {
  return with_family(family, [&o](auto f) { return check_scheme_of<decltype(f)>(o); });
}

ParseOutcome parse_options(const std::vector<std::string>& args) {
  ParseOutcome out;
  auto fail = [&out](const std::string& msg) {
    out.action = ParseOutcome::Action::kError;
    out.error = msg;
    return out;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      out.action = ParseOutcome::Action::kHelp;
      return out;
    }
    if (arg.rfind("--", 0) != 0) return fail("unexpected argument '" + arg + "' (see --help)");
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* spec = nullptr;
    for (const auto& s : option_specs()) {
      if (name == s.name) spec = &s;
    }
    if (spec == nullptr) return fail("unknown option '--" + name + "' (see --help)");
    if (spec->takes_value && !value) {
      if (i + 1 >= args.size()) return fail("--" + name + ": needs a value");
      value = args[++i];
    }
    if (!spec->takes_value && value) return fail("--" + name + ": takes no value");
    if (std::string err = spec->set(value.value_or(""), out.options); !err.empty())
      return fail("--" + name + ": " + err);
  }
  if (std::string err = cross_check(out.options); !err.empty()) return fail(err);
  return out;
}

bool is_our_option(const std::string& arg) {
  if (arg.rfind("--", 0) != 0) return false;
  const std::string name = arg.substr(2, arg.find('=') - 2);
  for (const auto& s : option_specs()) {
    if (name == s.name) return true;
  }
  return false;
}

void print_usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: tartan-perf [EAL options] -- [options]\n"
      "\n"
      "testpmd-style traffic generator, receiver and forwarder for the tartan perf suite.\n"
      "Ports are the DPDK ethdevs EAL creates (e.g. --vdev net_ring0), numbered from 0.\n"
      "With two lcores (-l 0,1) the main lcore sends and the other receives (loopback),\n"
      "or each forwards one direction (io, macswap). perf/README.md has the details.\n"
      "\n"
      "Modes:\n"
      "  --mode txonly      send generated frames on --tx-port (default)\n"
      "  --mode rxonly      receive on --rx-port: count, check sequence, latency\n"
      "  --mode loopback    send on --tx-port and receive on --rx-port in one process\n"
      "  --mode io          forward port 0 <-> port 1 unchanged\n"
      "  --mode macswap     as io, swapping Ethernet source and destination\n"
      "\n"
      "Traffic:\n"
      "  --tx-port N, --rx-port N  ports (default 0; loopback: rx 1 when there are 2 ports)\n"
      "  --size B|imix      frame size with FCS, 64..1518, or imix (7:4:1 of 64/570/1518);\n"
      "                     with --encap, the size of the inner frame (default 64)\n"
      "  --proto udp|tcp    inner L4 protocol (default udp)\n"
      "  --flows N          distinct 5-tuples, 1..1000000 (default 1)\n"
      "  --dst-subnets M    remote nodes k < M, 1..1000000 (default 1): node k's podCIDR is\n"
      "                     the (2+k)th /--subnet-len of --pod-network (10.244.(2+k).0/24)\n"
      "  --pod-network C    flannel's Network (default 10.244.0.0/16)\n"
      "  --subnet-len L     flannel's SubnetLen, 8..28 (default 24)\n"
      "  --vtep-base A      with --encap, remote node k's public IP is A + k (default\n"
      "                     192.0.2.20)\n"
      "  --family ipv4|ipv6 the pods' address family, and the tunnel's (default ipv4); IPv6\n"
      "                     uses the options below, frames of 66 B (UDP) or 78 B (TCP) and more\n"
      "  --pod-network6 C   flannel's IPv6Network (default fd00::/48)\n"
      "  --subnet-len6 L    flannel's IPv6SubnetLen, 16..124 (default 64)\n"
      "  --vtep-base6 A     remote node k's public IPv6 is A + k (default 2001:db8::14)\n"
      "  --local-ip6 A      outer IPv6 destination when encapsulating (default 2001:db8::13)\n"
      "  --local-subnet6 C  our IPv6 podCIDR, /16../120 (default fd00:0:0:1::/64)\n"
      "  --encap none|vxlan|udp  send frames as they arrive from remote nodes: VXLAN (UDP\n"
      "                     8472) or flannel's udp backend (UDP 8285) (default none)\n"
      "  --vni N            VXLAN network identifier (default 1)\n"
      "  --local-ip A       outer destination when encapsulating (default 192.0.2.19)\n"
      "  --local-subnet C   our podCIDR, /8../24 (default 10.244.1.0/24)\n"
      "  --vtep-mac M       inner destination MAC of VXLAN frames (default 0e:00:00:00:00:01)\n"
      "  --dst-mac M        (outer) destination MAC (default 02:00:00:00:00:02)\n"
      "  --src-mac M        (outer) source MAC (default: the tx port's MAC; with --encap\n"
      "                     02:0b + 2+k as 32 bits for remote node k)\n"
      "  --rate-pps R       offered rate, packets/s (default 0: as fast as possible)\n"
      "\n"
      "Run:\n"
      "  --duration S       seconds, fractions allowed (default 5; 0: until Ctrl-C)\n"
      "  --packets N        stop after sending (rxonly: receiving) N packets\n"
      "  --burst N          packets per burst, 1..64 (default 32)\n"
      "  --mbufs N          mempool size (default 8191)\n"
      "  --descriptors N    per rx/tx queue (default 1024)\n"
      "  --verify-every N   fully check every Nth received frame (checksums, fill bytes);\n"
      "                     0: never (default 64)\n"
      "  --drain-ms N       loopback: how long to keep receiving after sending (default 100)\n"
      "  --json FILE        write the result as a flat JSON object\n"
      "  --quiet            no line per second\n"
      "  --hold-ports       after the result (and --json), keep the ports open until\n"
      "                     standard input ends: a memif DUT can stop polling first\n"
      "\n"
      "Throughput search (loopback):\n"
      "  --ndr              binary search for NDR (no loss) and PDR (--pdr-loss)\n"
      "  --trial-duration S seconds per trial (default 1)\n"
      "  --search-precision P  stop when the interval is narrower than P x the maximum\n"
      "                     rate (default 0.01)\n"
      "  --pdr-loss L       loss ratio PDR allows (default 0.005)\n"
      "\n"
      "  -h, --help         this text\n"
      "\n"
      "Exit status: 0 done, 1 runtime failure, 2 bad command line.\n");
}

const char* mode_name(Mode m) {
  return name_of(mode_names(), m);
}

const char* proto_name(Proto p) {
  return name_of(proto_names(), p);
}

const char* encap_name(Encap e) {
  return name_of(encap_names(), e);
}

const char* family_name(Family f) {
  return name_of(family_names(), f);
}

std::string size_name(const TrafficOptions& o) {
  return o.imix ? "imix" : std::to_string(o.sizes.front());
}

bool has_generator(Mode m) {
  return m == Mode::kTxOnly || m == Mode::kLoopback;
}

bool has_receiver(Mode m) {
  return m == Mode::kRxOnly || m == Mode::kLoopback;
}

}  // namespace tartan::perf
