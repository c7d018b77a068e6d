#include "fleet/fleet_command.h"

#include <cstdlib>
#include <iostream>
#include <memory>

#include "fleet/api_client.h"
#include "fleet/tables.h"
#include "mqota/host/command_error.h"

namespace mqota::cli::fleet {
namespace {

using nlohmann::json;

constexpr const char* kDescription =
    R"(Talks to mqota-server's fleet API (mqota-server --api, loopback port 8470 by default).
The token is read from --token-file (default: mqota-server.db.token, which mqota-server
writes beside its --db), or from $MQOTA_API_TOKEN. Reads print tables, or the API's JSON
with --json. A refused command prints the server's sentence and exits 1.

A campaign rolls an image out in waves: the first wave (the canaries) must be confirmed
after boot by --success % of its devices before the next opens, and the campaign halts
by itself when more than --failure % of the devices in the open waves revert, are
rejected, refuse or fail the image. Example:
  mqota fleet campaign create --name spring --image MQOTA_VIRTUAL_BOARD:1.2.0 \
      --waves 2%,10%,50% --failure 5)";

struct Common {
  std::string api = "http://127.0.0.1:8470";
  std::string token_file = "mqota-server.db.token";
  bool json = false;
};

ApiClient Client(const Common& c) { return ApiClient({c.api, LoadToken(c.token_file)}); }

void Print(const Common& c, const json& answer, std::string (*table)(const json&)) {
  if (c.json) {
    std::cout << answer.dump(2) << "\n";
  } else {
    std::cout << table(answer);
  }
}

// "BOARD:VERSION" or an image id.
json ImageReference(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
      throw host::UsageError("--image '" + text + "' is neither an image id nor BOARD:VERSION");
    }
    return std::stoll(text);
  }
  return {{"board", text.substr(0, colon)}, {"version", text.substr(colon + 1)}};
}

void AddCommon(CLI::App* cmd, Common& c, bool reads) {
  cmd->add_option("--api", c.api, "mqota-server's API address")->capture_default_str();
  cmd->add_option("--token-file", c.token_file, "File holding the API token")
      ->capture_default_str();
  if (reads) cmd->add_flag("--json", c.json, "Print the API's JSON instead of a table");
}

void AddCampaignCommands(CLI::App* fleet, const std::shared_ptr<Common>& c) {
  auto* campaign = fleet->add_subcommand("campaign", "Create, list, show and steer campaigns");
  campaign->require_subcommand(1);

  struct Create {
    std::string name, image, waves, tag, from_version;
    std::vector<std::string> devices;
    int success = 90, failure = 10, soak = 0, in_flight = 0, starts = 0;
  };
  auto args = std::make_shared<Create>();
  auto* create = campaign->add_subcommand("create", "Start rolling an image out");
  AddCommon(create, *c, true);
  create->add_option("--name", args->name, "A name for people")->required();
  create->add_option("--image", args->image, "BOARD:VERSION or an image id (see: fleet images)")
      ->required();
  create->add_option("--waves", args->waves,
                     "Cumulative wave sizes, counts or shares, e.g. 1%,10%,50% (a last 100% is "
                     "implied; default: everyone at once)");
  create->add_option("--device", args->devices, "Only this device (repeatable)");
  create->add_option("--tag", args->tag, "Only devices with this tag");
  create->add_option("--from-version", args->from_version, "Only devices running this version");
  create->add_option("--success", args->success, "% of a wave confirmed to open the next")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  create
      ->add_option("--failure", args->failure,
                   "Halt when more than this % of the open waves' devices failed")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  create->add_option("--soak", args->soak, "Seconds to wait after a wave's gate is met")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  create->add_option("--max-in-flight", args->in_flight, "Devices updating at once (0: any)")
      ->check(CLI::NonNegativeNumber);
  create->add_option("--starts-per-minute", args->starts, "New offers a minute (0: any)")
      ->check(CLI::NonNegativeNumber);
  create->callback([c, args] {
    json body = {{"name", args->name},
                 {"image", ImageReference(args->image)},
                 {"success_percent", args->success},
                 {"failure_percent", args->failure},
                 {"soak_seconds", args->soak},
                 {"max_in_flight", args->in_flight},
                 {"starts_per_minute", args->starts}};
    if (!args->waves.empty()) body["waves"] = args->waves;
    json target = json::object();
    if (!args->devices.empty()) target["devices"] = args->devices;
    if (!args->tag.empty()) target["tag"] = args->tag;
    if (!args->from_version.empty()) target["from_version"] = args->from_version;
    if (!target.empty()) body["target"] = target;
    Print(*c, Client(*c).Post("/api/v1/campaigns", body), CampaignDetail);
  });

  auto* list = campaign->add_subcommand("list", "Every campaign, newest first");
  AddCommon(list, *c, true);
  list->callback([c] { Print(*c, Client(*c).Get("/api/v1/campaigns"), CampaignsTable); });

  auto id = std::make_shared<int64_t>(0);
  auto* show = campaign->add_subcommand("show", "A campaign's waves and decisions");
  AddCommon(show, *c, true);
  show->add_option("ID", *id, "Campaign id")->required();
  show->callback([c, id] {
    Print(*c, Client(*c).Get("/api/v1/campaigns/" + std::to_string(*id)), CampaignDetail);
  });

  for (const char* command : {"pause", "resume", "cancel"}) {
    const std::string help = std::string(command) == "pause"
                                 ? "Offer nothing new (devices already updating carry on)"
                             : std::string(command) == "resume"
                                 ? "Run a paused or halted campaign again (a halt's failures are "
                                   "accepted)"
                                 : "End a campaign for good";
    auto* cmd = campaign->add_subcommand(command, help);
    AddCommon(cmd, *c, true);
    cmd->add_option("ID", *id, "Campaign id")->required();
    cmd->callback([c, id, command] {
      Print(*c,
            Client(*c).Post("/api/v1/campaigns/" + std::to_string(*id) + "/" + command,
                            json::object()),
            CampaignDetail);
    });
  }
}

}  // namespace

