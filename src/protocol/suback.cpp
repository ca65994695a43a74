// SUBACK [MQTT 3.1.1 section 3.9, MQTT 5.0 section 3.9].
#include "protocol/suback.hpp"

#include "protocol/codec_internal.hpp"

namespace starling::protocol {

DecodeResult<Suback> decodeSuback(uint8_t flags, ByteSpan body, ProtocolVersion v) {
    if (flags != 0) return malformed("[MQTT-2.2.2-1] [MQTT-2.1.3-1] SUBACK fixed-header flags must be 0");
    const bool v5 = v == ProtocolVersion::kV5;
    Reader r(body);
    Suback s;
    auto id = r.u16();
    if (!id) return malformed("[MQTT 5.0 3.9.2] SUBACK truncated in packet identifier");
    if (*id == 0) return protocolError("[MQTT-2.3.1-7] [MQTT-2.2.1-6] SUBACK packet identifier 0");
    s.packet_id = *id;
    if (v5) {
        auto props = decodeProperties(r, PropertyContext::kSuback);
        if (!props) return unexpected(props.error());
        s.properties = std::move(*props);
    }
    ByteSpan codes = r.rest();
    if (codes.empty()) return protocolError("[MQTT-3.8.4-6] [MQTT-3.8.4-5] SUBACK without a reason code");
    for (uint8_t c : codes) {
        const bool ok = v5 ? reasonCodeAllowed(PacketType::kSuback, static_cast<ReasonCode>(c)) : (c <= 2 || c == 0x80);
        if (!ok) return protocolError("[MQTT-3.9.3-2] SUBACK code not defined");
    }
    s.codes.assign(codes.begin(), codes.end());
    return s;
}

void encodeSuback(Bytes& out, const Suback& s, ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    const size_t props = v5 ? propertiesSize(s.properties) : 0;
    const size_t len = 2 + (v5 ? detail::propertyBlockSize(props) : 0) + s.codes.size();
    detail::putFixedHeader(out, detail::firstByte(PacketType::kSuback), len);
    putU16(out, s.packet_id);
    if (v5) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, s.properties);
    }
    out.insert(out.end(), s.codes.begin(), s.codes.end());
}

}  // namespace starling::protocol
