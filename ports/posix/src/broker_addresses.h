// The addresses a broker's name resolves to, tried one after the other.
//
// libmosquitto connects without blocking and stops at the first address that
// accepts its connect() call: on a machine whose "localhost" is ::1 first (as
// Debian's /etc/hosts has it) and a broker that listens on 127.0.0.1 only,
// every attempt went to ::1 and was refused. MqttClient hands libmosquitto
// one address per attempt from this list instead, so every address is tried
// before it backs off.
#pragma once

#include <string>
#include <vector>

namespace mqota::posix {

class BrokerAddresses {
 public:
  // Resolves `host` for TCP, any address family, in getaddrinfo's order. An IP
  // literal, or a name that does not resolve (libmosquitto will say why), is
  // the only entry.
  explicit BrokerAddresses(const std::string& host);

  // The host for the current attempt. The first is the name itself, so that a
  // TLS connection to the first address sends it as SNI; the others are the
  // remaining addresses in numeric form (the certificate is still checked
  // against the name: MqttClient sets it in the TLS context).
  const std::string& current() const { return hosts_[index_]; }
  // Moves to the next address. False when every address has been tried: the
  // round starts again with the first.
  bool Advance();
  // Back to the first address (after a connection that was up is lost).
  void Restart() { index_ = 0; }
  // The addresses tried in this round so far, for error messages:
  // "::1, 127.0.0.1". Empty when the name has a single address.
  std::string Tried() const;

 private:
  std::vector<std::string> hosts_;    // what to hand libmosquitto, per attempt
  std::vector<std::string> numeric_;  // the same addresses in numeric form
  size_t index_ = 0;
};

}  // namespace mqota::posix
