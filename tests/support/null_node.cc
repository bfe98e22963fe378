#include "tests/support/null_node.h"

#include "tests/support/files.h"

namespace tartan::testing {

std::string write_null_node_config(const std::string& dir, const std::string& eal,
                                   const std::string& control) {
  write_file(dir + "/net-conf.json",
             R"({"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}})");
  const std::string path = dir + "/tartan.yaml";
  write_file(path, "eal: {" + eal +
                       "}\n"
                       "ports:\n"
                       "  underlay: {device: net_null0, address: 192.0.2.10/24}\n"
                       "  overlay: [{device: net_null1}]\n"
                       "dataplane: {max_routes: 1024, lpm_tbl8_groups: 64}\n"
                       "network_file: " +
                       dir +
                       "/net-conf.json\n"
                       // The caller's keys first: where they are does not depend on `dir`.
                       "control: {" +
                       (control.empty() ? "" : control + ", ") + "listen: 'unix://" + dir +
                       "/tartan.sock'}\nlease: {source: grpc}\nnode: {state_dir: " + dir +
                       "/state}\nsubnet_file: " + dir + "/subnet.env\n");
  return path;
}

}  // namespace tartan::testing
