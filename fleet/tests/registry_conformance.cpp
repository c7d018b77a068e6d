// The registry's contract, backend by backend: devices, images, events,
// campaigns and their decisions as docs/spec/fleet-registry.md and
// docs/spec/fleet-campaigns.md describe them.
#include "registry_conformance.h"

#include <algorithm>
#include <thread>

#include "campaign_targets.h"

namespace mqota::fleet {

std::string RegistryBackendName(const ::testing::TestParamInfo<RegistryBackend>& info) {
  return info.param.name;
}

void RegistryConformance::SetUp() {
  if (GetParam().unavailable) {
    if (const std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
  store_ = GetParam().make_store();
  registry_ = store_->Open();
}

void RegistryConformance::TearDown() {
  registry_.reset();
  store_.reset();
}

void RegistryConformance::Reopen() {
  registry_.reset();
  registry_ = store_->Open();
}

void RegistryConformance::AddDevices(const std::string& board, int count,
                                     const std::string& version, const std::string& prefix,
                                     TimeMs time) {
  for (int i = 0; i < count; ++i) {
    const std::string id = prefix + (i < 10 ? "0" : "") + std::to_string(i);
    registry().SeeDevice({id, board, version, "", true, time});
    registry().SetOnline(id, true, time);
  }
}

int64_t RegistryConformance::AddImage(const std::string& board, const std::string& version) {
  Image image;
  image.board = board;
  image.version = version;
  image.sha256 = std::string(64, 'a');
  image.size = 1000;
  image.path = "/images/" + board + "-" + version + ".bin";
  image.added = 500;
  // A distinct hash per board and version.
  for (const char c : board + version) image.sha256[static_cast<uint8_t>(c) % 64] = 'b';
  return registry().AddImage(image);
}

int64_t RegistryConformance::Create(int64_t image, const std::string& waves,
                                    const CampaignTarget& target, CampaignRules rules,
                                    TimeMs time) {
  std::string error;
  rules.waves = ParseWaves(waves, &error).value();
  return registry().CreateCampaign({"rollout", image, target, rules, time});
}

RecordedEvent RegistryConformance::Report(const std::string& device, EventKind kind,
                                          const std::string& version, TimeMs time) {
  DeviceEvent event;
  event.device = device;
  event.kind = kind;
  event.version = version;
  event.time = time;
  return registry().Record(event);
}

namespace {

// The sentence of the RegistryRefusal `call` throws; "(not refused)" when
// it returns.
template <typename Call>
std::string Refusal(Call&& call) {
  try {
    call();
  } catch (const RegistryRefusal& e) {
    return e.what();
  }
  return "(not refused)";
}

std::vector<uint32_t> WaveSizes(const std::vector<WaveTally>& waves) {
  std::vector<uint32_t> sizes;
  sizes.reserve(waves.size());
  for (const WaveTally& w : waves) sizes.push_back(w.devices);
  return sizes;
}

std::vector<std::string> Actions(const std::vector<CampaignLogEntry>& log) {
  std::vector<std::string> actions;
  actions.reserve(log.size());
  for (const CampaignLogEntry& e : log) actions.push_back(e.action);
  return actions;
}

Stage StageOf(Registry& registry, int64_t campaign, const std::string& device) {
  for (const CampaignDevice& d : registry.CampaignDevices(campaign)) {
    if (d.device == device) return d.stage;
  }
  ADD_FAILURE() << device << " is not in campaign " << campaign;
  return Stage::kWaiting;
}

// The campaign's first device (its canary) and the others in order.
std::vector<std::string> Order(Registry& registry, int64_t campaign) {
  std::vector<std::string> order;
  for (const CampaignDevice& d : registry.CampaignDevices(campaign)) order.push_back(d.device);
  return order;
}

// ---- Devices -------------------------------------------------------------

TEST_P(RegistryConformance, ASightingCreatesADeviceAndLaterOnesUpdateIt) {
  EXPECT_FALSE(registry().FindDevice("d1"));
  registry().SeeDevice({"d1", "kit", "1.0.0+7", "ABCD", false, 1000});
  auto d = registry().FindDevice("d1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->board, "kit");
  EXPECT_EQ(d->version, "1.0.0");  // stored as major.minor.revision
  EXPECT_EQ(d->image_hash, "abcd");
  EXPECT_EQ(d->state, "seen");
  EXPECT_FALSE(d->verified);
  EXPECT_FALSE(d->online);
  EXPECT_EQ(d->first_seen, 1000);
  EXPECT_EQ(d->last_seen, 1000);

  registry().SeeDevice({"d1", "kit", "", "", true, 3000});  // says nothing of its version
  EXPECT_EQ(registry().FindDevice("d1")->image_hash, "abcd");
  registry().SeeDevice({"d1", "kit", "1.1", "", false, 4000});  // unverified this time
  registry().SeeDevice({"d1", "", "", "", false, 2000});        // delayed: time goes not back
  d = registry().FindDevice("d1");
  EXPECT_EQ(d->board, "kit");
  EXPECT_EQ(d->version, "1.1.0");
  EXPECT_EQ(d->image_hash, "");  // that hash was 1.0.0's; 1.1.0's is not known
  EXPECT_TRUE(d->verified);      // once verified, always
  EXPECT_EQ(d->first_seen, 1000);
  EXPECT_EQ(d->last_seen, 4000);

  EXPECT_EQ(Refusal([&] {
              registry().SeeDevice({"", "kit", "1.0.0", "", true, 1});
            }),
            "a device sighting needs a device id");
}

TEST_P(RegistryConformance, OnlineIsSetByItsOwnCallAndIgnoredForUnknownDevices) {
  AddDevices("kit", 1, "1.0.0", "d");
  registry().SetOnline("d00", false, 5000);
  auto d = registry().FindDevice("d00");
  EXPECT_FALSE(d->online);
  EXPECT_EQ(d->last_seen, 5000);
  registry().SeeDevice({"d00", "kit", "1.0.0", "", true, 6000});
  EXPECT_FALSE(registry().FindDevice("d00")->online);  // a sighting does not change it
  registry().SetOnline("nobody", true, 1);
  EXPECT_FALSE(registry().FindDevice("nobody"));
}

TEST_P(RegistryConformance, TagsAreReplacedAndFilterTheList) {
  AddDevices("kit", 4, "1.0.0", "a");
  AddDevices("other", 2, "1.0.0", "b");
  registry().SeeDevice({"a03", "kit", "2.0.0", "", true, 1});
  registry().SetTags("a01", {"beta", "lab", "beta"});
  registry().SetTags("a02", {"beta"});
  registry().SetTags("b00", {"beta"});
  EXPECT_EQ(registry().FindDevice("a01")->tags, (std::vector<std::string>{"beta", "lab"}));
  registry().SetTags("a01", {"lab"});
  EXPECT_EQ(registry().FindDevice("a01")->tags, (std::vector<std::string>{"lab"}));

  const auto ids = [&](const DeviceFilter& filter) {
    std::vector<std::string> out;
    for (const Device& d : registry().ListDevices(filter)) out.push_back(d.id);
    return out;
  };
  EXPECT_EQ(ids({}), (std::vector<std::string>{"a00", "a01", "a02", "a03", "b00", "b01"}));
  EXPECT_EQ(ids({"kit", "", "", 1000, 0}), (std::vector<std::string>{"a00", "a01", "a02", "a03"}));
  EXPECT_EQ(ids({"", "beta", "", 1000, 0}), (std::vector<std::string>{"a02", "b00"}));
  EXPECT_EQ(ids({"kit", "beta", "", 1000, 0}), (std::vector<std::string>{"a02"}));
  EXPECT_EQ(ids({"kit", "", "2.0", 1000, 0}), (std::vector<std::string>{"a03"}));
  EXPECT_EQ(ids({"", "", "", 2, 1}), (std::vector<std::string>{"a01", "a02"}));
  EXPECT_EQ(registry().ListDevices({"", "lab", "", 10, 0}).at(0).tags,
            (std::vector<std::string>{"lab"}));

  EXPECT_EQ(Refusal([&] { registry().SetTags("nobody", {"x"}); }), "no device nobody");
  EXPECT_EQ(Refusal([&] { registry().SetTags("a00", {""}); }), "a tag must not be empty");
}

TEST_P(RegistryConformance, HistoryIsNewestFirstWithItsFieldsAndALimit) {
  AddDevices("kit", 2, "1.0.0", "d");
  DeviceEvent progress;
  progress.device = "d00";
  progress.time = 3000;
  progress.kind = EventKind::kDownloading;
  progress.version = "1.1.0+2";
  progress.percent = 40;
  progress.verified = false;
  const int64_t first = registry().Record(progress).id;
  Report("d00", EventKind::kOffered, "1.1.0", 2000);  // arrives late, happened earlier
  DeviceEvent failure = progress;
  failure.time = 4000;
  failure.kind = EventKind::kFailed;
  failure.percent.reset();
  failure.reason = "flash write failed";
  failure.verified = true;
  const int64_t last = registry().Record(failure).id;
  Report("d01", EventKind::kOffered, "1.1.0", 5000);
  EXPECT_LT(first, last);

  const auto history = registry().History("d00", 10);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].id, last);
  EXPECT_EQ(history[0].kind, EventKind::kFailed);
  EXPECT_EQ(history[0].reason, "flash write failed");
  EXPECT_TRUE(history[0].verified);
  EXPECT_FALSE(history[0].percent);
  EXPECT_EQ(history[1].id, first);
  EXPECT_EQ(history[1].time, 3000);
  EXPECT_EQ(history[1].device, "d00");
  EXPECT_EQ(history[1].version, "1.1.0");
  EXPECT_EQ(history[1].percent, std::optional<uint8_t>(40));
  EXPECT_FALSE(history[1].verified);
  EXPECT_FALSE(history[1].campaign);
  EXPECT_EQ(history[2].kind, EventKind::kOffered);
  EXPECT_EQ(registry().History("d00", 1).size(), 1u);
  EXPECT_TRUE(registry().History("nobody", 10).empty());

  const auto device = registry().FindDevice("d00");
  EXPECT_EQ(device->state, "failed");  // the last event recorded
  EXPECT_EQ(device->last_seen, 4000);

  EXPECT_EQ(Refusal([&] { Report("nobody", EventKind::kOffered, "1.0.0", 1); }),
            "no device nobody");
}

TEST_P(RegistryConformance, RevertedRejectedAndRefusedBarAVersionAndNothingElseDoes) {
  int n = 0;
  for (EventKind kind : kAllEventKinds) {
    const std::string device = "d" + std::to_string(n++);
    registry().SeeDevice({device, "kit", "1.0.0", "", true, 1});
    Report(device, kind, "1.2.0", 10);
    EXPECT_EQ(registry().Barred(device, "1.2.0"), BarsVersion(kind)) << EventKindName(kind);
    EXPECT_EQ(registry().Barred(device, "1.2.0+9"), BarsVersion(kind)) << EventKindName(kind);
    EXPECT_FALSE(registry().Barred(device, "1.2.1")) << EventKindName(kind);
  }
}

// ---- Images ----------------------------------------------------------------

TEST_P(RegistryConformance, ImagesAreAddedOnceAndAVersionKeepsItsHash) {
  Image image{0, "kit", "1.2.0+5", std::string(64, 'C'), 1234, "/img/a.bin", 77, ""};
  const int64_t id = registry().AddImage(image);
  EXPECT_GT(id, 0);
  image.sha256 = std::string(64, 'c');
  image.version = "1.2.0";
  EXPECT_EQ(registry().AddImage(image), id);  // the same image again
  const auto found = registry().FindImage(id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->board, "kit");
  EXPECT_EQ(found->version, "1.2.0");
  EXPECT_EQ(found->sha256, std::string(64, 'c'));
  EXPECT_EQ(found->size, 1234u);
  EXPECT_EQ(found->path, "/img/a.bin");
  EXPECT_EQ(found->added, 77);

  image.sha256 = std::string(64, 'd');
  EXPECT_EQ(Refusal([&] { registry().AddImage(image); }),
            "board kit already has an image of version 1.2.0 (SHA-256 " + std::string(64, 'c') +
                "); another image cannot take its version");
  image.version = "1.3.0";
  const int64_t newer = registry().AddImage(image);
  image.board = "other";
  const int64_t other = registry().AddImage(image);  // same hash, another board: its own row
  EXPECT_EQ(registry().ListImages().size(), 3u);
  EXPECT_EQ(registry().ListImages().back().id, other);
  EXPECT_NE(newer, id);
  EXPECT_FALSE(registry().FindImage(9999));

  image.version = "1.x";
  EXPECT_EQ(Refusal([&] { registry().AddImage(image); }),
            "\"1.x\" is not a version (major.minor.revision)");
}

TEST_P(RegistryConformance, AnImageKeepsItsKeyHashAndTheSameImageUpdatesIt) {
  Image image{0,    "kit",        "1.2.0", std::string(64, 'c'),
              1234, "/img/a.bin", 77,      std::string(64, 'E')};
  const int64_t id = registry().AddImage(image);
  EXPECT_EQ(registry().FindImage(id)->key_hash, std::string(64, 'e'));  // stored lowercase
  image.key_hash = "";
  EXPECT_EQ(registry().AddImage(image), id);  // not known this time: kept
  EXPECT_EQ(registry().ListImages().at(0).key_hash, std::string(64, 'e'));
  image.key_hash = std::string(64, 'f');
  EXPECT_EQ(registry().AddImage(image), id);  // re-signed: the SHA256 TLV is the same
  EXPECT_EQ(registry().FindImage(id)->key_hash, std::string(64, 'f'));
  Reopen();
  EXPECT_EQ(registry().FindImage(id)->key_hash, std::string(64, 'f'));
}

// ---- Version history -------------------------------------------------------

TEST_P(RegistryConformance, VersionsOverCountsTheDevicesOfEachVersionAtEachMoment) {
  AddDevices("B", 3, "1.0.0", "b-", 1000);
  registry().SeeDevice({"b-00", "B", "1.1.0", "", true, 2000});
  registry().SeeDevice({"c-00", "C", "2.0.0", "", true, 2500});  // a new device
  registry().SeeDevice({"b-01", "B", "1.1.0+3", "", true, 3000});
  registry().SeeDevice({"b-00", "B", "1.0.0", "", true, 4000});  // went back
  registry().SeeDevice({"b-02", "B", "1.0", "", true, 4500});    // the same version: no change
  registry().SetOnline("b-02", false, 4600);
  Report("b-01", EventKind::kConfirmed, "1.1.0", 4700);  // events do not move versions

  const std::vector<TimeMs> times = {500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 9000};
  const auto check = [&] {
    const VersionHistory h = registry().VersionsOver(times);
    EXPECT_EQ(h.times, times);
    ASSERT_EQ(h.series.size(), 3u);
    EXPECT_EQ(h.series[0].board, "B");
    EXPECT_EQ(h.series[0].version, "1.0.0");
    EXPECT_EQ(h.series[0].devices, (std::vector<uint64_t>{0, 3, 3, 2, 2, 1, 1, 2, 2}));
    EXPECT_EQ(h.series[1].version, "1.1.0");
    EXPECT_EQ(h.series[1].devices, (std::vector<uint64_t>{0, 0, 0, 1, 1, 2, 2, 1, 1}));
    EXPECT_EQ(h.series[2].board, "C");
    EXPECT_EQ(h.series[2].version, "2.0.0");
    EXPECT_EQ(h.series[2].devices, (std::vector<uint64_t>{0, 0, 0, 0, 1, 1, 1, 1, 1}));
  };
  check();
  Reopen();
  check();

  // Only versions with devices in the window; a window after every change
  // is the devices as they are now.
  const std::vector<TimeMs> late = {5000, 6000};
  const VersionHistory now = registry().VersionsOver(late);
  ASSERT_EQ(now.series.size(), 3u);
  EXPECT_EQ(now.series[1].devices, (std::vector<uint64_t>{1, 1}));
  EXPECT_TRUE(registry().VersionsOver({}).series.empty());
  const std::vector<TimeMs> backwards = {2000, 1000};
  EXPECT_EQ(Refusal([&] { registry().VersionsOver(backwards); }),
            "a version history's moments must be in ascending order");
  const std::vector<TimeMs> many(10001, 1);
  EXPECT_EQ(Refusal([&] { registry().VersionsOver(many); }),
            "a version history of 10001 moments is more than 10000");
}

// ---- Campaigns: creation ---------------------------------------------------

TEST_P(RegistryConformance, ACampaignPlacesItsDevicesInWavesInTheHashOrder) {
  AddDevices("kit", 50, "1.0.0");
  AddDevices("other", 3, "1.0.0", "x-");
  const int64_t image = AddImage("kit", "1.2.0");
  CampaignRules rules;
  rules.success_percent = 80;
  rules.soak_ms = 5000;
  rules.max_in_flight = 7;
  const int64_t id = Create(image, "1%,10%,50%", {}, rules, 2000);

  const auto campaign = registry().FindCampaign(id);
  ASSERT_TRUE(campaign);
  EXPECT_EQ(campaign->name, "rollout");
  EXPECT_EQ(campaign->image.id, image);
  EXPECT_EQ(campaign->image.version, "1.2.0");
  EXPECT_EQ(campaign->target.board, "kit");  // the image's board
  EXPECT_EQ(FormatWaves(campaign->rules.waves), "1%,10%,50%");
  EXPECT_EQ(campaign->rules.success_percent, 80u);
  EXPECT_EQ(campaign->rules.soak_ms, 5000);
  EXPECT_EQ(campaign->rules.max_in_flight, 7u);
  EXPECT_EQ(campaign->status, CampaignStatus::kRunning);
  EXPECT_EQ(campaign->open_waves, 1u);
  EXPECT_FALSE(campaign->gate_met_at);
  EXPECT_EQ(campaign->created, 2000);
  EXPECT_EQ(WaveSizes(campaign->waves), (std::vector<uint32_t>{1, 4, 20, 25}));

  const auto devices = registry().CampaignDevices(id);
  ASSERT_EQ(devices.size(), 50u);
  for (uint32_t i = 0; i < devices.size(); ++i) {
    EXPECT_EQ(devices[i].position, i);
    EXPECT_EQ(devices[i].stage, Stage::kWaiting);
    EXPECT_FALSE(devices[i].first_offered_at);
    const uint32_t wave = i < 1 ? 0 : i < 5 ? 1 : i < 25 ? 2 : 3;
    EXPECT_EQ(devices[i].wave, wave) << i;
    if (i > 0) {
      EXPECT_LT(CampaignOrderKey(id, devices[i - 1].device),
                CampaignOrderKey(id, devices[i].device));
    }
  }
  const auto log = registry().CampaignLog(id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].action, "created");
  EXPECT_EQ(log[0].time, 2000);
  EXPECT_EQ(log[0].reason,
            "50 devices of board kit in 4 waves ending at device 1, 5, 25, 50; image 1.2.0");
  EXPECT_EQ(registry().RunningCampaigns(), std::vector<int64_t>{id});

  // Another campaign orders the same devices differently: other canaries.
  const int64_t again = Create(AddImage("kit", "1.3.0"), "1%,10%,50%");
  EXPECT_NE(Order(registry(), again), Order(registry(), id));
  EXPECT_EQ(registry().ListCampaigns().front().id, again);  // newest first
}

TEST_P(RegistryConformance, TheTargetIsNarrowedByListTagAndRunningVersion) {
  AddDevices("kit", 6, "1.0.0", "a");
  AddDevices("kit", 3, "1.1.0", "b");
  registry().SetTags("a00", {"beta"});
  registry().SetTags("b01", {"beta"});
  const int64_t image = AddImage("kit", "1.2.0");
  const auto targeted = [&](const CampaignTarget& target) {
    auto order = Order(registry(), Create(image, "100%", target));
    std::sort(order.begin(), order.end());
    return order;
  };
  EXPECT_EQ(targeted({"", {"a01", "b02"}, "", ""}), (std::vector<std::string>{"a01", "b02"}));
  EXPECT_EQ(targeted({"kit", {}, "beta", ""}), (std::vector<std::string>{"a00", "b01"}));
  EXPECT_EQ(targeted({"", {}, "", "1.1"}), (std::vector<std::string>{"b00", "b01", "b02"}));
  EXPECT_EQ(targeted({"", {"a00", "a01", "b01"}, "beta", "1.0.0"}),
            (std::vector<std::string>{"a00"}));
  EXPECT_EQ(Refusal([&] {
              Create(image, "100%", {"", {"a01", "zz"}, "", ""});
            }),
            "\"zz\" is not a registered device of board kit");
}

TEST_P(RegistryConformance, OnlyOlderVersionsAreTargetedComparedAsNumbers) {
  registry().SeeDevice({"older", "kit", "1.9.0", "", true, 1});
  registry().SeeDevice({"same", "kit", "1.10.0+3", "", true, 1});
  registry().SeeDevice({"newer", "kit", "1.11.0", "", true, 1});
  registry().SeeDevice({"major", "kit", "2.0.0", "", true, 1});
  registry().SeeDevice({"unknown", "kit", "", "", true, 1});
  registry().SeeDevice({"garbled", "kit", "v1", "", true, 1});
  const int64_t image = AddImage("kit", "1.10.0");  // as text, "1.10.0" < "1.9.0"
  EXPECT_EQ(Order(registry(), Create(image)), std::vector<std::string>{"older"});
  EXPECT_EQ(Refusal([&] {
              Create(image, "100%", {"", {}, "", "1.11.0"});
            }),
            "devices running 1.11.0 are not older than the image's 1.10.0 (no downgrades)");
}

TEST_P(RegistryConformance, ATargetWithoutDevicesIsRefusedWithASentenceAndLeavesNothing) {
  AddDevices("kit", 3, "1.2.0");
  const int64_t image = AddImage("kit", "1.2.0");
  EXPECT_EQ(Refusal([&] { Create(image); }),
            "no device of board kit runs a version older than 1.2.0");
  registry().SeeDevice({"old", "kit", "1.0.0", "", true, 1});
  EXPECT_EQ(Refusal([&] {
              Create(image, "100%", {"", {}, "beta", ""});
            }),
            "no device of board kit tagged \"beta\" runs a version older than 1.2.0");
  EXPECT_EQ(Refusal([&] {
              Create(image, "100%", {"", {"dev-00"}, "", "1.1.0"});
            }),
            "no device of board kit among the 1 listed runs 1.1.0");
  const int64_t empty = AddImage("bare", "1.0.0");
  EXPECT_EQ(Refusal([&] { Create(empty); }),
            "no device of board bare runs a version older than 1.0.0");
  EXPECT_TRUE(registry().ListCampaigns().empty());
}

TEST_P(RegistryConformance, DevicesThatBarredTheVersionAreNotTargeted) {
  AddDevices("kit", 3, "1.0.0");
  Report("dev-00", EventKind::kReverted, "1.2.0", 10);
  Report("dev-01", EventKind::kFailed, "1.2.0", 10);  // a failure, not a bar
  const int64_t image = AddImage("kit", "1.2.0");
  auto order = Order(registry(), Create(image));
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<std::string>{"dev-01", "dev-02"}));
  EXPECT_EQ(Refusal([&] {
              Create(image, "100%", {"", {"dev-00"}, "", ""});
            }),
            "no device of board kit among the 1 listed runs a version older than 1.2.0 without "
            "having barred 1.2.0 (1 reverted, rejected or refused it)");
}

