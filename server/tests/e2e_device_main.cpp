// A device as its own process, for tests that kill it: the real agent with
// its POSIX plumbing, on a flash chip kept in a file (posix::FileFlash, so a
// SIGKILL is a power cut), behind the NOR model's write-once rule and with
// the slow writes and erases of a microcontroller's flash. It runs one update
// and exits: 0 once the image is verified and pending, 1 otherwise; its last
// stdout line is its status as JSON.
//
//   mqota_e2e_device --port P --flash FILE [--window W] [--chunk BYTES]
//                    [--ca CA --cert CERT --key KEY] [--write-delay-us N]
//                    [--erase-delay-us N] [--timeout-ms N]
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "e2e_device.h"
#include "mqota/agent/agent.h"
#include "mqota/boot/trailer.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/nor_flash_model.h"
#include "mqota/host/keys.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/file_flash.h"
#include "mqota/ports/posix/mqtt_transport.h"
#include "mqota/ports/posix/timed_flash.h"
#include "mqota/testing/files.h"

namespace mqota::server::testing {
namespace {

using namespace std::chrono_literals;

int Run(int argc, char** argv) {
  int port = 0;
  std::string flash_path, ca, cert, key;
  uint32_t window = 8, chunk = 4096;
  long write_delay_us = 0, erase_delay_us = 0, timeout_ms = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--port")
      port = std::atoi(v.c_str());
    else if (a == "--flash")
      flash_path = v;
    else if (a == "--window")
      window = static_cast<uint32_t>(std::atoi(v.c_str()));
    else if (a == "--chunk")
      chunk = static_cast<uint32_t>(std::atoi(v.c_str()));
    else if (a == "--ca")
      ca = v;
    else if (a == "--cert")
      cert = v;
    else if (a == "--key")
      key = v;
    else if (a == "--write-delay-us")
      write_delay_us = std::atol(v.c_str());
    else if (a == "--erase-delay-us")
      erase_delay_us = std::atol(v.c_str());
    else if (a == "--timeout-ms")
      timeout_ms = std::atol(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (port == 0 || flash_path.empty()) {
    std::fprintf(stderr, "--port and --flash are required\n");
    return 2;
  }

  const flash::FlashGeometry geometry{kE2eDeviceRuns, 8, 0xff};
  auto file =
      posix::FileFlash::Open(flash_path.c_str(), geometry, posix::FileFlashMode::kCreateIfMissing);
  if (!file.ok()) {
    std::fprintf(stderr, "%s: %s\n", flash_path.c_str(), posix::ToString(file.error()).c_str());
    return 1;
  }
  std::vector<uint8_t> programmed(flash::NorFlashModel::BitmapBytes(geometry));
  flash::NorFlashModel nor(*file, programmed);
  if (!nor.ResyncFromBacking().ok()) return 1;  // what the file holds is written
  // As slow as a microcontroller's flash, on the agent's thread, so a kill
  // can land between any two operations.
  posix::TimedFlash chip(nor, std::chrono::microseconds(write_delay_us),
                         std::chrono::microseconds(erase_delay_us));
  const flash::FlashArea secondary(chip, 0, kE2eSlotBytes);
  const flash::FlashArea journal(chip, kE2eSlotBytes, kE2eJournalBytes);
  std::array<uint8_t, 64> bitmap{};
  agent::DownloadStore store(secondary, journal,
                             agent::DownloadLimits{kE2eSlotBytes - kE2eTrailer.trailer_bytes()},
                             bitmap);

  const auto test_key =
      host::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string());
  const std::vector<uint8_t> key_der = test_key.PublicKeyDer();
  const image::TrustedKey trusted[] = {{image::SignatureType::kEcdsaP256, key_der}};
  ports::MbedtlsCrypto crypto;

  posix::MqttOptions options;
  options.port = port;
  options.client_id = "dev-e2e";
  options.reconnect_delay_max = 500ms;
  if (!ca.empty()) {
    options.tls_enabled = true;
    options.tls = {ca, cert, key, ""};
  }
  agent::AgentConfig c = E2eAgentConfig(port, trusted, crypto);
  c.window = window;
  c.preferred_chunk_bytes = chunk;

  posix::MqttClient client(options);
  posix::MqttTransport transport(client);
  posix::RandomEntropy entropy;
  agent::Agent agent(c, transport, entropy, store, secondary, kE2eTrailer);
  posix::AgentRunner runner(agent, client);
  runner.Start();
  if (!client.Start()) {
    std::fprintf(stderr, "%s\n", client.error().c_str());
    return 1;
  }
  runner.WaitFor(
      [](const agent::AgentStatus& s) {
        return s.state == agent::AgentState::kPending ||
               (s.last_end != agent::SessionEnd::kNone &&
                s.last_end != agent::SessionEnd::kStalled);
      },
      std::chrono::milliseconds(timeout_ms));
  const agent::AgentStatus s = runner.status();
  runner.Stop();
  std::printf(
      "{\"end\": \"%s\", \"pull\": %s, \"crc\": %s, \"granule_count\": %u, "
      "\"granules_at_start\": %u, \"chunk_requests\": %u, \"retries\": %u, \"crc_errors\": %u, "
      "\"bad_chunks\": %u}\n",
      agent::Describe(s.last_end), s.pull ? "true" : "false", s.crc ? "true" : "false",
      s.granule_count, s.granules_at_start, s.chunk_requests, s.retries, s.crc_errors,
      s.bad_chunks);
  std::fflush(stdout);
  return s.state == agent::AgentState::kPending ? 0 : 1;
}

}  // namespace
}  // namespace mqota::server::testing

int main(int argc, char** argv) { return mqota::server::testing::Run(argc, argv); }
