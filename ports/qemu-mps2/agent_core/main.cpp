// mqota-agent-core: the agent core alone on the M4, for its size and stack
// budget (ports/qemu-mps2/README.md#budgets), taking a whole update: the
// Agent state machine with its codecs (protocol, JSON, job document), the
// DownloadStore on the board's flash map, ECDSA verification (mbedTLS for the
// M4, as the bootloader verifies) and the boot layer's SetPending; no MQTT
// client, no TLS.
//
// Where the MQTT client would sit, a scripted reference publisher
// (reference_publisher.h) answers: the job document for 2.0.0, then the
// chunks of the image the build signed with the imgtool test key (the app
// 2.0.0 that mqota-boot.elf boots; embedded as scripted_update.h). The agent
// writes it into the secondary slot, journals it, verifies it and marks it
// pending. Then the slot is read back as the bootloader will read it.
//
// UART lines (tests match them, ports/qemu-mps2/README.md):
//   agent: connected, running 1.0.0
//   publisher: "<device message>" -> <answer>          one per answer
//   agent: downloaded <bytes> bytes in <chunks> chunks
//   agent: image 2.0.0 verified (ECDSA), pending       or: agent: not pending, ...
//   secondary: image header magic ok, version 2.0.0+0, the served image byte for byte (...)
//   secondary: trailer magic good, image_ok unset, swap_info 0x00000002: a test swap ...
//   stack: <bytes> of 8192 bytes used                  painted, the whole run
// Exit status 0 when the image is pending and the slot reads back right.
//
// Run on a flash file (boot-on-flash.sh) the writes persist, and
// mqota-boot.elf then installs the update from the same file.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "mqota/agent/agent.h"
#include "mqota/agent/download_store.h"
#include "mqota/flash/flash_area.h"
#include "mqota/image/error.h"
#include "mqota/image/validate.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/qemu_mps2/board_flash.h"
#include "mqota/qemu_mps2/console.h"
#include "mqota/qemu_mps2/memory_flash.h"
#include "mqota/qemu_mps2/stack.h"
#include "reference_publisher.h"
#include "scripted_update.h"
#include "slot_readback.h"
#include "trusted_key.h"

namespace {

using namespace mqota;
namespace board = qemu_mps2::board;
using qemu_mps2::ConsoleWrite;
using qemu_mps2::ConsoleWriteDec;

// What the MQTT client of a device would own: its receive buffer holds one
// chunk (the agent's preferred chunk size plus the 36-byte chunk header). It
// is part of the budget ("4 KiB static RAM plus one chunk buffer"); every
// message the publisher sends arrives in it.
constexpr uint32_t kChunkBytes = 4096;
alignas(4) std::array<uint8_t, kChunkBytes + 36> g_receive_buffer;

constexpr image::ImageVersion kRunning{1, 0, 0, 0};
constexpr image::ImageVersion kOffered{2, 0, 0, 0};
constexpr uint16_t kBrokerPort = 1883;
// Simulated time: a tick every 100 ms, as publisher.py sleeps 100 ms
// between chunks; a run that is not pending by then has failed.
constexpr uint64_t kStepMs = 100;
constexpr uint64_t kGiveUpMs = 120000;

class FixedEntropy final : public agent::Entropy {
 public:
  uint64_t Random64() override { return state_ = state_ * 6364136223846793005u + 1; }

 private:
  uint64_t state_ = 0x6d716f7461;
};

qemu_mps2::MemoryFlash g_chip(board::kGeometry, board::kFlashBase);
const flash::FlashArea g_secondary(g_chip, board::kSecondaryOffset, board::kSlotBytes);
const flash::FlashArea g_journal(g_chip, board::kJournalOffset, board::kJournalBytes);
std::array<uint8_t, board::kSlotBytes / kChunkBytes / 8 + 1> g_bitmap;
FixedEntropy g_entropy;

void WriteVersion(const image::ImageVersion& version) {
  std::array<char, agent::kProtocolVersionTextBytes> text{};
  ConsoleWrite(agent::FormatProtocolVersion(version, text).data());
}

}  // namespace

