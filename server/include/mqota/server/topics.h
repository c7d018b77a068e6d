// The server's topics: where it listens, and which reply topics it accepts.
// A device names its own reply topic (UniqueTopicName), so that name is
// input to distrust: the server publishes only inside the device's board
// subtree, "<prefix>/<board>/...", and never on a topic other devices listen
// on (the request topic, the shared direct topic, wildcards).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mqota::server {

// A topic prefix: non-empty, no wildcards, no empty levels at either end.
bool ValidPrefix(std::string_view prefix);

// "<prefix>/+/publish_notify": every board's request topic.
std::string RequestSubscription(std::string_view prefix);
// "<prefix>/+/device/+/request": every device's own request topic
// (docs/spec/mqota-protocol.md#device-topics).
std::string DeviceRequestSubscription(std::string_view prefix);
// "<prefix>/+/device/+/status": every device's presence
// (docs/spec/mqota-protocol.md#presence).
std::string DeviceStatusSubscription(std::string_view prefix);
// "$share/<group>/<filter>": `filter` as a shared subscription of `group`
// (MQTT 5's, which mosquitto 2.0 also grants v3.1.1 clients): the broker
// hands each matching message to one subscriber of the group, and the topic
// it arrives on is the message's own. `filter` itself when `group` is "".
std::string SharedSubscription(std::string_view group, std::string_view filter);
// "<prefix>/<board>/device/<device>/notify": where a device is told to check now.
std::string NotifyTopic(std::string_view prefix, std::string_view board, std::string_view device);
// "<prefix>/mqota-server/announce": the server's retained announcement.
std::string AnnounceTopic(std::string_view prefix);

// Who sent a request, as far as its topic tells.
struct RequestOrigin {
  std::string_view board;
  // The device whose own request topic it came on: the broker's ACL lets
  // only that device (its certificate's CN) publish there. "" for the
  // shared request topic, where anyone of the board may publish.
  std::string_view device;
  bool verified() const { return !device.empty(); }
};

// The origin of "<prefix>/<board>/publish_notify" or
// "<prefix>/<board>/device/<device>/request", or nullopt for any other topic.
std::optional<RequestOrigin> OriginOfRequestTopic(std::string_view prefix, std::string_view topic);

// The board and device of "<prefix>/<board>/device/<device>/status", or
// nullopt. Only that device (and the broker, for its will) may publish there.
std::optional<RequestOrigin> OriginOfStatusTopic(std::string_view prefix, std::string_view topic);

// The board of a request topic "<prefix>/<board>/publish_notify", or nullopt.
std::optional<std::string_view> BoardOfRequestTopic(std::string_view prefix,
                                                    std::string_view topic);

// Longest reply topic accepted: the reference device keeps 256 bytes, and a
// 4128-byte chunk plus the topic must fit its 4608-byte receive buffer.
inline constexpr size_t kMaxReplyTopicBytes = 256;

// nullptr when the server may publish to `unique_topic` for a device of
// `board`; otherwise why not, as a phrase for the log.
const char* RefuseReplyTopic(std::string_view prefix, std::string_view board,
                             std::string_view unique_topic);

// The device id in an mqota agent's reply topic
// "<prefix>/<board>/OTAImage/<device id>/<nonce>", or "" for any other form
// (a reference device's "<prefix>/<board>/OTAImage/<n>" names no device).
// The broker's ACL lets only that device read the topic, so an id taken from
// it is the one whose answers the server sends there.
std::string_view DeviceOfReplyTopic(std::string_view prefix, std::string_view board,
                                    std::string_view unique_topic);

}  // namespace mqota::server
