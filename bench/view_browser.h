// Headless Chromium driven over the W3C WebDriver protocol (Debian's
// chromium and chromium-driver): chromedriver as a child process, its HTTP
// API spoken with cpp-httplib. Only what mqota-bench-view needs: open a
// page, run a script, wait for an asynchronous one.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "mqota/host/child_process.h"

namespace httplib {
class Client;
}

namespace mqota::bench {

class Browser {
 public:
  // Why a browser cannot run here ("" when it can): chromedriver or
  // chromium missing.
  static std::string Unavailable();
  // Starts chromedriver (its log in `dir`) and a headless Chromium session.
  // Throws std::runtime_error with a sentence.
  explicit Browser(const std::filesystem::path& dir);
  ~Browser();  // ends the session, stops chromedriver
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // Navigates and waits for the load event.
  void Go(const std::string& url);
  // The script's return value (`return ...;` in a function body).
  nlohmann::json Run(const std::string& script,
                     const nlohmann::json& args = nlohmann::json::array());
  // An asynchronous script: it calls arguments[arguments.length - 1] with
  // its result. Waits up to the session's script timeout (60 s).
  nlohmann::json RunAsync(const std::string& script,
                          const nlohmann::json& args = nlohmann::json::array());

 private:
  nlohmann::json Call(const std::string& method, const std::string& path,
                      const nlohmann::json& body);

  std::optional<host::ChildProcess> driver_;
  std::unique_ptr<httplib::Client> http_;
  std::string session_;
};

}  // namespace mqota::bench
