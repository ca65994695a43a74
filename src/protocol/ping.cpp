// PINGREQ and PINGRESP [MQTT 5.0 sections 3.12, 3.13]: a fixed header and nothing else.
#include "protocol/ping.hpp"

namespace starling::protocol {

DecodeResult<Pingreq> decodePingreq(uint8_t flags, ByteSpan body) {
    if (flags != 0) return malformed("[MQTT-2.2.2-1] [MQTT-2.1.3-1] PINGREQ fixed-header flags must be 0");
    if (!body.empty()) return malformed("[MQTT 5.0 3.12] PINGREQ has no variable header or payload");
    return Pingreq{};
}

DecodeResult<Pingresp> decodePingresp(uint8_t flags, ByteSpan body) {
    if (flags != 0) return malformed("[MQTT-2.2.2-1] [MQTT-2.1.3-1] PINGRESP fixed-header flags must be 0");
    if (!body.empty()) return malformed("[MQTT 5.0 3.13] PINGRESP has no variable header or payload");
    return Pingresp{};
}

void encodePingreq(Bytes& out) {
    out.push_back(0xC0);
    out.push_back(0x00);
}

void encodePingresp(Bytes& out) {
    out.push_back(0xD0);
    out.push_back(0x00);
}

}  // namespace starling::protocol
