#include "tests/support/test_certificates.h"

#include <stdexcept>

#include "tests/support/process.h"

namespace tartan::testing {

void make_test_certificates(const std::string& dir, const std::string& client_cn,
                            const std::string& server_san) {
  const std::string script =
      "set -e; cd " + dir +
      "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tartan-test-ca -keyout "
      "ca.key -out ca.crt"
      "; openssl req -newkey rsa:2048 -nodes -subj /CN=server -keyout server.key -out server.csr"
      "; printf 'subjectAltName=" +
      server_san +
      "' > san.ext"
      "; openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile san.ext -out server.crt"
      "; openssl req -newkey rsa:2048 -nodes -subj /CN=" +
      client_cn +
      " -keyout client.key -out client.csr"
      "; openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out "
      "client.crt"
      "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=stranger -keyout "
      "stranger.key -out stranger.crt";
  const CommandResult r = run_command({"sh", "-c", script});
  if (r.exit_code != 0) throw std::runtime_error("openssl: " + r.output);
}

}  // namespace tartan::testing
