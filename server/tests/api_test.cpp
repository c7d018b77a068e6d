// The fleet API (docs/spec/fleet-api.md) over a real SQLite registry: every
// route as a function call first (statuses, sentences, rows in the
// registry), then over HTTP with the token, and `mqota fleet` run as an
// operator runs it.
#include "mqota/server/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mqota/fleet/sqlite_registry.h"
#include "mqota/host/files.h"
#include "mqota/server/api_json.h"
#include "mqota/server/http_api_server.h"
#include "mqota/testing/files.h"
#include "mqota/testing/process.h"

namespace mqota::server {
namespace {

using nlohmann::json;
namespace mt = mqota::testing;

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";
constexpr fleet::TimeMs kNow = 1'765'000'000'000;  // 2025-12-06

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : registry_(fleet::OpenSqliteRegistry(dir_ / "fleet.db")), api_(*registry_, kToken) {
    for (int i = 0; i < 50; ++i) {
      fleet::DeviceSighting s;
      s.device = "dev-" + std::to_string(100 + i);
      s.board = "BOARD_A";
      s.version = i < 45 ? "1.0.0" : "1.1.0";
      s.verified = true;
      s.time = kNow - 1000 * i;
      registry_->SeeDevice(s);
    }
    fleet::Image image;
    image.board = "BOARD_A";
    image.version = "1.1.0";
    image.sha256 = std::string(64, 'a');
    image.size = 1000;
    image.path = "a-1.1.0.bin";
    image.added = kNow;
    image_id_ = registry_->AddImage(image);
  }

  ApiResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                   std::map<std::string, std::string> query = {},
                   const std::string& token = kToken) {
    ApiRequest r{method, path, std::move(query), body, token.empty() ? "" : "Bearer " + token};
    return api_.Handle(r, kNow);
  }
  static json Body(const ApiResponse& r) { return json::parse(r.body); }
  static std::string Error(const ApiResponse& r) { return Body(r).value("error", ""); }

  json Campaign(const std::string& extra = "") {
    const ApiResponse r =
        Call("POST", "/api/v1/campaigns",
             R"({"name": "spring", "image": {"board": "BOARD_A", "version": "1.1.0"},
                 "waves": "2%,10%,50%")" +
                 extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r);
  }

  mt::TempDir dir_;
  std::unique_ptr<fleet::SqliteRegistry> registry_;
  Api api_;
  int64_t image_id_ = 0;
};

TEST_F(ApiTest, EveryRequestNeedsTheToken) {
  for (const std::string& token : {std::string(), std::string("wrong"),
                                   std::string(kToken).substr(1), std::string(kToken) + "x"}) {
    const ApiResponse r = Call("GET", "/api/v1/devices", "", {}, token);
    EXPECT_EQ(r.status, 401) << token;
    EXPECT_EQ(Body(r).size(), 1u) << r.body;  // the sentence, no data
  }
  EXPECT_EQ(Error(Call("GET", "/api/v1/devices", "", {}, "")),
            "no token: send \"Authorization: Bearer <token>\" (the token is in mqota-server's "
            "--api-token-file)");
  // A server without a token refuses everyone, even the empty token.
  const Api locked(*registry_, "");
  EXPECT_EQ(locked.Handle({"GET", "/api/v1/devices", {}, "", "Bearer "}, kNow).status, 401);
}

TEST_F(ApiTest, DevicesAreListedFilteredAndPaged) {
  const json all = Body(Call("GET", "/api/v1/devices"));
  ASSERT_EQ(all["devices"].size(), 50u);
  EXPECT_EQ(all["devices"][0]["id"], "dev-100");
  EXPECT_EQ(all["devices"][0]["board"], "BOARD_A");
  EXPECT_EQ(all["devices"][0]["version"], "1.0.0");
  EXPECT_EQ(all["devices"][0]["verified"], true);
  EXPECT_EQ(all["devices"][0]["last_seen"], "2025-12-06T05:46:40.000Z");
  EXPECT_EQ(Body(Call("GET", "/api/v1/devices", "", {{"version", "1.1.0"}}))["devices"].size(), 5u);
  const json page = Body(Call("GET", "/api/v1/devices", "", {{"limit", "10"}, {"offset", "45"}}));
  ASSERT_EQ(page["devices"].size(), 5u);
  EXPECT_EQ(page["devices"][0]["id"], "dev-145");
  EXPECT_EQ(Error(Call("GET", "/api/v1/devices", "", {{"limit", "0"}})),
            "?limit= must be a whole number from 1 to 100000");
  EXPECT_EQ(Error(Call("GET", "/api/v1/devices", "", {{"colour", "red"}})),
            "unknown query parameter \"colour\" (known: board, tag, version, limit, offset)");
}

