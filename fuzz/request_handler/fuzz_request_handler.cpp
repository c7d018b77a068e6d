// Fuzz target: mqota-server's handling of one MQTT message from a device
// (server/src/request_handler.cpp): the request topic it came on, then the
// payload, with a catalog of two hash-only images and an offer remembered
// for one topic. Covers every message a device can send: the reference
// requests, chunk requests, results, boot reports and Progress.
//
// Input: byte 0 picks the topic (the shared request topic, a device's own
// topic, another device's, a malformed one), the rest is the payload.
// Property: HandleRequest returns for any input without a crash or an
// exception escaping; whatever it publishes goes only to the request's
// UniqueTopicName, which lies in the board's subtree and is never a request
// topic; a JSON answer fits the device's 1023 bytes, a chunk its header plus
// at most 65535 data bytes and a CRC; a verified sender is the device of
// the topic it came on; a Progress percentage is at most 100.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqota/agent/protocol.h"
#include "mqota/host/signer.h"
#include "mqota/server/request_handler.h"

namespace {

using namespace mqota;

void Check(bool property) {
  if (!property) __builtin_trap();
}

const server::Catalog& TheCatalog() {
  static const server::Catalog catalog = [] {
    server::Catalog c;
    for (uint8_t minor : {1, 2}) {
      host::SignOptions o;
      o.header_size = 0x20;
      o.pad_header = true;
      o.version = {1, minor, 0, 0};
      o.align = 8;
      o.slot_size = 0x10000;
      std::vector<uint8_t> payload(3000 + minor * 1000, minor);
      c.Add("BOARD_A", "a.bin", host::BuildSignedImage(payload, o, nullptr), {});
    }
    return c;
  }();
  return catalog;
}

constexpr std::string_view kTopics[] = {
    "mqota/BOARD_A/publish_notify",       "mqota/BOARD_A/device/dev-1/request",
    "mqota/BOARD_A/device/dev-2/request", "mqota/BOARD_A/device//request",
    "mqota/BOARD_A/OTAImage/dev-1/x",     "mqota/+/publish_notify",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view topic = kTopics[data[0] % std::size(kTopics)];
  const std::span<const uint8_t> payload(data + 1, size - 1);
  const server::Catalog& catalog = TheCatalog();
  server::HandlerConfig config;
  config.flow_topic = "mqota/mqota-server/srv/flow";
  const server::EntryPtr offered_entry = catalog.entries().front();
  const server::OfferLookup offered = [&](std::string_view t) {
    return t == "mqota/BOARD_A/OTAImage/dev-1/4711" ? offered_entry : server::EntryPtr();
  };
  const server::RefusedLookup refused = [](std::string_view, const image::ImageVersion& v) {
    return v.minor == 2;
  };
  const server::ChooseImage choose = [&](const server::Asker& a) {
    return server::Choice{a.verified ? catalog.entries().back() : nullptr, "fuzz", 1};
  };
  for (const bool fleet : {false, true}) {
    const server::Response r = server::HandleRequest(
        topic, payload, catalog, offered, config, refused, fleet ? choose : server::ChooseImage{});
    Check(!r.log.empty());
    for (const auto& p : r.publish) {
      Check(p.topic == r.device_topic && !r.device_topic.empty());
      Check(p.topic.rfind("mqota/BOARD_A/", 0) == 0);
      Check(p.topic != "mqota/BOARD_A/publish_notify" && p.topic != config.flow_topic);
      const bool chunk = !p.payload.empty() && p.payload[0] != '{';
      Check(chunk ? p.payload.size() <= agent::kChunkHeaderBytes + 65535 + 4
                  : p.payload.size() <= agent::kMaxJsonDocumentBytes);
    }
    if (r.verified) {
      Check(topic == "mqota/BOARD_A/device/" + r.device + "/request");
    }
    if (r.report && r.report->percent) Check(*r.report->percent <= 100);
  }
  return 0;
}
