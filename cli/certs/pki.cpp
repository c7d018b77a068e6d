#include "certs/pki.h"

#include <openssl/err.h>

#include <algorithm>

#include "certs/broker_names.h"
#include "certs/x509_issue.h"
#include "mqota/host/command_error.h"
#include "mqota/host/files.h"
#include "mqota/host/mqtt_names.h"

namespace mqota::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCaName = "mqota CA";
constexpr const char* kBrokerName = "mqota broker";
constexpr int kMaxDays = 100 * 366;

constexpr unsigned kKeyMode = 0600;
constexpr unsigned kCertMode = 0644;

bool Exists(const fs::path& path) {
  std::error_code ignored;
  return fs::symlink_status(path, ignored).type() != fs::file_type::not_found;
}

std::string Fix() { return " (remove the files or use --force to start over with a new CA)"; }

struct Issuer {
  X509Ptr cert;
  PkeyPtr key;
};

// DIR's CA: ca.crt must be a CA certificate and ca.key its key.
Issuer LoadCa(const PkiLayout& layout) {
  Issuer ca{LoadCertificate(layout.ca_cert()), nullptr};
  if (!IsCa(ca.cert.get()))
    throw host::UsageError(layout.ca_cert().string() + ": not a CA certificate");
  if (!Exists(layout.ca_key())) {
    throw host::UsageError(layout.ca_key().string() +
                           ": missing; issuing certificates with the CA in " +
                           layout.ca_cert().string() + " needs its key");
  }
  ca.key = LoadPrivateKey(layout.ca_key());
  const bool match = X509_check_private_key(ca.cert.get(), ca.key.get()) == 1;
  ERR_clear_error();
  if (!match) {
    throw host::UsageError(layout.ca_key().string() + ": not the key of " +
                           layout.ca_cert().string());
  }
  return ca;
}

// Without a CA certificate, nothing else may be in DIR: those files would
// belong to a CA we cannot issue for, and a new one would be overwritten.
void RefuseStrays(const PkiLayout& layout) {
  std::vector<fs::path> strays = {layout.ca_key(), layout.broker_cert(), layout.broker_key()};
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(layout.clients_dir(), ignored)) {
    strays.push_back(entry.path());
  }
  for (const auto& path : strays) {
    if (Exists(path)) {
      throw host::UsageError(path.string() + " exists but " + layout.ca_cert().string() +
                             " does not; refusing to overwrite it" + Fix());
    }
  }
}

std::string JoinNames(const std::vector<BrokerName>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n.text;
  return out;
}

bool SameNames(std::vector<BrokerName> a, std::vector<BrokerName> b) {
  auto by_text = [](const BrokerName& x, const BrokerName& y) { return x.text < y.text; };
  std::sort(a.begin(), a.end(), by_text);
  std::sort(b.begin(), b.end(), by_text);
  return a == b;
}

// An existing certificate and key. Returns false when neither exists (to be
// issued), true when both exist and are right; throws otherwise.
bool CheckExisting(const fs::path& cert_path, const fs::path& key_path, X509* ca,
                   const std::string& cn, const std::vector<BrokerName>* names) {
  const bool has_cert = Exists(cert_path), has_key = Exists(key_path);
  if (!has_cert && !has_key) return false;
  if (!has_cert) {
    throw host::UsageError(key_path.string() + " exists without " + cert_path.string() +
                           " (an interrupted run?); refusing to overwrite the key" + Fix());
  }
  if (!has_key) {
    throw host::UsageError(cert_path.string() + " exists without its key " + key_path.string() +
                           Fix());
  }
  const X509Ptr cert = LoadCertificate(cert_path);
  const PkeyPtr key = LoadPrivateKey(key_path);
  const bool match = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  std::string problem;
  if (!match) {
    problem = "does not match " + key_path.string();
  } else if (!IssuedBy(cert.get(), ca)) {
    problem = "was not issued by this directory's CA";
  } else if (CommonNameOf(cert.get()) != cn) {
    problem = "is issued to '" + CommonNameOf(cert.get()) + "', not '" + cn + "'";
  } else if (names && !SameNames(AltNamesOf(cert.get()), *names)) {
    problem = "is for " + JoinNames(AltNamesOf(cert.get())) + ", not " + JoinNames(*names);
  }
  if (!problem.empty()) throw host::UsageError(cert_path.string() + " " + problem + Fix());
  return true;
}

void WritePair(const fs::path& cert_path, const fs::path& key_path, EVP_PKEY* key, X509* cert) {
  host::WriteFileAtomically(key_path, PrivateKeyPem(key), kKeyMode);
  host::WriteFileAtomically(cert_path, CertificatePem(cert), kCertMode);
}

