#include "engine/observe/capture.h"

#include <rte_errno.h>

#include <atomic>

namespace tartan {

Result<std::unique_ptr<CaptureSession>> CaptureSession::create(const CaptureSettings& settings) {
  std::unique_ptr<CaptureSession> s(new CaptureSession(settings));
  if (!settings.filter.empty()) {
    auto filter = PacketFilter::compile(settings.filter, settings.snaplen);
    if (!filter) return filter.status();
    s->filter_ = std::move(filter).value();
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
}

uint64_t CaptureSession::missed() const {
  uint64_t n = 0;
  for (const Lane& l : lanes_) n += l.missed.get();
  return n;
}

}  // namespace tartan
