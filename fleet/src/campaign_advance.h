// The loop behind Registry::Advance, shared by every backend: ask NextStep,
// apply its answer, ask again, until it says kNothing. The backend runs it
// inside one transaction, with `load` and `apply` reading and writing
// through that transaction.
#pragma once

#include <cstddef>
#include <vector>

#include "mqota/fleet/campaign.h"

namespace mqota::fleet {

// Each wave meets its gate and opens once, and a halt or completion ends
// the loop (NextStep asks nothing of a campaign that is not running); the
// bound only stops a broken engine from spinning.
inline constexpr size_t kMaxStepsPerAdvance = 2 * 64 + 2;

template <typename Load, typename Apply>
std::vector<Step> AdvanceCampaign(Load&& load, Apply&& apply, TimeMs now) {
  std::vector<Step> taken;
  while (taken.size() < kMaxStepsPerAdvance) {
    Step step = NextStep(load(), now);
    if (step.kind == Step::kNothing) break;
    apply(step);
    taken.push_back(std::move(step));
  }
  return taken;
}

}  // namespace mqota::fleet
