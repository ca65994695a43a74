#pragma once
// SUBACK [MQTT 3.1.1 section 3.9, MQTT 5.0 section 3.9].
#include <vector>

#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Suback {
    uint16_t packet_id = 0;
    Properties properties;       // v5 only
    std::vector<uint8_t> codes;  // granted QoS 0..2 or a failure code (0x80; v5 reason codes)
};

DecodeResult<Suback> decodeSuback(uint8_t flags, ByteSpan body, ProtocolVersion v);
void encodeSuback(Bytes& out, const Suback& s, ProtocolVersion v);

}  // namespace starling::protocol
