#include "engine/flow_rte.h"

#include <rte_byteorder.h>
#include <rte_errno.h>

#include <array>
#include <cstring>
#include <string>
#include <variant>

#include "engine/log.h"

namespace tartan {
namespace {

// rte_flow's arrays and the structures they point to, built together so
// the pointers stay valid while the rule is validated or created.
class RteRule {
 public:
  explicit RteRule(const FlowRule& rule) {
    attr_.priority = rule.priority;
    attr_.ingress = 1;
    build_pattern(rule.match);
    build_actions(rule.actions);
  }
  RteRule(const RteRule&) = delete;
  RteRule& operator=(const RteRule&) = delete;

  const rte_flow_attr* attr() const { return &attr_; }
  const rte_flow_item* pattern() const { return items_.data(); }
  const rte_flow_action* actions() const { return actions_.data(); }

 private:
  void item(rte_flow_item_type type, const void* spec, const void* mask) {
    items_[num_items_++] = {type, spec, nullptr, mask};
  }
  void action(rte_flow_action_type type, const void* conf) {
    actions_[num_actions_++] = {type, conf};
  }

  void build_pattern(const FlowMatch& m) {
    if (m.ether_type) {
      eth_spec_.hdr.ether_type = rte_cpu_to_be_16(*m.ether_type);
      eth_mask_.hdr.ether_type = 0xffff;
      item(RTE_FLOW_ITEM_TYPE_ETH, &eth_spec_, &eth_mask_);
    } else {
      item(RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr);  // any Ethernet frame
    }
    std::visit([this](const auto& ip) { ip_item(ip); }, m.ip);
    if (m.udp_dst) {
      udp_spec_.hdr.dst_port = rte_cpu_to_be_16(*m.udp_dst);
      udp_mask_.hdr.dst_port = 0xffff;
      item(RTE_FLOW_ITEM_TYPE_UDP, &udp_spec_, &udp_mask_);
    }
    if (m.vni) {
      vxlan_spec_.hdr.vx_vni = rte_cpu_to_be_32(*m.vni << 8);
      vxlan_mask_.hdr.vx_vni = rte_cpu_to_be_32(0xffffff00);
      item(RTE_FLOW_ITEM_TYPE_VXLAN, &vxlan_spec_, &vxlan_mask_);
    }
    item(RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr);
  }

  void ip_item(std::monostate) {}
  void ip_item(const IpMatch<Ipv4Addr>& ip) {
    if (ip.src) {
      ip_spec_.hdr.src_addr = ip.src->be();
      ip_mask_.hdr.src_addr = 0xffffffff;
    }
    if (ip.dst) {
      ip_spec_.hdr.dst_addr = ip.dst->be();
      ip_mask_.hdr.dst_addr = 0xffffffff;
    }
    item(RTE_FLOW_ITEM_TYPE_IPV4, &ip_spec_, &ip_mask_);
  }
  void ip_item(const IpMatch<Ipv6Addr>& ip) {
    if (ip.src) {
      std::memcpy(ip6_spec_.hdr.src_addr, ip.src->bytes.data(), 16);
      std::memset(ip6_mask_.hdr.src_addr, 0xff, 16);
    }
    if (ip.dst) {
      std::memcpy(ip6_spec_.hdr.dst_addr, ip.dst->bytes.data(), 16);
      std::memset(ip6_mask_.hdr.dst_addr, 0xff, 16);
    }
    item(RTE_FLOW_ITEM_TYPE_IPV6, &ip6_spec_, &ip6_mask_);
  }

  void build_actions(const FlowActions& a) {
    if (a.count) action(RTE_FLOW_ACTION_TYPE_COUNT, &count_);
    if (a.mark) {
      mark_.id = *a.mark;
      action(RTE_FLOW_ACTION_TYPE_MARK, &mark_);
    }
    if (a.vxlan_decap) action(RTE_FLOW_ACTION_TYPE_VXLAN_DECAP, nullptr);
    switch (a.fate) {
      case FlowFate::kDrop:
        action(RTE_FLOW_ACTION_TYPE_DROP, nullptr);
        break;
      case FlowFate::kQueue:
        queue_.index = a.queues.empty() ? 0 : a.queues[0];
        action(RTE_FLOW_ACTION_TYPE_QUEUE, &queue_);
        break;
      case FlowFate::kRss:
        queues_.assign(a.queues.begin(), a.queues.end());
        rss_.func = RTE_ETH_HASH_FUNCTION_DEFAULT;
        rss_.level = a.rss_level;
        rss_.types = a.rss_types;
        rss_.queue_num = static_cast<uint32_t>(queues_.size());
        rss_.queue = queues_.data();
        action(RTE_FLOW_ACTION_TYPE_RSS, &rss_);
        break;
    }
    action(RTE_FLOW_ACTION_TYPE_END, nullptr);
  }

  rte_flow_attr attr_{};
  std::array<rte_flow_item, 6> items_{};
  std::array<rte_flow_action, 6> actions_{};
  size_t num_items_ = 0, num_actions_ = 0;
  rte_flow_item_eth eth_spec_{}, eth_mask_{};
  rte_flow_item_ipv4 ip_spec_{}, ip_mask_{};
  rte_flow_item_ipv6 ip6_spec_{}, ip6_mask_{};
  rte_flow_item_udp udp_spec_{}, udp_mask_{};
  rte_flow_item_vxlan vxlan_spec_{}, vxlan_mask_{};
  rte_flow_action_count count_{};
  rte_flow_action_mark mark_{};
  rte_flow_action_queue queue_{};
  rte_flow_action_rss rss_{};
  std::vector<uint16_t> queues_;
};

std::string describe(int rc, const rte_flow_error& error) {
  std::string s = rte_strerror(rc < 0 ? -rc : rc);
  // ethdev's own refusals (no flow API: ENOSYS) repeat strerror as the message.
  if (error.message != nullptr && *error.message != '\0' && s != error.message)
    s += std::string(": ") + error.message;
  return s;
}

}  // namespace

Status flow_validate(uint16_t port_id, const FlowRule& rule) {
  const RteRule r(rule);
  rte_flow_error error{};
  if (int rc = rte_flow_validate(port_id, r.attr(), r.pattern(), r.actions(), &error); rc != 0)
    return Status(ErrorCode::kFailedPrecondition, "rte_flow_validate: " + describe(rc, error));
  return {};
}

Result<rte_flow*> flow_create(uint16_t port_id, const FlowRule& rule) {
  const RteRule r(rule);
  rte_flow_error error{};
  rte_flow* flow = rte_flow_create(port_id, r.attr(), r.pattern(), r.actions(), &error);
  if (flow == nullptr) {
    return Status(ErrorCode::kResourceExhausted, "rte_flow_create: " + describe(-rte_errno, error));
  }
  return flow;
}

void flow_destroy(uint16_t port_id, rte_flow* flow) {
  rte_flow_error error{};
  if (int rc = rte_flow_destroy(port_id, flow, &error); rc != 0) {
    TARTAN_LOG(WARNING, kEngine, "port %u: rte_flow_destroy: %s", port_id,
               describe(rc, error).c_str());
  }
}

Result<uint64_t> flow_count(uint16_t port_id, rte_flow* flow) {
  const rte_flow_action count[] = {{RTE_FLOW_ACTION_TYPE_COUNT, nullptr},
                                   {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  rte_flow_query_count data{};
  rte_flow_error error{};
  if (int rc = rte_flow_query(port_id, flow, count, &data, &error); rc != 0)
    return Status::internal("rte_flow_query: " + describe(rc, error));
  return data.hits_set ? data.hits : 0;
}

}  // namespace tartan
