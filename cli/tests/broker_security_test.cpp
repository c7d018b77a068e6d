// The files of `mqota certs` and `mqota broker-config`, run by a real
// mosquitto: who is refused at the door, and what a device can read and
// write once in. Every negative check is ordered after a positive one on
// the same connections, so "nothing arrived" means "nothing will arrive",
// not "nothing arrived yet":
// - the broker handles one connection's messages in order, and delivers to a
//   subscriber in the order it handled them;
// - so when a later message reaches its recipient, an earlier forbidden one
//   would have reached it first.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "broker/broker_config.h"
#include "certs/pki.h"
#include "mqota/ports/posix/mqtt_client.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/files.h"

namespace mqota::cli {
namespace {

using namespace std::chrono_literals;
using posix::MqttClient;
using posix::MqttMessage;
using posix::MqttOptions;
namespace fs = std::filesystem;
namespace mt = mqota::testing;

CertsOptions Fleet(const fs::path& dir, std::vector<std::string> devices) {
  CertsOptions o;
  o.out = dir;
  o.devices = std::move(devices);
  return o;
}

struct Received {
  std::string topic, payload;
};

// What one client received, filled on its network thread.
class Inbox {
 public:
  MqttClient::MessageHandler Handler() {
    return [this](const MqttMessage& m) {
      std::lock_guard lock(mutex_);
      messages_.push_back({std::string(m.topic), std::string(m.payload.begin(), m.payload.end())});
      arrived_.notify_all();
    };
  }
  // Waits (bounded) for a message with this payload.
  bool WaitFor(const std::string& payload, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, timeout, [&] { return HasLocked(payload); });
  }
  bool Has(const std::string& payload) {
    std::lock_guard lock(mutex_);
    return HasLocked(payload);
  }
  std::vector<Received> All() {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  bool HasLocked(const std::string& payload) const {
    for (const auto& m : messages_) {
      if (m.payload == payload) return true;
    }
    return false;
  }
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<Received> messages_;
};

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A client and its inbox.
struct Client {
  explicit Client(const MqttOptions& options) : mqtt(options) { mqtt.OnMessage(inbox.Handler()); }
  // The inbox outlives the client: members are destroyed in reverse order,
  // and the client's network thread may deliver into the inbox until it stops.
  Inbox inbox;
  MqttClient mqtt;
};

constexpr const char* kBoard = "BOARD1";
const std::string kTopicA = "mqota/BOARD1/OTAImage/dev-a/0123456789abcdef";
const std::string kTopicB = "mqota/BOARD1/OTAImage/dev-b/fedcba9876543210";
const std::string kRequestTopic = "mqota/BOARD1/publish_notify";
// Where the reference device and the emulator wait for answers
// (docs/spec/reference-protocol.md#topics): <P>/<B>/OTAImage/<n>, n the low
// 16 bits of a tick, and <P>/<B>/subscriber/image<random>.
const std::string kReferenceTopic = "mqota/BOARD1/OTAImage/1234";
const std::string kEmulatorTopic = "mqota/BOARD1/subscriber/image610022697";

// A PKI with devices dev-a (board BOARD1) and dev-b (any board), a foreign
// PKI with its own dev-a, and mosquitto running broker-config's files.
class BrokerSecurity : public ::testing::Test {
 protected:
  void SetUp() override { StartBroker(false); }

  void StartBroker(bool reference_devices) {
    MakeCertificates(Fleet(tmp_ / "pki", {"dev-a", "dev-b", "observer"}));
    MakeCertificates(Fleet(tmp_ / "foreign", {"dev-a"}));
    BrokerConfigOptions o;
    o.certs = tmp_ / "pki";
    o.out = tmp_ / "broker";
    o.port = mt::FreeLoopbackPort();
    o.log = tmp_ / "broker/mosquitto.log";
    o.devices = std::vector<BrokerDevice>{BrokerDevice{"dev-a", kBoard}, BrokerDevice{"dev-b", ""}};
    o.reference_devices = reference_devices;
    o.observers = {"observer"};
    // TempDir is private to this user; mosquitto must not switch to another.
    o.user = Self();
    const BrokerConfigFiles files = WriteBrokerConfig(o);
    broker_ = mt::MosquittoBroker::FromConfigFile(files.config, files.port, o.log);
  }

