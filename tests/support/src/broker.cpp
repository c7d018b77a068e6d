#include "mqota/testing/broker.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mqota/ports/posix/loopback.h"
#include "mqota/testing/process.h"

namespace mqota::testing {
namespace {

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = RunProcess(argv);
  if (r.exit_code != 0) throw std::runtime_error("openssl " + args[0] + " failed: " + r.err);
}

}  // namespace

int FreeLoopbackPort() { return posix::FreeLoopbackPort(); }

TestPki::TestPki(const std::filesystem::path& dir) : dir_(dir) {
  std::filesystem::create_directories(dir_);
  const std::string d = dir_.string();
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj",
           "/CN=mqota test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
  Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=mqota test broker"});
  std::ofstream(d + "/server.ext") << "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
                                      "extendedKeyUsage=serverAuth\n";
  Openssl({"x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
           "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile",
           d + "/server.ext"});
}

std::pair<std::filesystem::path, std::filesystem::path> TestPki::Client(const std::string& cn) {
  const std::string base = (dir_ / ("client-" + cn)).string();
  if (!std::filesystem::exists(base + ".crt")) {
    Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             base + ".key", "-out", base + ".csr", "-subj", "/CN=" + cn});
    std::ofstream(base + ".ext") << "extendedKeyUsage=clientAuth\n";
    Openssl({"x509", "-req", "-in", base + ".csr", "-CA", (dir_ / "ca.crt").string(), "-CAkey",
             (dir_ / "ca.key").string(), "-CAcreateserial", "-out", base + ".crt", "-days", "2",
             "-extfile", base + ".ext"});
  }
  return {base + ".crt", base + ".key"};
}

MosquittoBroker::MosquittoBroker(const std::filesystem::path& dir, const BrokerOptions& options,
                                 TestPki* pki)
    : dir_(dir) {
  std::filesystem::create_directories(dir_);
  port_ = FreeLoopbackPort();
  config_ = dir_ / "mosquitto.conf";
  log_ = dir_ / "mosquitto.log";
  std::ofstream conf(config_);
  // mosquitto started as root switches to the "mosquitto" user, which cannot
  // read this test's private files; run it as whoever runs the test.
  const passwd* self = getpwuid(geteuid());
  conf << "user " << (self ? self->pw_name : "root") << "\n"
       << "per_listener_settings false\n"
       << "persistence false\n"
       << "log_dest file " << log_.string() << "\n"
       << "log_type all\n"
       << "set_tcp_nodelay true\n"
       << "listener " << port_ << " 127.0.0.1\n";
  if (options.tls) {
    if (!pki) throw std::runtime_error("a TLS broker needs a TestPki");
    conf << "cafile " << pki->ca_cert().string() << "\n"
         << "certfile " << pki->server_cert().string() << "\n"
         << "keyfile " << pki->server_key().string() << "\n"
         << "tls_version " << options.tls_version << "\n"
         << "require_certificate true\n"
         << "use_identity_as_username true\n"
         << "allow_anonymous false\n";
  } else {
    conf << "allow_anonymous true\n";
  }
  if (!options.acl.empty()) {
    std::ofstream(dir_ / "acl") << options.acl;
    conf << "acl_file " << (dir_ / "acl").string() << "\n";
  }
  for (const auto& line : options.extra) conf << line << "\n";
  conf.close();
  Launch();
}

std::unique_ptr<MosquittoBroker> MosquittoBroker::FromConfigFile(
    const std::filesystem::path& config, int port, const std::filesystem::path& log) {
  std::unique_ptr<MosquittoBroker> broker(new MosquittoBroker());
  broker->dir_ = config.parent_path();
  broker->config_ = config;
  broker->log_ = log;
  broker->port_ = port;
  broker->Launch();
  return broker;
}

void MosquittoBroker::Launch() {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setpgid(0, 0);
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl("/usr/sbin/mosquitto", "mosquitto", "-c", config_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (posix::AcceptsOnLoopback(port_)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("mosquitto exited at start: " + Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  throw std::runtime_error("mosquitto did not listen within 10 s: " + Log());
}

void MosquittoBroker::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void MosquittoBroker::Freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void MosquittoBroker::Thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

void MosquittoBroker::Restart() {
  Kill();
  Launch();
}

std::string MosquittoBroker::Log() const {
  std::ifstream in(log_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

MosquittoBroker::~MosquittoBroker() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    kill(pid_, SIGCONT);  // a frozen broker takes its SIGTERM only once thawed
    waitpid(pid_, nullptr, 0);
  }
}

}  // namespace mqota::testing
