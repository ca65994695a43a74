#pragma once
// Basic MQTT vocabulary shared by every packet: packet types, protocol levels, QoS, reason codes and the
// error a decoder returns. Pure values; usable from any thread.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace starling::protocol {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

enum class PacketType : uint8_t {
    kConnect = 1,
    kConnack = 2,
    kPublish = 3,
    kPuback = 4,
    kPubrec = 5,
    kPubrel = 6,
    kPubcomp = 7,
    kSubscribe = 8,
    kSuback = 9,
    kUnsubscribe = 10,
    kUnsuback = 11,
    kPingreq = 12,
    kPingresp = 13,
    kDisconnect = 14,
    kAuth = 15,  // MQTT 5 only
};
std::string_view packetTypeName(PacketType t);

// The protocol level byte of CONNECT: 3 = MQTT 3.1 ("MQIsdp"), 4 = 3.1.1, 5 = 5.0.
enum class ProtocolVersion : uint8_t { kV31 = 3, kV311 = 4, kV5 = 5 };
std::string_view protocolVersionName(ProtocolVersion v);

enum class QoS : uint8_t { kAtMostOnce = 0, kAtLeastOnce = 1, kExactlyOnce = 2 };

// Every MQTT 5 reason code by name [MQTT 5.0 section 2.4]. Values shared by several meanings (0x00 is
// Success, Normal disconnection and Granted QoS 0) have one enumerator per meaning.
enum class ReasonCode : uint8_t {
    kSuccess = 0x00,
    kNormalDisconnection = 0x00,
    kGrantedQoS0 = 0x00,
    kGrantedQoS1 = 0x01,
    kGrantedQoS2 = 0x02,
    kDisconnectWithWillMessage = 0x04,
    kNoMatchingSubscribers = 0x10,
    kNoSubscriptionExisted = 0x11,
    kContinueAuthentication = 0x18,
    kReAuthenticate = 0x19,
    kUnspecifiedError = 0x80,
    kMalformedPacket = 0x81,
    kProtocolError = 0x82,
    kImplementationSpecificError = 0x83,
    kUnsupportedProtocolVersion = 0x84,
    kClientIdentifierNotValid = 0x85,
    kBadUserNameOrPassword = 0x86,
    kNotAuthorized = 0x87,
    kServerUnavailable = 0x88,
    kServerBusy = 0x89,
    kBanned = 0x8A,
    kServerShuttingDown = 0x8B,
    kBadAuthenticationMethod = 0x8C,
    kKeepAliveTimeout = 0x8D,
    kSessionTakenOver = 0x8E,
    kTopicFilterInvalid = 0x8F,
    kTopicNameInvalid = 0x90,
    kPacketIdentifierInUse = 0x91,
    kPacketIdentifierNotFound = 0x92,
    kReceiveMaximumExceeded = 0x93,
    kTopicAliasInvalid = 0x94,
    kPacketTooLarge = 0x95,
    kMessageRateTooHigh = 0x96,
    kQuotaExceeded = 0x97,
    kAdministrativeAction = 0x98,
    kPayloadFormatInvalid = 0x99,
    kRetainNotSupported = 0x9A,
    kQoSNotSupported = 0x9B,
    kUseAnotherServer = 0x9C,
    kServerMoved = 0x9D,
    kSharedSubscriptionsNotSupported = 0x9E,
    kConnectionRateExceeded = 0x9F,
    kMaximumConnectTime = 0xA0,
    kSubscriptionIdentifiersNotSupported = 0xA1,
    kWildcardSubscriptionsNotSupported = 0xA2,
};
// Name of a reason code as the specification spells it ("Packet too large"); `type` disambiguates 0x00.
std::string_view reasonCodeName(ReasonCode rc, PacketType type = PacketType::kDisconnect);
// True when `rc` is a value the specification defines for packets of `type` (MQTT 5).
bool reasonCodeAllowed(PacketType type, ReasonCode rc);

// MQTT 3.1/3.1.1 CONNACK return codes [MQTT 3.1.1 table 3.1].
enum class ConnackCode311 : uint8_t {
    kAccepted = 0,
    kUnacceptableProtocolVersion = 1,
    kIdentifierRejected = 2,
    kServerUnavailable = 3,
    kBadUserNameOrPassword = 4,
    kNotAuthorized = 5,
};

// Why a decoder refused its input. `reason` is what the connection is closed with (v5 DISCONNECT or
// CONNACK reason code); `rule` names the violated statement for logs ("[MQTT-2.2.2-1] reserved flags").
struct DecodeError {
    ReasonCode reason;
    const char* rule;
};

template <class T>
using DecodeResult = Result<T, DecodeError>;

inline Unexpected<DecodeError> malformed(const char* rule) {
    return {DecodeError{ReasonCode::kMalformedPacket, rule}};
}
inline Unexpected<DecodeError> protocolError(const char* rule) {
    return {DecodeError{ReasonCode::kProtocolError, rule}};
}

}  // namespace starling::protocol
