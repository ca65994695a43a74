// CONNACK [MQTT 3.1.1 section 3.2, MQTT 5.0 section 3.2].
#include "protocol/connack.hpp"

#include "protocol/codec_internal.hpp"

namespace starling::protocol {

DecodeResult<Connack> decodeConnack(uint8_t flags, ByteSpan body, ProtocolVersion v) {
    if (flags != 0) return malformed("[MQTT-2.2.2-1] [MQTT-2.1.3-1] CONNACK fixed-header flags must be 0");
    Reader r(body);
    auto ack_flags = r.u8();
    auto code = r.u8();
    if (!code) return malformed("[MQTT 5.0 3.2.2] CONNACK truncated");
    Connack c;
    if (v == ProtocolVersion::kV31) {
        // MQTT 3.1 has no Session Present: the first byte is reserved and unused.
        c.session_present = false;
    } else {
        if (*ack_flags & 0xFE) return malformed("[MQTT-3.2.2-1] CONNACK acknowledge flags bits 7-1 must be 0");
        c.session_present = *ack_flags & 0x01;
    }
    c.code = *code;
    if (v == ProtocolVersion::kV5) {
        if (!reasonCodeAllowed(PacketType::kConnack, static_cast<ReasonCode>(*code))) {
            return protocolError("[MQTT-3.2.2-8] reason code not defined for CONNACK");
        }
        auto props = decodeProperties(r, PropertyContext::kConnack);
        if (!props) return unexpected(props.error());
        c.properties = std::move(*props);
    } else if (*code > static_cast<uint8_t>(ConnackCode311::kNotAuthorized)) {
        return protocolError("[MQTT 3.1.1 3.2.2.3] reserved CONNACK return code");
    }
    if (!r.empty()) return malformed("[MQTT 5.0 3.2] trailing bytes after CONNACK");
    return c;
}

void encodeConnack(Bytes& out, const Connack& c, ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    const size_t props = v5 ? propertiesSize(c.properties) : 0;
    const size_t len = 2 + (v5 ? detail::propertyBlockSize(props) : 0);
    detail::putFixedHeader(out, detail::firstByte(PacketType::kConnack), len);
    putU8(out, c.session_present && v != ProtocolVersion::kV31 ? 1 : 0);
    putU8(out, c.code);
    if (v5) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, c.properties);
    }
}

}  // namespace starling::protocol
