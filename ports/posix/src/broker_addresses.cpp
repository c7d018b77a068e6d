#include "broker_addresses.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

namespace mqota::posix {
namespace {

struct AddrinfoFree {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};

std::vector<std::string> Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: it drops ::1 on a machine whose only IPv6 address is
  // loopback, and an address this machine cannot reach just fails fast.
  addrinfo* raw = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &raw) != 0) return {};
  const std::unique_ptr<addrinfo, AddrinfoFree> list(raw);
  std::vector<std::string> numeric;
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0)
      continue;
    if (std::find(numeric.begin(), numeric.end(), text) == numeric.end())
      numeric.emplace_back(text);
  }
  return numeric;
}

}  // namespace

BrokerAddresses::BrokerAddresses(const std::string& host) : numeric_(Resolve(host)) {
  hosts_.push_back(host);
  if (numeric_.size() > 1) hosts_.insert(hosts_.end(), numeric_.begin() + 1, numeric_.end());
}

bool BrokerAddresses::Advance() {
  index_ = (index_ + 1) % hosts_.size();
  return index_ != 0;
}

std::string BrokerAddresses::Tried() const {
  if (hosts_.size() < 2) return {};
  std::string tried;
  // The round so far: the first address (reached through the name) up to
  // the current one.
  for (size_t i = 0; i <= index_; ++i) tried += (i ? ", " : "") + numeric_[i];
  return tried;
}

}  // namespace mqota::posix
