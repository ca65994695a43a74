#pragma once
// Reading and writing MQTT's primitive data types [MQTT 5.0 section 1.5]: big-endian integers, variable
// byte integers, length-prefixed UTF-8 strings and binary data. Pure; a Reader never reads past its span.
#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/types.hpp"

namespace starling::protocol {

// Largest value a variable byte integer can hold (4 bytes) [MQTT-1.5.5].
inline constexpr uint32_t kMaxVarint = 268'435'455;

// Number of bytes the variable byte integer encoding of `v` takes (1..4).
constexpr size_t varintSize(uint32_t v) {
    return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

// Appends the minimal encoding of `v` (v <= kMaxVarint).
void appendVarint(Bytes& out, uint32_t v);
// Writes the minimal encoding of `v` at `p`; returns bytes written.
size_t writeVarint(uint8_t* p, uint32_t v);

enum class VarintStatus { kOk, kNeedMore, kMalformed };
struct VarintDecode {
    VarintStatus status;
    uint32_t value;
    size_t length;  // bytes consumed when kOk
};
// Decodes a variable byte integer at the start of `data`. Refuses more than 4 bytes and non-minimal
// encodings [MQTT-1.5.5-1].
VarintDecode decodeVarint(ByteSpan data);

// UTF-8 well-formedness as MQTT requires: no ill-formed sequences, no surrogates (U+D800..U+DFFF),
// no U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]. U+FEFF is kept, never stripped [MQTT-1.5.4-3].
bool isValidUtf8(std::string_view s);

// Cursor over a packet body. Every read checks bounds; a failed read returns nullopt / false.
class Reader {
  public:
    explicit Reader(ByteSpan data) : data_(data) {}

    size_t remaining() const { return data_.size() - pos_; }
    bool empty() const { return pos_ == data_.size(); }
    size_t position() const { return pos_; }

    std::optional<uint8_t> u8();
    std::optional<uint16_t> u16();
    std::optional<uint32_t> u32();
    // Variable byte integer; nullopt when truncated, over 4 bytes or not minimal.
    std::optional<uint32_t> varint();
    // Two-byte length then that many bytes, not validated as UTF-8.
    std::optional<std::string_view> binary();
    // Two-byte length then UTF-8 validated with isValidUtf8.
    std::optional<std::string_view> utf8();
    // The next `n` bytes.
    std::optional<ByteSpan> take(size_t n);
    // Everything left.
    ByteSpan rest();

  private:
    ByteSpan data_;
    size_t pos_ = 0;
};

// Appending writers for encoders.
inline void putU8(Bytes& out, uint8_t v) {
    out.push_back(v);
}
inline void putU16(Bytes& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
inline void putU32(Bytes& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<uint8_t>(v >> shift));
}
inline void putBytes(Bytes& out, std::string_view s) {
    out.insert(out.end(), s.begin(), s.end());
}
// Two-byte length prefix then the bytes (strings and binary data share this encoding).
inline void putString(Bytes& out, std::string_view s) {
    putU16(out, static_cast<uint16_t>(s.size()));
    putBytes(out, s);
}

// Makes room for `extra` more bytes, growing geometrically: encoders append packet after packet to one
// buffer, and reserving exactly each time would copy the whole buffer on every packet.
inline void reserveMore(Bytes& out, size_t extra) {
    size_t need = out.size() + extra;
    if (need > out.capacity()) out.reserve(need > 2 * out.capacity() ? need : 2 * out.capacity());
}

}  // namespace starling::protocol
