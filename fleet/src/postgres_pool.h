// A few connections to one database, shared by one process's threads
// (docs/spec/fleet-registry.md#transactions): each registry call leases one
// for its transaction and gives it back, so the calls of different workers
// run side by side, and PostgreSQL's row locks order those that touch the
// same rows, exactly as between two servers. Connections are opened when
// needed, up to the pool's size; a call that finds them all leased waits for
// one.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "postgres_db.h"

namespace mqota::fleet::postgres {

// A registry's pool: mqota-server's four workers, its housekeeping and its
// HTTP API each find one most of the time. Three instances hold twelve of
// PostgreSQL's default max_connections of 100.
inline constexpr size_t kConnectionsPerRegistry = 4;

class ConnectionPool {
 public:
  // `first` is open (and has brought the schema up to date); at most `size`
  // connections are ever open at once.
  ConnectionPool(std::string url, Connection first, size_t size);

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection& connection() { return *connection_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // An idle connection, else a new one while fewer than `size` are open,
  // else the next one given back. Throws DatabaseError when a connection is
  // needed, none is open and a new one cannot be made.
  Lease Acquire();

 private:
  void GiveBack(std::unique_ptr<Connection> connection);

  const std::string url_;
  const size_t size_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t opened_ = 0;
  bool opening_ = false;  // one thread connects at a time; the rest wait
};

}  // namespace mqota::fleet::postgres
