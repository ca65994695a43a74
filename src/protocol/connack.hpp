#pragma once
// CONNACK [MQTT 3.1.1 section 3.2, MQTT 5.0 section 3.2].
#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Connack {
    bool session_present = false;
    // ConnackCode311 before v5, ReasonCode in v5.
    uint8_t code = 0;
    Properties properties;  // v5 only
};

DecodeResult<Connack> decodeConnack(uint8_t flags, ByteSpan body, ProtocolVersion v);
void encodeConnack(Bytes& out, const Connack& c, ProtocolVersion v);

}  // namespace starling::protocol
