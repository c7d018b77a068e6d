// A real mosquitto broker for integration tests: started on a free loopback
// port with a generated configuration (or from a configuration file written
// elsewhere), stopped (and its generated files removed) by the
// destructor. Plain TCP, or TLS with client certificates required, the
// certificate's CN as the username (use_identity_as_username), and an
// optional ACL file, as a production broker is configured.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mqota/testing/files.h"

namespace mqota::testing {

// A throwaway PKI made with the openssl command: a CA, a server certificate
// for 127.0.0.1 and ::1 (IP SANs), and client certificates by CN.
class TestPki {
 public:
  explicit TestPki(const std::filesystem::path& dir);
  // Issues (once) a client certificate for `cn`; returns its {cert, key}.
  std::pair<std::filesystem::path, std::filesystem::path> Client(const std::string& cn);
  std::filesystem::path ca_cert() const { return dir_ / "ca.crt"; }
  std::filesystem::path server_cert() const { return dir_ / "server.crt"; }
  std::filesystem::path server_key() const { return dir_ / "server.key"; }

 private:
  std::filesystem::path dir_;
};

struct BrokerOptions {
  bool tls = false;
  // With TLS: the minimum protocol ("tlsv1.2" or "tlsv1.3").
  std::string tls_version = "tlsv1.2";
  // mosquitto ACL file content; empty: no ACL (everything allowed).
  std::string acl;
  // Extra configuration lines.
  std::vector<std::string> extra;
};

class MosquittoBroker {
 public:
  // Starts the broker (in `dir`, which holds the PKI when TLS is on) and
  // waits until it accepts connections. Throws std::runtime_error with the
  // broker's log when it does not come up within 10 s.
  MosquittoBroker(const std::filesystem::path& dir, const BrokerOptions& options,
                  TestPki* pki = nullptr);
  // Starts mosquitto with a configuration written elsewhere (e.g. by `mqota
  // broker-config`) that listens on 127.0.0.1:`port` and logs to `log`
  // (Log() reads it); waits as the constructor above does. Its files are the
  // caller's and stay.
  static std::unique_ptr<MosquittoBroker> FromConfigFile(const std::filesystem::path& config,
                                                         int port,
                                                         const std::filesystem::path& log);
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  // SIGKILL now (a broker crash); Restart() brings it back on the same port.
  void Kill();
  void Restart();
  // SIGSTOP / SIGCONT: a broker that stops answering (its connections stay
  // open, nothing is acknowledged), then goes on.
  void Freeze();
  void Thaw();
  std::string Log() const;

 private:
  MosquittoBroker() = default;
  void Launch();
  std::filesystem::path dir_;
  std::filesystem::path config_;
  std::filesystem::path log_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreeLoopbackPort();

}  // namespace mqota::testing
