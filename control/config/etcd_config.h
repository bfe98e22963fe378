// The `lease.etcd` section: how tartan reaches etcd and the timings of
// flannel's etcd subnet manager. Defaults are flanneld's where it has one
// (--etcd-prefix, the 24 h subnet TTL, --subnet-lease-renew-margin 60 min).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tartan {

struct EtcdConfig {
  // Tried in order; a failure moves to the next. "http://host:port",
  // "https://host:port" or "host:port" (http).
  std::vector<std::string> endpoints = {"http://127.0.0.1:2379"};
  std::string prefix = "/coreos.com/network";  // flannel's --etcd-prefix
  std::string tls_cert;                        // PEM client certificate (https)
  std::string tls_key;                         // PEM client key (https)
  std::string tls_ca;                          // PEM CA for the server; empty: system roots
  std::string username;                        // etcd auth; empty: none
  std::string password;                        // inline, or
  std::string password_file;                   // read at start, trailing newline dropped
  uint32_t lease_ttl_s = 86400;                // TTL of the etcd lease our subnet key rides on
  uint32_t renew_margin_s = 3600;              // renew this long before it expires
  uint32_t request_timeout_ms = 5000;          // deadline of each etcd call
  uint32_t retry_initial_ms = 200;             // first back-off after a failure, doubled ...
  uint32_t retry_max_ms = 10000;               // ... up to this
  uint32_t startup_timeout_s = 60;             // how long start waits for etcd before giving up
};

}  // namespace tartan
