// The narrow channel between the virtual board and the application it runs:
// the peripherals a firmware reaches through registers on a real kit, here a
// socket pair (SOCK_SEQPACKET: one message per datagram, never merged or
// split) plus the two flash chips as inherited file descriptors.
//
//   application -> board: "led 0" / "led 1", "kick" (the watchdog), "reset"
//   board -> application: "facts <JSON>", once, before anything else: the
//                         provisioning data and the boot record (BoardFacts)
//
// The application's stdout and stderr are the board's UART: the board prints
// each line with a prefix. Both sides of this header run on Linux only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqota::board {

// Descriptors the application inherits.
inline constexpr int kChannelFd = 3;
inline constexpr int kInternalFlashFd = 4;
inline constexpr int kExternalFlashFd = 5;

inline constexpr std::string_view kLedOn = "led 1";
inline constexpr std::string_view kLedOff = "led 0";
inline constexpr std::string_view kKick = "kick";
inline constexpr std::string_view kReset = "reset";
inline constexpr std::string_view kFactsPrefix = "facts ";

inline constexpr size_t kMaxChannelMessageBytes = size_t{16} * 1024;

// Why the MCU last reset, as its reset-cause register tells the firmware: a
// trial image reverted after a power loss is not evidence against it, one
// reverted after the watchdog bit is.
inline constexpr std::string_view kResetPowerOn = "power-on";
inline constexpr std::string_view kResetWatchdog = "watchdog";
inline constexpr std::string_view kResetSoftware = "software";

// What a production line writes into a device's provisioning area, plus what
// the bootloader leaves for the application. Not compiled into the image, so
// one signed image serves a whole fleet.
struct BoardFacts {
  std::string device_id;  // the client certificate's CN
  std::string board;
  std::string serial_number;
  std::string topic_prefix = "mqota";
  std::string broker_host = "127.0.0.1";
  uint16_t broker_port = 0;
  bool tls = true;
  std::string ca_file, cert_file, key_file;  // PEM files in the provisioning area
  // The bootloader's trusted signing key (DER SubjectPublicKeyInfo): images
  // the agent accepts must carry a signature by it, as the bootloader demands.
  std::vector<uint8_t> trusted_key_der;
  // The boot record (boot/boot_record.h) of this boot, 48 bytes.
  std::vector<uint8_t> boot_record;
  std::string reset_cause = std::string(kResetPowerOn);  // kReset*
  // How often the agent asks for a job (the reference: every 60 s,
  // docs/spec/reference-protocol.md#timers-and-retries).
  uint32_t check_interval_ms = 60000;
  // Where in the secondary slot the application writes an update: 0, or one
  // sector for a swap-offset bootloader (MCUboot's SWAP_USING_OFFSET_SECTOR_UPDATE_BEGIN;
  // docs/spec/mcuboot-trailer.md#swap-using-offset). The slot's trailer stays
  // at its end.
  uint32_t update_offset_bytes = 0;
};

std::string EncodeFacts(const BoardFacts& facts);
// Nullopt (and `error` set) when the JSON is not a complete BoardFacts.
std::optional<BoardFacts> DecodeFacts(std::string_view text, std::string* error);

std::string ToHex(const std::vector<uint8_t>& bytes);
std::optional<std::vector<uint8_t>> FromHex(std::string_view hex);

// The application's end of the channel.
class BoardLink {
 public:
  // Reads the facts from kChannelFd (waits up to 5 s). Nullopt and `error`
  // set when not started by a board or the facts are unreadable.
  static std::optional<BoardLink> Attach(std::string* error);

  const BoardFacts& facts() const { return facts_; }
  // Thread-safe: each is one datagram.
  void Led(bool on) const;
  void KickWatchdog() const;
  // Asks the board to reset now (the NVIC_SystemReset of a real MCU). The
  // board kills this process; RequestReset returns only if that is slow.
  void RequestReset() const;

 private:
  explicit BoardLink(BoardFacts facts) : facts_(std::move(facts)) {}
  void Send(std::string_view message) const;
  BoardFacts facts_;
};

}  // namespace mqota::board
