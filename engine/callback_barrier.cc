#include "engine/callback_barrier.h"

#include <dlfcn.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "engine/worker_barrier.h"

namespace tartan::callback_barrier {
namespace {

using RemoveCallback = int (*)(uint16_t, uint16_t, const rte_eth_rxtx_callback*);

// ethdev's own function, or whatever comes after the executable in the
// lookup order.
RemoveCallback next(const char* name) {
  return reinterpret_cast<RemoveCallback>(dlsym(RTLD_NEXT, name));
}

// A worker lcore would wait for itself; the main lcore and every other
// thread (EAL's multi-process thread, the control plane) wait.
bool on_worker_lcore() {
  const unsigned lcore = rte_lcore_id();
  return lcore != LCORE_ID_ANY && lcore != rte_get_main_lcore();
}

int remove_then_wait(RemoveCallback remove, uint16_t port, uint16_t queue,
                     const rte_eth_rxtx_callback* cb) {
  const int r = remove(port, queue, cb);
  if (r == 0 && !on_worker_lcore()) worker_barrier::wait_for_workers();
  return r;
}

}  // namespace

bool interposed() {
  return dlsym(RTLD_DEFAULT, "rte_eth_remove_rx_callback") ==
             reinterpret_cast<void*>(&::rte_eth_remove_rx_callback) &&
         dlsym(RTLD_DEFAULT, "rte_eth_remove_tx_callback") ==
             reinterpret_cast<void*>(&::rte_eth_remove_tx_callback);
}

}  // namespace tartan::callback_barrier

extern "C" int rte_eth_remove_rx_callback(uint16_t port_id, uint16_t queue_id,
                                          const rte_eth_rxtx_callback* user_cb) {
  static const auto remove = tartan::callback_barrier::next("rte_eth_remove_rx_callback");
  return tartan::callback_barrier::remove_then_wait(remove, port_id, queue_id, user_cb);
}

extern "C" int rte_eth_remove_tx_callback(uint16_t port_id, uint16_t queue_id,
                                          const rte_eth_rxtx_callback* user_cb) {
  static const auto remove = tartan::callback_barrier::next("rte_eth_remove_tx_callback");
  return tartan::callback_barrier::remove_then_wait(remove, port_id, queue_id, user_cb);
}
