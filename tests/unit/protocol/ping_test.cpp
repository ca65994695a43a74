// PINGREQ and PINGRESP [MQTT 5.0 sections 3.12, 3.13].
#include "protocol/ping.hpp"

#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::expectRefused;
using test::wire;

TEST(Ping, ByteExact) {
    Bytes out;
    encodePingreq(out);
    encodePingresp(out);
    EXPECT_EQ(out, wire({0xC0, 0x00, 0xD0, 0x00}));
    for (auto v : test::kAllVersions) {
        auto req = test::decodeWire(wire({0xC0, 0x00}), v);
        ASSERT_TRUE(req);
        EXPECT_TRUE(std::holds_alternative<Pingreq>(*req));
        auto resp = test::decodeWire(wire({0xD0, 0x00}), v);
        ASSERT_TRUE(resp);
        EXPECT_TRUE(std::holds_alternative<Pingresp>(*resp));
    }
}

// [MQTT-2.2.2-1] reserved flags are 0000.
TEST(Ping, ReservedFlagsAreMalformed_MQTT_2_2_2_1) {
    expectRefused(wire({0xC1, 0x00}), ProtocolVersion::kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0xD8, 0x00}), ProtocolVersion::kV5, ReasonCode::kMalformedPacket);
}

TEST(Ping, TrailingGarbageIsMalformed) {
    expectRefused(wire({0xC0, 0x01, 0x00}), ProtocolVersion::kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0xD0, 0x01, 0x00}), ProtocolVersion::kV5, ReasonCode::kMalformedPacket);
}

}  // namespace
}  // namespace starling::protocol
