// The "net_flowtest" vdev (flow_test_pmd.h): an ethdev whose queues are
// rings, and an rte_flow implementation that classifies injected frames.
#include "tests/support/flow_test_pmd.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_flow_driver.h>  // with dpdk_driver_abi/ethdev_driver.h
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>

// The handle rte_flow hands back: the device's own rule.
struct rte_flow {
  rte_flow_attr attr{};
  std::optional<rte_flow_item_eth> eth_spec, eth_mask;
  std::optional<rte_flow_item_ipv4> ip_spec, ip_mask;
  std::optional<rte_flow_item_ipv6> ip6_spec, ip6_mask;
  std::optional<rte_flow_item_udp> udp_spec, udp_mask;
  std::optional<rte_flow_item_vxlan> vxlan_spec, vxlan_mask;
  bool has_ipv4 = false, has_ipv6 = false, has_udp = false, has_vxlan = false;
  bool count = false, decap = false;
  std::optional<uint32_t> mark;
  enum class Fate { kNone, kDrop, kQueue, kRss } fate = Fate::kNone;
  std::vector<uint16_t> queues;
  uint32_t rss_level = 0;
  uint64_t seq = 0;  // creation order: ties in priority go to the older
  uint64_t hits = 0, bytes = 0;
};

namespace tartan::testing {

struct FlowTestPort::Device {
  explicit Device(const FlowTestCaps& c) : caps(c) {}
  ~Device() {
    for (rte_ring* r : rx) free_ring(r);
    for (rte_ring* r : tx) free_ring(r);
  }
  static void free_ring(rte_ring* r) {
    void* obj;
    while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    rte_ring_free(r);
  }

