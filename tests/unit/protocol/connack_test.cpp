// CONNACK [MQTT 3.1.1 section 3.2, MQTT 5.0 section 3.2].
#include "protocol/connack.hpp"

#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::decodedAs;
using test::encoded;
using test::expectRefused;
using test::operator+;
using test::str;
using test::wire;

TEST(Connack, SessionPresentAccepted311ByteExact) {
    Connack c;
    c.session_present = true;
    c.code = static_cast<uint8_t>(ConnackCode311::kAccepted);
    EXPECT_EQ(encoded(c, ProtocolVersion::kV311), wire({0x20, 0x02, 0x01, 0x00}));
    auto d = decodedAs<Connack>(wire({0x20, 0x02, 0x01, 0x00}), ProtocolVersion::kV311);
    EXPECT_TRUE(d.session_present);
    EXPECT_EQ(d.code, 0);
}

TEST(Connack, RefusedCode311ByteExact) {
    Connack c;
    c.code = static_cast<uint8_t>(ConnackCode311::kUnacceptableProtocolVersion);
    EXPECT_EQ(encoded(c, ProtocolVersion::kV311), wire({0x20, 0x02, 0x00, 0x01}));
}

// MQTT 3.1 has no Session Present flag: the byte is sent as 0 and ignored on receipt.
TEST(Connack, Mqtt31HasNoSessionPresent) {
    Connack c;
    c.session_present = true;
    EXPECT_EQ(encoded(c, ProtocolVersion::kV31), wire({0x20, 0x02, 0x00, 0x00}));
    EXPECT_FALSE(decodedAs<Connack>(wire({0x20, 0x02, 0x01, 0x00}), ProtocolVersion::kV31).session_present);
}

TEST(Connack, V5WithPropertiesByteExact) {
    const Bytes expected = wire({0x20, 0x0F, 0x00, 0x00, 0x0C, 0x12, 0x00, 0x03}) + str("xyz") +
                           wire({0x21, 0x00, 0x0A, 0x22, 0x00, 0x05});
    Connack c;
    c.code = static_cast<uint8_t>(ReasonCode::kSuccess);
    c.properties.assigned_client_identifier = "xyz";
    c.properties.receive_maximum = 10;
    c.properties.topic_alias_maximum = 5;
    EXPECT_EQ(test::hex(encoded(c, ProtocolVersion::kV5)), test::hex(expected));
    auto d = decodedAs<Connack>(expected, ProtocolVersion::kV5);
    EXPECT_EQ(d.properties, c.properties);
}

TEST(Connack, V5FailureByteExact) {
    Connack c;
    c.code = static_cast<uint8_t>(ReasonCode::kBadUserNameOrPassword);
    EXPECT_EQ(encoded(c, ProtocolVersion::kV5), wire({0x20, 0x03, 0x00, 0x86, 0x00}));
}

// [MQTT-3.2.2-1] acknowledge flags bits 7-1 are reserved (3.1.1 and 5.0).
TEST(Connack, ReservedAcknowledgeFlagsAreMalformed_MQTT_3_2_2_1) {
    expectRefused(wire({0x20, 0x02, 0x02, 0x00}), ProtocolVersion::kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x20, 0x03, 0x80, 0x00, 0x00}), ProtocolVersion::kV5, ReasonCode::kMalformedPacket);
}

// [MQTT-2.2.2-1] fixed-header flags 0000.
TEST(Connack, ReservedFixedHeaderFlagsAreMalformed_MQTT_2_2_2_1) {
    expectRefused(wire({0x21, 0x02, 0x00, 0x00}), ProtocolVersion::kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.2.2-8] only the CONNACK reason codes.
TEST(Connack, UndefinedReasonCodeIsRefused_MQTT_3_2_2_8) {
    expectRefused(wire({0x20, 0x03, 0x00, 0x04, 0x00}), ProtocolVersion::kV5, ReasonCode::kProtocolError);
    expectRefused(wire({0x20, 0x02, 0x00, 0x06}), ProtocolVersion::kV311, ReasonCode::kProtocolError);
}

TEST(Connack, TruncatedOrTrailingIsMalformed) {
    expectRefused(wire({0x20, 0x01, 0x00}), ProtocolVersion::kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x20, 0x03, 0x00, 0x00, 0x00}), ProtocolVersion::kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x20, 0x02, 0x00, 0x00}), ProtocolVersion::kV5, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x20, 0x04, 0x00, 0x00, 0x00, 0x00}), ProtocolVersion::kV5, ReasonCode::kMalformedPacket);
}

}  // namespace
}  // namespace starling::protocol
