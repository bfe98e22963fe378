#include "engine/observe/packet_filter.h"

#include <pcap/pcap.h>
#include <rte_errno.h>
#include <rte_malloc.h>

namespace tartan {

Result<std::unique_ptr<PacketFilter>> PacketFilter::compile(const std::string& expression,
                                                            uint32_t snaplen) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, static_cast<int>(snaplen));
  if (dead == nullptr) return Status::internal("pcap_open_dead failed");
  bpf_program program{};
  if (pcap_compile(dead, &program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    Status s = Status::invalid("filter: " + std::string(pcap_geterr(dead)));
    pcap_close(dead);
    return s;
  }
  pcap_close(dead);
  rte_bpf_prm* prm = rte_bpf_convert(&program);
  pcap_freecode(&program);
  if (prm == nullptr)
    return Status::internal("filter: rte_bpf_convert: " + std::string(rte_strerror(rte_errno)));
  std::unique_ptr<PacketFilter> f(new PacketFilter());
  f->bpf_ = rte_bpf_load(prm);
  rte_free(prm);
  if (f->bpf_ == nullptr)
    return Status::internal("filter: rte_bpf_load: " + std::string(rte_strerror(rte_errno)));
  rte_bpf_jit jit{};
  if (rte_bpf_get_jit(f->bpf_, &jit) == 0) f->jit_ = jit.func;
  return f;
}

PacketFilter::~PacketFilter() {
  if (bpf_ != nullptr) rte_bpf_destroy(bpf_);
}

}  // namespace tartan
