#include "mqota/server/topics.h"

#include "mqota/agent/protocol.h"

namespace mqota::server {
namespace {

bool HasWildcardOrNul(std::string_view topic) {
  return topic.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos;
}

// MQTT allows them in topics, but they have no business in a device's topic
// and each would cost 6 bytes in a job document ("\u0001").
bool HasControlCharacter(std::string_view topic) {
  for (char c : topic) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

bool ValidPrefix(std::string_view prefix) {
  return !prefix.empty() && !HasWildcardOrNul(prefix) && prefix.front() != '/' &&
         prefix.back() != '/' && prefix.find("//") == std::string_view::npos;
}

std::string RequestSubscription(std::string_view prefix) {
  std::string topic(prefix);
  topic += "/+/";
  topic += agent::kRequestTopicLeaf;
  return topic;
}

std::string DeviceRequestSubscription(std::string_view prefix) {
  std::string topic(prefix);
  topic += "/+/";
  topic += agent::kDeviceTopicPart;
  topic += "/+/";
  topic += agent::kDeviceRequestLeaf;
  return topic;
}

std::string DeviceStatusSubscription(std::string_view prefix) {
  std::string topic(prefix);
  topic += "/+/";
  topic += agent::kDeviceTopicPart;
  topic += "/+/";
  topic += agent::kDeviceStatusLeaf;
  return topic;
}

std::string SharedSubscription(std::string_view group, std::string_view filter) {
  if (group.empty()) return std::string(filter);
  std::string topic = "$share/";
  topic += group;
  topic += '/';
  topic += filter;
  return topic;
}

std::string NotifyTopic(std::string_view prefix, std::string_view board, std::string_view device) {
  std::string topic(prefix);
  topic += '/';
  topic += board;
  topic += '/';
  topic += agent::kDeviceTopicPart;
  topic += '/';
  topic += device;
  topic += '/';
  topic += agent::kDeviceNotifyLeaf;
  return topic;
}

std::string AnnounceTopic(std::string_view prefix) {
  std::string topic(prefix);
  topic += '/';
  topic += agent::kServerAnnounce;
  return topic;
}

namespace {

// "<prefix>/<board>/device/<device>/<leaf>": its board and device, or nullopt.
std::optional<RequestOrigin> DeviceTopicOrigin(std::string_view prefix, std::string_view topic,
                                               std::string_view leaf) {
  // "<prefix>/" then exactly four levels: board, "device", device, leaf.
  if (topic.size() <= prefix.size() + 1 || !topic.starts_with(prefix) ||
      topic[prefix.size()] != '/') {
    return std::nullopt;
  }
  std::string_view rest = topic.substr(prefix.size() + 1);
  std::string_view levels[4];
  for (int i = 0; i < 4; ++i) {
    const size_t slash = rest.find('/');
    levels[i] = rest.substr(0, slash);
    if (levels[i].empty() || (i < 3) == (slash == std::string_view::npos)) return std::nullopt;
    rest = i < 3 ? rest.substr(slash + 1) : std::string_view();
  }
  if (levels[1] != agent::kDeviceTopicPart || levels[3] != leaf) return std::nullopt;
  return RequestOrigin{levels[0], levels[2]};
}

}  // namespace

std::optional<RequestOrigin> OriginOfRequestTopic(std::string_view prefix, std::string_view topic) {
  if (auto board = BoardOfRequestTopic(prefix, topic)) return RequestOrigin{*board, {}};
  return DeviceTopicOrigin(prefix, topic, agent::kDeviceRequestLeaf);
}

std::optional<RequestOrigin> OriginOfStatusTopic(std::string_view prefix, std::string_view topic) {
  return DeviceTopicOrigin(prefix, topic, agent::kDeviceStatusLeaf);
}

std::optional<std::string_view> BoardOfRequestTopic(std::string_view prefix,
                                                    std::string_view topic) {
  const size_t leaf_bytes = agent::kRequestTopicLeaf.size() + 1;  // "/publish_notify"
  if (topic.size() <= prefix.size() + 1 + leaf_bytes) return std::nullopt;
  if (!topic.starts_with(prefix) || topic[prefix.size()] != '/') return std::nullopt;
  const std::string_view tail = topic.substr(topic.size() - leaf_bytes);
  if (tail[0] != '/' || tail.substr(1) != agent::kRequestTopicLeaf) return std::nullopt;
  const std::string_view board =
      topic.substr(prefix.size() + 1, topic.size() - prefix.size() - 1 - leaf_bytes);
  if (board.empty() || board.find('/') != std::string_view::npos) return std::nullopt;
  return board;
}

const char* RefuseReplyTopic(std::string_view prefix, std::string_view board,
                             std::string_view unique_topic) {
  if (unique_topic.empty()) return "the UniqueTopicName is empty";
  if (unique_topic.size() > kMaxReplyTopicBytes) return "the UniqueTopicName is too long";
  if (HasWildcardOrNul(unique_topic)) return "the UniqueTopicName holds a wildcard or NUL";
  if (HasControlCharacter(unique_topic)) return "the UniqueTopicName holds a control character";
  std::string subtree(prefix);
  subtree += '/';
  subtree += board;
  subtree += '/';
  if (!unique_topic.starts_with(subtree) || unique_topic.size() == subtree.size()) {
    return "the UniqueTopicName lies outside <prefix>/<board>/";
  }
  const std::string_view rest = unique_topic.substr(subtree.size());
  // Topics every device of the board listens on: a job document or a chunk
  // there would reach (and, for a reference device, abort: R4) all of them.
  if (rest == agent::kRequestTopicLeaf) return "the UniqueTopicName is the request topic";
  if (rest == agent::kDirectTopicPart) return "the UniqueTopicName is the shared direct topic";
  return nullptr;
}

std::string_view DeviceOfReplyTopic(std::string_view prefix, std::string_view board,
                                    std::string_view unique_topic) {
  std::string head(prefix);
  head += '/';
  head += board;
  head += '/';
  head += agent::kUniqueTopicPart;
  head += '/';
  if (!unique_topic.starts_with(head)) return {};
  const std::string_view rest = unique_topic.substr(head.size());
  const size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == rest.size() ||
      rest.find('/', slash + 1) != std::string_view::npos) {
    return {};
  }
  return rest.substr(0, slash);
}

}  // namespace mqota::server
