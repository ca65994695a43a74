#pragma once
// PUBACK, PUBREC, PUBREL and PUBCOMP [MQTT 5.0 sections 3.4-3.7]: one shape, four packet types.
#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct PubAck {
    PacketType type = PacketType::kPuback;  // kPuback, kPubrec, kPubrel or kPubcomp
    uint16_t packet_id = 0;
    ReasonCode reason = ReasonCode::kSuccess;  // v5 only
    Properties properties;                     // v5 only
};

// Refuses: wrong fixed-header flags (PUBREL needs 0b0010) [MQTT-3.6.1-1]; packet id 0; a reason code not
// defined for the type; trailing bytes.
DecodeResult<PubAck> decodePubAck(uint8_t first_byte, ByteSpan body, ProtocolVersion v);
// v5: reason code and properties are omitted when the reason is Success and there are no properties.
void encodePubAck(Bytes& out, const PubAck& a, ProtocolVersion v);

}  // namespace starling::protocol
