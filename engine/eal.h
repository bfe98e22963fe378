// Starting and stopping DPDK's Environment Abstraction Layer from config.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine_config.h"
#include "engine/status.h"

namespace tartan {

// MiB of free hugepages of the default size, 0 when hugetlbfs is not
// mounted: what EAL's -m can take with hugepages.
uint64_t free_hugepage_mb();

// Removes EAL's hugepage files of file prefix `prefix` from every hugetlbfs
// mount (a primary without --in-memory or --huge-unlink leaves them, even
// when it exits cleanly). Returns how many went.
size_t remove_hugepage_files(const std::string& prefix);

// "0000:3b:00.0" and the short "3b:00.0" name a PCI device; anything else is
// a vdev.
bool is_pci_device(const std::string& device);

// The ethdev name DPDK gives the device: devargs before the first comma,
// with PCI addresses in their full domain form.
std::string device_port_name(const std::string& device);

// The kernel interface a vdev's devargs name (`iface=`, as net_tap and
// net_af_packet take it), or "".
std::string device_iface(const std::string& device);

// The EAL command line for this config: lcores, memory, hugepages or not, a
// unique --file-prefix, the PCI allow-list and vdevs of the configured ports.
std::vector<std::string> build_eal_args(const EngineConfig& config, bool use_hugepages);

// EAL's --file-prefix for `eal`: eal.file_prefix, else "tartan-<our pid>"
// (what dpdk-telemetry.py -f needs).
std::string eal_file_prefix(const EalConfig& eal);

// Removes EAL's runtime directory (/var/run/dpdk/<prefix>) and hugepage
// files when the process exits, once note_eal_started() has been called:
// DPDK leaves them behind.
// Call before rte_eal_init so the removal runs after DPDK's own exit handlers.
void remove_runtime_dir_at_exit();
void note_eal_started();

// Owns the initialised EAL; rte_eal_cleanup on destruction. One per process.
class Eal {
 public:
  // `pdump`: serve dpdk-dumpcap (rte_pdump); needs a shared EAL config
  // (EalConfig::secondary_processes).
  static Result<std::unique_ptr<Eal>> init(const std::vector<std::string>& args,
                                           bool pdump = false);
  ~Eal();
  Eal(const Eal&) = delete;
  Eal& operator=(const Eal&) = delete;

  bool uses_hugepages() const { return uses_hugepages_; }

 private:
  explicit Eal(bool uses_hugepages) : uses_hugepages_(uses_hugepages) {}
  bool uses_hugepages_;
  bool pdump_ = false;
};

}  // namespace tartan
