// lease.kube to what a connection needs: kubeconfig files as client-go's
// clientcmd reads them, the in-cluster service account, the api_url
// override, and errors that name the file and the field.
#include "control/sources/kube/kube_credentials.h"

#include <gtest/gtest.h>
#include <yaml-cpp/binary.h>

#include <filesystem>
#include <map>

#include "tests/support/files.h"

namespace tartan {
namespace {

using testing::ScopedTempDir;
using testing::write_file;

const std::string kCa = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";
const std::string kCert = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
const std::string kKey = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n";

std::string b64(const std::string& s) {
  return YAML::EncodeBase64(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class KubeCredentialsTest : public ::testing::Test {
 protected:
  // A kubeconfig with two contexts; `user` is the YAML of users[0].user
  // (indented by 4), `cluster` the extra lines of clusters[0].cluster.
  std::string kubeconfig(const std::string& cluster, const std::string& user,
                         const std::string& current = "ci") {
    const std::string path = dir_.path() + "/kube/config.yaml";
    std::filesystem::create_directories(dir_.path() + "/kube");
    write_file(path,
               "apiVersion: v1\n"
               "kind: Config\n"
               "current-context: " +
                   current +
                   "\n"
                   "clusters:\n"
                   "- name: other\n"
                   "  cluster:\n"
                   "    server: https://other.example:6443\n"
                   "- name: c1\n"
                   "  cluster:\n"
                   "    server: https://10.0.0.1:6443/\n" +
                   cluster +
                   "contexts:\n"
                   "- name: admin\n"
                   "  context: {cluster: other, user: nobody}\n"
                   "- name: ci\n"
                   "  context:\n"
                   "    cluster: c1\n"
                   "    user: u1\n"
                   "    namespace: kube-flannel\n"
                   "users:\n"
                   "- name: u1\n"
                   "  user:\n" +
                   user);
    return path;
  }
  Result<KubeCredentials> load(const std::string& path, const std::string& api_url = "") {
    KubeConfig c;
    c.kubeconfig = path;
    c.api_url = api_url;
    return load_kube_credentials(c, env({}));
  }
  ScopedTempDir dir_{"kc-creds"};
};

TEST_F(KubeCredentialsTest, KubeconfigWithInlineDataTakesTheCurrentContext) {
  const std::string path = kubeconfig("    certificate-authority-data: " + b64(kCa) + "\n",
                                      "    client-certificate-data: " + b64(kCert) +
                                          "\n"
                                          "    client-key-data: " +
                                          b64(kKey) + "\n");
  auto c = load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");  // the trailing '/' dropped
  EXPECT_EQ(c->ca_pem, kCa);
  EXPECT_EQ(c->client_cert_pem, kCert);
  EXPECT_EQ(c->client_key_pem, kKey);
  EXPECT_EQ(c->token, nullptr);
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->origin, "kubeconfig " + path + " (context ci, cluster c1, user u1)");
}

TEST_F(KubeCredentialsTest, RelativePathsAreAgainstTheKubeconfigsDirectory) {
  std::filesystem::create_directories(dir_.path() + "/kube/pki");
  write_file(dir_.path() + "/kube/pki/ca.pem", kCa);
  write_file(dir_.path() + "/kube/pki/client.pem", kCert);
  write_file(dir_.path() + "/kube/client.key", kKey);
  const std::string path = kubeconfig("    certificate-authority: pki/ca.pem\n",
                                      "    client-certificate: pki/client.pem\n"
                                      "    client-key: " +
                                          dir_.path() + "/kube/client.key\n");
  auto c = load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ca_pem, kCa);
  EXPECT_EQ(c->client_cert_pem, kCert);
  EXPECT_EQ(c->client_key_pem, kKey);
}

TEST_F(KubeCredentialsTest, StaticTokenAndTlsSettings) {
  const std::string path = kubeconfig(
      "    insecure-skip-tls-verify: true\n"
      "    tls-server-name: kubernetes.default.svc\n",
      "    token: abc.def-ghi\n");
  auto c = load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_NE(c->token, nullptr);
  EXPECT_EQ(c->token->current(), "abc.def-ghi");
  EXPECT_EQ(c->token->path(), "");
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->tls_server_name, "kubernetes.default.svc");
}

TEST_F(KubeCredentialsTest, TokenFileIsRelativeAndWinsOverToken) {
  const std::string path = kubeconfig("", "    token: inline\n    tokenFile: token\n");
  write_file(dir_.path() + "/kube/token", "from-file\n");
  auto c = load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token->path(), dir_.path() + "/kube/token");
  EXPECT_EQ(c->token->current(), "from-file");
}

