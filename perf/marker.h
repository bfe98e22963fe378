// The test marker tartan-perf puts at the start of the innermost UDP/TCP
// payload of every frame, and how a receiver finds it again whether the
// frame arrives plain, VXLAN-encapsulated or in flannel's udp backend.
//
//   offset  size  field    (all big-endian)
//        0     4  magic    0x54505246, "TPRF"
//        4     4  flow id  0 .. flows-1
//        8     8  seq      per-flow sequence number, from 0
//       16     8  tsc      TSC of the sending core when the burst left
//       24     -  fill     byte at payload offset o is (o ^ 0xa5) & 0xff
//
// A payload shorter than 24 bytes carries the fields that fit whole: a
// 64-byte UDP frame (18 payload bytes) has magic, flow id and seq but no
// timestamp; fewer than 8 bytes carry no marker at all.
#pragma once

#include <cstdint>

namespace tartan::perf {

inline constexpr uint32_t kMarkerMagic = 0x54505246;
inline constexpr uint16_t kMarkerFlowOffset = 4;
inline constexpr uint16_t kMarkerSeqOffset = 8;
inline constexpr uint16_t kMarkerTscOffset = 16;
inline constexpr uint16_t kMarkerLen = 24;

inline constexpr uint16_t kVxlanPort = 8472;  // flannel's (and Linux's default) VXLAN port
inline constexpr uint16_t kIanaVxlanPort = 4789;
inline constexpr uint16_t kUdpBackendPort = 8285;  // flannel's udp backend, both ports

// How many marker bytes a payload of `payload_len` bytes carries: 0, 8, 16 or 24.
inline uint16_t marker_bytes(uint32_t payload_len) {
  if (payload_len >= kMarkerLen) return kMarkerLen;
  if (payload_len >= kMarkerTscOffset) return kMarkerTscOffset;
  if (payload_len >= kMarkerSeqOffset) return kMarkerSeqOffset;
  return 0;
}

inline uint8_t fill_byte(uint32_t payload_offset) {
  return static_cast<uint8_t>((payload_offset ^ 0xa5) & 0xff);
}

// An IPv4 or IPv6 packet and its TCP/UDP segment, as found in a frame.
struct L4View {
  const uint8_t* ip = nullptr;  // the IP header
  bool ipv6 = false;
  const uint8_t* l4 = nullptr;  // the TCP/UDP header
  uint16_t l4_len = 0;          // header and payload, from the IP total length
  uint16_t header_len = 0;      // 8 (UDP) or the TCP data offset
  uint8_t proto = 0;
  const uint8_t* payload() const { return l4 + header_len; }
  uint16_t payload_len() const { return static_cast<uint16_t>(l4_len - header_len); }
};

// Where the marker of a received frame is.
struct MarkerView {
  L4View inner;             // the segment that carries the marker
  L4View outer;             // the tunnel's UDP segment (ip == nullptr when plain)
  uint16_t marker_len = 0;  // marker_bytes(inner.payload_len())
  uint32_t flow = 0;        // valid when marker_len >= 8
  uint64_t seq = 0;         // valid when marker_len >= 16
  uint64_t tsc = 0;         // valid when marker_len == 24
};

// Finds the marker (IPv4 or IPv6, no extension headers): at the L4 payload
// of the frame itself, else (UDP to
// 8472/4789 with the VXLAN I flag, or UDP 8285 -> 8285) at the L4 payload of
// the encapsulated packet. False when there is none.
bool locate_marker(const uint8_t* frame, uint32_t len, MarkerView& view);

// Checks a located frame fully: IPv4 header checksums, TCP/UDP checksums
// (inner and outer; a zero UDP checksum counts as absent) and the fill
// bytes after the marker.
bool verify_frame(const MarkerView& view);

}  // namespace tartan::perf