TEST_F(ApiTest, ADeviceComesWithItsHistoryAndTags) {
  fleet::DeviceEvent e;
  e.device = "dev-101";
  e.time = kNow + 5;
  e.kind = fleet::EventKind::kDownloading;
  e.version = "1.1.0";
  e.percent = 40;
  registry_->Record(e);
  const ApiResponse r = Call("GET", "/api/v1/devices/dev-101");
  ASSERT_EQ(r.status, 200) << r.body;
  const json d = Body(r);
  ASSERT_EQ(d["history"].size(), 1u);
  EXPECT_EQ(d["history"][0]["event"], "downloading");
  EXPECT_EQ(d["history"][0]["percent"], 40);
  EXPECT_EQ(Call("GET", "/api/v1/devices/nobody").status, 404);

  const ApiResponse tagged =
      Call("PUT", "/api/v1/devices/dev-101/tags", R"({"tags":["eu","lab"]})");
  ASSERT_EQ(tagged.status, 200) << tagged.body;
  EXPECT_EQ(Body(tagged)["tags"], json({"eu", "lab"}));
  EXPECT_EQ(registry_->FindDevice("dev-101")->tags, (std::vector<std::string>{"eu", "lab"}));
  EXPECT_EQ(Error(Call("PUT", "/api/v1/devices/dev-101/tags", R"({"tags":"eu"})")),
            "\"tags\" must be a list of strings");
}

TEST_F(ApiTest, ACampaignIsCreatedWithItsWavesAndShown) {
  const json c = Campaign(R"(, "failure_percent": 5, "soak_seconds": 30)");
  EXPECT_EQ(c["status"], "running");
  EXPECT_EQ(c["image"]["id"], image_id_);
  EXPECT_EQ(c["rules"]["waves"], "2%,10%,50%");
  EXPECT_EQ(c["rules"]["failure_percent"], 5);
  EXPECT_EQ(c["rules"]["soak_seconds"], 30);
  // The 45 devices at 1.0.0 (those at 1.1.0 already run it): 1, 5, 23, 45.
  ASSERT_EQ(c["waves"].size(), 4u);
  EXPECT_EQ(c["waves"][0]["devices"], 1);
  EXPECT_EQ(c["waves"][0]["open"], true);
  EXPECT_EQ(c["waves"][1]["devices"], 4);
  EXPECT_EQ(c["waves"][1]["open"], false);
  EXPECT_EQ(c["totals"]["devices"], 45);
  EXPECT_EQ(c["totals"]["waiting"], 45);
  ASSERT_GE(c["log"].size(), 1u);
  EXPECT_EQ(c["log"][0]["action"], "created");

  const json list = Body(Call("GET", "/api/v1/campaigns"));
  ASSERT_EQ(list["campaigns"].size(), 1u);
  EXPECT_EQ(list["campaigns"][0]["name"], "spring");
  const std::string id = std::to_string(c["id"].get<int64_t>());
  EXPECT_EQ(Body(Call("GET", "/api/v1/campaigns/" + id))["name"], "spring");
  EXPECT_EQ(registry_->ListCampaigns().size(), 1u);
}

TEST_F(ApiTest, BadCampaignsAreRefusedWithASentenceAndNothingIsStored) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"name": "x", "image": 1, "colour": "red"})",
       "unknown field \"colour\" (known: failure_percent, image, max_in_flight, name, "
       "soak_seconds, stall_seconds, starts_per_minute, success_percent, target, waves)"},
      {R"({"name": "x", "image": 1, "failure_percent": 150})",
       "\"failure_percent\" must be from 0 to 100"},
      {R"({"name": "x", "image": 1, "success_percent": "90"})",
       "\"success_percent\" must be a whole number from 0 to 100"},
      {R"({"name": "x", "image": 1, "waves": "10%,5%"})",
       "\"waves\": waves are cumulative and must not shrink: \"5%\" comes after 10%"},
      {R"({"name": "x", "image": 99})", "no image 99 (GET /api/v1/images lists them)"},
      {R"({"name": "x", "image": {"board": "BOARD_A", "version": "9.9.9"}})",
       "no image BOARD_A 9.9.9 in the catalog (GET /api/v1/images lists them)"},
      {R"({"image": 1})", "\"name\" is missing"},
      {R"([1, 2])", "the body must be a JSON object"},
      {R"({"name": )", "the body is not valid JSON"},
      {R"({"name": "x", "image": 1, "target": {"devices": []}})",
       "\"devices\" is empty: leave it out to target all"},
  };
  for (const auto& [body, sentence] : cases) {
    const ApiResponse r = Call("POST", "/api/v1/campaigns", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(Error(r), sentence) << body;
  }
  // A campaign for devices that do not need the image: the registry's sentence.
  const ApiResponse none =
      Call("POST", "/api/v1/campaigns",
           R"({"name": "x", "image": 1, "target": {"from_version": "1.1.0"}})");
  EXPECT_EQ(none.status, 400);
  EXPECT_FALSE(Error(none).empty());
  EXPECT_TRUE(registry_->ListCampaigns().empty());
  EXPECT_EQ(Call("POST", "/api/v1/campaigns", std::string(70 * 1024, ' ')).status, 413);
}

