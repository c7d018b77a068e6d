// The latency proxy against a loopback echo server: a round trip through it
// takes at least twice its delay, bytes come back exactly, and a close on
// one side reaches the other.
#include "mqota/sim/latency_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "mqota/testing/random_bytes.h"

namespace mqota::sim {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int Listen(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(fd, 8), 0);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  port = ntohs(a.sin_port);
  return fd;
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Echoes one connection back until it closes, then closes its side.
class EchoServer {
 public:
  EchoServer() : listen_fd_(Listen(port_)) {
    thread_ = std::thread([this] {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::vector<uint8_t> buffer(65536);
      for (;;) {
        const ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n <= 0) break;
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t w = write(fd, buffer.data() + sent, static_cast<size_t>(n - sent));
          if (w <= 0) break;
          sent += w;
        }
      }
      saw_close_ = true;
      close(fd);
    });
  }
  ~EchoServer() {
    shutdown(listen_fd_, SHUT_RDWR);  // ends a pending accept
    thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  bool saw_close() const { return saw_close_; }

 private:
  int port_ = 0;
  int listen_fd_;
  std::atomic<bool> saw_close_{false};
  std::thread thread_;
};

// Reads exactly `n` bytes within `timeout`; fewer when it passes or EOF.
std::vector<uint8_t> ReadExactly(int fd, size_t n, std::chrono::milliseconds timeout) {
  std::vector<uint8_t> out;
  const auto deadline = Clock::now() + timeout;
  std::vector<uint8_t> buffer(65536);
  while (out.size() < n && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t r = read(fd, buffer.data(), std::min(buffer.size(), n - out.size()));
    if (r <= 0) break;
    out.insert(out.end(), buffer.begin(), buffer.begin() + r);
  }
  return out;
}

TEST(LatencyProxy, ARoundTripTakesAtLeastTwiceTheDelay) {
  EchoServer echo;
  LatencyProxy proxy("127.0.0.1", echo.port(), 100ms);
  const int fd = Connect(proxy.port());
  const uint8_t ping = 0x5a;
  const auto start = Clock::now();
  ASSERT_EQ(write(fd, &ping, 1), 1);
  const auto back = ReadExactly(fd, 1, 5s);
  const auto took = Clock::now() - start;
  ASSERT_EQ(back, std::vector<uint8_t>{ping});
  EXPECT_GE(took, 200ms);  // 100 ms up, 100 ms down
  EXPECT_LT(took, 2s);
  close(fd);
}

TEST(LatencyProxy, ForwardsBytesExactlyBothWays) {
  EchoServer echo;
  LatencyProxy proxy("127.0.0.1", echo.port(), 5ms);
  const int fd = Connect(proxy.port());
  // More than the proxy's 4 MiB per direction: back-pressure on the way.
  const std::vector<uint8_t> sent = testing::PseudoRandomBytes(6 * 1024 * 1024 + 17, 7);
  std::thread writer([&] {
    for (size_t at = 0; at < sent.size();) {
      const ssize_t w = write(fd, sent.data() + at, std::min<size_t>(100000, sent.size() - at));
      if (w <= 0) break;
      at += static_cast<size_t>(w);
    }
  });
  const auto back = ReadExactly(fd, sent.size(), 20s);
  writer.join();
  EXPECT_EQ(back.size(), sent.size());
  EXPECT_TRUE(back == sent);
  const auto stats = proxy.stats();
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(stats.bytes_up, sent.size());
  EXPECT_EQ(stats.bytes_down, sent.size());
  close(fd);
}

TEST(LatencyProxy, AClientsCloseReachesTheUpstream) {
  EchoServer echo;
  LatencyProxy proxy("127.0.0.1", echo.port(), 20ms);
  const int fd = Connect(proxy.port());
  ASSERT_EQ(write(fd, "x", 1), 1);
  ASSERT_EQ(ReadExactly(fd, 1, 5s).size(), 1u);
  close(fd);
  const auto deadline = Clock::now() + 5s;
  while (!echo.saw_close() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(echo.saw_close());
}

TEST(LatencyProxy, AnUpstreamThatRefusesClosesTheClient) {
  int port = 0;
  const int unused = Listen(port);
  close(unused);  // nothing listens there now
  LatencyProxy proxy("127.0.0.1", port, 10ms);
  const int fd = Connect(proxy.port());
  EXPECT_TRUE(ReadExactly(fd, 1, 5s).empty());  // EOF, not a hang
  close(fd);
}

}  // namespace
}  // namespace mqota::sim