  static std::string Self() {
    const passwd* pw = getpwuid(geteuid());
    return pw ? pw->pw_name : "root";
  }

  MqttOptions Options(const std::string& id, const fs::path& pki_dir) const {
    MqttOptions o;
    o.host = broker_->host();
    o.port = broker_->port();
    o.client_id = id;
    o.tls_enabled = true;
    const PkiLayout pki(pki_dir);
    o.tls.ca_file = PkiLayout(tmp_ / "pki").ca_cert().string();
    if (!id.empty()) {
      o.tls.cert_file = pki.client_cert(id).string();
      o.tls.key_file = pki.client_key(id).string();
    }
    o.reconnect_delay_min = 50ms;
    o.reconnect_delay_max = 200ms;
    return o;
  }
  MqttOptions Options(const std::string& id) const { return Options(id, tmp_ / "pki"); }

  std::unique_ptr<Client> Connect(const std::string& id) {
    auto c = std::make_unique<Client>(Options(id));
    EXPECT_TRUE(c->mqtt.Start()) << c->mqtt.error();
    EXPECT_TRUE(c->mqtt.WaitConnected(5s)) << id << ": " << c->mqtt.error() << broker_->Log();
    return c;
  }

  // `subscriber` subscribes to `filter`; returns once the server's probes on
  // `probe_topic` (which the filter covers) arrive, i.e. the subscription is
  // live at the broker.
  static bool Subscribe(Client& subscriber, const std::string& filter, Client& server,
                        const std::string& probe_topic) {
    if (!subscriber.mqtt.Subscribe(filter)) return false;
    for (int i = 0; i < 100; ++i) {
      const std::string probe = "probe-" + std::to_string(i) + "-" + filter;
      server.mqtt.Publish(probe_topic, Bytes(probe));
      if (subscriber.inbox.WaitFor(probe, 50ms)) return true;
    }
    return false;
  }

