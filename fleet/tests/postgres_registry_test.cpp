// The PostgreSQL registry: the conformance suite on a real server (one
// cluster per test binary, a fresh database per store), and what only
// PostgreSQL has: its types and settings, the schema version table,
// migrations when servers start together, errors that name the database
// without its password, a reconnect after a server restart, and several
// registries (as several mqota-servers) deciding a campaign's steps once
// (docs/spec/fleet-registry.md#postgresql).
#include "mqota/fleet/postgres_registry.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "mqota/fleet/open_registry.h"
#include "mqota/testing/postgres.h"
#include "postgres_db.h"
#include "postgres_pool.h"
#include "postgres_schema.h"
#include "registry_conformance.h"

namespace mqota::fleet {
namespace {

using mqota::testing::PostgresServer;
using mqota::testing::SharedPostgres;

std::string Unavailable() {
  return PostgresServer::FindBinaries() ? "" : PostgresServer::MissingBinaries();
}

// A fresh database on the shared server, dropped when the store goes.
class PostgresStore : public RegistryStore {
 public:
  PostgresStore() : name_("store_" + std::to_string(++count_)) {
    SharedPostgres().CreateDatabase(name_);
  }
  ~PostgresStore() override { SharedPostgres().DropDatabase(name_); }
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  std::unique_ptr<Registry> Open() override { return OpenPostgresRegistry(url()); }
  std::unique_ptr<PostgresRegistry> OpenPostgres() { return OpenPostgresRegistry(url()); }
  std::string url() const { return SharedPostgres().Url(name_); }
  // psql in this store's database.
  std::string Sql(const std::string& sql) const { return SharedPostgres().Sql(name_, sql); }

 private:
  static inline std::atomic<int> count_{0};
  std::string name_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, RegistryConformance,
                         ::testing::Values(RegistryBackend{
                             "postgres", [] { return std::make_unique<PostgresStore>(); },
                             Unavailable}),
                         RegistryBackendName);

class PostgresRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = Unavailable(); !why.empty()) GTEST_SKIP() << why;
    store_ = std::make_unique<PostgresStore>();
  }
  PostgresStore& store() { return *store_; }

 private:
  std::unique_ptr<PostgresStore> store_;
};

// The RegistryError message opening `url` throws; "(opened)" when it opens.
std::string OpenError(const std::string& url) {
  try {
    OpenPostgresRegistry(url);
  } catch (const RegistryError& e) {
    return e.what();
  }
  return "(opened)";
}

TEST_F(PostgresRegistryTest, OpensWithTheSchemaRecordedAndReportsItsSettings) {
  auto registry = store().OpenPostgres();
  const PostgresSettings settings = registry->Settings();
  EXPECT_EQ(settings.schema_version, 2);
  EXPECT_EQ(settings.synchronous_commit, "on");
  EXPECT_EQ(settings.fsync, "off");  // as the test server runs
  EXPECT_FALSE(settings.server_version.empty());
  EXPECT_EQ(
      store().Sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"),
      "1,2");
  registry.reset();
  // Opening again migrates nothing.
  OpenPostgresRegistry(store().url());
  EXPECT_EQ(store().Sql("SELECT count(*) FROM schema_version"), "2");
}

TEST_F(PostgresRegistryTest, TheTablesUsePostgresTypes) {
  store().OpenPostgres();
  const auto type = [&](const std::string& table, const std::string& column) {
    return store().Sql("SELECT data_type FROM information_schema.columns WHERE table_name = '" +
                       table + "' AND column_name = '" + column + "'");
  };
  EXPECT_EQ(type("devices", "online"), "boolean");
  EXPECT_EQ(type("devices", "last_seen"), "bigint");
  EXPECT_EQ(type("events", "id"), "bigint");
  EXPECT_EQ(type("events", "verified"), "boolean");
  EXPECT_EQ(type("campaigns", "rules"), "jsonb");
  EXPECT_EQ(type("campaigns", "gate_met_at"), "bigint");
  EXPECT_EQ(store().Sql("SELECT is_identity FROM information_schema.columns "
                        "WHERE table_name = 'events' AND column_name = 'id'"),
            "YES");
}

