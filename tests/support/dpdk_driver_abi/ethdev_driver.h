// The slice of DPDK 22.11's driver-side ABI the tests' flow test device
// (tests/support/flow_test_pmd.cc) needs. Debian's libdpdk-dev installs
// rte_flow_driver.h but not the driver headers it includes (DPDK installs
// those only when built with -Denable_driver_sdk=true), so this file stands
// in for ethdev_driver.h under that name, and also declares the vdev bus's
// driver registration (bus_vdev_driver.h).
//
// Layouts are DPDK 22.11's (lib/ethdev/ethdev_driver.h,
// drivers/bus/vdev/bus_vdev_driver.h). Every offset asserted below was read
// from the installed librte_ethdev.so.23 and librte_bus_vdev.so.23, from the
// instructions that use the field (e.g. rte_flow_validate loads dev_ops at
// 0x40 and calls flow_ops_get at 0x230), so another DPDK fails to compile
// here rather than corrupting memory in a test. Tests only: the engine uses
// none of this.
#pragma once

#include <pthread.h>
#include <rte_ethdev.h>

#include <cstddef>

extern "C" {

struct rte_device;
struct rte_eth_dev;

// ---- lib/ethdev/ethdev_driver.h ----------------------------------------

struct rte_eth_dev_data {
  char name[RTE_ETH_NAME_MAX_LEN];
  void** rx_queues;
  void** tx_queues;
  uint16_t nb_rx_queues;
  uint16_t nb_tx_queues;
  struct rte_eth_dev_sriov sriov;
  void* dev_private;  // freed with rte_free by rte_eth_dev_release_port
  struct rte_eth_link dev_link;
  struct rte_eth_conf dev_conf;
  uint16_t mtu;
  uint32_t min_rx_buf_size;
  uint64_t rx_mbuf_alloc_failed;
  struct rte_ether_addr* mac_addrs;  // freed with rte_free by rte_eth_dev_release_port
  uint64_t mac_pool_sel[RTE_ETH_NUM_RECEIVE_MAC_ADDR];
  struct rte_ether_addr* hash_mac_addrs;
  uint16_t port_id;
  uint8_t promiscuous : 1, scattered_rx : 1, all_multicast : 1, dev_started : 1, lro : 1,
      dev_configured : 1, flow_configured : 1;
  uint8_t rx_queue_state[RTE_MAX_QUEUES_PER_PORT];
  uint8_t tx_queue_state[RTE_MAX_QUEUES_PER_PORT];
  uint32_t dev_flags;
  int numa_node;
  struct rte_vlan_filter_conf vlan_filter_conf;
  struct rte_eth_dev_owner owner;
  uint16_t representor_id;
  uint16_t backer_port_id;
  pthread_mutex_t flow_ops_mutex;
} __rte_cache_aligned;

struct rte_eth_dev {
  eth_rx_burst_t rx_pkt_burst;
  eth_tx_burst_t tx_pkt_burst;
  eth_tx_prep_t tx_pkt_prepare;
  eth_rx_queue_count_t rx_queue_count;
  eth_rx_descriptor_status_t rx_descriptor_status;
  eth_tx_descriptor_status_t tx_descriptor_status;
  struct rte_eth_dev_data* data;
  void* process_private;
  const struct eth_dev_ops* dev_ops;
  struct rte_device* device;
  struct rte_intr_handle* intr_handle;
  struct rte_eth_dev_cb_list link_intr_cbs;
  void* post_rx_burst_cbs[RTE_MAX_QUEUES_PER_PORT];
  void* pre_tx_burst_cbs[RTE_MAX_QUEUES_PER_PORT];
  enum rte_eth_dev_state state;
  void* security_ctx;
} __rte_cache_aligned;

struct rte_flow_ops;

// The device operations up to flow_ops_get, in DPDK 22.11's order; `unused`
// slots are operations the test device does not offer. The real structure
// continues after flow_ops_get: `tail` keeps those slots zero (unsupported).
struct eth_dev_ops {
  int (*dev_configure)(struct rte_eth_dev*);
  int (*dev_start)(struct rte_eth_dev*);
  int (*dev_stop)(struct rte_eth_dev*);
  void* unused_link_up_down[2];
  int (*dev_close)(struct rte_eth_dev*);
  void* unused_reset;
  int (*link_update)(struct rte_eth_dev*, int wait_to_complete);
  void* unused_is_removed;
  int (*promiscuous_enable)(struct rte_eth_dev*);
  int (*promiscuous_disable)(struct rte_eth_dev*);
  int (*allmulticast_enable)(struct rte_eth_dev*);
  int (*allmulticast_disable)(struct rte_eth_dev*);
  void* unused_mac_addr_remove_add[2];
  int (*mac_addr_set)(struct rte_eth_dev*, struct rte_ether_addr*);
  void* unused_set_mc_addr_list;
  int (*mtu_set)(struct rte_eth_dev*, uint16_t);
  int (*stats_get)(struct rte_eth_dev*, struct rte_eth_stats*);
  int (*stats_reset)(struct rte_eth_dev*);
  void* unused_xstats_to_queue_stats_mapping[4];
  int (*dev_infos_get)(struct rte_eth_dev*, struct rte_eth_dev_info*);
  void* unused_rxq_info_to_rx_queue_stop[14];  // rxq_info_get .. rx_queue_stop
  void* unused_tx_queue_start_stop[2];
  int (*rx_queue_setup)(struct rte_eth_dev*, uint16_t, uint16_t, unsigned int,
                        const struct rte_eth_rxconf*, struct rte_mempool*);
  void (*rx_queue_release)(struct rte_eth_dev*, uint16_t);
  void* unused_rx_queue_intr[2];
  int (*tx_queue_setup)(struct rte_eth_dev*, uint16_t, uint16_t, unsigned int,
                        const struct rte_eth_txconf*);
  void (*tx_queue_release)(struct rte_eth_dev*, uint16_t);
  void* unused_tx_done_cleanup_to_get_module_eeprom[23];  // tx_done_cleanup .. get_module_eeprom
  int (*flow_ops_get)(struct rte_eth_dev*, const struct rte_flow_ops**);
  void* tail[96];
};

struct rte_eth_dev* rte_eth_dev_allocate(const char* name);
struct rte_eth_dev* rte_eth_dev_allocated(const char* name);
int rte_eth_dev_release_port(struct rte_eth_dev* eth_dev);
void rte_eth_dev_probing_finish(struct rte_eth_dev* dev);

// ---- drivers/bus/vdev/bus_vdev_driver.h ---------------------------------

// struct rte_vdev_device begins with a list link, then its rte_device.
inline constexpr size_t kVdevDeviceOffset = 2 * sizeof(void*);

struct rte_vdev_driver {
  void* next[2];
  struct {
    void* next[2];
    const char* name;
    const char* alias;
  } driver;
  int (*probe)(void* vdev);
  int (*remove)(void* vdev);
  void* dma_map;
  void* dma_unmap;
  uint32_t drv_flags;
};

void rte_vdev_register(struct rte_vdev_driver* driver);
void rte_vdev_unregister(struct rte_vdev_driver* driver);

}  // extern "C"

