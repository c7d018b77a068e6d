#include "mqota/server/device_registry.h"

namespace mqota::server {
namespace {

std::tuple<uint8_t, uint8_t, uint16_t> Key(const image::ImageVersion& v) {
  return {v.major, v.minor, v.revision};
}

}  // namespace

bool DeviceRegistry::Record(const DeviceReport& report) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(report.device);
  if (it == devices_.end()) {
    if (devices_.size() >= max_devices_) return false;
    it = devices_.emplace(report.device, Device{}).first;
  }
  Device& d = it->second;
  d.last_version = report.version;
  d.last_outcome = report.outcome;
  if (report.refused && d.refused.size() < kMaxRefused) d.refused.insert(Key(report.version));
  return true;
}

bool DeviceRegistry::Refused(std::string_view device, const image::ImageVersion& version) const {
  std::lock_guard lock(mutex_);
  const auto it = devices_.find(device);
  return it != devices_.end() && it->second.refused.contains(Key(version));
}

std::optional<DeviceRegistry::Device> DeviceRegistry::Find(std::string_view device) const {
  std::lock_guard lock(mutex_);
  const auto it = devices_.find(device);
  if (it == devices_.end()) return std::nullopt;
  return it->second;
}

}  // namespace mqota::server
