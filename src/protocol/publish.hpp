#pragma once
// PUBLISH [MQTT 3.1.1 section 3.3, MQTT 5.0 section 3.3].
#include <string_view>

#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Publish {
    bool dup = false;
    QoS qos = QoS::kAtMostOnce;
    bool retain = false;
    std::string_view topic;  // may be empty in v5 when a topic alias is given
    uint16_t packet_id = 0;  // 0 for QoS 0
    Properties properties;   // v5 only
    std::string_view payload;
};

// Refuses: QoS 3 [MQTT-3.3.1-4]; DUP set on QoS 0 [MQTT-3.3.1-2]; packet id 0 for QoS > 0
// [MQTT-2.2.1-3]; wildcards in the topic (kTopicNameInvalid) [MQTT-3.3.2-2]; bad UTF-8; an empty topic
// before v5 or in v5 without a topic alias; properties not allowed in PUBLISH.
DecodeResult<Publish> decodePublish(uint8_t flags, ByteSpan body, ProtocolVersion v);
void encodePublish(Bytes& out, const Publish& p, ProtocolVersion v);

// Zero-copy fan-out: writes a PUBLISH up to (not including) its payload. In v5 the property block is
// `props` followed by `shared_props_size` bytes of already-encoded properties (no length prefix) that the
// caller writes after this header, then the `payload_size` payload bytes.
void encodePublishHeader(Bytes& out, const Publish& p, size_t shared_props_size, size_t payload_size,
                         ProtocolVersion v);

}  // namespace starling::protocol
