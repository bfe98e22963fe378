// The API's request handlers on a real engine, fed the bytes a client
// could send: the Nodes service (control/nodes_service: validation,
// node_from_proto, parse_resource_version, NodeMirror::apply/remove) and
// the Leases service's SetLocalLease (control/leases_service, LocalLease:
// the podCIDR checked against the network and every node's, written to
// subnet.env). The first input byte picks the RPC (ApplyNode, DeleteNode,
// GetNode, ListNodes, SetLocalLease, ApplyNodes), the rest is its request
// message as it comes off the wire; bytes that do not parse are what gRPC
// itself refuses. After each request:
//   - an error is INVALID_ARGUMENT, NOT_FOUND, ABORTED, ALREADY_EXISTS or
//     RESOURCE_EXHAUSTED with a message, never anything else;
//   - the engine routes exactly the podCIDRs the mirror says are routed,
//     each to the public IP and VTEP MAC the mirror shows, and none of
//     them overlaps our own podCIDR;
//   - our podCIDR is the lease's, in the engine and in subnet.env; a
//     refused lease changed nothing;
//   - a refused ApplyNodes changed nothing; an applied one answers for
//     each of its nodes, in order.
#include <grpcpp/grpcpp.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>

#include "control/api/leases_service.h"
#include "control/api/nodes_service.h"
#include "control/host/subnet_file.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/packet_harness.h"

namespace tartan::fuzz {
namespace {

using testing::EngineFixture;

struct World {
  // subnet.env goes to $TMPDIR (scripts/fuzz.sh: inside build-fuzz).
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tartan-fuzz-api-" + std::to_string(getpid()));
  Config config = lease_config(dir);
  EngineFixture fx{{.max_routes = 256}};
  NodeMirror mirror{settings(), fx.engine()};
  NodesService service{mirror};
  Readiness readiness{{"lease_acquired", "subnet_env_written"}};
  LocalLease lease{config, mirror, readiness};
  LeasesService leases{config, fx.engine(), lease, mirror, settings().keys};

  ~World() { std::filesystem::remove_all(dir); }

