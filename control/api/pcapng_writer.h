// pcapng (draft-ietf-opsawg-pcapng) as tartanctl capture writes it: a
// section header, one interface description per port named as in the config,
// and enhanced packet blocks with the direction flag and, for drops, a
// comment naming the reason. Written here rather than with DPDK 22.11's
// rte_pcapng: that one names interfaces after the ethdev (net_null0, not
// "underlay") and puts no comment on a packet (both came in DPDK 23.11).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tartan {

// The section header and the interfaces, interface i being names[i].
std::string pcapng_header(const std::vector<std::string>& names, uint32_t snaplen);

enum class PcapngDirection : uint8_t { kUnknown = 0, kInbound = 1, kOutbound = 2 };

// One packet on interface `interface`, at `time_ns` (Unix, nanoseconds);
// `comment` empty for none.
void append_pcapng_packet(std::string& out, uint32_t interface, uint64_t time_ns,
                          const uint8_t* data, uint32_t cap_len, uint32_t orig_len,
                          PcapngDirection direction, const std::string& comment);

}  // namespace tartan