  mutable std::mutex mu;
  FlowTestCaps caps;
  std::string name;
  uint16_t port_id = 0;
  std::vector<rte_ring*> rx, tx;  // by queue id
  uint16_t nb_rx = 0;
  bool rss = false;  // the port was configured with RSS
  std::list<std::unique_ptr<rte_flow>> rules;
  uint64_t next_seq = 0;
  std::vector<uint64_t> rx_frames;
  uint64_t imissed = 0, opackets = 0, dropped = 0;
  RuleHook hook;
};

namespace {

using Device = FlowTestPort::Device;
using RuleHook = FlowTestPort::RuleHook;

constexpr uint16_t kMaxQueues = 16;

// Caps for devices about to be probed, by name (rte_vdev_init cannot carry
// C++ objects), and the devices' owners.
std::mutex g_registry_mu;
std::map<std::string, std::shared_ptr<Device>> g_registry;

Device& device(rte_eth_dev* dev) {
  return **static_cast<std::shared_ptr<Device>*>(dev->data->dev_private);
}

// ---- rte_flow ----------------------------------------------------------

int refuse(rte_flow_error* error, int code, const void* cause, const char* why) {
  return rte_flow_error_set(error, code, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, cause, why);
}

template <class T>
void copy_item(const rte_flow_item& item, std::optional<T>& spec, std::optional<T>& mask,
               const T& default_mask) {
  if (item.spec == nullptr) return;  // any header of the type
  spec = *static_cast<const T*>(item.spec);
  mask = item.mask != nullptr ? *static_cast<const T*>(item.mask) : default_mask;
}

// The rule the device would hold for these arguments, or a negative errno
// (with `error` set) when this device cannot do it.
int parse(const Device& d, const rte_flow_attr* attr, const rte_flow_item pattern[],
          const rte_flow_action actions[], rte_flow_error* error, rte_flow& out) {
  const FlowTestCaps& caps = d.caps;
  if (attr == nullptr || !attr->ingress || attr->egress || attr->transfer || attr->group != 0)
    return refuse(error, ENOTSUP, attr, "net_flowtest: ingress rules of group 0 only");
  if (attr->priority > 7) return refuse(error, ENOTSUP, attr, "net_flowtest: priorities 0-7");
  out.attr = *attr;
  rte_flow_item_eth eth_default{};
  std::memset(&eth_default.hdr.dst_addr, 0xff, 12);
  rte_flow_item_ipv4 ip_default{};
  ip_default.hdr.src_addr = ip_default.hdr.dst_addr = 0xffffffff;
  rte_flow_item_ipv6 ip6_default{};
  std::memset(ip6_default.hdr.src_addr, 0xff, 16);
  std::memset(ip6_default.hdr.dst_addr, 0xff, 16);
  rte_flow_item_udp udp_default{};
  udp_default.hdr.src_port = udp_default.hdr.dst_port = 0xffff;
  rte_flow_item_vxlan vxlan_default{};
  vxlan_default.hdr.vx_vni = rte_cpu_to_be_32(0xffffff00);
  int layer = 0;  // headers must stack: eth, ipv4 or ipv6, udp, vxlan
  for (const rte_flow_item* item = pattern; item->type != RTE_FLOW_ITEM_TYPE_END; ++item) {
    switch (item->type) {
      case RTE_FLOW_ITEM_TYPE_VOID:
        continue;
      case RTE_FLOW_ITEM_TYPE_ETH:
        if (layer != 0) return refuse(error, EINVAL, item, "net_flowtest: eth out of place");
        copy_item(*item, out.eth_spec, out.eth_mask, eth_default);
        layer = 1;
        break;
      case RTE_FLOW_ITEM_TYPE_IPV4:
        if (layer > 1) return refuse(error, EINVAL, item, "net_flowtest: ipv4 out of place");
        copy_item(*item, out.ip_spec, out.ip_mask, ip_default);
        if (out.ip_mask && out.ip_mask->hdr.src_addr != 0 && !caps.match_ipv4_src)
          return refuse(error, ENOTSUP, item, "net_flowtest: cannot match the IPv4 source");
        out.has_ipv4 = true;
        layer = 2;
        break;
      case RTE_FLOW_ITEM_TYPE_IPV6:
        if (!caps.ipv6_item) return refuse(error, ENOTSUP, item, "net_flowtest: no ipv6 item");
        if (layer > 1) return refuse(error, EINVAL, item, "net_flowtest: ipv6 out of place");
        copy_item(*item, out.ip6_spec, out.ip6_mask, ip6_default);
        out.has_ipv6 = true;
        layer = 2;
        break;
      case RTE_FLOW_ITEM_TYPE_UDP:
        if (layer != 2) return refuse(error, EINVAL, item, "net_flowtest: udp needs an ip item");
        copy_item(*item, out.udp_spec, out.udp_mask, udp_default);
        out.has_udp = true;
        layer = 3;
        break;
      case RTE_FLOW_ITEM_TYPE_VXLAN:
        if (!caps.vxlan_item) return refuse(error, ENOTSUP, item, "net_flowtest: no vxlan item");
        if (layer != 3) return refuse(error, EINVAL, item, "net_flowtest: vxlan needs udp");
        copy_item(*item, out.vxlan_spec, out.vxlan_mask, vxlan_default);
        out.has_vxlan = true;
        layer = 4;
        break;
      default:
        return refuse(error, ENOTSUP, item, "net_flowtest: item not supported");
    }
  }
  for (const rte_flow_action* a = actions; a->type != RTE_FLOW_ACTION_TYPE_END; ++a) {
    const bool fate_set = out.fate != rte_flow::Fate::kNone;
    switch (a->type) {
      case RTE_FLOW_ACTION_TYPE_VOID:
        break;
      case RTE_FLOW_ACTION_TYPE_COUNT:
        if (!caps.count) return refuse(error, ENOTSUP, a, "net_flowtest: no counters");
        out.count = true;
        break;
      case RTE_FLOW_ACTION_TYPE_MARK:
        if (!caps.mark) return refuse(error, ENOTSUP, a, "net_flowtest: no mark");
        out.mark = static_cast<const rte_flow_action_mark*>(a->conf)->id;
        break;
      case RTE_FLOW_ACTION_TYPE_VXLAN_DECAP:
        if (!caps.vxlan_decap) return refuse(error, ENOTSUP, a, "net_flowtest: no vxlan_decap");
        if (!out.has_vxlan)
          return refuse(error, EINVAL, a, "net_flowtest: vxlan_decap needs a vxlan item");
        out.decap = true;
        break;
      case RTE_FLOW_ACTION_TYPE_DROP:
        if (!caps.drop) return refuse(error, ENOTSUP, a, "net_flowtest: no drop");
        if (fate_set) return refuse(error, EINVAL, a, "net_flowtest: two fate actions");
        out.fate = rte_flow::Fate::kDrop;
        break;
      case RTE_FLOW_ACTION_TYPE_QUEUE: {
        if (!caps.queue) return refuse(error, ENOTSUP, a, "net_flowtest: no queue action");
        if (fate_set) return refuse(error, EINVAL, a, "net_flowtest: two fate actions");
        const uint16_t q = static_cast<const rte_flow_action_queue*>(a->conf)->index;
        if (q >= d.nb_rx) return refuse(error, EINVAL, a, "net_flowtest: no such queue");
        out.fate = rte_flow::Fate::kQueue;
        out.queues = {q};
        break;
      }
      case RTE_FLOW_ACTION_TYPE_RSS: {
        if (!caps.rss) return refuse(error, ENOTSUP, a, "net_flowtest: no rss action");
        if (fate_set) return refuse(error, EINVAL, a, "net_flowtest: two fate actions");
        const auto* rss = static_cast<const rte_flow_action_rss*>(a->conf);
        if (rss->level >= 2 && !caps.rss_inner)
          return refuse(error, ENOTSUP, a, "net_flowtest: no inner RSS (level 2)");
        if (rss->level >= 2 && !out.has_vxlan)
          return refuse(error, EINVAL, a, "net_flowtest: inner RSS needs a vxlan item");
        if (rss->queue_num == 0) return refuse(error, EINVAL, a, "net_flowtest: no queues");
        out.queues.assign(rss->queue, rss->queue + rss->queue_num);
        for (uint16_t q : out.queues) {
          if (q >= d.nb_rx) return refuse(error, EINVAL, a, "net_flowtest: no such queue");
        }
        out.fate = rte_flow::Fate::kRss;
        out.rss_level = rss->level;
        break;
      }
      default:
        return refuse(error, ENOTSUP, a, "net_flowtest: action not supported");
    }
  }
  if (out.fate == rte_flow::Fate::kNone)
    return refuse(error, EINVAL, actions, "net_flowtest: no fate action");
  return 0;
}

FlowTestRule view(const rte_flow& f) {
  FlowTestRule r;
  r.priority = f.attr.priority;
  if (f.ip_mask && f.ip_mask->hdr.src_addr != 0)
    r.src_ip = Ipv4Addr::from_be(f.ip_spec->hdr.src_addr);
  if (f.ip6_mask && f.ip6_mask->hdr.src_addr[0] != 0) {
    r.src_ip6.emplace();
    std::memcpy(r.src_ip6->bytes.data(), f.ip6_spec->hdr.src_addr, 16);
  }
  std::string& s = r.actions;
  if (f.count) s += "count ";
  if (f.mark) s += "mark(" + std::to_string(*f.mark) + ") ";
  if (f.decap) s += "vxlan_decap ";
  switch (f.fate) {
    case rte_flow::Fate::kDrop:
      s += "drop";
      break;
    case rte_flow::Fate::kQueue:
      s += "queue(" + std::to_string(f.queues[0]) + ")";
      break;
    case rte_flow::Fate::kRss:
      s += "rss(level " + std::to_string(f.rss_level) + ")";
      break;
    case rte_flow::Fate::kNone:
      break;
  }
  r.hits = f.hits;
  return r;
}

int flow_validate(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item pattern[],
                  const rte_flow_action actions[], rte_flow_error* error) {
  Device& d = device(dev);
  std::lock_guard lock(d.mu);
  rte_flow rule;
  return parse(d, attr, pattern, actions, error, rule);
}

rte_flow* flow_create(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item pattern[],
                      const rte_flow_action actions[], rte_flow_error* error) {
  Device& d = device(dev);
  auto rule = std::make_unique<rte_flow>();
  RuleHook hook;
  rte_flow* created = nullptr;
  {
    std::lock_guard lock(d.mu);
    if (parse(d, attr, pattern, actions, error, *rule) != 0) return nullptr;
    if (d.rules.size() >= d.caps.max_rules) {
      refuse(error, ENOSPC, nullptr, "net_flowtest: flow table full");
      return nullptr;
    }
    rule->seq = d.next_seq++;
    created = rule.get();
    d.rules.push_back(std::move(rule));
    hook = d.hook;
  }
  if (hook) hook(true, view(*created));
  return created;
}

int flow_destroy(rte_eth_dev* dev, rte_flow* flow, rte_flow_error* error) {
  Device& d = device(dev);
  FlowTestRule gone;
  RuleHook hook;
  {
    std::lock_guard lock(d.mu);
    auto it = std::find_if(d.rules.begin(), d.rules.end(),
                           [flow](const auto& r) { return r.get() == flow; });
    if (it == d.rules.end()) return refuse(error, ENOENT, flow, "net_flowtest: no such rule");
    gone = view(**it);
    d.rules.erase(it);
    hook = d.hook;
  }
  if (hook) hook(false, gone);
  return 0;
}

int flow_flush(rte_eth_dev* dev, rte_flow_error*) {
  Device& d = device(dev);
  std::lock_guard lock(d.mu);
  d.rules.clear();
  return 0;
}

int flow_query(rte_eth_dev* dev, rte_flow* flow, const rte_flow_action* action, void* data,
               rte_flow_error* error) {
  Device& d = device(dev);
  std::lock_guard lock(d.mu);
  if (action->type != RTE_FLOW_ACTION_TYPE_COUNT || !flow->count)
    return refuse(error, ENOTSUP, action, "net_flowtest: only COUNT can be queried");
  auto* q = static_cast<rte_flow_query_count*>(data);
  q->hits_set = 1;
  q->bytes_set = 1;
  q->hits = flow->hits;
  q->bytes = flow->bytes;
  if (q->reset) flow->hits = flow->bytes = 0;
  return 0;
}

const rte_flow_ops& flow_ops() {
  static const rte_flow_ops ops = [] {
    rte_flow_ops o{};
    o.validate = flow_validate;
    o.create = flow_create;
    o.destroy = flow_destroy;
    o.flush = flow_flush;
    o.query = flow_query;
    return o;
  }();
  return ops;
}

// ---- the wire: classifying a frame -------------------------------------

// Header offsets of a frame, as far as it parses: IPv4, or IPv6 whose
// next header is the L4 one (this device parses no extension headers).
struct Parsed {
  const uint8_t* p = nullptr;
  uint32_t len = 0;
  int ip = -1, l4 = -1, vxlan = -1;
  bool v6 = false;
  uint8_t proto = 0;
};

Parsed parse_frame(const rte_mbuf* m) {
  Parsed f;
  f.p = rte_pktmbuf_mtod(m, const uint8_t*);
  f.len = rte_pktmbuf_data_len(m);
  if (f.len < 14) return f;
  const auto* eth = reinterpret_cast<const rte_ether_hdr*>(f.p);
  int l4 = -1;
  if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) && f.len >= 54) {
    f.ip = 14;
    f.v6 = true;
    f.proto = reinterpret_cast<const rte_ipv6_hdr*>(f.p + 14)->proto;
    l4 = 54;
  } else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && f.len >= 34) {
    f.ip = 14;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.p + 14);
    f.proto = ip->next_proto_id;
    // Only a first (or the only) fragment has an L4 header.
    if ((rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0) return f;
    l4 = 14 + (ip->version_ihl & 0xf) * 4;
  } else {
    return f;
  }
  if (f.proto != IPPROTO_UDP && f.proto != IPPROTO_TCP) return f;
  if (f.len < static_cast<uint32_t>(l4 + 8)) return f;
  f.l4 = l4;
  if (f.proto == IPPROTO_UDP && f.len >= static_cast<uint32_t>(f.l4 + 16)) f.vxlan = f.l4 + 8;
  return f;
}

