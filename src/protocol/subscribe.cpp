// SUBSCRIBE [MQTT 3.1.1 section 3.8, MQTT 5.0 section 3.8].
#include "protocol/subscribe.hpp"

#include "protocol/codec_internal.hpp"
#include "protocol/topic.hpp"

namespace starling::protocol {

DecodeResult<Subscribe> decodeSubscribe(uint8_t flags, ByteSpan body, ProtocolVersion v) {
    if (flags != 0x02) return malformed("[MQTT-3.8.1-1] SUBSCRIBE fixed-header flags must be 0010");
    const bool v5 = v == ProtocolVersion::kV5;
    Reader r(body);
    Subscribe s;
    auto id = r.u16();
    if (!id) return malformed("[MQTT 5.0 3.8.2] SUBSCRIBE truncated in packet identifier");
    if (*id == 0) return protocolError("[MQTT-2.3.1-1] [MQTT-2.2.1-3] SUBSCRIBE packet identifier 0");
    s.packet_id = *id;
    if (v5) {
        auto props = decodeProperties(r, PropertyContext::kSubscribe);
        if (!props) return unexpected(props.error());
        s.properties = std::move(*props);
    }
    while (!r.empty()) {
        auto filter = r.utf8();
        if (!filter) return malformed("[MQTT-3.8.3-1] topic filter truncated or not valid UTF-8");
        auto opts = r.u8();
        if (!opts) return malformed("[MQTT 5.0 3.8.3.1] subscription options missing");
        if (!isValidTopicFilter(*filter)) {
            if (v5)
                return detail::refuse(ReasonCode::kTopicFilterInvalid,
                                      "[MQTT-4.7.1-1] [MQTT-4.7.1-2] invalid topic filter");
            return malformed("[MQTT-4.7.1-2] [MQTT-4.7.1-3] invalid topic filter");
        }
        TopicSubscription t;
        t.filter = *filter;
        const uint8_t qos = *opts & 0x03;
        if (qos == 3) return malformed("[MQTT-3.8.3-4] [MQTT-3.8.3-5] subscription QoS 3");
        t.options.qos = static_cast<QoS>(qos);
        if (v5) {
            if (*opts & 0xC0) return malformed("[MQTT-3.8.3-5] reserved subscription option bits set");
            t.options.no_local = *opts & 0x04;
            t.options.retain_as_published = *opts & 0x08;
            t.options.retain_handling = (*opts >> 4) & 0x03;
            if (t.options.retain_handling == 3) return protocolError("[MQTT 5.0 3.8.3.1] Retain Handling 3");
            if (t.options.no_local && t.filter.starts_with("$share/")) {
                return protocolError("[MQTT-3.8.3-4] No Local on a shared subscription");
            }
        } else if (*opts & 0xFC) {
            return malformed("[MQTT-3.8.3-4] reserved subscription option bits set");
        }
        s.topics.push_back(t);
    }
    if (s.topics.empty()) return protocolError("[MQTT-3.8.3-3] [MQTT-3.8.3-2] SUBSCRIBE without a topic filter");
    return s;
}

void encodeSubscribe(Bytes& out, const Subscribe& s, ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    const size_t props = v5 ? propertiesSize(s.properties) : 0;
    size_t len = 2 + (v5 ? detail::propertyBlockSize(props) : 0);
    for (const auto& t : s.topics)
        len += 2 + t.filter.size() + 1;
    detail::putFixedHeader(out, detail::firstByte(PacketType::kSubscribe, 0x02), len);
    putU16(out, s.packet_id);
    if (v5) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, s.properties);
    }
    for (const auto& t : s.topics) {
        putString(out, t.filter);
        uint8_t opts = static_cast<uint8_t>(t.options.qos);
        if (v5) {
            if (t.options.no_local) opts |= 0x04;
            if (t.options.retain_as_published) opts |= 0x08;
            opts |= static_cast<uint8_t>((t.options.retain_handling & 0x03) << 4);
        }
        putU8(out, opts);
    }
}

}  // namespace starling::protocol