void CreateDirectory(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    throw host::UsageError(dir.string() + ": cannot create the directory: " + error.message());
}

struct Request {
  std::vector<std::string> client_ids;  // server client first, no duplicates
  std::vector<BrokerName> broker_names;
};

Request Validate(const CertsOptions& options) {
  if (options.out.empty()) throw host::UsageError("no output directory given");
  if (options.leaf_days <= 0 || options.leaf_days > kMaxDays || options.ca_days <= 0 ||
      options.ca_days > kMaxDays) {
    throw host::UsageError("validity must be 1.." + std::to_string(kMaxDays) + " days");
  }
  Request r;
  host::CheckClientId(options.server_client, "server client id");
  r.client_ids.push_back(options.server_client);
  for (const auto& id : options.devices) {
    host::CheckClientId(id, "device id");
    if (id == options.server_client) {
      // It would be the server's username, with the server's ACL rights.
      throw host::UsageError("device id '" + id + "' is the server client's id");
    }
    if (std::find(r.client_ids.begin(), r.client_ids.end(), id) == r.client_ids.end()) {
      r.client_ids.push_back(id);
    }
  }
  for (const auto& name : options.broker_names.value_or(DefaultBrokerNames())) {
    BrokerName parsed = ParseBrokerName(name);
    if (std::find(r.broker_names.begin(), r.broker_names.end(), parsed) == r.broker_names.end()) {
      r.broker_names.push_back(std::move(parsed));
    }
  }
  if (r.broker_names.empty())
    throw host::UsageError("the broker certificate needs at least one name");
  return r;
}

struct Leaf {
  std::string id;
  PkeyPtr key;
  X509Ptr cert;
};

Leaf IssueLeaf(CertificateRole role, const std::string& cn, const std::vector<BrokerName>& names,
               int days, const Issuer& ca) {
  Leaf leaf{cn, GenerateP256Key(), nullptr};
  CertificateSpec spec{role, cn, names, days};
  leaf.cert = IssueCertificate(spec, leaf.key.get(), ca.cert.get(), ca.key.get());
  return leaf;
}

}  // namespace

CertsOutcome MakeCertificates(const CertsOptions& options) {
  const Request request = Validate(options);
  const PkiLayout layout(options.out);
  CertsOutcome outcome;

  // Decide and issue everything in memory first: a refusal writes nothing.
  Issuer ca;
  if (!options.force && Exists(layout.ca_cert())) {
    ca = LoadCa(layout);
  } else {
    if (!options.force) RefuseStrays(layout);
    ca.key = GenerateP256Key();
    ca.cert = IssueCertificate({CertificateRole::kCa, kCaName, {}, options.ca_days}, ca.key.get(),
                               nullptr, ca.key.get());
    outcome.ca_created = true;
  }
  std::optional<Leaf> broker;
  if (outcome.ca_created ||
      !CheckExisting(layout.broker_cert(), layout.broker_key(), ca.cert.get(), kBrokerName,
                     options.broker_names ? &request.broker_names : nullptr)) {
    broker = IssueLeaf(CertificateRole::kServer, kBrokerName, request.broker_names,
                       options.leaf_days, ca);
  }
  std::vector<Leaf> clients;
  for (const auto& id : request.client_ids) {
    if (outcome.ca_created ||
        !CheckExisting(layout.client_cert(id), layout.client_key(id), ca.cert.get(), id, nullptr)) {
      clients.push_back(IssueLeaf(CertificateRole::kClient, id, {}, options.leaf_days, ca));
      outcome.clients_issued.push_back(id);
    } else {
      outcome.clients_kept.push_back(id);
    }
  }

  CreateDirectory(layout.clients_dir());
  if (outcome.ca_created) WritePair(layout.ca_cert(), layout.ca_key(), ca.key.get(), ca.cert.get());
  if (broker) {
    WritePair(layout.broker_cert(), layout.broker_key(), broker->key.get(), broker->cert.get());
    outcome.broker_issued = true;
  }
  for (const Leaf& leaf : clients) {
    WritePair(layout.client_cert(leaf.id), layout.client_key(leaf.id), leaf.key.get(),
              leaf.cert.get());
  }
  if (outcome.ca_created) {
    for (const auto& id : ClientIdsIn(layout)) {
      if (std::find(request.client_ids.begin(), request.client_ids.end(), id) ==
          request.client_ids.end()) {
        outcome.clients_orphaned.push_back(id);
      }
    }
  }
  return outcome;
}

std::vector<std::string> ClientIdsIn(const PkiLayout& layout) {
  std::vector<std::string> ids;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(layout.clients_dir(), ignored)) {
    if (entry.path().extension() == ".crt") ids.push_back(entry.path().stem().string());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace mqota::cli
