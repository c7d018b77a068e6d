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
