#include "mqota/boot/app_api.h"

namespace mqota::boot {

BootStatus SetPending(const Trailer& secondary, bool permanent, uint8_t image_index) {
  MQOTA_TRY_ASSIGN(const TrailerState state, secondary.Read());
  if (state.magic == MagicState::kGood) return {};
  if (state.magic == MagicState::kBad) return BootError{BootErrc::kBadMagic, {}};
  MQOTA_TRY(secondary.WriteMagic());
  if (permanent) MQOTA_TRY(secondary.WriteImageOk());
  return secondary.WriteSwapInfo(permanent ? SwapType::kPerm : SwapType::kTest, image_index);
}

BootStatus SetConfirmed(const Trailer& primary) {
  MQOTA_TRY_ASSIGN(const TrailerState state, primary.Read());
  if (state.magic == MagicState::kUnset) return {};
  if (state.magic == MagicState::kBad) return BootError{BootErrc::kBadMagic, {}};
  if (state.image_ok != FlagState::kUnset) return {};
  return primary.WriteImageOk();
}

BootResult<SwapState> ReadSwapState(const Trailer& primary, const Trailer& secondary) {
  SwapState state{};
  MQOTA_TRY_ASSIGN(state.primary, primary.Read());
  MQOTA_TRY_ASSIGN(state.secondary, secondary.Read());
  state.next_boot = DecideSwapType(state.primary, state.secondary);
  state.running_unconfirmed = state.primary.magic == MagicState::kGood &&
                              state.primary.image_ok == FlagState::kUnset &&
                              state.primary.copy_done == FlagState::kSet;
  return state;
}

}  // namespace mqota::boot
