// A port as the API shows it: device, queues, offloads and, for the
// underlay, where each class of flow rules runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/flow_offload.h"
#include "engine/port.h"

namespace tartan {

struct PortView {
  std::string name;
  std::string role;
  std::string device;  // as configured: PCI address or vdev devargs
  std::string driver;
  uint16_t port_id = 0;
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;
  PortOffloads offloads;
  std::vector<FlowClassView> flow_classes;  // the underlay's; empty for other ports
};

}  // namespace tartan
