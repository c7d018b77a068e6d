#include "fleet_bench_baseline.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "wire_raw_client.h"

namespace mqota::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Topics as long as the agent's: its request topic and a session reply topic.
std::string RequestTopic(const std::string& id) {
  return "bench/MQOTA_VIRTUAL_BOARD/device/" + id + "/request";
}
std::string DataTopic(const std::string& id) {
  return "bench/MQOTA_VIRTUAL_BOARD/OTAImage/" + id + "/0123456789abcdef";
}

struct Requester {
  std::unique_ptr<RawClient> client;
  std::string request_topic;
  std::mutex mutex;
  uint32_t asked = 0;
  uint32_t received = 0;
};

}  // namespace

FanoutResult RunFanoutBaseline(const FanoutOptions& o) {
  BaselineOptions raw;
  raw.port = o.port;
  FanoutResult result;
  const std::vector<uint8_t> chunk(o.chunk_bytes, 0x5a);

  // The responder: one connection, as mqota-server has.
  RawClient responder("fan-responder", raw, "", "", "bench/MQOTA_VIRTUAL_BOARD/device/+/request");
  responder.on_message = [&](const mosquitto_message* m) {
    // bench/<board>/device/<id>/request -> the id
    const std::string topic(m->topic);
    const size_t start = topic.find("/device/") + 8;
    const std::string id = topic.substr(start, topic.rfind('/') - start);
    responder.Publish(DataTopic(id), chunk.data(), chunk.size());
  };
  if (!responder.WaitReady()) {
    result.error = "the baseline responder could not connect: " + responder.error();
    return result;
  }

  std::mutex done_mutex;
  std::condition_variable done_cv;
  uint32_t done = 0;
  Clock::time_point end;
  std::vector<std::unique_ptr<Requester>> requesters;
  auto ask = [&](Requester& r) {  // under r.mutex
    const std::string offset = std::to_string(uint64_t{r.asked++} * o.chunk_bytes);
    r.client->Publish(r.request_topic, offset.data(), offset.size());
  };
  for (uint32_t i = 0; i < o.devices; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "fan-%04u", i);
    auto r = std::make_unique<Requester>();
    r->request_topic = RequestTopic(id);
    r->client = std::make_unique<RawClient>(id, raw, "", "", DataTopic(id));
    Requester* self = r.get();
    r->client->on_message = [&, self](const mosquitto_message*) {
      std::lock_guard lock(self->mutex);
      if (++self->received == o.chunks) {
        std::lock_guard done_lock(done_mutex);
        end = Clock::now();
        if (++done == o.devices) done_cv.notify_all();
      } else if (self->asked < o.chunks) {
        ask(*self);
      }
    };
    requesters.push_back(std::move(r));
  }
  for (auto& r : requesters) {
    if (!r->client->WaitReady()) {
      result.error = "a baseline requester could not connect: " + r->client->error();
      return result;
    }
  }

  const Clock::time_point start = Clock::now();
  for (auto& r : requesters) {
    std::lock_guard lock(r->mutex);
    while (r->asked < o.window && r->asked < o.chunks) ask(*r);
  }
  bool all_done = false;
  uint32_t finished = 0;
  {
    std::unique_lock lock(done_mutex);  // released before the clients go
    all_done = done_cv.wait_for(lock, std::chrono::seconds(o.timeout_s),
                                [&] { return done == o.devices; });
    finished = done;
  }
  if (!all_done) {
    result.error = "baseline: " + std::to_string(finished) + " of " + std::to_string(o.devices) +
                   " devices had every chunk after " + std::to_string(o.timeout_s) + " s";
    return result;
  }
  result.seconds = std::chrono::duration<double>(end - start).count();
  result.ok = true;
  return result;
}

}  // namespace mqota::bench
