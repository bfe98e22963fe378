// A small PKI for TLS tests, made with the openssl CLI.
#pragma once

#include <string>

namespace tartan::testing {

// Writes into `dir` (which must exist): ca.crt/ca.key (CN tartan-test-ca);
// server.crt/server.key signed by it for `server_san` (openssl's
// subjectAltName syntax); client.crt/client.key signed by it with CN
// `client_cn`; stranger.crt/stranger.key, self-signed (CN stranger).
// Throws std::runtime_error with openssl's output when it fails.
void make_test_certificates(const std::string& dir, const std::string& client_cn = "operator",
                            const std::string& server_san = "IP:127.0.0.1");

}  // namespace tartan::testing
