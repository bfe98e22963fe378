// The fixed fields of the tunnel packets a worker decapsulates, as one
// masked 64-byte template: the outer Ethernet, IPv4 and UDP headers and,
// for VXLAN, the VXLAN header and the inner Ethernet header. All of it is
// fixed for the workers' life (our MAC, address, port, VNI and VTEP MAC),
// so the common frame is recognised by one compare instead of a dozen
// branches; anything else takes ingress's field-by-field path, which
// names the reason it drops a frame for.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/path/datapath_context.h"

namespace tartan {

inline constexpr uint16_t kTunnelTemplateLen = 64;

class TunnelTemplate {
 public:
  // What `ctx`'s backend receives: unicast to the underlay MAC, IPv4
  // without options and not a fragment, UDP to the tunnel port; for VXLAN
  // the kernel's flags word, our VNI, and an inner IPv4 frame to our VTEP
  // MAC. host-gw receives no tunnel packets: its template matches nothing.
  explicit TunnelTemplate(const DatapathContext& ctx);

  // Whether the first kTunnelTemplateLen bytes of `frame` have the fixed
  // fields' values. Unrolled: GCC at -O2 made the word loop a loop of four
  // 16-byte steps with its own counter and branch.
  bool matches(const uint8_t* frame) const {
    uint64_t differ = 0;
#pragma GCC unroll 8
    for (size_t i = 0; i < kWords; ++i) {
      uint64_t w;
      std::memcpy(&w, frame + i * sizeof w, sizeof w);
      differ |= (w ^ value_[i]) & mask_[i];
    }
    return differ == 0;
  }

 private:
  static constexpr size_t kWords = kTunnelTemplateLen / sizeof(uint64_t);
  std::array<uint64_t, kWords> value_{};
  std::array<uint64_t, kWords> mask_{};
};

}  // namespace tartan
