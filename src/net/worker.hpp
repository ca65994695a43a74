#pragma once
// One worker thread: an Asio event loop, the broker Shard it drives, and the end-of-turn work (hand
// batched messages to other workers, write what connections queued). Owned by the Server; everything
// here runs on the worker's own thread except post().
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "broker/shard.hpp"

namespace starling::net {

class TcpConnection;

class Worker {
  public:
    Worker(broker::Broker& broker, unsigned index);

    boost::asio::io_context& io() { return io_; }
    broker::Shard& shard() { return shard_; }
    unsigned index() const { return index_; }

    // Any thread: run fn on this worker, followed by end-of-turn work.
    void post(std::function<void()> fn);
    // After handling input: flush outboxes to other workers and write dirty connections.
    void endTurn();
    void markDirty(std::shared_ptr<TcpConnection> c) { dirty_.push_back(std::move(c)); }
    broker::Broker& broker() { return broker_; }
    // A connection of this worker is gone (counts against max_connections no more).
    void connectionClosed() { broker_.connections.fetch_sub(1, std::memory_order_relaxed); }

    // Read buffers shared by this worker's connections, each used within one read handler: an idle
    // connection then holds no input buffer, only the bytes of a packet that is still incomplete.
    struct ReadBuffers {
        std::vector<uint8_t> socket;     // TLS and WebSocket: bytes as read, before those layers
        std::vector<uint8_t> tls_plain;  // WebSocket over TLS: plaintext on its way to the WebSocket layer
        std::vector<uint8_t> input;      // MQTT bytes: lent to the reading connection (moved out and back)
    };
    ReadBuffers& readBuffers() { return read_buffers_; }

    void start();
    void stop();
    void join();

  private:
    void scheduleTick();

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    boost::asio::steady_timer tick_;
    bool stopping_ = false;  // set on the worker thread by stop()
    broker::Broker& broker_;
    broker::Shard& shard_;
    unsigned index_;
    std::vector<std::shared_ptr<TcpConnection>> dirty_;
    std::vector<std::shared_ptr<TcpConnection>> flushing_;
    ReadBuffers read_buffers_;
    std::thread thread_;
};

}  // namespace starling::net
