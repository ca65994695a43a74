// Incremental frame splitter [MQTT 5.0 section 2.1].
#include "protocol/frame.hpp"

namespace starling::protocol {

namespace {

SplitResult fail(ReasonCode reason, const char* rule) {
    SplitResult r;
    r.status = SplitStatus::kError;
    r.error = DecodeError{reason, rule};
    return r;
}

}  // namespace

SplitResult FrameSplitter::next(ByteSpan data) const {
    SplitResult r;
    if (data.empty()) return r;
    const uint8_t first = data[0];
    if ((first >> 4) == 0) return fail(ReasonCode::kMalformedPacket, "[MQTT 5.0 2.1.2] reserved packet type 0");

    // Remaining length: read it here rather than with decodeVarint so that a partial length already
    // known to exceed the maximum is refused at once.
    uint32_t value = 0;
    const size_t avail = data.size() - 1;
    for (size_t i = 0; i < 4; ++i) {
        if (i >= avail) {
            // The bytes so far had the continuation bit; the packet is at least this long.
            uint64_t min_body = uint64_t(value) + (uint64_t(1) << (7 * i));
            if (i > 0 && 1 + (i + 1) + min_body > max_packet_size_) {
                return fail(ReasonCode::kPacketTooLarge, "[MQTT 5.0 3.1.2.11.4] packet exceeds Maximum Packet Size");
            }
            return r;  // header incomplete: needed stays 0
        }
        const uint8_t b = data[1 + i];
        value |= uint32_t(b & 0x7F) << (7 * i);
        if (b & 0x80) continue;
        if (b == 0 && i > 0) return fail(ReasonCode::kMalformedPacket, "[MQTT-1.5.5-1] non-minimal remaining length");
        const uint64_t total = 1 + (i + 1) + uint64_t(value);
        if (total > max_packet_size_) {
            return fail(ReasonCode::kPacketTooLarge, "[MQTT 5.0 3.1.2.11.4] packet exceeds Maximum Packet Size");
        }
        if (data.size() < total) {
            r.needed = static_cast<size_t>(total);
            return r;
        }
        r.status = SplitStatus::kFrame;
        r.frame.first_byte = first;
        r.frame.body = data.subspan(1 + i + 1, value);
        r.frame.size = static_cast<size_t>(total);
        return r;
    }
    return fail(ReasonCode::kMalformedPacket, "[MQTT 5.0 1.5.5] remaining length longer than 4 bytes");
}

}  // namespace starling::protocol
