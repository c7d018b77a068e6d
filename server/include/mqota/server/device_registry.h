// What the server knows about each device from its reports: the versions it
// reverted, rejected or refused (never offered to it again: the reference
// publisher offers a reverted image forever, R16) and its last outcome
// (docs/spec/mqota-protocol.md#server-bookkeeping).
// In memory, thread-safe; the persistent registry (SQLite) and rollouts come
// with the server's second part.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "mqota/image/format.h"
#include "mqota/server/request_handler.h"

namespace mqota::server {

class DeviceRegistry {
 public:
  // Devices remembered at most: a report from a device beyond that is not
  // recorded (reports come from whoever can publish on a request topic).
  explicit DeviceRegistry(size_t max_devices = 100000) : max_devices_(max_devices) {}

  static constexpr size_t kMaxRefused = 256;
  struct Device {
    image::ImageVersion last_version{};
    std::string last_outcome;
    // (major, minor, revision): what a device's protocol version carries.
    std::set<std::tuple<uint8_t, uint8_t, uint16_t>> refused;  // at most kMaxRefused
  };

  // False when the report was not recorded (registry full).
  bool Record(const DeviceReport& report);
  bool Refused(std::string_view device, const image::ImageVersion& version) const;
  std::optional<Device> Find(std::string_view device) const;

 private:
  const size_t max_devices_;
  mutable std::mutex mutex_;
  std::map<std::string, Device, std::less<>> devices_;
};

}  // namespace mqota::server
