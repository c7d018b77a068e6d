#include "view_browser.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "mqota/testing/broker.h"

namespace mqota::bench {
namespace {

using nlohmann::json;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kDriver[] = "/usr/bin/chromedriver";

}  // namespace

std::string Browser::Unavailable() {
  for (const char* path : {kChromium, kDriver}) {
    if (!std::filesystem::exists(path)) {
      return std::string(path) + " is missing (Debian's chromium and chromium-driver)";
    }
  }
  return "";
}

Browser::Browser(const std::filesystem::path& dir) {
  const int port = mqota::testing::FreeLoopbackPort();
  driver_.emplace("chromedriver",
                  std::vector<std::string>{kDriver, "--port=" + std::to_string(port)},
                  dir / "chromedriver.log");
  http_ = std::make_unique<httplib::Client>("127.0.0.1", port);
  http_->set_read_timeout(120, 0);
  // Up to 10 s for chromedriver to listen.
  for (int i = 0; i < 100; ++i) {
    if (auto r = http_->Get("/status"); r && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const json capabilities = {{"capabilities",
                              {{"alwaysMatch",
                                {{"goog:chromeOptions",
                                  {{"binary", kChromium},
                                   {"args",
                                    {"--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                                     "--disable-gpu", "--window-size=1280,1000"}}}}}}}}};
  const json session = Call("POST", "/session", capabilities);
  session_ = session.at("sessionId").get<std::string>();
  Call("POST", "/session/" + session_ + "/timeouts",
       {{"script", 60000}, {"pageLoad", 60000}, {"implicit", 0}});
}

Browser::~Browser() {
  if (!session_.empty()) {
    try {
      Call("DELETE", "/session/" + session_, json::object());
    } catch (const std::exception&) {  // stopping anyway
    }
  }
  if (driver_) driver_->Stop();
}

json Browser::Call(const std::string& method, const std::string& path, const json& body) {
  httplib::Result r = method == "DELETE" ? http_->Delete(path)
                      : method == "GET"  ? http_->Get(path)
                                         : http_->Post(path, body.dump(), "application/json");
  if (!r) {
    throw std::runtime_error("chromedriver did not answer " + method + " " + path +
                             " (log: " + driver_->log().string() + ")");
  }
  json answer = json::parse(r->body, nullptr, false);
  if (r->status != 200 || answer.is_discarded()) {
    throw std::runtime_error("chromedriver: " + method + " " + path + ": " +
                             std::to_string(r->status) + " " + r->body.substr(0, 400));
  }
  return answer.value("value", json());
}

void Browser::Go(const std::string& url) {
  Call("POST", "/session/" + session_ + "/url", {{"url", url}});
}

json Browser::Run(const std::string& script, const json& args) {
  return Call("POST", "/session/" + session_ + "/execute/sync",
              {{"script", script}, {"args", args}});
}

json Browser::RunAsync(const std::string& script, const json& args) {
  return Call("POST", "/session/" + session_ + "/execute/async",
              {{"script", script}, {"args", args}});
}

}  // namespace mqota::bench
