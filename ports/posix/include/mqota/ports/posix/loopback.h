// Loopback TCP helpers for the programs that start their own broker (the
// demo) and for the tests that do.
#pragma once

namespace mqota::posix {

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's
// pick; another process may take it before the caller binds it). Throws
// std::system_error when the machine has no port to give.
int FreeLoopbackPort();

// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool AcceptsOnLoopback(int port);

}  // namespace mqota::posix
