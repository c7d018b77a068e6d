#include "mqota/sim/latency_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace mqota::sim {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kReadBytes = size_t{64} * 1024;
constexpr size_t kMaxQueuedBytes = size_t{4} * 1024 * 1024;
constexpr uint64_t kStopTag = ~uint64_t{0};
constexpr uint64_t kListenTag = kStopTag - 1;

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count());
}

void SetNonBlockingNoDelay(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Bytes read from one side, released to the other at `due_ms`.
struct Chunk {
  uint64_t due_ms;
  std::vector<uint8_t> bytes;
  size_t sent = 0;
};

struct Direction {
  std::deque<Chunk> queue;
  size_t queued_bytes = 0;
  bool source_closed = false;  // read 0 or an error: close once the queue is out
  uint64_t closed_due_ms = 0;
};

// Side 0: the client; side 1: the upstream. Direction d carries side d's
// bytes to side 1 - d.
struct Connection {
  int fd[2] = {-1, -1};
  Direction dir[2];
  uint32_t watching[2] = {0, 0};
};

}  // namespace

struct LatencyProxy::Impl {
  sockaddr_in upstream{};
  uint64_t delay_ms = 0;
  int listen_fd = -1;
  int stop_fd = -1;
  int epoll_fd = -1;
  int port = 0;
  std::thread thread;
  std::unordered_map<uint64_t, Connection> connections;
  uint64_t next_id = 1;
  // (due, connection): when a connection has bytes (or a close) to release.
  std::priority_queue<std::pair<uint64_t, uint64_t>, std::vector<std::pair<uint64_t, uint64_t>>,
                      std::greater<>>
      timers;
  mutable std::mutex stats_mutex;
  Stats stats;

  void Run();
  void Accept();
  void Read(uint64_t id, int side, uint64_t now);
  // Delivers what is due; closes the connection once a closed side's bytes
  // are out. Returns false when the connection is gone.
  bool Flush(uint64_t id, uint64_t now);
  void Watch(uint64_t id, Connection& c);
  void Close(uint64_t id);
};

LatencyProxy::LatencyProxy(const std::string& upstream_host, int upstream_port,
                           std::chrono::milliseconds delay, int listen_port)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.delay_ms = static_cast<uint64_t>(delay.count());
  s.upstream.sin_family = AF_INET;
  s.upstream.sin_port = htons(static_cast<uint16_t>(upstream_port));
  if (inet_pton(AF_INET, upstream_host.c_str(), &s.upstream.sin_addr) != 1) {
    throw std::runtime_error("latency proxy: the upstream must be an IPv4 address, not \"" +
                             upstream_host + "\"");
  }
  s.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(static_cast<uint16_t>(listen_port));
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof local;
  if (bind(s.listen_fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      listen(s.listen_fd, 1024) != 0 ||
      getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    const int err = errno;
    close(s.listen_fd);
    throw std::runtime_error("latency proxy: cannot listen: " +
                             std::generic_category().message(err));
  }
  s.port = ntohs(local.sin_port);
  s.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event e{EPOLLIN, {.u64 = kListenTag}};
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.listen_fd, &e);
  e.data.u64 = kStopTag;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.stop_fd, &e);
  s.thread = std::thread([&s] { s.Run(); });
}

LatencyProxy::~LatencyProxy() {
  Impl& s = *impl_;
  const uint64_t one = 1;
  if (write(s.stop_fd, &one, sizeof one) < 0) {
    // An eventfd write cannot fail with a counter this small.
  }
  s.thread.join();
  while (!s.connections.empty()) s.Close(s.connections.begin()->first);
  close(s.listen_fd);
  close(s.stop_fd);
  close(s.epoll_fd);
}

int LatencyProxy::port() const { return impl_->port; }

LatencyProxy::Stats LatencyProxy::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

void LatencyProxy::Impl::Run() {
  std::vector<epoll_event> events(256);
  for (;;) {
    int timeout = 1000;
    if (!timers.empty()) {
      const uint64_t now = NowMs();
      timeout = timers.top().first <= now ? 0 : static_cast<int>(timers.top().first - now);
    }
    const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout);
    const uint64_t now = NowMs();
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kStopTag) return;
      if (tag == kListenTag) {
        Accept();
        continue;
      }
      const uint64_t id = tag >> 1;
      const int side = static_cast<int>(tag & 1);
      if (!connections.contains(id)) continue;  // closed earlier in this batch
      if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) Read(id, side, now);
      if (connections.contains(id)) Flush(id, now);
    }
    while (!timers.empty() && timers.top().first <= NowMs()) {
      const uint64_t id = timers.top().second;
      timers.pop();
      if (connections.contains(id)) Flush(id, NowMs());
    }
  }
}

