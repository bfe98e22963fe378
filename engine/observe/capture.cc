#include "engine/observe/capture.h"

#include <pcap/pcap.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <atomic>

namespace tartan {
namespace {

// libpcap's filter for Ethernet frames, as DPDK's eBPF (rte_bpf_convert: the
// program reads the mbuf through rte_pktmbuf_read, chained segments too).
Result<rte_bpf*> compile_filter(const std::string& expression, uint32_t snaplen) {
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
  rte_bpf* bpf = rte_bpf_load(prm);
  rte_free(prm);
  if (bpf == nullptr)
    return Status::internal("filter: rte_bpf_load: " + std::string(rte_strerror(rte_errno)));
  return bpf;
}

}  // namespace

Result<std::unique_ptr<CaptureSession>> CaptureSession::create(const CaptureSettings& settings) {
  std::unique_ptr<CaptureSession> s(new CaptureSession(settings));
  if (!settings.filter.empty()) {
    auto bpf = compile_filter(settings.filter, settings.snaplen);
    if (!bpf) return bpf.status();
    s->filter_ = *bpf;
    rte_bpf_jit jit{};
    if (rte_bpf_get_jit(s->filter_, &jit) == 0) s->jit_ = jit.func;
  }
  s->per_lane_rate_ = std::max<uint32_t>(1, settings.rate_pps / std::max(1u, settings.workers));
  const size_t slot_bytes = RTE_ALIGN_CEIL(sizeof(CaptureSlot) + settings.snaplen, 64);
  s->slots_.resize(slot_bytes * settings.slots_per_worker * settings.workers);
  // rte_ring names are global: each session's are its own.
  static std::atomic<unsigned> sessions{0};
  const unsigned id = sessions++;
  const unsigned ring_size = rte_align32pow2(settings.slots_per_worker + 1);
  for (unsigned w = 0; w < settings.workers; ++w) {
    Lane& l = s->lanes_[w];
    const std::string name = "cap" + std::to_string(id) + "_" + std::to_string(w);
    l.free = rte_ring_create((name + "f").c_str(), ring_size, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    l.full = rte_ring_create((name + "u").c_str(), ring_size, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (l.free == nullptr || l.full == nullptr)
      return Status::internal("capture ring: " + std::string(rte_strerror(rte_errno)));
    for (uint32_t i = 0; i < settings.slots_per_worker; ++i) {
      rte_ring_sp_enqueue(
          l.free, s->slots_.data() + (size_t{w} * settings.slots_per_worker + i) * slot_bytes);
    }
  }
  return s;
}

CaptureSession::~CaptureSession() {
  for (Lane& l : lanes_) {
    rte_ring_free(l.free);
    rte_ring_free(l.full);
  }
  if (filter_ != nullptr) rte_bpf_destroy(filter_);
}

uint64_t CaptureSession::missed() const {
  uint64_t n = 0;
  for (const Lane& l : lanes_) n += l.missed.get();
  return n;
}

}  // namespace tartan
