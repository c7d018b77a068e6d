#include "wire_mixed.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include "mqota/agent/protocol.h"
#include "wire_probe.h"
#include "wire_raw_client.h"

namespace mqota::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace key = agent::key;
namespace message = agent::message;

// The string value of `name` in a flat JSON object as the agent and the
// server write them (no escapes in these values); "" when absent.
std::string_view Field(std::string_view json, std::string_view name) {
  // Appended, not `"\"" + std::string(name)`: GCC 12 at -O3 reports a false
  // -Wrestrict in that operator+ (GCC bug 105651).
  std::string quoted = "\"";
  quoted += name;
  quoted += '"';
  size_t at = json.find(quoted);
  if (at == std::string_view::npos) return {};
  at = json.find('"', json.find(':', at + quoted.size()));
  if (at == std::string_view::npos) return {};
  const size_t end = json.find('"', at + 1);
  return end == std::string_view::npos ? std::string_view{} : json.substr(at + 1, end - at - 1);
}

std::string_view Text(const mosquitto_message* m) {
  return {static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)};
}

}  // namespace

BaselineResult RunRawDevice(const BaselineOptions& o, const std::string& board) {
  const std::string requests = "mqota/" + board + "/publish_notify";
  const std::string topic = "mqota/" + board + "/OTAImage/raw-device/0123456789abcdef";
  const std::string none;
  RawClient device("base-requester", o, o.tls ? o.tls->requester_cert : none,
                   o.tls ? o.tls->requester_key : none, topic);
  // The agent's request, field for field (Version 1.0.0: the server picks
  // its newest newer image, as for a device that skipped the job).
  const std::string head =
      std::string(R"({"Message": ")") +
      std::string(o.window == 0 ? message::kRequestUpdate : message::kRequestDataChunk) +
      R"(", "Manufacturer": "mqota", "ManufacturerID": "MQOTA", )"
      R"("ProductID": "mqota-device", "SerialNumber": "SN1", "BoardName": ")" +
      board + R"(", "Version": "1.0.0", "UniqueTopicName": ")" + topic + "\"";
  std::mutex mutex;
  std::condition_variable done;
  uint32_t received = 0, asked = 0;
  Clock::time_point end;
  auto ask = [&] {
    std::string request = head;
    if (o.window != 0) {
      request += R"(, "Filename": "", "Offset": ")" +
                 std::to_string(uint64_t{asked} * o.chunk_bytes) + R"(", "Size": ")" +
                 std::to_string(o.chunk_bytes) + R"(", "ChunkCrc": "crc32c")";
    }
    request += "}";
    ++asked;
    device.Publish(requests, request.data(), request.size());
  };
  device.on_message = [&](const mosquitto_message*) {
    std::lock_guard lock(mutex);
    if (++received == o.chunks) {
      end = Clock::now();
      done.notify_all();
    } else if (o.window != 0 && asked < o.chunks) {
      ask();
    }
  };
  BaselineResult result;
  if (!device.WaitReady()) {
    result.error = "the raw device could not connect: " + device.error();
    return result;
  }
  const int fd = mosquitto_socket(device.mosq());
  const SocketBytes before = ReadSocketBytes(fd);
  const ProcessUsage usage = ReadProcessUsage();
  std::unique_lock lock(mutex);
  const auto start = Clock::now();
  for (uint32_t i = 0; i < (o.window == 0 ? 1 : o.window) && asked < o.chunks; ++i) ask();
  if (!done.wait_for(lock, std::chrono::seconds(20), [&] { return received == o.chunks; })) {
    result.error = "raw device: " + std::to_string(received) + " of " + std::to_string(o.chunks) +
                   " chunks from mqota-server after 20 s";
    return result;
  }
  result.usage = ReadProcessUsage() - usage;
  result.wire_bytes = ReadSocketBytes(fd).total() - before.total();
  result.seconds = std::chrono::duration<double>(end - start).count();
  result.ok = true;
  return result;
}

struct RawServer::Impl {
  Impl(const BaselineOptions& o, const std::vector<uint8_t>& image, const std::string& prefix)
      : client("raw-server", o, o.tls ? o.tls->responder_cert : "",
               o.tls ? o.tls->responder_key : "", prefix + "/+/publish_notify") {
    const uint32_t size = static_cast<uint32_t>(image.size());
    const uint32_t count = (size + o.chunk_bytes - 1) / o.chunk_bytes;
    for (uint32_t i = 0; i < count; ++i) {
      agent::ChunkHeader h;
      h.version_major = 1;
      h.version_minor = 1;
      h.total_size = size;
      h.image_offset = i * o.chunk_bytes;
      h.data_size = static_cast<uint16_t>(std::min(o.chunk_bytes, size - h.image_offset));
      h.total_num_payloads = static_cast<uint16_t>(count);
      h.this_payload_index = static_cast<uint16_t>(i);
      std::vector<uint8_t> chunk(agent::kChunkHeaderBytes);
      agent::EncodeChunkHeader(h, std::span<uint8_t, agent::kChunkHeaderBytes>(chunk));
      const std::span<const uint8_t> data(image.data() + h.image_offset, h.data_size);
      chunk.insert(chunk.end(), data.begin(), data.end());
      plain.push_back(chunk);
      const auto crc = agent::ChunkCrcBytes(data);
      chunk.insert(chunk.end(), crc.begin(), crc.end());
      with_crc.push_back(std::move(chunk));
    }
    chunk_bytes = o.chunk_bytes;
    job_tail = R"(", "Board": "MQOTA_VIRTUAL_BOARD", "Version": "1.1.0", "Connection": "MQTT", )"
               R"("Broker": "", "Port": ")" +
               std::to_string(o.port) + R"(", "ImageSize": ")" + std::to_string(size) +
               R"(", "ChunkSize": ")" + std::to_string(o.chunk_bytes) +
               R"(", "ChunkCrc": "crc32c"})";
    client.on_message = [this](const mosquitto_message* m) { Answer(Text(m)); };
  }

  void Answer(std::string_view request) {
    const std::string topic(Field(request, key::kUniqueTopicName));
    const std::string_view what = Field(request, key::kMessage);
    if (what == message::kUpdateAvailability) {
      const std::string job =
          R"({"Message": "Update Available", "UniqueTopicName": ")" + topic + job_tail;
      client.Publish(topic, job.data(), job.size());
    } else if (what == message::kRequestUpdate) {
      for (const auto& c : plain) client.Publish(topic, c.data(), c.size());
    } else if (what == message::kRequestDataChunk) {
      const size_t index =
          std::strtoull(std::string(Field(request, key::kOffset)).c_str(), nullptr, 10) /
          chunk_bytes;
      const auto& chunks = Field(request, key::kChunkCrc).empty() ? plain : with_crc;
      if (index < chunks.size()) {
        client.Publish(topic, chunks[index].data(), chunks[index].size());
      }
    }
  }

  std::vector<std::vector<uint8_t>> plain, with_crc;
  uint32_t chunk_bytes = 0;
  std::string job_tail;
  RawClient client;  // last: its thread stops before the chunks go
};

RawServer::RawServer(const BaselineOptions& options, const std::vector<uint8_t>& image,
                     const std::string& prefix)
    : impl_(std::make_unique<Impl>(options, image, prefix)) {}
RawServer::~RawServer() = default;
bool RawServer::WaitReady() { return impl_->client.WaitReady(); }

}  // namespace mqota::bench