void LatencyProxy::Impl::Accept() {
  for (;;) {
    const int client = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;
    const int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    SetNonBlockingNoDelay(client);
    SetNonBlockingNoDelay(up);
    if (connect(up, reinterpret_cast<const sockaddr*>(&upstream), sizeof upstream) != 0 &&
        errno != EINPROGRESS) {
      close(client);
      close(up);
      continue;
    }
    const uint64_t id = next_id++;
    Connection& c = connections[id];
    c.fd[0] = client;
    c.fd[1] = up;
    Watch(id, c);
    std::lock_guard lock(stats_mutex);
    ++stats.connections;
  }
}

void LatencyProxy::Impl::Read(uint64_t id, int side, uint64_t now) {
  Connection& c = connections.at(id);
  Direction& d = c.dir[side];
  static thread_local std::vector<uint8_t> buffer(kReadBytes);
  while (!d.source_closed && d.queued_bytes < kMaxQueuedBytes) {
    const ssize_t n = read(c.fd[side], buffer.data(), buffer.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n <= 0) {
      d.source_closed = true;
      d.closed_due_ms = now + delay_ms;
      timers.emplace(d.closed_due_ms, id);
      break;
    }
    // A chunk the size of what came: a 64 KiB buffer per small MQTT packet
    // would hold far more memory than the queue limit counts.
    std::vector<uint8_t> bytes(buffer.begin(), buffer.begin() + n);
    d.queued_bytes += bytes.size();
    d.queue.push_back({now + delay_ms, std::move(bytes)});
    timers.emplace(now + delay_ms, id);
  }
  Watch(id, c);
}

bool LatencyProxy::Impl::Flush(uint64_t id, uint64_t now) {
  Connection& c = connections.at(id);
  for (int from = 0; from < 2; ++from) {
    Direction& d = c.dir[from];
    const int to = c.fd[1 - from];
    while (!d.queue.empty() && d.queue.front().due_ms <= now) {
      Chunk& chunk = d.queue.front();
      const ssize_t n =
          send(to, chunk.bytes.data() + chunk.sent, chunk.bytes.size() - chunk.sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOTCONN)) break;
      if (n < 0) {  // the other side is gone
        Close(id);
        return false;
      }
      chunk.sent += static_cast<size_t>(n);
      {
        std::lock_guard lock(stats_mutex);
        (from == 0 ? stats.bytes_up : stats.bytes_down) += static_cast<uint64_t>(n);
      }
      if (chunk.sent < chunk.bytes.size()) break;
      d.queued_bytes -= chunk.bytes.size();
      d.queue.pop_front();
    }
    if (d.source_closed && d.queue.empty() && d.closed_due_ms <= now) {
      Close(id);
      return false;
    }
  }
  Watch(id, c);
  return true;
}

// Read a side unless its direction is full; write to a side while bytes due
// for it wait (the socket was full, or the upstream is still connecting).
void LatencyProxy::Impl::Watch(uint64_t id, Connection& c) {
  const uint64_t now = NowMs();
  for (int side = 0; side < 2; ++side) {
    const Direction& in = c.dir[side];
    const Direction& out = c.dir[1 - side];
    uint32_t want = 0;
    if (!in.source_closed && in.queued_bytes < kMaxQueuedBytes) want |= EPOLLIN;
    if (!out.queue.empty() && out.queue.front().due_ms <= now) want |= EPOLLOUT;
    if (want == c.watching[side]) continue;
    epoll_event e{want, {.u64 = id << 1 | static_cast<uint64_t>(side)}};
    const int op = c.watching[side] == 0 ? EPOLL_CTL_ADD
                   : want == 0           ? EPOLL_CTL_DEL
                                         : EPOLL_CTL_MOD;
    epoll_ctl(epoll_fd, op, c.fd[side], &e);
    c.watching[side] = want;
  }
}

void LatencyProxy::Impl::Close(uint64_t id) {
  auto it = connections.find(id);
  if (it == connections.end()) return;
  for (const int fd : it->second.fd) close(fd);  // also leaves the epoll set
  connections.erase(it);
}

}  // namespace mqota::sim
