#include "engine/wireguard/blake2s.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdlib>
#include <memory>

namespace tartan::wireguard {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};

// The algorithms, fetched once (fetching looks them up in the provider
// tables under a lock). Never freed: they live as long as the process.
const EVP_MD* blake2s256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
  return md;
}
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return m;
}
EVP_MAC* blake2s_mac_algorithm() {
  static EVP_MAC* m = EVP_MAC_fetch(nullptr, "BLAKE2SMAC", nullptr);
  return m;
}

// These fail only when the OpenSSL build lacks BLAKE2s (every Debian
// build has it) or on allocation failure: no handshake is possible then,
// and carrying on with a zero hash would be a silent security failure.
void require(bool ok) {
  if (!ok) std::abort();
}

template <size_t OutLen>
std::array<uint8_t, OutLen> mac_over(EVP_MAC* algorithm, const OSSL_PARAM* params, Bytes key,
                                     std::initializer_list<Bytes> parts) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(algorithm));
  require(ctx && EVP_MAC_init(ctx.get(), key.data(), key.size(), params) == 1);
  for (Bytes part : parts) require(EVP_MAC_update(ctx.get(), part.data(), part.size()) == 1);
  std::array<uint8_t, OutLen> out;
  size_t len = 0;
  require(EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 && len == OutLen);
  return out;
}

}  // namespace

Key hash(std::initializer_list<Bytes> parts) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  require(ctx && EVP_DigestInit_ex2(ctx.get(), blake2s256(), nullptr) == 1);
  for (Bytes part : parts) require(EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1);
  Key out;
  unsigned len = 0;
  require(EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size());
  return out;
}

Mac mac(Bytes key, Bytes data) {
  size_t size = Mac{}.size();
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                               OSSL_PARAM_construct_end()};
  return mac_over<16>(blake2s_mac_algorithm(), params, key, {data});
}

Key hmac(const Key& key, std::initializer_list<Bytes> parts) {
  char digest[] = "BLAKE2S-256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  return mac_over<32>(hmac_algorithm(), params, key, parts);
}

}  // namespace tartan::wireguard
