// Where swap-scratch's Resume() finds the state of an interrupted swap: its
// status-source table (MCUboot's boot_status_tables,
// docs/spec/mcuboot-trailer.md#scratch-status-source), kept as data like the swap-type table, so
// the test and boot/README.md print the same table the code runs.
//
// A GOOD scratch magic outranks the primary: it is written before and erased
// after every window in which the primary trailer is missing, half built or
// stale. Beyond upstream come the rows for a torn copy_done
// (docs/spec/mcuboot-trailer.md#torn-operations; see swap_scratch.h): its repair record in the
// scratch (magic erased, copy_done SET) outranks everything, since the primary trailer it rebuilds
// may read erased or half written; a primary whose copy_done cell is written but not SET is a
// finished swap to repair.
#pragma once

#include <cstdint>

#include "mqota/boot/trailer.h"
#include "mqota/boot/trailer_match.h"

namespace mqota::boot {

enum class StatusSource : uint8_t {
  kStaleRecord,   // the primary is finished; the repair record outlived it: erase it
  kRepairRecord,  // a torn copy_done's repair under way: complete it from the record
  kTornCopyDone,  // a finished swap whose copy_done write tore: repair it
  kScratch,       // the scratch trailer and log: the trailer region's states 0 and 1
  kPrimary,       // the primary trailer and log
};

struct StatusSourceRow {
  Want scratch_magic;
  Want scratch_copy_done;
  Want primary_magic;
  Want primary_copy_done;
  StatusSource source;

  bool Matches(const TrailerState& scratch, const TrailerState& primary) const;
};

// The rows in order. Resume() tries every row that matches the two trailers,
// in turn: a source may still turn out, on a closer look at its fields, the
// cells a torn write leaves or its log, to hold no swap of this image (a
// record whose copy_done write tore, a copy_done cell still erased, a log not
// complete, another image's scratch); the next matching row is then tried.
// No row left means nothing to resume.
inline constexpr StatusSourceRow kScratchStatusTable[] = {
    {Want::kUnset, Want::kNotUnset, Want::kGood, Want::kSet, StatusSource::kStaleRecord},
    {Want::kUnset, Want::kSet, Want::kAny, Want::kAny, StatusSource::kRepairRecord},
    {Want::kNotGood, Want::kAny, Want::kGood, Want::kNotSet, StatusSource::kTornCopyDone},
    {Want::kGood, Want::kAny, Want::kAny, Want::kAny, StatusSource::kScratch},
    {Want::kNotGood, Want::kAny, Want::kNotBad, Want::kUnset, StatusSource::kPrimary},
};

const char* Describe(StatusSource source);

}  // namespace mqota::boot
