// linux/tcp.h, not netinet/tcp.h: glibc's struct tcp_info stops before the
// byte counters (tcpi_bytes_acked, tcpi_bytes_received; Linux >= 4.1).
#include "wire_probe.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace mqota::bench {

SocketBytes ReadSocketBytes(int fd) {
  tcp_info info{};
  socklen_t length = sizeof info;
  if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return {};
  return {info.tcpi_bytes_acked, info.tcpi_bytes_received};
}

ProcessUsage ReadProcessUsage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return {static_cast<uint64_t>(u.ru_nvcsw + u.ru_nivcsw),
          seconds(u.ru_utime) + seconds(u.ru_stime)};
}

std::set<int> SocketsToPort(int port) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  const int max_fd = limit.rlim_cur < 4096 ? static_cast<int>(limit.rlim_cur) : 4096;
  std::set<int> fds;
  for (int fd = 0; fd < max_fd; ++fd) {
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0 &&
        peer.sin_family == AF_INET && ntohs(peer.sin_port) == port &&
        peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
      fds.insert(fd);
    }
  }
  return fds;
}

}  // namespace mqota::bench