TEST_F(PostgresRegistryTest, WhatACallReturnedIsInTheDatabase) {
  auto registry = store().OpenPostgres();
  registry->SeeDevice({"d1", "kit", "1.0.0", "", true, 1000});
  registry->SetOnline("d1", true, 1100);
  registry->SetTags("d1", {"lab"});
  DeviceEvent event;
  event.device = "d1";
  event.kind = EventKind::kDownloading;
  event.version = "1.2.0+3";
  event.percent = 40;
  event.time = 2000;
  const int64_t id = registry->Record(event).id;
  // Another connection (psql) sees it: committed.
  EXPECT_EQ(store().Sql("SELECT board, version, state, online, verified, last_seen FROM devices"),
            "kit|1.0.0|downloading|t|t|2000");
  EXPECT_EQ(store().Sql("SELECT tag FROM device_tags WHERE device = 'd1'"), "lab");
  EXPECT_EQ(store().Sql("SELECT id, kind, version, percent, campaign IS NULL FROM events"),
            std::to_string(id) + "|downloading|1.2.0|40|t");
}

TEST_F(PostgresRegistryTest, ASchemaNewerThanTheCodeIsRefused) {
  store().OpenPostgres();
  store().Sql("INSERT INTO schema_version (version) VALUES (7)");
  EXPECT_EQ(OpenError(store().url()),
            store().url() +
                ": schema version 7 is newer than this mqota-server knows (2); upgrade "
                "mqota-server");
}

// The mechanism with a migration more than this code has: each runs once,
// in order, recorded with its row; a failing one leaves the version before
// it, whole; this program then refuses the newer schema.
TEST_F(PostgresRegistryTest, MigrationsRunInOrderAndAFailedOneLeavesTheVersionBeforeIt) {
  postgres::Connection db = postgres::Connection::Open(store().url());
  const postgres::Migration add_note = [](postgres::Connection& c) {
    c.Execute("ALTER TABLE devices ADD COLUMN note TEXT NOT NULL DEFAULT ''");
  };
  const postgres::Migration broken = [](postgres::Connection& c) {
    c.Execute("ALTER TABLE devices ADD COLUMN half TEXT");
    c.Execute("SELECT * FROM no_such_table");
  };
  const std::vector<postgres::Migration> more = {postgres::Migrations()[0],
                                                 postgres::Migrations()[1], add_note};
  postgres::Migrate(db, more);
  postgres::Migrate(db, more);  // nothing left to do
  const auto versions = [&] {
    return store().Sql(
        "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version");
  };
  const auto has_column = [&](const std::string& column) {
    return store().Sql(
               "SELECT count(*) FROM information_schema.columns WHERE table_name = "
               "'devices' AND column_name = '" +
               column + "'") == "1";
  };
  EXPECT_EQ(versions(), "1,2,3");
  EXPECT_TRUE(has_column("note"));

  const std::vector<postgres::Migration> broken_last = {
      postgres::Migrations()[0], postgres::Migrations()[1], add_note, broken};
  EXPECT_THROW(postgres::Migrate(db, broken_last), RegistryError);
  EXPECT_EQ(versions(), "1,2,3");
  EXPECT_FALSE(has_column("half"));
  EXPECT_EQ(OpenError(store().url()),
            store().url() +
                ": schema version 3 is newer than this mqota-server knows (2); upgrade "
                "mqota-server");
}