TEST_P(RegistryConformance, ACampaignThatCannotBeIsRefusedWithASentence) {
  AddDevices("kit", 3, "1.0.0");
  const int64_t image = AddImage("kit", "1.2.0");
  const auto refusal = [&](NewCampaign c) {
    return Refusal([&] { registry().CreateCampaign(c); });
  };
  EXPECT_EQ(refusal({"x", 999, {}, {}, 1}), "no image 999");
  EXPECT_EQ(refusal({"", image, {}, {}, 1}), "a campaign needs a name");
  EXPECT_EQ(refusal({std::string(101, 'n'), image, {}, {}, 1}),
            "a campaign name has at most 100 characters, not 101");
  EXPECT_NO_THROW(registry().CreateCampaign({std::string(100, 'n'), image, {}, {}, 1}));
  CampaignRules bad;
  bad.failure_percent = 101;
  EXPECT_EQ(refusal({"x", image, {}, bad, 1}), "the failure threshold must be 0..100%");
  EXPECT_EQ(refusal({"x", image, {"other", {}, "", ""}, {}, 1}),
            "image " + std::to_string(image) + " is for board kit, not other");
  EXPECT_EQ(refusal({"x", image, {"", {}, "", "one"}, {}, 1}),
            "\"one\" is not a version (major.minor.revision)");
  EXPECT_EQ(registry().ListCampaigns().size(), 1u);  // the 100-character name
}

