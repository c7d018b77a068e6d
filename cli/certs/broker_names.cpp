#include "certs/broker_names.h"

#include <arpa/inet.h>

#include <cctype>

#include "mqota/host/command_error.h"

namespace mqota::cli {
namespace {

// RFC 1123 host name: labels of letters, digits and '-', not starting or
// ending with '-', 1..63 characters each, 253 in all. '_' is left out on
// purpose: verifiers differ on it (mbedTLS and OpenSSL compare bytes, browsers
// refuse it), and a broker name must work for every client.
bool ValidDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(c) && c != '-') return false;
    if (c == '-' && label == 0) return false;
    ++label;
  }
  return true;
}

}  // namespace

BrokerName BrokerNameFromAddress(const uint8_t* bytes, size_t size) {
  BrokerName n;
  n.is_ip = true;
  n.address.assign(bytes, bytes + size);
  char text[INET6_ADDRSTRLEN] = {};
  const int family = size == 4 ? AF_INET : AF_INET6;
  if ((size == 4 || size == 16) && inet_ntop(family, bytes, text, sizeof text)) {
    n.text = text;
  } else {
    n.text = "(an address of " + std::to_string(size) + " bytes)";
  }
  return n;
}

BrokerName BrokerNameFromDns(const std::string& dns) {
  BrokerName n;
  n.text = dns;
  for (char& c : n.text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

BrokerName ParseBrokerName(const std::string& name) {
  uint8_t bytes[16];
  if (inet_pton(AF_INET, name.c_str(), bytes) == 1) return BrokerNameFromAddress(bytes, 4);
  if (inet_pton(AF_INET6, name.c_str(), bytes) == 1) return BrokerNameFromAddress(bytes, 16);
  if (ValidDnsName(name)) return BrokerNameFromDns(name);
  std::string hint;
  if (name.rfind("IP:", 0) == 0 || name.rfind("DNS:", 0) == 0) {
    hint = " (give the address or name alone, without a type prefix)";
  } else if (!name.empty() && name.front() == '[') {
    hint = " (give an IPv6 address without brackets)";
  }
  throw host::UsageError(
      "broker name '" + name +
      "' is neither an IP address nor a host name (letters, digits, '-' and '.')" + hint);
}

}  // namespace mqota::cli
