// UNSUBACK [MQTT 3.1.1 section 3.11, MQTT 5.0 section 3.11].
#include "protocol/unsuback.hpp"

#include "protocol/codec_internal.hpp"

namespace starling::protocol {

DecodeResult<Unsuback> decodeUnsuback(uint8_t flags, ByteSpan body, ProtocolVersion v) {
    if (flags != 0) return malformed("[MQTT-2.2.2-1] [MQTT-2.1.3-1] UNSUBACK fixed-header flags must be 0");
    Reader r(body);
    Unsuback u;
    auto id = r.u16();
    if (!id) return malformed("[MQTT 5.0 3.11.2] UNSUBACK truncated in packet identifier");
    if (*id == 0) return protocolError("[MQTT-2.3.1-7] [MQTT-2.2.1-6] UNSUBACK packet identifier 0");
    u.packet_id = *id;
    if (v != ProtocolVersion::kV5) {
        if (!r.empty()) return malformed("[MQTT 3.1.1 3.11.1] UNSUBACK remaining length must be 2");
        return u;
    }
    auto props = decodeProperties(r, PropertyContext::kUnsuback);
    if (!props) return unexpected(props.error());
    u.properties = std::move(*props);
    ByteSpan codes = r.rest();
    if (codes.empty()) return protocolError("[MQTT-3.11.3-1] UNSUBACK without a reason code");
    for (uint8_t c : codes) {
        if (!reasonCodeAllowed(PacketType::kUnsuback, static_cast<ReasonCode>(c))) {
            return protocolError("[MQTT-3.11.3-2] UNSUBACK reason code not defined");
        }
    }
    u.codes.assign(codes.begin(), codes.end());
    return u;
}

void encodeUnsuback(Bytes& out, const Unsuback& u, ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    const size_t props = v5 ? propertiesSize(u.properties) : 0;
    const size_t len = 2 + (v5 ? detail::propertyBlockSize(props) + u.codes.size() : 0);
    detail::putFixedHeader(out, detail::firstByte(PacketType::kUnsuback), len);
    putU16(out, u.packet_id);
    if (v5) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, u.properties);
        out.insert(out.end(), u.codes.begin(), u.codes.end());
    }
}

}  // namespace starling::protocol
