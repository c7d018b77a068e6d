#include "mqota/boot/swap_scratch_status.h"

namespace mqota::boot {

bool StatusSourceRow::Matches(const TrailerState& scratch, const TrailerState& primary) const {
  return boot::Matches(scratch_magic, scratch.magic) &&
         boot::Matches(scratch_copy_done, scratch.copy_done) &&
         boot::Matches(primary_magic, primary.magic) &&
         boot::Matches(primary_copy_done, primary.copy_done);
}

const char* Describe(StatusSource source) {
  switch (source) {
    case StatusSource::kStaleRecord: return "stale repair record";
    case StatusSource::kRepairRecord: return "repair record";
    case StatusSource::kTornCopyDone: return "torn copy_done";
    case StatusSource::kScratch: return "scratch";
    case StatusSource::kPrimary: return "primary";
  }
  return "?";
}

}  // namespace mqota::boot
