// 1 MiB to one device over loopback in 4 KiB chunks, plain and mutual TLS:
//   ours  mqota-server and the agent (RAM flash), pushed (the reference flow),
//         and pulled with windows of 1 and of 8 (the default)
//   base  two raw libmosquitto clients on the same broker, in the same run:
//         requests with the same window answered by 4 KiB payloads (push: one
//         request answered by every chunk at once), nothing parsed or stored
// Each figure is the median of N runs; ours and the baseline alternate, so
// load on a shared machine hits both alike. Also: bytes on the wire beyond
// the image, time spent verifying, and the speed-up over the reference
// publisher (publisher.py, ~40 s per MiB: server/README.md, P3).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mqota/fleet/sqlite_registry.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/server/server.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/process.h"
#include "mqota/testing/random_bytes.h"
#include "wire_baseline.h"
#include "wire_device.h"
#include "wire_mixed.h"

namespace {

using namespace mqota;
using namespace std::chrono_literals;
namespace mt = mqota::testing;

constexpr double kReferenceSecondsPerMiB = 40.0;
constexpr uint32_t kChunkBytes = 4096;

struct Mode {
  const char* name;
  uint32_t window;  // ours and the baseline; 0 = push
};
constexpr Mode kModes[] = {{"push", 0}, {"pull W=1", 1}, {"pull W=8", 8}};

struct Row {
  std::vector<bench::DeviceRunResult> ours;
  std::vector<bench::BaselineResult> base;
  // Which side costs the time: mqota-server with a raw device, the agent
  // with a raw server.
  std::vector<bench::BaselineResult> server_only;
  std::vector<bench::DeviceRunResult> agent_only;
};

template <typename T, typename F>
double Median(const std::vector<T>& runs, F value) {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(static_cast<double>(value(r)));
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "mqota-bench-wire: %s\n", what.c_str());
  std::exit(1);
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string LoadAverage() {
  std::string a, b, c;
  std::ifstream("/proc/loadavg") >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The image the server offers: about 1 MiB (header, payload and TLVs), so
// 256 chunks of 4 KiB, signed with the imgtool test key.
std::vector<uint8_t> MakeImage(const host::Key& key) {
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = {1, 1, 0, 0};
  o.align = 8;
  o.slot_size = 2 * 1024 * 1024;
  return host::BuildSignedImage(mt::PseudoRandomBytes(1024 * 1024 - 0x400 - 300, 7), o, &key);
}

// One broker (plain or mutual TLS) with mqota-server on it, and every mode
// measured against its baseline.
class Link {
 public:
  Link(bool tls, const std::vector<uint8_t>& image, std::span<const image::TrustedKey> trusted)
      : tls_(tls), image_(image), trusted_(trusted) {
    mt::BrokerOptions options;
    options.tls = tls;
    if (tls) {
      pki_ = std::make_unique<mt::TestPki>(dir_ / "pki");
      const auto [cert, key] = pki_->Client("dev-1");
      device_tls_ = {pki_->ca_cert().string(), cert.string(), key.string(), ""};
      const auto [req_cert, req_key] = pki_->Client("base-requester");
      const auto [resp_cert, resp_key] = pki_->Client("base-responder");
      base_tls_ = {pki_->ca_cert().string(), req_cert.string(), req_key.string(),
                   resp_cert.string(), resp_key.string()};
    }
    broker_ = std::make_unique<mt::MosquittoBroker>(dir_ / "broker", options, pki_.get());

    auto catalog = std::make_shared<server::Catalog>();
    server::CatalogOptions catalog_options;
    catalog_options.trusted_keys.push_back(
        {trusted[0].type,
         std::vector<uint8_t>(trusted[0].public_key_der.begin(), trusted[0].public_key_der.end())});
    catalog->Add(bench::kBenchBoard, "app-1.1.0.bin", image, catalog_options);
    server::ServerConfig config;  // the defaults of mqota-server (4 workers, window 8)
    config.mqtt.port = broker_->port();
    config.mqtt.client_id = "mqota-server";
    if (tls) {
      const auto [cert, key] = pki_->Client("mqota-server");
      config.mqtt.tls_enabled = true;
      config.mqtt.tls = {pki_->ca_cert().string(), cert.string(), key.string(), ""};
    }
    config.handler.job_port = static_cast<uint16_t>(broker_->port());
    config.offer_newest = true;  // one image for every device: no campaign
    registry_ = fleet::OpenSqliteRegistry(dir_ / "fleet.db");
    server_ = std::make_unique<server::Server>(config, std::move(catalog), *registry_, log_);
    server_->Start(10s);
    raw_server_ = std::make_unique<bench::RawServer>(BaseOptions(0, 0), image, kRawPrefix);
    if (!raw_server_->WaitReady()) Fail(std::string(name()) + ": the raw server cannot connect");
  }

  const char* name() const { return tls_ ? "TLS" : "plain"; }

  // The agent, answered by mqota-server (or by the raw server).
  bench::DeviceRunResult Ours(uint32_t window, bool raw_server = false) {
    bench::DeviceRunOptions o;
    o.port = broker_->port();
    if (raw_server) o.prefix = kRawPrefix;
    o.tls = tls_ ? &device_tls_ : nullptr;
    o.window = window;
    o.image_bytes = image_.size();
    o.trusted = trusted_;
    auto r = bench::RunDevice(o);
    if (!r.ok) Fail(std::string(name()) + ": " + r.error);
    return r;
  }
  bench::BaselineResult Base(uint32_t window, uint32_t chunks) {
    auto r = bench::RunBaseline(BaseOptions(window, chunks));
    if (!r.ok) Fail(std::string(name()) + ": " + r.error);
    return r;
  }
  // A raw device, answered by mqota-server.
  bench::BaselineResult RawDevice(uint32_t window, uint32_t chunks) {
    auto r = bench::RunRawDevice(BaseOptions(window, chunks), bench::kBenchBoard);
    if (!r.ok) Fail(std::string(name()) + ": " + r.error);
    return r;
  }

 private:
  static constexpr char kRawPrefix[] = "mqraw";  // as long as "mqota"

  bench::BaselineOptions BaseOptions(uint32_t window, uint32_t chunks) const {
    bench::BaselineOptions o;
    o.port = broker_->port();
    o.tls = tls_ ? &base_tls_ : nullptr;
    o.window = window;
    o.chunks = chunks;
    o.chunk_bytes = kChunkBytes;
    return o;
  }

  bool tls_;
  const std::vector<uint8_t>& image_;
  std::span<const image::TrustedKey> trusted_;
  mt::TempDir dir_;
  std::unique_ptr<mt::TestPki> pki_;
  posix::MqttTls device_tls_;
  bench::BaselineTls base_tls_;
  std::unique_ptr<mt::MosquittoBroker> broker_;
  server::Logger log_{server::LogLevel::kError, [](std::string_view line) {
                        std::fprintf(stderr, "mqota-server: %.*s\n", static_cast<int>(line.size()),
                                     line.data());
                      }};
  std::unique_ptr<fleet::SqliteRegistry> registry_;  // outlives the server
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<bench::RawServer> raw_server_;
};

void PrintHelp() {
  std::printf(
      "usage: mqota-bench-wire [--repeat N] [--quick]\n"
      "1 MiB in 4 KiB chunks to one device over loopback (a mosquitto it starts), plain and\n"
      "mutual TLS: mqota-server + agent pushed, pulled with W=1 and W=8, beside raw\n"
      "libmosquitto clients doing the same exchange with nothing else (the baseline).\n"
      "  --repeat N  runs per figure, the median is shown (default 5)\n"
      "  --quick     one run each (a smoke test)\n");
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      PrintHelp();
      return 0;
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      repeat = 1;
    } else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc &&
               std::atoi(argv[i + 1]) > 0) {
      repeat = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "mqota-bench-wire: unknown argument \"%s\" (try --help)\n", argv[i]);
      return 2;
    }
  }

  const auto key = host::Key::Load(std::string(MQOTA_VECTORS_DIR) + "/ecdsa-p256-test-key.pem");
  const std::vector<uint8_t> image = MakeImage(key);
  const auto der = key.PublicKeyDer();
  const image::TrustedKey trusted[] = {{image::SignatureType::kEcdsaP256, der}};
  const uint32_t chunks = static_cast<uint32_t>((image.size() + kChunkBytes - 1) / kChunkBytes);
  const double mib = static_cast<double>(image.size()) / (1024.0 * 1024.0);

  std::printf("wire: a %zu-byte image (%.3f MiB, %u chunks of %u B) to one device over loopback\n",
              image.size(), mib, chunks, kChunkBytes);
  std::printf("environment: %u cores, load average %s at start, %s, libmosquitto %s\n",
              std::thread::hardware_concurrency(), LoadAverage().c_str(),
              FirstLine(mt::RunProcess({"/usr/sbin/mosquitto", "-h"}, 5s).out).c_str(),
              bench::LibmosquittoVersion().c_str());
  std::printf(
      "ours: \"Update Availability\" to verified and pending; base: first request to last"
      " chunk; medians of %d run%s\n\n",
      repeat, repeat == 1 ? "" : "s");

  struct Measured {
    const char* link;
    Mode mode;
    Row row;
  };
  std::vector<Measured> all;
  std::string tls_versions;
  for (const bool tls : {false, true}) {
    Link link(tls, image, trusted);
    (void)link.Ours(8);  // warm-up: first connections, page faults, caches
    (void)link.Base(8, chunks);
    for (const Mode& mode : kModes) {
      Measured m{link.name(), mode, {}};
      for (int i = 0; i < repeat; ++i) {  // alternating: load hits every variant alike
        m.row.ours.push_back(link.Ours(mode.window));
        m.row.base.push_back(link.Base(mode.window, chunks));
        m.row.server_only.push_back(link.RawDevice(mode.window, chunks));
        m.row.agent_only.push_back(link.Ours(mode.window, /*raw_server=*/true));
      }
      all.push_back(std::move(m));
    }
    if (tls) {
      tls_versions = all.back().row.ours[0].tls_version + " (ours), " +
                     all.back().row.base[0].tls_version + " (base), client certificates";
    }
  }
  std::printf("TLS: %s\n", tls_versions.c_str());

  const double bytes = static_cast<double>(image.size());
  auto secs = [](const auto& r) { return r.seconds; };
  auto rate = [&](double seconds) { return bytes / seconds / 1e6; };
  std::printf("\n%-9s %-5s %9s %9s %6s %6s %9s %9s %7s\n", "mode", "link", "ours MB/s", "base MB/s",
              "ratio", "", "overhead", "base ovh", "x ref");
  for (const auto& m : all) {
    const double ours = Median(m.row.ours, secs);
    const double base = Median(m.row.base, secs);
    const double wire = Median(m.row.ours, [](const auto& r) { return r.wire_bytes; });
    const double base_wire = Median(m.row.base, [](const auto& r) { return r.wire_bytes; });
    std::printf("%-9s %-5s %9.1f %9.1f %6.2f %6s %8.1f%% %8.1f%% %6.0fx\n", m.mode.name, m.link,
                rate(ours), rate(base), base / ours, base / ours < 0.8 ? "< 0.8" : "",
                100.0 * (wire - bytes) / bytes, 100.0 * (base_wire - bytes) / bytes,
                kReferenceSecondsPerMiB * mib / ours);
  }
  std::printf(
      "ratio = ours / base (goal >= 0.8); overhead = bytes in the device's TCP stream (both ways,\n"
      "MQTT and TLS framing included) beyond the image; x ref = speed-up over the reference\n"
      "publisher's ~%.0f s per MiB\n",
      kReferenceSecondsPerMiB);

  // Where the time goes: the job round trip, the verification, and which
  // side of ours is slow (each half beside the raw other half).
  std::printf("\n%-9s %-5s %7s %7s %9s %6s %10s %10s %9s %9s\n", "mode", "link", "job ms", "verify",
              "ours-ver", "ratio", "srv+raw", "raw+agent", "us/chunk", "base us");
  for (const auto& m : all) {
    const double ours = Median(m.row.ours, secs);
    const double verify = Median(m.row.ours, [](const auto& r) { return r.verify_seconds; });
    const double job = Median(m.row.ours, [](const auto& r) {
      return r.request_times.size() > 1 ? r.request_times[1] : 0.0;
    });
    const double unverified =
        Median(m.row.ours, [](const auto& r) { return r.seconds - r.verify_seconds; });
    const double agent_only =
        Median(m.row.agent_only, [](const auto& r) { return r.seconds - r.verify_seconds; });
    const double base = Median(m.row.base, secs);
    std::printf("%-9s %-5s %7.2f %5.1fms %9.1f %6.2f %10.1f %10.1f %9.0f %9.0f\n", m.mode.name,
                m.link, job * 1e3, verify * 1e3, rate(unverified), base / unverified,
                rate(Median(m.row.server_only, secs)), rate(agent_only),
                (ours - job - verify) / chunks * 1e6, base / chunks * 1e6);
  }
  std::printf(
      "job = Update Availability to the first download request; verify = SHA-256 + ECDSA P-256\n"
      "(mbedTLS) inside the agent; ours-ver = ours without it (MB/s), ratio = that / base;\n"
      "srv+raw = mqota-server answering a raw device; raw+agent = the agent answered by a raw\n"
      "server, without verification (MB/s); us/chunk = ours per chunk without job and verify\n");

  // Per chunk, in this process (every thread but the broker's): context
  // switches and CPU time. The hand-offs between threads are the cost.
  std::printf("\n%-9s %-5s %21s %21s %21s %21s\n", "per chunk", "link", "switches/cpu us: ours",
              "srv+raw", "raw+agent", "base");
  auto per_chunk = [&](const auto& runs) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f / %.0f",
                  Median(runs, [](const auto& r) { return r.usage.switches; }) / chunks,
                  Median(runs, [](const auto& r) { return r.usage.cpu_seconds; }) / chunks * 1e6);
    return std::string(text);
  };
  for (const auto& m : all) {
    std::printf("%-9s %-5s %21s %21s %21s %21s\n", m.mode.name, m.link,
                per_chunk(m.row.ours).c_str(), per_chunk(m.row.server_only).c_str(),
                per_chunk(m.row.agent_only).c_str(), per_chunk(m.row.base).c_str());
  }
  std::printf(
      "ours and raw+agent include the job and the verification (about 5 ms of CPU, 20 us per\n"
      "chunk); the broker's own switches and CPU are not counted\n");

  std::printf("\n%-9s %-5s %9s %9s %9s %9s\n", "overhead", "link", "hdr+CRC", "requests", "rest",
              "total");
  for (const auto& m : all) {
    const auto& first = m.row.ours.front();
    const double headers = chunks * (32.0 + (first.crc ? 4.0 : 0.0)) / bytes * 100.0;
    const double requests =
        Median(m.row.ours, [](const auto& r) { return r.publish_bytes; }) / bytes * 100.0;
    const double total =
        (Median(m.row.ours, [](const auto& r) { return r.wire_bytes; }) - bytes) / bytes * 100.0;
    std::printf("%-9s %-5s %8.2f%% %8.2f%% %8.2f%% %8.2f%%  (%u requests)\n", m.mode.name, m.link,
                headers, requests, total - headers - requests, total, first.publishes);
  }
  std::printf(
      "hdr+CRC = 32-byte chunk headers and 4-byte CRC trailers; requests = the device's messages\n"
      "(topic and JSON); rest = MQTT headers, the chunks' topics, PUBACKs, the job document,\n"
      "TLS records\n");
  return 0;
}