// Offsets read from the instructions of DPDK 22.11.11's shared libraries.
static_assert(sizeof(rte_eth_dev) == 0x4080, "rte_eth_devices[] stride");
static_assert(offsetof(rte_eth_dev, data) == 0x30);
static_assert(offsetof(rte_eth_dev, dev_ops) == 0x40);
static_assert(offsetof(rte_eth_dev_data, dev_flags) == 0x1574);
static_assert(offsetof(rte_eth_dev_data, numa_node) == 0x1578);
static_assert(offsetof(eth_dev_ops, dev_start) == 0x8);
static_assert(offsetof(eth_dev_ops, dev_stop) == 0x10);
static_assert(offsetof(eth_dev_ops, mac_addr_set) == 0x78);
static_assert(offsetof(eth_dev_ops, mtu_set) == 0x88);
static_assert(offsetof(eth_dev_ops, rx_queue_setup) == 0x148);
static_assert(offsetof(eth_dev_ops, tx_queue_setup) == 0x168);
static_assert(offsetof(eth_dev_ops, flow_ops_get) == 0x230);
static_assert(offsetof(rte_vdev_driver, probe) == 0x30);
static_assert(offsetof(rte_vdev_driver, remove) == 0x38);
static_assert(offsetof(rte_vdev_driver, drv_flags) == 0x50);
