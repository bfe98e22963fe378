// tartanctl nodes list|get|apply|delete, and events (follows WatchNodes).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "control/ctl/client.h"
#include "control/ctl/manifest.h"
#include "tartan/v1/node.grpc.pb.h"

namespace tartan::ctl {
namespace {

// What one ApplyNodes call takes: the API's bound on changes, and bytes
// well inside tartand's default control.max_message_bytes.
constexpr size_t kMaxApplyNodes = 10000;
constexpr size_t kMaxApplyBytes = 3 << 20;

const char* yes_no(bool b) {
  return b ? "yes" : "no";
}

// "2026-12-04T12:01:02Z" from Unix nanoseconds.
std::string utc_time(uint64_t unix_ns) {
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// PROBE, RTT and LOSS: "-" when the node is not probed (probes off, or not
// routed).
std::vector<std::string> probe_cells(const v1::NodeStatus& st) {
  if (!st.has_probe()) return {"-", "-", "-"};
  const v1::TunnelProbe& p = st.probe();
  std::string state;
  switch (p.state()) {
    case v1::TunnelProbe::REACHABLE:
      state = "reachable";
      break;
    case v1::TunnelProbe::UNREACHABLE:
      state = "unreachable since " + utc_time(p.since_ns());
      break;
    default:
      state = "pending";
  }
  char rtt[32] = "-";
  if (p.received() != 0)
    std::snprintf(rtt, sizeof rtt, "%.3fms", static_cast<double>(p.last_rtt_ns()) / 1e6);
  return {state, rtt, std::to_string(p.lost()) + "/" + std::to_string(p.window())};
}

// "1m 5s" (wg show's "1 minute, 5 seconds", short).
std::string age(uint64_t seconds) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  if (seconds == 0) return "0s";
  std::string out;
  for (const auto& [unit, name] : kUnits) {
    if (seconds < unit) continue;
    out += (out.empty() ? "" : " ") + std::to_string(seconds / unit) + name;
    seconds %= unit;
  }
  return out;
}

// "1.50 KiB", as wg show prints transfer.
std::string bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n) / 1024;
  size_t u = 0;
  for (; v >= 1024 && u + 1 < std::size(kUnits); ++u) v /= 1024;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[u]);
  return buf;
}

// ENDPOINT, HANDSHAKE, RX and TX of a peer, as `wg show` shows them.
std::vector<std::string> wireguard_session_cells(const v1::WireguardPeer& p) {
  std::string handshake = "never";
  if (p.latest_handshake_ns() != 0) {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const uint64_t ago_ns =
        static_cast<uint64_t>(std::max<int64_t>(now - int64_t(p.latest_handshake_ns()), 0));
    handshake = age(ago_ns / 1000000000) + " ago";
  }
  return {p.endpoint(), handshake, bytes(p.rx_bytes()), bytes(p.tx_bytes())};
}

// PUBLIC-KEY, ENDPOINT, HANDSHAKE, RX, TX and KEEPALIVE, as `wg show`
// shows a peer: "-" for a node without one.
std::vector<std::string> wireguard_cells(const v1::NodeStatus& st) {
  if (!st.has_wireguard()) return {"-", "-", "-", "-", "-", "-"};
  const v1::WireguardPeer& p = st.wireguard();
  const std::vector<std::string> session = wireguard_session_cells(p);
  return {p.public_key(),
          session[0],
          session[1],
          session[2],
          session[3],
          p.persistent_keepalive_s() == 0 ? "off" : "every " + age(p.persistent_keepalive_s())};
}

// The address families a node has a side of: those tartand runs (a node
// of a family that is off is neither routed nor says why not); and
// whether it has a wireguard peer, and one on flannel-wg-v6.
struct Families {
  bool v4 = false;
  bool v6 = false;
  bool wireguard = false;
  bool wireguard_v6 = false;
};

Families families_of(const v1::NodeStatus& st) {
  return {st.routed() || !st.reason().empty(), st.routed_v6() || !st.reason_v6().empty(),
          st.has_wireguard(), st.has_wireguard_v6()};
}

