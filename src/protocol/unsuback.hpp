#pragma once
// UNSUBACK [MQTT 3.1.1 section 3.11, MQTT 5.0 section 3.11].
#include <vector>

#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Unsuback {
    uint16_t packet_id = 0;
    Properties properties;       // v5 only
    std::vector<uint8_t> codes;  // v5 only: one reason code per filter
};

DecodeResult<Unsuback> decodeUnsuback(uint8_t flags, ByteSpan body, ProtocolVersion v);
void encodeUnsuback(Bytes& out, const Unsuback& u, ProtocolVersion v);

}  // namespace starling::protocol
