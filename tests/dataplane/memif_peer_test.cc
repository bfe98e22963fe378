// A memif peer that keeps going away while the workers poll. DPDK 22.11's
// memif PMD unmaps a departed peer's rings and buffers on EAL's interrupt
// thread, without waiting for the threads in its rx/tx bursts
// (engine/unmap_barrier.h). Each round the worker is stopped wherever it is
// in its loop, as the scheduler stops a worker whose core is shared, while
// the peer vanishes; a worker stopped inside the PMD's burst used to wake up
// to unmapped rings and take the process down with SIGSEGV.
#include <gtest/gtest.h>
#include <rte_interrupts.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/unmap_barrier.h"
#include "engine/worker_barrier.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/files.h"
#include "tests/support/memif_client.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;
using testing::MemifClient;
using testing::Vdev;
using namespace std::chrono_literals;

constexpr int kRounds = 40;
constexpr auto kBound = 5s;

// Stops a worker lcore's thread wherever it is: a signal whose handler
// waits (with async-signal-safe calls only) until resume().
class WorkerStopper {
 public:
  explicit WorkerStopper(unsigned lcore) : tid_(thread_of(lcore)) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, &previous_);
  }
  ~WorkerStopper() {
    resume();
    sigaction(SIGUSR2, &previous_, nullptr);
  }
  WorkerStopper(const WorkerStopper&) = delete;
  WorkerStopper& operator=(const WorkerStopper&) = delete;

  bool found() const { return tid_ > 0; }
  bool stop() {
    release_ = false;
    syscall(SYS_tgkill, getpid(), tid_, SIGUSR2);
    return testing::eventually([] { return stopped_.load(); }, kBound, 20us);
  }
  bool resume() {
    release_ = true;
    return testing::eventually([] { return !stopped_.load(); }, kBound, 20us);
  }

 private:
  // EAL names lcore threads "rte-worker-N" (DPDK 22.11), "dpdk-workerN" later.
  static pid_t thread_of(unsigned lcore) {
    const std::string names[] = {"rte-worker-" + std::to_string(lcore) + "\n",
                                 "dpdk-worker" + std::to_string(lcore) + "\n"};
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      const std::string comm = testing::read_file(task.path() / "comm");
      if (comm == names[0] || comm == names[1]) return std::stoi(task.path().filename());
    }
    return -1;
  }
  static void on_signal(int) {
    stopped_ = true;
    const timespec ts{0, 20000};
    while (!release_) nanosleep(&ts, nullptr);
    stopped_ = false;
  }

  static inline std::atomic<bool> stopped_{false};
  static inline std::atomic<bool> release_{true};
  pid_t tid_;
  struct sigaction previous_ {};
};

// Returns once EAL's interrupt thread is done with what it was doing (the
// PMD's disconnect goes on after the unmap): a callback on an eventfd of
// ours runs there after it. Nothing is left registered (an alarm would
// leave EAL's alarm source, whose removal in rte_eal_cleanup() wakes the
// thread as memory goes, with the memif listener the PMD never unregisters
// still on its list).
bool interrupt_thread_caught_up() {
  struct Probe {
    int fd = eventfd(1, EFD_NONBLOCK);  // readable at once
    std::atomic<bool> ran{false};
  } probe;
  const auto ran = [](void* arg) {
    auto* p = static_cast<Probe*>(arg);
    uint64_t count;
    if (read(p->fd, &count, sizeof count) == sizeof count) p->ran = true;
  };
  rte_intr_handle* h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
  bool ok = h != nullptr && probe.fd >= 0 && rte_intr_fd_set(h, probe.fd) == 0 &&
            rte_intr_type_set(h, RTE_INTR_HANDLE_EXT) == 0 &&
            rte_intr_callback_register(h, ran, &probe) == 0;
  ok = ok && testing::eventually([&] { return probe.ran.load(); }, kBound, 100us);
  if (h != nullptr) {
    rte_intr_callback_unregister_sync(h, ran, &probe);
    rte_intr_instance_free(h);
  }
  if (probe.fd >= 0) close(probe.fd);
  return ok;
}

bool is_vxlan(const Bytes& f) {
  return f.size() >= 50 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 && f[36] == 8472 >> 8 &&
         f[37] == (8472 & 0xff);
}

