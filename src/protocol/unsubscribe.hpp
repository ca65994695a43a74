#pragma once
// UNSUBSCRIBE [MQTT 3.1.1 section 3.10, MQTT 5.0 section 3.10].
#include <string_view>
#include <vector>

#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Unsubscribe {
    uint16_t packet_id = 0;
    Properties properties;  // v5 only
    std::vector<std::string_view> filters;
};

// Refuses: flags other than 0b0010 [MQTT-3.10.1-1]; packet id 0; no filter [MQTT-3.10.3-2]; invalid filter.
DecodeResult<Unsubscribe> decodeUnsubscribe(uint8_t flags, ByteSpan body, ProtocolVersion v);
void encodeUnsubscribe(Bytes& out, const Unsubscribe& u, ProtocolVersion v);

}  // namespace starling::protocol
