// The OTA task of the demo firmware: the device agent on the board's flash
// and the provisioned broker, and the health check that confirms an image on
// trial (only once it has reached the broker again), then reports the boot's
// outcome: confirmed, reverted or rejected.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "mqota/agent/agent.h"
#include "mqota/board/channel.h"
#include "mqota/boot/boot_record.h"

namespace mqota::app {

class OtaTask {
 public:
  // Nullptr and `error` set when the flash chips or the broker settings are
  // unusable.
  static std::unique_ptr<OtaTask> Start(const board::BoardFacts& facts,
                                        const std::optional<boot::BootRecord>& record,
                                        std::string* error);
  virtual ~OtaTask() = default;

  // Called by the main loop: true once a verified image is pending and the
  // board should reset into the bootloader.
  virtual bool ResetWanted() = 0;
  // An image on trial that has not reached the broker within its grace time
  // is not healthy: true tells the main loop to reset (and so revert).
  virtual bool TrialFailed() = 0;
};

}  // namespace mqota::app
