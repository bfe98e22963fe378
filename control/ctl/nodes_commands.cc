// tartanctl nodes list|get|apply|delete, and events (follows WatchNodes).
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "control/ctl/client.h"
#include "control/ctl/manifest.h"
#include "tartan/v1/node.grpc.pb.h"

namespace tartan::ctl {
namespace {

constexpr const char* kNodesUsage =
    "Usage: tartanctl nodes list\n"
    "       tartanctl nodes get NAME\n"
    "       tartanctl nodes apply -f FILE [--resource-version RV]\n"
    "       tartanctl nodes delete NAME [--resource-version RV]\n"
    "\n"
    "The Kubernetes Nodes tartand mirrors, each with the route its flannel annotations give.\n"
    "apply -f takes a Node manifest as `kubectl get node NAME -o yaml` (or -o json) prints it, a\n"
    "List of them, or several YAML documents; FILE '-' is standard input. --resource-version "
    "makes\n"
    "the change conditional on the node being at that version (optimistic concurrency).\n";

const char* yes_no(bool b) {
  return b ? "yes" : "no";
}

std::vector<std::string> node_row(const v1::Node& n) {
  std::string cidrs;
  for (const auto& c : n.pod_cidrs()) cidrs += (cidrs.empty() ? "" : ",") + c;
  const auto& st = n.status();
  return {n.name(),
          cidrs.empty() ? "<none>" : cidrs,
          st.public_ip().empty() ? "<none>" : st.public_ip(),
          st.backend().empty() ? "<none>" : st.backend(),
          st.vtep_mac().empty() ? "<none>" : st.vtep_mac(),
          yes_no(st.routed()),
          n.resource_version(),
          st.reason()};
}

const std::vector<std::string> kNodeHeader{"NAME",     "POD-CIDRS", "PUBLIC-IP", "BACKEND",
                                           "VTEP-MAC", "ROUTED",    "VERSION",   "REASON"};

// Pulls "--resource-version RV" out of args.
bool take_version(Args& args, std::string& version) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--resource-version") {
      if (i + 1 >= args.size()) return false;
      version = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return true;
    }
  }
  return true;
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
  std::vector<std::vector<std::string>> rows{kNodeHeader};
  for (const auto& n : all.nodes()) rows.push_back(node_row(n));
  print_table(rows);
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
  print_table({kNodeHeader, node_row(node)});
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
  int rc = kExitOk;
  for (const v1::Node& n : *nodes) {
    v1::ApplyNodeRequest req;
    *req.mutable_node() = n;
    req.set_expected_resource_version(version);
    v1::Node applied;
    auto ctx = call_context(g);
    if (grpc::Status s = stub->ApplyNode(ctx.get(), req, &applied); !s.ok()) {
      std::fprintf(stderr, "tartanctl: node '%s': %s\n", n.name().c_str(),
                   s.error_message().c_str());
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return report(s, g);
      rc = kExitFailed;
      continue;
    }
    if (g.output == Output::kTable) {
      std::printf("node/%s applied (version %s, %s)\n", applied.name().c_str(),
                  applied.resource_version().c_str(),
                  applied.status().routed() ? "routed"
                                            : ("not routed: " + applied.status().reason()).c_str());
    } else {
      print_structured(applied, g.output);
    }
  }
  return rc;
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

int nodes(const GlobalOptions& g, const Args& args_in) {
  if (wants_help(args_in, kNodesUsage)) return kExitOk;
  Args args = args_in;
  std::string version;
  if (!take_version(args, version)) return usage_error("--resource-version needs a value");
  if (args.empty())
    return usage_error(std::string("nodes: a subcommand is needed\n") + kNodesUsage);
  const std::string& sub = args[0];
  if (sub == "list" && check_arity(args, 1, 1, kNodesUsage)) return list(g);
  if (sub == "get" && check_arity(args, 2, 2, kNodesUsage)) return get(g, args[1]);
  if (sub == "delete" && check_arity(args, 2, 2, kNodesUsage)) return remove(g, args[1], version);
  if (sub == "apply" && check_arity(args, 3, 3, kNodesUsage)) {
    if (args[1] != "-f") return usage_error("nodes apply: -f FILE is needed");
    return apply(g, args[2], version);
  }
  if (sub != "list" && sub != "get" && sub != "delete" && sub != "apply") {
    return usage_error("nodes: unknown subcommand '" + sub + "'");
  }
  return kExitUsage;
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

int events(const GlobalOptions& g, const Args& args) {
  constexpr const char* kUsage =
      "Usage: tartanctl events [--from RV]\n\n"
      "Follows node changes as they happen (WatchNodes) until interrupted. Without --from, or "
      "when\n"
      "tartand no longer has the changes since RV, it starts with every node (RESYNC ... "
      "BOOKMARK).\n";
  if (wants_help(args, kUsage)) return kExitOk;
  v1::WatchNodesRequest req;
  if (args.size() == 2 && args[0] == "--from") {
    req.set_resource_version(args[1]);
  } else if (!args.empty()) {
    return usage_error(std::string("events: wrong arguments\n") + kUsage);
  }
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

std::map<std::string, Command> node_commands() {
  return {{"nodes", nodes}, {"events", events}};
}

}  // namespace tartan::ctl
