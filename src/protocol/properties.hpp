#pragma once
// MQTT 5 properties [MQTT 5.0 section 2.2.2]: identifiers, data types, the packets each may appear in and
// whether it may repeat. `Properties` holds views into the buffer it was decoded from (or into strings
// the caller owns when encoding): it owns no bytes. Pure; any thread.
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/types.hpp"
#include "protocol/wire.hpp"

namespace starling::protocol {

enum class PropertyId : uint8_t {
    kPayloadFormatIndicator = 0x01,
    kMessageExpiryInterval = 0x02,
    kContentType = 0x03,
    kResponseTopic = 0x08,
    kCorrelationData = 0x09,
    kSubscriptionIdentifier = 0x0B,
    kSessionExpiryInterval = 0x11,
    kAssignedClientIdentifier = 0x12,
    kServerKeepAlive = 0x13,
    kAuthenticationMethod = 0x15,
    kAuthenticationData = 0x16,
    kRequestProblemInformation = 0x17,
    kWillDelayInterval = 0x18,
    kRequestResponseInformation = 0x19,
    kResponseInformation = 0x1A,
    kServerReference = 0x1C,
    kReasonString = 0x1F,
    kReceiveMaximum = 0x21,
    kTopicAliasMaximum = 0x22,
    kTopicAlias = 0x23,
    kMaximumQoS = 0x24,
    kRetainAvailable = 0x25,
    kUserProperty = 0x26,
    kMaximumPacketSize = 0x27,
    kWildcardSubscriptionAvailable = 0x28,
    kSubscriptionIdentifierAvailable = 0x29,
    kSharedSubscriptionAvailable = 0x2A,
};

enum class PropertyType : uint8_t { kByte, kTwoByteInt, kFourByteInt, kVarint, kUtf8, kBinary, kUtf8Pair };

// Where a property may appear. The will properties of CONNECT are a context of their own.
enum class PropertyContext : uint8_t {
    kConnect,
    kWill,
    kConnack,
    kPublish,
    kPuback,
    kPubrec,
    kPubrel,
    kPubcomp,
    kSubscribe,
    kSuback,
    kUnsubscribe,
    kUnsuback,
    kDisconnect,
    kAuth,
};

struct PropertyInfo {
    PropertyId id;
    PropertyType type;
    const char* name;
};
// nullptr for an unknown identifier.
const PropertyInfo* propertyInfo(uint8_t id);
bool propertyAllowed(PropertyId id, PropertyContext ctx);

struct UserProperty {
    std::string_view name;
    std::string_view value;
    bool operator==(const UserProperty&) const = default;
};

struct Properties {
    std::optional<uint8_t> payload_format_indicator;
    std::optional<uint32_t> message_expiry_interval;
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> response_topic;
    std::optional<std::string_view> correlation_data;
    std::vector<uint32_t> subscription_identifiers;  // may repeat in PUBLISH (server to client)
    std::optional<uint32_t> session_expiry_interval;
    std::optional<std::string_view> assigned_client_identifier;
    std::optional<uint16_t> server_keep_alive;
    std::optional<std::string_view> authentication_method;
    std::optional<std::string_view> authentication_data;
    std::optional<uint8_t> request_problem_information;
    std::optional<uint32_t> will_delay_interval;
    std::optional<uint8_t> request_response_information;
    std::optional<std::string_view> response_information;
    std::optional<std::string_view> server_reference;
    std::optional<std::string_view> reason_string;
    std::optional<uint16_t> receive_maximum;
    std::optional<uint16_t> topic_alias_maximum;
    std::optional<uint16_t> topic_alias;
    std::optional<uint8_t> maximum_qos;
    std::optional<uint8_t> retain_available;
    std::vector<UserProperty> user_properties;  // order kept [MQTT-3.3.2-18]
    std::optional<uint32_t> maximum_packet_size;
    std::optional<uint8_t> wildcard_subscription_available;
    std::optional<uint8_t> subscription_identifier_available;
    std::optional<uint8_t> shared_subscription_available;

    bool empty() const;
    bool operator==(const Properties&) const = default;
};

// Reads a property length (varint) and that many bytes of properties. Refuses: unknown identifiers,
// properties not allowed in `ctx`, a second copy of a single-use property, values out of range (e.g.
// Receive Maximum 0, Maximum Packet Size 0, Subscription Identifier 0, Payload Format > 1, boolean
// properties > 1), bad UTF-8, and a length running past the packet. Malformed packet or protocol error
// as the specification says for each.
DecodeResult<Properties> decodeProperties(Reader& r, PropertyContext ctx);

// Size in bytes of the encoded properties without the length prefix.
size_t propertiesSize(const Properties& p);
// Appends the property length (varint) and the properties, in identifier order, user properties in
// their order.
void encodeProperties(Bytes& out, const Properties& p);
// Appends the properties without the length prefix (to build a property block shared by many packets).
void encodePropertyList(Bytes& out, const Properties& p);

}  // namespace starling::protocol
