// A tcpdump filter expression run by the workers on mbufs: libpcap compiles
// it for Ethernet frames, DPDK converts it to eBPF (rte_bpf_convert) and
// JIT-compiles it where it can. Shared by capture and trace, so both take
// the same syntax and refuse the same expressions with libpcap's message.
#pragma once

#include <rte_bpf.h>
#include <rte_mbuf.h>

#include <memory>
#include <string>

#include "engine/status.h"

namespace tartan {

class PacketFilter {
 public:
  // `expression` must not be empty; libpcap's error (INVALID_ARGUMENT,
  // "filter: ...") when it does not compile.
  static Result<std::unique_ptr<PacketFilter>> compile(const std::string& expression,
                                                       uint32_t snaplen = 65535);
  ~PacketFilter();
  PacketFilter(const PacketFilter&) = delete;
  PacketFilter& operator=(const PacketFilter&) = delete;

  // The JIT-compiled code where DPDK has a JIT (x86-64), else its
  // interpreter. The program reads through rte_pktmbuf_read: chained
  // segments too.
  bool matches(rte_mbuf* m) const {
    return (jit_ != nullptr ? jit_(m) : rte_bpf_exec(bpf_, m)) != 0;
  }

 private:
  PacketFilter() = default;
  rte_bpf* bpf_ = nullptr;
  uint64_t (*jit_)(void*) = nullptr;
};

}  // namespace tartan
