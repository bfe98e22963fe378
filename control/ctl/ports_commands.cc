// tartanctl ports: devices, queues, offloads, and where the underlay's flow
// rule classes run; --flows prints the rules as dpdk-testpmd commands.
#include <cstdio>
#include <string>

#include "control/ctl/client.h"
#include "tartan/v1/ports.grpc.pb.h"

namespace tartan::ctl {
namespace {

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ",") + i;
  return s.empty() ? "-" : s;
}

void print_ports(const v1::ListPortsResponse& resp) {
  std::vector<std::vector<std::string>> rows{
      {"PORT", "ROLE", "ID", "DRIVER", "RX-QUEUES", "TX-QUEUES", "OFFLOADS", "DEVICE"}};
  for (const auto& p : resp.ports()) {
    rows.push_back({p.name(), p.role(), std::to_string(p.port_id()), p.driver(),
                    std::to_string(p.rx_queues()), std::to_string(p.tx_queues()),
                    joined(p.offloads()), p.device()});
  }
  print_table(rows);
  for (const auto& p : resp.ports()) {
    if (p.flow_classes_size() == 0) continue;
    std::printf("\nflow rules of %s (rte_flow):\n", p.name().c_str());
    std::vector<std::vector<std::string>> classes{
        {"CLASS", "FAMILY", "RUNS-IN", "RULES", "DETAIL"}};
    for (const auto& c : p.flow_classes()) {
      classes.push_back({c.name(), c.family(), c.placement(),
                         c.placement() == "hardware" ? std::to_string(c.rules()) : "-",
                         c.detail()});
    }
    print_table(classes);
  }
}

// A file dpdk-testpmd can `load`, or whose lines can be pasted at its
// prompt: comments say which rules this device holds now.
void print_flows(const v1::ListPortsResponse& resp) {
  for (const auto& p : resp.ports()) {
    if (p.flow_classes_size() == 0) continue;
    std::printf(
        "# rte_flow rules tartan builds for port '%s' (DPDK port %u, %s, %s);\n"
        "# on another machine, replace the port id with testpmd's.\n",
        p.name().c_str(), p.port_id(), p.driver().c_str(), p.device().c_str());
    std::string last;
    for (const auto& r : p.flow_rules()) {
      if (r.flow_class() + " " + r.family() != last) {
        std::string placement = "software";
        for (const auto& c : p.flow_classes()) {
          if (c.name() == r.flow_class() && c.family() == r.family()) placement = c.placement();
        }
        std::printf("# %s %s: %s on this device\n", r.flow_class().c_str(), r.family().c_str(),
                    placement.c_str());
        last = r.flow_class() + " " + r.family();
      }
      std::printf("%s\n", r.testpmd().c_str());
    }
  }
}

int ports(const GlobalOptions& g, bool flows) {
  v1::ListPortsRequest req;
  req.set_flows(flows);
  v1::ListPortsResponse resp;
  auto ctx = call_context(g);
  if (grpc::Status s = v1::Ports::NewStub(connect(g))->ListPorts(ctx.get(), req, &resp); !s.ok())
    return report(s, g);
  if (print_structured(resp, g.output)) return kExitOk;
  if (req.flows()) {
    print_flows(resp);
  } else {
    print_ports(resp);
  }
  return kExitOk;
}

}  // namespace

void add_port_commands(CLI::App& app, const GlobalOptions& g, Action& run) {
  auto flows = std::make_shared<bool>(false);
  CLI::App* ports_cmd =
      app.add_subcommand("ports", "devices, queues, offloads, and which flow rules the NIC runs");
  ports_cmd->add_flag("--flows", *flows,
                      "print every rule tartan builds for the underlay as dpdk-testpmd `flow "
                      "create` commands, to check with testpmd on a real NIC");
  ports_cmd->footer(
      "For the underlay, where each class of rte_flow rules runs: in the NIC (hardware, with\n"
      "the rules it holds) or in the workers (software, and why). Classes: tunnel_steering\n"
      "(tunnel traffic spread over the worker queues), slow_path (ARP and other traffic to the\n"
      "node to worker 0's queue), sender_filter (tunnel traffic from unknown nodes dropped and\n"
      "counted), hw_decap (VXLAN decapsulated by the NIC).");
  ports_cmd->callback([&g, &run, flows] { run = [&g, flows] { return ports(g, *flows); }; });
}

}  // namespace tartan::ctl
