// tartan's counters in DPDK telemetry, for dpdk-telemetry.py:
//   /tartan/ports    per port rx/tx packets and bytes
//   /tartan/drops    packets dropped, per reason
//   /tartan/events   ARP replies, ICMP errors, exception path, ARP waits
//   /tartan/workers  per worker loops, busy loops, cycles per packet
//   /tartan/peers    per remote node: public_ip[i] with encap/decap packets[i], bytes[i]
#pragma once

namespace tartan {

class Engine;

// The engine whose counters the commands report; one at a time.
void register_telemetry(Engine* engine);
void unregister_telemetry(Engine* engine);

}  // namespace tartan
