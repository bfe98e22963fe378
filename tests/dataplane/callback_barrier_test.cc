// dpdk-dumpcap's capture callbacks are removed on EAL's multi-process
// thread while a worker may be inside one (engine/callback_barrier.h):
// the removal returns only once the worker has left the callback, and no
// burst enters it after that.
#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "engine/callback_barrier.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/packets.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::EngineFixture;
using namespace std::chrono_literals;

constexpr auto kBound = 5s;

// The callback holds the worker inside it until released, as a worker
// preempted in the middle of rte_pdump's copy would be.
struct Hold {
  std::atomic<bool> release{false};
  std::atomic<uint64_t> entries{0};

  void enter() {
    entries.fetch_add(1);
    while (!release.load()) std::this_thread::sleep_for(100us);
  }
};

uint16_t hold_rx(uint16_t, uint16_t, rte_mbuf**, uint16_t n, uint16_t, void* hold) {
  static_cast<Hold*>(hold)->enter();
  return n;
}

uint16_t hold_tx(uint16_t, uint16_t, rte_mbuf**, uint16_t n, void* hold) {
  static_cast<Hold*>(hold)->enter();
  return n;
}

using Remove = int (*)(uint16_t, uint16_t, const rte_eth_rxtx_callback*);

// With the worker held inside `cb`, removes it from another thread (not an
// lcore, as EAL's multi-process thread is not) and checks the removal
// waits for the worker; `traffic` makes the worker call the burst again.
void expect_removal_waits_for_the_worker(Hold& hold, Remove remove, uint16_t port,
                                         const rte_eth_rxtx_callback* cb,
                                         const std::function<void()>& traffic) {
  ASSERT_NE(cb, nullptr) << "cannot add the callback: " << rte_strerror(rte_errno);
  traffic();
  ASSERT_TRUE(testing::eventually([&] { return hold.entries.load() > 0; }, kBound))
      << "the worker never entered the callback";

  auto removed = std::async(std::launch::async, [&] { return remove(port, 0, cb); });
  EXPECT_EQ(removed.wait_for(50ms), std::future_status::timeout)
      << "the removal returned while a worker was inside the callback";
  hold.release = true;
  ASSERT_EQ(removed.wait_for(kBound), std::future_status::ready)
      << "the removal did not return once the worker left the callback";
  EXPECT_EQ(removed.get(), 0);

  const uint64_t entries = hold.entries.load();
  traffic();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(hold.entries.load(), entries) << "a burst entered the callback after its removal";
}

TEST(CallbackBarrier, TheEngineDefinesTheCallbackRemovalsPdumpCalls) {
  EXPECT_TRUE(callback_barrier::interposed())
      << "librte_pdump's rte_eth_remove_{rx,tx}_callback calls do not reach the engine's: "
         "link with engine_dep";
}

TEST(CallbackBarrier, RemovingAnRxCallbackAWorkerIsInsideReturnsOnlyOnceTheWorkerLeftIt) {
  EngineFixture fx({.run_workers = true});
  const uint16_t port = fx.underlay_port().port_id();
  Hold hold;
  const rte_eth_rxtx_callback* cb = rte_eth_add_first_rx_callback(port, 0, hold_rx, &hold);
  // RX callbacks run on every poll, with or without packets.
  expect_removal_waits_for_the_worker(hold, rte_eth_remove_rx_callback, port, cb, [] {});
}

TEST(CallbackBarrier, RemovingATxCallbackAWorkerIsInsideReturnsOnlyOnceTheWorkerLeftIt) {
  EngineFixture fx({.run_workers = true});
  fx.add_node(2);
  const uint16_t port = fx.underlay_port().port_id();
  Hold hold;
  const rte_eth_rxtx_callback* cb = rte_eth_add_tx_callback(port, 0, hold_tx, &hold);
  const Ipv4Addr remote_pod{EngineFixture::node(2).subnet.addr.value + 10};
  // The worker sends to the underlay only what it encapsulates.
  const auto traffic = [&] {
    fx.overlay_port().inject({testing::to_mbuf(fx.pool(), fx.pod_frame(remote_pod))});
  };
  expect_removal_waits_for_the_worker(hold, rte_eth_remove_tx_callback, port, cb, traffic);
  size_t encapsulated = 0;
  EXPECT_TRUE(testing::eventually(
      [&] {
        for (const testing::Bytes& f : fx.take_underlay())
          encapsulated += f[12] == 0x08 && f[13] == 0x00;  // IPv4; the engine also ARPs
        return encapsulated == 2;
      },
      kBound))
      << encapsulated << " of 2 pod frames encapsulated: the worker did not go on";
}

}  // namespace
}  // namespace tartan
