// AUTH [MQTT 5.0 section 3.15].
#include "protocol/auth.hpp"

#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::decodedAs;
using test::encoded;
using test::expectRefused;
using test::wire;

constexpr auto kV5 = ProtocolVersion::kV5;

TEST(Auth, SuccessWithoutPropertiesIsEmptyByteExact) {
    EXPECT_EQ(encoded(Auth{}, kV5), wire({0xF0, 0x00}));
    EXPECT_EQ(decodedAs<Auth>(wire({0xF0, 0x00}), kV5).reason, ReasonCode::kSuccess);
}

TEST(Auth, ContinueWithMethodByteExact) {
    Auth a;
    a.reason = ReasonCode::kContinueAuthentication;
    a.properties.authentication_method = "m";
    const Bytes expected = wire({0xF0, 0x06, 0x18, 0x04, 0x15, 0x00, 0x01, 'm'});
    EXPECT_EQ(encoded(a, kV5), expected);
    auto d = decodedAs<Auth>(expected, kV5);
    EXPECT_EQ(d.reason, ReasonCode::kContinueAuthentication);
    EXPECT_EQ(d.properties.authentication_method, "m");
}

TEST(Auth, ReAuthenticateWithoutPropertiesKeepsPropertyLength) {
    Auth a;
    a.reason = ReasonCode::kReAuthenticate;
    EXPECT_EQ(encoded(a, kV5), wire({0xF0, 0x02, 0x19, 0x00}));
}

// AUTH is reserved packet type 15 before MQTT 5.
TEST(Auth, AuthInV311IsProtocolError) {
    expectRefused(wire({0xF0, 0x00}), ProtocolVersion::kV311, ReasonCode::kProtocolError);
    expectRefused(wire({0xF0, 0x00}), ProtocolVersion::kV31, ReasonCode::kProtocolError);
}

// [MQTT-3.15.1-1] reserved flags are 0000.
TEST(Auth, ReservedFlagsAreMalformed_MQTT_3_15_1_1) {
    expectRefused(wire({0xF1, 0x00}), kV5, ReasonCode::kMalformedPacket);
}

// [MQTT-3.15.2-1] only 0x00, 0x18 and 0x19.
TEST(Auth, UndefinedReasonIsProtocolError_MQTT_3_15_2_1) {
    expectRefused(wire({0xF0, 0x02, 0x87, 0x00}), kV5, ReasonCode::kProtocolError);
}

TEST(Auth, PropertyNotAllowedIsProtocolError) {
    // Session Expiry Interval in AUTH.
    expectRefused(wire({0xF0, 0x07, 0x18, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01}), kV5, ReasonCode::kProtocolError);
}

TEST(Auth, TrailingGarbageIsMalformed) {
    expectRefused(wire({0xF0, 0x03, 0x18, 0x00, 0x00}), kV5, ReasonCode::kMalformedPacket);
}

}  // namespace
}  // namespace starling::protocol
