// The client certificate of a TLS connection served through GnuTLS (the
// TLS backend of libmicrohttpd), checked against the trust list the server
// was given, and its subject's common name: the user name kube-apiserver's
// x509 authenticator takes from it.
#pragma once

#include <gnutls/gnutls.h>

#include "tests/support/kube/exchange.h"

namespace tartan::testing::kube {

TlsPeer tls_peer_of(gnutls_session_t session);

}  // namespace tartan::testing::kube
