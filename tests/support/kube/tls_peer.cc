#include "tests/support/kube/tls_peer.h"

#include <gnutls/x509.h>

namespace tartan::testing::kube {

TlsPeer tls_peer_of(gnutls_session_t session) {
  TlsPeer peer;
  unsigned int count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count == 0) return peer;
  peer.presented = true;
  unsigned int status = 0;
  peer.verified = gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0;
  gnutls_x509_crt_t cert;
  if (gnutls_x509_crt_init(&cert) != 0) return peer;
  if (gnutls_x509_crt_import(cert, &chain[0], GNUTLS_X509_FMT_DER) == 0) {
    char cn[256];
    size_t size = sizeof cn;
    if (gnutls_x509_crt_get_dn_by_oid(cert, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size) == 0)
      peer.common_name.assign(cn, size);
  }
  gnutls_x509_crt_deinit(cert);
  return peer;
}

}  // namespace tartan::testing::kube
