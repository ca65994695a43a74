#pragma once
// Helpers for the codec tests: building wire bytes by hand, splitting one frame, checking refusals.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "protocol/packet.hpp"

namespace starling::protocol::test {

inline constexpr ProtocolVersion kAllVersions[] = {ProtocolVersion::kV31, ProtocolVersion::kV311, ProtocolVersion::kV5};

// Bytes from a list of values and strings: wire({0x10, 0x0F}) + str("MQTT").
inline Bytes wire(std::initializer_list<int> v) {
    Bytes b;
    for (int x : v)
        b.push_back(static_cast<uint8_t>(x));
    return b;
}
inline Bytes str(std::string_view s) {
    return Bytes(s.begin(), s.end());
}
inline Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}
inline ByteSpan span(const Bytes& b) {
    return ByteSpan(b.data(), b.size());
}

inline std::string hex(const Bytes& b) {
    static const char* digits = "0123456789ABCDEF";
    std::string s;
    for (uint8_t c : b) {
        if (!s.empty()) s += ' ';
        s += digits[c >> 4];
        s += digits[c & 15];
    }
    return s;
}

// Splits `bytes` as exactly one frame and decodes it.
inline DecodeResult<Packet> decodeWire(const Bytes& bytes, ProtocolVersion v) {
    FrameSplitter splitter;
    SplitResult r = splitter.next(span(bytes));
    if (r.status != SplitStatus::kFrame) {
        ADD_FAILURE() << "not one frame: " << hex(bytes);
        return malformed("test: not a frame");
    }
    EXPECT_EQ(r.frame.size, bytes.size()) << "extra bytes after the frame";
    return decodePacket(r.frame, v);
}

template <class T>
Bytes encoded(const T& p, ProtocolVersion v) {
    Bytes out;
    encodePacket(out, Packet(p), v);
    return out;
}

// Decodes `bytes` and returns the packet of type T (test failure when refused or of another type).
template <class T>
T decodedAs(const Bytes& bytes, ProtocolVersion v) {
    auto r = decodeWire(bytes, v);
    if (!r) {
        ADD_FAILURE() << "refused: " << r.error().rule << " in " << hex(bytes);
        return T{};
    }
    if (!std::holds_alternative<T>(*r)) {
        ADD_FAILURE() << "decoded as another packet type";
        return T{};
    }
    return std::get<T>(std::move(r).value());
}

// Expects `bytes` to be refused with `reason`.
inline void expectRefused(const Bytes& bytes, ProtocolVersion v, ReasonCode reason) {
    auto r = decodeWire(bytes, v);
    ASSERT_FALSE(r.ok()) << "accepted: " << hex(bytes);
    EXPECT_EQ(static_cast<int>(r.error().reason), static_cast<int>(reason)) << r.error().rule;
    EXPECT_NE(r.error().rule, nullptr);
}

inline std::string versionName(const ::testing::TestParamInfo<ProtocolVersion>& info) {
    switch (info.param) {
        case ProtocolVersion::kV31:
            return "v31";
        case ProtocolVersion::kV311:
            return "v311";
        case ProtocolVersion::kV5:
            return "v5";
    }
    return "unknown";
}

}  // namespace starling::protocol::test
