#pragma once
// The running broker: worker threads with their event loops, listeners on every worker (SO_REUSEPORT),
// and the hand-off of connections between workers. The only public face of src/net; Asio stays inside.
// Created and driven by the main thread.
#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"

namespace starling::broker {
class Broker;
}  // namespace starling::broker

namespace starling::net {

struct BoundListener {
    std::string address;
    uint16_t port;
};

class Server {
  public:
    explicit Server(const config::Config& cfg);
    ~Server();

    // Binds every listener (throws std::runtime_error with the address on failure) and starts the workers.
    void start();
    // Where the listeners ended up (port 0 resolved).
    std::vector<BoundListener> boundListeners() const;
    // SIGHUP: re-reads the password file, ACL file and JWT keys and the listeners' TLS certificates. Throws
    // std::runtime_error (and keeps everything as it was) when one cannot be loaded. Connections stay up.
    void reload(const config::Config& fresh);
    // Closes listeners and connections, then joins the workers. Safe to call from a signal handler
    // thread context through the main loop (not from a worker).
    void stop();
    // Blocks until stop() completes.
    void wait();
    // The broker's shared state, for readers on other threads (the HTTP server) through its thread-safe
    // accessors: stats(), retained(), connections, output_queued, store().
    broker::Broker& broker();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace starling::net
