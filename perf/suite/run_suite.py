#!/usr/bin/python3
"""tartan's side-by-side perf suite: dpdk-testpmd (the I/O ceiling), tartand
(VXLAN and udp backend, encap and decap, table sizes, flows, churn), the
engine alone (tartan-bench), the control plane at scale and the kernel's
VXLAN path, measured in one run with one generator, tartan-perf.
Writes perf/results/suite.json, the plots, and the suite's section of
perf/RESULTS.md; prints the table. perf/README.md explains each figure."""

import argparse
import datetime
import glob
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report  # noqa: E402
from generator import FAMILIES, SIZES, Generator, option, scheme, smallest  # noqa: E402
from kernel_vxlan import KernelNode, cpu_busy_jiffies  # noqa: E402
from memif_dut import (UNDERLAY_IP, UNDERLAY_MAC, VTEP_MAC, Tartand, Testpmd,  # noqa: E402
                       client_vdevs, peer_kept, worker_delta)
from procs import DutDied, Failure, on_exit, run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DUT_CPU = 1


def traffic_args(direction: str, backend: str, size: str, flows: int, nodes: int,
                 duration: float, family: str = "ipv4") -> list[str]:
    """tartan-perf's options for encap (pods -> underlay) or decap (underlay
    -> pods) traffic of a family to `nodes` remote nodes."""
    args = ["--mode", "loopback", "--size", size, "--flows", str(flows),
            "--dst-subnets", str(max(1, min(nodes, flows))), "--duration", str(duration),
            *scheme(family)]
    if direction == "encap":
        return args + ["--tx-port", "0", "--rx-port", "1"]
    return args + ["--tx-port", "1", "--rx-port", "0", "--encap", backend,
                   "--dst-mac", UNDERLAY_MAC, option("local-ip", family), UNDERLAY_IP[family],
                   "--vtep-mac", VTEP_MAC[family]]


PARTS = ["testpmd", "vxlan", "udp", "engine", "control", "kernel"]
CHURN_MAX_MPPS = 1.0
CHURN_RATE = 10000   # route changes/s through the API
CHURN_BATCH = 100    # changes per ApplyNodes call: one call every 10 ms at CHURN_RATE
APPLY_NODES = 100000  # the control plane's table: applied afresh, timed
# tartan-bench's rows for the engine part: benchmark -> (test, backend).
ENGINE_ROWS = {"BM_VxlanEncap": ("encap", "vxlan"), "BM_VxlanDecap": ("decap", "vxlan"),
               "BM_UdpBackendEncap": ("encap", "udp"), "BM_UdpBackendDecap": ("decap", "udp"),
               "BM_DirectRoutingEncap": ("encap", "DirectRouting"), "BM_IoOnly": ("io", None)}
ENGINE_BENCHMARKS = f"^({'|'.join(ENGINE_ROWS)})/18$"
# tartan-bench's table-size rows (every node of a table of N in turn, one
# flow each), at 1 and at the most nodes: the 1-to-100,000-nodes target
# without the generator.
TABLE_ROWS = {"BM_VxlanEncapTableSize": ("encap", "vxlan"),
              "BM_VxlanDecapTableSize": ("decap", "vxlan")}
ROUTE_CHANGE_BENCHMARK = "^BM_RouteChangeToFirstPacket/100000$"


