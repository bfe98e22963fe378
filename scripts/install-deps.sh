#!/usr/bin/env bash
# Installs every Debian 12 package tartan builds, runs and tests with.
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential meson ninja-build pkg-config clang clang-format clang-tidy
  libclang-rt-14-dev  # libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh); clang only recommends it
  dpdk dpdk-dev libdpdk-dev
  libyaml-cpp-dev nlohmann-json3-dev
  libcli11-dev  # tartanctl's command line (header-only)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libnl-3-dev libnl-route-3-dev libbpf-dev
  libmicrohttpd-dev libgnutls28-dev  # /healthz, /readyz (control/http); the API server double
  libcurl4-openssl-dev               # HTTP clients (the kube client, tests)
  libgoogle-perftools-dev  # tcmalloc, tartand's allocator (meson.build, malloc_dep)
  libssl-dev libsodium-dev libipsec-mb-dev  # WireGuard's crypto (engine/wireguard): OpenSSL 3 EVP; libsodium for XChaCha20-Poly1305; intel-ipsec-mb for ChaCha20-Poly1305
  etcd-server etcd-client golang-etcd-server-dev
  wireguard-go wireguard-tools  # the independent WireGuard the interop tests talk to (`wg set` as flanneld)
  iproute2 tshark python3-scapy iperf3 libpcap-dev
  python3-yaml  # a YAML 1.1 reader: tartanctl -o yaml read back as kubectl would (tartanctl_test)
  gnuplot-nox procps openssl ethtool iputils-ping
  help2man  # man pages generated from tartand and tartanctl --help at build time (dist/)
  curl  # the kube e2e test asks /readyz inside a node's namespace, as the kubelet's probe does
  prometheus  # promtool checks /metrics; the e2e test scrapes tartand with the real server
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tartan: installing ${missing[*]}"
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "tartan: all build and test packages already installed"
fi

# kubectl drives the Kubernetes API server double in the control tests.
# Debian's kubernetes-client provides one; a kubectl installed otherwise
# (the upstream kubectl package) conflicts with it, so only when none is on
# PATH.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "tartan: installing kubernetes-client (kubectl)"
  apt-get update
  apt-get install -y --no-install-recommends kubernetes-client
fi