// Each family's columns (public IP, VtepMAC, whether routed, why not),
// each family's said on its own.
std::vector<std::string> node_row(const v1::Node& n, Families f) {
  std::string cidrs;
  for (const auto& c : n.pod_cidrs()) cidrs += (cidrs.empty() ? "" : ",") + c;
  const auto& st = n.status();
  const std::vector<std::string> probe = probe_cells(st);
  std::vector<std::string> row{n.name(), or_none(cidrs)};
  if (f.v4) row.push_back(or_none(st.public_ip()));
  row.push_back(or_none(st.backend()));
  if (f.v4) row.insert(row.end(), {or_none(st.vtep_mac()), yes_no(st.routed())});
  if (f.v6) {
    row.insert(row.end(),
               {or_none(st.public_ipv6()), or_none(st.vtep_mac_v6()), yes_no(st.routed_v6())});
  }
  if (f.wireguard) {
    const std::vector<std::string> wg = wireguard_cells(st);
    row.insert(row.end(), wg.begin(), wg.end());
  }
  if (f.wireguard_v6) {
    const std::vector<std::string> wg6 = st.has_wireguard_v6()
                                             ? wireguard_session_cells(st.wireguard_v6())
                                             : std::vector<std::string>(4, "-");
    row.insert(row.end(), wg6.begin(), wg6.end());
  }
  row.insert(row.end(), {probe[0], probe[1], probe[2], n.resource_version()});
  if (f.v4) row.push_back(st.reason());
  if (f.v6) row.push_back(st.reason_v6());
  return row;
}

std::vector<std::string> node_header(Families f) {
  std::vector<std::string> header{"NAME", "POD-CIDRS"};
  if (f.v4) header.push_back("PUBLIC-IP");
  header.push_back("BACKEND");
  if (f.v4) header.insert(header.end(), {"VTEP-MAC", "ROUTED"});
  if (f.v6) header.insert(header.end(), {"PUBLIC-IPV6", "VTEP-MAC-V6", "ROUTED-V6"});
  if (f.wireguard)
    header.insert(header.end(), {"PUBLIC-KEY", "ENDPOINT", "HANDSHAKE", "RX", "TX", "KEEPALIVE"});
  if (f.wireguard_v6)
    header.insert(header.end(), {"ENDPOINT-V6", "HANDSHAKE-V6", "RX-V6", "TX-V6"});
  header.insert(header.end(), {"PROBE", "RTT", "LOSS", "VERSION"});
  if (f.v4) header.push_back("REASON");
  if (f.v6) header.push_back("REASON-V6");
  return header;
}

// The columns of every family some node has a side of; IPv4's when none has.
Families table_families(const std::vector<const v1::Node*>& nodes) {
  Families f;
  for (const v1::Node* n : nodes) {
    const Families nf = families_of(n->status());
    f.v4 = f.v4 || nf.v4;
    f.v6 = f.v6 || nf.v6;
    f.wireguard = f.wireguard || nf.wireguard;
    f.wireguard_v6 = f.wireguard_v6 || nf.wireguard_v6;
  }
  if (!f.v6) f.v4 = true;
  return f;
}

void print_nodes(const google::protobuf::RepeatedPtrField<v1::Node>& nodes) {
  std::vector<const v1::Node*> all;
  for (const auto& n : nodes) all.push_back(&n);
  const Families f = table_families(all);
  std::vector<std::vector<std::string>> rows{node_header(f)};
  for (const auto& n : nodes) rows.push_back(node_row(n, f));
  print_table(rows);
}

int list(const GlobalOptions& g) {
  auto stub = v1::Nodes::NewStub(connect(g));
  v1::ListNodesResponse all;
  std::string token;
  do {
    v1::ListNodesRequest req;
    req.set_page_token(token);
    req.set_page_size(1000);
    v1::ListNodesResponse page;
    auto ctx = call_context(g);
    if (grpc::Status s = stub->ListNodes(ctx.get(), req, &page); !s.ok()) return report(s, g);
    for (const auto& n : page.nodes()) *all.add_nodes() = n;
    all.set_resource_version(page.resource_version());
    token = page.next_page_token();
  } while (!token.empty());
  if (print_structured(all, g.output)) return kExitOk;
  print_nodes(all.nodes());
  return kExitOk;
}

int get(const GlobalOptions& g, const std::string& name) {
  v1::GetNodeRequest req;
  req.set_name(name);
  v1::Node node;
  auto ctx = call_context(g);
  if (grpc::Status s = v1::Nodes::NewStub(connect(g))->GetNode(ctx.get(), req, &node); !s.ok())
    return report(s, g);
  if (print_structured(node, g.output)) return kExitOk;
  const Families f = table_families({&node});
  print_table({node_header(f), node_row(node, f)});
  return kExitOk;
}