template <class T>
bool masked_equal(const std::optional<T>& spec, const std::optional<T>& mask, const T& seen) {
  if (!spec) return true;
  const auto* s = reinterpret_cast<const uint8_t*>(&*spec);
  const auto* m = reinterpret_cast<const uint8_t*>(&*mask);
  const auto* v = reinterpret_cast<const uint8_t*>(&seen);
  for (size_t i = 0; i < sizeof(T); ++i) {
    if ((s[i] & m[i]) != (v[i] & m[i])) return false;
  }
  return true;
}

bool matches(const rte_flow& r, const Parsed& f) {
  if (f.len < 14) return false;
  rte_flow_item_eth eth{};
  std::memcpy(&eth.hdr, f.p, 14);
  if (!masked_equal(r.eth_spec, r.eth_mask, eth)) return false;
  if (!r.has_ipv4 && !r.has_ipv6) return true;
  if (f.ip < 0 || f.v6 != r.has_ipv6) return false;
  if (f.v6) {
    rte_flow_item_ipv6 ip{};
    std::memcpy(&ip.hdr, f.p + f.ip, sizeof ip.hdr);
    if (!masked_equal(r.ip6_spec, r.ip6_mask, ip)) return false;
  } else {
    rte_flow_item_ipv4 ip{};
    std::memcpy(&ip.hdr, f.p + f.ip, sizeof ip.hdr);
    if (!masked_equal(r.ip_spec, r.ip_mask, ip)) return false;
  }
  if (!r.has_udp) return true;
  if (f.l4 < 0 || f.proto != IPPROTO_UDP) return false;
  rte_flow_item_udp udp{};
  std::memcpy(&udp.hdr, f.p + f.l4, sizeof udp.hdr);
  if (!masked_equal(r.udp_spec, r.udp_mask, udp)) return false;
  if (!r.has_vxlan) return true;
  if (f.vxlan < 0) return false;
  rte_flow_item_vxlan vx{};
  std::memcpy(&vx.hdr, f.p + f.vxlan, sizeof vx.hdr);
  return masked_equal(r.vxlan_spec, r.vxlan_mask, vx);
}

