// UNSUBSCRIBE [MQTT 3.1.1 section 3.10, MQTT 5.0 section 3.10].
#include "protocol/unsubscribe.hpp"

#include "protocol/codec_internal.hpp"
#include "protocol/topic.hpp"

namespace starling::protocol {

DecodeResult<Unsubscribe> decodeUnsubscribe(uint8_t flags, ByteSpan body, ProtocolVersion v) {
    if (flags != 0x02) return malformed("[MQTT-3.10.1-1] UNSUBSCRIBE fixed-header flags must be 0010");
    const bool v5 = v == ProtocolVersion::kV5;
    Reader r(body);
    Unsubscribe u;
    auto id = r.u16();
    if (!id) return malformed("[MQTT 5.0 3.10.2] UNSUBSCRIBE truncated in packet identifier");
    if (*id == 0) return protocolError("[MQTT-2.3.1-1] [MQTT-2.2.1-3] UNSUBSCRIBE packet identifier 0");
    u.packet_id = *id;
    if (v5) {
        auto props = decodeProperties(r, PropertyContext::kUnsubscribe);
        if (!props) return unexpected(props.error());
        u.properties = std::move(*props);
    }
    while (!r.empty()) {
        auto filter = r.utf8();
        if (!filter) return malformed("[MQTT-3.10.3-1] topic filter truncated or not valid UTF-8");
        if (!isValidTopicFilter(*filter)) {
            if (v5)
                return detail::refuse(ReasonCode::kTopicFilterInvalid,
                                      "[MQTT-4.7.1-1] [MQTT-4.7.1-2] invalid topic filter");
            return malformed("[MQTT-4.7.1-2] [MQTT-4.7.1-3] invalid topic filter");
        }
        u.filters.push_back(*filter);
    }
    if (u.filters.empty()) return protocolError("[MQTT-3.10.3-2] UNSUBSCRIBE without a topic filter");
    return u;
}

void encodeUnsubscribe(Bytes& out, const Unsubscribe& u, ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    const size_t props = v5 ? propertiesSize(u.properties) : 0;
    size_t len = 2 + (v5 ? detail::propertyBlockSize(props) : 0);
    for (auto f : u.filters)
        len += 2 + f.size();
    detail::putFixedHeader(out, detail::firstByte(PacketType::kUnsubscribe, 0x02), len);
    putU16(out, u.packet_id);
    if (v5) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, u.properties);
    }
    for (auto f : u.filters)
        putString(out, f);
}

}  // namespace starling::protocol
