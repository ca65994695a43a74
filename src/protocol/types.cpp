// Names of packet types, protocol levels and reason codes; which reason codes each packet may carry
// [MQTT 5.0 section 2.4].
#include "protocol/types.hpp"

namespace starling::protocol {

std::string_view packetTypeName(PacketType t) {
    switch (t) {
        case PacketType::kConnect:
            return "CONNECT";
        case PacketType::kConnack:
            return "CONNACK";
        case PacketType::kPublish:
            return "PUBLISH";
        case PacketType::kPuback:
            return "PUBACK";
        case PacketType::kPubrec:
            return "PUBREC";
        case PacketType::kPubrel:
            return "PUBREL";
        case PacketType::kPubcomp:
            return "PUBCOMP";
        case PacketType::kSubscribe:
            return "SUBSCRIBE";
        case PacketType::kSuback:
            return "SUBACK";
        case PacketType::kUnsubscribe:
            return "UNSUBSCRIBE";
        case PacketType::kUnsuback:
            return "UNSUBACK";
        case PacketType::kPingreq:
            return "PINGREQ";
        case PacketType::kPingresp:
            return "PINGRESP";
        case PacketType::kDisconnect:
            return "DISCONNECT";
        case PacketType::kAuth:
            return "AUTH";
    }
    return "RESERVED";
}

std::string_view protocolVersionName(ProtocolVersion v) {
    switch (v) {
        case ProtocolVersion::kV31:
            return "3.1";
        case ProtocolVersion::kV311:
            return "3.1.1";
        case ProtocolVersion::kV5:
            return "5.0";
    }
    return "unknown";
}

std::string_view reasonCodeName(ReasonCode rc, PacketType type) {
    switch (static_cast<uint8_t>(rc)) {
        case 0x00:
            if (type == PacketType::kDisconnect) return "Normal disconnection";
            if (type == PacketType::kSuback) return "Granted QoS 0";
            return "Success";
        case 0x01:
            return "Granted QoS 1";
        case 0x02:
            return "Granted QoS 2";
        case 0x04:
            return "Disconnect with Will Message";
        case 0x10:
            return "No matching subscribers";
        case 0x11:
            return "No subscription existed";
        case 0x18:
            return "Continue authentication";
        case 0x19:
            return "Re-authenticate";
        case 0x80:
            return "Unspecified error";
        case 0x81:
            return "Malformed Packet";
        case 0x82:
            return "Protocol Error";
        case 0x83:
            return "Implementation specific error";
        case 0x84:
            return "Unsupported Protocol Version";
        case 0x85:
            return "Client Identifier not valid";
        case 0x86:
            return "Bad User Name or Password";
        case 0x87:
            return "Not authorized";
        case 0x88:
            return "Server unavailable";
        case 0x89:
            return "Server busy";
        case 0x8A:
            return "Banned";
        case 0x8B:
            return "Server shutting down";
        case 0x8C:
            return "Bad authentication method";
        case 0x8D:
            return "Keep Alive timeout";
        case 0x8E:
            return "Session taken over";
        case 0x8F:
            return "Topic Filter invalid";
        case 0x90:
            return "Topic Name invalid";
        case 0x91:
            return "Packet Identifier in use";
        case 0x92:
            return "Packet Identifier not found";
        case 0x93:
            return "Receive Maximum exceeded";
        case 0x94:
            return "Topic Alias invalid";
        case 0x95:
            return "Packet too large";
        case 0x96:
            return "Message rate too high";
        case 0x97:
            return "Quota exceeded";
        case 0x98:
            return "Administrative action";
        case 0x99:
            return "Payload format invalid";
        case 0x9A:
            return "Retain not supported";
        case 0x9B:
            return "QoS not supported";
        case 0x9C:
            return "Use another server";
        case 0x9D:
            return "Server moved";
        case 0x9E:
            return "Shared Subscriptions not supported";
        case 0x9F:
            return "Connection rate exceeded";
        case 0xA0:
            return "Maximum connect time";
        case 0xA1:
            return "Subscription Identifiers not supported";
        case 0xA2:
            return "Wildcard Subscriptions not supported";
    }
    return "Unknown reason code";
}

namespace {

template <size_t N>
constexpr bool oneOf(uint8_t v, const uint8_t (&set)[N]) {
    for (uint8_t s : set) {
        if (s == v) return true;
    }
    return false;
}

// The "Packets" column of the reason code table [MQTT 5.0 section 2.4].
constexpr uint8_t kConnackCodes[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                                     0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr uint8_t kPubackCodes[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
constexpr uint8_t kPubrelCodes[] = {0x00, 0x92};
constexpr uint8_t kSubackCodes[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr uint8_t kUnsubackCodes[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr uint8_t kDisconnectCodes[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                                        0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                                        0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr uint8_t kAuthCodes[] = {0x00, 0x18, 0x19};

}  // namespace

bool reasonCodeAllowed(PacketType type, ReasonCode rc) {
    auto v = static_cast<uint8_t>(rc);
    switch (type) {
        case PacketType::kConnack:
            return oneOf(v, kConnackCodes);
        case PacketType::kPuback:
        case PacketType::kPubrec:
            return oneOf(v, kPubackCodes);
        case PacketType::kPubrel:
        case PacketType::kPubcomp:
            return oneOf(v, kPubrelCodes);
        case PacketType::kSuback:
            return oneOf(v, kSubackCodes);
        case PacketType::kUnsuback:
            return oneOf(v, kUnsubackCodes);
        case PacketType::kDisconnect:
            return oneOf(v, kDisconnectCodes);
        case PacketType::kAuth:
            return oneOf(v, kAuthCodes);
        default:
            return false;
    }
}

}  // namespace starling::protocol
