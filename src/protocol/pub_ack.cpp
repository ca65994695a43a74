// PUBACK, PUBREC, PUBREL and PUBCOMP [MQTT 5.0 sections 3.4-3.7]: one shape, four packet types.
#include "protocol/pub_ack.hpp"

#include "protocol/codec_internal.hpp"

namespace starling::protocol {

namespace {

PropertyContext contextOf(PacketType t) {
    switch (t) {
        case PacketType::kPubrec:
            return PropertyContext::kPubrec;
        case PacketType::kPubrel:
            return PropertyContext::kPubrel;
        case PacketType::kPubcomp:
            return PropertyContext::kPubcomp;
        default:
            return PropertyContext::kPuback;
    }
}

// PUBREL's reserved flags are 0010 [MQTT-3.6.1-1]; the others' are 0000.
uint8_t requiredFlags(PacketType t) {
    return t == PacketType::kPubrel ? 0x02 : 0x00;
}

}  // namespace

DecodeResult<PubAck> decodePubAck(uint8_t first_byte, ByteSpan body, ProtocolVersion v) {
    const auto type = static_cast<PacketType>(first_byte >> 4);
    if (type != PacketType::kPuback && type != PacketType::kPubrec && type != PacketType::kPubrel &&
        type != PacketType::kPubcomp) {
        return malformed("[MQTT 5.0 2.1.2] not a PUBACK, PUBREC, PUBREL or PUBCOMP");
    }
    if ((first_byte & 0x0F) != requiredFlags(type)) {
        return malformed("[MQTT-2.2.2-1] [MQTT-3.6.1-1] reserved fixed-header flags of a publish acknowledgement");
    }
    Reader r(body);
    PubAck a;
    a.type = type;
    auto id = r.u16();
    if (!id) return malformed("[MQTT 5.0 3.4.2] acknowledgement truncated in packet identifier");
    if (*id == 0) return protocolError("[MQTT-2.3.1-6] [MQTT-2.2.1-5] packet identifier 0");
    a.packet_id = *id;
    if (v == ProtocolVersion::kV5 && !r.empty()) {
        // The reason code and the property length may be left out [MQTT 5.0 3.4.2.1, 3.4.2.2.1].
        a.reason = static_cast<ReasonCode>(*r.u8());
        if (!reasonCodeAllowed(type, a.reason)) {
            return protocolError("[MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1] undefined reason code");
        }
        if (!r.empty()) {
            auto props = decodeProperties(r, contextOf(type));
            if (!props) return unexpected(props.error());
            a.properties = std::move(*props);
        }
    }
    if (!r.empty()) return malformed("[MQTT 5.0 3.4] trailing bytes after a publish acknowledgement");
    return a;
}

void encodePubAck(Bytes& out, const PubAck& a, ProtocolVersion v) {
    const uint8_t first = detail::firstByte(a.type, requiredFlags(a.type));
    const size_t props = v == ProtocolVersion::kV5 ? propertiesSize(a.properties) : 0;
    if (v != ProtocolVersion::kV5 || (a.reason == ReasonCode::kSuccess && props == 0)) {
        detail::putFixedHeader(out, first, 2);
        putU16(out, a.packet_id);
        return;
    }
    detail::putFixedHeader(out, first, 3 + (props ? detail::propertyBlockSize(props) : 0));
    putU16(out, a.packet_id);
    putU8(out, static_cast<uint8_t>(a.reason));
    if (props) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, a.properties);
    }
}

}  // namespace starling::protocol
