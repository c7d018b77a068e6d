#include "certs/x509_issue.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "mqota/host/command_error.h"
#include "mqota/host/files.h"

namespace mqota::cli {
namespace {

// Leaves start an hour in the past: a device whose clock is a little behind
// the machine that issued its certificate must not see "not yet valid".
constexpr long kBackdateSeconds = 60L * 60;

// Refuses OpenSSL's interactive passphrase prompt: keys are unencrypted.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

void Check(int ok, const char* what) {
  if (ok != 1) ThrowOpenssl(what);
}

// 159 random bits: positive (top bit clear) and unpredictable, as CA/Browser
// Forum rules ask (at least 64 bits of randomness) and within RFC 5280's
// 20-byte limit.
void SetRandomSerial(X509* cert) {
  uint8_t bytes[20];
  Check(RAND_bytes(bytes, sizeof bytes), "generating a serial number");
  bytes[0] &= 0x7f;
  bytes[0] |= 0x40;  // no leading zero byte: always 20 bytes long
  BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn) ThrowOpenssl("generating a serial number");
  if (!BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) {
    ThrowOpenssl("setting the serial number");
  }
}

void SetSubject(X509* cert, const std::string& common_name) {
  X509_NAME* name = X509_get_subject_name(cert);
  Check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("mqota"), -1, -1, 0),
        "setting the subject");
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "setting the subject");
}

void AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext) ThrowOpenssl(std::string("making the ") + OBJ_nid2sn(nid) + " extension");
  Check(X509_add_ext(cert, ext.get(), -1), "adding an extension");
}

void AddAltNames(X509* cert, const std::vector<BrokerName>& names) {
  GeneralNamesPtr sans(GENERAL_NAMES_new());
  if (!sans) ThrowOpenssl("making the subjectAltName extension");
  for (const BrokerName& n : names) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (!gn || !sk_GENERAL_NAME_push(sans.get(), gn)) {
      GENERAL_NAME_free(gn);
      ThrowOpenssl("making the subjectAltName extension");
    }
    ASN1_STRING* value = ASN1_STRING_type_new(n.is_ip ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
    if (!value) ThrowOpenssl("making the subjectAltName extension");
    GENERAL_NAME_set0_value(gn, n.is_ip ? GEN_IPADD : GEN_DNS, value);
    const bool ok =
        n.is_ip ? ASN1_STRING_set(value, n.address.data(), static_cast<int>(n.address.size()))
                : ASN1_STRING_set(value, n.text.data(), static_cast<int>(n.text.size()));
    if (!ok) ThrowOpenssl("making the subjectAltName extension");
  }
  // Not critical: the subject (CN "mqota broker") is not empty.
  Check(X509_add1_ext_i2d(cert, NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT),
        "adding the subjectAltName extension");
}

void AddExtensions(X509* cert, X509* issuer, const CertificateSpec& spec) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  // The subject key identifier first: a self-signed CA's authority key
  // identifier is its own subject key identifier.
  AddExtension(cert, &ctx, NID_subject_key_identifier, "hash");
  AddExtension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  switch (spec.role) {
    case CertificateRole::kCa:
      // No path length limit is needed (there are no intermediate CAs), and
      // pathlen:0 makes that explicit.
      AddExtension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
      AddExtension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case CertificateRole::kServer:
      AddExtension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
      // ECDHE-ECDSA: the key only ever signs the handshake.
      AddExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature");
      AddExtension(cert, &ctx, NID_ext_key_usage, "serverAuth");
      AddAltNames(cert, spec.alt_names);
      break;
    case CertificateRole::kClient:
      AddExtension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
      AddExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature");
      AddExtension(cert, &ctx, NID_ext_key_usage, "clientAuth");
      break;
  }
}

}  // namespace

void ThrowOpenssl(const std::string& what) {
  std::string reasons;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    reasons += reasons.empty() ? ": " : "; ";
    reasons += text;
  }
  throw host::UsageError("OpenSSL failed " + what + reasons);
}

PkeyPtr GenerateP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) ThrowOpenssl("generating an EC P-256 key");
  return key;
}

X509Ptr IssueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                         EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) ThrowOpenssl("making a certificate");
  Check(X509_set_version(cert.get(), X509_VERSION_3), "setting the version");
  SetRandomSerial(cert.get());
  SetSubject(cert.get(), spec.common_name);
  Check(X509_set_issuer_name(
            cert.get(), issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(cert.get())),
        "setting the issuer");
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), spec.days, 0, nullptr)) {
    ThrowOpenssl("setting the validity");
  }
  Check(X509_set_pubkey(cert.get(), subject_key), "setting the public key");
  AddExtensions(cert.get(), issuer, spec);
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) ThrowOpenssl("signing a certificate");
  return cert;
}

std::string CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), cert)) ThrowOpenssl("writing a certificate");
  return BioText(bio.get());
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      !PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    ThrowOpenssl("writing a private key");
  }
  return BioText(bio.get());
}

X509Ptr LoadCertificate(const std::string& path) {
  const auto pem = host::ReadFile(path);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!cert) throw host::UsageError(path + ": not a PEM certificate");
  return cert;
}

PkeyPtr LoadPrivateKey(const std::string& path) {
  const auto pem = host::ReadFile(path);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) throw host::UsageError(path + ": not an unencrypted PEM private key");
  return key;
}

std::string CommonNameOf(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<size_t>(ASN1_STRING_length(value)));
}

std::vector<BrokerName> AltNamesOf(X509* cert) {
  std::vector<BrokerName> out;
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!sans) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type == GEN_IPADD) {
      out.push_back(
          BrokerNameFromAddress(ASN1_STRING_get0_data(gn->d.iPAddress),
                                static_cast<size_t>(ASN1_STRING_length(gn->d.iPAddress))));
    } else if (gn->type == GEN_DNS) {
      const ASN1_STRING* s = gn->d.dNSName;
      out.push_back(
          BrokerNameFromDns(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                        static_cast<size_t>(ASN1_STRING_length(s)))));
    }
  }
  return out;
}

bool IssuedBy(X509* cert, X509* ca) {
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) != 0) return false;
  EVP_PKEY* ca_key = X509_get0_pubkey(ca);
  const bool ok = ca_key && X509_verify(cert, ca_key) == 1;
  ERR_clear_error();
  return ok;
}

bool IsCa(X509* cert) { return X509_check_ca(cert) != 0; }

}  // namespace mqota::cli
