// MqttClient against a real mosquitto on 127.0.0.1: plain and mutual-TLS round
// trips (TLS 1.2 and 1.3 pinned), refused client certificates, and the
// broker's name checked against its certificate.
#include "mqota/ports/posix/mqtt_client.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "mqota/testing/broker.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::posix {
namespace {

using namespace std::chrono_literals;
namespace mt = mqota::testing;

struct Received {
  std::string topic;
  std::vector<uint8_t> payload;
};

// Collects what a client receives on its network thread.
class Inbox {
 public:
  MqttClient::MessageHandler Handler() {
    return [this](const MqttMessage& m) {
      std::lock_guard lock(mutex_);
      messages_.push_back({std::string(m.topic), {m.payload.begin(), m.payload.end()}});
      arrived_.notify_all();
    };
  }
  // Waits for a message on `topic`; returns it (empty topic on timeout).
  Received WaitOn(const std::string& topic, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    Received found;
    arrived_.wait_for(lock, timeout, [&] {
      for (const auto& m : messages_) {
        if (m.topic == topic) {
          found = m;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    messages_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<Received> messages_;
};

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Subscribes `sub` to `topic` and returns once the subscription is live at
// the broker: `pub` publishes probes until one comes back (there is no SUBACK
// in the API, and the two connections are not ordered with each other).
bool Rendezvous(MqttClient& sub, Inbox& inbox, MqttClient& pub, const std::string& topic) {
  if (!sub.Subscribe(topic)) return false;
  for (int i = 0; i < 100; ++i) {
    pub.Publish(topic, Bytes("probe"));
    if (!inbox.WaitOn(topic, 50ms).topic.empty()) {
      inbox.Clear();
      return true;
    }
  }
  return false;
}

// Polls until the client reports an error (a failed attempt) or 5 s pass.
std::string WaitForError(const MqttClient& client) {
  for (int i = 0; i < 250 && client.error().empty(); ++i) std::this_thread::sleep_for(20ms);
  return client.error();
}

MqttOptions Plain(const mt::MosquittoBroker& broker) {
  MqttOptions o;
  o.host = broker.host();
  o.port = broker.port();
  return o;
}

MqttOptions Tls(const mt::MosquittoBroker& broker, mt::TestPki& pki, const std::string& cn,
                const std::string& version = "") {
  MqttOptions o = Plain(broker);
  o.tls_enabled = true;
  o.tls.ca_file = pki.ca_cert().string();
  if (!cn.empty()) {
    const auto [cert, key] = pki.Client(cn);
    o.tls.cert_file = cert.string();
    o.tls.key_file = key.string();
  }
  o.tls.version = version;
  return o;
}

// Two clients on one broker: `b` subscribes, `a` publishes.
void ExpectRoundTrip(const MqttOptions& a_options, const MqttOptions& b_options) {
  Inbox inbox;  // first: outlives `b`, whose network thread delivers into it
  MqttClient a(a_options);
  MqttClient b(b_options);
  b.OnMessage(inbox.Handler());
  ASSERT_TRUE(a.Start()) << a.error();
  ASSERT_TRUE(b.Start()) << b.error();
  ASSERT_TRUE(a.WaitConnected(5s)) << a.error();
  ASSERT_TRUE(b.WaitConnected(5s)) << b.error();
  ASSERT_TRUE(Rendezvous(b, inbox, a, "mqota/test/round-trip"));
  // Binary, with NULs, larger than one reference chunk.
  const auto payload = mt::PseudoRandomBytes(10000, 7);
  ASSERT_TRUE(a.Publish("mqota/test/round-trip", payload));
  const Received r = inbox.WaitOn("mqota/test/round-trip", 5s);
  EXPECT_EQ(r.payload, payload);
}

TEST(MqttClient, PlainRoundTripWithNodelay) {
  mt::TempDir dir;
  mt::MosquittoBroker broker(dir.path(), {});
  ExpectRoundTrip(Plain(broker), Plain(broker));

  std::mutex mutex;
  std::vector<bool> events;
  MqttClient c(Plain(broker));
  c.OnConnection([&](bool up) {
    std::lock_guard lock(mutex);
    events.push_back(up);
  });
  EXPECT_FALSE(c.connected());
  ASSERT_TRUE(c.Start());
  ASSERT_TRUE(c.WaitConnected(5s)) << c.error();
  EXPECT_TRUE(c.tcp_nodelay());  // MOSQ_OPT_TCP_NODELAY really reached the socket
  EXPECT_EQ(c.tls_version(), "");
  EXPECT_FALSE(c.Start());  // once only
  std::lock_guard lock(mutex);
  EXPECT_EQ(events, std::vector<bool>{true});
}

class MqttClientTls : public ::testing::TestWithParam<std::string> {};

TEST_P(MqttClientTls, MutualTlsRoundTripOnThePinnedVersion) {
  mt::TempDir dir;
  mt::TestPki pki(dir / "pki");
  mt::BrokerOptions options;
  options.tls = true;
  options.tls_version = GetParam();
  mt::MosquittoBroker broker(dir / "broker", options, &pki);
  ExpectRoundTrip(Tls(broker, pki, "publisher", GetParam()), Tls(broker, pki, "dev-1", GetParam()));

  MqttClient c(Tls(broker, pki, "dev-1", GetParam()));
  ASSERT_TRUE(c.Start());
  ASSERT_TRUE(c.WaitConnected(5s)) << c.error();
  EXPECT_EQ(c.tls_version(), GetParam() == "tlsv1.2" ? "TLSv1.2" : "TLSv1.3");
  EXPECT_TRUE(c.tcp_nodelay());
}

INSTANTIATE_TEST_SUITE_P(Versions, MqttClientTls, ::testing::Values("tlsv1.2", "tlsv1.3"));

TEST(MqttClient, PinnedVersionIsAMaximumToo) {
  mt::TempDir dir;
  mt::TestPki pki(dir / "pki");
  mt::BrokerOptions options;
  options.tls = true;
  options.tls_version = "tlsv1.3";  // the broker's minimum
  mt::MosquittoBroker broker(dir / "broker", options, &pki);
  MqttClient c(Tls(broker, pki, "dev-1", "tlsv1.2"));
  ASSERT_TRUE(c.Start());
  const std::string error = WaitForError(c);
  EXPECT_FALSE(c.connected());
  EXPECT_NE(error.find("TLS failed"), std::string::npos) << error;
}

class MqttClientRefused : public ::testing::Test {
 protected:
  MqttClientRefused() : pki_(dir_ / "pki"), broker_(dir_ / "broker", TlsBroker(), &pki_) {}
  static mt::BrokerOptions TlsBroker() {
    mt::BrokerOptions o;
    o.tls = true;
    return o;
  }
  // Starts `options` and expects it never to connect, for one of `reasons`.
  void ExpectRefused(const MqttOptions& options, const std::vector<std::string>& reasons) {
    MqttClient c(options);
    ASSERT_TRUE(c.Start()) << c.error();
    const std::string error = WaitForError(c);
    EXPECT_FALSE(c.WaitConnected(200ms));
    EXPECT_NE(error.find("cannot connect to " + options.host), std::string::npos) << error;
    EXPECT_TRUE(std::any_of(reasons.begin(), reasons.end(), [&](const std::string& r) {
      return error.find(r) != std::string::npos;
    })) << error;
  }
  // The broker refuses a client certificate with a TLS 1.3 alert after the
  // client's side of the handshake; a TCP reset sometimes swallows the alert.
  static constexpr char kLostAlert[] = "did it refuse the client certificate?";
  mt::TempDir dir_;
  mt::TestPki pki_;
  mt::MosquittoBroker broker_;
};

TEST_F(MqttClientRefused, WithoutAClientCertificate) {
  ExpectRefused(Tls(broker_, pki_, ""), {"tlsv13 alert certificate required", kLostAlert});
}

TEST_F(MqttClientRefused, WithACertificateFromAnotherCa) {
  mt::TestPki other(dir_ / "other-pki");
  MqttOptions o = Tls(broker_, pki_, "");
  const auto [cert, key] = other.Client("dev-1");
  o.tls.cert_file = cert.string();
  o.tls.key_file = key.string();
  ExpectRefused(o, {"alert unknown ca", kLostAlert});
}

TEST_F(MqttClientRefused, WhenTheBrokerCertificateIsNotForTheNameUsed) {
  // "127.1" reaches 127.0.0.1 but is not in the broker's SANs (IP:127.0.0.1,
  // IP:::1, DNS:localhost): the client must refuse the broker.
  MqttOptions o = Tls(broker_, pki_, "dev-1");
  o.host = "127.1";
  ExpectRefused(o, {"the broker's certificate was refused (hostname mismatch)"});
  // The names in the certificate pass, as IP address and as DNS name.
  for (const char* host : {"127.0.0.1", "localhost"}) {
    o.host = host;
    MqttClient c(o);
    ASSERT_TRUE(c.Start());
    EXPECT_TRUE(c.WaitConnected(5s)) << host << ": " << c.error();
  }
}

TEST_F(MqttClientRefused, WhenTheBrokerCertificateIsFromAnotherCa) {
  mt::TestPki other(dir_ / "other-pki");
  MqttOptions o = Tls(broker_, pki_, "dev-1");
  o.tls.ca_file = other.ca_cert().string();
  // Both test CAs are called "mqota test CA": OpenSSL finds the wrong one by
  // name and then fails on its signature.
  ExpectRefused(o, {"the broker's certificate was refused ("});
}

TEST(MqttClient, UnusableOptionsFailAtStart) {
  MqttOptions o;
  o.port = mt::FreeLoopbackPort();
  o.tls_enabled = true;
  o.tls.ca_file = "/nonexistent/ca.crt";
  MqttClient missing_ca(o);
  EXPECT_FALSE(missing_ca.Start());
  EXPECT_NE(missing_ca.error().find("cannot load the CA certificate \"/nonexistent/ca.crt\""),
            std::string::npos)
      << missing_ca.error();

  o.tls.version = "tlsv1.0";
  MqttClient bad_version(o);
  EXPECT_FALSE(bad_version.Start());
  EXPECT_NE(bad_version.error().find("unknown TLS version"), std::string::npos);

  MqttOptions plain;
  plain.port = 70000;
  MqttClient bad_port(plain);
  EXPECT_FALSE(bad_port.Start());
  EXPECT_NE(bad_port.error().find("invalid connection options"), std::string::npos);
}

TEST(MqttClient, NoBrokerYetThenOneAppears) {
  mt::TempDir dir;
  mt::MosquittoBroker broker(dir.path(), {});
  broker.Kill();
  MqttClient c(Plain(broker));
  ASSERT_TRUE(c.Start());
  const std::string error = WaitForError(c);
  EXPECT_NE(error.find("Connection refused"), std::string::npos) << error;
  broker.Restart();
  EXPECT_TRUE(c.WaitConnected(10s)) << c.error();
}

// will_on_stop: the will goes out before the DISCONNECT, every time, even
// while the client's network thread is busy taking acknowledgements (the
// publish just before the stop is acknowledged as the stop begins). Once,
// the network thread saw the stop and sent DISCONNECT before the will was
// queued, and the will was lost.
TEST(MqttClient, TheWillSaidOnStopArrivesEveryTime) {
  mt::TempDir dir;
  mt::MosquittoBroker broker(dir.path(), {});
  Inbox inbox;
  MqttClient watcher(Plain(broker));
  watcher.OnMessage(inbox.Handler());
  ASSERT_TRUE(watcher.Start());
  ASSERT_TRUE(watcher.WaitConnected(5s)) << watcher.error();
  // Its own probe coming back tells the subscription is live.
  ASSERT_TRUE(watcher.Subscribe("mqota/test/#"));
  ASSERT_TRUE(watcher.Publish("mqota/test/probe", Bytes("probe")));
  ASSERT_FALSE(inbox.WaitOn("mqota/test/probe", 5s).topic.empty());
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; ++round) {
    const std::string status = "mqota/test/dev-" + std::to_string(round) + "/status";
    const std::string data = "mqota/test/dev-" + std::to_string(round) + "/data";
    MqttOptions o = Plain(broker);
    o.will = MqttWill{status, "offline", false};
    o.will_on_stop = true;
    auto device = std::make_unique<MqttClient>(o);
    ASSERT_TRUE(device->Start());
    ASSERT_TRUE(device->WaitConnected(5s)) << device->error();
    ASSERT_TRUE(device->Publish(data, Bytes("last words"), 1));
    ASSERT_FALSE(inbox.WaitOn(data, 5s).topic.empty()) << "round " << round;
    device.reset();
    const Received will = inbox.WaitOn(status, 5s);
    ASSERT_EQ(will.topic, status) << "round " << round << ": no will after a clean stop";
    EXPECT_EQ(std::string(will.payload.begin(), will.payload.end()), "offline");
    inbox.Clear();
  }
}

// A broker that stops acknowledging: the client holds at most its bound of
// unacknowledged bytes, a publish beyond it fails after its wait with a
// sentence, and once the broker goes on, so does the client.
TEST(MqttClient, UnacknowledgedBytesAreBoundedWhileTheBrokerStalls) {
  mt::TempDir dir;
  mt::MosquittoBroker broker(dir.path(), {});
  MqttOptions o = Plain(broker);
  o.max_unacked_bytes = 256 * 1024;
  o.publish_wait = 300ms;
  MqttClient c(o);
  ASSERT_TRUE(c.Start());
  ASSERT_TRUE(c.WaitConnected(5s)) << c.error();
  const std::vector<uint8_t> payload(64 * 1024, 0x5a);
  ASSERT_TRUE(c.Publish("mqota/test/flow", payload));  // acknowledged: the path works
  broker.Freeze();
  int accepted = 0;
  bool refused = false;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20 && !refused; ++i) {
    if (c.Publish("mqota/test/flow", payload)) {
      ++accepted;
    } else {
      refused = true;
    }
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  broker.Thaw();
  // 256 KiB hold three 64 KiB messages and their topics (and perhaps the
  // first one's acknowledgement had not come yet).
  EXPECT_GE(accepted, 2);
  EXPECT_LE(accepted, 3);
  ASSERT_TRUE(refused);
  EXPECT_GE(waited, 300ms);
  EXPECT_NE(c.error().find("the broker has not acknowledged"), std::string::npos) << c.error();
  // Room again once the broker catches up (a few waits at most, on a busy machine).
  bool sent = false;
  for (int i = 0; i < 10 && !sent; ++i) sent = c.Publish("mqota/test/flow", payload);
  EXPECT_TRUE(sent) << c.error();
}

// Runs `body` in a child process that sees `hosts` as its /etc/hosts (a
// private mount namespace); returns its exit status, or kCannotIsolate when
// this machine does not let the test make one (not root, no namespaces).
constexpr int kCannotIsolate = 77;
int WithHostsFile(const std::filesystem::path& hosts, const std::function<bool()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount(hosts.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
      _exit(kCannotIsolate);
    }
    _exit(body() ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Debian's /etc/hosts names ::1 "localhost" before 127.0.0.1, and brokers
// (the test broker, `mqota broker-config`'s plain listener) often listen on
// 127.0.0.1 only: the client must go on to the next address, not give up on
// the first.
TEST(MqttClientAddresses, LocalhostReachesABrokerOnIpv4WhenIpv6ComesFirst) {
  mt::TempDir dir;
  mt::MosquittoBroker broker(dir.path() / "broker", {});
  const auto hosts = dir.path() / "hosts";
  std::ofstream(hosts) << "::1 localhost ip6-localhost\n127.0.0.1 localhost\n";
  const int connected = WithHostsFile(hosts, [&] {
    MqttOptions o = Plain(broker);
    o.host = "localhost";
    MqttClient c(o);
    return c.Start() && c.WaitConnected(5s);
  });
  if (connected == kCannotIsolate) GTEST_SKIP() << "no private mount namespace here";
  EXPECT_EQ(connected, 0);
  // With nothing listening on either address, the error says which were tried.
  const int port = mt::FreeLoopbackPort();
  const int named = WithHostsFile(hosts, [&] {
    MqttOptions o = Plain(broker);
    o.host = "localhost";
    o.port = port;
    MqttClient c(o);
    if (!c.Start()) return false;
    const std::string expected =
        "cannot connect to localhost:" + std::to_string(port) + " (tried ::1, 127.0.0.1)";
    std::string error;
    for (int i = 0; i < 250 && error.find(expected) == std::string::npos; ++i) {
      std::this_thread::sleep_for(20ms);
      error = c.error();
    }
    const bool ok = error.find(expected) != std::string::npos;
    if (!ok) std::fprintf(stderr, "error: %s\n", error.c_str());
    return ok;
  });
  EXPECT_EQ(named, 0);
}

}  // namespace
}  // namespace mqota::posix