// ---- Events and stages -----------------------------------------------------

TEST_P(RegistryConformance, EventsOfTheImageVersionMoveTheStageOnceAndOnlyForward) {
  AddDevices("kit", 3, "1.0.0");
  const int64_t image = AddImage("kit", "1.2.0");
  const int64_t id = Create(image);

  RecordedEvent r = Report("dev-00", EventKind::kOffered, "1.2.0", 3000);
  EXPECT_EQ(r.campaign_changed, id);
  EXPECT_EQ(StageOf(registry(), id, "dev-00"), Stage::kOffered);
  EXPECT_EQ(registry().History("dev-00", 1)[0].campaign, id);  // attributed
  EXPECT_FALSE(Report("dev-00", EventKind::kDownloading, "1.2.0", 3100).campaign_changed);
  EXPECT_FALSE(Report("dev-00", EventKind::kOffered, "1.2.0", 3200).campaign_changed);
  EXPECT_EQ(Report("dev-00", EventKind::kConfirmed, "1.2.0", 3300).campaign_changed, id);
  // Twice, and a late revert: the outcome is final and counted once.
  EXPECT_FALSE(Report("dev-00", EventKind::kConfirmed, "1.2.0", 3400).campaign_changed);
  EXPECT_FALSE(Report("dev-00", EventKind::kReverted, "1.2.0", 3500).campaign_changed);
  EXPECT_EQ(StageOf(registry(), id, "dev-00"), Stage::kConfirmed);

  // Another version is not this campaign's business.
  r = Report("dev-01", EventKind::kConfirmed, "1.1.0", 3600);
  EXPECT_FALSE(r.campaign_changed);
  EXPECT_FALSE(registry().History("dev-01", 1)[0].campaign);
  EXPECT_EQ(StageOf(registry(), id, "dev-01"), Stage::kWaiting);
  // Straight to a failure, from waiting.
  EXPECT_EQ(Report("dev-01", EventKind::kRejected, "1.2.0+1", 3700).campaign_changed, id);
  EXPECT_EQ(StageOf(registry(), id, "dev-01"), Stage::kFailed);

  const auto waves = registry().FindCampaign(id)->waves;
  ASSERT_EQ(waves.size(), 1u);
  EXPECT_EQ(waves[0].devices, 3u);
  EXPECT_EQ(waves[0].offered, 0u);
  EXPECT_EQ(waves[0].confirmed, 1u);
  EXPECT_EQ(waves[0].failed, 1u);
}

