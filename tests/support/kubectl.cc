#include "tests/support/kubectl.h"

#include <filesystem>

#include "tests/support/files.h"

namespace tartan::testing {

Kubectl::Kubectl(const std::string& dir, const std::string& server, const KubectlCredentials& who,
                 const std::string& ca_file)
    : dir_(dir) {
  std::filesystem::create_directories(dir);
  std::string user = "{}";
  if (!who.token.empty()) user = "{token: " + who.token + "}";
  if (!who.client_cert.empty())
    user = "{client-certificate: " + who.client_cert + ", client-key: " + who.client_key + "}";
  const std::string ca = ca_file.empty() ? "" : ", certificate-authority: " + ca_file;
  write_file(dir + "/kubeconfig",
             "apiVersion: v1\nkind: Config\n"
             "clusters:\n- name: double\n  cluster: {server: '" +
                 server + "'" + ca +
                 "}\n"
                 "users:\n- name: tester\n  user: " +
                 user +
                 "\n"
                 "contexts:\n- name: double\n  context: {cluster: double, user: tester}\n"
                 "current-context: double\n");
}

std::vector<std::string> Kubectl::argv(const std::vector<std::string>& args) const {
  std::vector<std::string> out = {"env",          "HOME=" + dir_,       "kubectl",
                                  "--kubeconfig", dir_ + "/kubeconfig", "--cache-dir",
                                  dir_ + "/cache"};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

CommandResult Kubectl::run(const std::vector<std::string>& args) const {
  return run_command(argv(args), std::chrono::seconds(60));
}

}  // namespace tartan::testing