  mt::TempDir tmp_;
  std::unique_ptr<mt::MosquittoBroker> broker_;
};

// Waits until the client has given up an attempt (error() set) or 5 s pass.
std::string RefusalOf(MqttClient& client) {
  for (int i = 0; i < 250 && client.error().empty(); ++i) std::this_thread::sleep_for(20ms);
  return client.error();
}

TEST_F(BrokerSecurity, AClientWithoutACertificateIsRefused) {
  MqttClient anonymous(Options(""));
  ASSERT_TRUE(anonymous.Start()) << anonymous.error();
  EXPECT_FALSE(anonymous.WaitConnected(2s));
  EXPECT_FALSE(RefusalOf(anonymous).empty());

  // Plain MQTT on the TLS port: no CONNACK either.
  MqttOptions plain;
  plain.host = broker_->host();
  plain.port = broker_->port();
  plain.client_id = "dev-a";
  MqttClient tcp(plain);
  ASSERT_TRUE(tcp.Start());
  EXPECT_FALSE(tcp.WaitConnected(2s));
  // A device with its certificate gets in: the refusals above were not the
  // broker being down.
  EXPECT_TRUE(Connect("dev-a")->mqtt.connected());
}

TEST_F(BrokerSecurity, ACertificateFromAForeignCaIsRefused) {
  // Same CN, "dev-a", issued by another CA.
  MqttClient impostor(Options("dev-a", tmp_ / "foreign"));
  ASSERT_TRUE(impostor.Start()) << impostor.error();
  EXPECT_FALSE(impostor.WaitConnected(2s));
  EXPECT_FALSE(RefusalOf(impostor).empty());
  EXPECT_TRUE(Connect("dev-a")->mqtt.connected());
}

TEST_F(BrokerSecurity, ADeviceReadsItsOwnTopicsAndNoneOfAnotherDevices) {
  auto server = Connect("mqota-server");
  auto a = Connect("dev-a");
  auto b = Connect("dev-b");
  ASSERT_TRUE(Subscribe(*b, "mqota/+/OTAImage/dev-b/#", *server, kTopicB));
  // dev-a tries B's exact topic and every wildcard that covers it; the last
  // one is its own subtree, whose probe tells that all are live.
  for (const std::string& filter :
       {kTopicB, std::string("mqota/BOARD1/OTAImage/dev-b/#"), std::string("mqota/+/OTAImage/#"),
        std::string("mqota/#"), std::string("#"), std::string("+/+/+/+/+")}) {
    ASSERT_TRUE(a->mqtt.Subscribe(filter)) << filter;
  }
  ASSERT_TRUE(Subscribe(*a, "mqota/BOARD1/OTAImage/dev-a/#", *server, kTopicA));

  ASSERT_TRUE(server->mqtt.Publish(kTopicB, Bytes("image-for-b")));
  ASSERT_TRUE(server->mqtt.Publish(kTopicA, Bytes("image-for-a")));
  EXPECT_TRUE(b->inbox.WaitFor("image-for-b"));
  EXPECT_TRUE(a->inbox.WaitFor("image-for-a"));
  // "image-for-b" was published first on the same connection: had any of
  // dev-a's subscriptions matched it, it would be here by now.
  EXPECT_FALSE(a->inbox.Has("image-for-b"));
  for (const auto& m : a->inbox.All()) {
    EXPECT_EQ(m.topic.rfind("mqota/BOARD1/OTAImage/dev-a/", 0), 0u) << m.topic;
  }
}

TEST_F(BrokerSecurity, ADeviceCanAskButCannotPublishOnTheServersTopics) {
  auto server = Connect("mqota-server");
  auto a = Connect("dev-a");
  auto b = Connect("dev-b");
  ASSERT_TRUE(Subscribe(*b, "mqota/+/OTAImage/dev-b/#", *server, kTopicB));
  // The server hears dev-a's request on its board's request topic.
  ASSERT_TRUE(server->mqtt.Subscribe("mqota/+/publish_notify"));
  bool heard = false;
  for (int i = 0; i < 100 && !heard; ++i) {
    const std::string ask = "ask-" + std::to_string(i);
    a->mqtt.Publish(kRequestTopic, Bytes(ask));
    heard = server->inbox.WaitFor(ask, 50ms);
  }
  ASSERT_TRUE(heard) << "dev-a's request never reached the server\n" << broker_->Log();

  // Forgeries: an image on B's topic, and a request on another board's topic
  // (dev-a is a BOARD1 device).
  ASSERT_TRUE(a->mqtt.Publish(kTopicB, Bytes("forged-image")));
  ASSERT_TRUE(a->mqtt.Publish("mqota/BOARD2/publish_notify", Bytes("forged-request")));
  ASSERT_TRUE(a->mqtt.Publish(kRequestTopic, Bytes("last-request")));
  // Ordered after every forgery on dev-a's connection:
  ASSERT_TRUE(server->inbox.WaitFor("last-request"));
  ASSERT_TRUE(server->mqtt.Publish(kTopicB, Bytes("marker-for-b")));
  ASSERT_TRUE(b->inbox.WaitFor("marker-for-b"));
  EXPECT_FALSE(b->inbox.Has("forged-image"));
  EXPECT_FALSE(server->inbox.Has("forged-image"));
  EXPECT_FALSE(server->inbox.Has("forged-request"));
}

// Without --reference-devices a device reads nothing outside its own
// subtree: a reference device's answers, published by the server, never
// reach it, and nothing tells either side (the issue this flag answers).
TEST_F(BrokerSecurity, ADeviceCannotReadAReferenceDevicesTopicsByDefault) {
  auto server = Connect("mqota-server");
  auto a = Connect("dev-a");
  for (const std::string& topic : {kReferenceTopic, kEmulatorTopic}) {
    ASSERT_TRUE(a->mqtt.Subscribe(topic)) << topic;
  }
  ASSERT_TRUE(Subscribe(*a, "mqota/BOARD1/OTAImage/dev-a/#", *server, kTopicA));
  ASSERT_TRUE(server->mqtt.Publish(kReferenceTopic, Bytes("job-for-1234")));
  ASSERT_TRUE(server->mqtt.Publish(kEmulatorTopic, Bytes("job-for-emulator")));
  ASSERT_TRUE(server->mqtt.Publish(kTopicA, Bytes("image-for-a")));
  EXPECT_TRUE(a->inbox.WaitFor("image-for-a"));
  EXPECT_FALSE(a->inbox.Has("job-for-1234"));
  EXPECT_FALSE(a->inbox.Has("job-for-emulator"));
}

// The device topics (docs/spec/mqota-protocol.md#device-topics): only the
// device itself may publish on its own request topic, so a report there is
// from it. dev-a forging a report in dev-b's name never reaches the server.
TEST_F(BrokerSecurity, AForgedReportFromOneDeviceAboutAnotherIsRefusedByTheBroker) {
  auto server = Connect("mqota-server");
  auto a = Connect("dev-a");
  ASSERT_TRUE(server->mqtt.Subscribe("mqota/+/device/+/request"));
  const std::string own = "mqota/BOARD1/device/dev-a/request";
  bool heard = false;
  for (int i = 0; i < 100 && !heard; ++i) {
    const std::string ask = "own-" + std::to_string(i);
    a->mqtt.Publish(own, Bytes(ask));
    heard = server->inbox.WaitFor(ask, 50ms);
  }
  ASSERT_TRUE(heard) << "dev-a's own request topic never reached the server\n" << broker_->Log();
  const std::string forged = R"({"Message": "Boot Report", "UniqueTopicName": ")" + kTopicB +
                             R"(", "Version": "1.2.0", "Outcome": "reverted"})";
  ASSERT_TRUE(a->mqtt.Publish("mqota/BOARD1/device/dev-b/request", Bytes(forged)));
  ASSERT_TRUE(a->mqtt.Publish(own, Bytes("after-the-forgeries")));
  ASSERT_TRUE(server->inbox.WaitFor("after-the-forgeries"));
  EXPECT_FALSE(server->inbox.Has(forged));
  for (const auto& m : server->inbox.All()) EXPECT_EQ(m.topic, own);
}