// A flow hash of the IPv4 or IPv6 5-tuple starting at `ip` (what RSS would
// use).
uint32_t flow_hash(const uint8_t* p, uint32_t len, int ip) {
  if (ip < 0 || len < static_cast<uint32_t>(ip + 20)) return 0;
  uint32_t hash = 0;
  int l4 = -1;
  uint8_t proto = 0;
  if ((p[ip] >> 4) == 6) {
    if (len < static_cast<uint32_t>(ip + 40)) return 0;
    const auto* h = reinterpret_cast<const rte_ipv6_hdr*>(p + ip);
    for (int i = 0; i < 32; i += 4) {  // the source and destination addresses
      uint32_t word;
      std::memcpy(&word, p + ip + offsetof(rte_ipv6_hdr, src_addr) + i, 4);
      hash = rte_hash_crc_4byte(word, hash);
    }
    proto = h->proto;
    l4 = ip + 40;
  } else {
    const auto* h = reinterpret_cast<const rte_ipv4_hdr*>(p + ip);
    hash = rte_hash_crc_4byte(h->src_addr, 0);
    hash = rte_hash_crc_4byte(h->dst_addr, hash);
    proto = h->next_proto_id;
    l4 = ip + (h->version_ihl & 0xf) * 4;
  }
  if ((proto == IPPROTO_UDP || proto == IPPROTO_TCP) && len >= static_cast<uint32_t>(l4 + 4)) {
    uint32_t ports;
    std::memcpy(&ports, p + l4, 4);
    hash = rte_hash_crc_4byte(ports, hash);
  }
  return hash;
}

