// PUBLISH [MQTT 3.1.1 section 3.3, MQTT 5.0 section 3.3]. The hot path: decoding allocates only when
// the packet carries repeatable properties, encoding only when `out` must grow.
#include "protocol/publish.hpp"

#include <cstring>

#include "protocol/codec_internal.hpp"

namespace starling::protocol {

DecodeResult<Publish> decodePublish(uint8_t flags, ByteSpan body, ProtocolVersion v) {
    Publish p;
    p.dup = flags & 0x08;
    p.retain = flags & 0x01;
    const uint8_t qos = (flags >> 1) & 0x03;
    if (qos == 3) return malformed("[MQTT-3.3.1-4] PUBLISH with QoS 3");
    if (p.dup && qos == 0) return malformed("[MQTT-3.3.1-2] DUP set on a QoS 0 PUBLISH");
    p.qos = static_cast<QoS>(qos);

    Reader r(body);
    auto topic = r.utf8();
    if (!topic) return malformed("[MQTT-3.3.2-1] topic name missing or not valid UTF-8");
    p.topic = *topic;
    if (std::memchr(p.topic.data(), '+', p.topic.size()) || std::memchr(p.topic.data(), '#', p.topic.size())) {
        return detail::refuse(ReasonCode::kTopicNameInvalid, "[MQTT-3.3.2-2] wildcard in a PUBLISH topic name");
    }
    if (qos > 0) {
        auto id = r.u16();
        if (!id) return malformed("[MQTT 5.0 3.3.2.2] PUBLISH truncated in packet identifier");
        if (*id == 0) return protocolError("[MQTT-2.3.1-1] [MQTT-2.2.1-3] packet identifier 0 on QoS > 0 PUBLISH");
        p.packet_id = *id;
    }
    if (v == ProtocolVersion::kV5) {
        DecodeError err;
        if (!detail::decodePropertiesInto(r, PropertyContext::kPublish, p.properties, err)) return unexpected(err);
        if (p.topic.empty() && !p.properties.topic_alias) {
            return protocolError("[MQTT 5.0 3.3.2.1] empty topic name without a Topic Alias");
        }
    } else if (p.topic.empty()) {
        return malformed("[MQTT-4.7.3-1] empty topic name");
    }
    auto payload = r.rest();
    p.payload = std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size());
    return p;
}

namespace {

// Writes the fixed header, topic, packet id and property length of a PUBLISH whose property block is
// `props` bytes and whose payload is `payload` bytes; returns the write position after it.
uint8_t* writeHead(uint8_t* w, const Publish& p, bool v5, size_t props, size_t remaining) {
    *w++ = static_cast<uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (static_cast<uint8_t>(p.qos) << 1) | (p.retain ? 1 : 0));
    w += writeVarint(w, static_cast<uint32_t>(remaining));
    const size_t tn = p.topic.size();
    *w++ = static_cast<uint8_t>(tn >> 8);
    *w++ = static_cast<uint8_t>(tn);
    if (tn) std::memcpy(w, p.topic.data(), tn);
    w += tn;
    if (p.qos != QoS::kAtMostOnce) {
        *w++ = static_cast<uint8_t>(p.packet_id >> 8);
        *w++ = static_cast<uint8_t>(p.packet_id);
    }
    if (v5) w += writeVarint(w, static_cast<uint32_t>(props));
    return w;
}

size_t variableHeaderSize(const Publish& p) {
    return 2 + p.topic.size() + (p.qos != QoS::kAtMostOnce ? 2 : 0);
}

}  // namespace

void encodePublish(Bytes& out, const Publish& p, ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    const size_t props = v5 ? propertiesSize(p.properties) : 0;
    const size_t remaining = variableHeaderSize(p) + (v5 ? detail::propertyBlockSize(props) : 0) + p.payload.size();
    const size_t head = 1 + varintSize(static_cast<uint32_t>(remaining)) + variableHeaderSize(p) +
                        (v5 ? varintSize(static_cast<uint32_t>(props)) : 0);
    const size_t start = out.size();
    reserveMore(out, head + props + p.payload.size());
    out.resize(start + head);
    writeHead(out.data() + start, p, v5, props, remaining);
    if (props) encodePropertyList(out, p.properties);
    if (!p.payload.empty()) {
        const size_t at = out.size();
        out.resize(at + p.payload.size());
        std::memcpy(out.data() + at, p.payload.data(), p.payload.size());
    }
}

void encodePublishHeader(Bytes& out, const Publish& p, size_t shared_props_size, size_t payload_size,
                         ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    const size_t own = v5 ? propertiesSize(p.properties) : 0;
    const size_t props = v5 ? own + shared_props_size : 0;
    const size_t remaining = variableHeaderSize(p) + (v5 ? detail::propertyBlockSize(props) : 0) + payload_size;
    const size_t head = 1 + varintSize(static_cast<uint32_t>(remaining)) + variableHeaderSize(p) +
                        (v5 ? varintSize(static_cast<uint32_t>(props)) : 0);
    const size_t start = out.size();
    out.resize(start + head);
    writeHead(out.data() + start, p, v5, props, remaining);
    if (own) encodePropertyList(out, p.properties);
}

}  // namespace starling::protocol