// docs/spec/mqota-protocol.md#presence: a device says it is online on its
// own status topic and offline when it goes; it cannot speak for another
// device's presence.
TEST_F(BrokerSecurity, ADeviceTellsOnlyItsOwnPresence) {
  auto server = Connect("mqota-server");
  ASSERT_TRUE(server->mqtt.Subscribe("mqota/+/device/+/status"));
  MqttOptions o = Options("dev-a");
  o.will = posix::MqttWill{"mqota/BOARD1/device/dev-a/status", R"({"Online":false})", true};
  o.will_on_stop = true;
  o.birth = posix::MqttWill{"mqota/BOARD1/device/dev-a/status", R"({"Online":true})", true};
  auto a = std::make_unique<Client>(o);
  ASSERT_TRUE(a->mqtt.Start());
  ASSERT_TRUE(a->mqtt.WaitConnected(5s)) << a->mqtt.error() << broker_->Log();
  ASSERT_TRUE(server->inbox.WaitFor(R"({"Online":true})")) << broker_->Log();
  // Another device's presence, forged: dropped by the broker.
  ASSERT_TRUE(a->mqtt.Publish("mqota/BOARD1/device/dev-b/status", Bytes("forged"), 1, true));
  ASSERT_TRUE(a->mqtt.Publish("mqota/BOARD1/device/dev-a/status", Bytes("after-the-forgery")));
  ASSERT_TRUE(server->inbox.WaitFor("after-the-forgery"));
  EXPECT_FALSE(server->inbox.Has("forged"));
  // A clean stop: MQTT drops the will on DISCONNECT, so the client says it
  // (will_on_stop); the broker's own will, on a lost connection, is what the
  // fleet test's devices get (tests/fleet/rollout_test.cpp).
  a.reset();
  EXPECT_TRUE(server->inbox.WaitFor(R"({"Online":false})")) << broker_->Log();
}

