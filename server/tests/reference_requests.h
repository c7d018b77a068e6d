// Requests as the reference's own programs send them, for the unit and the
// integration tests (docs/spec/reference-protocol.md#device-requests).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mqota::server::testing {

// subscriber.py's "Update Availability": ota_message.json, with its own keys
// ("Board", "ManufacturerId", "Product" instead of the device's).
inline nlohmann::json EmulatorAsks(const std::string& unique_topic) {
  return {{"Message", "Update Availability"},
          {"Manufacturer", "x"},
          {"ManufacturerId", "y"},
          {"Product", "z"},
          {"SerialNumber", "1"},
          {"Version", "1.0.0"},
          {"Board", "BOARD_A"},
          {"UniqueTopicName", unique_topic}};
}

}  // namespace mqota::server::testing
