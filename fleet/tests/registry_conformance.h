// The registry's contract as a test suite every backend runs
// (docs/spec/fleet-registry.md): a backend instantiates RegistryConformance
// with a factory of fresh stores, e.g.
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, RegistryConformance,
//                            ::testing::Values(RegistryBackend{"sqlite", MakeStore}),
//                            RegistryBackendName);
//
// Nothing here knows which backend it runs against.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "mqota/fleet/registry.h"

namespace mqota::fleet {

// One test's storage: Open() returns a registry over it, the same storage at
// each call (a test closes and reopens to check what persists); a new store
// is empty. The store removes what it made when it goes.
class RegistryStore {
 public:
  virtual ~RegistryStore() = default;
  virtual std::unique_ptr<Registry> Open() = 0;
};

struct RegistryBackend {
  std::string name;  // letters, digits and '_': part of the test's name
  std::function<std::unique_ptr<RegistryStore>()> make_store;
  // Why the backend cannot run here ("" when it can), e.g. its server is
  // not installed: every test skips with that sentence. Unset: it can.
  std::function<std::string()> unavailable;
};

std::string RegistryBackendName(const ::testing::TestParamInfo<RegistryBackend>& info);

class RegistryConformance : public ::testing::TestWithParam<RegistryBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Registry& registry() { return *registry_; }
  // Closes the registry and opens the same store again.
  void Reopen();

  // `count` devices "<prefix>00".."<prefix>NN" of `board` running `version`,
  // seen at `time`, online.
  void AddDevices(const std::string& board, int count, const std::string& version,
                  const std::string& prefix = "dev-", TimeMs time = 1000);
  int64_t AddImage(const std::string& board, const std::string& version);
  // A campaign of the image over its board's devices, waves as text.
  int64_t Create(int64_t image, const std::string& waves = "100%",
                 const CampaignTarget& target = {}, CampaignRules rules = {}, TimeMs time = 2000);
  // Records `kind` of `version` for `device` at `time`.
  RecordedEvent Report(const std::string& device, EventKind kind, const std::string& version,
                       TimeMs time);

 private:
  std::unique_ptr<RegistryStore> store_;
  std::unique_ptr<Registry> registry_;
};

}  // namespace mqota::fleet
