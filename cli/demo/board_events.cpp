#include "demo/board_events.h"

#include <fstream>

namespace mqota::cli::demo {

std::vector<nlohmann::json> BoardEvents::Poll() {
  std::vector<nlohmann::json> fresh;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return fresh;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk((std::istreambuf_iterator<char>(in)), {});
  offset_ += chunk.size();
  partial_ += chunk;
  size_t start = 0;
  for (size_t nl = partial_.find('\n'); nl != std::string::npos;
       start = nl + 1, nl = partial_.find('\n', start)) {
    auto event = nlohmann::json::parse(partial_.substr(start, nl - start), nullptr, false);
    if (!event.is_object()) continue;
    const std::string kind = event.value("event", "");
    if (kind == "app-start") rises_.clear();
    if (kind == "led" && event.value("on", false)) rises_.push_back(event.value("t", 0.0));
    events_.push_back(event);
    fresh.push_back(event);
  }
  partial_.erase(0, start);
  return fresh;
}

std::optional<double> BoardEvents::BlinkHz(int min_periods, double min_span_ms) const {
  if (rises_.size() < static_cast<size_t>(min_periods) + 1) return std::nullopt;
  const double span_ms = rises_.back() - rises_.front();
  if (span_ms < min_span_ms || span_ms <= 0) return std::nullopt;
  return static_cast<double>(rises_.size() - 1) * 1000.0 / span_ms;
}

}  // namespace mqota::cli::demo
