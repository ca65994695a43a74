#pragma once
// DISCONNECT [MQTT 3.1.1 section 3.14, MQTT 5.0 section 3.14].
#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Disconnect {
    ReasonCode reason = ReasonCode::kNormalDisconnection;  // v5 only
    Properties properties;                                 // v5 only
};

DecodeResult<Disconnect> decodeDisconnect(uint8_t flags, ByteSpan body, ProtocolVersion v);
// v5: reason and properties omitted when Normal disconnection without properties.
void encodeDisconnect(Bytes& out, const Disconnect& d, ProtocolVersion v);

}  // namespace starling::protocol