int apply(const GlobalOptions& g, const std::string& file, const std::string& version) {
  std::stringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(file);
    if (!in) return usage_error("cannot read '" + file + "'");
    text << in.rdbuf();
  }
  auto nodes = parse_node_manifests(text.str(), file);
  if (!nodes) {
    std::fprintf(stderr, "tartanctl: %s\n", nodes.status().message().c_str());
    return kExitFailed;
  }
  if (!version.empty() && nodes->size() != 1)
    return usage_error("--resource-version applies to a single node");
  auto stub = v1::Nodes::NewStub(connect(g));
  // One ApplyNodes call per chunk, all or nothing: the API takes up to
  // kMaxApplyNodes changes in a call, and tartand's default
  // control.max_message_bytes (4 MiB) is kept clear of.
  size_t next = 0;
  while (next < nodes->size()) {
    v1::ApplyNodesRequest req;
    size_t bytes = 0;
    for (; next < nodes->size() && static_cast<size_t>(req.apply_size()) < kMaxApplyNodes; ++next) {
      const size_t size = (*nodes)[next].ByteSizeLong();
      if (req.apply_size() > 0 && bytes + size > kMaxApplyBytes) break;
      bytes += size;
      v1::ApplyNodeRequest* a = req.add_apply();
      *a->mutable_node() = (*nodes)[next];
      a->set_expected_resource_version(version);
    }
    v1::ApplyNodesResponse resp;
    auto ctx = call_context(g);
    if (grpc::Status s = stub->ApplyNodes(ctx.get(), req, &resp); !s.ok()) {
      // The calls before this one stay applied (and said so); say which did not.
      if (static_cast<size_t>(req.apply_size()) < nodes->size())
        std::fprintf(stderr, "tartanctl: nodes %zu..%zu of %zu not applied\n",
                     next - req.apply_size() + 1, nodes->size(), nodes->size());
      return report(s, g);
    }
    for (int i = 0; i < resp.applied_size(); ++i) {
      const v1::Node& applied = resp.applied(i);
      if (g.output == Output::kTable) {
        std::printf("node/%s applied (version %s, %s)\n", applied.name().c_str(),
                    applied.resource_version().c_str(),
                    applied.status().routed()
                        ? "routed"
                        : ("not routed: " + applied.status().reason()).c_str());
      } else {
        // The node as sent, with what tartand made of it.
        v1::Node whole = req.apply(i).node();
        whole.MergeFrom(applied);
        print_structured(whole, g.output);
      }
    }
  }
  return kExitOk;
}

int remove(const GlobalOptions& g, const std::string& name, const std::string& version) {
  v1::DeleteNodeRequest req;
  req.set_name(name);
  req.set_expected_resource_version(version);
  v1::DeleteNodeResponse resp;
  auto ctx = call_context(g);
  if (grpc::Status s = v1::Nodes::NewStub(connect(g))->DeleteNode(ctx.get(), req, &resp); !s.ok())
    return report(s, g);
  if (!print_structured(resp, g.output))
    std::printf("node/%s deleted (version %s)\n", name.c_str(), resp.resource_version().c_str());
  return kExitOk;
}

volatile std::sig_atomic_t g_interrupted = 0;

const char* event_name(v1::NodeEvent::Type t) {
  switch (t) {
    case v1::NodeEvent::ADDED:
      return "ADDED";
    case v1::NodeEvent::MODIFIED:
      return "MODIFIED";
    case v1::NodeEvent::DELETED:
      return "DELETED";
    case v1::NodeEvent::RESYNC:
      return "RESYNC";
    case v1::NodeEvent::BOOKMARK:
      return "BOOKMARK";
    default:
      return "?";
  }
}

