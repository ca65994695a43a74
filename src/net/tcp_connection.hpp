#pragma once
// One client socket on one worker: reads bytes, splits frames, hands them to the Shard, and writes what the
// Shard queued with gathered writes (small packets coalesced, large payloads written from the shared
// Message). Owned by its worker (shared_ptr kept alive by pending operations); not thread-safe.
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/client_link.hpp"
#include "net/tls.hpp"
#include "net/websocket.hpp"
#include "protocol/frame.hpp"

namespace starling::net {

class Worker;
class Server;

// Called when a connection must move to the worker that owns its session.
// A TLS connection's TLS state moves with it.
using MigrateFn =
    std::function<void(unsigned target, int fd, bool v6, std::vector<uint8_t> input, std::string address,
                       uint16_t listener_port, std::shared_ptr<TlsSession> tls, std::shared_ptr<WsSession> ws)>;

class TcpConnection final : public broker::ClientLink, public std::enable_shared_from_this<TcpConnection> {
  public:
    TcpConnection(Worker& worker, boost::asio::ip::tcp::socket socket, std::string address, uint32_t max_packet,
                  MigrateFn migrate, std::atomic<int>* listener_count, std::shared_ptr<TlsSession> tls = nullptr,
                  std::shared_ptr<WsSession> ws = nullptr);
    ~TcpConnection() override;

    // Starts reading; `initial` is input already received (a migrated connection's CONNECT).
    void start(std::vector<uint8_t> initial = {});

    protocol::Bytes& writeBuffer() override;
    void writeMessageTail(const broker::MessagePtr& m, bool with_properties) override;
    void flushSoon() override;
    uint64_t pendingOutputBytes() const override;
    void close(broker::CloseReason reason) override;
    const std::string& remoteAddress() const override { return address_; }

    // Worker end-of-turn: start a write of what is queued.
    void writeNow();

  private:
    struct Chunk {
        protocol::Bytes bytes;
        broker::MessagePtr tail;  // written after `bytes`: the message's properties (optional) and payload
        bool tail_properties = false;
        size_t size() const;
    };

    void readMore();
    void onRead(const boost::system::error_code& ec, size_t n);
    void processInput();
    void onWritten(const boost::system::error_code& ec, size_t n);
    void finish();
    void shutdownSocket();
    void migrate(unsigned target);
    // Keeps the broker's count of queued output bytes up to date with this connection's.
    void reportOutput();
    static std::string identityOf(const TlsSession& t);
    // TLS: ciphertext read from the socket becomes plaintext input; false when the connection must end.
    bool decrypt(size_t n);
    // WebSocket: bytes of the HTTP upgrade and of frames become MQTT input; false when the connection ends.
    bool unframe(const uint8_t* data, size_t n);
    // Bytes of one chunk list, for the frame header.
    static size_t bytesOf(const std::vector<Chunk>& chunks);

    Worker& worker_;
    boost::asio::ip::tcp::socket socket_;
    std::string address_;
    protocol::FrameSplitter splitter_;
    MigrateFn migrate_;
    std::atomic<int>* listener_count_;  // this listener's open connections

    std::vector<uint8_t> in_;
    size_t in_begin_ = 0, in_end_ = 0;
    bool reading_ = false;
    bool last_read_full_ = false;

    // Vectors, not deques: an idle connection then holds no chunk storage at all (a std::deque allocates
    // its first block when constructed). writeBuffer()'s reference is only good until the next call.
    std::vector<Chunk> pending_;  // queued, not yet handed to the socket
    std::vector<Chunk> writing_;  // handed to async_write
    std::vector<protocol::Bytes> spare_;
    uint64_t writing_bytes_ = 0;   // handed to the socket, not yet written
    uint64_t sealed_bytes_ = 0;    // in pending_ chunks before the last (the last one still grows)
    int64_t reported_output_ = 0;  // this connection's share of Broker::output_queued
    bool write_in_progress_ = false;
    bool dirty_ = false;
    bool closing_ = false;
    bool finished_ = false;
    bool migrated_ = false;
    std::unique_ptr<boost::asio::steady_timer> close_timer_;
    std::unique_ptr<boost::asio::steady_timer> pause_timer_;
    bool paused_ = false;
    std::optional<unsigned> migrate_to_;  // a TLS connection waits for its last write before it moves

    std::shared_ptr<TlsSession> tls_;
    std::vector<uint8_t> cipher_in_;
    std::vector<uint8_t> cipher_out_;

    std::shared_ptr<WsSession> ws_;
    std::vector<uint8_t> ws_plain_;  // TLS plaintext on its way to the WebSocket layer
    std::vector<uint8_t> ws_control_out_;
    uint8_t ws_header_[10];
};

}  // namespace starling::net