TEST_F(BrokerSecurity, ADeviceReadsTheAnnouncementAndOnlyItsOwnNudges) {
  auto server = Connect("mqota-server");
  ASSERT_TRUE(server->mqtt.Publish("mqota/mqota-server/announce",
                                   Bytes(R"({"Message":"mqota-server"})"), 1, /*retain=*/true));
  auto a = Connect("dev-a");
  // Every filter that covers dev-b's nudges; its own last, probed.
  for (const std::string& filter :
       {std::string("mqota/BOARD1/device/dev-b/notify"), std::string("mqota/+/device/+/notify"),
        std::string("mqota/mqota-server/announce")}) {
    ASSERT_TRUE(a->mqtt.Subscribe(filter)) << filter;
  }
  ASSERT_TRUE(a->inbox.WaitFor(R"({"Message":"mqota-server"})"));  // retained, delivered
  ASSERT_TRUE(Subscribe(*a, "mqota/BOARD1/device/dev-a/notify", *server,
                        "mqota/BOARD1/device/dev-a/notify"));
  ASSERT_TRUE(server->mqtt.Publish("mqota/BOARD1/device/dev-b/notify", Bytes("nudge-b")));
  ASSERT_TRUE(server->mqtt.Publish("mqota/BOARD1/device/dev-a/notify", Bytes("nudge-a")));
  EXPECT_TRUE(a->inbox.WaitFor("nudge-a"));
  EXPECT_FALSE(a->inbox.Has("nudge-b"));
  // Nor may it announce a server of its own.
  ASSERT_TRUE(a->mqtt.Publish("mqota/mqota-server/announce", Bytes("fake"), 1, true));
  auto late = Connect("dev-b");
  ASSERT_TRUE(late->mqtt.Subscribe("mqota/mqota-server/announce"));
  EXPECT_TRUE(late->inbox.WaitFor(R"({"Message":"mqota-server"})"));
  EXPECT_FALSE(late->inbox.Has("fake"));
}

// use_username_as_clientid: whatever client id dev-a asks for, the broker
// uses its CN, so connecting as "dev-b" or "mqota-server" disconnects nobody.
TEST_F(BrokerSecurity, ADeviceCannotTakeOverAnotherClientsId) {
  auto server = Connect("mqota-server");
  auto b = Connect("dev-b");
  ASSERT_TRUE(Subscribe(*b, "mqota/+/OTAImage/dev-b/#", *server, kTopicB));
  std::vector<std::unique_ptr<Client>> impostors;
  for (const char* id : {"dev-b", "mqota-server"}) {
    MqttOptions o = Options("dev-a");
    o.client_id = id;
    impostors.push_back(std::make_unique<Client>(o));
    ASSERT_TRUE(impostors.back()->mqtt.Start());
    ASSERT_TRUE(impostors.back()->mqtt.WaitConnected(5s)) << impostors.back()->mqtt.error();
  }
  // Had a takeover happened, the broker would have closed dev-b's or the
  // server's connection; both still carry messages, and are still the same
  // connections (no reconnect).
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(b->mqtt.connected());
  EXPECT_TRUE(server->mqtt.connected());
  ASSERT_TRUE(server->mqtt.Publish(kTopicB, Bytes("still-b")));
  EXPECT_TRUE(b->inbox.WaitFor("still-b"));
  // (Both impostors are dev-a to the broker, so the second does close the
  // first: a device can only ever displace itself.)
  for (const char* victim : {"Client dev-b already connected", "Client mqota-server already"}) {
    EXPECT_EQ(broker_->Log().find(victim), std::string::npos) << broker_->Log();
  }
}

// An observer (a monitor, the demo's wire tap) reads what travels and can
// publish nothing: not a job, not a report, not a fake announcement.
TEST_F(BrokerSecurity, AnObserverReadsEverythingAndPublishesNothing) {
  auto server = Connect("mqota-server");
  auto observer = Connect("observer");
  ASSERT_TRUE(Subscribe(*observer, "mqota/#", *server, kTopicA));
  auto a = Connect("dev-a");
  ASSERT_TRUE(a->mqtt.Publish(kRequestTopic, Bytes("a-asks")));
  EXPECT_TRUE(observer->inbox.WaitFor("a-asks"));
  ASSERT_TRUE(server->mqtt.Subscribe("mqota/#"));
  ASSERT_TRUE(observer->mqtt.Publish(kTopicA, Bytes("observer-job")));
  ASSERT_TRUE(observer->mqtt.Publish(kRequestTopic, Bytes("observer-request")));
  ASSERT_TRUE(Subscribe(*server, "mqota/BOARD1/OTAImage/#", *server, kTopicB));
  ASSERT_TRUE(server->mqtt.Publish(kTopicB, Bytes("after")));
  ASSERT_TRUE(server->inbox.WaitFor("after"));
  EXPECT_FALSE(server->inbox.Has("observer-job"));
  EXPECT_FALSE(server->inbox.Has("observer-request"));
}

