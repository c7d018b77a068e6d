// What the demo firmware says on its UART when an update session ends
// without an install: one line naming the version and the reason, as the
// reference's console does, so a refusal is not only in the server's log.
#pragma once

#include <optional>
#include <string>

#include "mqota/agent/agent.h"

namespace mqota::app {

// "ota: refused 1.2.0: the job is for another board (this is KIT_A)", or
// nullopt for the ends a device sees every check (no job, no newer version)
// and for an install (announced on its own).
std::optional<std::string> SessionEndLine(const agent::AgentStatus& status,
                                          const std::string& board);

}  // namespace mqota::app
