// TLS material for tests, made with the openssl CLI: a CA, a server
// certificate from it for loopback (and any extra IP addresses), client
// certificates from it, and a self-signed certificate no CA vouches for.
#pragma once

#include <string>
#include <vector>

namespace tartan::testing {

// Writes into `dir`: ca.crt/ca.key (CN=tartan-test-ca); server.crt/.key
// (CN=server, subjectAltName IP:127.0.0.1 and each of `server_sans`, in
// openssl's syntax: "IP:10.0.0.1", "DNS:kubernetes.default.svc");
// <name>.crt/.key for each of `clients` (CN=<name>, from the CA); and
// stranger.crt/.key (CN=stranger, self-signed). Throws with openssl's
// output on failure.
void make_test_pki(const std::string& dir, const std::vector<std::string>& clients,
                   const std::vector<std::string>& server_sans = {});

}  // namespace tartan::testing