TEST_F(PostgresRegistryTest, ServersStartingTogetherMigrateOnce) {
  constexpr int kServers = 4;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  std::vector<std::string> errors(kServers);
  threads.reserve(kServers);
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] {
      try {
        OpenPostgresRegistry(store().url());
        ++opened;
      } catch (const RegistryError& e) {
        errors[static_cast<size_t>(i)] = e.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(opened.load(), kServers) << errors[0] << errors[1] << errors[2] << errors[3];
  EXPECT_EQ(
      store().Sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"),
      "1,2");
}

TEST_F(PostgresRegistryTest, ErrorsNameTheDatabaseButNeverThePassword) {
  const int port = SharedPostgres().port();
  const std::string shown = "postgresql://mqota@127.0.0.1:" + std::to_string(port) + "/nosuchdb";
  const std::string missing =
      OpenError("postgresql://mqota:s3cret@127.0.0.1:" + std::to_string(port) + "/nosuchdb");
  EXPECT_EQ(missing.rfind(shown + ": ", 0), 0u) << missing;
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
  EXPECT_EQ(missing.find("s3cret"), std::string::npos) << missing;
  EXPECT_EQ(missing.find('\n'), std::string::npos) << missing;  // one line

  // Port 1: nothing listens there.
  const std::string refused = OpenError("postgres://mqota:s3cret@127.0.0.1:1/x?connect_timeout=2");
  EXPECT_EQ(refused.rfind("postgresql://mqota@127.0.0.1:1/x: ", 0), 0u) << refused;
  EXPECT_EQ(refused.find("s3cret"), std::string::npos) << refused;
}

TEST_F(PostgresRegistryTest, ARegistryReconnectsAfterTheServerRestarts) {
  auto registry = store().OpenPostgres();
  registry->SeeDevice({"d1", "kit", "1.0.0", "", true, 1000});
  SharedPostgres().Restart();
  // The first call after the restart finds the connection closed, connects
  // again and succeeds.
  registry->SeeDevice({"d2", "kit", "1.0.0", "", true, 2000});
  EXPECT_TRUE(registry->FindDevice("d1"));
  EXPECT_EQ(store().Sql("SELECT count(*) FROM devices"), "2");
}

TEST_F(PostgresRegistryTest, TheFactoryOpensAUrlAsPostgresAndSaysSoWithoutThePassword) {
  const std::string url = store().url();
  const std::string with_password =
      "postgresql://" + std::string(PostgresServer::kUser) + ":pw@" + url.substr(url.find('@') + 1);
  const OpenedRegistry opened = OpenRegistry(with_password);
  ASSERT_TRUE(opened.registry);
  EXPECT_EQ(opened.description.rfind(url + " (PostgreSQL ", 0), 0u) << opened.description;
  EXPECT_NE(opened.description.find("schema 2"), std::string::npos) << opened.description;
  EXPECT_EQ(opened.description.find("pw@"), std::string::npos) << opened.description;
}

// Several mqota-servers on one database, each its own registry (its own
// connection): every one of them asks Advance at once, again and again;
// each step is taken once, as the campaign log shows.
TEST_F(PostgresRegistryTest, SeveralServersTakeEachCampaignStepOnce) {
  constexpr int kServers = 4;
  constexpr int kCallsEach = 15;
  std::vector<std::unique_ptr<PostgresRegistry>> servers;
  servers.reserve(kServers);
  for (int i = 0; i < kServers; ++i) servers.push_back(store().OpenPostgres());
  Registry& first = *servers[0];
  for (int i = 0; i < 4; ++i) {
    const std::string id = "dev-" + std::to_string(i);
    first.SeeDevice({id, "kit", "1.0.0", "", true, 1});
  }
  Image image{0, "kit", "1.2.0", std::string(64, 'a'), 10, "/i.bin", 1, ""};
  CampaignRules rules;
  rules.success_percent = 100;
  std::string error;
  rules.waves = ParseWaves("1,2", &error).value();
  const int64_t id = first.CreateCampaign({"rollout", first.AddImage(image), {}, rules, 2});
  std::vector<std::string> order;
  for (const CampaignDevice& d : first.CampaignDevices(id)) order.push_back(d.device);
  DeviceEvent confirmed;
  confirmed.kind = EventKind::kConfirmed;
  confirmed.version = "1.2.0";
  confirmed.time = 20;
  for (const std::string& device : {order[0], order[1]}) {
    confirmed.device = device;
    first.Record(confirmed);
  }

  std::atomic<int> steps{0};
  std::vector<std::thread> threads;
  threads.reserve(kServers);
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] {
      for (int call = 0; call < kCallsEach; ++call) {
        steps += static_cast<int>(servers[static_cast<size_t>(i)]->Advance(id, 30).size());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  // Wave 2 opens, its gate is met at once (order[1] confirmed): wave 3.
  EXPECT_EQ(steps.load(), 2);
  EXPECT_EQ(store().Sql("SELECT count(*) FROM campaign_log WHERE action = 'wave opened'"), "2");
  EXPECT_EQ(store().Sql("SELECT open_waves FROM campaigns"), "3");
}

// One server's threads: a campaign decision that waits for the campaign's
// row (another server holds it) does not hold up the reads and writes of the
// other threads, which run on the pool's other connections.
TEST_F(PostgresRegistryTest, AThreadWaitingForARowLockDoesNotHoldUpTheOthers) {
  using namespace std::chrono_literals;
  auto registry = store().OpenPostgres();
  registry->SeeDevice({"dev-0", "kit", "1.0.0", "", true, 1});
  Image image{0, "kit", "1.2.0", std::string(64, 'a'), 10, "/i.bin", 1, ""};
  const int64_t id = registry->CreateCampaign({"rollout", registry->AddImage(image), {}, {}, 2});

  postgres::Connection other = postgres::Connection::Open(store().url());
  other.Execute("BEGIN");
  other.Execute("SELECT id FROM campaigns WHERE id = " + std::to_string(id) + " FOR NO KEY UPDATE");
  auto deciding = std::async(std::launch::async, [&] { return registry->Advance(id, 30); });
  auto reading = std::async(std::launch::async, [&] {
    DeviceEvent event;
    event.device = "dev-0";
    event.kind = EventKind::kDownloading;
    event.version = "1.2.0";
    event.time = 20;
    registry->Record(event);
    return registry->Counts().devices;
  });
  const bool read_while_locked = reading.wait_for(10s) == std::future_status::ready;
  const bool decided_while_locked = deciding.wait_for(0s) == std::future_status::ready;
  other.Execute("COMMIT");  // either way, so that both calls end
  EXPECT_TRUE(read_while_locked);
  EXPECT_FALSE(decided_while_locked);
  EXPECT_EQ(reading.get(), 1u);
  deciding.get();
  EXPECT_EQ(store().Sql("SELECT count(*) FROM events"), "1");
}

// A server frozen (SIGSTOP, a lost network) inside a transaction holds the
// rows it locked, here its campaign's: PostgreSQL ends its session after the
// idle-in-transaction timeout, and the other servers' decisions go on
// (docs/spec/fleet-registry.md#several-servers). The registry's sessions get
// 30 s unless the URL says otherwise; the frozen one here says 1 s.
TEST_F(PostgresRegistryTest, AServerFrozenInATransactionLosesItsLocksAfterTheTimeout) {
  using namespace std::chrono_literals;
  auto registry = store().OpenPostgres();
  registry->SeeDevice({"dev-0", "kit", "1.0.0", "", true, 1});
  Image image{0, "kit", "1.2.0", std::string(64, 'a'), 10, "/i.bin", 1, ""};
  const int64_t id = registry->CreateCampaign({"rollout", registry->AddImage(image), {}, {}, 2});
  EXPECT_EQ(
      postgres::Connection::Open(store().url()).Setting("idle_in_transaction_session_timeout"),
      postgres::kIdleInTransactionTimeout);

  postgres::Connection frozen = postgres::Connection::Open(
      store().url() + "?options=-c%20idle_in_transaction_session_timeout%3D1s");
  ASSERT_EQ(frozen.Setting("idle_in_transaction_session_timeout"), "1s");
  frozen.Execute("BEGIN");
  frozen.Execute("SELECT id FROM campaigns WHERE id = " + std::to_string(id) +
                 " FOR NO KEY UPDATE");
  const auto started = std::chrono::steady_clock::now();
  auto deciding = std::async(std::launch::async, [&] { return registry->Advance(id, 30); });
  const bool decided = deciding.wait_for(15s) == std::future_status::ready;
  const auto waited = std::chrono::steady_clock::now() - started;
  if (!decided) frozen.Execute("COMMIT");  // not ended after all: let the call end
  ASSERT_TRUE(decided) << "the frozen session still held the campaign's row after 15 s";
  deciding.get();
  EXPECT_GE(waited, 500ms);  // it did wait for the lock
  EXPECT_LT(waited, 10s);
  // The frozen server's session is gone, its transaction rolled back.
  EXPECT_THROW(frozen.Execute("SELECT 1"), RegistryError);
}

// However many threads call at once, one registry holds at most its pool's
// connections, and every call's write is there.
TEST_F(PostgresRegistryTest, ManyThreadsShareTheRegistrysFewConnections) {
  constexpr int kThreads = 16;
  constexpr int kEventsEach = 20;
  auto registry = store().OpenPostgres();
  for (int i = 0; i < kThreads; ++i) {
    registry->SeeDevice({"dev-" + std::to_string(i), "kit", "1.0.0", "", true, 1});
  }
  size_t most = 0;
  const std::string connections =
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
      "AND application_name = 'mqota-server'";
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      DeviceEvent event;
      event.device = "dev-" + std::to_string(i);
      event.kind = EventKind::kDownloading;
      event.version = "1.2.0";
      for (int n = 0; n < kEventsEach; ++n) {
        event.time = 10 + n;
        registry->Record(event);
      }
    });
  }
  for (int probe = 0; probe < 20; ++probe) {
    const size_t now = std::stoul(store().Sql(connections));
    most = std::max(most, now);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(most, postgres::kConnectionsPerRegistry);
  EXPECT_LE(std::stoul(store().Sql(connections)), postgres::kConnectionsPerRegistry);
  EXPECT_EQ(store().Sql("SELECT count(*) FROM events"), std::to_string(kThreads * kEventsEach));
}

