// `mqota certs` and `mqota broker-config` as a user runs them: exit codes,
// what they print, the files they leave.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mqota/testing/files.h"
#include "mqota/testing/process.h"

namespace mqota::cli {
namespace {

using mqota::testing::BinPath;
using mqota::testing::ProcessResult;
using mqota::testing::RunProcess;
using mqota::testing::TempDir;

ProcessResult Mqota(std::vector<std::string> args) {
  args.insert(args.begin(), BinPath("mqota"));
  return RunProcess(args);
}

void ExpectOneLineError(const ProcessResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(CertsCommand, MakesThePkiThenGrowsIt) {
  TempDir tmp;
  const std::string dir = (tmp / "pki").string();
  auto r = Mqota({"certs", "--out", dir, "--device", "dev-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dir + "/ca.crt: new CA\n" + dir + "/broker.crt: issued\n" + dir +
                       "/clients/mqota-server.crt: issued\n" + dir +
                       "/clients/dev-1.crt: issued\n");
  r = Mqota({"certs", "--out", dir, "--device", "dev-1", "--device", "dev-2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dir + "/clients/dev-2.crt: issued\n" + dir +
                       "/clients/mqota-server.crt: kept (issued by this CA before)\n" + dir +
                       "/clients/dev-1.crt: kept (issued by this CA before)\n");
  EXPECT_TRUE(std::filesystem::exists(tmp / "pki/clients/dev-2.key"));
}

TEST(CertsCommand, BadInputIsOneLineAndExitCode2) {
  TempDir tmp;
  const std::string dir = (tmp / "pki").string();
  ExpectOneLineError(Mqota({"certs", "--out", dir, "--device", "a/b"}),
                     "device id 'a/b' is not usable as an MQTT username and topic level: '/'");
  ExpectOneLineError(Mqota({"certs", "--out", dir, "--broker-name", "IP:10.1.1.1"}),
                     "without a type prefix");
  ExpectOneLineError(Mqota({"certs", "--device", "d"}), "--out DIR");
  EXPECT_FALSE(std::filesystem::exists(dir));
  std::filesystem::create_directories(dir);
  std::ofstream(tmp / "pki/ca.key") << "x";
  ExpectOneLineError(Mqota({"certs", "--out", dir}), "ca.key exists but");
}

TEST(CertsCommand, PrintsCStringsOrRefusesTheFile) {
  TempDir tmp;
  const std::string crt = (tmp / "x.crt").string();
  std::ofstream(crt) << "A\nB\n";
  const auto r = Mqota({"certs", "--c-strings", crt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "String format of " + crt + " file:\n\"A\\n\"\\\n\"B\\n\"\n\n");
  ExpectOneLineError(Mqota({"certs", "--c-strings", crt, (tmp / "x.bin").string()}),
                     "x.bin: not a .crt, .pem or .key file");
  ExpectOneLineError(Mqota({"certs", "--c-strings", (tmp / "gone.pem").string()}),
                     "gone.pem: No such file or directory");
}

TEST(CertsCommand, HelpDescribesTheLayoutAndThePlainBrokersProtection) {
  auto r = Mqota({"certs", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text : {"clients/<id>.crt", "--force", "--c-strings", "0600", "--broker-name"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
  r = Mqota({"broker-config", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text :
       {"loopback", "--plain", "--user", "publish_notify", "OTAImage", "--reference-devices",
        "subscriber/+", "confidentiality of answers between the devices of a board"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
}

TEST(BrokerConfigCommand, WritesTheFilesAndRefusesAPlainNetworkListener) {
  TempDir tmp;
  const std::string pki = (tmp / "pki").string(), out = (tmp / "broker").string();
  ASSERT_EQ(Mqota({"certs", "--out", pki, "--device", "d1"}).exit_code, 0);
  auto r = Mqota({"broker-config", "--certs", pki, "--out", out, "--user", "root"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, out + "/mosquitto.conf: TLS on 127.0.0.1 port 8883\nrun: mosquitto -c " + out +
                       "/mosquitto.conf\n");
  for (const char* name : {"mosquitto.conf", "acl", "ca.crt", "broker.crt", "broker.key"}) {
    EXPECT_TRUE(std::filesystem::exists(tmp / "broker" / name)) << name;
  }
  ExpectOneLineError(
      Mqota({"broker-config", "--plain", "--bind", "0.0.0.0", "--out", out, "--user", "root"}),
      "loopback only");
  ExpectOneLineError(Mqota({"broker-config", "--out", out, "--user", "root"}), "--certs DIR");
  ExpectOneLineError(Mqota({"broker-config", "--certs", pki, "--out", out, "--user", "root",
                            "--device", "d1:a/b"}),
                     "board 'a/b'");
}

TEST(BrokerConfigCommand, ReferenceDevicesReachTheAclAndAreRefusedWithPlain) {
  TempDir tmp;
  const std::string pki = (tmp / "pki").string(), out = (tmp / "broker").string();
  ASSERT_EQ(Mqota({"certs", "--out", pki, "--device", "d1"}).exit_code, 0);
  auto r = Mqota({"broker-config", "--certs", pki, "--out", out, "--user", "root", "--device",
                  "d1:B1", "--reference-devices"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream acl(tmp / "broker/acl");
  const std::string text((std::istreambuf_iterator<char>(acl)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\ntopic read mqota/B1/OTAImage/+\ntopic read mqota/B1/subscriber/+\n"),
            std::string::npos)
      << text;
  ExpectOneLineError(Mqota({"broker-config", "--plain", "--reference-devices", "--out",
                            (tmp / "plain").string(), "--user", "root"}),
                     "--reference-devices does nothing with --plain");
  EXPECT_FALSE(std::filesystem::exists(tmp / "plain"));
}

}  // namespace
}  // namespace mqota::cli
