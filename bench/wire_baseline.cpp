#include "wire_baseline.h"

#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "wire_probe.h"
#include "wire_raw_client.h"

namespace mqota::bench {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string LibmosquittoVersion() {
  int major = 0, minor = 0, revision = 0;
  mosquitto_lib_version(&major, &minor, &revision);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(revision);
}

BaselineResult RunBaseline(const BaselineOptions& o) {
  // Topics as long as the agent's (MQTT framing costs the same per message),
  // and outside mqota-server's "mqota/+/publish_notify": it must stay idle.
  const std::string requests = "bench/BENCH_BOARD/publish_notify";
  const std::string data = "bench/BENCH_BOARD/OTAImage/base-requester/0123456789abcdef";
  const std::string none;
  RawClient responder("base-responder", o, o.tls ? o.tls->responder_cert : none,
                      o.tls ? o.tls->responder_key : none, requests);
  RawClient requester("base-requester", o, o.tls ? o.tls->requester_cert : none,
                      o.tls ? o.tls->requester_key : none, data);

  const std::vector<uint8_t> chunk(o.chunk_bytes, 0x5a);
  responder.on_message = [&](const mosquitto_message*) {
    const uint32_t count = o.window == 0 ? o.chunks : 1;  // push: the whole image at once
    for (uint32_t i = 0; i < count; ++i) responder.Publish(data, chunk.data(), chunk.size());
  };

  std::mutex mutex;
  std::condition_variable done;
  uint32_t received = 0, asked = 0;
  Clock::time_point end;
  auto ask = [&] {  // the request: the offset as text, nothing a responder reads
    const std::string offset = std::to_string(uint64_t{asked++} * o.chunk_bytes);
    requester.Publish(requests, offset.data(), offset.size());
  };
  requester.on_message = [&](const mosquitto_message*) {
    std::lock_guard lock(mutex);
    if (++received == o.chunks) {
      end = Clock::now();
      done.notify_all();
    } else if (o.window != 0 && asked < o.chunks) {
      ask();
    }
  };

  BaselineResult result;
  if (!responder.WaitReady() || !requester.WaitReady()) {
    result.error = "baseline clients could not connect: " + requester.error();
    return result;
  }
  const int fd = mosquitto_socket(requester.mosq());
  if (auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(requester.mosq()))) {
    result.tls_version = SSL_get_version(ssl);
  }
  const SocketBytes before = ReadSocketBytes(fd);
  const ProcessUsage usage = ReadProcessUsage();
  Clock::time_point start;
  {
    std::unique_lock lock(mutex);
    start = Clock::now();
    for (uint32_t i = 0; i < (o.window == 0 ? 1 : o.window) && asked < o.chunks; ++i) ask();
    if (!done.wait_for(lock, std::chrono::seconds(20), [&] { return received == o.chunks; })) {
      result.error = "baseline: " + std::to_string(received) + " of " + std::to_string(o.chunks) +
                     " chunks after 20 s";
      return result;
    }
  }
  result.usage = ReadProcessUsage() - usage;
  result.wire_bytes = ReadSocketBytes(fd).total() - before.total();
  result.seconds = std::chrono::duration<double>(end - start).count();
  result.ok = true;
  return result;
}

}  // namespace mqota::bench