TEST_F(KubeCredentialsTest, ApiUrlReplacesTheServer) {
  auto c = load(kubeconfig("", "    token: t\n"), "http://127.0.0.1:8080");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "http://127.0.0.1:8080");
}

TEST_F(KubeCredentialsTest, BadBase64NamesTheField) {
  const std::string path = kubeconfig("",
                                      "    client-certificate-data: not*base64\n"
                                      "    client-key-data: " +
                                          b64(kKey) + "\n");
  auto c = load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "kubeconfig " + path + ": users[0].user.client-certificate-data: not valid base64");
}

TEST_F(KubeCredentialsTest, TruncatedBase64IsRefused) {
  const std::string data = b64(kCa);
  const std::string path =
      kubeconfig("    certificate-authority-data: " + data.substr(0, data.size() - 2) + "\n", "");
  auto c = load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(
      c.status().message(),
      "kubeconfig " + path + ": clusters[1].cluster.certificate-authority-data: not valid base64");
}

TEST_F(KubeCredentialsTest, DataThatIsNotPemIsRefused) {
  const std::string path = kubeconfig("    certificate-authority-data: " + b64("hello") + "\n", "");
  auto c = load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "kubeconfig " + path + ": clusters[1].cluster.certificate-authority-data: not PEM");
}

TEST_F(KubeCredentialsTest, MissingFileNamesTheFieldAndThePath) {
  const std::string path = kubeconfig("    certificate-authority: ca.pem\n", "");
  auto c = load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "kubeconfig " + path + ": clusters[1].cluster.certificate-authority: " + dir_.path() +
                "/kube/ca.pem: No such file or directory");
}

TEST_F(KubeCredentialsTest, MissingKubeconfig) {
  auto c = load(dir_.path() + "/nope.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "kubeconfig " + dir_.path() + "/nope.yaml: No such file or directory");
}

TEST_F(KubeCredentialsTest, YamlSyntaxErrorNamesTheLine) {
  const std::string path = dir_.path() + "/bad.yaml";
  write_file(path, "current-context: x\nclusters: [\n");
  auto c = load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("kubeconfig " + path + ":3:", 0), 0u)
      << c.status().message();
}

TEST_F(KubeCredentialsTest, StructuralErrorsNameTheField) {
  struct Case {
    std::string cluster, user, current, message;
  };
  const std::vector<Case> cases = {
      {"", "", "", "current-context: missing"},
      {"", "", "prod", "contexts: no entry named 'prod'"},
      {"    certificate-authority: a.pem\n    certificate-authority-data: " + b64(kCa) + "\n", "",
       "ci",
       "clusters[1].cluster.certificate-authority: both certificate-authority and "
       "certificate-authority-data are set"},
      {"", "    client-certificate-data: " + b64(kCert) + "\n", "ci",
       "users[0].user.client-key: missing: a client certificate needs both certificate and key"},
      {"", "    exec: {command: aws}\n", "ci",
       "users[0].user.exec: not supported (use a token, tokenFile or client certificate)"},
      {"    insecure-skip-tls-verify: maybe\n", "", "ci",
       "clusters[1].cluster.insecure-skip-tls-verify: expected true or false"},
      {"    insecure-skip-tls-verify: true\n    certificate-authority-data: " + b64(kCa) + "\n", "",
       "ci",
       "clusters[1].cluster.insecure-skip-tls-verify: a certificate authority with "
       "insecure-skip-tls-verify is not allowed"},
      {"", "    token: [a, b]\n", "ci", "users[0].user.token: expected a string"},
      {"", "    tokenFile: missing-token\n", "ci",
       "users[0].user.tokenFile: " + dir_.path() +
           "/kube/missing-token: No such file or directory"},
  };
  for (const Case& c : cases) {
    const std::string path = kubeconfig(c.cluster, c.user, c.current);
    auto r = load(path);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().message(), "kubeconfig " + path + ": " + c.message);
  }
}

