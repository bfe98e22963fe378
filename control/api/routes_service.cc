#include "control/api/routes_service.h"

namespace tartan {

namespace {

// One row per route, IPv4's (RouteView) and IPv6's (Route6View) alike.
template <class View>
void add_route(const View& r, const NodeMirror& mirror, v1::ListRoutesResponse* out) {
  auto* o = out->add_routes();
  o->set_prefix(r.prefix.str());
  o->set_kind(next_hop_kind_name(r.kind));
  o->set_next_hop_id(r.next_hop_id);
  if (r.kind == NextHopKind::kLocal) {
    o->set_out_port(r.out_port);
    return;
  }
  // A cross-family route (wireguard's one-device modes) names the node's
  // address of the other family.
  o->set_public_ip(r.other_public_ip ? r.other_public_ip->str() : r.public_ip.str());
  if (r.kind == NextHopKind::kVxlan) o->set_vtep_mac(r.vtep_mac.str());
  if (r.via) o->set_via(r.via->str());
  if (r.other_via) o->set_via(r.other_via->str());
  if (r.via_mac) o->set_via_mac(r.via_mac->str());
  if (auto node = mirror.node_of(r.prefix)) o->set_node_name(*node);
}

}  // namespace

grpc::Status RoutesService::ListRoutes(grpc::ServerContext*, const v1::ListRoutesRequest*,
                                       v1::ListRoutesResponse* out) {
  for (const RouteView& r : engine_.routes()) add_route(r, mirror_, out);
  for (const Route6View& r : engine_.routes6()) add_route(r, mirror_, out);
  return grpc::Status::OK;
}

}  // namespace tartan
