// The network of mqota-agent-core, scripted: the reference publisher
// (publisher.py, docs/spec/reference-protocol.md#publisher-answers) and the
// broker between it and the agent, in static storage, no heap. It stands
// where a device's MQTT client sits, so the agent runs a whole reference
// session on the target: "Update Availability" is answered with the job
// document (ota_update.json with Message and UniqueTopicName set), "Request
// Update" with every chunk of the image in index order, 4096 data bytes each
// (docs/spec/reference-protocol.md#how-the-publisher-cuts-an-image), a result
// with "Result Received".
//
// Publish only copies the device's message into an outbox, as a client
// copies it into its send buffer: the publisher reads it in Next(), outside
// the agent's call, so the agent's measured stack holds no frame of the
// script. Next() hands over the next message for the device, copied into the
// device's MQTT receive buffer, as the client would receive it; a message
// for a topic the device is not subscribed to is dropped, as the broker
// drops it. It prints one UART line per answer ("publisher: ...").
//
// It encodes the chunk header itself, from the spec's table, not with the
// agent's EncodeChunkHeader: as publisher.py has its own struct.pack, the
// agent's decoder meets an encoder that does not share its code.
//
// Not part of the agent core's budget: built into libmqota_qemu_mps2_script,
// which size_report.py shows apart (ports/qemu-mps2/README.md#budgets).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "mqota/agent/agent.h"
#include "mqota/agent/protocol.h"
#include "mqota/image/format.h"

namespace mqota::qemu_mps2 {

// What ota_update.json says, and the file the publisher serves.
struct PublisherScript {
  std::string_view request_topic;  // "<P>/<B>/publish_notify": where it listens
  std::string_view board;
  image::ImageVersion version;  // "Version", and the chunk headers' version
  uint16_t port = 0;            // "Port"; "Broker" is "" (the current broker)
  std::span<const uint8_t> image;
};

struct Delivery {
  std::string_view topic;
  std::span<const uint8_t> payload;
};

class ReferencePublisher final : public agent::Transport {
 public:
  // `receive`: the device's MQTT receive buffer; it must hold a chunk
  // (kChunkHeaderBytes + kReferenceChunkDataBytes).
  ReferencePublisher(const PublisherScript& script, std::span<uint8_t> receive);

  bool Subscribe(std::string_view topic) override;
  bool Unsubscribe(std::string_view topic) override;
  bool Publish(std::string_view topic, std::span<const uint8_t> payload) override;

  // Answers what the device published last, then returns the next message
  // for it; nullopt when there is none.
  std::optional<Delivery> Next();
  bool idle() const { return outbox_length_ == 0 && answer_ == Answer::kNone; }

  uint32_t chunks_sent() const { return chunks_sent_; }
  uint32_t bytes_sent() const { return bytes_sent_; }
  // Device messages the outbox could not take (the agent published twice
  // before Next()): the run fails when there are any.
  uint32_t overflows() const { return overflows_; }

 private:
  enum class Answer : uint8_t { kNone, kJob, kChunks, kResultReceived };

  void ReadOutbox();
  std::optional<Delivery> Deliver(size_t length);
  size_t WriteDocument(std::string_view message);
  size_t WriteChunk(uint32_t index);
  bool IsSubscribed(std::string_view topic) const;

  PublisherScript script_;
  std::span<uint8_t> receive_;
  // The device's last message, unread.
  std::array<char, agent::kMaxJsonDocumentBytes> outbox_{};
  size_t outbox_length_ = 0;
  // The device's UniqueTopicName: where every answer goes.
  std::array<char, 192> topic_{};
  size_t topic_length_ = 0;
  Answer answer_ = Answer::kNone;
  uint32_t next_chunk_ = 0;
  // The device's subscriptions, by hash (FNV-1a): what the broker delivers.
  std::array<uint32_t, 8> subscriptions_{};
  uint32_t chunks_sent_ = 0;
  uint32_t bytes_sent_ = 0;
  uint32_t overflows_ = 0;
};

// The firmware's one publisher, in the script library's static storage, so
// that its RAM (the outbox above all) is counted with the script, not with
// the port. The first call makes it; later calls return it as it is.
ReferencePublisher& ScriptedPublisher(const PublisherScript& script, std::span<uint8_t> receive);

}  // namespace mqota::qemu_mps2
