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
// flannel-v6's: outer Ethernet, IPv6, UDP, VXLAN and inner Ethernet are 84
// bytes, compared as 96 (the inner IPv6 header's first 12 bytes free).
inline constexpr uint16_t kTunnel6TemplateLen = 96;

// Fixed bytes under a mask, compared a 64-bit word at a time.
template <size_t Len>
class MaskedBytes {
 public:
  // Whether the first Len bytes of `frame` have the fixed fields' values.
  // Unrolled: GCC at -O2 made the word loop a loop of four 16-byte steps
  // with its own counter and branch.
  bool matches(const uint8_t* frame) const {
    uint64_t differ = 0;
#pragma GCC unroll 12
    for (size_t i = 0; i < kWords; ++i) {
      uint64_t w;
      std::memcpy(&w, frame + i * sizeof w, sizeof w);
      differ |= (w ^ value_[i]) & mask_[i];
    }
    return differ == 0;
  }

 protected:
  static constexpr size_t kWords = Len / sizeof(uint64_t);
  void set(const uint8_t* value, const uint8_t* mask) {
    std::memcpy(value_.data(), value, Len);
    std::memcpy(mask_.data(), mask, Len);
  }

 private:
  std::array<uint64_t, kWords> value_{};
  std::array<uint64_t, kWords> mask_{};
};

class TunnelTemplate : public MaskedBytes<kTunnelTemplateLen> {
 public:
  // What `ctx`'s backend receives: unicast to the underlay MAC, IPv4
  // without options and not a fragment, UDP to the tunnel port; for VXLAN
  // the kernel's flags word, our VNI, and an inner IPv4 frame to our VTEP
  // MAC. host-gw receives no tunnel packets: its template matches nothing.
  explicit TunnelTemplate(const DatapathContext& ctx);
};

// The same for tunnel packets over IPv6 (flannel-v6's VXLAN, wireguard's
// flannel-wg-v6): unicast to the underlay MAC, IPv6 with UDP right after
// its fixed header, to our IPv6 address and the IPv6 tunnel port; for
// VXLAN the kernel's flags word, our VNI, an inner IPv6 frame to our IPv6
// VTEP MAC. Matches nothing while IPv6 is off or the backend has no IPv6
// tunnel.
class TunnelTemplate6 : public MaskedBytes<kTunnel6TemplateLen> {
 public:
  explicit TunnelTemplate6(const DatapathContext& ctx);
};

}  // namespace tartan
