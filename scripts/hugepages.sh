#!/usr/bin/env bash
# Reserves 2 MiB hugepages and mounts hugetlbfs on /dev/hugepages for DPDK.
# Where that is not allowed (containers, no root), says so and carries on:
# tartand then runs with --no-huge (eal.hugepages: auto).
set -u
pages=${TARTAN_HUGEPAGES:-512}
current=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
if [ "$current" -lt "$pages" ]; then
  echo "$pages" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
fi
if ! grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts; then
  mkdir -p /dev/hugepages 2>/dev/null && mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
fi
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if grep -q ' hugetlbfs ' /proc/mounts && [ "${free:-0}" -gt 0 ]; then
  echo "tartan: ${free} free 2 MiB hugepages on hugetlbfs"
else
  echo "tartan: no hugepages available here; tartand will run with --no-huge"
fi
