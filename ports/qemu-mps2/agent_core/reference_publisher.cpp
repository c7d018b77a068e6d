#include "reference_publisher.h"

#include <algorithm>

#include "mqota/agent/job.h"
#include "mqota/agent/json.h"
#include "mqota/qemu_mps2/console.h"

namespace mqota::qemu_mps2 {
namespace {

namespace key = agent::key;
namespace message = agent::message;

// string_view::copy without its out_of_range (no exceptions on the target).
size_t CopyText(std::string_view from, std::span<char> to) {
  const size_t n = std::min(from.size(), to.size());
  std::copy_n(from.begin(), n, to.begin());
  return n;
}

uint32_t Hash(std::string_view text) {
  uint32_t h = 2166136261u;
  for (char c : text) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h == 0 ? 1 : h;  // 0 marks a free entry
}

// What publisher.py reads of a device's message: Message, UniqueTopicName
// (and the Outcome, to print it).
class RequestReader final : public agent::JsonMemberVisitor {
 public:
  void OnMember(const agent::JsonMember& member) override {
    if (member.type != agent::JsonType::kString) return;
    if (agent::KeyEquals(member.key, key::kMessage)) {
      message_length_ = CopyText(member.value, message_);
    } else if (agent::KeyEquals(member.key, key::kUniqueTopicName)) {
      topic_length_ = CopyText(member.value, topic_);
    } else if (agent::KeyEquals(member.key, key::kOutcome)) {
      outcome_length_ = CopyText(member.value, outcome_);
    }
  }
  std::string_view message() const { return {message_.data(), message_length_}; }
  std::string_view topic() const { return {topic_.data(), topic_length_}; }
  std::string_view outcome() const { return {outcome_.data(), outcome_length_}; }

