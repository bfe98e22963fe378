#include "tests/support/test_pki.h"

#include <stdexcept>

#include "tests/support/process.h"

namespace tartan::testing {

void make_test_pki(const std::string& dir, const std::vector<std::string>& clients,
                   const std::vector<std::string>& server_sans) {
  std::string san = "subjectAltName=IP:127.0.0.1";
  for (const auto& extra : server_sans) san += "," + extra;
  std::string script =
      "set -e; cd " + dir +
      "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tartan-test-ca"
      " -keyout ca.key -out ca.crt"
      "; printf '" +
      san +
      "' > san.ext"
      "; openssl req -newkey rsa:2048 -nodes -subj /CN=server -keyout server.key -out server.csr"
      "; openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
      " -extfile san.ext -out server.crt";
  for (const auto& name : clients) {
    script += "; openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " + name +
              ".key -out " + name + ".csr; openssl x509 -req -in " + name +
              ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + name + ".crt";
  }
  script +=
      "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=stranger"
      " -keyout stranger.key -out stranger.crt";
  const CommandResult r = run_command({"sh", "-c", script + " 2>&1"});
  if (r.exit_code != 0) throw std::runtime_error("openssl: " + r.output);
}

}  // namespace tartan::testing
