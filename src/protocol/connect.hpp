#pragma once
// CONNECT [MQTT 3.1.1 section 3.1, MQTT 5.0 section 3.1], MQTT 3.1 ("MQIsdp", level 3) included.
#include <optional>
#include <string_view>

#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Will {
    std::string_view topic;
    std::string_view payload;
    QoS qos = QoS::kAtMostOnce;
    bool retain = false;
    Properties properties;  // v5 will properties
};

struct Connect {
    ProtocolVersion version = ProtocolVersion::kV311;
    bool clean_start = true;  // "clean session" before v5
    uint16_t keep_alive = 60;
    std::string_view client_id;
    std::optional<Will> will;
    std::optional<std::string_view> username;
    std::optional<std::string_view> password;  // binary
    Properties properties;
};

// Refuses: a protocol name other than "MQTT" (levels 4, 5) or "MQIsdp" (level 3) (protocol error); an
// unknown level (reason kUnsupportedProtocolVersion, so the server can answer CONNACK 0x01 / 0x84
// [MQTT-3.1.2-2]); reserved flag set [MQTT-3.1.2-3]; will QoS/retain set without will flag or will QoS 3
// [MQTT-3.1.2-11..15]; password without username before v5 [MQTT-3.1.2-22]; bad UTF-8; trailing bytes.
DecodeResult<Connect> decodeConnect(uint8_t flags, ByteSpan body);
void encodeConnect(Bytes& out, const Connect& c);

}  // namespace starling::protocol