// RecordAll is Record for many at one commit: the same outcomes, in order,
// and a refused event costs only itself.
TEST_P(RegistryConformance, RecordAllRecordsInOrderAndLeavesOutOnlyWhatItRefuses) {
  AddDevices("kit", 2, "1.0.0");
  const int64_t id = Create(AddImage("kit", "1.2.0"));
  const auto event = [](const std::string& device, EventKind kind, TimeMs time) {
    DeviceEvent e;
    e.device = device;
    e.kind = kind;
    e.version = "1.2.0";
    e.time = time;
    return e;
  };
  const std::vector<DeviceEvent> events = {
      event("dev-00", EventKind::kOffered, 3000),     event("nobody", EventKind::kOffered, 3001),
      event("dev-00", EventKind::kDownloading, 3002), event("dev-01", EventKind::kReverted, 3003),
      event("dev-00", EventKind::kConfirmed, 3004),
  };
  const std::vector<RecordOutcome> outcomes = registry().RecordAll(events);
  ASSERT_EQ(outcomes.size(), 5u);
  ASSERT_TRUE(outcomes[0].recorded);
  EXPECT_EQ(outcomes[0].recorded->campaign_changed, id);
  EXPECT_FALSE(outcomes[1].recorded);
  EXPECT_EQ(outcomes[1].refusal, "no device nobody");
  ASSERT_TRUE(outcomes[2].recorded);
  EXPECT_FALSE(outcomes[2].recorded->campaign_changed);
  ASSERT_TRUE(outcomes[3].recorded);
  EXPECT_EQ(outcomes[3].recorded->campaign_changed, id);
  ASSERT_TRUE(outcomes[4].recorded);
  EXPECT_EQ(outcomes[4].recorded->campaign_changed, id);
  EXPECT_LT(outcomes[0].recorded->id, outcomes[2].recorded->id);
  EXPECT_LT(outcomes[2].recorded->id, outcomes[4].recorded->id);

  const auto history = registry().History("dev-00", 10);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].kind, EventKind::kConfirmed);
  EXPECT_EQ(history[2].kind, EventKind::kOffered);
  EXPECT_FALSE(registry().FindDevice("nobody"));
  EXPECT_EQ(StageOf(registry(), id, "dev-00"), Stage::kConfirmed);
  EXPECT_EQ(StageOf(registry(), id, "dev-01"), Stage::kFailed);
  EXPECT_TRUE(registry().RecordAll({}).empty());
}