TEST_F(ApiTest, CampaignsArePausedResumedAndCancelledAsTheirStatusAllows) {
  const std::string id = std::to_string(Campaign()["id"].get<int64_t>());
  const std::string base = "/api/v1/campaigns/" + id;
  EXPECT_EQ(Body(Call("POST", base + "/pause"))["status"], "paused");
  const ApiResponse again = Call("POST", base + "/pause");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Error(again), "the campaign is paused, not running");
  EXPECT_EQ(Body(Call("POST", base + "/resume"))["status"], "running");
  EXPECT_EQ(Body(Call("POST", base + "/cancel"))["status"], "cancelled");
  EXPECT_EQ(Call("POST", base + "/resume").status, 409);
  const json log = Body(Call("GET", base))["log"];
  std::vector<std::string> actions;
  for (const auto& e : log) actions.push_back(e["action"]);
  EXPECT_EQ(actions.size(), 4u) << log.dump();
  EXPECT_EQ(Call("POST", "/api/v1/campaigns/999/pause").status, 404);
  EXPECT_EQ(Call("GET", base + "/pause").status, 405);
}

TEST_F(ApiTest, TheVersionHistoryIsOnAGridOfItsStepEndingNow) {
  // dev-100..144 at 1.0.0 and dev-145..149 at 1.1.0, dev-1NN first seen NN
  // seconds before now.
  ApiResponse r = Call("GET", "/api/v1/versions/history", "", {{"window", "60"}, {"step", "10"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = Body(r);
  EXPECT_EQ(j["window"], 60);
  EXPECT_EQ(j["step"], 10);
  EXPECT_EQ(j["times"], json({api::IsoTime(kNow - 50000), api::IsoTime(kNow - 40000),
                              api::IsoTime(kNow - 30000), api::IsoTime(kNow - 20000),
                              api::IsoTime(kNow - 10000), api::IsoTime(kNow)}));
  ASSERT_EQ(j["series"].size(), 2u) << r.body;
  EXPECT_EQ(j["series"][0]["board"], "BOARD_A");
  EXPECT_EQ(j["series"][0]["version"], "1.0.0");
  EXPECT_EQ(j["series"][0]["devices"], json({0, 5, 15, 25, 35, 45}));
  EXPECT_EQ(j["series"][1]["version"], "1.1.0");
  EXPECT_EQ(j["series"][1]["devices"], json({0, 5, 5, 5, 5, 5}));

  // A device that moves is counted at its new version from then on.
  registry_->SeeDevice({"dev-100", "BOARD_A", "1.1.0", "", true, kNow - 5000});
  j = Body(Call("GET", "/api/v1/versions/history", "", {{"window", "60"}, {"step", "10"}}));
  EXPECT_EQ(j["series"][0]["devices"], json({0, 5, 15, 25, 35, 44}));
  EXPECT_EQ(j["series"][1]["devices"], json({0, 5, 5, 5, 5, 6}));

  // By default a day in 96 steps of 15 minutes, and now.
  j = Body(Call("GET", "/api/v1/versions/history"));
  EXPECT_EQ(j["window"], 86400);
  EXPECT_EQ(j["step"], 900);
  EXPECT_EQ(j["times"].size(), 97u);
  EXPECT_EQ(j["times"].back(), api::IsoTime(kNow));

  EXPECT_EQ(Error(Call("GET", "/api/v1/versions/history", "", {{"window", "10"}})),
            "?window= must be a whole number from 60 to 2678400");
  EXPECT_EQ(Error(Call("GET", "/api/v1/versions/history", "", {{"step", "1"}})),
            "?step= must be at least window / 1000 (87 s for a window of 86400 s)");
  EXPECT_EQ(Error(Call("GET", "/api/v1/versions/history", "", {{"since", "1"}})),
            "unknown query parameter \"since\" (known: window, step)");
  EXPECT_EQ(Call("POST", "/api/v1/versions/history").status, 405);
}

TEST_F(ApiTest, ImagesShowTheirSigningKeysHash) {
  json j = Body(Call("GET", "/api/v1/images"));
  ASSERT_EQ(j["images"].size(), 1u);
  EXPECT_EQ(j["images"][0]["key_hash"], "");  // added without one
  fleet::Image signed_image = *registry_->FindImage(image_id_);
  signed_image.key_hash = std::string(64, 'B');
  registry_->AddImage(signed_image);
  j = Body(Call("GET", "/api/v1/images"));
  EXPECT_EQ(j["images"][0]["key_hash"], std::string(64, 'b'));
}

TEST_F(ApiTest, UnknownRoutesAndMethodsSaySo) {
  EXPECT_EQ(Call("GET", "/api/v2/devices").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/gadgets").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/campaigns/abc").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/campaigns/-1").status, 404);
  const ApiResponse r = Call("DELETE", "/api/v1/devices");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(Error(r), "DELETE is not allowed on /api/v1/devices (use GET)");
}

// The API over HTTP, and the operator's command on it, as an operator runs
// them: a token file, tables, --json, errors in one line with exit 1.
class ApiOverHttp : public ApiTest {
 protected:
  ApiOverHttp() : log_(LogLevel::kError, [](std::string_view) {}), http_(api_, log_) {
    http_.Start("127.0.0.1", 0);
    host::WriteFileAtomically((dir_ / "token").string(), std::string(kToken) + "\n", 0600);
  }
  mt::ProcessResult Fleet(std::vector<std::string> args) {
    std::vector<std::string> argv = {mt::BinPath("mqota"), "fleet"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--api=http://127.0.0.1:" + std::to_string(http_.port()));
    argv.push_back("--token-file=" + (dir_ / "token").string());
    return mt::RunProcess(argv);
  }
  Logger log_;
  HttpApiServer http_;
};

TEST_F(ApiOverHttp, TheOperatorRunsACampaignFromTheCommandLine) {
  const mt::ProcessResult created = Fleet({"campaign", "create", "--name", "spring", "--image",
                                           "BOARD_A:1.1.0", "--waves", "2%,10%", "--failure", "5"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("campaign 1 \"spring\": BOARD_A 1.1.0, running"), std::string::npos)
      << created.out;
  EXPECT_NE(created.out.find("halt above 5% failed"), std::string::npos) << created.out;
  ASSERT_EQ(registry_->ListCampaigns().size(), 1u);
  EXPECT_EQ(registry_->ListCampaigns()[0].rules.failure_percent, 5u);

  const mt::ProcessResult list = Fleet({"campaign", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.rfind("ID  NAME    IMAGE          STATUS   WAVES  CONFIRMED  FAILED", 0), 0u)
      << list.out;

  const mt::ProcessResult json_list = Fleet({"campaign", "list", "--json"});
  ASSERT_EQ(json_list.exit_code, 0) << json_list.err;
  EXPECT_EQ(json::parse(json_list.out)["campaigns"][0]["name"], "spring");

  const mt::ProcessResult paused = Fleet({"campaign", "pause", "1"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  const mt::ProcessResult twice = Fleet({"campaign", "pause", "1"});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_EQ(twice.err, "mqota: the campaign is paused, not running\n");

  const mt::ProcessResult devices = Fleet({"devices", "--version", "1.1.0"});
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  EXPECT_NE(devices.out.find("dev-145  BOARD_A  1.1.0"), std::string::npos) << devices.out;
}

TEST_F(ApiOverHttp, ErrorsAreOneLineWithExitOne) {
  host::WriteFileAtomically((dir_ / "wrong").string(), "nope\n", 0600);
  std::vector<std::string> argv = {mt::BinPath("mqota"), "fleet", "devices",
                                   "--api=http://127.0.0.1:" + std::to_string(http_.port()),
                                   "--token-file=" + (dir_ / "wrong").string()};
  const mt::ProcessResult wrong = mt::RunProcess(argv);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.err, "mqota: wrong token\n");

  const mt::ProcessResult bad = Fleet({"campaign", "create", "--name", "x", "--image", "B:9.9.9"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "mqota: no image B 9.9.9 in the catalog (GET /api/v1/images lists them)\n");

  const int free_port = http_.port();
  http_.Stop();
  const mt::ProcessResult down = Fleet({"images"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_EQ(down.err.rfind("mqota: cannot reach mqota-server's API at http://127.0.0.1:" +
                               std::to_string(free_port),
                           0),
            0u)
      << down.err;
}

}  // namespace
}  // namespace mqota::server