uint16_t rss_queue(const std::vector<uint16_t>& queues, const rte_mbuf* m, uint32_t level,
                   bool decapped) {
  const Parsed f = parse_frame(m);
  int ip = f.ip;
  // Level 2: the headers inside VXLAN (after decap, those are the frame's).
  if (level >= 2 && !decapped) ip = f.vxlan >= 0 ? f.vxlan + 8 + 14 : -1;
  return queues[flow_hash(f.p, f.len, ip) % queues.size()];
}

// Under d.mu. Returns false when the frame was consumed (dropped).
bool classify(Device& d, rte_mbuf* m, uint16_t& queue) {
  const Parsed f = parse_frame(m);
  rte_flow* best = nullptr;
  for (const auto& r : d.rules) {
    if (!matches(*r, f)) continue;
    if (best == nullptr || r->attr.priority < best->attr.priority) best = r.get();
  }
  if (best == nullptr) {
    std::vector<uint16_t> all(d.nb_rx);
    for (uint16_t q = 0; q < d.nb_rx; ++q) all[q] = q;
    queue = d.rss ? rss_queue(all, m, 1, false) : 0;
    return true;
  }
  if (best->count) {
    ++best->hits;
    best->bytes += rte_pktmbuf_pkt_len(m);
  }
  if (best->mark) {
    m->hash.fdir.hi = *best->mark;
    m->ol_flags |= RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID;
  }
  if (best->decap) rte_pktmbuf_adj(m, static_cast<uint16_t>(f.vxlan + 8));
  switch (best->fate) {
    case rte_flow::Fate::kDrop:
      ++d.dropped;
      rte_pktmbuf_free(m);
      return false;
    case rte_flow::Fate::kQueue:
      queue = best->queues[0];
      return true;
    default:
      queue = rss_queue(best->queues, m, best->rss_level, best->decap);
      return true;
  }
}