// A report the device sends until it is acknowledged (unless_repeated) is
// recorded once however often it comes, progress between the copies aside,
// in one batch or in two; the same outcome after another of that version is
// news again, and a copy about another version is another report.
TEST_P(RegistryConformance, AReportThatMayComeAgainIsRecordedOnce) {
  AddDevices("kit", 1, "1.0.0");
  const int64_t id = Create(AddImage("kit", "1.2.0"));
  const auto event = [](EventKind kind, TimeMs time, const std::string& version = "1.2.0") {
    DeviceEvent e;
    e.device = "dev-00";
    e.kind = kind;
    e.version = version;
    e.time = time;
    e.unless_repeated = kind != EventKind::kDownloading;
    return e;
  };
  EXPECT_FALSE(registry().Record(event(EventKind::kOffered, 1000)).repeated);
  EXPECT_FALSE(registry().Record(event(EventKind::kPending, 2000)).repeated);
  EXPECT_FALSE(registry().Record(event(EventKind::kDownloading, 2500)).repeated);
  const RecordedEvent again = registry().Record(event(EventKind::kPending, 3000));
  EXPECT_TRUE(again.repeated);
  EXPECT_EQ(again.id, 0);
  const std::vector<DeviceEvent> batch = {event(EventKind::kConfirmed, 4000),
                                          event(EventKind::kConfirmed, 4100),
                                          event(EventKind::kConfirmed, 4200, "1.3.0")};
  const std::vector<RecordOutcome> outcomes = registry().RecordAll(batch);
  ASSERT_EQ(outcomes.size(), 3u);
  ASSERT_TRUE(outcomes[0].recorded && outcomes[1].recorded && outcomes[2].recorded);
  EXPECT_FALSE(outcomes[0].recorded->repeated);
  EXPECT_TRUE(outcomes[1].recorded->repeated);
  EXPECT_FALSE(outcomes[2].recorded->repeated);
  EXPECT_EQ(StageOf(registry(), id, "dev-00"), Stage::kConfirmed);
  EXPECT_FALSE(registry().Record(event(EventKind::kReverted, 5000)).repeated);
  EXPECT_FALSE(registry().Record(event(EventKind::kConfirmed, 6000)).repeated);

  std::vector<EventKind> kinds;
  for (const DeviceEvent& e : registry().History("dev-00", 20)) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<EventKind>{EventKind::kConfirmed, EventKind::kReverted,
                                           EventKind::kConfirmed, EventKind::kConfirmed,
                                           EventKind::kDownloading, EventKind::kPending,
                                           EventKind::kOffered}));
}

TEST_P(RegistryConformance, AnEventNamingItsCampaignIsCheckedAndStillNeedsItsVersion) {
  AddDevices("kit", 2, "1.0.0");
  const int64_t id = Create(AddImage("kit", "1.2.0"));
  DeviceEvent event;
  event.device = "dev-00";
  event.kind = EventKind::kOffered;
  event.version = "1.1.0";
  event.campaign = id;
  event.time = 10;
  EXPECT_FALSE(registry().Record(event).campaign_changed);
  EXPECT_EQ(registry().History("dev-00", 1)[0].campaign, id);  // kept as given
  event.version = "1.2.0";
  EXPECT_EQ(registry().Record(event).campaign_changed, id);
  event.campaign = 999;
  EXPECT_EQ(Refusal([&] { registry().Record(event); }), "no campaign 999");
}

