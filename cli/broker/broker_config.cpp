// Validating the options and writing the broker's files (broker_config.h).
#include "broker/broker_config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "certs/pki.h"
#include "mqota/host/command_error.h"
#include "mqota/host/files.h"
#include "mqota/host/mqtt_names.h"

namespace mqota::cli {
namespace {

namespace fs = std::filesystem;

bool IsLoopback(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return address == "localhost";
}

// A newline in a path would start a new configuration line.
void CheckPath(const fs::path& path, const std::string& what) {
  for (const char c : path.string()) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      throw host::UsageError(what + " path contains a control character");
    }
  }
}

void Validate(const BrokerConfigOptions& o) {
  if (o.out.empty()) throw host::UsageError("no output directory given");
  if (o.port < 0 || o.port > 65535) throw host::UsageError("port must be 1..65535");
  if (o.window < 1 || o.window > 1024) throw host::UsageError("window must be 1..1024 chunks");
  host::CheckTopicPrefix(o.topic_prefix);
  host::CheckClientId(o.server_client, "server client id");
  if (o.bind.empty() || o.bind.find_first_of(" \t\r\n") != std::string::npos) {
    throw host::UsageError("bind address '" + o.bind + "' is not an address");
  }
  if (o.plain && !IsLoopback(o.bind)) {
    throw host::UsageError(
        "a plain broker listens on loopback only (" + o.bind +
        " is not): without certificates nothing tells a device from an intruder; "
        "use TLS (drop --plain)");
  }
  // Accepting it would suggest it changes something; it cannot.
  if (o.plain && o.reference_devices) {
    throw host::UsageError(
        "--reference-devices does nothing with --plain: a plain broker already lets every "
        "client read " +
        o.topic_prefix + "/#, reference devices included; drop --reference-devices");
  }
  if (o.user.empty() || o.user.find_first_of(" \t\r\n") != std::string::npos) {
    throw host::UsageError("user '" + o.user + "' is not a user name");
  }
  CheckPath(o.out, "output");
  CheckPath(o.log, "log file");
  if (!o.plain) {
    if (o.certs.empty())
      throw host::UsageError("a TLS broker needs --certs DIR (made by mqota certs)");
    CheckPath(o.certs, "certs");
  }
  for (const BrokerDevice& d : o.devices.value_or(std::vector<BrokerDevice>{})) {
    host::CheckClientId(d.id, "device id");
    if (!d.board.empty()) host::CheckBoardName(d.board);
    if (d.id == o.server_client) {
      throw host::UsageError("device id '" + d.id + "' is the server client's id");
    }
    if (std::find(o.observers.begin(), o.observers.end(), d.id) != o.observers.end()) {
      throw host::UsageError("'" + d.id + "' is both a device and an observer");
    }
  }
  for (const std::string& id : o.observers) {
    host::CheckClientId(id, "observer id");
    if (id == o.server_client) {
      throw host::UsageError("observer '" + id + "' is the server client's id");
    }
  }
}

std::vector<BrokerDevice> DevicesOf(const BrokerConfigOptions& o) {
  if (o.devices) return *o.devices;
  std::vector<BrokerDevice> devices;
  if (o.plain) return devices;
  for (const auto& id : ClientIdsIn(PkiLayout(o.certs))) {
    if (id == o.server_client) continue;
    if (std::find(o.observers.begin(), o.observers.end(), id) != o.observers.end()) continue;
    host::CheckClientId(id, "device id (from " + PkiLayout(o.certs).client_cert(id).string() + ")");
    devices.push_back({id, ""});
  }
  return devices;
}

struct RunAs {
  bool chown = false;  // we are root and the broker runs as someone else
  uid_t uid = 0;
  gid_t gid = 0;
};

RunAs ResolveUser(const std::string& user) {
  if (geteuid() != 0 || user == "root") return {};
  const passwd* pw = getpwnam(user.c_str());
  if (!pw) {
    throw host::UsageError("no user '" + user +
                           "' on this host for mosquitto to run as; pass --user NAME (an existing "
                           "account)");
  }
  return {true, pw->pw_uid, pw->pw_gid};
}