TEST_F(KubeCredentialsTest, InClusterFromTheEnvironmentAndTheServiceAccount) {
  write_file(dir_.path() + "/token", "sa-token\n");
  write_file(dir_.path() + "/ca.crt", kCa);
  KubeConfig config;
  config.service_account_dir = dir_.path();
  auto c = load_kube_credentials(
      config, env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->ca_pem, kCa);
  EXPECT_EQ(c->token->current(), "sa-token");
  EXPECT_EQ(c->token->path(), dir_.path() + "/token");
  EXPECT_EQ(c->origin, "in-cluster service account " + dir_.path());

  auto v6 = load_kube_credentials(config, env({{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"},
                                               {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(v6.ok()) << v6.status().message();
  EXPECT_EQ(v6->server, "https://[fd00:10:96::1]:443");
}

TEST_F(KubeCredentialsTest, InClusterErrors) {
  KubeConfig config;
  config.service_account_dir = dir_.path();
  auto no_env = load_kube_credentials(config, env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}));
  ASSERT_FALSE(no_env.ok());
  EXPECT_EQ(no_env.status().message(),
            "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (or set "
            "lease.kube.kubeconfig or lease.kube.api_url)");
  auto no_token = load_kube_credentials(
      config, env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.status().message(),
            "in-cluster: token " + dir_.path() + "/token: No such file or directory");
}

TEST_F(KubeCredentialsTest, InClusterWithoutCaUsesTheSystemsAsClientGoDoes) {
  write_file(dir_.path() + "/token", "sa-token");
  KubeConfig config;
  config.service_account_dir = dir_.path();
  auto c = load_kube_credentials(
      config, env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ca_pem, "");
}

TEST_F(KubeCredentialsTest, ApiUrlAloneWithoutServiceAccountHasNoCredentials) {
  KubeConfig config;
  config.service_account_dir = dir_.path() + "/absent";
  config.api_url = "http://127.0.0.1:8080";
  auto c = load_kube_credentials(config, env({}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "http://127.0.0.1:8080");
  EXPECT_EQ(c->token, nullptr);

  // With a service account, its token and CA go to the given server.
  write_file(dir_.path() + "/token", "sa-token");
  config.service_account_dir = dir_.path();
  auto sa = load_kube_credentials(config, env({}));
  ASSERT_TRUE(sa.ok()) << sa.status().message();
  EXPECT_EQ(sa->server, "http://127.0.0.1:8080");
  EXPECT_EQ(sa->token->current(), "sa-token");
}

TEST_F(KubeCredentialsTest, TokenFileIsReadAgainAndAVanishedOneKeepsTheLastToken) {
  const std::string path = dir_.path() + "/rotating";
  write_file(path, "first");
  auto token = KubeToken::from_file(path, std::chrono::seconds(0));
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ((*token)->current(), "first");
  write_file(path, "second\n");
  EXPECT_EQ((*token)->current(), "second");
  std::filesystem::remove(path);
  EXPECT_EQ((*token)->current(), "second");

  auto slow = KubeToken::from_file((write_file(path, "a"), path), std::chrono::seconds(3600));
  ASSERT_TRUE(slow.ok());
  write_file(path, "b");
  EXPECT_EQ((*slow)->current(), "a");  // not due yet
}

TEST_F(KubeCredentialsTest, EmptyTokenFileIsAnError) {
  write_file(dir_.path() + "/empty", "\n");
  auto t = KubeToken::from_file(dir_.path() + "/empty", std::chrono::seconds(60));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), dir_.path() + "/empty: empty");
}

}  // namespace
}  // namespace tartan
