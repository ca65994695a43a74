#pragma once
// SUBSCRIBE [MQTT 3.1.1 section 3.8, MQTT 5.0 section 3.8].
#include <string_view>
#include <vector>

#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct SubscriptionOptions {
    QoS qos = QoS::kAtMostOnce;
    bool no_local = false;             // v5
    bool retain_as_published = false;  // v5
    uint8_t retain_handling = 0;       // v5: 0 send, 1 send if new, 2 don't send
    bool operator==(const SubscriptionOptions&) const = default;
};

struct TopicSubscription {
    std::string_view filter;
    SubscriptionOptions options;
};

struct Subscribe {
    uint16_t packet_id = 0;
    Properties properties;  // v5 only
    std::vector<TopicSubscription> topics;
};

// Refuses: flags other than 0b0010 [MQTT-3.8.1-1]; packet id 0; no topic [MQTT-3.8.3-3]; reserved option
// bits set [MQTT-3.8.3-5]; QoS 3; retain handling 3; invalid filter (kTopicFilterInvalid... as malformed in
// 3.1.1); no local on a shared subscription [MQTT-3.8.3-4].
DecodeResult<Subscribe> decodeSubscribe(uint8_t flags, ByteSpan body, ProtocolVersion v);
void encodeSubscribe(Bytes& out, const Subscribe& s, ProtocolVersion v);

}  // namespace starling::protocol