 private:
  std::array<char, 32> message_{};
  std::array<char, 192> topic_{};
  std::array<char, 16> outcome_{};
  size_t message_length_ = 0;
  size_t topic_length_ = 0;
  size_t outcome_length_ = 0;
};

// The console takes NUL-terminated text: a view goes through a small buffer.
void Write(std::string_view text) {
  std::array<char, 33> part{};
  while (!text.empty()) {
    const size_t n = CopyText(text, std::span(part).first(part.size() - 1));
    part[n] = '\0';
    ConsoleWrite(part.data());
    text.remove_prefix(n);
  }
}

void WriteQuoted(std::string_view text) {
  ConsoleWrite("\"");
  Write(text);
  ConsoleWrite("\"");
}

}  // namespace

ReferencePublisher::ReferencePublisher(const PublisherScript& script, std::span<uint8_t> receive)
    : script_(script), receive_(receive) {}

bool ReferencePublisher::Subscribe(std::string_view topic) {
  if (IsSubscribed(topic)) return true;
  for (uint32_t& entry : subscriptions_) {
    if (entry == 0) {
      entry = Hash(topic);
      return true;
    }
  }
  return false;
}

bool ReferencePublisher::Unsubscribe(std::string_view topic) {
  const uint32_t h = Hash(topic);
  for (uint32_t& entry : subscriptions_) {
    if (entry == h) entry = 0;
  }
  return true;
}

bool ReferencePublisher::IsSubscribed(std::string_view topic) const {
  const uint32_t h = Hash(topic);
  return std::find(subscriptions_.begin(), subscriptions_.end(), h) != subscriptions_.end();
}

bool ReferencePublisher::Publish(std::string_view topic, std::span<const uint8_t> payload) {
  if (topic != script_.request_topic) return true;  // nobody listens there
  if (outbox_length_ != 0 || payload.size() > outbox_.size()) {
    ++overflows_;
    return false;
  }
  std::copy(payload.begin(), payload.end(), outbox_.begin());
  outbox_length_ = payload.size();
  return true;
}

// publisher.py's dispatch on Message; anything else it ignores.
void ReferencePublisher::ReadOutbox() {
  const std::string_view text(outbox_.data(), outbox_length_);
  outbox_length_ = 0;
  RequestReader request;
  std::array<char, 256> scratch{};
  if (!agent::ReadJsonObject(text, scratch, request).ok() || request.topic().empty()) {
    ConsoleWrite("publisher: malformed JSON document, ignored\n");
    return;
  }
  topic_length_ = CopyText(request.topic(), topic_);
  const std::string_view m = request.message();
  ConsoleWrite("publisher: ");
  WriteQuoted(m);
  if (m == message::kUpdateAvailability) {
    answer_ = Answer::kJob;
    std::array<char, agent::kProtocolVersionTextBytes> version{};
    ConsoleWrite(" -> job ");
    Write(agent::FormatProtocolVersion(script_.version, version));
    ConsoleWrite(" for ");
    Write(script_.board);
  } else if (m == message::kRequestUpdate) {
    answer_ = Answer::kChunks;
    next_chunk_ = 0;
    const auto count =
        static_cast<uint32_t>((script_.image.size() + agent::kReferenceChunkDataBytes - 1) /
                              agent::kReferenceChunkDataBytes);
    ConsoleWrite(" -> ");
    ConsoleWriteDec(count);
    ConsoleWrite(" chunks, ");
    ConsoleWriteDec(static_cast<uint32_t>(script_.image.size()));
    ConsoleWrite(" bytes");
  } else if (m == message::kSuccess || m == message::kFailure) {
    answer_ = Answer::kResultReceived;
    ConsoleWrite(" (Outcome ");
    Write(request.outcome());
    ConsoleWrite(") -> \"Result Received\"");
  } else {
    ConsoleWrite(": not understood, ignored");
  }
  ConsoleWrite("\n");
}

std::optional<Delivery> ReferencePublisher::Next() {
  if (outbox_length_ != 0) ReadOutbox();
  switch (answer_) {
    case Answer::kNone: return std::nullopt;
    case Answer::kJob:
      answer_ = Answer::kNone;
      return Deliver(WriteDocument(message::kUpdateAvailable));
    case Answer::kChunks: {
      const size_t length = WriteChunk(next_chunk_++);
      if (uint64_t{next_chunk_} * agent::kReferenceChunkDataBytes >= script_.image.size()) {
        answer_ = Answer::kNone;
      }
      ++chunks_sent_;
      bytes_sent_ += static_cast<uint32_t>(length - agent::kChunkHeaderBytes);
      return Deliver(length);
    }
    case Answer::kResultReceived:
      answer_ = Answer::kNone;
      return Deliver(WriteDocument(message::kResultReceived));
  }
  return std::nullopt;
}

std::optional<Delivery> ReferencePublisher::Deliver(size_t length) {
  const std::string_view topic(topic_.data(), topic_length_);
  if (length == 0) return std::nullopt;
  if (!IsSubscribed(topic)) {
    // The reference's "Result Received" always lands here: the device has
    // ended its session (R10).
    ConsoleWrite("publisher: nobody subscribed to the unique topic: dropped by the broker\n");
    return std::nullopt;
  }
  return Delivery{topic, receive_.first(length)};
}

// ota_update.json with Message and UniqueTopicName set, as publisher.py
// echoes it (docs/spec/reference-protocol.md#job-document).
size_t ReferencePublisher::WriteDocument(std::string_view message_text) {
  std::array<char, agent::kProtocolVersionTextBytes> version{};
  agent::JsonObjectWriter w(std::span(reinterpret_cast<char*>(receive_.data()), receive_.size()));
  w.Add(key::kMessage, message_text)
      .Add(key::kManufacturer, "mqota")
      .Add("ManufacturerId", "MQOTA")
      .Add(key::kProduct, "mqota-device")
      .Add(key::kSerialNumber, "")
      .Add(key::kBoard, script_.board)
      .Add(key::kVersion, agent::FormatProtocolVersion(script_.version, version))
      .Add(key::kConnection, agent::kConnectionMqtt)
      .Add(key::kBroker, "")
      .Add(key::kPort, uint64_t{script_.port})
      .Add(key::kUniqueTopicName, std::string_view(topic_.data(), topic_length_));
  const auto text = w.Finish();
  return text.ok() ? text->size() : 0;
}

// One chunk as publisher.py cuts it: the 32-byte header, then up to 4096
// data bytes at index * 4096.
size_t ReferencePublisher::WriteChunk(uint32_t index) {
  const auto total = static_cast<uint32_t>(script_.image.size());
  const uint32_t offset = index * static_cast<uint32_t>(agent::kReferenceChunkDataBytes);
  const uint32_t size =
      std::min<uint32_t>(total - offset, static_cast<uint32_t>(agent::kReferenceChunkDataBytes));
  const auto count = static_cast<uint32_t>((total + agent::kReferenceChunkDataBytes - 1) /
                                           agent::kReferenceChunkDataBytes);
  // "<8s5H2I3H": magic, offset_to_data, image_type, version major, minor,
  // build, total_size, image_offset, data_size, total_num_payloads,
  // this_payload_index; little-endian, the u32s unaligned.
  uint8_t* out = receive_.data();
  std::copy(agent::kChunkMagic.begin(), agent::kChunkMagic.end(), out);
  size_t at = agent::kChunkMagic.size();
  const auto put = [&](uint32_t value, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) out[at++] = static_cast<uint8_t>(value >> (8 * i));
  };
  put(agent::kChunkHeaderBytes, 2);
  put(agent::kImageTypeOneFile, 2);
  put(script_.version.major, 2);
  put(script_.version.minor, 2);
  put(script_.version.revision, 2);
  put(total, 4);
  put(offset, 4);
  put(size, 2);
  put(count, 2);
  put(index, 2);
  const auto data = script_.image.subspan(offset, size);
  std::copy(data.begin(), data.end(), receive_.begin() + agent::kChunkHeaderBytes);
  return agent::kChunkHeaderBytes + size;
}

ReferencePublisher& ScriptedPublisher(const PublisherScript& script, std::span<uint8_t> receive) {
  static ReferencePublisher publisher(script, receive);
  return publisher;
}

}  // namespace mqota::qemu_mps2
