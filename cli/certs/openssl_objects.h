// OpenSSL objects owned by std::unique_ptr, and OpenSSL failures as CommandError.
// Internal to cli/certs; the public API (pki.h) shows no OpenSSL type.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace mqota::cli {

template <typename T, void (*Free)(T*)>
struct OpensslFree {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OpensslPtr = std::unique_ptr<T, OpensslFree<T, Free>>;

using BioPtr = OpensslPtr<BIO, BIO_free_all>;
using PkeyPtr = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = OpensslPtr<X509, X509_free>;
using X509NamePtr = OpensslPtr<X509_NAME, X509_NAME_free>;
using X509ExtPtr = OpensslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using GeneralNamesPtr = OpensslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using Asn1IntegerPtr = OpensslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using BignumPtr = OpensslPtr<BIGNUM, BN_free>;

// Throws UsageError "<what>: <OpenSSL's reasons>" and clears OpenSSL's error
// queue. For failures that are not the user's (allocation, a library bug)
// the message still says which step failed.
[[noreturn]] void ThrowOpenssl(const std::string& what);

}  // namespace mqota::cli
