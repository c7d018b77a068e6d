#include "mqota/board/channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace mqota::board {

using nlohmann::json;

std::string ToHex(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::optional<std::vector<uint8_t>> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::vector<uint8_t> out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string EncodeFacts(const BoardFacts& f) {
  const json j = {{"device_id", f.device_id},
                  {"board", f.board},
                  {"serial_number", f.serial_number},
                  {"topic_prefix", f.topic_prefix},
                  {"broker_host", f.broker_host},
                  {"broker_port", f.broker_port},
                  {"tls", f.tls},
                  {"ca_file", f.ca_file},
                  {"cert_file", f.cert_file},
                  {"key_file", f.key_file},
                  {"trusted_key", ToHex(f.trusted_key_der)},
                  {"boot_record", ToHex(f.boot_record)},
                  {"reset_cause", f.reset_cause},
                  {"update_offset", f.update_offset_bytes},
                  {"check_interval_ms", f.check_interval_ms}};
  return j.dump();
}

std::optional<BoardFacts> DecodeFacts(std::string_view text, std::string* error) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = "board facts are not a JSON object";
    return std::nullopt;
  }
  BoardFacts f;
  try {
    f.device_id = j.at("device_id").get<std::string>();
    f.board = j.at("board").get<std::string>();
    f.serial_number = j.at("serial_number").get<std::string>();
    f.topic_prefix = j.at("topic_prefix").get<std::string>();
    f.broker_host = j.at("broker_host").get<std::string>();
    f.broker_port = j.at("broker_port").get<uint16_t>();
    f.tls = j.at("tls").get<bool>();
    f.ca_file = j.at("ca_file").get<std::string>();
    f.cert_file = j.at("cert_file").get<std::string>();
    f.key_file = j.at("key_file").get<std::string>();
    f.check_interval_ms = j.at("check_interval_ms").get<uint32_t>();
    f.reset_cause = j.at("reset_cause").get<std::string>();
    f.update_offset_bytes = j.value("update_offset", 0u);
    auto key = FromHex(j.at("trusted_key").get<std::string>());
    auto record = FromHex(j.at("boot_record").get<std::string>());
    if (!key || !record) {
      *error = "board facts: trusted_key or boot_record is not hex";
      return std::nullopt;
    }
    f.trusted_key_der = std::move(*key);
    f.boot_record = std::move(*record);
  } catch (const json::exception& e) {
    *error = std::string("board facts: ") + e.what();
    return std::nullopt;
  }
  return f;
}

std::optional<BoardLink> BoardLink::Attach(std::string* error) {
  pollfd p{kChannelFd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) {
    *error = "no board on descriptor 3 (this program runs inside mqota-board)";
    return std::nullopt;
  }
  std::string buffer(kMaxChannelMessageBytes, '\0');
  const ssize_t n = recv(kChannelFd, buffer.data(), buffer.size(), 0);
  if (n <= 0) {
    *error = "the board channel closed before the facts arrived";
    return std::nullopt;
  }
  buffer.resize(static_cast<size_t>(n));
  if (!std::string_view(buffer).starts_with(kFactsPrefix)) {
    *error = "the board sent no facts";
    return std::nullopt;
  }
  auto facts = DecodeFacts(std::string_view(buffer).substr(kFactsPrefix.size()), error);
  if (!facts) return std::nullopt;
  return BoardLink(std::move(*facts));
}

void BoardLink::Send(std::string_view message) const {
  // A board that went away (power cut) takes this process with it; nothing
  // to do about a failed send.
  while (send(kChannelFd, message.data(), message.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void BoardLink::Led(bool on) const { Send(on ? kLedOn : kLedOff); }
void BoardLink::KickWatchdog() const { Send(kKick); }
void BoardLink::RequestReset() const { Send(kReset); }

}  // namespace mqota::board
