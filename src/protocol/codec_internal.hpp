#pragma once
// Internal to the codec (not for other modules): writing the fixed header [MQTT 5.0 section 2.1], size
// helpers the encoders share, and property decoding in place for the decoders. Pure; any thread.
#include <cstdint>

#include "protocol/properties.hpp"
#include "protocol/types.hpp"
#include "protocol/wire.hpp"

namespace starling::protocol::detail {

// Reserves room for the whole packet and appends its fixed header.
inline void putFixedHeader(Bytes& out, uint8_t first_byte, size_t remaining) {
    const auto len = static_cast<uint32_t>(remaining);
    reserveMore(out, 1 + varintSize(len) + remaining);
    out.push_back(first_byte);
    appendVarint(out, len);
}

// Bytes a property block takes with its length prefix.
inline size_t propertyBlockSize(size_t props) {
    return varintSize(static_cast<uint32_t>(props)) + props;
}

// A refusal with a reason other than malformed packet or protocol error.
inline Unexpected<DecodeError> refuse(ReasonCode reason, const char* rule) {
    return {DecodeError{reason, rule}};
}

// decodeProperties writing straight into `out` (which must be empty), so that the PUBLISH hot path does
// not construct and move a second Properties. Returns false and sets `err` on refusal.
bool decodePropertiesInto(Reader& r, PropertyContext ctx, Properties& out, DecodeError& err);

inline uint8_t firstByte(PacketType t, uint8_t flags = 0) {
    return static_cast<uint8_t>((static_cast<uint8_t>(t) << 4) | flags);
}

}  // namespace starling::protocol::detail
