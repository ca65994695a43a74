// MQTT 5 properties [MQTT 5.0 section 2.2.2]: the identifier table, where each property may appear, and
// decoding/encoding of a property block.
#include "protocol/properties.hpp"

#include "protocol/codec_internal.hpp"
#include "protocol/topic.hpp"

namespace starling::protocol {

using detail::refuse;

namespace {

constexpr uint16_t bit(PropertyContext c) {
    return uint16_t(1u << static_cast<unsigned>(c));
}

using C = PropertyContext;
constexpr uint16_t kWillAndPublish = bit(C::kPublish) | bit(C::kWill);
constexpr uint16_t kAllContexts = 0x3FFF;
constexpr uint16_t kReasonStringContexts = bit(C::kConnack) | bit(C::kPuback) | bit(C::kPubrec) | bit(C::kPubrel) |
                                           bit(C::kPubcomp) | bit(C::kSuback) | bit(C::kUnsuback) |
                                           bit(C::kDisconnect) | bit(C::kAuth);

struct PropertyRow {
    PropertyInfo info;
    uint16_t contexts;
};

// The property table [MQTT 5.0 section 2.2.2.2], in identifier order.
constexpr PropertyRow kRows[] = {
    {{PropertyId::kPayloadFormatIndicator, PropertyType::kByte, "Payload Format Indicator"}, kWillAndPublish},
    {{PropertyId::kMessageExpiryInterval, PropertyType::kFourByteInt, "Message Expiry Interval"}, kWillAndPublish},
    {{PropertyId::kContentType, PropertyType::kUtf8, "Content Type"}, kWillAndPublish},
    {{PropertyId::kResponseTopic, PropertyType::kUtf8, "Response Topic"}, kWillAndPublish},
    {{PropertyId::kCorrelationData, PropertyType::kBinary, "Correlation Data"}, kWillAndPublish},
    {{PropertyId::kSubscriptionIdentifier, PropertyType::kVarint, "Subscription Identifier"},
     bit(C::kPublish) | bit(C::kSubscribe)},
    {{PropertyId::kSessionExpiryInterval, PropertyType::kFourByteInt, "Session Expiry Interval"},
     bit(C::kConnect) | bit(C::kConnack) | bit(C::kDisconnect)},
    {{PropertyId::kAssignedClientIdentifier, PropertyType::kUtf8, "Assigned Client Identifier"}, bit(C::kConnack)},
    {{PropertyId::kServerKeepAlive, PropertyType::kTwoByteInt, "Server Keep Alive"}, bit(C::kConnack)},
    {{PropertyId::kAuthenticationMethod, PropertyType::kUtf8, "Authentication Method"},
     bit(C::kConnect) | bit(C::kConnack) | bit(C::kAuth)},
    {{PropertyId::kAuthenticationData, PropertyType::kBinary, "Authentication Data"},
     bit(C::kConnect) | bit(C::kConnack) | bit(C::kAuth)},
    {{PropertyId::kRequestProblemInformation, PropertyType::kByte, "Request Problem Information"}, bit(C::kConnect)},
    {{PropertyId::kWillDelayInterval, PropertyType::kFourByteInt, "Will Delay Interval"}, bit(C::kWill)},
    {{PropertyId::kRequestResponseInformation, PropertyType::kByte, "Request Response Information"}, bit(C::kConnect)},
    {{PropertyId::kResponseInformation, PropertyType::kUtf8, "Response Information"}, bit(C::kConnack)},
    {{PropertyId::kServerReference, PropertyType::kUtf8, "Server Reference"}, bit(C::kConnack) | bit(C::kDisconnect)},
    {{PropertyId::kReasonString, PropertyType::kUtf8, "Reason String"}, kReasonStringContexts},
    {{PropertyId::kReceiveMaximum, PropertyType::kTwoByteInt, "Receive Maximum"}, bit(C::kConnect) | bit(C::kConnack)},
    {{PropertyId::kTopicAliasMaximum, PropertyType::kTwoByteInt, "Topic Alias Maximum"},
     bit(C::kConnect) | bit(C::kConnack)},
    {{PropertyId::kTopicAlias, PropertyType::kTwoByteInt, "Topic Alias"}, bit(C::kPublish)},
    {{PropertyId::kMaximumQoS, PropertyType::kByte, "Maximum QoS"}, bit(C::kConnack)},
    {{PropertyId::kRetainAvailable, PropertyType::kByte, "Retain Available"}, bit(C::kConnack)},
    {{PropertyId::kUserProperty, PropertyType::kUtf8Pair, "User Property"}, kAllContexts},
    {{PropertyId::kMaximumPacketSize, PropertyType::kFourByteInt, "Maximum Packet Size"},
     bit(C::kConnect) | bit(C::kConnack)},
    {{PropertyId::kWildcardSubscriptionAvailable, PropertyType::kByte, "Wildcard Subscription Available"},
     bit(C::kConnack)},
    {{PropertyId::kSubscriptionIdentifierAvailable, PropertyType::kByte, "Subscription Identifier Available"},
     bit(C::kConnack)},
    {{PropertyId::kSharedSubscriptionAvailable, PropertyType::kByte, "Shared Subscription Available"},
     bit(C::kConnack)},
};

constexpr size_t kMaxId = 0x2A;

struct RowIndex {
    int8_t row[kMaxId + 1];
    constexpr RowIndex() : row{} {
        for (auto& r : row)
            r = -1;
        for (size_t i = 0; i < sizeof(kRows) / sizeof(kRows[0]); ++i) {
            row[static_cast<uint8_t>(kRows[i].info.id)] = static_cast<int8_t>(i);
        }
    }
};
constexpr RowIndex kIndex;

const PropertyRow* row(uint32_t id) {
    if (id > kMaxId || kIndex.row[id] < 0) return nullptr;
    return &kRows[kIndex.row[id]];
}

// Calls the sink once per property in identifier order; encodePropertyList and propertiesSize share it so
// that the announced length always matches the bytes written.
template <class Sink>
void forEachProperty(const Properties& p, Sink& s) {
    if (p.payload_format_indicator) s.byte(0x01, *p.payload_format_indicator);
    if (p.message_expiry_interval) s.u32(0x02, *p.message_expiry_interval);
    if (p.content_type) s.str(0x03, *p.content_type);
    if (p.response_topic) s.str(0x08, *p.response_topic);
    if (p.correlation_data) s.str(0x09, *p.correlation_data);
    for (uint32_t id : p.subscription_identifiers)
        s.varint(0x0B, id);
    if (p.session_expiry_interval) s.u32(0x11, *p.session_expiry_interval);
    if (p.assigned_client_identifier) s.str(0x12, *p.assigned_client_identifier);
    if (p.server_keep_alive) s.u16(0x13, *p.server_keep_alive);
    if (p.authentication_method) s.str(0x15, *p.authentication_method);
    if (p.authentication_data) s.str(0x16, *p.authentication_data);
    if (p.request_problem_information) s.byte(0x17, *p.request_problem_information);
    if (p.will_delay_interval) s.u32(0x18, *p.will_delay_interval);
    if (p.request_response_information) s.byte(0x19, *p.request_response_information);
    if (p.response_information) s.str(0x1A, *p.response_information);
    if (p.server_reference) s.str(0x1C, *p.server_reference);
    if (p.reason_string) s.str(0x1F, *p.reason_string);
    if (p.receive_maximum) s.u16(0x21, *p.receive_maximum);
    if (p.topic_alias_maximum) s.u16(0x22, *p.topic_alias_maximum);
    if (p.topic_alias) s.u16(0x23, *p.topic_alias);
    if (p.maximum_qos) s.byte(0x24, *p.maximum_qos);
    if (p.retain_available) s.byte(0x25, *p.retain_available);
    for (const auto& up : p.user_properties)
        s.pair(0x26, up.name, up.value);
    if (p.maximum_packet_size) s.u32(0x27, *p.maximum_packet_size);
    if (p.wildcard_subscription_available) s.byte(0x28, *p.wildcard_subscription_available);
    if (p.subscription_identifier_available) s.byte(0x29, *p.subscription_identifier_available);
    if (p.shared_subscription_available) s.byte(0x2A, *p.shared_subscription_available);
}

struct SizeSink {
    size_t n = 0;
    void byte(uint8_t, uint8_t) { n += 2; }
    void u16(uint8_t, uint16_t) { n += 3; }
    void u32(uint8_t, uint32_t) { n += 5; }
    void varint(uint8_t, uint32_t v) { n += 1 + varintSize(v); }
    void str(uint8_t, std::string_view s) { n += 3 + s.size(); }
    void pair(uint8_t, std::string_view a, std::string_view b) { n += 5 + a.size() + b.size(); }
};

struct WriteSink {
    Bytes& out;
    void byte(uint8_t id, uint8_t v) {
        putU8(out, id);
        putU8(out, v);
    }
    void u16(uint8_t id, uint16_t v) {
        putU8(out, id);
        putU16(out, v);
    }
    void u32(uint8_t id, uint32_t v) {
        putU8(out, id);
        putU32(out, v);
    }
    void varint(uint8_t id, uint32_t v) {
        putU8(out, id);
        appendVarint(out, v);
    }
    void str(uint8_t id, std::string_view s) {
        putU8(out, id);
        putString(out, s);
    }
    void pair(uint8_t id, std::string_view a, std::string_view b) {
        putU8(out, id);
        putString(out, a);
        putString(out, b);
    }
};

template <class T>
bool setOnce(std::optional<T>& slot, T v) {
    if (slot) return false;
    slot = v;
    return true;
}

Unexpected<DecodeError> duplicate() {
    return protocolError("[MQTT 5.0 2.2.2.2] a single-use property appears more than once");
}

}  // namespace

const PropertyInfo* propertyInfo(uint8_t id) {
    const PropertyRow* r = row(id);
    return r ? &r->info : nullptr;
}

bool propertyAllowed(PropertyId id, PropertyContext ctx) {
    const PropertyRow* r = row(static_cast<uint8_t>(id));
    return r && (r->contexts & bit(ctx));
}

bool Properties::empty() const {
    return propertiesSize(*this) == 0;
}

namespace {

// A refusal or nothing; converts from the malformed()/protocolError() helpers.
struct Outcome {
    bool ok = true;
    DecodeError error{};
    Outcome() = default;
    Outcome(Unexpected<DecodeError> u) : ok(false), error(u.error) {}
};

Outcome readProperties(Reader& r, PropertyContext ctx, Properties& p) {
    auto len = r.varint();
    if (!len) return malformed("[MQTT-1.5.5-1] property length is not a valid variable byte integer");
    auto block = r.take(*len);
    if (!block) return malformed("[MQTT 5.0 2.2.2.1] property length runs past the packet");

    if (block->empty()) return {};
    Reader pr(*block);
    while (!pr.empty()) {
        auto id = pr.varint();
        if (!id) return malformed("[MQTT 5.0 2.2.2.2] property identifier is not a valid variable byte integer");
        const PropertyRow* info = row(*id);
        if (!info) return malformed("[MQTT 5.0 2.2.2.2] unknown property identifier");
        if (!(info->contexts & bit(ctx)))
            return protocolError("[MQTT 5.0 2.2.2.2] property not allowed in this packet");

        uint32_t num = 0;
        std::string_view str, str2;
        switch (info->info.type) {
            case PropertyType::kByte: {
                auto v = pr.u8();
                if (!v) return malformed("[MQTT 5.0 2.2.2.2] truncated property");
                num = *v;
                break;
            }
            case PropertyType::kTwoByteInt: {
                auto v = pr.u16();
                if (!v) return malformed("[MQTT 5.0 2.2.2.2] truncated property");
                num = *v;
                break;
            }
            case PropertyType::kFourByteInt: {
                auto v = pr.u32();
                if (!v) return malformed("[MQTT 5.0 2.2.2.2] truncated property");
                num = *v;
                break;
            }
            case PropertyType::kVarint: {
                auto v = pr.varint();
                if (!v) return malformed("[MQTT-1.5.5-1] property value is not a valid variable byte integer");
                num = *v;
                break;
            }
            case PropertyType::kUtf8: {
                auto v = pr.utf8();
                if (!v) return malformed("[MQTT-1.5.4-1] property string truncated or not valid UTF-8");
                str = *v;
                break;
            }
            case PropertyType::kBinary: {
                auto v = pr.binary();
                if (!v) return malformed("[MQTT 5.0 1.5.6] truncated binary property");
                str = *v;
                break;
            }
            case PropertyType::kUtf8Pair: {
                auto k = pr.utf8();
                if (!k) return malformed("[MQTT-1.5.7-1] user property name truncated or not valid UTF-8");
                auto v = pr.utf8();
                if (!v) return malformed("[MQTT-1.5.7-1] user property value truncated or not valid UTF-8");
                str = *k;
                str2 = *v;
                break;
            }
        }

        const auto u8v = static_cast<uint8_t>(num);
        const auto u16v = static_cast<uint16_t>(num);
        bool fresh = true;
        switch (info->info.id) {
            case PropertyId::kPayloadFormatIndicator:
                if (num > 1) return protocolError("[MQTT 5.0 3.3.2.3.2] Payload Format Indicator other than 0 or 1");
                fresh = setOnce(p.payload_format_indicator, u8v);
                break;
            case PropertyId::kMessageExpiryInterval:
                fresh = setOnce(p.message_expiry_interval, num);
                break;
            case PropertyId::kContentType:
                fresh = setOnce(p.content_type, str);
                break;
            case PropertyId::kResponseTopic:
                if (!isValidTopicName(str)) return protocolError("[MQTT-3.3.2-14] Response Topic is not a topic name");
                fresh = setOnce(p.response_topic, str);
                break;
            case PropertyId::kCorrelationData:
                fresh = setOnce(p.correlation_data, str);
                break;
            case PropertyId::kSubscriptionIdentifier:
                if (num == 0) return protocolError("[MQTT 5.0 3.8.2.1.2] Subscription Identifier 0");
                // Repeats only in PUBLISH, where one copy of a message carries every matching id
                // [MQTT-3.3.4-4]; a SUBSCRIBE carries at most one.
                if (ctx != PropertyContext::kPublish && !p.subscription_identifiers.empty())
                    fresh = false;
                else
                    p.subscription_identifiers.push_back(num);
                break;
            case PropertyId::kSessionExpiryInterval:
                fresh = setOnce(p.session_expiry_interval, num);
                break;
            case PropertyId::kAssignedClientIdentifier:
                fresh = setOnce(p.assigned_client_identifier, str);
                break;
            case PropertyId::kServerKeepAlive:
                fresh = setOnce(p.server_keep_alive, u16v);
                break;
            case PropertyId::kAuthenticationMethod:
                fresh = setOnce(p.authentication_method, str);
                break;
            case PropertyId::kAuthenticationData:
                fresh = setOnce(p.authentication_data, str);
                break;
            case PropertyId::kRequestProblemInformation:
                if (num > 1)
                    return protocolError("[MQTT 5.0 3.1.2.11.7] Request Problem Information other than 0 or 1");
                fresh = setOnce(p.request_problem_information, u8v);
                break;
            case PropertyId::kWillDelayInterval:
                fresh = setOnce(p.will_delay_interval, num);
                break;
            case PropertyId::kRequestResponseInformation:
                if (num > 1)
                    return protocolError("[MQTT 5.0 3.1.2.11.6] Request Response Information other than 0 or 1");
                fresh = setOnce(p.request_response_information, u8v);
                break;
            case PropertyId::kResponseInformation:
                fresh = setOnce(p.response_information, str);
                break;
            case PropertyId::kServerReference:
                fresh = setOnce(p.server_reference, str);
                break;
            case PropertyId::kReasonString:
                fresh = setOnce(p.reason_string, str);
                break;
            case PropertyId::kReceiveMaximum:
                if (num == 0) return protocolError("[MQTT 5.0 3.1.2.11.3] Receive Maximum 0");
                fresh = setOnce(p.receive_maximum, u16v);
                break;
            case PropertyId::kTopicAliasMaximum:
                fresh = setOnce(p.topic_alias_maximum, u16v);
                break;
            case PropertyId::kTopicAlias:
                if (num == 0) return refuse(ReasonCode::kTopicAliasInvalid, "[MQTT-3.3.2-8] Topic Alias 0");
                fresh = setOnce(p.topic_alias, u16v);
                break;
            case PropertyId::kMaximumQoS:
                if (num > 1) return protocolError("[MQTT 5.0 3.2.2.3.4] Maximum QoS other than 0 or 1");
                fresh = setOnce(p.maximum_qos, u8v);
                break;
            case PropertyId::kRetainAvailable:
                if (num > 1) return protocolError("[MQTT 5.0 3.2.2.3.5] Retain Available other than 0 or 1");
                fresh = setOnce(p.retain_available, u8v);
                break;
            case PropertyId::kUserProperty:
                p.user_properties.push_back({str, str2});
                break;
            case PropertyId::kMaximumPacketSize:
                if (num == 0) return protocolError("[MQTT 5.0 3.1.2.11.4] Maximum Packet Size 0");
                fresh = setOnce(p.maximum_packet_size, num);
                break;
            case PropertyId::kWildcardSubscriptionAvailable:
                if (num > 1) return protocolError("[MQTT 5.0 3.2.2.3.11] Wildcard Subscription Available not 0 or 1");
                fresh = setOnce(p.wildcard_subscription_available, u8v);
                break;
            case PropertyId::kSubscriptionIdentifierAvailable:
                if (num > 1) return protocolError("[MQTT 5.0 3.2.2.3.12] Subscription Identifier Available not 0 or 1");
                fresh = setOnce(p.subscription_identifier_available, u8v);
                break;
            case PropertyId::kSharedSubscriptionAvailable:
                if (num > 1) return protocolError("[MQTT 5.0 3.2.2.3.13] Shared Subscription Available not 0 or 1");
                fresh = setOnce(p.shared_subscription_available, u8v);
                break;
        }
        if (!fresh) return duplicate();
    }
    return {};
}

}  // namespace

DecodeResult<Properties> decodeProperties(Reader& r, PropertyContext ctx) {
    Properties p;
    Outcome o = readProperties(r, ctx, p);
    if (!o.ok) return unexpected(o.error);
    return p;
}

bool detail::decodePropertiesInto(Reader& r, PropertyContext ctx, Properties& out, DecodeError& err) {
    Outcome o = readProperties(r, ctx, out);
    if (!o.ok) err = o.error;
    return o.ok;
}

size_t propertiesSize(const Properties& p) {
    SizeSink s;
    forEachProperty(p, s);
    return s.n;
}

void encodePropertyList(Bytes& out, const Properties& p) {
    WriteSink s{out};
    forEachProperty(p, s);
}

void encodeProperties(Bytes& out, const Properties& p) {
    size_t n = propertiesSize(p);
    reserveMore(out, varintSize(static_cast<uint32_t>(n)) + n);
    appendVarint(out, static_cast<uint32_t>(n));
    encodePropertyList(out, p);
}

}  // namespace starling::protocol