class Suite:
    def __init__(self, opts):
        self.o = opts
        build = os.path.abspath(opts.build)
        self.bin = {"tartand": f"{build}/control/tartand",
                    "tartanctl": f"{build}/control/tartanctl",
                    "tartan-perf": f"{build}/perf/tartan-perf",
                    "tartan-nodeload": f"{build}/perf/tartan-nodeload",
                    "tartan-bench": f"{build}/perf/tartan-bench",
                    "testpmd": shutil.which("dpdk-testpmd") or "dpdk-testpmd"}
        for name, path in self.bin.items():
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise Failure(f"{name} not found at {path} (build first: bash scripts/build.sh)")
        self.work = tempfile.mkdtemp(prefix="tartan-perf-suite-")
        on_exit(lambda: shutil.rmtree(self.work, ignore_errors=True))
        # DPDK leaves its runtime directory behind (testpmd's always, any
        # process's when killed); every one of ours is named tps-*-<pid>-*.
        on_exit(lambda: [shutil.rmtree(d, ignore_errors=True)
                         for d in glob.glob(f"/var/run/dpdk/tps-*-{os.getpid()}-*")])
        self.gen = Generator(self.bin["tartan-perf"], self.work, memory_mb=256)
        self.records: list[dict] = []
        self.figures: list[dict] = []  # figures that are not packet rates: control()
        self.failures: list[str] = []

    def sizes(self, family: str = "ipv4") -> list[str]:
        return [smallest(family)] if self.o.smoke else SIZES[family]

    def say(self, text: str) -> None:
        print(f"perf-suite: {text}", flush=True)

    def record(self, rec: dict) -> dict:
        rec.setdefault("family", "ipv4")
        r = rec["result"]
        if not r["rx_packets"] and not rec.get("ndr"):
            raise Failure(f"{rec['dut']} {rec['test']}: nothing came back "
                          f"(drops: {rec.get('drops') or 'none counted'}):\n{r['command']}")
        rec.update(rx_mpps=r["rx_mpps"], tx_mpps=r["tx_mpps"], rx_gbps=r["rx_gbps"],
                   loss_ratio=r["loss_ratio"], tsc_hz=r["tsc_hz"],
                   command=r.pop("command"))
        # The whole loop: every cycle of the DUT's core over what it forwarded.
        if rec.get("core_mpps") is None:
            rec["core_mpps"] = rec["rx_mpps"]
        rec["loop_cycles_per_packet"] = (r["tsc_hz"] / (rec["core_mpps"] * 1e6)
                                         if rec["core_mpps"] else None)
        ndr = r.get("ndr_mpps")
        rec["ndr_mpps"] = ndr
        self.records.append(rec)
        cpp = rec.get("busy_cycles_per_packet")
        self.say(f"{rec['dut']:<16} {rec['test']:<7} {rec.get('backend') or '-':<5} "
                 f"{rec['family']} "
                 f"{rec['size']:>5} B  nodes {rec.get('nodes', '-'):>6}  flows {rec['flows']:>6}: "
                 f"{rec['rx_mpps']:7.3f} Mpps  loss {rec['loss_ratio'] or 0:.6f}"
                 + (f"  NDR {ndr:.3f} Mpps" if ndr is not None else "")
                 + (f"  {cpp:.0f} cycles/pkt" if cpp else "")
                 + (f"  drops {rec['drops']}" if rec.get("drops") else "")
                 + (f"  (median of {rec['trials_mpps']})" if rec.get("trials_mpps") else ""))
        return rec

    @staticmethod
    def label(ident: dict) -> str:
        return " ".join(str(ident.get(k)) for k in ("dut", "test", "backend", "family", "size",
                                                  "nodes", "flows") if ident.get(k) is not None)

    def measure(self, ident: dict, once, trials: int, dut_alive=None, key=None) -> dict | None:
        """Runs once() `trials` times and records the median trial (by
        rate, or by `key`), with the spread of every trial's rate and busy
        cycles per packet. A trial that fails (the generator crashed or the DUT lost its
        peer) is not retried: the figure is recorded as failed, with the
        reason, and the run fails at the end; DutDied if the DUT is gone."""
        try:
            runs = []
            for _ in range(trials):
                runs.append(once())
                r = runs[-1]["result"]
                if not r["rx_packets"] and not ident.get("ndr"):
                    raise Failure(f"nothing came back (drops: "
                                  f"{runs[-1].get('drops') or 'none counted'}):\n{r['command']}")
        except Failure as e:
            reason = str(e)
            self.records.append({**ident, "failed": reason})
            self.failures.append(f"{self.label(ident)}: {reason}")
            self.say(f"{self.label(ident)}: FAILED: {reason.splitlines()[0] if reason else ''}")
            if isinstance(e, DutDied) or (dut_alive is not None and not dut_alive()):
                raise DutDied(f"{self.label(ident)}: the device under test is gone") from e
            return None
        return self.record(median_trial(runs, key))

    def ndr_args(self) -> list[str]:
        return ["--ndr", "--trial-duration", str(self.o.trial), "--search-precision", "0.02"]

    # 1. The I/O ceiling.
    def testpmd(self) -> None:
        for mode in ("io", "macswap"):
            sock_dir = os.path.join(self.work, f"testpmd-{mode}")
            os.makedirs(sock_dir)
            tp = Testpmd(self.bin["testpmd"], sock_dir, mode, 512)
            try:
                runs = [(s, []) for s in self.sizes()]
                if not self.o.smoke:
                    runs.append(("64", self.ndr_args()))
                for size, extra in runs:
                    args = traffic_args("encap", "", size, 1, 1, self.o.duration) + extra

                    ident = {"section": "ceiling", "dut": f"testpmd-{mode}", "test": mode,
                             "size": size, "flows": 1, "ndr": bool(extra)}

                    def once(args=args, ident=ident) -> dict:
                        result, stats = tp.forward_during(
                            lambda stop_forwarding: self.gen.run(
                                client_vdevs(tp.sock_dir), args,
                                before_disconnect=stop_forwarding))
                        if not tp.proc.alive():
                            raise DutDied(f"testpmd ({mode}) died:\n{tp.proc.output()[-3000:]}")
                        return {**ident, "result": result,
                                "busy_cycles_per_packet": stats["busy_cycles_per_packet"],
                                "dut_command": tp.command}
                    self.measure(ident, once, 1 if extra else self.o.trials, tp.proc.alive)
            finally:
                tp.stop()

    def tartan_run(self, t: Tartand, section: str, direction: str, size: str, flows: int,
                   extra: list[str] | None = None, alongside=None, family: str = "ipv4",
                   **fields) -> dict:
        """One figure of tartan-perf runs of a family through tartand; `extra`
        options go last (a repeated option's last value wins). `alongside()`,
        when given, starts something for the length of each trial and returns
        the function that waits for it and returns its result (the churn)."""
        args = traffic_args(direction, t.backend, size, flows, t.nodes, self.o.duration, family)
        ndr = "--ndr" in (extra or [])
        ident = {"section": section, "dut": "tartan", "test": direction, "backend": t.backend,
                 "family": family, "size": size, "flows": flows, "nodes": t.nodes, "ndr": ndr,
                 **fields}

        def once() -> dict:
            # Each run's generator connects and leaves: tartand must see one
            # link down per port for it, no more (no peer lost mid-run).
            before = t.stats_with_no_peer()
            finish = alongside() if alongside else None
            try:
                result = self.gen.run(client_vdevs(t.sock_dir), args + (extra or []))
            finally:
                side = finish() if finish else None
            after = t.stats_with_no_peer()
            peer_kept(before, after)
            rec = {**ident, "result": result, **worker_delta(before, after)}
            if side is not None:
                rec["churn"] = side
            if fields.get("offered_mpps"):
                rec.update(blocked_time(rec))
            return rec
        # A search already runs many trials; churn figures are the median
        # trial by blocked time.
        return self.measure(ident, once, 1 if ndr else self.o.trials, t.alive,
                            key=(lambda r: r["blocked_ms"]) if section == "churn" else None)

    # 2, 3, 5, 6: tartand over memif.
    def tartan(self, backend: str) -> None:
        t = Tartand(self.bin, self.work, backend, memory_mb=768)
        try:
            t.grow_to(1)
            for family in t.families:
                for size in self.sizes(family):
                    for direction in ("encap", "decap"):
                        self.tartan_run(t, "size", direction, size, 1, family=family)
            if backend != "vxlan":
                return
            if not self.o.smoke:
                for direction in ("encap", "decap"):
                    self.tartan_run(t, "ndr", direction, "64", 1, self.ndr_args())
            big_flows = 1000 if self.o.smoke else 100000
            for nodes in ([1, 1000] if self.o.smoke else [1, 1000, 100000]):
                if nodes > t.nodes:
                    r = t.grow_to(nodes)
                    self.say(f"applied {r['applied']} nodes in {r['seconds']:.1f} s "
                             f"({r['rate_per_s']:.0f}/s) through the API")
                for family in t.families:
                    for flows in (1, big_flows):
                        for direction in ("encap", "decap"):
                            self.tartan_run(t, "table", direction, smallest(family), flows,
                                            family=family)
                if nodes == 1000:
                    self.churn(t)
        finally:
            t.stop()

    # 5. Reconfiguration without loss, as CSIT measures it: traffic to nodes
    # 0..249 at a fixed rate while route changes flow through the API, in
    # ApplyNodes batches of CHURN_BATCH every CHURN_BATCH / rate seconds.
    # Untouched flows: nodes 250..999 move. Moved flows: nodes 0..749 move,
    # every node the traffic goes to among them; its packets must keep
    # leaving, for the old VTEP or the new one.
    def churn(self, t: Tartand) -> None:
        base = [r for r in self.records if r["section"] == "table" and r["nodes"] == 1000
                and r["test"] == "encap" and r["flows"] > 1 and not r.get("failed")]
        if not base:
            self.failures.append("churn: not run, its 1,000-node encap figure failed")
            return
        base = base[-1]
        # Half the table's maximum, at most 1 Mpps: on two cores the generator
        # shares CPU 0 with the control plane applying the changes, and the
        # DUT's 16,384-slot ring back to it must outlast its time off the CPU
        # (16 ms at 1 Mpps).
        rate = min(0.5 * base["rx_mpps"], CHURN_MAX_MPPS) * 1e6
        traffic = ["--dst-subnets", "250", "--rate-pps", str(int(rate))]
        for flows_to, first, changes in (("-", 0, 0), ("untouched", 250, CHURN_RATE),
                                         ("moved", 0, CHURN_RATE)):
            def alongside(first=first, changes=changes):
                if not changes:
                    return None
                holder: dict = {}

                def go():
                    try:
                        holder["load"] = t.nodeload([
                            "--first", str(first), "--nodes", "750", "--churn-rate", str(changes),
                            "--batch", str(CHURN_BATCH), "--duration", str(self.o.duration + 2),
                            "--concurrency", "4"])
                    except Failure as e:
                        holder["error"] = str(e)
                churner = threading.Thread(target=go)
                churner.start()

                def finish() -> dict:
                    churner.join()
                    if "error" in holder:
                        raise Failure(f"the churn failed: {holder['error']}")
                    return {"asked_per_s": changes, "first": first, "nodes": 750,
                            **{k: holder["load"][k] for k in (
                                "batch", "applied", "failed", "rate_per_s", "lag_max_ms",
                                "latency_p99_ms")}}
                return finish
            rec = self.tartan_run(t, "churn", "encap", "64", 1000, traffic,
                                  alongside=alongside if changes else None,
                                  offered_mpps=rate / 1e6, flows_to=flows_to,
                                  changes_per_s=changes)
            if rec is not None:
                self.say(f"  churn {changes}/s, flows to {flows_to} nodes: blocked "
                         f"{rec['blocked_ms']:.3f} ms ({rec['forwarding_blocked_ms']:.3f} ms by "
                         f"tartan's drops); {rec.get('churn') or 'no changes'}")
        # Churn leaves some of the moved nodes at their other public IP: put
        # them back, or decap from them later counts as unknown senders.
        t.nodeload(["--first", "0", "--nodes", "1000", "--concurrency", "2", "--batch", "1000"])

    def bench(self, name: str, regex: str, min_time: float) -> tuple[list[dict], str]:
        """tartan-bench's iterations (no aggregates: the median is taken
        here, as for every figure) of the benchmarks `regex` matches,
        --trials repetitions each, and the command."""
        out = os.path.join(self.work, f"{name}.json")
        cmd = [self.bin["tartan-bench"], f"--benchmark_filter={regex}",
               f"--benchmark_min_time={min_time}",
               f"--benchmark_repetitions={self.o.trials}",
               f"--benchmark_out={out}", "--benchmark_out_format=json"]
        run(cmd, timeout=600)
        with open(out) as f:
            benchmarks = json.load(f)["benchmarks"]
        for b in benchmarks:
            if b.get("error_occurred"):
                raise Failure(f"{b['name']}: {b.get('error_message')}:\n{' '.join(cmd)}")
        return [b for b in benchmarks if b.get("run_type", "iteration") == "iteration"], \
            " ".join(cmd)

    # The engine alone: tartan-bench's encap and decap of 64 B frames in
    # bursts of 32, in process on net_ring, so no process boundary and no
    # copies: what one worker costs per packet without the memif I/O, and
    # BM_IoOnly, the harness's own I/O, to take away from each. Then the
    # same worker's encap and decap with 1 node and with the most nodes
    # (section engine-table).
    def engine(self) -> None:
        tsc_hz = next((r["tsc_hz"] for r in self.records if r.get("tsc_hz")),
                      float(report.machine()["mhz"]) * 1e6)
        most = 1000 if self.o.smoke else 100000
        for section, regex, rows in (
                ("engine", ENGINE_BENCHMARKS, ENGINE_ROWS),
                ("engine-table", f"^({'|'.join(TABLE_ROWS)})/(1|{most})$", TABLE_ROWS)):
            try:
                benchmarks, command = self.bench(section, regex, max(self.o.duration / 2, 0.1))
            except Failure as e:
                self.records.append({"section": section, "dut": "tartan-engine", "test": "-",
                                     "size": "64", "flows": 1, "failed": str(e)})
                self.failures.append(f"{section}: {e}")
                continue
            trials: dict[str, list[dict]] = {}
            for b in benchmarks:
                pps = b["items_per_second"]
                name = b["name"].split("/repeats")[0]
                family, arg = name.split("/")[:2]
                test, backend = rows[family]
                # A table-size row's argument is its nodes, one flow each.
                nodes = int(arg) if section == "engine-table" else 1
                trials.setdefault(name, []).append(
                    {"section": section, "dut": "tartan-engine", "test": test,
                     **({"backend": backend} if backend else {}), "size": "64", "flows": nodes,
                     "nodes": nodes, "benchmark": name, "busy_cycles_per_packet": tsc_hz / pps,
                     "result": {"rx_packets": b["iterations"], "rx_mpps": pps / 1e6,
                                "tx_mpps": pps / 1e6, "rx_gbps": pps * 64 * 8 / 1e9,
                                "loss_ratio": 0, "tsc_hz": tsc_hz, "command": command}})
            for runs in trials.values():
                self.record(median_trial(runs))

    def figure(self, name: str, once, unit: str) -> None:
        """A figure that is not a packet rate: once()
        returns (value, details) and runs --trials times; the median value
        is the figure, with the min-max (self.figures). Failures as measure()'s."""
        values, details = [], []
        try:
            for _ in range(self.o.trials):
                v, d = once()
                values.append(v)
                details.append(d)
        except Failure as e:
            self.figures.append({"figure": name, "failed": str(e)})
            self.failures.append(f"{name}: {e}")
            self.say(f"{name}: FAILED: {str(e).splitlines()[0] if str(e) else ''}")
            return
        mid = sorted(range(len(values)), key=values.__getitem__)[(len(values) - 1) // 2]
        rec = {"figure": name, "value": values[mid], "unit": unit, "min": min(values),
               "max": max(values), "trials": values, **details[mid]}
        self.figures.append(rec)
        self.say(f"{name}: {rec['value']:.3f} {unit} (min-max {rec['min']:.3f}-{rec['max']:.3f} "
                 f"of {len(values)})")

    # The control plane at scale: APPLY_NODES nodes applied through the API
    # to a fresh tartand (as a source's initial sync would), and one route
    # change reaching the worker at 100,000 routes.
    def control(self) -> None:
        nodes = 10000 if self.o.smoke else APPLY_NODES
        started = [0]

        def apply_once() -> tuple[float, dict]:
            # A fresh tartand each trial: nothing applied yet, no state kept.
            started[0] += 1
            t = Tartand(self.bin, self.work, "vxlan", memory_mb=768,
                        name=f"control-{started[0]}", fams=("ipv4",))
            try:
                r = t.nodeload(["--nodes", str(nodes), "--batch", "10000", "--concurrency", "2"])
                t.check_alive()
            finally:
                t.stop()
            return r["seconds"], {"nodes": r["applied"], "rate_per_s": r["rate_per_s"],
                                  "command": f"tartan-nodeload --nodes {nodes} --batch 10000 "
                                             "--concurrency 2 (to a fresh tartand)"}
        self.figure("apply_nodes", apply_once, "s")

        bench: list[dict] = []

        def route_change_once() -> tuple[float, dict]:
            # One tartan-bench run has every trial (repetition): hand them out.
            if not bench:
                got, command = self.bench("route-change", ROUTE_CHANGE_BENCHMARK, 0.2)
                if len(got) != self.o.trials:
                    raise Failure(f"tartan-bench ran {len(got)} repetitions of "
                                  f"{ROUTE_CHANGE_BENCHMARK}, not {self.o.trials}:\n{command}")
                bench.extend({"b": b, "command": command} for b in got)
            b = bench.pop(0)
            if b["b"]["time_unit"] != "us":
                raise Failure(f"{b['b']['name']}: in {b['b']['time_unit']}, expected us")
            return b["b"]["real_time"], {"routes": 100000, "command": b["command"]}
        self.figure("route_change_us", route_change_once, "us")

    # 4. The kernel's VXLAN path: flannel.1 and flannel-v6.1.
    def kernel(self) -> None:
        k = KernelNode(str(os.getpid()))
        gen = Generator(self.bin["tartan-perf"], self.work, memory_mb=256, netns=k.gen)
        for family, size in ((f, s) for f in FAMILIES for s in self.sizes(f)):
            for direction in ("encap", "decap"):
                args = traffic_args(direction, "vxlan", size, 1, 1, self.o.duration, family)
                if direction == "encap":
                    args += ["--dst-mac", k.pod_gw_mac]
                else:
                    args[args.index("--dst-mac") + 1] = k.ul_mac
                    args += ["--vtep-mac", k.vtep_mac[family]]
                # veth hands over packets whose checksums the kernel left to
                # "hardware" (as with a NIC's offload): not ours to check.
                args += ["--verify-every", "0"]

                ident = {"section": "kernel", "dut": "kernel", "test": direction,
                         "backend": "vxlan", "family": family, "size": size, "flows": 1,
                         "nodes": 1}

                def once(args=args, ident=ident, family=family) -> dict:
                    busy0, total0 = cpu_busy_jiffies(DUT_CPU)
                    c0 = k.counters(family)
                    result = gen.run(k.vdevs(), args, hugepages=False)
                    busy1, total1 = cpu_busy_jiffies(DUT_CPU)
                    c1 = k.counters(family)
                    busy = (busy1 - busy0) / max(1, total1 - total0)
                    return {**ident, "result": result, "cpu_busy": busy,
                            "core_mpps": result["rx_mpps"] / busy if busy > 0.02 else None,
                            "vxlan_device": {x: c1[x] - c0[x] for x in c1}}
                self.measure(ident, once, self.o.trials)

    def ensure_hugepages(self, pages: int) -> None:
        def free() -> int:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("HugePages_Free:"):
                        return int(line.split()[1])
            return 0
        if free() >= pages:
            return
        with open("/proc/sys/vm/nr_hugepages") as f:
            before = int(f.read())
        with open("/proc/sys/vm/nr_hugepages", "w") as f:
            f.write(str(before + pages - free()))
        on_exit(lambda: open("/proc/sys/vm/nr_hugepages", "w").write(str(before)))
        if free() < pages:
            raise Failure(f"need {pages} free 2 MiB hugepages, have {free()}")

    def run(self) -> None:
        started = datetime.datetime.now(datetime.timezone.utc)
        self.ensure_hugepages(768)
        sections = self.o.only or PARTS
        for s in sections:
            self.say(f"--- {s}")
            try:
                if s == "testpmd":
                    self.testpmd()
                elif s in ("vxlan", "udp"):
                    self.tartan(s)
                elif s == "engine":
                    self.engine()
                elif s == "control":
                    self.control()
                elif s == "kernel":
                    self.kernel()
            except DutDied as e:
                # Reported, not restarted: a crash is a finding, not noise.
                self.failures.append(f"{s}: {e}; the rest of this part was not run")
                self.say(f"{s}: {e}; the rest of this part is skipped")
        finished = datetime.datetime.now(datetime.timezone.utc)
        doc = {"started": started.isoformat(timespec="seconds"),
               "finished": finished.isoformat(timespec="seconds"),
               "machine": report.machine(), "command": " ".join(sys.argv),
               "options": vars(self.o), "records": self.records, "control": self.figures,
               "failures": self.failures}
        os.makedirs(self.o.out, exist_ok=True)
        with open(os.path.join(self.o.out, "suite.json"), "w") as f:
            json.dump(doc, f, indent=1)
        table = report.table(self.records)
        print(table)
        measured = [r for r in self.records if not r.get("failed")]
        summary = report.summary(measured, [c for c in self.figures if not c.get("failed")])
        print(summary)
        # RESULTS.md and the plots show a whole run, never a part of one, nor
        # a run with a failure.
        if not self.o.smoke and not self.o.only and not self.failures:
            report.plots(measured, self.o.out)
            report.update_results_md(self.o.results_md, doc, table, summary)
        self.say(f"done in {(finished - started).total_seconds():.0f} s; results in {self.o.out}")
        if self.failures:
            raise Failure(f"{len(self.failures)} failure(s); suite.json has the figures that "
                          "were measured, RESULTS.md and the plots were left alone:\n"
                          + "\n".join(f"- {f}" for f in self.failures))


def blocked_time(rec: dict) -> dict:
    """CSIT's effective blocked time of a churn trial: the packets lost
    (sent - received) over the offered rate, in ms; the same for tartan's
    own drops alone, without those at the full memif ring back to the
    generator (tx_queue_full: the generator off its CPU); and the time the
    offered rate was not sent at all. A NIC drops what a DUT cannot take in;
    memif pushes back instead (the generator holds the frames and falls
    behind), and the generator shares its CPU with the control plane: the
    shortfall says whether the offered rate was offered."""
    r = rec["result"]
    offered = rec["offered_mpps"] * 1e6
    drops = rec.get("drops") or {}
    lost = r["tx_packets"] - r["rx_packets"]
    forwarding = sum(v for k, v in drops.items() if k != "tx_queue_full")
    unsent = max(0.0, offered * r["duration_s"] - r["tx_packets"])
    return {"lost_packets": lost, "forwarding_drops": forwarding,
            "ring_full_drops": drops.get("tx_queue_full", 0),
            "blocked_ms": lost / offered * 1e3, "forwarding_blocked_ms": forwarding / offered * 1e3,
            "unsent_ms": unsent / offered * 1e3, "duration_s": r["duration_s"]}


def median_trial(runs: list[dict], key=None) -> dict:
    """The trial with the median rate, or the median `key` (an odd number
    of trials has one), its busy cycles per packet replaced by the median of
    the trials', and the spread of both: every trial's figure stays in the
    record."""
    def rate(r: dict) -> float:
        return r.get("core_mpps") or r["result"]["rx_mpps"]
    rec = dict(sorted(runs, key=key or rate)[(len(runs) - 1) // 2])
    if len(runs) > 1:
        # The spread of what came back (the table's Mpps); the kernel's
        # median trial is the one of median rate per core, its figure.
        rates = [r["result"]["rx_mpps"] for r in runs]
        rec.update(trials_mpps=[round(x, 4) for x in rates], mpps_min=min(rates),
                   mpps_max=max(rates))
        if any(r.get("core_mpps") for r in runs):
            rec["trials_core_mpps"] = [round(x, 4) for x in map(rate, runs)]
        cpps = [r["busy_cycles_per_packet"] for r in runs if r.get("busy_cycles_per_packet")]
        if cpps:
            rec.update(busy_cycles_per_packet=statistics.median(cpps),
                       trials_busy_cycles_per_packet=[round(x, 1) for x in cpps],
                       busy_cycles_min=min(cpps), busy_cycles_max=max(cpps))
        if key:
            keys = [key(r) for r in runs]
            rec.update(trials_key=[round(x, 4) for x in keys], key_min=min(keys),
                       key_max=max(keys))
    return rec


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build directory")
    p.add_argument("--out", default=os.path.join(ROOT, "perf", "results"),
                   help="where suite.json and the plots go (default perf/results)")
    p.add_argument("--results-md", default=os.path.join(ROOT, "perf", "RESULTS.md"),
                   help="the RESULTS.md whose suite section is rewritten")
    p.add_argument("--duration", type=float, default=1,
                   help="seconds per trial (default 1)")
    p.add_argument("--trial", type=float, default=0.5, help="seconds per NDR search trial")
    p.add_argument("--trials", type=int, default=None,
                   help="trials per figure, an odd number: the figure is the median trial, "
                        "shown with the min-max of all (default 5; 1 with --smoke)")
    p.add_argument("--only", action="append", choices=PARTS,
                   help="run only these parts (repeatable); writes suite.json and prints the "
                        "table, but leaves RESULTS.md and the plots alone")
    p.add_argument("--smoke", action="store_true",
                   help="a short pass over every part (64 B, small tables, no search, no "
                        "RESULTS.md): checks the suite works, measures nothing worth keeping")
    opts = p.parse_args()
    if opts.trials is None:
        opts.trials = 1 if opts.smoke else 5
    if opts.trials < 1 or opts.trials % 2 == 0:
        p.error("--trials: an odd number, at least 1 (the median is then one of the trials)")
    if os.geteuid() != 0:
        print("perf-suite: needs root (hugepages, network namespaces)", file=sys.stderr)
        return 2
    try:
        Suite(opts).run()
    except Failure as e:
        print(f"perf-suite: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