// ---- the ethdev --------------------------------------------------------

uint16_t rx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
  return static_cast<uint16_t>(rte_ring_dequeue_burst(static_cast<rte_ring*>(queue),
                                                      reinterpret_cast<void**>(pkts), n, nullptr));
}

uint16_t tx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
  return static_cast<uint16_t>(rte_ring_enqueue_burst(
      static_cast<rte_ring*>(queue), reinterpret_cast<void* const*>(pkts), n, nullptr));
}

rte_ring* queue_ring(Device& d, std::vector<rte_ring*>& rings, const char* dir, uint16_t q) {
  if (rings.size() <= q) rings.resize(q + 1, nullptr);
  if (rings[q] == nullptr) {
    const std::string name = "ft" + std::to_string(d.port_id) + dir + std::to_string(q);
    rings[q] = rte_ring_create(name.c_str(), d.caps.ring_size, SOCKET_ID_ANY, 0);
  }
  return rings[q];
}

int dev_configure(rte_eth_dev* dev) {
  Device& d = device(dev);
  std::lock_guard lock(d.mu);
  d.nb_rx = dev->data->nb_rx_queues;
  d.rss = (dev->data->dev_conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) != 0;
  d.rx_frames.assign(d.nb_rx, 0);
  return 0;
}

int dev_start(rte_eth_dev* dev) {
  dev->data->dev_link.link_status = RTE_ETH_LINK_UP;
  for (uint16_t q = 0; q < dev->data->nb_rx_queues; ++q)
    dev->data->rx_queue_state[q] = RTE_ETH_QUEUE_STATE_STARTED;
  for (uint16_t q = 0; q < dev->data->nb_tx_queues; ++q)
    dev->data->tx_queue_state[q] = RTE_ETH_QUEUE_STATE_STARTED;
  return 0;
}

int dev_stop(rte_eth_dev* dev) {
  dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
  return 0;
}

int dev_close(rte_eth_dev* dev) {
  // The test's FlowTestPort keeps the device (and its rings) until it goes;
  // ethdev frees the memory itself.
  using Share = std::shared_ptr<Device>;
  static_cast<Share*>(dev->data->dev_private)->~Share();
  return 0;
}

int link_update(rte_eth_dev*, int) {
  return 0;
}

int mac_addr_set(rte_eth_dev*, rte_ether_addr*) {
  return 0;  // ethdev keeps the address; the wire does not filter by MAC
}

