#include "engine/wireguard/chacha_poly.h"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace tartan::wireguard {
namespace {

using Nonce = std::array<uint8_t, 12>;

void set_nonce(Nonce& n, uint64_t counter) {
  n.fill(0);
  store_le64(n.data() + 4, counter);
}

}  // namespace

// What the library reads and writes while jobs are in flight, and the
// one-message form's running state.
struct ChaChaPoly::Scratch {
  alignas(64) chacha20_poly1305_context_data context;
  std::array<Nonce, kMaxBurst> nonces;
  std::array<Mac, kMaxBurst> tags;  // open_burst: the tags computed
};

ChaChaPoly::ChaChaPoly(IMB_MGR* manager, std::unique_ptr<Scratch> scratch)
    : manager_(manager), scratch_(std::move(scratch)) {}

ChaChaPoly::~ChaChaPoly() {
  if (manager_ != nullptr) free_mb_mgr(manager_);
}

ChaChaPoly::ChaChaPoly(ChaChaPoly&& o) noexcept
    : manager_(std::exchange(o.manager_, nullptr)), scratch_(std::move(o.scratch_)) {}

ChaChaPoly& ChaChaPoly::operator=(ChaChaPoly&& o) noexcept {
  if (this != &o) {
    if (manager_ != nullptr) free_mb_mgr(manager_);
    manager_ = std::exchange(o.manager_, nullptr);
    scratch_ = std::move(o.scratch_);
  }
  return *this;
}

std::optional<ChaChaPoly> ChaChaPoly::create() {
  IMB_MGR* manager = alloc_mb_mgr(0);
  if (manager == nullptr) return std::nullopt;
  // The widest code this CPU runs (AVX-512, AVX2, SSE), chosen once.
  init_mb_mgr_auto(manager, nullptr);
  if (imb_get_errno(manager) != 0) {
    free_mb_mgr(manager);
    return std::nullopt;
  }
  return ChaChaPoly(manager, std::make_unique<Scratch>());
}

bool ChaChaPoly::seal(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
                      uint8_t* out) {
  Nonce& nonce = scratch_->nonces[0];
  set_nonce(nonce, counter);
  chacha20_poly1305_context_data* ctx = &scratch_->context;
  IMB_CHACHA20_POLY1305_INIT(manager_, key.data(), ctx, nonce.data(), ad.data(), ad.size());
  if (len > 0) IMB_CHACHA20_POLY1305_ENC_UPDATE(manager_, key.data(), ctx, out, in, len);
  IMB_CHACHA20_POLY1305_ENC_FINALIZE(manager_, ctx, out + len, kTagLen);
  return imb_get_errno(manager_) == 0;
}

bool ChaChaPoly::open(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
                      uint8_t* out) {
  if (len < kTagLen) return false;
  const size_t text_len = len - kTagLen;
  // Read before `out` is written: in place, the tag follows the text.
  Mac received;
  std::memcpy(received.data(), in + text_len, kTagLen);
  Nonce& nonce = scratch_->nonces[0];
  set_nonce(nonce, counter);
  chacha20_poly1305_context_data* ctx = &scratch_->context;
  IMB_CHACHA20_POLY1305_INIT(manager_, key.data(), ctx, nonce.data(), ad.data(), ad.size());
  if (text_len > 0) IMB_CHACHA20_POLY1305_DEC_UPDATE(manager_, key.data(), ctx, out, in, text_len);
  Mac computed;
  IMB_CHACHA20_POLY1305_DEC_FINALIZE(manager_, ctx, computed.data(), kTagLen);
  return imb_get_errno(manager_) == 0 &&
         CRYPTO_memcmp(computed.data(), received.data(), kTagLen) == 0;
}

uint64_t ChaChaPoly::seal_burst(std::span<const AeadJob> jobs) {
  return run_burst(jobs, true);
}

uint64_t ChaChaPoly::open_burst(std::span<const AeadJob> jobs) {
  return run_burst(jobs, false);
}

// Every job submitted, then the manager flushed: its lanes seal several
// messages at once, which is where the multi-buffer API gains over one
// message at a time. Jobs come back in the order submitted.
uint64_t ChaChaPoly::run_burst(std::span<const AeadJob> jobs, bool seal) {
  uint64_t done = 0;
  const auto finished = [&](IMB_JOB* job) {
    const auto i = reinterpret_cast<uintptr_t>(job->user_data);
    if (job->status != IMB_STATUS_COMPLETED) return;
    if (seal ||
        CRYPTO_memcmp(scratch_->tags[i].data(), jobs[i].data + jobs[i].len - kTagLen, kTagLen) == 0)
      done |= uint64_t{1} << i;
  };
  const size_t n = std::min(jobs.size(), kMaxBurst);
  for (size_t i = 0; i < n; ++i) {
    const AeadJob& j = jobs[i];
    if (!seal && j.len < kTagLen) continue;
    const uint32_t text_len = seal ? j.len : j.len - static_cast<uint32_t>(kTagLen);
    set_nonce(scratch_->nonces[i], j.counter);
    IMB_JOB* job = IMB_GET_NEXT_JOB(manager_);
    job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
    job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
    job->enc_keys = j.key->data();
    job->dec_keys = j.key->data();
    job->key_len_in_bytes = 32;
    job->src = j.data;
    job->dst = j.data;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = text_len;
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bytes = text_len;
    job->iv = scratch_->nonces[i].data();
    job->iv_len_in_bytes = 12;
    job->u.CHACHA20_POLY1305.aad = nullptr;
    job->u.CHACHA20_POLY1305.aad_len_in_bytes = 0;
    job->auth_tag_output = seal ? j.data + text_len : scratch_->tags[i].data();
    job->auth_tag_output_len_in_bytes = kTagLen;
    job->user_data = reinterpret_cast<void*>(static_cast<uintptr_t>(i));
    if (IMB_JOB* out = IMB_SUBMIT_JOB(manager_)) finished(out);
  }
  while (IMB_JOB* out = IMB_FLUSH_JOB(manager_)) finished(out);
  return done;
}

namespace {

// The handshake's: a manager made once per thread, not per message (a
// flood of initiations opens two AEADs each).
std::optional<ChaChaPoly>& thread_aead() {
  thread_local std::optional<ChaChaPoly> aead = ChaChaPoly::create();
  return aead;
}

}  // namespace

bool aead_seal(const Key& key, uint64_t counter, Bytes plain, Bytes ad, uint8_t* out) {
  std::optional<ChaChaPoly>& aead = thread_aead();
  return aead && aead->seal(key, counter, ad, plain.data(), plain.size(), out);
}

bool aead_open(const Key& key, uint64_t counter, Bytes sealed, Bytes ad, uint8_t* out) {
  std::optional<ChaChaPoly>& aead = thread_aead();
  return aead && aead->open(key, counter, ad, sealed.data(), sealed.size(), out);
}

}  // namespace tartan::wireguard
