// DISCONNECT [MQTT 3.1.1 section 3.14, MQTT 5.0 section 3.14].
#include "protocol/disconnect.hpp"

#include "protocol/codec_internal.hpp"

namespace starling::protocol {

DecodeResult<Disconnect> decodeDisconnect(uint8_t flags, ByteSpan body, ProtocolVersion v) {
    if (flags != 0) return malformed("[MQTT-3.14.1-1] DISCONNECT reserved flags must be 0");
    Disconnect d;
    if (v != ProtocolVersion::kV5) {
        if (!body.empty()) return malformed("[MQTT 3.1.1 3.14] DISCONNECT has no variable header");
        return d;
    }
    // The reason code and property length may be left out [MQTT 5.0 3.14.2.1, 3.14.2.2.1].
    Reader r(body);
    if (r.empty()) return d;
    d.reason = static_cast<ReasonCode>(*r.u8());
    if (!reasonCodeAllowed(PacketType::kDisconnect, d.reason)) {
        return protocolError("[MQTT-3.14.2-1] DISCONNECT reason code not defined");
    }
    if (!r.empty()) {
        auto props = decodeProperties(r, PropertyContext::kDisconnect);
        if (!props) return unexpected(props.error());
        d.properties = std::move(*props);
    }
    if (!r.empty()) return malformed("[MQTT 5.0 3.14] trailing bytes after DISCONNECT");
    return d;
}

void encodeDisconnect(Bytes& out, const Disconnect& d, ProtocolVersion v) {
    const uint8_t first = detail::firstByte(PacketType::kDisconnect);
    const size_t props = v == ProtocolVersion::kV5 ? propertiesSize(d.properties) : 0;
    if (v != ProtocolVersion::kV5 || (d.reason == ReasonCode::kNormalDisconnection && props == 0)) {
        detail::putFixedHeader(out, first, 0);
        return;
    }
    detail::putFixedHeader(out, first, 1 + (props ? detail::propertyBlockSize(props) : 0));
    putU8(out, static_cast<uint8_t>(d.reason));
    if (props) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, d.properties);
    }
}

}  // namespace starling::protocol
