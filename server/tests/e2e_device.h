// What the end-to-end devices share: the flash layout of the device process
// (e2e_device_main.cpp) and the agent configuration of every e2e device.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "mqota/agent/agent.h"
#include "mqota/boot/trailer.h"
#include "mqota/flash/flash_device.h"

namespace mqota::server::testing {

inline constexpr char kE2eBoard[] = "MQOTA_VIRTUAL_BOARD";
inline constexpr boot::TrailerGeometry kE2eTrailer{8, 8, 128};
// The device process's chip: a 512 KiB secondary slot, then a two-sector
// journal, in 4 KiB sectors (one granule per sector at the default size).
inline constexpr uint32_t kE2eSectorBytes = 4096;
inline constexpr uint32_t kE2eSlotBytes = 128 * kE2eSectorBytes;
inline constexpr uint32_t kE2eJournalBytes = 2 * kE2eSectorBytes;
inline constexpr std::array<flash::SectorRun, 1> kE2eDeviceRuns{
    {{(kE2eSlotBytes + kE2eJournalBytes) / kE2eSectorBytes, kE2eSectorBytes}}};

inline agent::AgentConfig E2eAgentConfig(int broker_port,
                                         std::span<const image::TrustedKey> trusted,
                                         image::CryptoBackend& crypto) {
  agent::AgentConfig c;
  c.topic_prefix = "mqota";
  c.identity.device_id = "dev-1";
  c.identity.board = kE2eBoard;
  c.identity.serial_number = "SN1";
  c.running_version = {1, 0, 0, 0};
  c.trusted_keys = trusted;
  c.crypto = &crypto;
  c.broker_host = "127.0.0.1";
  c.broker_port = static_cast<uint16_t>(broker_port);
  c.job_timeout_ms = 5000;
  c.chunk_timeout_ms = 1500;  // push: ask again soon after a broker restart
  c.max_requests = 10;
  c.max_retries = 64;  // pull: a broker restart costs about two windows
  c.check_interval_ms = 1000;
  return c;
}

}  // namespace mqota::server::testing
