// `mqota certs` as an API: what the certificates say (read back with
// OpenSSL), that they chain to the CA, the key files' modes, and the rules for
// existing files: never overwritten, the CA reused when the fleet grows.
#include "certs/pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <ctime>
#include <fstream>

#include "mqota/host/command_error.h"
#include "mqota/testing/files.h"

namespace mqota::cli {
namespace {

namespace fs = std::filesystem;
using mqota::testing::ReadFileBytes;
using mqota::testing::TempDir;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Cert Load(const fs::path& path) {
  const auto pem = ReadFileBytes(path);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Cert cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  EXPECT_TRUE(cert) << path;
  return cert;
}

std::string Text(const fs::path& path) {
  const auto bytes = ReadFileBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

unsigned Mode(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string Cn(X509* cert) {
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  return cn;
}

// Days from now to the certificate's notAfter.
int DaysLeft(X509* cert) {
  int days = 0, seconds = 0;
  EXPECT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)), 1);
  return days;
}

// X509_verify_cert against a store holding only `ca`, for `purpose`.
int Verify(X509* ca, X509* leaf, int purpose) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const int ok = X509_verify_cert(ctx);
  const int error = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return error;
}

// The subjectAltNames as "IP:<bytes in hex>" / "DNS:<name>".
std::vector<std::string> Sans(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_IPADD) {
      out.push_back(
          "IP:" + mqota::testing::ToHex({ASN1_STRING_get0_data(n->d.iPAddress),
                                         static_cast<size_t>(ASN1_STRING_length(n->d.iPAddress))}));
    } else if (n->type == GEN_DNS) {
      out.push_back("DNS:" +
                    std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                static_cast<size_t>(ASN1_STRING_length(n->d.dNSName))));
    } else {
      out.push_back("other");
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Common to every certificate mqota issues.
void ExpectModernCertificate(X509* cert) {
  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  EVP_PKEY* key = X509_get0_pubkey(cert);
  char group[64] = {};
  size_t len = 0;
  EVP_PKEY_get_group_name(key, group, sizeof group, &len);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_NE(X509_get0_subject_key_id(cert), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(cert), nullptr);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  EXPECT_EQ(ASN1_STRING_length(serial), 20);
  EXPECT_NE(ASN1_STRING_type(serial), V_ASN1_NEG_INTEGER);
}

CertsOptions Options(const fs::path& dir, std::vector<std::string> devices) {
  CertsOptions o;
  o.out = dir;
  o.devices = std::move(devices);
  return o;
}

TEST(Pki, MakesACaABrokerAndOneClientPerDevice) {
  TempDir tmp;
  const PkiLayout pki(tmp / "pki");
  const CertsOutcome outcome = MakeCertificates(Options(pki.dir(), {"dev-1", "dev-2"}));
  EXPECT_TRUE(outcome.ca_created);
  EXPECT_TRUE(outcome.broker_issued);
  EXPECT_EQ(outcome.clients_issued, (std::vector<std::string>{"mqota-server", "dev-1", "dev-2"}));
  EXPECT_EQ(ClientIdsIn(pki), (std::vector<std::string>{"dev-1", "dev-2", "mqota-server"}));

  const Cert ca = Load(pki.ca_cert());
  ExpectModernCertificate(ca.get());
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_get_extension_flags(ca.get()) & EXFLAG_CRITICAL, 0u)
      << "no unknown critical extension";
  const int bc = X509_get_ext_by_NID(ca.get(), NID_basic_constraints, -1);
  ASSERT_GE(bc, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(ca.get(), bc)), 1);
  EXPECT_EQ(X509_get_key_usage(ca.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NEAR(DaysLeft(ca.get()), 3650, 1);
  EXPECT_EQ(X509_check_issued(ca.get(), ca.get()), X509_V_OK);

  const Cert broker = Load(pki.broker_cert());
  ExpectModernCertificate(broker.get());
  EXPECT_EQ(X509_check_ca(broker.get()), 0);
  // 127.0.0.1 and ::1 as IP SANs (the reference wrote "DNS:IP:..."), localhost as DNS.
  EXPECT_EQ(Sans(broker.get()),
            (std::vector<std::string>{"IP:7f000001", "IP:00000000000000000000000000000001",
                                      "DNS:localhost"}));
  EXPECT_EQ(X509_check_ip_asc(broker.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(broker.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(broker.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(broker.get(), "IP:127.0.0.1", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_get_extended_key_usage(broker.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(broker.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_NEAR(DaysLeft(broker.get()), 825, 1);
  EXPECT_EQ(Verify(ca.get(), broker.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_NE(Verify(ca.get(), broker.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);

  for (const std::string id : {"dev-1", "dev-2", "mqota-server"}) {
    SCOPED_TRACE(id);
    const Cert client = Load(pki.client_cert(id));
    ExpectModernCertificate(client.get());
    EXPECT_EQ(Cn(client.get()), id);
    EXPECT_EQ(X509_get_extended_key_usage(client.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
    EXPECT_EQ(Verify(ca.get(), client.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    EXPECT_NE(Verify(ca.get(), client.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
    EXPECT_EQ(Sans(client.get()), std::vector<std::string>{});
  }
}

TEST(Pki, KeysArePrivatePkcs8AndMatchTheirCertificates) {
  TempDir tmp;
  const PkiLayout pki(tmp / "pki");
  MakeCertificates(Options(pki.dir(), {"dev-1"}));
  const std::vector<std::pair<fs::path, fs::path>> pairs = {
      {pki.ca_cert(), pki.ca_key()},
      {pki.broker_cert(), pki.broker_key()},
      {pki.client_cert("dev-1"), pki.client_key("dev-1")},
      {pki.client_cert("mqota-server"), pki.client_key("mqota-server")}};
  for (const auto& [cert_path, key_path] : pairs) {
    SCOPED_TRACE(key_path);
    EXPECT_EQ(Mode(key_path), 0600u);
    EXPECT_EQ(Mode(cert_path), 0644u) << "certificates are public";
    const std::string pem = Text(key_path);
    EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << pem;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ASSERT_NE(key, nullptr);
    const Cert cert = Load(cert_path);
    EXPECT_EQ(X509_check_private_key(cert.get(), key), 1);
    EVP_PKEY_free(key);
  }
  // No temporary files left beside them.
  for (const auto& entry : fs::recursive_directory_iterator(pki.dir())) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST(Pki, GrowingTheFleetKeepsTheCaAndTheExistingCertificates) {
  TempDir tmp;
  const PkiLayout pki(tmp / "pki");
  MakeCertificates(Options(pki.dir(), {"dev-1"}));
  const std::string ca = Text(pki.ca_cert()), ca_key = Text(pki.ca_key());
  const std::string broker = Text(pki.broker_cert()), dev1 = Text(pki.client_cert("dev-1"));

  const CertsOutcome outcome = MakeCertificates(Options(pki.dir(), {"dev-1", "dev-2"}));
  EXPECT_FALSE(outcome.ca_created);
  EXPECT_FALSE(outcome.broker_issued);
  EXPECT_EQ(outcome.clients_issued, std::vector<std::string>{"dev-2"});
  EXPECT_EQ(outcome.clients_kept, (std::vector<std::string>{"mqota-server", "dev-1"}));
  EXPECT_EQ(Text(pki.ca_cert()), ca);
  EXPECT_EQ(Text(pki.ca_key()), ca_key);
  EXPECT_EQ(Text(pki.broker_cert()), broker);
  EXPECT_EQ(Text(pki.client_cert("dev-1")), dev1);
  const Cert ca_cert = Load(pki.ca_cert());
  const Cert dev2 = Load(pki.client_cert("dev-2"));
  EXPECT_EQ(Verify(ca_cert.get(), dev2.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(Mode(pki.client_key("dev-2")), 0600u);

  // Only the new id named: the others are untouched too.
  MakeCertificates(Options(pki.dir(), {"dev-3"}));
  EXPECT_EQ(Text(pki.client_cert("dev-1")), dev1);
  EXPECT_EQ(ClientIdsIn(pki),
            (std::vector<std::string>{"dev-1", "dev-2", "dev-3", "mqota-server"}));
}

// Runs MakeCertificates expecting a UsageError that mentions `needle`.
void ExpectRefusal(const CertsOptions& options, const std::string& needle) {
  try {
    MakeCertificates(options);
    ADD_FAILURE() << "no error; expected one about " << needle;
  } catch (const host::CommandError& e) {
    EXPECT_EQ(e.exit_code(), host::kExitUsage);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Pki, RefusesToOverwriteFilesWithoutForce) {
  TempDir tmp;
  const PkiLayout pki(tmp / "pki");
  fs::create_directories(pki.dir());
  std::ofstream(pki.broker_key()) << "precious";
  ExpectRefusal(Options(pki.dir(), {"dev-1"}), "broker.key exists but");
  EXPECT_EQ(Text(pki.broker_key()), "precious");
  EXPECT_FALSE(fs::exists(pki.ca_cert())) << "a refusal writes nothing";
  EXPECT_FALSE(fs::exists(pki.ca_key()));

  // --force starts over.
  CertsOptions force = Options(pki.dir(), {"dev-1"});
  force.force = true;
  EXPECT_TRUE(MakeCertificates(force).ca_created);
  EXPECT_NE(Text(pki.broker_key()), "precious");
  EXPECT_EQ(Mode(pki.broker_key()), 0600u);
}

TEST(Pki, RefusesALoneKeyAndAForeignCertificate) {
  TempDir tmp;
  const PkiLayout pki(tmp / "pki"), other(tmp / "other");
  MakeCertificates(Options(pki.dir(), {"dev-1"}));
  MakeCertificates(Options(other.dir(), {"dev-2"}));

  fs::remove(pki.client_cert("dev-1"));
  const std::string key = Text(pki.client_key("dev-1"));
  ExpectRefusal(Options(pki.dir(), {"dev-1"}), "dev-1.key exists without");
  EXPECT_EQ(Text(pki.client_key("dev-1")), key);

  // dev-2's pair from another CA, dropped into this directory.
  fs::copy_file(other.client_cert("dev-2"), pki.client_cert("dev-2"));
  fs::copy_file(other.client_key("dev-2"), pki.client_key("dev-2"));
  fs::remove(pki.client_key("dev-1"));
  ExpectRefusal(Options(pki.dir(), {"dev-2"}), "not issued by this directory's CA");

  // A CA key that is not the CA certificate's.
  fs::remove(pki.client_cert("dev-2"));
  fs::remove(pki.client_key("dev-2"));
  fs::copy_file(other.ca_key(), pki.ca_key(), fs::copy_options::overwrite_existing);
  ExpectRefusal(Options(pki.dir(), {"dev-3"}), "not the key of");
  fs::remove(pki.ca_key());
  ExpectRefusal(Options(pki.dir(), {"dev-3"}), "ca.key: missing");
  EXPECT_FALSE(fs::exists(pki.client_cert("dev-3")));
}

TEST(Pki, ForceMakesANewCaAndNamesTheOrphans) {
  TempDir tmp;
  const PkiLayout pki(tmp / "pki");
  MakeCertificates(Options(pki.dir(), {"dev-1", "dev-2"}));
  const std::string old_ca = Text(pki.ca_cert());
  CertsOptions force = Options(pki.dir(), {"dev-1"});
  force.force = true;
  const CertsOutcome outcome = MakeCertificates(force);
  EXPECT_TRUE(outcome.ca_created);
  EXPECT_NE(Text(pki.ca_cert()), old_ca);
  EXPECT_EQ(outcome.clients_orphaned, std::vector<std::string>{"dev-2"});
  const Cert ca = Load(pki.ca_cert());
  const Cert dev1 = Load(pki.client_cert("dev-1"));
  const Cert dev2 = Load(pki.client_cert("dev-2"));
  EXPECT_EQ(Verify(ca.get(), dev1.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_NE(Verify(ca.get(), dev2.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

TEST(Pki, BrokerNamesAreIpOrDnsSansAndAnExistingBrokerMustMatchThem) {
  TempDir tmp;
  const PkiLayout pki(tmp / "pki");
  CertsOptions o = Options(pki.dir(), {});
  o.broker_names = {"192.168.1.10", "Broker.Example.com", "fe80::1"};
  o.leaf_days = 30;
  MakeCertificates(o);
  const Cert broker = Load(pki.broker_cert());
  EXPECT_EQ(Sans(broker.get()), (std::vector<std::string>{"IP:c0a8010a", "DNS:broker.example.com",
                                                          "IP:fe800000000000000000000000000001"}));
  EXPECT_NEAR(DaysLeft(broker.get()), 30, 1);

  // Same names in another order and spelling: kept. Other names: refused.
  o.broker_names = {"fe80:0::1", "broker.example.com", "192.168.1.10"};
  EXPECT_FALSE(MakeCertificates(o).broker_issued);
  o.broker_names = {"192.168.1.11"};
  ExpectRefusal(o, "is for 192.168.1.10, broker.example.com, fe80::1, not 192.168.1.11");
  // Names not given: whatever the existing certificate has is kept.
  o.broker_names.reset();
  EXPECT_FALSE(MakeCertificates(o).broker_issued);

  for (const std::string bad : {"IP:10.0.0.1", "[::1]", "my_broker", "a..b", "-a", ""}) {
    SCOPED_TRACE(bad);
    o.broker_names = std::vector<std::string>{bad};
    ExpectRefusal(o, "is neither an IP address nor a host name");
  }
  o.broker_names = std::vector<std::string>{"IP:10.0.0.1"};
  ExpectRefusal(o, "without a type prefix");
}

TEST(Pki, DeviceIdsMustBeUsableAsUsernamesAndTopicLevels) {
  TempDir tmp;
  const std::string longest(64, 'x');
  for (const std::string& bad :
       {std::string("a/b"), std::string("a+b"), std::string("#"), std::string(""),
        std::string(65, 'x'), std::string("a b"), std::string("a\nb"), std::string("a\0b", 3),
        std::string("a:b"), std::string("caf\xc3\xa9")}) {
    SCOPED_TRACE(bad);
    ExpectRefusal(Options(tmp / "pki", {bad}), "is not usable as an MQTT username and topic level");
  }
  EXPECT_FALSE(fs::exists(tmp / "pki"));
  ExpectRefusal(Options(tmp / "pki", {"mqota-server"}), "is the server client's id");
  MakeCertificates(Options(tmp / "pki", {longest, "A.b_c-9"}));
  const Cert cert = Load(PkiLayout(tmp / "pki").client_cert(longest));
  EXPECT_EQ(Cn(cert.get()), longest);
}

}  // namespace
}  // namespace mqota::cli
