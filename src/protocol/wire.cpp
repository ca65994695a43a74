// MQTT primitive data types [MQTT 5.0 section 1.5]. Every read is bounds-checked.
#include "protocol/wire.hpp"

#include <cstring>

namespace starling::protocol {

size_t writeVarint(uint8_t* p, uint32_t v) {
    size_t n = 0;
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        if (v) b |= 0x80;
        p[n++] = b;
    } while (v);
    return n;
}

void appendVarint(Bytes& out, uint32_t v) {
    uint8_t tmp[4];
    size_t n = writeVarint(tmp, v);
    out.insert(out.end(), tmp, tmp + n);
}

VarintDecode decodeVarint(ByteSpan data) {
    uint32_t value = 0;
    const size_t limit = data.size() < 4 ? data.size() : 4;
    for (size_t i = 0; i < limit; ++i) {
        uint8_t b = data[i];
        value |= uint32_t(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            // A last byte of zero after a continuation adds nothing: a shorter encoding exists
            // [MQTT-1.5.5-1].
            if (b == 0 && i > 0) return {VarintStatus::kMalformed, 0, 0};
            return {VarintStatus::kOk, value, i + 1};
        }
    }
    if (limit == 4) return {VarintStatus::kMalformed, 0, 0};  // a fifth byte is never allowed
    return {VarintStatus::kNeedMore, 0, 0};
}

bool isValidUtf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        // Fast path: eight ASCII bytes at a time, none of them zero.
        while (end - p >= 8) {
            uint64_t w;
            std::memcpy(&w, p, 8);
            const uint64_t has_zero = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
            if ((w & 0x8080808080808080ULL) || has_zero) break;
            p += 8;
        }
        if (p == end) break;
        unsigned char c = *p;
        if (c < 0x80) {
            if (c == 0) return false;  // U+0000 [MQTT-1.5.4-2]
            ++p;
            continue;
        }
        // Ranges of the second byte per lead byte (Unicode table 3-7), which exclude overlong forms,
        // surrogates (ED A0..BF) [MQTT-1.5.4-1] and code points above U+10FFFF.
        unsigned char lo = 0x80, hi = 0xBF;
        size_t len;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (static_cast<size_t>(end - p) < len) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (size_t i = 2; i < len; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
        }
        p += len;
    }
    return true;
}

std::optional<uint8_t> Reader::u8() {
    if (remaining() < 1) return std::nullopt;
    return data_[pos_++];
}

std::optional<uint16_t> Reader::u16() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
}

std::optional<uint32_t> Reader::u32() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = (uint32_t(data_[pos_]) << 24) | (uint32_t(data_[pos_ + 1]) << 16) | (uint32_t(data_[pos_ + 2]) << 8) |
                 uint32_t(data_[pos_ + 3]);
    pos_ += 4;
    return v;
}

std::optional<uint32_t> Reader::varint() {
    auto d = decodeVarint(data_.subspan(pos_));
    if (d.status != VarintStatus::kOk) return std::nullopt;
    pos_ += d.length;
    return d.value;
}

std::optional<std::string_view> Reader::binary() {
    auto len = u16();
    if (!len) return std::nullopt;
    if (remaining() < *len) {
        pos_ -= 2;
        return std::nullopt;
    }
    std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), *len);
    pos_ += *len;
    return s;
}

std::optional<std::string_view> Reader::utf8() {
    size_t start = pos_;
    auto s = binary();
    if (!s) return std::nullopt;
    if (!isValidUtf8(*s)) {
        pos_ = start;
        return std::nullopt;
    }
    return s;
}

std::optional<ByteSpan> Reader::take(size_t n) {
    if (remaining() < n) return std::nullopt;
    ByteSpan s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
}

ByteSpan Reader::rest() {
    ByteSpan s = data_.subspan(pos_);
    pos_ = data_.size();
    return s;
}

}  // namespace starling::protocol