// Two servers write batches of events for the same devices at once, one in
// the devices' order, the other backwards: the batches take turns on the
// rows and none deadlocks (PostgreSQL counts every deadlock it broke in
// pg_stat_database, flushed when the sessions end).
TEST_F(PostgresRegistryTest, BatchesSharingDevicesInOppositeOrdersNeverDeadlock) {
  constexpr int kDevices = 20;
  constexpr int kBatches = 15;
  {
    auto forward = store().OpenPostgres();
    auto backward = store().OpenPostgres();
    for (int i = 0; i < kDevices; ++i) {
      forward->SeeDevice({"dev-" + std::to_string(i), "kit", "1.0.0", "", true, 1});
    }
    Image image{0, "kit", "1.2.0", std::string(64, 'a'), 10, "/i.bin", 1, ""};
    forward->CreateCampaign({"rollout", forward->AddImage(image), {}, {}, 2});
    const auto write = [&](Registry& registry, bool reversed) {
      std::vector<DeviceEvent> batch(kDevices);
      for (int i = 0; i < kDevices; ++i) {
        DeviceEvent& event = batch[static_cast<size_t>(reversed ? kDevices - 1 - i : i)];
        event.device = "dev-" + std::to_string(i);
        event.kind = EventKind::kDownloading;
        event.version = "1.2.0";
      }
      for (int n = 0; n < kBatches; ++n) {
        for (DeviceEvent& event : batch) event.time = 10 + n;
        registry.RecordAll(batch);
      }
    };
    // A deadlock that outlasted the retries would throw: said, not a crash.
    std::string failures;
    std::mutex failures_mutex;
    const auto run = [&](Registry& registry, bool reversed) {
      try {
        write(registry, reversed);
      } catch (const RegistryError& e) {
        const std::lock_guard lock(failures_mutex);
        failures += std::string(e.what()) + "\n";
      }
    };
    std::thread a([&] { run(*forward, false); });
    std::thread b([&] { run(*backward, true); });
    a.join();
    b.join();
    EXPECT_EQ(failures, "");
  }
  EXPECT_EQ(store().Sql("SELECT count(*) FROM events"), std::to_string(2 * kDevices * kBatches));
  const std::string sessions =
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
      "AND application_name = 'mqota-server'";
  for (int wait = 0; wait < 100 && store().Sql(sessions) != "0"; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(
      store().Sql("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"),
      "0");
}

// A device sends its report again when the acknowledgement is late; the
// copies reach several servers at once. Each server's registry checks for
// the copy under the device's row lock: the report is recorded once.
TEST_F(PostgresRegistryTest, AReportReachingSeveralServersAtOnceIsRecordedOnce) {
  constexpr int kServers = 4;
  constexpr int kRounds = 10;
  std::vector<std::unique_ptr<PostgresRegistry>> servers;
  for (int i = 0; i < kServers; ++i) servers.push_back(store().OpenPostgres());
  servers[0]->SeeDevice({"dev-0", "kit", "1.0.0", "", true, 1});
  std::atomic<int> recorded{0};
  for (int round = 0; round < kRounds; ++round) {
    DeviceEvent report;
    report.device = "dev-0";
    report.kind = round % 2 == 0 ? EventKind::kPending : EventKind::kConfirmed;
    report.version = "1." + std::to_string(round) + ".0";
    report.unless_repeated = true;
    std::vector<std::thread> threads;
    for (int i = 0; i < kServers; ++i) {
      threads.emplace_back([&, i] {
        DeviceEvent copy = report;
        copy.time = 100 * round + i;  // each server stamps its own arrival
        recorded += servers[static_cast<size_t>(i)]->Record(copy).repeated ? 0 : 1;
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  EXPECT_EQ(recorded.load(), kRounds);
  EXPECT_EQ(store().Sql("SELECT count(*) FROM events"), std::to_string(kRounds));
}

// Two servers record events for the same devices at once, one "offered",
// the other "confirmed": whatever the interleaving, a confirmed device
// stays confirmed (the stage only moves forward), and every event is kept.
TEST_F(PostgresRegistryTest, SeveralServersRecordingOneDeviceNeverMoveItsStageBack) {
  constexpr int kDevices = 30;
  auto offering = store().OpenPostgres();
  auto confirming = store().OpenPostgres();
  for (int i = 0; i < kDevices; ++i) {
    offering->SeeDevice({"dev-" + std::to_string(i), "kit", "1.0.0", "", true, 1});
  }
  Image image{0, "kit", "1.2.0", std::string(64, 'a'), 10, "/i.bin", 1, ""};
  const int64_t id = offering->CreateCampaign({"rollout", offering->AddImage(image), {}, {}, 2});
  const auto record_all = [&](Registry& registry, EventKind kind) {
    for (int i = 0; i < kDevices; ++i) {
      DeviceEvent event;
      event.device = "dev-" + std::to_string(i);
      event.kind = kind;
      event.version = "1.2.0";
      event.time = 100;
      registry.Record(event);
    }
  };
  std::thread a([&] { record_all(*offering, EventKind::kOffered); });
  std::thread b([&] { record_all(*confirming, EventKind::kConfirmed); });
  a.join();
  b.join();
  EXPECT_EQ(offering->LoadState(id, 200).waves.at(0).confirmed, static_cast<uint32_t>(kDevices));
  EXPECT_EQ(store().Sql("SELECT count(*) FROM campaign_devices WHERE stage = 'confirmed'"),
            std::to_string(kDevices));
  EXPECT_EQ(store().Sql("SELECT count(*) FROM events"), std::to_string(2 * kDevices));
}

}  // namespace
}  // namespace mqota::fleet
