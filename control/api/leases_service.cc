#include "control/api/leases_service.h"

#include "control/api/api_convert.h"
#include "control/config/pod_mtu.h"
#include "control/sources/etcd/etcd_lease_json.h"

namespace tartan {

void LeasesService::fill(const LocalLeaseState& state, v1::LocalLease* out) const {
  const DataplaneConfig& dp = config_.engine.dataplane;
  const std::optional<Ipv4Addr> public_ip = own_public_ip(config_);
  const std::optional<OwnIpv6> ipv6 = own_public_ipv6(config_);
  if (state.pod_cidr) out->set_pod_cidr(state.pod_cidr->str());
  if (config_.network.enable_ipv4) {
    out->set_network(config_.network.network.str());
    out->set_vtep_mac(engine_.vtep_mac().str());
  }
  out->set_mtu(pod_mtu(config_.network, dp));
  if (public_ip) out->set_public_ip(public_ip->str());
  out->set_backend(backend_type_name(dp.backend));
  if (dp.backend == BackendType::kVxlan) out->set_vni(dp.vni);
  if (dp.backend != BackendType::kHostGw) out->set_port(dp.udp_port);
  if (state.pod_cidr_v6) out->set_pod_cidr_v6(state.pod_cidr_v6->str());
  if (config_.network.enable_ipv6) out->set_ipv6_network(config_.network.ipv6_network->str());
  if (ipv6) {
    out->set_vtep_mac_v6(ipv6->vtep_mac.str());
    out->set_public_ipv6(ipv6->public_ip.str());
  }
  if (config_.lease.source == LeaseSource::kEtcd) {
    // What the etcd source wrote: flanneld nodes read our lease there, not
    // from annotations.
    out->set_etcd_key(config_.lease.etcd.prefix + "/subnets/" + subnet_key_name(state.cidrs()));
    out->set_etcd_value(own_lease_attrs(config_, engine_.vtep_mac()));
  } else {
    for (const auto& [k, v] : own_annotations(keys_, dp.backend, dp.vni, engine_.vtep_mac(),
                                              public_ip, ipv6, own_wireguard(config_))) {
      (*out->mutable_annotations())[k] = v;
    }
  }
  out->set_subnet_file(config_.subnet_file);
  out->set_source(lease_source_name(state.source));
}

grpc::Status LeasesService::GetLocalLease(grpc::ServerContext*, const v1::GetLocalLeaseRequest*,
                                          v1::LocalLease* out) {
  auto state = lease_.get();
  if (!state) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no local lease yet");
  fill(*state, out);
  return grpc::Status::OK;
}

grpc::Status LeasesService::SetLocalLease(grpc::ServerContext*, const v1::SetLocalLeaseRequest* req,
                                          v1::LocalLease* out) {
  if (config_.lease.source != LeaseSource::kGrpc) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        std::string("lease.source is ") + lease_source_name(config_.lease.source) +
                            ": the local lease cannot be set through the API");
  }
  // Each family's field is read only when given: LocalLease::set says
  // which the network needs.
  PodCidrs cidrs;
  Status bad;
  const auto read = [&bad](const char* field, const std::string& text, auto parse, auto& out) {
    if (text.empty() || !bad.ok()) return;
    auto cidr = parse(text);
    if (cidr) {
      out = *cidr;
    } else {
      bad = Status::invalid(std::string(field) + ": " + cidr.status().message());
    }
  };
  read("pod_cidr", req->pod_cidr(), parse_ipv4_cidr, cidrs.v4);
  read("pod_cidr_v6", req->pod_cidr_v6(), parse_ipv6_cidr, cidrs.v6);
  if (!bad.ok()) return to_grpc(bad);
  if (Status s = lease_.set(cidrs, LeaseSource::kGrpc); !s.ok()) return to_grpc(s);
  fill(*lease_.get(), out);
  return grpc::Status::OK;
}

grpc::Status LeasesService::ListRemoteLeases(grpc::ServerContext*,
                                             const v1::ListRemoteLeasesRequest*,
                                             v1::ListRemoteLeasesResponse* out) {
  for (const NodeRecord& r : mirror_.routed()) {
    auto* l = out->add_leases();
    l->set_node_name(r.spec.name);
    l->set_backend(r.status.backend);
    if (r.status.routed) {
      l->set_pod_cidr(r.status.route->str());
      // In wireguard's one-device modes a family is routed over the
      // other's address: its own may be absent.
      if (r.status.public_ip) l->set_public_ip(r.status.public_ip->str());
      if (r.status.vtep_mac) l->set_vtep_mac(r.status.vtep_mac->str());
    }
    if (r.status.routed_v6) {
      l->set_pod_cidr_v6(r.status.route_v6->str());
      if (r.status.public_ipv6) l->set_public_ipv6(r.status.public_ipv6->str());
      if (r.status.vtep_mac_v6) l->set_vtep_mac_v6(r.status.vtep_mac_v6->str());
    }
  }
  return grpc::Status::OK;
}

}  // namespace tartan
