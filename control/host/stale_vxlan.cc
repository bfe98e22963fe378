#include "control/host/stale_vxlan.h"

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <cstring>

#include "engine/log.h"

namespace tartan {

Status remove_stale_vxlan(const std::string& ifname) {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr)
    return Status(ErrorCode::kResourceExhausted, "cannot allocate a netlink socket");
  Status result;
  rtnl_link* link = nullptr;
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    result = Status(ErrorCode::kFailedPrecondition, std::string("netlink: ") + nl_geterror(err));
  } else if (rtnl_link_get_kernel(sock, 0, ifname.c_str(), &link) == 0) {
    const char* type = rtnl_link_get_type(link);
    if (type != nullptr && std::strcmp(type, "vxlan") == 0) {
      if (int err = rtnl_link_delete(sock, link); err < 0) {
        result = Status(ErrorCode::kFailedPrecondition, "deleting the VXLAN device " + ifname +
                                                            " kube-flannel left (its name is "
                                                            "our overlay tap's): " +
                                                            nl_geterror(err));
      } else {
        TARTAN_LOG(NOTICE, kControl,
                   "removed the VXLAN device %s that kube-flannel left: this node's overlay is "
                   "tartan's tap of that name now",
                   ifname.c_str());
      }
    }
    rtnl_link_put(link);
  }
  nl_socket_free(sock);
  return result;
}

}  // namespace tartan
