#include "mqota/fleet/model.h"

#include <array>

namespace mqota::fleet {
namespace {

// In EventKind's order; stored in the registry, so a name never changes.
constexpr std::array<std::string_view, 12> kEventKindNames = {
    "offered",   "downloading", "downloaded", "verified", "pending", "booted",
    "confirmed", "reverted",    "rejected",   "refused",  "failed",  "interrupted",
};
static_assert(std::size(kAllEventKinds) == kEventKindNames.size());

}  // namespace

std::string_view EventKindName(EventKind kind) {
  return kEventKindNames[static_cast<size_t>(kind)];
}

std::optional<EventKind> ParseEventKind(std::string_view name) {
  for (EventKind kind : kAllEventKinds) {
    if (EventKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

bool IsFailure(EventKind kind) {
  return kind == EventKind::kReverted || kind == EventKind::kRejected ||
         kind == EventKind::kRefused || kind == EventKind::kFailed;
}

bool BarsVersion(EventKind kind) {
  return kind == EventKind::kReverted || kind == EventKind::kRejected ||
         kind == EventKind::kRefused;
}

}  // namespace mqota::fleet
