// The names a broker certificate is issued for: IP addresses become IP SANs
// and host names DNS SANs. The reference script wrote "DNS:IP:<ip>", a DNS
// name no client ever matches, so clients connecting by address refused the
// broker (S5, docs/spec/reference-protocol.md#certificate-script); here an
// address is parsed as one, or refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mqota::cli {

struct BrokerName {
  bool is_ip = false;
  // An address: its 4 or 16 bytes. A name: empty.
  std::vector<uint8_t> address;
  // Canonical text: inet_ntop's form of an address ("::1", never "0::1"), a
  // DNS name in lower case. Two names are the same SAN iff these are equal.
  std::string text;

  bool operator==(const BrokerName& other) const { return text == other.text; }
};

// "127.0.0.1", "::1", "broker.example.com". Throws UsageError for anything
// else (e.g. "IP:10.0.0.1", "[::1]", "my_broker", a trailing dot).
BrokerName ParseBrokerName(const std::string& name);

// From the certificate side: the raw bytes of an IP SAN (4 or 16), or a DNS
// SAN's text. Never throw.
BrokerName BrokerNameFromAddress(const uint8_t* bytes, size_t size);
BrokerName BrokerNameFromDns(const std::string& dns);

}  // namespace mqota::cli
