// The broker fixture itself: it comes up plain and with mutual TLS, refuses a
// client without a certificate, and enforces the ACL it was given (checked
// with Debian's mosquitto_pub/mosquitto_sub clients, independent of mqota).
#include "mqota/testing/broker.h"

#include <gtest/gtest.h>

#include "mqota/testing/process.h"

namespace mqota::testing {
namespace {

ProcessResult Sub(const MosquittoBroker& broker, std::vector<std::string> extra) {
  std::vector<std::string> argv = {"/usr/bin/mosquitto_sub",
                                   "-h",
                                   broker.host(),
                                   "-p",
                                   std::to_string(broker.port()),
                                   "-C",
                                   "1",
                                   "-W",
                                   "3"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunProcess(argv, std::chrono::seconds(10));
}

TEST(MosquittoBrokerFixture, PlainBrokerDeliversARetainedMessage) {
  TempDir dir;
  MosquittoBroker broker(dir.path(), {});
  ASSERT_EQ(RunProcess({"/usr/bin/mosquitto_pub", "-h", broker.host(), "-p",
                        std::to_string(broker.port()), "-t", "t/1", "-m", "hello", "-r"})
                .exit_code,
            0);
  const auto r = Sub(broker, {"-t", "t/1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
}

TEST(MosquittoBrokerFixture, TlsBrokerWantsAClientCertificateAndAppliesTheAcl) {
  TempDir dir;
  TestPki pki(dir / "pki");
  BrokerOptions options;
  options.tls = true;
  options.acl = "user dev-1\ntopic readwrite dev/dev-1/#\n";
  MosquittoBroker broker(dir / "broker", options, &pki);
  const auto [cert, key] = pki.Client("dev-1");
  const std::vector<std::string> tls = {
      "--cafile", pki.ca_cert().string(), "--cert", cert.string(), "--key", key.string()};
  auto pub = [&](const std::string& topic) {
    std::vector<std::string> argv = {"/usr/bin/mosquitto_pub",
                                     "-h",
                                     broker.host(),
                                     "-p",
                                     std::to_string(broker.port()),
                                     "-t",
                                     topic,
                                     "-m",
                                     "x",
                                     "-r"};
    argv.insert(argv.end(), tls.begin(), tls.end());
    return RunProcess(argv).exit_code;
  };
  ASSERT_EQ(pub("dev/dev-1/a"), 0);
  auto mine = tls;
  mine.insert(mine.end(), {"-t", "dev/dev-1/a"});
  EXPECT_EQ(Sub(broker, mine).out, "x\n");
  // Without a certificate: refused at the TLS handshake.
  const auto anonymous = Sub(broker, {"--cafile", pki.ca_cert().string(), "-t", "dev/dev-1/a"});
  EXPECT_NE(anonymous.exit_code, 0);
  EXPECT_EQ(anonymous.out, "");
  // Another device's subtree: the ACL drops the publish (QoS 0: silently).
  ASSERT_EQ(pub("dev/dev-2/a"), 0);
  auto theirs = tls;
  theirs.insert(theirs.end(), {"-t", "dev/dev-2/a"});
  EXPECT_EQ(Sub(broker, theirs).out, "");
}

TEST(MosquittoBrokerFixture, KillAndRestartKeepsThePort) {
  TempDir dir;
  MosquittoBroker broker(dir.path(), {});
  const int port = broker.port();
  broker.Kill();
  EXPECT_NE(Sub(broker, {"-t", "x"}).exit_code, 0);
  broker.Restart();
  EXPECT_EQ(broker.port(), port);
  EXPECT_EQ(RunProcess({"/usr/bin/mosquitto_pub", "-h", broker.host(), "-p", std::to_string(port),
                        "-t", "t", "-m", "back"})
                .exit_code,
            0);
}

}  // namespace
}  // namespace mqota::testing
