#pragma once
// Shared by the codec fuzz targets: version selection and the re-encode/decode consistency check.
// A violated invariant aborts, which libFuzzer reports as a crash.
#include <cstdio>
#include <cstdlib>

#include "protocol/packet.hpp"

namespace starling::protocol::fuzz {

inline ProtocolVersion versionFrom(uint8_t b) {
    switch (b % 3) {
        case 0:
            return ProtocolVersion::kV31;
        case 1:
            return ProtocolVersion::kV311;
        default:
            return ProtocolVersion::kV5;
    }
}

[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}

inline DecodeResult<Packet> decodeWhole(const Bytes& bytes, ProtocolVersion v) {
    FrameSplitter splitter;  // default limit: anything an encoder can produce
    SplitResult r = splitter.next(ByteSpan(bytes.data(), bytes.size()));
    if (r.status != SplitStatus::kFrame) fail("encoder output is not one frame");
    if (r.frame.size != bytes.size()) fail("encoder output is longer than its frame");
    return decodePacket(r.frame, v);
}

// What decoded must encode to bytes that decode again, and encoding that must give the same bytes: the
// encoder writes only what the decoder accepts, and decode/encode lose nothing.
inline void checkRoundTrip(const Packet& p, ProtocolVersion v) {
    Bytes first;
    encodePacket(first, p, v);
    auto again = decodeWhole(first, v);
    if (!again) {
        std::fprintf(stderr, "re-encoded packet refused: %s\n", again.error().rule);
        fail("re-encoded packet refused");
    }
    if (again->index() != p.index()) fail("re-encoded packet decodes as another type");
    Bytes second;
    encodePacket(second, *again, v);
    if (first != second) fail("encode(decode(encode(p))) differs from encode(p)");
}

}  // namespace starling::protocol::fuzz
