#include "engine/path/vnet_tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "engine/backends/headers.h"
#include "engine/checksum.h"
#include "engine/eal.h"
#include "engine/log.h"

namespace tartan {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// ioctl on an AF_INET socket for what a tap fd cannot set (MTU, flags).
Status interface_ioctl(unsigned long request, ifreq& ifr, const char* what) {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Status::internal(std::string("socket: ") + errno_text());
  const int rc = ioctl(s, request, &ifr);
  const int saved = errno;
  ::close(s);
  if (rc < 0) {
    return Status::internal(std::string(what) + " on '" + ifr.ifr_name +
                            "': " + std::strerror(saved));
  }
  return {};
}

}  // namespace

bool is_vnet_tap_device(const std::string& device) {
  return device.rfind(kVnetTapPrefix, 0) == 0;
}

Result<std::unique_ptr<VnetTap>> VnetTap::open(const PortConfig& config, uint16_t tx_queues,
                                               rte_mempool* pool) {
  std::unique_ptr<VnetTap> tap(new VnetTap());
  tap->iface_ = device_iface(config.device);
  if (tap->iface_.empty() || tap->iface_.size() >= IFNAMSIZ) {
    return Status::invalid("port '" + config.name + "': device '" + config.device +
                           "' needs iface=NAME (at most 15 characters), the tap to open");
  }
  tap->pool_ = pool;
  tap->mtu_ = config.mtu;
  if (config.mac) tap->mac_ = *config.mac;
  if (Status s = tap->open_fd(); !s.ok())
    return Status(s.code(), "port '" + config.name + "': " + s.message());

  // Ring names are process-wide; the port's name is unique among ports.
  static std::atomic<unsigned> taps{0};
  const std::string id = std::to_string(taps++);
  tap->rx_ring_ = rte_ring_create(("vtap_rx_" + id).c_str(), 1024,
                                  static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
  for (uint16_t q = 0; q < tx_queues && tap->rx_ring_ != nullptr; ++q) {
    rte_ring* r = rte_ring_create(("vtap_tx_" + id + "_" + std::to_string(q)).c_str(), 1024,
                                  static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr) break;
    tap->tx_rings_.push_back(r);
  }
  if (tap->rx_ring_ == nullptr || tap->tx_rings_.size() != tx_queues) {
    return Status(
        ErrorCode::kResourceExhausted,
        "port '" + config.name + "': cannot create its rings: " + rte_strerror(rte_errno));
  }
  const std::string dev = device_port_name(config.device);
  const int port = rte_eth_from_rings(dev.c_str(), &tap->rx_ring_, 1, tap->tx_rings_.data(),
                                      tx_queues, rte_socket_id());
  if (port < 0) {
    return Status::internal("port '" + config.name + "': cannot create ethdev '" + dev +
                            "': " + rte_strerror(rte_errno));
  }
  tap->port_id_ = static_cast<uint16_t>(port);
  char name[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(tap->port_id_, name) == 0) tap->ethdev_name_ = name;
  if (!tap->refill_spares()) {
    return Status(ErrorCode::kResourceExhausted,
                  "port '" + config.name + "': no mbufs to read GSO packets into");
  }
  TARTAN_LOG(INFO, kEngine,
             "port '%s': tap '%s' with virtio-net headers (checksum and TSO4 offloads, GSO "
             "packets of up to 64 KB each way), mac %s, mtu %u",
             config.name.c_str(), tap->iface_.c_str(), tap->mac_.str().c_str(), tap->mtu_);
  return tap;
}

VnetTap::~VnetTap() {
  // Releases the ethdev (closing it if Port never did) and its name, so a
  // port of the same name can come again.
  if (!ethdev_name_.empty()) rte_vdev_uninit(ethdev_name_.c_str());
  for (unsigned i = 0; i < num_spares_; ++i) rte_pktmbuf_free(spares_[i]);
  // What the workers left in the rings (none once they stopped draining).
  rte_mbuf* m = nullptr;
  for (rte_ring* r : tx_rings_) {
    while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(r);
  }
  if (rx_ring_ != nullptr) {
    while (rte_ring_dequeue(rx_ring_, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(rx_ring_);
  }
  if (fd_ >= 0) ::close(fd_);
}

Status VnetTap::open_fd() {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Status::internal("/dev/net/tun: " + errno_text());
  auto fail = [fd](const std::string& what) {
    const std::string text = what + ": " + errno_text();
    ::close(fd);
    return Status::internal(text);
  };
  ifreq ifr{};
  // Multi-queue, as net_tap creates its taps, so either attaches to a
  // persistent tap the other left; a single-queue tap someone made
  // refuses that flag (EINVAL), and is taken as it is.
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
  std::strncpy(ifr.ifr_name, iface_.c_str(), IFNAMSIZ - 1);
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (rc < 0 && errno == EINVAL) {
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    rc = ioctl(fd, TUNSETIFF, &ifr);
  }
  if (rc < 0) return fail("TUNSETIFF '" + iface_ + "'");
  int hdr_size = sizeof(VirtioNetHdr);
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0) return fail("TUNSETVNETHDRSZ");
  // TCP over IPv4 only: IPv6 and UDP GSO the kernel segments before us.
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0) return fail("TUNSETOFFLOAD");
  if (mac_.is_zero()) {
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) return fail("SIOCGIFHWADDR");
    std::memcpy(mac_.bytes.data(), ifr.ifr_hwaddr.sa_data, 6);
  } else {
    ifr.ifr_hwaddr.sa_family = 1;  // ARPHRD_ETHER
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac_.bytes.data(), 6);
    if (ioctl(fd, SIOCSIFHWADDR, &ifr) < 0) return fail("SIOCSIFHWADDR " + mac_.str());
  }
  if (mtu_ != 0) {
    ifreq m{};
    std::strncpy(m.ifr_name, iface_.c_str(), IFNAMSIZ - 1);
    m.ifr_mtu = mtu_;
    if (Status s = interface_ioctl(SIOCSIFMTU, m, "SIOCSIFMTU"); !s.ok()) {
      ::close(fd);
      return s;
    }
  }
  ifreq up{};
  std::strncpy(up.ifr_name, iface_.c_str(), IFNAMSIZ - 1);
  Status s = interface_ioctl(SIOCGIFFLAGS, up, "SIOCGIFFLAGS");
  if (s.ok()) {
    up.ifr_flags = static_cast<short>(up.ifr_flags | IFF_UP);
    s = interface_ioctl(SIOCSIFFLAGS, up, "SIOCSIFFLAGS");
  }
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return {};
}