void Chown(const fs::path& path, const RunAs& run_as) {
  if (!run_as.chown) return;
  if (chown(path.c_str(), run_as.uid, run_as.gid) != 0) {
    throw host::UsageError(path.string() +
                           ": cannot give it to the broker's user: " + std::strerror(errno));
  }
}

// mosquitto opens its log file after switching users: create it for them.
void PrepareLog(const fs::path& log, const RunAs& run_as) {
  if (log.empty() || !run_as.chown) return;
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) throw host::UsageError(log.string() + ": " + std::strerror(errno));
  close(fd);
  Chown(log, run_as);
}

// Directories on the way to `path` that `run_as` cannot enter: mosquitto
// would then fail to read its files, after switching users.
std::vector<std::string> Unreachable(const fs::path& path, const RunAs& run_as,
                                     const std::string& user) {
  std::vector<std::string> warnings;
  if (!run_as.chown) return warnings;
  for (fs::path dir = path; !dir.empty(); dir = dir.parent_path()) {
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0) {
      const bool can_enter =
          st.st_uid == run_as.uid
              ? (st.st_mode & S_IXUSR)
              : (st.st_gid == run_as.gid ? (st.st_mode & S_IXGRP) : (st.st_mode & S_IXOTH));
      if (!can_enter) {
        warnings.push_back("mosquitto, running as " + user + ", cannot enter " + dir.string() +
                           " and so cannot read " + path.string() +
                           "; make it searchable, move the files, or use --user");
      }
    }
    if (dir == dir.root_path()) break;
  }
  return warnings;
}

fs::path Absolute(const fs::path& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  if (error) throw host::UsageError(path.string() + ": " + error.message());
  return absolute.lexically_normal();
}

}  // namespace

BrokerDevice ParseBrokerDevice(const std::string& spec) {
  const size_t colon = spec.find(':');
  BrokerDevice d{spec.substr(0, colon), colon == std::string::npos ? "" : spec.substr(colon + 1)};
  host::CheckClientId(d.id, "device id");
  if (colon != std::string::npos) host::CheckBoardName(d.board);
  return d;
}

BrokerConfigFiles WriteBrokerConfig(const BrokerConfigOptions& options) {
  Validate(options);
  const std::vector<BrokerDevice> devices = DevicesOf(options);
  const RunAs run_as = ResolveUser(options.user);
  const fs::path out = Absolute(options.out);
  BrokerConfigFiles files;
  files.config = out / "mosquitto.conf";
  files.acl = out / "acl";
  files.port = options.port != 0 ? options.port : (options.plain ? 1883 : 8883);
  std::vector<uint8_t> ca, cert, key;
  if (!options.plain) {
    const PkiLayout pki(options.certs);
    ca = host::ReadFile(pki.ca_cert());
    cert = host::ReadFile(pki.broker_cert());
    key = host::ReadFile(pki.broker_key());
    files.ca_cert = out / "ca.crt";
    files.broker_cert = out / "broker.crt";
    files.broker_key = out / "broker.key";
  }
  BrokerConfigOptions absolute = options;
  if (!options.log.empty()) absolute.log = Absolute(options.log);

  std::error_code error;
  fs::create_directories(out, error);
  if (error)
    throw host::UsageError(out.string() + ": cannot create the directory: " + error.message());
  if (!options.plain) {
    host::WriteFileAtomically(files.ca_cert, ca, 0644);
    host::WriteFileAtomically(files.broker_cert, cert, 0644);
    host::WriteFileAtomically(files.broker_key, key, 0600);
    Chown(files.broker_key, run_as);
  }
  host::WriteFileAtomically(files.acl, AclText(absolute, devices), 0644);
  PrepareLog(absolute.log, run_as);
  host::WriteFileAtomically(files.config, MosquittoConf(absolute, files, devices.size()), 0644);
  files.warnings = Unreachable(out, run_as, options.user);
  return files;
}

}  // namespace mqota::cli
