// DISCONNECT [MQTT 3.1.1 section 3.14, MQTT 5.0 section 3.14].
#include "protocol/disconnect.hpp"

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

TEST(Disconnect, NormalByteExactInEveryVersion) {
    for (auto v : test::kAllVersions) {
        EXPECT_EQ(encoded(Disconnect{}, v), wire({0xE0, 0x00}));
        auto d = decodedAs<Disconnect>(wire({0xE0, 0x00}), v);
        EXPECT_EQ(d.reason, ReasonCode::kNormalDisconnection);
    }
}

TEST(Disconnect, V5ReasonOnlyByteExact) {
    Disconnect d;
    d.reason = ReasonCode::kSessionTakenOver;
    EXPECT_EQ(encoded(d, kV5), wire({0xE0, 0x01, 0x8E}));
    EXPECT_EQ(decodedAs<Disconnect>(wire({0xE0, 0x01, 0x8E}), kV5).reason, ReasonCode::kSessionTakenOver);
    EXPECT_EQ(encoded(d, kV311), wire({0xE0, 0x00}));  // no reason before v5
}

TEST(Disconnect, V5WithPropertiesByteExact) {
    Disconnect d;
    d.reason = ReasonCode::kDisconnectWithWillMessage;
    d.properties.session_expiry_interval = 0;
    const Bytes expected = wire({0xE0, 0x07, 0x04, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00});
    EXPECT_EQ(encoded(d, kV5), expected);
    auto back = decodedAs<Disconnect>(expected, kV5);
    EXPECT_EQ(back.reason, ReasonCode::kDisconnectWithWillMessage);
    EXPECT_EQ(back.properties.session_expiry_interval, 0u);
}

// [MQTT-3.14.1-1] reserved flags are 0000.
TEST(Disconnect, ReservedFlagsAreMalformed_MQTT_3_14_1_1) {
    expectRefused(wire({0xE1, 0x00}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0xE4, 0x00}), kV5, ReasonCode::kMalformedPacket);
}

// [MQTT-3.14.2-1] only DISCONNECT reason codes.
TEST(Disconnect, UndefinedReasonIsProtocolError_MQTT_3_14_2_1) {
    expectRefused(wire({0xE0, 0x01, 0x10}), kV5, ReasonCode::kProtocolError);
    expectRefused(wire({0xE0, 0x01, 0x84}), kV5, ReasonCode::kProtocolError);
}

TEST(Disconnect, TrailingGarbageIsMalformed) {
    expectRefused(wire({0xE0, 0x01, 0x00}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0xE0, 0x03, 0x00, 0x00, 0x00}), kV5, ReasonCode::kMalformedPacket);
}

TEST(Disconnect, PropertyNotAllowedIsProtocolError) {
    // Maximum Packet Size belongs to CONNECT/CONNACK.
    expectRefused(wire({0xE0, 0x07, 0x00, 0x05, 0x27, 0x00, 0x00, 0x01, 0x00}), kV5, ReasonCode::kProtocolError);
}

}  // namespace
}  // namespace starling::protocol