  static MirrorSettings settings() {
    MirrorSettings s;
    s.keys = *annotation_keys("flannel.alpha.coreos.com");
    s.own_node_name = "node-1";
    s.network = *Ipv4Prefix::parse("10.244.0.0/16");
    s.event_log_size = 64;
    return s;
  }
  static Config lease_config(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    Config c;
    c.network.network = settings().network;
    c.network.subnet_len = 24;
    c.lease.source = LeaseSource::kGrpc;
    c.subnet_file = dir / "subnet.env";
    return c;
  }
};

World& world() {
  static std::unique_ptr<World> w;
  if (!w) {
    w = std::make_unique<World>();
    FUZZ_CHECK(w->lease.set({w->fx.self().subnet, std::nullopt}, LeaseSource::kGrpc).ok(),
               "our podCIDR");
  }
  return *w;
}

template <class Request>
bool parse(const uint8_t* data, size_t size, Request& req) {
  return req.ParseFromArray(data, static_cast<int>(size));
}

void check_status(const grpc::Status& s) {
  if (s.ok()) return;
  const auto code = s.error_code();
  FUZZ_CHECK(code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::NOT_FOUND ||
                 code == grpc::StatusCode::ABORTED || code == grpc::StatusCode::ALREADY_EXISTS ||
                 code == grpc::StatusCode::RESOURCE_EXHAUSTED,
             "status " + std::to_string(code) + ": " + s.error_message());
  FUZZ_CHECK(!s.error_message().empty(), "an error without a message");
}

// The mirror's routed nodes are exactly the engine's remote routes, and
// our podCIDR is the lease's everywhere, overlapping none of them.
void check_tables(World& w) {
  const Ipv4Prefix ours = *w.lease.get()->pod_cidr;
  FUZZ_CHECK(w.fx.engine().local_subnet() == ours,
             "the engine delivers another podCIDR than our lease " + ours.str());
  FUZZ_CHECK(read_previous_subnets(w.config.subnet_file).v4 == ours,
             "subnet.env does not say our lease " + ours.str());
  std::map<Ipv4Prefix, RouteView> engine;
  for (const RouteView& r : w.fx.engine().routes()) {
    if (r.kind == NextHopKind::kLocal) continue;
    FUZZ_CHECK(!r.prefix.overlaps(ours),
               "the route " + r.prefix.str() + " overlaps our podCIDR " + ours.str());
    engine[r.prefix] = r;
  }
  const std::vector<NodeRecord> routed = w.mirror.routed();
  FUZZ_CHECK(routed.size() == engine.size(), "the mirror routes " + std::to_string(routed.size()) +
                                                 " nodes, the engine " +
                                                 std::to_string(engine.size()));
  for (const NodeRecord& r : routed) {
    FUZZ_CHECK(r.status.routed && r.status.route,
               "node " + r.spec.name + " routed without a route");
    auto it = engine.find(*r.status.route);
    FUZZ_CHECK(it != engine.end(), "node " + r.spec.name + "'s route " + r.status.route->str() +
                                       " is not in the engine");
    FUZZ_CHECK(r.status.public_ip == it->second.public_ip,
               "node " + r.spec.name + " goes to " + it->second.public_ip.str());
    FUZZ_CHECK(r.status.vtep_mac == it->second.vtep_mac,
               "node " + r.spec.name + " has VTEP MAC " + it->second.vtep_mac.str());
  }
}

}  // namespace
}  // namespace tartan::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tartan::fuzz::init_eal();
  // Invalid UTF-8 in string fields is refused, as gRPC would; not worth a log line each.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tartan;
  using namespace tartan::fuzz;
  if (size < 1) return -1;
  World& w = world();
  const uint8_t* msg = data + 1;
  const size_t len = size - 1;
  grpc::Status status;
  const Ipv4Prefix lease_before = *w.lease.get()->pod_cidr;
  switch (data[0] % 6) {
    case 0: {
      v1::ApplyNodeRequest req;
      if (!parse(msg, len, req)) return -1;
      v1::Node out;
      status = w.service.ApplyNode(nullptr, &req, &out);
      if (status.ok()) FUZZ_CHECK(out.name() == req.node().name(), "applied another node");
      break;
    }
    case 1: {
      v1::DeleteNodeRequest req;
      if (!parse(msg, len, req)) return -1;
      v1::DeleteNodeResponse out;
      status = w.service.DeleteNode(nullptr, &req, &out);
      break;
    }
    case 2: {
      v1::GetNodeRequest req;
      if (!parse(msg, len, req)) return -1;
      v1::Node out;
      status = w.service.GetNode(nullptr, &req, &out);
      break;
    }
    case 3: {
      v1::ListNodesRequest req;
      if (!parse(msg, len, req)) return -1;
      v1::ListNodesResponse out;
      status = w.service.ListNodes(nullptr, &req, &out);
      if (status.ok()) {
        const uint32_t page = req.page_size() == 0 ? 500 : req.page_size();
        FUZZ_CHECK(static_cast<uint32_t>(out.nodes_size()) <= page, "a page over its size");
      }
      break;
    }
    case 4: {
      v1::SetLocalLeaseRequest req;
      if (!parse(msg, len, req)) return -1;
      v1::LocalLease out;
      status = w.leases.SetLocalLease(nullptr, &req, &out);
      const Ipv4Prefix after = *w.lease.get()->pod_cidr;
      if (status.ok()) {
        FUZZ_CHECK(out.pod_cidr() == after.str(),
                   "the lease answered " + out.pod_cidr() + " but is " + after.str());
      } else {
        FUZZ_CHECK(after == lease_before, "a refused lease changed ours to " + after.str());
      }
      break;
    }
    case 5: {
      v1::ApplyNodesRequest req;
      if (!parse(msg, len, req)) return -1;
      const uint64_t version = w.mirror.resource_version();
      v1::ApplyNodesResponse out;
      status = w.service.ApplyNodes(nullptr, &req, &out);
      if (!status.ok()) {
        FUZZ_CHECK(w.mirror.resource_version() == version, "a refused ApplyNodes changed nodes");
        break;
      }
      FUZZ_CHECK(out.applied_size() == req.apply_size(), "not one answer per node");
      for (int i = 0; i < out.applied_size(); ++i)
        FUZZ_CHECK(out.applied(i).name() == req.apply(i).node().name(), "answered another node");
      break;
    }
  }
  check_status(status);
  check_tables(w);
  // Bounded state: start over now and then.
  if (w.mirror.list("", 64).first.size() >= 48) {
    FUZZ_CHECK(w.mirror.replace_all({}).ok(), "emptying the mirror");
    check_tables(w);
  }
  return 0;
}
