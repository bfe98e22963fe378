#include "control/api/leases_service.h"

#include "control/api/api_convert.h"
#include "control/sources/etcd/etcd_lease_json.h"

namespace tartan {

void LeasesService::fill(const LocalLeaseState& state, v1::LocalLease* out) const {
  const DataplaneConfig& dp = config_.engine.dataplane;
  const Ipv4Addr public_ip = config_.engine.underlay.address.addr;
  out->set_pod_cidr(state.pod_cidr.str());
  out->set_network(config_.network.network.str());
  out->set_mtu(dp.overlay_mtu());
  out->set_vtep_mac(engine_.vtep_mac().str());
  out->set_public_ip(public_ip.str());
  out->set_backend(backend_type_name(dp.backend));
  if (dp.backend == BackendType::kVxlan) out->set_vni(dp.vni);
  if (dp.backend != BackendType::kHostGw) out->set_port(dp.udp_port);
  if (config_.lease.source == LeaseSource::kEtcd) {
    // What the etcd source wrote: flanneld nodes read our lease there, not
    // from annotations.
    out->set_etcd_key(config_.lease.etcd.prefix + "/subnets/" + subnet_key_name(state.pod_cidr));
    out->set_etcd_value(encode_lease_attrs(public_ip, dp.backend, dp.vni, engine_.vtep_mac()));
  } else {
    for (const auto& [k, v] :
         own_annotations(keys_, dp.backend, dp.vni, engine_.vtep_mac(), public_ip)) {
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
  auto cidr = parse_ipv4_cidr(req->pod_cidr());
  if (!cidr) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "pod_cidr: " + cidr.status().message());
  }
  if (Status s = lease_.set(*cidr, LeaseSource::kGrpc); !s.ok()) return to_grpc(s);
  fill(*lease_.get(), out);
  return grpc::Status::OK;
}

grpc::Status LeasesService::ListRemoteLeases(grpc::ServerContext*,
                                             const v1::ListRemoteLeasesRequest*,
                                             v1::ListRemoteLeasesResponse* out) {
  for (const NodeRecord& r : mirror_.routed()) {
    auto* l = out->add_leases();
    l->set_node_name(r.spec.name);
    l->set_pod_cidr(r.status.route->str());
    l->set_public_ip(r.status.public_ip->str());
    if (r.status.vtep_mac) l->set_vtep_mac(r.status.vtep_mac->str());
    l->set_backend(r.status.backend);
  }
  return grpc::Status::OK;
}

}  // namespace tartan
