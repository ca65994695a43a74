// AUTH [MQTT 5.0 section 3.15]: MQTT 5 only (decodePacket refuses it on older connections).
#include "protocol/auth.hpp"

#include "protocol/codec_internal.hpp"

namespace starling::protocol {

DecodeResult<Auth> decodeAuth(uint8_t flags, ByteSpan body) {
    if (flags != 0) return malformed("[MQTT-3.15.1-1] AUTH reserved flags must be 0");
    Auth a;
    // Reason code and properties may be left out when the reason is Success [MQTT 5.0 3.15.2.1].
    Reader r(body);
    if (r.empty()) return a;
    a.reason = static_cast<ReasonCode>(*r.u8());
    if (!reasonCodeAllowed(PacketType::kAuth, a.reason)) {
        return protocolError("[MQTT-3.15.2-1] AUTH reason code not defined");
    }
    if (!r.empty()) {
        auto props = decodeProperties(r, PropertyContext::kAuth);
        if (!props) return unexpected(props.error());
        a.properties = std::move(*props);
    }
    if (!r.empty()) return malformed("[MQTT 5.0 3.15] trailing bytes after AUTH");
    return a;
}

void encodeAuth(Bytes& out, const Auth& a) {
    const uint8_t first = detail::firstByte(PacketType::kAuth);
    const size_t props = propertiesSize(a.properties);
    if (a.reason == ReasonCode::kSuccess && props == 0) {
        detail::putFixedHeader(out, first, 0);
        return;
    }
    // Unlike PUBACK and DISCONNECT, AUTH has no short form with a reason code alone: the property
    // length always follows it [MQTT 5.0 3.15.2.2.1].
    detail::putFixedHeader(out, first, 1 + detail::propertyBlockSize(props));
    putU8(out, static_cast<uint8_t>(a.reason));
    appendVarint(out, static_cast<uint32_t>(props));
    encodePropertyList(out, a.properties);
}

}  // namespace starling::protocol