int main() {
  // A local: a global with a destructor would need atexit.
  ports::MbedtlsCrypto crypto;
  const image::TrustedKey keys[] = {
      {image::SignatureType::kEcdsaP256, qemu_mps2::boot_key::kTrustedKeyDer}};
  static agent::DownloadStore store(
      g_secondary, g_journal, {board::kSlotBytes - board::kTrailer.trailer_bytes()}, g_bitmap);
  agent::AgentConfig config;
  config.topic_prefix = "mqota";
  config.identity.device_id = "qemu-1";
  config.identity.board = "mps2-an386";
  config.running_version = kRunning;
  config.trusted_keys = keys;
  config.crypto = &crypto;
  config.broker_host = "localhost";
  config.broker_port = kBrokerPort;
  config.preferred_chunk_bytes = kChunkBytes;
  qemu_mps2::ReferencePublisher& publisher =
      qemu_mps2::ScriptedPublisher({"mqota/mps2-an386/publish_notify", "mps2-an386", kOffered,
                                    kBrokerPort, std::span(qemu_mps2::scripted::kUpdateImage)},
                                   g_receive_buffer);
  static agent::Agent agent(config, publisher, g_entropy, store, g_secondary, board::kTrailer);

  agent.OnConnected(0);
  ConsoleWrite("agent: connected, running ");
  WriteVersion(kRunning);
  ConsoleWrite("\n");
  // The port's loop: a tick, then what the network delivered. No announcement
  // comes (a reference publisher makes none), so the agent asks on the
  // shared request topic once its wait for one is over.
  for (uint64_t now = 0; now <= kGiveUpMs; now += kStepMs) {
    agent.OnTick(now);
    if (const auto message = publisher.Next()) {
      agent.OnMessage(message->topic, message->payload, now);
    }
    if (agent.reset_requested() && publisher.idle()) break;
  }

  const agent::AgentStatus& status = agent.status();
  ConsoleWrite("agent: downloaded ");
  ConsoleWriteDec(publisher.bytes_sent());
  ConsoleWrite(" bytes in ");
  ConsoleWriteDec(status.granules_present);
  ConsoleWrite(" chunks");
  if (status.bad_chunks != 0) {
    ConsoleWrite(", refused ");
    ConsoleWriteDec(status.bad_chunks);
  }
  ConsoleWrite("\n");
  const bool pending = agent.reset_requested();
  if (pending) {
    // Pending means ValidateImage passed with a signature required from
    // `keys` (the agent's FinishDownload): the ECDSA P-256 signature verified.
    ConsoleWrite("agent: image ");
    WriteVersion(status.offered);
    ConsoleWrite(" verified (ECDSA), pending\n");
  } else {
    // The reason as its number (agent.h, SessionEnd): Describe's sentences
    // would add their text to the core's size for a diagnostic.
    ConsoleWrite("agent: not pending, session end ");
    ConsoleWriteDec(static_cast<uint32_t>(status.last_end));
    if (status.last_end == agent::SessionEnd::kVerifyFailed) {
      ConsoleWrite(": ");
      ConsoleWrite(image::Describe(status.verify_error));
    }
    ConsoleWrite("\n");
  }
  const bool slot_ok = qemu_mps2::SecondaryHoldsPendingImage(
      g_secondary, board::kTrailer, std::span(qemu_mps2::scripted::kUpdateImage), kOffered);
  ConsoleWrite("stack: ");
  ConsoleWriteDec(qemu_mps2::StackUsedBytes());
  ConsoleWrite(" of ");
  ConsoleWriteDec(qemu_mps2::StackSizeBytes());
  ConsoleWrite(" bytes used\n");
  return pending && slot_ok && publisher.overflows() == 0 ? 0 : 1;
}
