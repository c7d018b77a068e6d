// `mqota broker-config` as an API: the ACL and mosquitto.conf it writes, the
// files it copies and who owns them. A real mosquitto running these files is
// broker_security_test.cpp.
#include "broker/broker_config.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "certs/pki.h"
#include "mqota/host/command_error.h"
#include "mqota/testing/files.h"

namespace mqota::cli {
namespace {

namespace fs = std::filesystem;
using mqota::testing::ReadFileBytes;
using mqota::testing::TempDir;

CertsOptions Fleet(const fs::path& dir, std::vector<std::string> devices) {
  CertsOptions o;
  o.out = dir;
  o.devices = std::move(devices);
  return o;
}

std::string Text(const fs::path& path) {
  const auto bytes = ReadFileBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

// The file's lines that are not comments or blank.
std::vector<std::string> Settings(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

std::string Self() {
  const passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : "root";
}

TEST(BrokerConfig, AclGivesEachDeviceItsOwnTopicsAndTheServerThePrefix) {
  BrokerConfigOptions o;
  o.topic_prefix = "fleet/eu";
  const std::string acl =
      AclText(o, {ParseBrokerDevice("dev-1:CY8CPROTO_062_4343W"), ParseBrokerDevice("dev-2")});
  EXPECT_EQ(Settings(acl), (std::vector<std::string>{
                               "user mqota-server",
                               "topic readwrite fleet/eu/#",
                               "user dev-1",
                               "topic write fleet/eu/CY8CPROTO_062_4343W/device/dev-1/request",
                               "topic write fleet/eu/CY8CPROTO_062_4343W/device/dev-1/status",
                               "topic read fleet/eu/CY8CPROTO_062_4343W/device/dev-1/notify",
                               "topic read fleet/eu/mqota-server/announce",
                               "topic write fleet/eu/CY8CPROTO_062_4343W/publish_notify",
                               "topic read fleet/eu/CY8CPROTO_062_4343W/OTAImage/dev-1/#",
                               "user dev-2",
                               "topic write fleet/eu/+/device/dev-2/request",
                               "topic write fleet/eu/+/device/dev-2/status",
                               "topic read fleet/eu/+/device/dev-2/notify",
                               "topic read fleet/eu/mqota-server/announce",
                               "topic write fleet/eu/+/publish_notify",
                               "topic read fleet/eu/+/OTAImage/dev-2/#",
                           }));
  o.plain = true;
  EXPECT_EQ(Settings(AclText(o, {})), std::vector<std::string>{"topic readwrite fleet/eu/#"});
}

// The reference device's topic <P>/<B>/OTAImage/<n> and the emulator's
// <P>/<B>/subscriber/image<random> (docs/spec/reference-protocol.md#topics),
// added after each device's own grants, which stay as they are.
TEST(BrokerConfig, ReferenceDevicesAlsoReadTheirBoardsReferenceTopics) {
  BrokerConfigOptions o;
  o.topic_prefix = "fleet/eu";
  o.reference_devices = true;
  const std::string acl =
      AclText(o, {ParseBrokerDevice("dev-1:CY8CPROTO_062_4343W"), ParseBrokerDevice("dev-2")});
  EXPECT_EQ(Settings(acl), (std::vector<std::string>{
                               "user mqota-server",
                               "topic readwrite fleet/eu/#",
                               "user dev-1",
                               "topic write fleet/eu/CY8CPROTO_062_4343W/device/dev-1/request",
                               "topic write fleet/eu/CY8CPROTO_062_4343W/device/dev-1/status",
                               "topic read fleet/eu/CY8CPROTO_062_4343W/device/dev-1/notify",
                               "topic read fleet/eu/mqota-server/announce",
                               "topic write fleet/eu/CY8CPROTO_062_4343W/publish_notify",
                               "topic read fleet/eu/CY8CPROTO_062_4343W/OTAImage/dev-1/#",
                               "topic read fleet/eu/CY8CPROTO_062_4343W/OTAImage/+",
                               "topic read fleet/eu/CY8CPROTO_062_4343W/subscriber/+",
                               "user dev-2",
                               "topic write fleet/eu/+/device/dev-2/request",
                               "topic write fleet/eu/+/device/dev-2/status",
                               "topic read fleet/eu/+/device/dev-2/notify",
                               "topic read fleet/eu/mqota-server/announce",
                               "topic write fleet/eu/+/publish_notify",
                               "topic read fleet/eu/+/OTAImage/dev-2/#",
                               "topic read fleet/eu/+/OTAImage/+",
                               "topic read fleet/eu/+/subscriber/+",
                           }));
  // The file says what the mode gives up, and what it keeps.
  for (const char* text : {"GIVES UP", "confidentiality of answers between the devices of a board",
                           "publishes only on its request topic", "<id>/<nonce> stays its own"}) {
    EXPECT_NE(acl.find(text), std::string::npos) << text << "\n" << acl;
  }
  o.reference_devices = false;
  EXPECT_EQ(AclText(o, {}).find("GIVES UP"), std::string::npos);
}

TEST(BrokerConfig, TlsConfigurationRequiresCertificatesOnLoopback) {
  TempDir tmp;
  MakeCertificates(Fleet(tmp / "pki", {"dev-b", "dev-a"}));
  BrokerConfigOptions o;
  o.certs = tmp / "pki";
  o.out = tmp / "broker";
  o.user = Self();
  o.log = tmp / "broker/mosquitto.log";
  const BrokerConfigFiles files = WriteBrokerConfig(o);
  const std::string out = (tmp / "broker").string();
  EXPECT_EQ(files.port, 8883);
  EXPECT_EQ(Settings(Text(files.config)), (std::vector<std::string>{
                                              "user " + Self(),
                                              "persistence false",
                                              "log_dest file " + out + "/mosquitto.log",
                                              "log_type error",
                                              "log_type warning",
                                              "log_type notice",
                                              "log_type information",
                                              "connection_messages true",
                                              "log_timestamp_format %Y-%m-%dT%H:%M:%S",
                                              "max_inflight_messages 20",
                                              "max_queued_messages 1000",
                                              "max_packet_size 131072",
                                              "set_tcp_nodelay true",
                                              "per_listener_settings false",
                                              "allow_anonymous false",
                                              "acl_file " + out + "/acl",
                                              "listener 8883 127.0.0.1",
                                              "protocol mqtt",
                                              "cafile " + out + "/ca.crt",
                                              "certfile " + out + "/broker.crt",
                                              "keyfile " + out + "/broker.key",
                                              "tls_version tlsv1.2",
                                              "require_certificate true",
                                              "use_identity_as_username true",
                                              "use_username_as_clientid true",
                                          }));
  // The queue limits say why, in the file.
  EXPECT_NE(Text(files.config).find("download window of 8 chunks"), std::string::npos);
  // Devices: every client certificate but the server's.
  EXPECT_EQ(Settings(Text(files.acl))[2], "user dev-a");
  EXPECT_EQ(Settings(Text(files.acl))[9], "user dev-b");
  EXPECT_EQ(Settings(Text(files.acl)).size(), 16u);
  // The broker's own files, copied; never the CA's key.
  const PkiLayout pki(tmp / "pki");
  EXPECT_EQ(ReadFileBytes(files.broker_key), ReadFileBytes(pki.broker_key()));
  EXPECT_EQ(ReadFileBytes(files.ca_cert), ReadFileBytes(pki.ca_cert()));
  EXPECT_FALSE(fs::exists(tmp / "broker/ca.key"));
  struct stat st {};
  ASSERT_EQ(stat(files.broker_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(BrokerConfig, WindowSizesTheQueuesAndOptionsReachTheFile) {
  TempDir tmp;
  BrokerConfigOptions o;
  o.plain = true;
  o.out = tmp / "b";
  o.user = Self();
  o.window = 64;
  o.port = 1999;
  o.bind = "::1";
  const auto lines = Settings(Text(WriteBrokerConfig(o).config));
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_TRUE(has("max_inflight_messages 132"));
  EXPECT_TRUE(has("max_queued_messages 1024"));
  // A fleet: the server's connection may queue every device's window twice
  // (a thousand devices asking at once lost requests at 1000).
  o.window = 8;
  o.devices.emplace();
  for (int i = 0; i < 1000; ++i) o.devices->push_back({"sim-" + std::to_string(i), ""});
  const auto fleet = Settings(Text(WriteBrokerConfig(o).config));
  EXPECT_NE(std::find(fleet.begin(), fleet.end(), "max_queued_messages 16000"), fleet.end());
  o.devices.reset();
  o.window = 64;
  EXPECT_TRUE(has("listener 1999 ::1"));
  EXPECT_TRUE(has("allow_anonymous true"));
  EXPECT_TRUE(has("log_dest stderr"));
  EXPECT_FALSE(has("require_certificate true"));
  EXPECT_FALSE(fs::exists(tmp / "b/broker.key"));
  o.port = 0;
  EXPECT_EQ(WriteBrokerConfig(o).port, 1883);
}

void ExpectRefusal(const BrokerConfigOptions& o, const std::string& needle) {
  try {
    WriteBrokerConfig(o);
    ADD_FAILURE() << "no error; expected one about " << needle;
  } catch (const host::CommandError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(BrokerConfig, RefusesWhatWouldOpenTheBroker) {
  TempDir tmp;
  BrokerConfigOptions o;
  o.plain = true;
  o.out = tmp / "b";
  o.user = Self();
  for (const std::string bind : {"0.0.0.0", "192.168.1.2", "::", "example.com"}) {
    o.bind = bind;
    ExpectRefusal(o, "listens on loopback only");
  }
  o.bind = "127.0.0.2";
  EXPECT_NO_THROW(WriteBrokerConfig(o));
  // A plain ACL already lets everyone read <prefix>/#: the flag would change
  // nothing, and accepting it would suggest otherwise.
  o.reference_devices = true;
  ExpectRefusal(o, "--reference-devices does nothing with --plain");
  o.reference_devices = false;
  o.topic_prefix = "a/+/b";
  ExpectRefusal(o, "topic prefix 'a/+/b' is not usable");
  o.topic_prefix = "$SYS";
  ExpectRefusal(o, "'$' topics are the broker's");
  o.topic_prefix = "mqota";
  o.devices = std::vector<BrokerDevice>{BrokerDevice{"dev-1", "b#"}};
  ExpectRefusal(o, "board 'b#'");
  o.devices = std::vector<BrokerDevice>{BrokerDevice{"mqota-server", ""}};
  ExpectRefusal(o, "is the server client's id");
  o.devices.reset();
  o.log = "/tmp/x\nlistener 1 0.0.0.0";
  ExpectRefusal(o, "control character");
  o.log.clear();
  o.plain = false;
  o.certs = tmp / "nothing";
  ExpectRefusal(o, "nothing/ca.crt: No such file or directory");
  o.certs.clear();
  ExpectRefusal(o, "needs --certs DIR");
}

// Run as root with mosquitto's own account, as a system service runs it.
TEST(BrokerConfig, AsRootTheKeyAndLogBelongToTheBrokersUser) {
  const passwd* pw = getpwnam("mosquitto");
  if (geteuid() != 0 || !pw) GTEST_SKIP() << "needs root and a mosquitto user";
  const uid_t uid = pw->pw_uid;
  TempDir tmp;
  MakeCertificates(Fleet(tmp / "pki", {}));
  BrokerConfigOptions o;
  o.certs = tmp / "pki";
  o.out = tmp / "broker";
  o.log = tmp / "broker/mosquitto.log";
  const BrokerConfigFiles files = WriteBrokerConfig(o);
  struct stat st {};
  ASSERT_EQ(stat(files.broker_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat(o.log.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  // TempDir is 0700: mosquitto could not get in, and is told so.
  ASSERT_FALSE(files.warnings.empty());
  EXPECT_NE(files.warnings[0].find("cannot enter " + tmp.path().string()), std::string::npos)
      << files.warnings[0];
  o.user = "no-such-user-mqota";
  ExpectRefusal(o, "no user 'no-such-user-mqota'");
}

}  // namespace
}  // namespace mqota::cli