Status VnetTap::reopen() {
  return open_fd();
}

bool VnetTap::refill_spares() {
  while (num_spares_ < kChain) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return num_spares_ > 0;
    // Only the head keeps headroom (for the outer headers); the rest of a
    // chain is payload.
    if (num_spares_ > 0) m->data_off = 0;
    spares_[num_spares_++] = m;
  }
  return true;
}

// One frame from the tap into a chain of the spare mbufs; nullptr when the
// tap had nothing (`empty`) or the frame was refused (counted).
rte_mbuf* VnetTap::read_one(bool& empty) {
  VirtioNetHdr vh{};
  std::array<iovec, kChain + 1> iov;
  iov[0] = {&vh, sizeof(vh)};
  for (unsigned i = 0; i < num_spares_; ++i) {
    rte_mbuf* s = spares_[i];
    iov[i + 1] = {rte_pktmbuf_mtod(s, void*), static_cast<size_t>(s->buf_len - s->data_off)};
  }
  const ssize_t got = readv(fd_, iov.data(), static_cast<int>(num_spares_ + 1));
  if (got < 0) {
    empty = true;  // EAGAIN, or the interface is gone (the watchdog reopens it)
    return nullptr;
  }
  size_t left = static_cast<size_t>(got) > sizeof(vh) ? got - sizeof(vh) : 0;
  if (left < kEthLen) {
    rx_errors_.add(1);
    return nullptr;
  }
  rte_mbuf* head = spares_[0];
  const uint32_t frame = static_cast<uint32_t>(left);
  unsigned used = 0;
  rte_mbuf* prev = nullptr;
  while (left > 0) {
    rte_mbuf* s = spares_[used++];
    const auto len = static_cast<uint16_t>(std::min<size_t>(left, s->buf_len - s->data_off));
    s->data_len = len;
    left -= len;
    if (prev != nullptr) prev->next = s;
    prev = s;
  }
  head->pkt_len = frame;
  head->nb_segs = static_cast<uint16_t>(used);
  // The spares left move to the front; the used ones are replaced.
  std::memmove(spares_.data(), spares_.data() + used, (num_spares_ - used) * sizeof(rte_mbuf*));
  num_spares_ -= used;
  if (num_spares_ > 0) spares_[0]->data_off = RTE_PKTMBUF_HEADROOM;
  refill_spares();

  head->ol_flags = 0;
  const bool gso = vh.gso_type != kVirtioGsoNone;
  const bool partial = (vh.flags & kVirtioNeedsCsum) != 0;
  if ((gso && vh.gso_type != kVirtioGsoTcpv4) || (gso && !partial) ||
      (partial && static_cast<uint32_t>(vh.csum_start) + vh.csum_offset + 2 > head->data_len)) {
    // Nothing we offered (TUNSETOFFLOAD) or a checksum outside the headers.
    rx_errors_.add(1);
    rte_pktmbuf_free(head);
    return nullptr;
  }
  if (gso) {
    head->ol_flags = RTE_MBUF_F_RX_LRO;
    head->tso_segsz = vh.gso_size;
  } else if (partial) {
    // The field holds the pseudo header's sum: add the rest.
    auto* field = rte_pktmbuf_mtod_offset(head, uint16_t*, vh.csum_start + vh.csum_offset);
    uint16_t sum = 0;
    raw_checksum_mbuf(head, vh.csum_start, head->pkt_len - vh.csum_start, &sum);
    const uint16_t c = static_cast<uint16_t>(~sum);
    *field = c == 0 && vh.csum_offset == offsetof(rte_udp_hdr, dgram_cksum) ? 0xffff : c;
  }
  return head;
}

