// Reason codes by name and by packet [MQTT 5.0 section 2.4]; packet type and version names.
#include "protocol/types.hpp"

#include <gtest/gtest.h>

namespace starling::protocol {
namespace {

TEST(ReasonCode, NamesFollowTheSpecification) {
    EXPECT_EQ(reasonCodeName(ReasonCode::kPacketTooLarge), "Packet too large");
    EXPECT_EQ(reasonCodeName(ReasonCode::kMalformedPacket), "Malformed Packet");
    EXPECT_EQ(reasonCodeName(ReasonCode::kProtocolError), "Protocol Error");
    EXPECT_EQ(reasonCodeName(ReasonCode::kTopicAliasInvalid), "Topic Alias invalid");
    EXPECT_EQ(reasonCodeName(ReasonCode::kWildcardSubscriptionsNotSupported), "Wildcard Subscriptions not supported");
}

TEST(ReasonCode, ZeroIsNamedByPacket) {
    EXPECT_EQ(reasonCodeName(ReasonCode::kSuccess, PacketType::kPuback), "Success");
    EXPECT_EQ(reasonCodeName(ReasonCode::kSuccess, PacketType::kDisconnect), "Normal disconnection");
    EXPECT_EQ(reasonCodeName(ReasonCode::kSuccess, PacketType::kSuback), "Granted QoS 0");
}

TEST(ReasonCode, EveryDefinedCodeHasAName) {
    const uint8_t defined[] = {0x00, 0x01, 0x02, 0x04, 0x10, 0x11, 0x18, 0x19, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                               0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
                               0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
    for (uint8_t c : defined) {
        EXPECT_NE(reasonCodeName(static_cast<ReasonCode>(c)), "Unknown reason code") << int(c);
    }
    EXPECT_EQ(reasonCodeName(static_cast<ReasonCode>(0x03)), "Unknown reason code");
}

// [MQTT-3.4.2-1] [MQTT-3.6.2-1] [MQTT-3.14.2-1] [MQTT-3.15.2-1] each packet carries only its own codes.
TEST(ReasonCode, AllowedPerPacketType) {
    EXPECT_TRUE(reasonCodeAllowed(PacketType::kPuback, ReasonCode::kNoMatchingSubscribers));
    EXPECT_FALSE(reasonCodeAllowed(PacketType::kPubrel, ReasonCode::kNoMatchingSubscribers));
    EXPECT_TRUE(reasonCodeAllowed(PacketType::kPubrel, ReasonCode::kPacketIdentifierNotFound));
    EXPECT_TRUE(reasonCodeAllowed(PacketType::kSuback, ReasonCode::kGrantedQoS2));
    EXPECT_FALSE(reasonCodeAllowed(PacketType::kUnsuback, ReasonCode::kGrantedQoS1));
    EXPECT_TRUE(reasonCodeAllowed(PacketType::kUnsuback, ReasonCode::kNoSubscriptionExisted));
    EXPECT_TRUE(reasonCodeAllowed(PacketType::kDisconnect, ReasonCode::kDisconnectWithWillMessage));
    EXPECT_FALSE(reasonCodeAllowed(PacketType::kConnack, ReasonCode::kDisconnectWithWillMessage));
    EXPECT_TRUE(reasonCodeAllowed(PacketType::kConnack, ReasonCode::kUnsupportedProtocolVersion));
    EXPECT_TRUE(reasonCodeAllowed(PacketType::kAuth, ReasonCode::kReAuthenticate));
    EXPECT_FALSE(reasonCodeAllowed(PacketType::kAuth, ReasonCode::kUnspecifiedError));
    EXPECT_FALSE(reasonCodeAllowed(PacketType::kPublish, ReasonCode::kSuccess));
}

TEST(PacketType, Names) {
    EXPECT_EQ(packetTypeName(PacketType::kConnect), "CONNECT");
    EXPECT_EQ(packetTypeName(PacketType::kAuth), "AUTH");
    EXPECT_EQ(packetTypeName(PacketType::kPubcomp), "PUBCOMP");
}

TEST(ProtocolVersion, Names) {
    EXPECT_EQ(protocolVersionName(ProtocolVersion::kV31), "3.1");
    EXPECT_EQ(protocolVersionName(ProtocolVersion::kV311), "3.1.1");
    EXPECT_EQ(protocolVersionName(ProtocolVersion::kV5), "5.0");
}

}  // namespace
}  // namespace starling::protocol
