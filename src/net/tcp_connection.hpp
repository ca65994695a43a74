#pragma once
// One client socket on one worker: reads bytes, splits frames, hands them to the Shard, and writes what the
// Shard queued with gathered writes (small packets coalesced, large payloads written from the shared
// Message). It reads into its worker's shared buffer when the socket is readable and keeps only an incomplete
// packet, so an idle connection holds no input buffer. Owned by its worker (shared_ptr kept alive by pending
// operations); not thread-safe.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
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

// A client socket bound to its worker's io_context executor rather than the polymorphic any_io_executor:
// the socket and each operation pending on it are about 50 bytes smaller, and every connection has both.
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

// A connection on its way to the worker that owns its session: the released socket, the input not yet
// consumed (its CONNECT), and what the new TcpConnection needs to know of its listener. A TLS connection's
// TLS state moves with it.
struct Handover {
    int fd = -1;
    bool v6 = false;
    std::vector<uint8_t> input;
    std::string address;
    uint16_t listener_port = 0;
    size_t listener_index = 0;
    std::atomic<int>* listener_count = nullptr;
    std::shared_ptr<TlsSession> tls;
    std::shared_ptr<WsSession> ws;
};
// Moves a connection to worker `target`. One function, owned by the Server, serves every connection.
using MigrateFn = std::function<void(unsigned target, Handover h)>;

class TcpConnection final : public broker::ClientLink, public std::enable_shared_from_this<TcpConnection> {
  public:
    TcpConnection(Worker& worker, Socket socket, std::string address, uint32_t max_packet, const MigrateFn& migrate,
                  std::atomic<int>* listener_count, std::shared_ptr<TlsSession> tls = nullptr,
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

    enum class ReadResult { kData, kNothing, kEnded };

    void readMore();
    void onReadable(const boost::system::error_code& ec);
    // One read from the socket, through TLS and WebSocket when the listener has them, appended to in_.
    ReadResult readSocket();
    // Before a read: in_ becomes the worker's input buffer with the kept bytes at its front, or, for a packet
    // larger than that buffer, a buffer of its own sized to the packet (its bytes are then copied once).
    void lendInput();
    // After a read: the worker's buffer goes back; only the bytes of an incomplete packet stay.
    void keepIncomplete();
    void processInput();
    void onWritten(const boost::system::error_code& ec, size_t n);
    void finish();
    void shutdownSocket();
    void migrate(unsigned target);
    // Keeps the broker's count of queued output bytes up to date with this connection's.
    void reportOutput();
    static std::string identityOf(const TlsSession& t);
    // TLS: ciphertext read from the socket becomes plaintext input; false when the connection must end.
    bool decrypt(const uint8_t* data, size_t n);
    // WebSocket: bytes of the HTTP upgrade and of frames become MQTT input; false when the connection ends.
    bool unframe(const uint8_t* data, size_t n);
    // Bytes of one chunk list, for the frame header.
    static size_t bytesOf(const std::vector<Chunk>& chunks);

    Worker& worker_;
    Socket socket_;
    std::string address_;
    protocol::FrameSplitter splitter_;
    bool in_lent_ = false;  // in_ is the worker's input buffer, during a read
    bool reading_ = false;
    bool more_input_ = false;  // the last read filled its buffer: read again without waiting for readiness
    bool paused_ = false;      // back-pressure: reading waits for pause_timer_
    const MigrateFn& migrate_;
    std::atomic<int>* listener_count_;  // this listener's open connections

    std::vector<uint8_t> in_;  // input not yet handled: between reads, only an incomplete packet
    size_t in_begin_ = 0, in_end_ = 0;

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
    std::optional<unsigned> migrate_to_;  // a TLS connection waits for its last write before it moves

    std::shared_ptr<TlsSession> tls_;
    std::shared_ptr<WsSession> ws_;
    // Bytes of the TLS and WebSocket layers that a write in progress points into; allocated for connections
    // with those layers only.
    struct LayerOutput {
        std::vector<uint8_t> cipher;      // TLS: the ciphertext of everything below
        std::vector<uint8_t> ws_control;  // WebSocket: protocol replies, written before the MQTT bytes
        uint8_t ws_header[10];            // WebSocket: the header of the binary frame carrying the MQTT bytes
    };
    std::unique_ptr<LayerOutput> layer_out_;
};

}  // namespace starling::net
