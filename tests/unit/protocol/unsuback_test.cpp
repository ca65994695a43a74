// UNSUBACK [MQTT 3.1.1 section 3.11, MQTT 5.0 section 3.11].
#include "protocol/unsuback.hpp"

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

TEST(Unsuback, Version311ByteExact) {
    Unsuback u;
    u.packet_id = 2;
    u.codes = {0x11};  // not sent before v5
    EXPECT_EQ(encoded(u, kV311), wire({0xB0, 0x02, 0x00, 0x02}));
    auto d = decodedAs<Unsuback>(wire({0xB0, 0x02, 0x00, 0x02}), kV311);
    EXPECT_EQ(d.packet_id, 2);
    EXPECT_TRUE(d.codes.empty());
}

// [MQTT-3.11.3-1] one reason code per filter, in order.
TEST(Unsuback, V5ByteExact_MQTT_3_11_3_1) {
    Unsuback u;
    u.packet_id = 2;
    u.codes = {0x00, 0x11};
    EXPECT_EQ(encoded(u, kV5), wire({0xB0, 0x05, 0x00, 0x02, 0x00, 0x00, 0x11}));
    auto d = decodedAs<Unsuback>(wire({0xB0, 0x05, 0x00, 0x02, 0x00, 0x00, 0x11}), kV5);
    EXPECT_EQ(d.codes, u.codes);
}

TEST(Unsuback, V5UndefinedCodeIsProtocolError) {
    expectRefused(wire({0xB0, 0x04, 0x00, 0x02, 0x00, 0x01}), kV5, ReasonCode::kProtocolError);
}

TEST(Unsuback, V5WithoutCodesIsProtocolError) {
    expectRefused(wire({0xB0, 0x03, 0x00, 0x02, 0x00}), kV5, ReasonCode::kProtocolError);
}

TEST(Unsuback, TrailingGarbage311IsMalformed) {
    expectRefused(wire({0xB0, 0x03, 0x00, 0x02, 0x00}), kV311, ReasonCode::kMalformedPacket);
}

TEST(Unsuback, ReservedFlagsAreMalformed) {
    expectRefused(wire({0xB1, 0x02, 0x00, 0x02}), kV311, ReasonCode::kMalformedPacket);
}

}  // namespace
}  // namespace starling::protocol