int mtu_set(rte_eth_dev*, uint16_t) {
  return 0;
}

int stats_get(rte_eth_dev* dev, rte_eth_stats* stats) {
  Device& d = device(dev);
  std::lock_guard lock(d.mu);
  for (uint64_t n : d.rx_frames) stats->ipackets += n;
  stats->imissed = d.imissed;
  stats->opackets = d.opackets;
  return 0;
}

int dev_infos_get(rte_eth_dev*, rte_eth_dev_info* info) {
  info->max_rx_queues = kMaxQueues;
  info->max_tx_queues = kMaxQueues;
  info->max_rx_pktlen = 9618;
  info->min_mtu = RTE_ETHER_MIN_MTU;
  info->max_mtu = 9600;
  info->max_mac_addrs = 1;
  info->flow_type_rss_offloads = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP;
  return 0;
}

int rx_queue_setup(rte_eth_dev* dev, uint16_t q, uint16_t, unsigned int, const rte_eth_rxconf*,
                   rte_mempool*) {
  Device& d = device(dev);
  std::lock_guard lock(d.mu);
  rte_ring* r = queue_ring(d, d.rx, "r", q);
  if (r == nullptr) return -ENOMEM;
  dev->data->rx_queues[q] = r;
  return 0;
}

int tx_queue_setup(rte_eth_dev* dev, uint16_t q, uint16_t, unsigned int, const rte_eth_txconf*) {
  Device& d = device(dev);
  std::lock_guard lock(d.mu);
  rte_ring* r = queue_ring(d, d.tx, "t", q);
  if (r == nullptr) return -ENOMEM;
  dev->data->tx_queues[q] = r;
  return 0;
}

int flow_ops_get(rte_eth_dev* dev, const rte_flow_ops** ops) {
  // Without a flow API the device answers as net_ring does (ENOSYS).
  *ops = device(dev).caps.flow_api ? &flow_ops() : nullptr;
  return 0;
}

const eth_dev_ops& dev_ops() {
  static const eth_dev_ops ops = [] {
    eth_dev_ops o{};
    o.dev_configure = dev_configure;
    o.dev_start = dev_start;
    o.dev_stop = dev_stop;
    o.dev_close = dev_close;
    o.link_update = link_update;
    o.mac_addr_set = mac_addr_set;
    o.mtu_set = mtu_set;
    o.stats_get = stats_get;
    o.dev_infos_get = dev_infos_get;
    o.rx_queue_setup = rx_queue_setup;
    o.tx_queue_setup = tx_queue_setup;
    o.flow_ops_get = flow_ops_get;
    return o;
  }();
  return ops;
}

int probe(void* vdev) {
  auto* dev = reinterpret_cast<rte_device*>(static_cast<char*>(vdev) + kVdevDeviceOffset);
  const std::string name = rte_dev_name(dev);
  std::shared_ptr<Device> d;
  {
    std::lock_guard lock(g_registry_mu);
    auto it = g_registry.find(name);
    if (it == g_registry.end()) return -EINVAL;  // only FlowTestPort makes these
    d = it->second;
  }
  rte_eth_dev* eth = rte_eth_dev_allocate(name.c_str());
  if (eth == nullptr) return -ENOMEM;
  // ethdev frees dev_private (rte_free) and mac_addrs when it releases the
  // port; dev_private holds a share of the device until dev_close.
  void* priv = rte_zmalloc("flowtest", sizeof(std::shared_ptr<Device>), 0);
  auto* mac = static_cast<rte_ether_addr*>(rte_zmalloc("flowtest", sizeof(rte_ether_addr), 0));
  if (priv == nullptr || mac == nullptr) {
    rte_free(priv);
    rte_free(mac);
    rte_eth_dev_release_port(eth);
    return -ENOMEM;
  }
  d->name = name;
  d->port_id = eth->data->port_id;
  *mac = {{0x02, 0xf1, 0, 0, 0, static_cast<uint8_t>(eth->data->port_id)}};
  eth->data->dev_private = new (priv) std::shared_ptr<Device>(d);
  eth->data->mac_addrs = mac;
  eth->data->numa_node = SOCKET_ID_ANY;
  eth->data->dev_link = {};
  eth->data->dev_link.link_speed = RTE_ETH_SPEED_NUM_100G;
  eth->data->dev_link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
  eth->dev_ops = &dev_ops();
  eth->device = dev;
  eth->rx_pkt_burst = rx_burst;
  eth->tx_pkt_burst = tx_burst;
  rte_eth_dev_probing_finish(eth);
  return 0;
}

