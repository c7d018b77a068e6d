// Half-raw runs of the wire benchmark, to tell which side of ours costs the
// time: mqota-server answering a raw device, and the real agent answered by a
// raw server. Both speak mqota's protocol (JSON requests, 32-byte chunk
// headers, CRC-32C when asked) with nothing else: no queues, no worker
// threads, no flash, answers sent from libmosquitto's network thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wire_baseline.h"

namespace mqota::bench {

// A raw device asking mqota-server (prefix "mqota", `board`) for every chunk
// of its newest image: pull with `options.window` requests in flight, each
// echoing "ChunkCrc": "crc32c", or (window 0) one "Request Update" and the
// server's push stream. Times the first request to the last chunk.
BaselineResult RunRawDevice(const BaselineOptions& options, const std::string& board);

// A raw server on "<prefix>/+/publish_notify": answers "Update Availability"
// with a job document for `image` (version 1.1.0, offering pull and CRC),
// "Request Update" with every chunk, "Request Data Chunk" with one chunk,
// all cut beforehand.
class RawServer {
 public:
  RawServer(const BaselineOptions& options, const std::vector<uint8_t>& image,
            const std::string& prefix);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  bool WaitReady();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqota::bench
