// Keys and X.509 v3 certificates for the broker's PKI, on OpenSSL 3's
// libcrypto: EC P-256 keys, certificates signed with ECDSA-SHA256, random
// 159-bit serials, subject and authority key identifiers.
//
// Internal to cli/certs: pki.h is the API other code calls.
#pragma once

#include <string>
#include <vector>

#include "certs/broker_names.h"
#include "certs/openssl_objects.h"

namespace mqota::cli {

enum class CertificateRole {
  kCa,      // CA:TRUE (critical), keyCertSign + cRLSign
  kServer,  // the broker: CA:FALSE, digitalSignature, serverAuth, SANs
  kClient,  // a device or the server client: CA:FALSE, digitalSignature, clientAuth
};

struct CertificateSpec {
  CertificateRole role = CertificateRole::kClient;
  std::string common_name;
  // kServer only: the names clients connect to, as IP or DNS SANs.
  std::vector<BrokerName> alt_names;
  int days = 825;
};

PkeyPtr GenerateP256Key();

// A certificate for `subject_key` as `spec` says, signed by `issuer_key`.
// `issuer` is the CA's certificate, or nullptr for a self-signed CA (then
// `issuer_key` is `subject_key`). Throws UsageError if OpenSSL fails.
X509Ptr IssueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                         EVP_PKEY* issuer_key);

std::string CertificatePem(X509* cert);
// Unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
std::string PrivateKeyPem(EVP_PKEY* key);

// Throw UsageError "<path>: ..." when the file is unreadable or holds no PEM
// certificate / unencrypted private key.
X509Ptr LoadCertificate(const std::string& path);
PkeyPtr LoadPrivateKey(const std::string& path);

// The subject's CN ("" if none).
std::string CommonNameOf(X509* cert);
// The subjectAltName entries that are IP addresses or DNS names.
std::vector<BrokerName> AltNamesOf(X509* cert);
// True when `cert` is signed by `ca` (the signature verifies with its key and
// the issuer name is its subject). Validity dates are not checked.
bool IssuedBy(X509* cert, X509* ca);
bool IsCa(X509* cert);

}  // namespace mqota::cli