// The same fleet with `mqota broker-config --reference-devices`.
class ReferenceDeviceAcl : public BrokerSecurity {
 protected:
  void SetUp() override { StartBroker(true); }
};

TEST_F(ReferenceDeviceAcl, ADeviceReadsItsBoardsReferenceTopics) {
  auto server = Connect("mqota-server");
  auto a = Connect("dev-a");
  auto b = Connect("dev-b");
  // Subscribe() returns once the server's probes on the topic arrive.
  ASSERT_TRUE(Subscribe(*a, kReferenceTopic, *server, kReferenceTopic));
  ASSERT_TRUE(Subscribe(*a, kEmulatorTopic, *server, kEmulatorTopic));
  // dev-b has no board: '+', so any board's reference topics.
  ASSERT_TRUE(Subscribe(*b, "mqota/BOARD2/OTAImage/77", *server, "mqota/BOARD2/OTAImage/77"));
  ASSERT_TRUE(server->mqtt.Publish(kReferenceTopic, Bytes("job-for-1234")));
  ASSERT_TRUE(server->mqtt.Publish(kEmulatorTopic, Bytes("job-for-emulator")));
  EXPECT_TRUE(a->inbox.WaitFor("job-for-1234"));
  EXPECT_TRUE(a->inbox.WaitFor("job-for-emulator"));
}

// What the flag keeps: no other board's topics, and no other device's
// session topic <P>/<B>/OTAImage/<id>/<nonce> ('+' in OTAImage/+ is one
// level), whatever the filter.
TEST_F(ReferenceDeviceAcl, ADeviceStillReadsNoOtherBoardNorAnotherDevicesSessionTopic) {
  auto server = Connect("mqota-server");
  auto a = Connect("dev-a");
  auto b = Connect("dev-b");
  ASSERT_TRUE(Subscribe(*b, "mqota/+/OTAImage/dev-b/#", *server, kTopicB));
  for (const std::string& filter :
       {kTopicB, std::string("mqota/BOARD1/OTAImage/+"), std::string("mqota/BOARD1/OTAImage/+/+"),
        std::string("mqota/BOARD1/OTAImage/#"), std::string("mqota/+/OTAImage/+"),
        std::string("mqota/+/subscriber/+"), std::string("#")}) {
    ASSERT_TRUE(a->mqtt.Subscribe(filter)) << filter;
  }
  ASSERT_TRUE(Subscribe(*a, "mqota/BOARD1/OTAImage/dev-a/#", *server, kTopicA));

  ASSERT_TRUE(server->mqtt.Publish(kTopicB, Bytes("image-for-b")));
  ASSERT_TRUE(server->mqtt.Publish("mqota/BOARD2/OTAImage/77", Bytes("job-for-board2")));
  ASSERT_TRUE(server->mqtt.Publish("mqota/BOARD2/subscriber/image5", Bytes("job-for-emulator2")));
  ASSERT_TRUE(server->mqtt.Publish(kReferenceTopic, Bytes("job-for-1234")));
  ASSERT_TRUE(server->mqtt.Publish(kTopicA, Bytes("image-for-a")));
  EXPECT_TRUE(b->inbox.WaitFor("image-for-b"));
  EXPECT_TRUE(a->inbox.WaitFor("image-for-a"));
  // Published before "image-for-a" on the same connection: had dev-a been
  // allowed to read them, they would be here by now.
  EXPECT_TRUE(a->inbox.Has("job-for-1234"));  // its own board's: the flag works
  EXPECT_FALSE(a->inbox.Has("image-for-b"));
  EXPECT_FALSE(a->inbox.Has("job-for-board2"));
  EXPECT_FALSE(a->inbox.Has("job-for-emulator2"));
  for (const auto& m : a->inbox.All()) {
    const bool own = m.topic.rfind("mqota/BOARD1/OTAImage/dev-a/", 0) == 0;
    EXPECT_TRUE(own || m.topic == kReferenceTopic) << m.topic;
  }
}