TEST_P(RegistryConformance, ALateFailureOfAHaltedCampaignCountsButACancelledOneIsLeftAlone) {
  AddDevices("kit", 4, "1.0.0");
  const int64_t image = AddImage("kit", "1.2.0");
  const int64_t halted = Create(image);
  const auto order = Order(registry(), halted);
  Report(order[0], EventKind::kOffered, "1.2.0", 10);
  Report(order[1], EventKind::kOffered, "1.2.0", 10);
  registry().ApplyStep(halted, {Step::kHalt, "operator test"}, 20);
  EXPECT_EQ(Report(order[0], EventKind::kReverted, "1.2.0", 30).campaign_changed, halted);
  EXPECT_EQ(registry().LoadState(halted, 40).waves[0].failed, 1u);

  registry().Control(halted, Registry::Command::kCancel, "ops", 50);
  EXPECT_FALSE(Report(order[1], EventKind::kReverted, "1.2.0", 60).campaign_changed);
  EXPECT_FALSE(registry().History(order[1], 1)[0].campaign);
  EXPECT_EQ(StageOf(registry(), halted, order[1]), Stage::kOffered);
}

TEST_P(RegistryConformance, AnEventGoesToTheNewestLiveCampaignOfItsVersion) {
  AddDevices("kit", 2, "1.0.0");
  const int64_t image = AddImage("kit", "1.2.0");
  const int64_t older = Create(image);
  const int64_t newer = Create(image);
  registry().Control(newer, Registry::Command::kPause, "ops", 5);
  EXPECT_EQ(Report("dev-00", EventKind::kOffered, "1.2.0", 10).campaign_changed, newer);
  EXPECT_EQ(StageOf(registry(), older, "dev-00"), Stage::kWaiting);
}

// ---- Campaign state --------------------------------------------------------

