// What the kernel counts, for the wire benchmark: the bytes that really
// crossed a TCP connection (TCP_INFO: MQTT framing, and the TLS records when
// TLS is on, not what the protocol constants say it should be), and this
// process's context switches and CPU time (getrusage: every thread, the
// server's, the device's and the baseline clients', as all run in-process).
#pragma once

#include <cstdint>
#include <set>

namespace mqota::bench {

struct SocketBytes {
  uint64_t sent = 0;  // acknowledged by the peer
  uint64_t received = 0;
  uint64_t total() const { return sent + received; }
};

struct ProcessUsage {
  uint64_t switches = 0;   // voluntary and involuntary context switches
  double cpu_seconds = 0;  // user + system
  ProcessUsage operator-(const ProcessUsage& o) const {
    return {switches - o.switches, cpu_seconds - o.cpu_seconds};
  }
};

ProcessUsage ReadProcessUsage();

// The connection's byte counts so far; zeros when `fd` is not a TCP socket.
SocketBytes ReadSocketBytes(int fd);

// This process's TCP sockets connected to 127.0.0.1:`port` (to find the one a
// client opened: take the set before and after it connects).
std::set<int> SocketsToPort(int port);

}  // namespace mqota::bench
