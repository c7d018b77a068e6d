#include "mqota/boot/swap_scratch_status.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "boot_readme.h"

namespace mqota::boot {
namespace {

TrailerState Make(MagicState magic, FlagState copy_done) {
  TrailerState s;
  s.magic = magic;
  s.copy_done = copy_done;
  return s;
}

std::string PrintTable() {
  std::ostringstream table;
  int row = 0;
  for (const auto& r : kScratchStatusTable) {
    table << "| " << ++row << " | " << Describe(r.scratch_magic) << " | "
          << Describe(r.scratch_copy_done) << " | " << Describe(r.primary_magic) << " | "
          << Describe(r.primary_copy_done) << " | " << Describe(r.source) << " |\n";
  }
  return table.str();
}

// The table as boot/README.md prints it, generated from kScratchStatusTable:
// if the code's table changes, this text and the README must change with it.
TEST(ScratchStatusTable, PrintsAsTheReadmeShowsIt) {
  const std::string expected =
      "| 1 | UNSET | not UNSET | GOOD | SET | stale repair record |\n"
      "| 2 | UNSET | SET | any | any | repair record |\n"
      "| 3 | not GOOD | any | GOOD | not SET | torn copy_done |\n"
      "| 4 | GOOD | any | any | any | scratch |\n"
      "| 5 | not GOOD | any | not BAD | UNSET | primary |\n";
  EXPECT_EQ(PrintTable(), expected);
  EXPECT_NE(testing::BootReadme().find(expected), std::string::npos)
      << "boot/README.md does not show the status-source table as the code has it:\n"
      << expected;
}

// Every combination of the four inputs (3^4 = 81): the rows that match, in
// order, against the rules written out longhand as SwapScratch::Resume
// tested them before the table, so a reordered or mistyped row cannot pass.
TEST(ScratchStatusTable, MatchesEveryCombinationAsTheRulesSay) {
  const MagicState magics[] = {MagicState::kUnset, MagicState::kGood, MagicState::kBad};
  const FlagState flags[] = {FlagState::kUnset, FlagState::kSet, FlagState::kBad};
  int checked = 0;
  for (auto sm : magics) {
    for (auto scd : flags) {
      for (auto pm : magics) {
        for (auto pcd : flags) {
          std::vector<StatusSource> want;
          const bool record = sm == MagicState::kUnset && scd != FlagState::kUnset;
          const bool primary_done = pm == MagicState::kGood && pcd == FlagState::kSet;
          if (record && primary_done) want.push_back(StatusSource::kStaleRecord);
          if (sm == MagicState::kUnset && scd == FlagState::kSet) {
            want.push_back(StatusSource::kRepairRecord);
          }
          const bool scratch_good = sm == MagicState::kGood;
          if (!scratch_good && pm == MagicState::kGood && pcd != FlagState::kSet) {
            want.push_back(StatusSource::kTornCopyDone);
          }
          if (scratch_good) want.push_back(StatusSource::kScratch);
          if (!scratch_good && pm != MagicState::kBad && pcd == FlagState::kUnset) {
            want.push_back(StatusSource::kPrimary);
          }

          std::vector<StatusSource> got;
          for (const auto& row : kScratchStatusTable) {
            if (row.Matches(Make(sm, scd), Make(pm, pcd))) got.push_back(row.source);
          }
          EXPECT_EQ(got, want) << "scratch " << Describe(sm) << "/" << Describe(scd) << ", primary "
                               << Describe(pm) << "/" << Describe(pcd);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 81);
}

}  // namespace
}  // namespace mqota::boot