TEST_P(RegistryConformance, LoadStateCountsWavesInFlightAndRecentStarts) {
  AddDevices("kit", 10, "1.0.0");
  CampaignRules rules;
  rules.stall_ms = 10'000;
  const int64_t id = Create(AddImage("kit", "1.2.0"), "2,5", {}, rules);
  const auto order = Order(registry(), id);
  Report(order[0], EventKind::kOffered, "1.2.0", 100'000);
  Report(order[1], EventKind::kOffered, "1.2.0", 130'000);
  Report(order[2], EventKind::kDownloading, "1.2.0", 140'000);  // news counts as an offer
  Report(order[3], EventKind::kConfirmed, "1.2.0", 150'000);
  Report(order[4], EventKind::kFailed, "1.2.0", 150'000);
  Report(order[0], EventKind::kDownloading, "1.2.0", 155'000);  // news after a long silence

  CampaignState s = registry().LoadState(id, 160'000);
  EXPECT_EQ(s.status, CampaignStatus::kRunning);
  EXPECT_EQ(s.open_waves, 1u);
  EXPECT_EQ(s.rules.stall_ms, 10'000);
  ASSERT_EQ(s.waves.size(), 3u);
  EXPECT_EQ(WaveSizes(s.waves), (std::vector<uint32_t>{2, 3, 5}));
  EXPECT_EQ(s.waves[0].offered, 2u);
  EXPECT_EQ(s.waves[1].offered, 1u);
  EXPECT_EQ(s.waves[1].confirmed, 1u);
  EXPECT_EQ(s.waves[1].failed, 1u);
  EXPECT_EQ(s.waves[2].devices - s.waves[2].offered, 5u);
  // In flight: offered with news newer than the stall time (150 s..160 s
  // here): order[0] (155 s) only; order[1] (130 s) and order[2] (140 s)
  // went quiet.
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(registry().LoadState(id, 139'000).in_flight, 3u);
  // First offers in the last minute: every device that left `waiting`, at
  // the time it first did.
  EXPECT_EQ(registry().LoadState(id, 159'000).starts_last_minute, 5u);
  EXPECT_EQ(registry().LoadState(id, 160'000).starts_last_minute, 4u);  // 100 s is not > 100 s
  EXPECT_EQ(registry().LoadState(id, 195'000).starts_last_minute, 3u);
  EXPECT_EQ(registry().LoadState(id, 500'000).starts_last_minute, 0u);

  const auto devices = registry().CampaignDevices(id);
  EXPECT_EQ(devices[0].first_offered_at, 100'000);
  EXPECT_EQ(devices[0].updated_at, 155'000);
  EXPECT_FALSE(devices[5].updated_at);
  EXPECT_EQ(Refusal([&] { registry().LoadState(999, 0); }), "no campaign 999");
}

TEST_P(RegistryConformance, EveryStepIsStoredAndLogged) {
  AddDevices("kit", 10, "1.0.0");
  const int64_t id = Create(AddImage("kit", "1.2.0"), "2,5");
  registry().ApplyStep(id, {Step::kNothing, ""}, 1);
  registry().ApplyStep(id, {Step::kGateMet, "gate reason"}, 3000);
  EXPECT_EQ(registry().LoadState(id, 3000).gate_met_at, 3000);
  registry().ApplyStep(id, {Step::kOpenWave, "open reason"}, 4000);
  CampaignState s = registry().LoadState(id, 4000);
  EXPECT_EQ(s.open_waves, 2u);
  EXPECT_FALSE(s.gate_met_at);
  registry().ApplyStep(id, {Step::kOpenWave, "open again"}, 4500);
  EXPECT_EQ(Refusal([&] {
              registry().ApplyStep(id, {Step::kOpenWave, "beyond"}, 4600);
            }),
            "campaign " + std::to_string(id) + " has every wave open");
  registry().ApplyStep(id, {Step::kHalt, "halt reason"}, 5000);
  auto c = registry().FindCampaign(id);
  EXPECT_EQ(c->status, CampaignStatus::kHalted);
  EXPECT_EQ(c->status_reason, "halt reason");
  EXPECT_EQ(c->updated, 5000);
  EXPECT_EQ(Refusal([&] {
              registry().ApplyStep(id, {Step::kComplete, "done"}, 5500);
            }),
            "campaign " + std::to_string(id) + " is halted: no step applies to it");
  registry().Control(id, Registry::Command::kResume, "ops", 5600);
  registry().ApplyStep(id, {Step::kComplete, "complete reason"}, 6000);
  c = registry().FindCampaign(id);
  EXPECT_EQ(c->status, CampaignStatus::kCompleted);
  EXPECT_EQ(c->status_reason, "complete reason");
  EXPECT_TRUE(registry().RunningCampaigns().empty());

  const auto log = registry().CampaignLog(id);
  EXPECT_EQ(Actions(log),
            (std::vector<std::string>{"created", "gate met", "wave opened", "wave opened", "halted",
                                      "resumed", "completed"}));
  EXPECT_EQ(log[1].reason, "gate reason");
  EXPECT_EQ(log[1].time, 3000);
  EXPECT_EQ(log[2].reason, "open reason");
  EXPECT_EQ(log[4].reason, "halt reason");
  EXPECT_EQ(log[6].reason, "complete reason");
  EXPECT_EQ(log[6].time, 6000);
}

TEST_P(RegistryConformance, AdvanceTakesEveryStepDueInOneCall) {
  AddDevices("kit", 4, "1.0.0");
  CampaignRules rules;
  rules.success_percent = 100;
  const int64_t id = Create(AddImage("kit", "1.2.0"), "1,2", {}, rules);
  EXPECT_TRUE(registry().Advance(id, 10).empty());
  const auto order = Order(registry(), id);
  Report(order[0], EventKind::kConfirmed, "1.2.0", 20);
  Report(order[1], EventKind::kConfirmed, "1.2.0", 20);  // wave 2, already done
  const auto steps = registry().Advance(id, 30);
  ASSERT_EQ(steps.size(), 2u);  // wave 2 opens, and its gate is met at once: wave 3
  EXPECT_EQ(steps[0].kind, Step::kOpenWave);
  EXPECT_EQ(steps[1].kind, Step::kOpenWave);
  EXPECT_EQ(registry().LoadState(id, 30).open_waves, 3u);
  Report(order[2], EventKind::kConfirmed, "1.2.0", 40);
  Report(order[3], EventKind::kRefused, "1.2.0", 40);
  const auto last = registry().Advance(id, 50);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].kind, Step::kHalt);  // 1 of 4 failed: more than 10 %
  EXPECT_EQ(registry().FindCampaign(id)->status, CampaignStatus::kHalted);
  EXPECT_TRUE(registry().Advance(id, 60).empty());
}

// ---- Operators -------------------------------------------------------------

TEST_P(RegistryConformance, CommandsFollowTheStatusAndResumingAHaltAcceptsItsFailures) {
  AddDevices("kit", 10, "1.0.0");
  CampaignRules rules;
  rules.failure_percent = 0;
  rules.soak_ms = 60'000;
  const int64_t id = Create(AddImage("kit", "1.2.0"), "5", {}, rules);
  const auto order = Order(registry(), id);

  Campaign c = registry().Control(id, Registry::Command::kPause, "alice", 100);
  EXPECT_EQ(c.status, CampaignStatus::kPaused);
  EXPECT_EQ(c.status_reason, "paused by alice");
  EXPECT_TRUE(registry().RunningCampaigns().empty());
  EXPECT_EQ(Refusal([&] { registry().Control(id, Registry::Command::kPause, "bob", 110); }),
            "the campaign is paused, not running");
  c = registry().Control(id, Registry::Command::kResume, "bob", 120);
  EXPECT_EQ(c.status, CampaignStatus::kRunning);
  EXPECT_EQ(c.failures_accepted, 0u);

  Report(order[0], EventKind::kReverted, "1.2.0", 130);
  Report(order[1], EventKind::kFailed, "1.2.0", 130);
  Report(order[7], EventKind::kFailed, "1.2.0", 130);  // a wave not open yet: not counted
  registry().ApplyStep(id, {Step::kGateMet, "soaking"}, 135);
  ASSERT_EQ(registry().Advance(id, 140).size(), 1u);  // halts
  c = registry().Control(id, Registry::Command::kResume, "carol", 150);
  EXPECT_EQ(c.status, CampaignStatus::kRunning);
  EXPECT_EQ(c.failures_accepted, 2u);
  EXPECT_FALSE(c.gate_met_at);  // the halt broke the soak
  EXPECT_EQ(c.status_reason, "resumed by carol, accepting the 2 failures so far");
  EXPECT_TRUE(registry().Advance(id, 160).empty());  // the accepted failures no longer halt

  c = registry().Control(id, Registry::Command::kCancel, "dave", 170);
  EXPECT_EQ(c.status, CampaignStatus::kCancelled);
  EXPECT_EQ(Refusal([&] { registry().Control(id, Registry::Command::kResume, "x", 180); }),
            "the campaign is cancelled, not paused or halted");
  EXPECT_EQ(Refusal([&] { registry().Control(id, Registry::Command::kCancel, "x", 180); }),
            "the campaign is already cancelled");
  EXPECT_EQ(Refusal([&] { registry().Control(999, Registry::Command::kPause, "x", 180); }),
            "no campaign 999");

  const auto log = registry().CampaignLog(id);
  EXPECT_EQ(Actions(log), (std::vector<std::string>{"created", "paused", "resumed", "gate met",
                                                    "halted", "resumed", "cancelled"}));
  EXPECT_EQ(log[1].reason, "paused by alice");
  EXPECT_EQ(log[1].time, 100);
  EXPECT_EQ(log[6].reason, "cancelled by dave");
  EXPECT_EQ(Refusal([&] { registry().CampaignLog(999); }), "no campaign 999");
}

// ---- Offers ----------------------------------------------------------------

TEST_P(RegistryConformance, CampaignOfGivesTheDevicesPlaceInItsNewestRunningCampaign) {
  AddDevices("kit", 4, "1.0.0");
  EXPECT_FALSE(registry().CampaignOf("dev-00", 0));
  const int64_t first = Create(AddImage("kit", "1.2.0"), "1");
  const auto order = Order(registry(), first);
  Report(order[0], EventKind::kOffered, "1.2.0", 1000);

  auto mine = registry().CampaignOf(order[0], 2000);
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->campaign, first);
  EXPECT_EQ(mine->image.version, "1.2.0");
  EXPECT_EQ(mine->wave, 0u);
  EXPECT_EQ(mine->stage, Stage::kOffered);
  EXPECT_EQ(mine->state.in_flight, 1u);
  EXPECT_EQ(mine->state.starts_last_minute, 1u);
  EXPECT_TRUE(MayOffer(mine->state, mine->wave, mine->stage).offer);
  mine = registry().CampaignOf(order[3], 2000);
  EXPECT_EQ(mine->wave, 1u);
  EXPECT_FALSE(MayOffer(mine->state, mine->wave, mine->stage).offer);

  const int64_t second = Create(AddImage("kit", "1.3.0"), "1");
  EXPECT_EQ(registry().CampaignOf(order[0], 2000)->campaign, second);
  registry().Control(second, Registry::Command::kPause, "ops", 3000);
  EXPECT_EQ(registry().CampaignOf(order[0], 3000)->campaign, first);
  registry().Control(first, Registry::Command::kCancel, "ops", 3000);
  EXPECT_FALSE(registry().CampaignOf(order[0], 3000));
}

TEST_P(RegistryConformance, DevicesToNotifyAreTheWaitingOnlineDevicesOfOpenWavesInOrder) {
  AddDevices("kit", 10, "1.0.0");
  const int64_t id = Create(AddImage("kit", "1.2.0"), "4");
  const auto order = Order(registry(), id);
  registry().SetOnline(order[1], false, 10);
  Report(order[2], EventKind::kOffered, "1.2.0", 20);
  EXPECT_EQ(registry().DevicesToNotify(id, 10), (std::vector<std::string>{order[0], order[3]}));
  EXPECT_EQ(registry().DevicesToNotify(id, 1), std::vector<std::string>{order[0]});
  registry().ApplyStep(id, {Step::kOpenWave, "open"}, 30);
  EXPECT_EQ(registry().DevicesToNotify(id, 100).size(), 8u);
  registry().Control(id, Registry::Command::kPause, "ops", 40);
  EXPECT_TRUE(registry().DevicesToNotify(id, 100).empty());
  EXPECT_EQ(Refusal([&] { registry().DevicesToNotify(999, 1); }), "no campaign 999");
}

// ---- Persistence and threads -------------------------------------------------

TEST_P(RegistryConformance, EverythingSurvivesAReopen) {
  AddDevices("kit", 5, "1.0.0");
  registry().SetTags("dev-00", {"beta"});
  const int64_t id = Create(AddImage("kit", "1.2.0"), "1,2");
  const auto order = Order(registry(), id);
  Report(order[0], EventKind::kConfirmed, "1.2.0", 3000);
  registry().Advance(id, 3000);
  Reopen();
  EXPECT_EQ(registry().FindDevice("dev-00")->tags, std::vector<std::string>{"beta"});
  EXPECT_EQ(Order(registry(), id), order);
  const CampaignState s = registry().LoadState(id, 3000);
  EXPECT_EQ(s.open_waves, 2u);
  EXPECT_EQ(s.waves[0].confirmed, 1u);
  EXPECT_EQ(registry().History(order[0], 10).size(), 1u);
  EXPECT_EQ(registry().CampaignLog(id).size(), 2u);
}

TEST_P(RegistryConformance, CallsFromSeveralThreadsAreEachWholeAndNoneIsLost) {
  constexpr int kThreads = 4;
  constexpr int kDevicesPerThread = 10;
  AddDevices("kit", kThreads * kDevicesPerThread, "1.0.0");
  const int64_t id = Create(AddImage("kit", "1.2.0"), "100%");
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDevicesPerThread; ++i) {
        const int n = t * kDevicesPerThread + i;
        const std::string device = "dev-" + std::string(n < 10 ? "0" : "") + std::to_string(n);
        Report(device, EventKind::kOffered, "1.2.0", 100 + n);
        Report(device, EventKind::kDownloading, "1.2.0", 200 + n);
        Report(device, n % 10 == 0 ? EventKind::kReverted : EventKind::kConfirmed, "1.2.0",
               300 + n);
        registry().Advance(id, 400);
        registry().LoadState(id, 400);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const CampaignState s = registry().LoadState(id, 1000);
  EXPECT_EQ(s.waves[0].confirmed, 36u);
  EXPECT_EQ(s.waves[0].failed, 4u);
  for (int n = 0; n < kThreads * kDevicesPerThread; ++n) {
    const std::string device = "dev-" + std::string(n < 10 ? "0" : "") + std::to_string(n);
    EXPECT_EQ(registry().History(device, 10).size(), 3u) << device;
  }
}

}  // namespace
}  // namespace mqota::fleet

namespace mqota::fleet {
namespace {

// ---- Counts ----------------------------------------------------------------

TEST_P(RegistryConformance, CountsGroupDevicesByVersionAndStateAndCampaignsByStatus) {
  AddDevices("B", 3, "1.0.0", "b-");
  AddDevices("C", 2, "2.0.0", "c-");
  registry().SetOnline("c-01", false, 1500);
  const int64_t campaign = Create(AddImage("B", "1.1.0"), "1,2,100%");
  const std::vector<std::string> order = Order(registry(), campaign);
  Report(order[0], EventKind::kOffered, "1.1.0", 3000);
  Report(order[0], EventKind::kReverted, "1.1.0", 3100);

  const FleetCounts counts = registry().Counts();
  EXPECT_EQ(counts.devices, 5u);
  EXPECT_EQ(counts.online, 4u);
  ASSERT_EQ(counts.versions.size(), 2u);
  EXPECT_EQ(counts.versions[0].board, "B");
  EXPECT_EQ(counts.versions[0].version, "1.0.0");
  EXPECT_EQ(counts.versions[0].devices, 3u);
  EXPECT_EQ(counts.versions[1].board, "C");
  EXPECT_EQ(counts.versions[1].online, 1u);
  EXPECT_EQ(counts.states, (std::map<std::string, uint64_t>{{"reverted", 1}, {"seen", 4}}));
  EXPECT_EQ(counts.campaigns, (std::map<std::string, uint64_t>{{"running", 1}}));

  registry().Control(campaign, Registry::Command::kPause, "test", 4000);
  EXPECT_EQ(registry().Counts().campaigns, (std::map<std::string, uint64_t>{{"paused", 1}}));
}

TEST_P(RegistryConformance, CampaignProgressSplitsStagesByTheDevicesLastEvent) {
  AddDevices("B", 4, "1.0.0", "b-");
  const int64_t campaign = Create(AddImage("B", "1.1.0"), "2,100%");
  const std::vector<std::string> order = Order(registry(), campaign);
  Report(order[0], EventKind::kOffered, "1.1.0", 3000);
  Report(order[1], EventKind::kOffered, "1.1.0", 3000);
  Report(order[1], EventKind::kDownloading, "1.1.0", 3050);
  std::vector<WaveProgress> waves = registry().CampaignProgress(campaign);
  ASSERT_EQ(waves.size(), 2u);
  EXPECT_EQ(waves[0].devices, 2u);
  EXPECT_EQ(waves[0].offered, 1u);
  EXPECT_EQ(waves[0].downloading, 1u);
  EXPECT_EQ(waves[1].devices, 2u);
  EXPECT_EQ(waves[1].waiting, 2u);

  Report(order[0], EventKind::kConfirmed, "1.1.0", 3100);
  Report(order[1], EventKind::kReverted, "1.1.0", 3100);
  waves = registry().CampaignProgress(campaign);
  EXPECT_EQ(waves[0].confirmed, 1u);
  EXPECT_EQ(waves[0].reverted, 1u);
  EXPECT_EQ(waves[0].offered + waves[0].downloading + waves[0].failed, 0u);
  EXPECT_EQ(Refusal([&] { registry().CampaignProgress(campaign + 100); }),
            "no campaign " + std::to_string(campaign + 100));
}

}  // namespace
}  // namespace mqota::fleet