int events(const GlobalOptions& g, const std::string& from) {
  v1::WatchNodesRequest req;
  req.set_resource_version(from);
  auto ctx = call_context(g, true);
  std::signal(SIGINT, [](int) { g_interrupted = 1; });
  auto stream = v1::Nodes::NewStub(connect(g))->WatchNodes(ctx.get(), req);
  v1::NodeEvent e;
  const bool table = g.output == Output::kTable;
  if (table) print_table({{"VERSION", "EVENT", "NAME", "ROUTED", "REASON"}});
  while (!g_interrupted && stream->Read(&e)) {
    if (table) {
      std::printf("%-9s %-9s %s %s %s\n", e.resource_version().c_str(), event_name(e.type()),
                  e.node().name().c_str(), e.has_node() ? yes_no(e.node().status().routed()) : "",
                  e.node().status().reason().c_str());
    } else {
      print_structured(e, g.output);
    }
    std::fflush(stdout);
  }
  if (g_interrupted) return kExitOk;
  const grpc::Status s = stream->Finish();
  return s.ok() ? kExitOk : report(s, g);
}

}  // namespace

void add_node_commands(CLI::App& app, const GlobalOptions& g, Action& run) {
  // What the parser fills in; the callbacks keep it alive.
  struct Values {
    std::string name, file, version, from;
  };
  auto v = std::make_shared<Values>();
  CLI::App* nodes =
      app.add_subcommand("nodes", "the Kubernetes Nodes tartand mirrors, and the routes they give");
  nodes->require_subcommand(1);
  nodes->footer(
      "Each node is shown with the route its flannel annotations give. `nodes get NAME -o yaml`\n"
      "prints what `nodes apply -f -` takes back unchanged. With tunnel probes on\n"
      "(control.probe.interval_ms), PROBE says whether a routed node answered its last ICMP echo\n"
      "through the tunnel (or since when it has not), RTT is that answer's round trip and LOSS\n"
      "the probes lost among its last 20. On the wireguard backend, each node's peer as `wg show`\n"
      "shows it: PUBLIC-KEY, ENDPOINT (where its packets last came from), HANDSHAKE (the latest\n"
      "completed, how long ago), RX and TX (transfer received and sent) and KEEPALIVE "
      "(persistent).");
  CLI::App* list_cmd = nodes->add_subcommand("list", "every node, routed or why not");
  list_cmd->callback([&g, &run] { run = [&g] { return list(g); }; });

  CLI::App* get_cmd = nodes->add_subcommand("get", "one node");
  get_cmd->add_option("NAME", v->name, "the node's name")->required();
  get_cmd->callback([&g, &run, v] { run = [&g, v] { return get(g, v->name); }; });

  CLI::App* apply_cmd = nodes->add_subcommand("apply", "create or update nodes from a manifest");
  apply_cmd->add_option("-f,--filename", v->file, "the manifest; - is standard input")
      ->type_name("FILE")
      ->required();
  apply_cmd->footer(
      "FILE holds a Node as `kubectl get node NAME -o yaml` (or -o json) prints it, or as\n"
      "`tartanctl nodes get NAME -o yaml|json` does, a List of them, or several YAML documents.\n"
      "The nodes go in ApplyNodes calls of up to 10,000 (and 3 MiB), each all or nothing: one bad\n"
      "node, named in the error, and none of its call is applied; later calls are not made.");
  CLI::App* delete_cmd = nodes->add_subcommand("delete", "remove a node and its route");
  delete_cmd->add_option("NAME", v->name, "the node's name")->required();
  for (CLI::App* conditional : {apply_cmd, delete_cmd}) {
    conditional
        ->add_option("--resource-version", v->version,
                     "change the node only if it is at this version (optimistic "
                     "concurrency)")
        ->type_name("RV");
  }
  apply_cmd->callback([&g, &run, v] { run = [&g, v] { return apply(g, v->file, v->version); }; });
  delete_cmd->callback([&g, &run, v] { run = [&g, v] { return remove(g, v->name, v->version); }; });

  CLI::App* events_cmd = app.add_subcommand("events", "follow node changes (WatchNodes)");
  events_cmd->add_option("--from", v->from, "the resource version to follow from")
      ->type_name("RV")
      ->check(CLI::Validator(
          [](const std::string& rv) {
            return !rv.empty() && rv.find_first_not_of("0123456789") == std::string::npos
                       ? std::string()
                       : "expected a resource version (a decimal number), got '" + rv + "'";
          },
          "RV"));
  events_cmd->footer(
      "Follows node changes as they happen until interrupted. Without --from, or when tartand\n"
      "no longer has the changes since RV, it starts with every node (RESYNC ... BOOKMARK).");
  events_cmd->callback([&g, &run, v] { run = [&g, v] { return events(g, v->from); }; });
}

}  // namespace tartan::ctl