void VnetTap::receive(uint16_t burst) {
  // After the pool ran dry, the chain fills up again here.
  if (num_spares_ < kChain) refill_spares();
  std::array<rte_mbuf*, 64> pkts;
  const unsigned room = std::min<unsigned>({unsigned{burst}, 64u, rte_ring_free_count(rx_ring_)});
  unsigned n = 0;
  bool empty = false;
  while (n < room && !empty && num_spares_ > 0) {
    if (rte_mbuf* m = read_one(empty)) pkts[n++] = m;
  }
  if (n != 0)
    rte_ring_sp_enqueue_burst(rx_ring_, reinterpret_cast<void**>(pkts.data()), n, nullptr);
}

void VnetTap::write_one(rte_mbuf* m) {
  VirtioNetHdr vh{};
  if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
    vh.flags = kVirtioNeedsCsum;
    vh.gso_type = kVirtioGsoTcpv4;
    vh.hdr_len = static_cast<uint16_t>(m->l2_len + m->l3_len + m->l4_len);
    vh.gso_size = m->tso_segsz;
    vh.csum_start = static_cast<uint16_t>(m->l2_len + m->l3_len);
    vh.csum_offset = offsetof(rte_tcp_hdr, cksum);
  }
  std::array<iovec, 128> iov;
  iov[0] = {&vh, sizeof(vh)};
  unsigned n = 1;
  for (rte_mbuf* s = m; s != nullptr; s = s->next) {
    if (n == iov.size()) {
      tx_errors_.add(1);
      rte_pktmbuf_free(m);
      return;
    }
    iov[n++] = {rte_pktmbuf_mtod(s, void*), rte_pktmbuf_data_len(s)};
  }
  if (writev(fd_, iov.data(), static_cast<int>(n)) < 0) tx_errors_.add(1);
  rte_pktmbuf_free(m);
}

void VnetTap::transmit() {
  std::array<rte_mbuf*, 64> pkts;
  for (rte_ring* r : tx_rings_) {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts.data()), pkts.size(),
                                          nullptr)) != 0) {
      for (unsigned i = 0; i < n; ++i) write_one(pkts[i]);
    }
  }
}

}  // namespace tartan
