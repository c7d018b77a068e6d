// Trailer cells as a write torn by a power cut (docs/spec/mcuboot-trailer.md#torn-operations) may
// leave them, read the one way both swap algorithms must read them. swap_scratch.cpp and
// swap_move.cpp share this file so that their torn-write rules cannot drift
// apart.
//
// A status entry or flag is read from its cell's first byte, but a torn write
// may leave that byte erased while programming others of the W-byte cell. Such
// a cell counts as written here: an entry is its step's last write, so the
// step is complete, and writing the cell again would program bytes that are
// not erased. Only a tear that leaves every byte of the cell reading erased
// goes unseen (the limit in swap_scratch.h).
#pragma once

#include <cstdint>
#include <optional>

#include "mqota/boot/error.h"
#include "mqota/boot/trailer.h"

namespace mqota::boot {

// Whether status entry `index` of `log` is written, whole or torn.
BootResult<bool> StatusEntryWritten(const Trailer& log, uint32_t index);

// Entries written before the first unwritten one, at most `max_entries`
// (swap-scratch's reading). Entries after a gap, left by a failed status
// write, are ignored as upstream does: the bootloader validates the primary
// after a resumed swap.
BootResult<uint32_t> CountStatusEntries(const Trailer& log, uint32_t max_entries);

// Index of the last written entry, found scanning backwards (swap-move's
// reading). A cut can only lose the entry being written, never an earlier one,
// so the last entry marks the furthest completed step even if an entry before
// it reads erased.
BootResult<std::optional<uint32_t>> LastWrittenStatusEntry(const Trailer& log);

// copy_done is a swap's last write, alone in its cell: a cell that is written
// but does not read SET is that write, torn.
BootResult<bool> CopyDoneTorn(const Trailer& trailer, const TrailerState& state);

// The repair record that mends a torn copy_done, kept in a trailer a finished
// swap leaves erased (swap-scratch's scratch, swap-move's secondary): magic
// erased, copy_done SET, a swap type and size for this image. No swap writes
// a copy_done there, so a copy_done that is not erased under an erased magic
// is always this record, whole or torn; this says whether it is whole.
bool IsRepairRecord(const TrailerState& record, uint8_t image_index);

}  // namespace mqota::boot
