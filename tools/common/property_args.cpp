#include "tools/common/property_args.hpp"

#include <cstdlib>
#include <string_view>

#include "protocol/properties.hpp"

namespace starling::tools {
namespace {

using protocol::PropertyContext;
using protocol::PropertyId;
using protocol::PropertyType;

struct NamedProperty {
    const char* name;
    PropertyId id;
    PropertyType type;
};

constexpr NamedProperty kProperties[] = {
    {"payload-format-indicator", PropertyId::kPayloadFormatIndicator, PropertyType::kByte},
    {"message-expiry-interval", PropertyId::kMessageExpiryInterval, PropertyType::kFourByteInt},
    {"content-type", PropertyId::kContentType, PropertyType::kUtf8},
    {"response-topic", PropertyId::kResponseTopic, PropertyType::kUtf8},
    {"correlation-data", PropertyId::kCorrelationData, PropertyType::kBinary},
    {"subscription-identifier", PropertyId::kSubscriptionIdentifier, PropertyType::kVarint},
    {"session-expiry-interval", PropertyId::kSessionExpiryInterval, PropertyType::kFourByteInt},
    {"assigned-client-identifier", PropertyId::kAssignedClientIdentifier, PropertyType::kUtf8},
    {"server-keep-alive", PropertyId::kServerKeepAlive, PropertyType::kTwoByteInt},
    {"authentication-method", PropertyId::kAuthenticationMethod, PropertyType::kUtf8},
    {"authentication-data", PropertyId::kAuthenticationData, PropertyType::kBinary},
    {"request-problem-information", PropertyId::kRequestProblemInformation, PropertyType::kByte},
    {"will-delay-interval", PropertyId::kWillDelayInterval, PropertyType::kFourByteInt},
    {"request-response-information", PropertyId::kRequestResponseInformation, PropertyType::kByte},
    {"response-information", PropertyId::kResponseInformation, PropertyType::kUtf8},
    {"server-reference", PropertyId::kServerReference, PropertyType::kUtf8},
    {"reason-string", PropertyId::kReasonString, PropertyType::kUtf8},
    {"receive-maximum", PropertyId::kReceiveMaximum, PropertyType::kTwoByteInt},
    {"topic-alias-maximum", PropertyId::kTopicAliasMaximum, PropertyType::kTwoByteInt},
    {"topic-alias", PropertyId::kTopicAlias, PropertyType::kTwoByteInt},
    {"maximum-qos", PropertyId::kMaximumQoS, PropertyType::kByte},
    {"retain-available", PropertyId::kRetainAvailable, PropertyType::kByte},
    {"user-property", PropertyId::kUserProperty, PropertyType::kUtf8Pair},
    {"maximum-packet-size", PropertyId::kMaximumPacketSize, PropertyType::kFourByteInt},
    {"wildcard-subscription-available", PropertyId::kWildcardSubscriptionAvailable, PropertyType::kByte},
    {"subscription-identifier-available", PropertyId::kSubscriptionIdentifierAvailable, PropertyType::kByte},
    {"shared-subscription-available", PropertyId::kSharedSubscriptionAvailable, PropertyType::kByte},
};

struct NamedCommand {
    const char* name;
    PropertyContext ctx;
};
constexpr NamedCommand kCommands[] = {
    {"connect", PropertyContext::kConnect},
    {"publish", PropertyContext::kPublish},
    {"puback", PropertyContext::kPuback},
    {"pubrec", PropertyContext::kPubrec},
    {"pubrel", PropertyContext::kPubrel},
    {"pubcomp", PropertyContext::kPubcomp},
    {"subscribe", PropertyContext::kSubscribe},
    {"suback", PropertyContext::kSuback},
    {"unsubscribe", PropertyContext::kUnsubscribe},
    {"unsuback", PropertyContext::kUnsuback},
    {"disconnect", PropertyContext::kDisconnect},
    {"auth", PropertyContext::kAuth},
    {"will", PropertyContext::kWill},
};

client::OwnedProperties* target(ClientConfig& cfg, PropertyContext ctx) {
    switch (ctx) {
        case PropertyContext::kConnect:
            return &cfg.connect_props;
        case PropertyContext::kPublish:
            return &cfg.publish_props;
        case PropertyContext::kSubscribe:
            return &cfg.subscribe_props;
        case PropertyContext::kUnsubscribe:
            return &cfg.unsubscribe_props;
        case PropertyContext::kDisconnect:
            return &cfg.disconnect_props;
        case PropertyContext::kWill:
            return &cfg.will_props;
        default:
            return nullptr;  // accepted and ignored, as the tools never send those packets
    }
}

void setNumber(protocol::Properties& p, PropertyId id, uint32_t v) {
    switch (id) {
        case PropertyId::kPayloadFormatIndicator:
            p.payload_format_indicator = static_cast<uint8_t>(v);
            break;
        case PropertyId::kMessageExpiryInterval:
            p.message_expiry_interval = v;
            break;
        case PropertyId::kSubscriptionIdentifier:
            p.subscription_identifiers.push_back(v);
            break;
        case PropertyId::kSessionExpiryInterval:
            p.session_expiry_interval = v;
            break;
        case PropertyId::kServerKeepAlive:
            p.server_keep_alive = static_cast<uint16_t>(v);
            break;
        case PropertyId::kRequestProblemInformation:
            p.request_problem_information = static_cast<uint8_t>(v);
            break;
        case PropertyId::kWillDelayInterval:
            p.will_delay_interval = v;
            break;
        case PropertyId::kRequestResponseInformation:
            p.request_response_information = static_cast<uint8_t>(v);
            break;
        case PropertyId::kReceiveMaximum:
            p.receive_maximum = static_cast<uint16_t>(v);
            break;
        case PropertyId::kTopicAliasMaximum:
            p.topic_alias_maximum = static_cast<uint16_t>(v);
            break;
        case PropertyId::kTopicAlias:
            p.topic_alias = static_cast<uint16_t>(v);
            break;
        case PropertyId::kMaximumQoS:
            p.maximum_qos = static_cast<uint8_t>(v);
            break;
        case PropertyId::kRetainAvailable:
            p.retain_available = static_cast<uint8_t>(v);
            break;
        case PropertyId::kMaximumPacketSize:
            p.maximum_packet_size = v;
            break;
        case PropertyId::kWildcardSubscriptionAvailable:
            p.wildcard_subscription_available = static_cast<uint8_t>(v);
            break;
        case PropertyId::kSubscriptionIdentifierAvailable:
            p.subscription_identifier_available = static_cast<uint8_t>(v);
            break;
        case PropertyId::kSharedSubscriptionAvailable:
            p.shared_subscription_available = static_cast<uint8_t>(v);
            break;
        default:
            break;
    }
}

void setString(client::OwnedProperties& o, PropertyId id, std::string_view v) {
    auto& p = o.mutableView();
    auto s = o.intern(v);
    switch (id) {
        case PropertyId::kContentType:
            p.content_type = s;
            break;
        case PropertyId::kResponseTopic:
            p.response_topic = s;
            break;
        case PropertyId::kCorrelationData:
            p.correlation_data = s;
            break;
        case PropertyId::kAssignedClientIdentifier:
            p.assigned_client_identifier = s;
            break;
        case PropertyId::kAuthenticationMethod:
            p.authentication_method = s;
            break;
        case PropertyId::kAuthenticationData:
            p.authentication_data = s;
            break;
        case PropertyId::kResponseInformation:
            p.response_information = s;
            break;
        case PropertyId::kServerReference:
            p.server_reference = s;
            break;
        case PropertyId::kReasonString:
            p.reason_string = s;
            break;
        default:
            break;
    }
}

}  // namespace

bool parsePropertyArg(ClientConfig& cfg, int argc, const char* const* argv, int& idx, std::string& error) {
    const std::string not_enough = "Error: --property argument given but not enough arguments specified.\n\n";
    if (idx + 2 >= argc) return error = not_enough, false;
    std::string_view cmd = argv[idx], name = argv[idx + 1];
    const NamedCommand* command = nullptr;
    for (const auto& c : kCommands) {
        if (cmd == c.name) command = &c;
    }
    const NamedProperty* prop = nullptr;
    for (const auto& p : kProperties) {
        if (name == p.name) prop = &p;
    }
    if (!command) return error = "Error: Invalid command given in --property argument.\n\n", false;
    if (!prop) return error = "Error: Invalid property name given in --property argument.\n\n", false;
    if (!protocol::propertyAllowed(prop->id, command->ctx)) {
        error = "Error: " + std::string(name) + " property not allowed for " + std::string(cmd) +
                " in --property argument.\n\n";
        return false;
    }
    client::OwnedProperties scratch;
    client::OwnedProperties* out = target(cfg, command->ctx);
    if (!out) out = &scratch;
    const char* value = argv[idx + 2];
    if (prop->type == PropertyType::kUtf8Pair) {
        if (idx + 3 >= argc) return error = not_enough, false;
        out->addUserProperty(value, argv[idx + 3]);
        idx += 3;
        return true;
    }
    if (prop->type == PropertyType::kUtf8 || prop->type == PropertyType::kBinary) {
        setString(*out, prop->id, value);
    } else {
        long long v = std::atoll(value);
        long long max = prop->type == PropertyType::kByte         ? 255
                        : prop->type == PropertyType::kTwoByteInt ? 65535
                        : prop->type == PropertyType::kVarint     ? 268435455
                                                                  : 4294967295LL;
        if (v < 0 || v > max) {
            error = "Error: Property value (" + std::to_string(v) + ") out of range for property " + std::string(name) +
                    ".\n\n";
            return false;
        }
        setNumber(out->mutableView(), prop->id, static_cast<uint32_t>(v));
    }
    idx += 2;
    return true;
}

}  // namespace starling::tools
