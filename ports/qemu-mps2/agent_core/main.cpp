// mqota-agent-core: the agent core alone on the M4, for its size and stack
// budget (ports/qemu-mps2/README.md#budgets): the Agent state machine with its
// codecs (protocol, JSON, job document), the DownloadStore on the board's
// flash map, and the boot layer's app-side calls; no MQTT client, no TLS. The
// transport is a stub that only counts, as the MQTT client would sit there.
//
// The run drives one session: connect, the first tick, the announcement wait,
// the job request, then a job document that is not for this board and a
// malformed one on the session topic, so the JSON and job codecs run. Then it
// prints "agent-core: stack <bytes>" (painted stack, the whole run) and exits
// 0 when the agent asked for a job, 1 otherwise.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "mqota/agent/agent.h"
#include "mqota/agent/download_store.h"
#include "mqota/flash/flash_area.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/qemu_mps2/board_flash.h"
#include "mqota/qemu_mps2/console.h"
#include "mqota/qemu_mps2/memory_flash.h"
#include "mqota/qemu_mps2/stack.h"

namespace {

using namespace mqota;
namespace board = qemu_mps2::board;

// What the MQTT client of a device would own: its receive buffer holds one
// chunk (the agent's preferred chunk size plus the 36-byte chunk header). It
// is part of the budget ("4 KiB static RAM plus one chunk buffer").
constexpr uint32_t kChunkBytes = 4096;
alignas(4) std::array<uint8_t, kChunkBytes + 36> g_receive_buffer;

class CountingTransport final : public agent::Transport {
 public:
  bool Subscribe(std::string_view topic) override {
    topic_length_ = topic.copy(topic_.data(), topic_.size());
    return true;
  }
  bool Unsubscribe(std::string_view /*topic*/) override { return true; }
  bool Publish(std::string_view /*topic*/, std::span<const uint8_t> /*payload*/) override {
    ++publishes_;
    return true;
  }
  std::string_view last_topic() const { return {topic_.data(), topic_length_}; }
  uint32_t publishes() const { return publishes_; }

 private:
  std::array<char, 192> topic_{};
  size_t topic_length_ = 0;
  uint32_t publishes_ = 0;
};

class FixedEntropy final : public agent::Entropy {
 public:
  uint64_t Random64() override { return state_ = state_ * 6364136223846793005u + 1; }

 private:
  uint64_t state_ = 0x6d716f7461;
};

qemu_mps2::MemoryFlash g_chip(board::kGeometry, board::kFlashBase);
const flash::FlashArea g_secondary(g_chip, board::kSecondaryOffset, board::kSlotBytes);
const flash::FlashArea g_journal(g_chip, board::kScratchOffset, board::kScratchBytes);
std::array<uint8_t, board::kSlotBytes / kChunkBytes / 8 + 1> g_bitmap;
CountingTransport g_transport;
FixedEntropy g_entropy;

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

int main() {
  // A local: a global with a destructor would need atexit.
  ports::MbedtlsCrypto crypto;
  static agent::DownloadStore store(
      g_secondary, g_journal, {board::kSlotBytes - board::kTrailer.trailer_bytes()}, g_bitmap);
  agent::AgentConfig config;
  config.topic_prefix = "mqota";
  config.identity.device_id = "qemu-1";
  config.identity.board = "mps2-an386";
  config.running_version = {1, 0, 0, 0};
  config.crypto = &crypto;
  config.broker_host = "localhost";
  config.broker_port = 1883;
  config.preferred_chunk_bytes = kChunkBytes;
  static agent::Agent agent(config, g_transport, g_entropy, store, g_secondary, board::kTrailer);

  agent.OnConnected(0);
  for (uint64_t now = 0; now <= 5000; now += 100) agent.OnTick(now);
  const uint32_t asked = g_transport.publishes();
  const std::string_view topic = g_transport.last_topic();
  agent.OnMessage(topic,
                  Bytes(R"({"Message":"Update Availability","Manufacturer":"mqota",)"
                        R"("ManufacturerID":"MQOTA","ProductID":"mqota-device",)"
                        R"("SerialNumber":"","Version":"2.0.0","Board":"other-board",)"
                        R"("Connection":"MQTT","Port":"1883","Broker":"localhost"})"),
                  5100);
  agent.OnMessage(topic, Bytes(R"({"Message":"Update Availability","Version":)"), 5200);
  agent.OnMessage(topic, std::span(g_receive_buffer).first(64), 5300);
  for (uint64_t now = 5400; now <= 8000; now += 100) agent.OnTick(now);

  qemu_mps2::ConsoleWrite("agent-core: requests ");
  qemu_mps2::ConsoleWriteDec(asked);
  qemu_mps2::ConsoleWrite(", publishes ");
  qemu_mps2::ConsoleWriteDec(g_transport.publishes());
  qemu_mps2::ConsoleWrite("\nagent-core: stack ");
  qemu_mps2::ConsoleWriteDec(qemu_mps2::StackUsedBytes());
  qemu_mps2::ConsoleWrite("\n");
  return asked > 0 ? 0 : 1;
}