TEST_F(ReferenceDeviceAcl, ADeviceStillCannotPublishOnAReferenceTopic) {
  auto server = Connect("mqota-server");
  auto a = Connect("dev-a");
  auto b = Connect("dev-b");
  // dev-b may read BOARD1's reference topics; the server hears requests.
  ASSERT_TRUE(Subscribe(*b, "mqota/+/OTAImage/+", *server, kReferenceTopic));
  ASSERT_TRUE(Subscribe(*b, "mqota/+/subscriber/+", *server, kEmulatorTopic));
  ASSERT_TRUE(Subscribe(*server, "mqota/+/publish_notify", *a, kRequestTopic));
  ASSERT_TRUE(Subscribe(*server, kReferenceTopic, *server, kReferenceTopic));
  // A forged job for the reference device and the emulator, then a request
  // that orders them: once the server has it, the broker has handled both.
  ASSERT_TRUE(a->mqtt.Publish(kReferenceTopic, Bytes("forged-job")));
  ASSERT_TRUE(a->mqtt.Publish(kEmulatorTopic, Bytes("forged-emulator-job")));
  ASSERT_TRUE(a->mqtt.Publish(kRequestTopic, Bytes("last-request")));
  ASSERT_TRUE(server->inbox.WaitFor("last-request"));
  ASSERT_TRUE(server->mqtt.Publish(kReferenceTopic, Bytes("marker-1234")));
  ASSERT_TRUE(server->mqtt.Publish(kEmulatorTopic, Bytes("marker-emulator")));
  ASSERT_TRUE(b->inbox.WaitFor("marker-1234"));
  ASSERT_TRUE(b->inbox.WaitFor("marker-emulator"));
  ASSERT_TRUE(server->inbox.WaitFor("marker-1234"));
  EXPECT_FALSE(b->inbox.Has("forged-job"));
  EXPECT_FALSE(b->inbox.Has("forged-emulator-job"));
  EXPECT_FALSE(server->inbox.Has("forged-job"));
}

// The same files with mosquitto as a service runs it: started as root, it
// switches to the mosquitto user before reading the key (chowned to it).
TEST(BrokerAsService, RootStartedBrokerReadsItsKeyAsTheMosquittoUser) {
  if (geteuid() != 0 || !getpwnam("mosquitto")) GTEST_SKIP() << "needs root and a mosquitto user";
  mt::TempDir tmp;
  // The broker's user must be able to enter the directories; the CA key
  // stays in a private one.
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
  MakeCertificates(Fleet(tmp / "pki", {"dev-a"}));
  ASSERT_EQ(chmod((tmp / "pki").c_str(), 0700), 0);
  BrokerConfigOptions o;
  o.certs = tmp / "pki";
  o.out = tmp / "broker";
  o.port = mt::FreeLoopbackPort();
  o.log = tmp / "broker/mosquitto.log";
  const BrokerConfigFiles files = WriteBrokerConfig(o);
  EXPECT_EQ(files.warnings, std::vector<std::string>{});
  auto broker = mt::MosquittoBroker::FromConfigFile(files.config, files.port, o.log);
  MqttOptions mo;
  mo.host = broker->host();
  mo.port = broker->port();
  mo.client_id = "dev-a";
  mo.tls_enabled = true;
  const PkiLayout pki(tmp / "pki");
  mo.tls = {pki.ca_cert().string(), pki.client_cert("dev-a").string(),
            pki.client_key("dev-a").string(), ""};
  MqttClient device(mo);
  ASSERT_TRUE(device.Start()) << device.error();
  EXPECT_TRUE(device.WaitConnected(5s)) << device.error() << broker->Log();
  const std::string log = broker->Log();
  EXPECT_NE(log.find("dev-a"), std::string::npos) << log;
}

}  // namespace
}  // namespace mqota::cli