int remove(void* vdev) {
  auto* dev = reinterpret_cast<rte_device*>(static_cast<char*>(vdev) + kVdevDeviceOffset);
  rte_eth_dev* eth = rte_eth_dev_allocated(rte_dev_name(dev));
  if (eth == nullptr) return 0;  // the engine closed the port already
  const uint16_t port = eth->data->port_id;
  (void)rte_eth_dev_stop(port);
  return rte_eth_dev_close(port);
}

rte_vdev_driver g_driver;

// At load time, before EAL scans vdevs: the test binary registers the
// driver as RTE_PMD_REGISTER_VDEV would.
__attribute__((constructor)) void register_driver() {
  g_driver.driver.name = "net_flowtest";
  g_driver.probe = probe;
  g_driver.remove = remove;
  rte_vdev_register(&g_driver);
}

}  // namespace

FlowTestPort::FlowTestPort(const FlowTestCaps& caps) {
  static std::atomic<unsigned> next{0};
  name_ = "net_flowtest" + std::to_string(next++);
  device_ = std::make_shared<Device>(caps);
  {
    std::lock_guard lock(g_registry_mu);
    g_registry[name_] = device_;
  }
  if (rte_vdev_init(name_.c_str(), "") != 0 ||
      rte_eth_dev_get_port_by_name(name_.c_str(), &port_id_) != 0) {
    throw std::runtime_error("cannot create the flow test device " + name_);
  }
}

FlowTestPort::~FlowTestPort() {
  rte_vdev_uninit(name_.c_str());
  std::lock_guard lock(g_registry_mu);
  g_registry.erase(name_);
}

void FlowTestPort::inject(const std::vector<rte_mbuf*>& pkts) {
  Device& d = *device_;
  std::lock_guard lock(d.mu);
  for (rte_mbuf* m : pkts) {
    uint16_t q = 0;
    if (!classify(d, m, q)) continue;
    if (q >= d.rx.size() || d.rx[q] == nullptr || rte_ring_enqueue(d.rx[q], m) != 0) {
      ++d.imissed;
      rte_pktmbuf_free(m);
      continue;
    }
    ++d.rx_frames[q];
  }
}

std::vector<rte_mbuf*> FlowTestPort::drain() {
  Device& d = *device_;
  std::lock_guard lock(d.mu);
  std::vector<rte_mbuf*> out;
  for (rte_ring* r : d.tx) {
    void* obj;
    while (r != nullptr && rte_ring_dequeue(r, &obj) == 0)
      out.push_back(static_cast<rte_mbuf*>(obj));
  }
  d.opackets += out.size();
  return out;
}

std::vector<uint64_t> FlowTestPort::rx_per_queue() const {
  std::lock_guard lock(device_->mu);
  return device_->rx_frames;
}

uint64_t FlowTestPort::dropped_by_rules() const {
  std::lock_guard lock(device_->mu);
  return device_->dropped;
}

std::vector<FlowTestRule> FlowTestPort::rules() const {
  std::lock_guard lock(device_->mu);
  std::vector<FlowTestRule> out;
  for (const auto& r : device_->rules) out.push_back(view(*r));
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.priority < b.priority; });
  return out;
}

void FlowTestPort::set_max_rules(uint32_t n) {
  std::lock_guard lock(device_->mu);
  device_->caps.max_rules = n;
}

void FlowTestPort::set_rule_hook(RuleHook hook) {
  std::lock_guard lock(device_->mu);
  device_->hook = std::move(hook);
}

}  // namespace tartan::testing
