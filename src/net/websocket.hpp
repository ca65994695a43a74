#pragma once
// MQTT over WebSocket (RFC 6455, subprotocol "mqtt"), server side, as a byte-stream layer like TlsSession:
// the HTTP upgrade and the frames are handled on buffers, not on an Asio stream, so that a WebSocket
// connection can still move to the worker that owns its session after CONNECT (docs/architecture.md). The
// upgrade request is parsed with Boost.Beast's HTTP parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace starling::net {

class WsSession {
  public:
    enum class Status { kOk, kClose, kError };

    // Bytes from the client (after TLS, if any). MQTT bytes are appended to buf[end...]; replies the
    // protocol needs (the 101 response, pongs, the closing handshake) wait in control output.
    Status feed(const uint8_t* data, size_t n, std::vector<uint8_t>& buf, size_t& end);

    bool upgraded() const { return upgraded_; }
    // Control bytes to send before anything else (101 response, pong, close); taken by the caller.
    std::vector<uint8_t>& controlOutput() { return control_; }
    // The header of one binary frame carrying `payload_size` bytes of MQTT (server frames are unmasked).
    static size_t frameHeader(uint8_t* out, size_t payload_size);
    const std::string& error() const { return error_; }
    const std::string& path() const { return path_; }

  private:
    Status handshake(std::vector<uint8_t>& buf, size_t& end);
    Status frames(const uint8_t* data, size_t n, std::vector<uint8_t>& buf, size_t& end);
    void control(uint8_t opcode, const uint8_t* data, size_t n);
    Status fail(std::string why, uint16_t code = 1002);

    bool upgraded_ = false;
    bool closing_ = false;
    std::vector<uint8_t> in_;    // bytes not yet consumed: the request head, then a frame header being assembled
    uint64_t payload_left_ = 0;  // of the data frame being received
    uint8_t mask_[4] = {};       // its masking key
    size_t mask_phase_ = 0;      // where in the key its next byte falls
    std::vector<uint8_t> control_;
    std::string error_;
    std::string path_;
};

}  // namespace starling::net
