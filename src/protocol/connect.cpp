// CONNECT [MQTT 3.1.1 section 3.1, MQTT 5.0 section 3.1], MQTT 3.1 ("MQIsdp", level 3) included.
#include "protocol/connect.hpp"

#include "protocol/codec_internal.hpp"
#include "protocol/topic.hpp"

namespace starling::protocol {

using detail::refuse;

namespace {

constexpr uint8_t kFlagReserved = 0x01;
constexpr uint8_t kFlagCleanStart = 0x02;
constexpr uint8_t kFlagWill = 0x04;
constexpr uint8_t kFlagWillRetain = 0x20;
constexpr uint8_t kFlagPassword = 0x40;
constexpr uint8_t kFlagUserName = 0x80;

std::string_view protocolName(ProtocolVersion v) {
    return v == ProtocolVersion::kV31 ? "MQIsdp" : "MQTT";
}

}  // namespace

DecodeResult<Connect> decodeConnect(uint8_t flags, ByteSpan body) {
    if (flags != 0) return malformed("[MQTT-2.2.2-1] [MQTT-2.1.3-1] CONNECT fixed-header flags must be 0");
    Reader r(body);
    auto name = r.utf8();
    if (!name) return malformed("[MQTT-3.1.2-1] protocol name missing or not UTF-8");
    auto level = r.u8();
    if (!level) return malformed("[MQTT-3.1.4-1] CONNECT truncated in protocol level");

    Connect c;
    if (*name == "MQTT") {
        if (*level != 4 && *level != 5) {
            return refuse(ReasonCode::kUnsupportedProtocolVersion, "[MQTT-3.1.2-2] unsupported protocol level");
        }
    } else if (*name == "MQIsdp") {
        if (*level != 3) {
            return refuse(ReasonCode::kUnsupportedProtocolVersion, "[MQTT-3.1.2-2] unsupported protocol level");
        }
    } else {
        return protocolError("[MQTT-3.1.2-1] protocol name is neither MQTT nor MQIsdp");
    }
    c.version = static_cast<ProtocolVersion>(*level);
    const bool v5 = c.version == ProtocolVersion::kV5;

    auto cf = r.u8();
    if (!cf) return malformed("[MQTT-3.1.4-1] CONNECT truncated in connect flags");
    if (*cf & kFlagReserved) return malformed("[MQTT-3.1.2-3] CONNECT reserved flag is set");
    const bool will = *cf & kFlagWill;
    const uint8_t will_qos = (*cf >> 3) & 0x03;
    const bool will_retain = *cf & kFlagWillRetain;
    const bool has_password = *cf & kFlagPassword;
    const bool has_user = *cf & kFlagUserName;
    if (!will && will_qos != 0) return malformed("[MQTT-3.1.2-11] [MQTT-3.1.2-13] Will QoS set without Will Flag");
    if (!will && will_retain) return malformed("[MQTT-3.1.2-13] [MQTT-3.1.2-15] Will Retain set without Will Flag");
    if (will_qos == 3) return malformed("[MQTT-3.1.2-12] [MQTT-3.1.2-14] Will QoS 3");
    if (!v5 && has_password && !has_user) return malformed("[MQTT-3.1.2-22] password without user name");
    c.clean_start = *cf & kFlagCleanStart;

    auto keep_alive = r.u16();
    if (!keep_alive) return malformed("[MQTT-3.1.4-1] CONNECT truncated in keep alive");
    c.keep_alive = *keep_alive;

    if (v5) {
        auto props = decodeProperties(r, PropertyContext::kConnect);
        if (!props) return unexpected(props.error());
        c.properties = std::move(*props);
        if (c.properties.authentication_data && !c.properties.authentication_method) {
            return protocolError("[MQTT 5.0 3.1.2.11.10] Authentication Data without Authentication Method");
        }
    }

    auto client_id = r.utf8();
    if (!client_id) return malformed("[MQTT-3.1.3-3] [MQTT-3.1.3-4] client identifier missing or not UTF-8");
    c.client_id = *client_id;

    if (will) {
        Will w;
        w.qos = static_cast<QoS>(will_qos);
        w.retain = will_retain;
        if (v5) {
            auto props = decodeProperties(r, PropertyContext::kWill);
            if (!props) return unexpected(props.error());
            w.properties = std::move(*props);
        }
        auto topic = r.utf8();
        if (!topic) return malformed("[MQTT-3.1.3-10] [MQTT-3.1.3-11] will topic missing or not UTF-8");
        if (!isValidTopicName(*topic)) {
            return refuse(ReasonCode::kTopicNameInvalid,
                          "[MQTT-3.3.2-2] [MQTT-4.7.3-1] will topic is not a topic name");
        }
        w.topic = *topic;
        auto payload = r.binary();
        if (!payload) return malformed("[MQTT-3.1.2-9] will payload missing");
        w.payload = *payload;
        c.will = std::move(w);
    }
    if (has_user) {
        auto user = r.utf8();
        if (!user) return malformed("[MQTT-3.1.2-17] [MQTT-3.1.3-11] user name missing or not UTF-8");
        c.username = *user;
    }
    if (has_password) {
        auto password = r.binary();
        if (!password) return malformed("[MQTT-3.1.2-19] [MQTT-3.1.2-21] password missing");
        c.password = *password;
    }
    if (!r.empty()) return malformed("[MQTT-3.1.4-1] trailing bytes after CONNECT payload");
    return c;
}

void encodeConnect(Bytes& out, const Connect& c) {
    const bool v5 = c.version == ProtocolVersion::kV5;
    const std::string_view name = protocolName(c.version);

    uint8_t cf = 0;
    if (c.clean_start) cf |= kFlagCleanStart;
    if (c.will) {
        cf |= kFlagWill;
        cf |= static_cast<uint8_t>(static_cast<uint8_t>(c.will->qos) << 3);
        if (c.will->retain) cf |= kFlagWillRetain;
    }
    if (c.username) cf |= kFlagUserName;
    if (c.password) cf |= kFlagPassword;

    size_t props = v5 ? propertiesSize(c.properties) : 0;
    size_t will_props = v5 && c.will ? propertiesSize(c.will->properties) : 0;
    size_t len = 2 + name.size() + 1 + 1 + 2;
    if (v5) len += detail::propertyBlockSize(props);
    len += 2 + c.client_id.size();
    if (c.will) {
        if (v5) len += detail::propertyBlockSize(will_props);
        len += 2 + c.will->topic.size() + 2 + c.will->payload.size();
    }
    if (c.username) len += 2 + c.username->size();
    if (c.password) len += 2 + c.password->size();

    detail::putFixedHeader(out, detail::firstByte(PacketType::kConnect), len);
    putString(out, name);
    putU8(out, static_cast<uint8_t>(c.version));
    putU8(out, cf);
    putU16(out, c.keep_alive);
    if (v5) {
        appendVarint(out, static_cast<uint32_t>(props));
        encodePropertyList(out, c.properties);
    }
    putString(out, c.client_id);
    if (c.will) {
        if (v5) {
            appendVarint(out, static_cast<uint32_t>(will_props));
            encodePropertyList(out, c.will->properties);
        }
        putString(out, c.will->topic);
        putString(out, c.will->payload);
    }
    if (c.username) putString(out, *c.username);
    if (c.password) putString(out, *c.password);
}

}  // namespace starling::protocol
