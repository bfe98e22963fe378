#include "control/api/ports_service.h"

namespace tartan {
namespace {

void fill_offloads(const PortOffloads& o, v1::Port* out) {
  if (o.rss) out->add_offloads("rss");
  if (o.ipv4_cksum) out->add_offloads("ipv4_cksum");
  if (o.udp_cksum) out->add_offloads("udp_cksum");
}

}  // namespace

grpc::Status PortsService::ListPorts(grpc::ServerContext*, const v1::ListPortsRequest* req,
                                     v1::ListPortsResponse* out) {
  for (const PortView& p : engine_.port_views()) {
    v1::Port* o = out->add_ports();
    o->set_name(p.name);
    o->set_role(p.role);
    o->set_port_id(p.port_id);
    o->set_device(p.device);
    o->set_driver(p.driver);
    o->set_rx_queues(p.rx_queues);
    o->set_tx_queues(p.tx_queues);
    fill_offloads(p.offloads, o);
    for (const FlowClassView& c : p.flow_classes) {
      v1::FlowClass* fc = o->add_flow_classes();
      fc->set_name(flow_class_name(c.cls));
      fc->set_placement(c.hardware ? "hardware" : "software");
      fc->set_rules(c.rules);
      fc->set_detail(c.detail);
      fc->set_family(c.family);
    }
    if (!req->flows() || p.flow_classes.empty()) continue;
    for (const FlowRuleView& r : engine_.flow_rules()) {
      v1::FlowRule* fr = o->add_flow_rules();
      fr->set_flow_class(flow_class_name(r.cls));
      fr->set_installed(r.installed);
      fr->set_testpmd(r.testpmd);
      fr->set_family(r.family);
    }
  }
  return grpc::Status::OK;
}

}  // namespace tartan
