#pragma once
// Incremental frame splitter: finds complete MQTT control packets in a byte stream that may be split at
// any point. Reads the fixed header and remaining length [MQTT 5.0 section 2.1] and refuses a packet
// larger than the configured maximum as soon as its length is known, before its body is buffered.
// Stateless between calls (the caller keeps the unconsumed bytes); any thread.
#include <cstdint>

#include "protocol/types.hpp"
#include "protocol/wire.hpp"

namespace starling::protocol {

struct Frame {
    uint8_t first_byte = 0;  // packet type (high nibble) and flags (low nibble)
    ByteSpan body;           // variable header and payload: `remaining length` bytes
    size_t size = 0;         // whole packet: fixed header + body

    PacketType type() const { return static_cast<PacketType>(first_byte >> 4); }
    uint8_t flags() const { return first_byte & 0x0F; }
};

enum class SplitStatus { kFrame, kNeedMore, kError };

struct SplitResult {
    SplitStatus status = SplitStatus::kNeedMore;
    Frame frame;          // valid when kFrame; views into the input
    size_t needed = 0;    // kNeedMore: total bytes the packet needs when known (0 = header incomplete)
    DecodeError error{};  // kError: malformed remaining length, packet type 0, or packet too large (0x95)
};

class FrameSplitter {
  public:
    // `max_packet_size` bounds the whole packet (fixed header included), as MQTT 5's Maximum Packet Size.
    explicit FrameSplitter(uint32_t max_packet_size = kMaxVarint + 5) : max_packet_size_(max_packet_size) {}

    void setMaxPacketSize(uint32_t n) { max_packet_size_ = n; }
    uint32_t maxPacketSize() const { return max_packet_size_; }

    // Looks at the start of `data`: a complete frame (consume frame.size bytes), more bytes needed, or an
    // error after which the connection must be closed.
    SplitResult next(ByteSpan data) const;

  private:
    uint32_t max_packet_size_;
};

}  // namespace starling::protocol
