// `mqota certs`: the PKI of one broker and its fleet, as a C++ API (the CLI
// command, `mqota demo` and the tests all call it in-process).
//
// Directory layout (everything PEM; keys are unencrypted PKCS#8, mode 0600):
//
//   DIR/ca.crt              the CA: EC P-256, self-signed, CA:TRUE, ~10 years
//   DIR/ca.key              its key: keep it here only as long as certificates
//                           are issued; the broker and the devices never need it
//   DIR/broker.crt          the broker: CN "mqota broker", serverAuth, one SAN
//   DIR/broker.key            per broker name (IP SAN for an address, else DNS)
//   DIR/clients/<id>.crt    one per device (CN = device id, which mosquitto
//   DIR/clients/<id>.key      takes as the username) and one for the server
//                           client (CN "mqota-server"), clientAuth
//
// Every file is written atomically (temporary file, fsync, rename), a key
// before its certificate, so a certificate never exists without its key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mqota::cli {

class PkiLayout {
 public:
  explicit PkiLayout(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_cert() const { return dir_ / "ca.crt"; }
  std::filesystem::path ca_key() const { return dir_ / "ca.key"; }
  std::filesystem::path broker_cert() const { return dir_ / "broker.crt"; }
  std::filesystem::path broker_key() const { return dir_ / "broker.key"; }
  std::filesystem::path clients_dir() const { return dir_ / "clients"; }
  std::filesystem::path client_cert(const std::string& id) const {
    return clients_dir() / (id + ".crt");
  }
  std::filesystem::path client_key(const std::string& id) const {
    return clients_dir() / (id + ".key");
  }

 private:
  std::filesystem::path dir_;
};

inline constexpr const char* kDefaultServerClientId = "mqota-server";

struct CertsOptions {
  std::filesystem::path out;  // DIR; created if missing
  // Client certificates to have: one per device id (validated as MQTT
  // usernames and topic levels, see common/mqtt_names.h).
  std::vector<std::string> devices;
  // The server's client certificate, always issued.
  std::string server_client = kDefaultServerClientId;
  // The broker certificate's names. Unset: 127.0.0.1, ::1 and localhost for a
  // new broker certificate, and any names for one that exists. Set: an
  // existing broker certificate must have exactly these names.
  std::optional<std::vector<std::string>> broker_names;
  int leaf_days = 825;  // broker and clients (the CA/B Forum's old maximum)
  int ca_days = 3650;
  // Start over: a new CA, and new certificates for the broker and every
  // client named, replacing existing files. Without it nothing is replaced.
  bool force = false;
};

struct CertsOutcome {
  bool ca_created = false;
  bool broker_issued = false;
  std::vector<std::string> clients_issued;  // ids, server client first
  std::vector<std::string> clients_kept;    // already there and valid
  // After --force made a new CA: client certificates in DIR not named in
  // this run; they are left alone but no longer chain to the CA.
  std::vector<std::string> clients_orphaned;
};

inline std::vector<std::string> DefaultBrokerNames() { return {"127.0.0.1", "::1", "localhost"}; }

// Makes what is missing in DIR, and keeps (and checks) what is there: with a
// CA in DIR, only the missing client certificates are issued, by that CA, so
// a fleet grows by running the command again with new --device ids.
//
// Throws UsageError, before writing anything, when:
// - an argument is invalid (a device id, a broker name, days <= 0, a device
//   id equal to the server client's id);
// - DIR has certificates or keys but no CA certificate, or the CA's key is
//   missing, does not match, or ca.crt is not a CA;
// - an existing broker or client certificate lacks its key (or the reverse),
//   does not match its key, is not issued by DIR's CA, has another CN, or
//   (broker, with broker_names set) other names.
// Each of these is fixed by removing the files or by `force`. Throws
// UsageError naming the path when a file cannot be written; files written
// before that stay (each is complete) and a rerun issues the rest, except
// that a key whose certificate was never written must be removed first.
CertsOutcome MakeCertificates(const CertsOptions& options);

// The ids of the client certificates in DIR/clients, sorted.
std::vector<std::string> ClientIdsIn(const PkiLayout& layout);

}  // namespace mqota::cli