TEST(MemifPeer, APeerVanishingMidBurstOverAndOverNeverCrashesAndTrafficResumesEachTimeItIsBack) {
  ASSERT_TRUE(unmap_barrier::interposed())
      << "the PMDs' munmap calls do not reach the engine's: link with engine_dep";
  testing::ScopedTempDir dir("mc-memif");
  const std::string socket = dir.path() + "/mc.sock";
  Vdev dut("net_memif_mc_dut", "role=server,id=0,socket-abstract=no,socket=" + socket);
  ASSERT_TRUE(dut.ok()) << "cannot create the memif server " << dut.name();
  EngineFixture fx({.run_workers = true, .underlay_device = dut.name()});
  fx.add_node(2);
  MemifClient peer("mc_peer", socket);
  ASSERT_TRUE(peer.ok()) << "cannot create the memif client";
  WorkerStopper worker(fx.engine().workers()[0]->lcore());
  ASSERT_TRUE(worker.found()) << "no thread for the worker lcore in /proc/self/task";

  const auto underlay = [&] {
    for (const PortStats& p : fx.engine().stats().ports)
      if (p.name == "underlay") return p;
    return PortStats{};
  };
  const Ipv4Addr remote_pod{EngineFixture::node(2).subnet.addr.value + 10};
  const auto from_pods = [&](uint16_t n) {
    std::vector<rte_mbuf*> pods;
    for (uint16_t i = 0; i < n; ++i)
      pods.push_back(testing::to_mbuf(fx.pool(), fx.pod_frame(remote_pod, 10000 + i)));
    return fx.overlay_port().inject(pods);
  };
  const Bytes to_us = fx.vxlan_from(2, fx.pod_ip());
  const uint64_t waits_before = worker_barrier::waits();

  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(peer.connect());
    ASSERT_TRUE(testing::eventually(
        [&] { return peer.link_up() && dut.link_up() && underlay().link_up; }, kBound))
        << "the peer did not connect, or the engine did not see it";
    // A memif client hands the server free slots for it in its rx burst.
    EXPECT_TRUE(peer.receive().empty());

    // Forwarding both ways.
    fx.take_overlay();  // what was decapsulated before the peer last went
    ASSERT_EQ(from_pods(8), 8u);
    size_t encapsulated = 0;
    EXPECT_TRUE(testing::eventually(
        [&] {
          for (const Bytes& f : peer.receive()) encapsulated += is_vxlan(f);
          return encapsulated == 8;
        },
        kBound))
        << encapsulated << " of 8 pod frames reached the peer in VXLAN";
    ASSERT_EQ(peer.send(to_us, 8), 8u);
    size_t delivered = 0;
    EXPECT_TRUE(testing::eventually(
        [&] {
          delivered += fx.take_overlay().size();
          return delivered == 8;
        },
        kBound))
        << delivered << " of 8 VXLAN frames from the peer reached the pods";

    // With frames for the worker to receive, the worker is stopped in the
    // middle of its loop and the peer vanishes: the PMD marks the port down,
    // then unmaps the peer's memory on EAL's interrupt thread.
    peer.send(to_us, 512);
    ASSERT_TRUE(worker.stop());
    peer.vanish();
    ASSERT_TRUE(testing::eventually([&] { return !dut.link_up(); }, kBound, 100us));
    std::this_thread::sleep_for(20ms);
    // The unmap cannot be done while the worker is stopped: it waits for it.
    const uint64_t unmapped = round - 1;
    EXPECT_EQ(worker_barrier::waits() - waits_before, unmapped);
    ASSERT_TRUE(worker.resume());
    EXPECT_TRUE(testing::eventually(
        [&] { return worker_barrier::waits() - waits_before == unmapped + 1; }, kBound))
        << "the peer's memory was not unmapped once the worker went on";
    ASSERT_TRUE(interrupt_thread_caught_up());

    ASSERT_TRUE(testing::eventually(
        [&] {
          const PortStats p = underlay();
          return !p.link_up && p.link_downs == static_cast<uint64_t>(round);
        },
        kBound))
        << "link_downs " << underlay().link_downs;
  }
  // With no peer, frames for it are refused by the PMD, freed and counted
  // (the books, checked at teardown, balance).
  const uint64_t refused = fx.drops(DropReason::kTxQueueFull);
  ASSERT_EQ(from_pods(8), 8u);
  EXPECT_TRUE(testing::eventually([&] { return fx.drops(DropReason::kTxQueueFull) == refused + 8; },
                                  kBound));
}

}  // namespace
}  // namespace tartan
