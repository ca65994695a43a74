#pragma once
// The HTTP server of `http_listener`: /metrics, /health, /api/v1 and the dashboard, on a thread and an
// io_context of its own, apart from the MQTT workers. It only reads the broker, through its thread-safe
// accessors. Created, started, reloaded and stopped by the main thread; Beast and Asio stay inside.
#include <memory>

#include "config/config.hpp"

namespace starling::broker {
class Broker;
}  // namespace starling::broker

namespace starling::http {

class HttpServer {
  public:
    // `cfg.http_listener` must be set. Reads the http_auth_token file: throws std::runtime_error when it
    // cannot be read or holds no token.
    HttpServer(broker::Broker& broker, const config::Config& cfg);
    ~HttpServer();

    // Binds (throws std::runtime_error naming the address on failure) and starts the thread. Call it once
    // the broker is set up (store opened): the thread reads the broker from then on.
    void start();
    // SIGHUP: re-reads the token file. Throws std::runtime_error (and keeps the old token) when it cannot.
    void reload(const config::Config& fresh);
    // Closes the listener and every HTTP connection and joins the thread. Idempotent.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace starling::http
