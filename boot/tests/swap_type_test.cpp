#include "mqota/boot/swap_type.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "boot_readme.h"

namespace mqota::boot {
namespace {

TrailerState Make(MagicState magic, FlagState image_ok, FlagState copy_done) {
  TrailerState s;
  s.magic = magic;
  s.image_ok = image_ok;
  s.copy_done = copy_done;
  return s;
}

std::string PrintTable() {
  std::ostringstream table;
  int row = 0;
  for (const auto& r : kSwapTable) {
    table << "| " << ++row << " | " << Describe(r.primary_magic) << " | "
          << Describe(r.primary_image_ok) << " | " << Describe(r.primary_copy_done) << " | "
          << Describe(r.secondary_magic) << " | " << Describe(r.secondary_image_ok) << " | "
          << Describe(r.result) << " |\n";
  }
  return table.str();
}

// The table as docs/spec/mcuboot-trailer.md#swap-type-decision prints it,
// generated from kSwapTable: if the code's table changes, this text (and the
// doc) must change with it.
TEST(SwapTypeTable, PrintsAsTheSpecShowsIt) {
  EXPECT_EQ(PrintTable(),
            "| 1 | any | any | any | GOOD | UNSET | TEST |\n"
            "| 2 | any | any | any | GOOD | SET | PERM |\n"
            "| 3 | GOOD | UNSET | SET | any | any | REVERT |\n");
}

TEST(SwapTypeTable, ReadmeShowsTheSameTable) {
  EXPECT_NE(testing::BootReadme().find(PrintTable()), std::string::npos)
      << "boot/README.md does not show the swap-type table as the code has it:\n"
      << PrintTable();
}

// Every combination of the five inputs (3^5 = 243), against the rules written
// out longhand, so a reordered or mistyped row cannot pass.
TEST(SwapTypeTable, DecidesEveryCombinationAsMcuboot) {
  const MagicState magics[] = {MagicState::kUnset, MagicState::kGood, MagicState::kBad};
  const FlagState flags[] = {FlagState::kUnset, FlagState::kSet, FlagState::kBad};
  int checked = 0;
  for (auto pm : magics) {
    for (auto pok : flags) {
      for (auto pcd : flags) {
        for (auto sm : magics) {
          for (auto sok : flags) {
            SwapType want = SwapType::kNone;
            if (sm == MagicState::kGood && sok == FlagState::kUnset) {
              want = SwapType::kTest;
            } else if (sm == MagicState::kGood && sok == FlagState::kSet) {
              want = SwapType::kPerm;
            } else if (pm == MagicState::kGood && pok == FlagState::kUnset &&
                       pcd == FlagState::kSet) {
              want = SwapType::kRevert;
            }
            EXPECT_EQ(DecideSwapType(Make(pm, pok, pcd), Make(sm, sok, FlagState::kUnset)), want);
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 243);
}

TEST(SwapTypeTable, UnconfirmedUpgradeRevertsWhateverTheSecondaryHolds) {
  const TrailerState primary = Make(MagicState::kGood, FlagState::kUnset, FlagState::kSet);
  // A torn write during swap-move's revert fix-up leaves a BAD secondary magic.
  EXPECT_EQ(DecideSwapType(primary, Make(MagicState::kBad, FlagState::kUnset, FlagState::kUnset)),
            SwapType::kRevert);
}

}  // namespace
}  // namespace mqota::boot