void AddFleetCommand(CLI::App& app) {
  auto c = std::make_shared<Common>();
  if (const char* env = std::getenv("MQOTA_API"); env && *env) c->api = env;
  auto* fleet = app.add_subcommand("fleet", "Devices, images and campaigns of a running server");
  fleet->footer(kDescription);
  fleet->require_subcommand(1);

  struct DeviceArgs {
    std::string board, tag, version, id;
    int history = 20;
    std::vector<std::string> tags;
  };
  auto a = std::make_shared<DeviceArgs>();
  auto* devices = fleet->add_subcommand("devices", "The devices the server knows");
  AddCommon(devices, *c, true);
  devices->add_option("--board", a->board, "Only this board");
  devices->add_option("--tag", a->tag, "Only devices with this tag");
  devices->add_option("--version", a->version, "Only devices running this version");
  devices->callback([c, a] {
    std::map<std::string, std::string> query;
    if (!a->board.empty()) query["board"] = a->board;
    if (!a->tag.empty()) query["tag"] = a->tag;
    if (!a->version.empty()) query["version"] = a->version;
    Print(*c, Client(*c).Get("/api/v1/devices", query), DevicesTable);
  });

  auto* device = fleet->add_subcommand("device", "One device and its history");
  AddCommon(device, *c, true);
  device->add_option("ID", a->id, "Device id")->required();
  device->add_option("--history", a->history, "Events shown, newest first")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  device->callback([c, a] {
    Print(*c, Client(*c).Get("/api/v1/devices/" + a->id, {{"history", std::to_string(a->history)}}),
          DeviceDetail);
  });

  auto* tag = fleet->add_subcommand("tag", "Set a device's tags (replaces them)");
  AddCommon(tag, *c, true);
  tag->add_option("ID", a->id, "Device id")->required();
  tag->add_option("TAGS", a->tags, "Its tags (none: clear them)");
  tag->callback([c, a] {
    Print(*c, Client(*c).Put("/api/v1/devices/" + a->id + "/tags", {{"tags", a->tags}}),
          DeviceDetail);
  });

  auto* images = fleet->add_subcommand("images", "The images the server serves");
  AddCommon(images, *c, true);
  images->callback([c] { Print(*c, Client(*c).Get("/api/v1/images"), ImagesTable); });

  AddCampaignCommands(fleet, c);
}

}  // namespace mqota::cli::fleet
