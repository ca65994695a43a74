// PUBACK, PUBREC, PUBREL, PUBCOMP [MQTT 5.0 sections 3.4-3.7].
#include "protocol/pub_ack.hpp"

#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::decodedAs;
using test::encoded;
using test::expectRefused;
using test::wire;

constexpr auto kV311 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;

PubAck ack(PacketType t, uint16_t id, ReasonCode rc = ReasonCode::kSuccess) {
    PubAck a;
    a.type = t;
    a.packet_id = id;
    a.reason = rc;
    return a;
}

// v5 leaves out the reason code and property length for Success without properties (section 3.4.2.1).
TEST(PubAck, ShortFormV5ByteExact) {
    EXPECT_EQ(encoded(ack(PacketType::kPuback, 10), kV5), wire({0x40, 0x02, 0x00, 0x0A}));
    EXPECT_EQ(encoded(ack(PacketType::kPubrec, 10), kV5), wire({0x50, 0x02, 0x00, 0x0A}));
    EXPECT_EQ(encoded(ack(PacketType::kPubrel, 10), kV5), wire({0x62, 0x02, 0x00, 0x0A}));
    EXPECT_EQ(encoded(ack(PacketType::kPubcomp, 10), kV5), wire({0x70, 0x02, 0x00, 0x0A}));
    auto d = decodedAs<PubAck>(wire({0x40, 0x02, 0x00, 0x0A}), kV5);
    EXPECT_EQ(d.type, PacketType::kPuback);
    EXPECT_EQ(d.packet_id, 10);
    EXPECT_EQ(d.reason, ReasonCode::kSuccess);
    EXPECT_TRUE(d.properties.empty());
}

TEST(PubAck, ReasonWithoutPropertiesV5ByteExact) {
    EXPECT_EQ(encoded(ack(PacketType::kPuback, 10, ReasonCode::kNoMatchingSubscribers), kV5),
              wire({0x40, 0x03, 0x00, 0x0A, 0x10}));
    auto d = decodedAs<PubAck>(wire({0x40, 0x03, 0x00, 0x0A, 0x10}), kV5);
    EXPECT_EQ(d.reason, ReasonCode::kNoMatchingSubscribers);
    // With an explicit empty property length, too.
    auto e = decodedAs<PubAck>(wire({0x40, 0x04, 0x00, 0x0A, 0x10, 0x00}), kV5);
    EXPECT_EQ(e.reason, ReasonCode::kNoMatchingSubscribers);
}

TEST(PubAck, ReasonStringV5ByteExact) {
    PubAck a = ack(PacketType::kPubrec, 3, ReasonCode::kQuotaExceeded);
    a.properties.reason_string = "full";
    const Bytes expected = wire({0x50, 0x0B, 0x00, 0x03, 0x97, 0x07, 0x1F, 0x00, 0x04, 'f', 'u', 'l', 'l'});
    EXPECT_EQ(test::hex(encoded(a, kV5)), test::hex(expected));
    auto d = decodedAs<PubAck>(expected, kV5);
    EXPECT_EQ(d.properties.reason_string, "full");
}

TEST(PubAck, Version311ByteExactAndIgnoresReason) {
    EXPECT_EQ(encoded(ack(PacketType::kPuback, 0x1234, ReasonCode::kUnspecifiedError), kV311),
              wire({0x40, 0x02, 0x12, 0x34}));
    EXPECT_EQ(encoded(ack(PacketType::kPubrel, 1), kV311), wire({0x62, 0x02, 0x00, 0x01}));
}

// [MQTT-3.6.1-1] PUBREL flags are 0010; [MQTT-2.2.2-1] the others' are 0000.
TEST(PubAck, PubrelWithWrongFlagsIsMalformed_MQTT_3_6_1_1) {
    expectRefused(wire({0x60, 0x02, 0x00, 0x01}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x63, 0x02, 0x00, 0x01}), kV5, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x42, 0x02, 0x00, 0x01}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x51, 0x02, 0x00, 0x01}), kV5, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x72, 0x02, 0x00, 0x01}), kV5, ReasonCode::kMalformedPacket);
}

// [MQTT-2.3.1-6] (3.1.1) / [MQTT-2.2.1-5] (5.0): the id echoes a PUBLISH, which never uses 0.
TEST(PubAck, PacketIdZeroIsRefused_MQTT_2_2_1_5) {
    expectRefused(wire({0x40, 0x02, 0x00, 0x00}), kV311, ReasonCode::kProtocolError);
    expectRefused(wire({0x70, 0x02, 0x00, 0x00}), kV5, ReasonCode::kProtocolError);
}

// [MQTT-3.4.2-1] [MQTT-3.6.2-1] only the reason codes defined for the type.
TEST(PubAck, ReasonCodeNotDefinedForTypeIsRefused_MQTT_3_4_2_1) {
    expectRefused(wire({0x40, 0x03, 0x00, 0x01, 0x92}), kV5, ReasonCode::kProtocolError);  // PUBACK 0x92
    expectRefused(wire({0x62, 0x03, 0x00, 0x01, 0x10}), kV5, ReasonCode::kProtocolError);  // PUBREL 0x10
    expectRefused(wire({0x50, 0x03, 0x00, 0x01, 0x05}), kV5, ReasonCode::kProtocolError);
    auto d = decodedAs<PubAck>(wire({0x62, 0x03, 0x00, 0x01, 0x92}), kV5);
    EXPECT_EQ(d.reason, ReasonCode::kPacketIdentifierNotFound);
}

TEST(PubAck, TrailingGarbageIsMalformed) {
    expectRefused(wire({0x40, 0x03, 0x00, 0x01, 0x00}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0xFF}), kV5, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x40, 0x01, 0x00}), kV5, ReasonCode::kMalformedPacket);
}

TEST(PubAck, PropertyNotAllowedIsProtocolError) {
    // Topic Alias in PUBACK.
    expectRefused(wire({0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01}), kV5, ReasonCode::kProtocolError);
}

}  // namespace
}  // namespace starling::protocol
