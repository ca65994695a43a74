// UNSUBSCRIBE [MQTT 3.1.1 section 3.10, MQTT 5.0 section 3.10].
#include "protocol/unsubscribe.hpp"

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

TEST(Unsubscribe, Version311ByteExact) {
    const Bytes expected = wire({0xA2, 0x0A, 0x00, 0x02, 0x00, 0x01, 'a', 0x00, 0x03, 'b', '/', '#'});
    Unsubscribe u;
    u.packet_id = 2;
    u.filters = {"a", "b/#"};
    EXPECT_EQ(encoded(u, kV311), expected);
    auto d = decodedAs<Unsubscribe>(expected, kV311);
    EXPECT_EQ(d.packet_id, 2);
    EXPECT_EQ(d.filters, (std::vector<std::string_view>{"a", "b/#"}));
}

TEST(Unsubscribe, V5WithUserPropertyByteExact) {
    const Bytes expected = wire({0xA2, 0x0B, 0x00, 0x02, 0x05, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, '+'});
    Unsubscribe u;
    u.packet_id = 2;
    u.properties.user_properties = {{"", ""}};
    u.filters = {"+"};
    EXPECT_EQ(test::hex(encoded(u, kV5)), test::hex(expected));
    auto d = decodedAs<Unsubscribe>(expected, kV5);
    EXPECT_EQ(d.properties, u.properties);
}

// [MQTT-3.10.1-1] UNSUBSCRIBE flags are 0010.
TEST(Unsubscribe, WrongFixedHeaderFlagsAreMalformed_MQTT_3_10_1_1) {
    expectRefused(wire({0xA0, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'}), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.10.3-2] at least one filter.
TEST(Unsubscribe, EmptyFilterListIsProtocolError_MQTT_3_10_3_2) {
    expectRefused(wire({0xA2, 0x02, 0x00, 0x01}), kV311, ReasonCode::kProtocolError);
    expectRefused(wire({0xA2, 0x03, 0x00, 0x01, 0x00}), kV5, ReasonCode::kProtocolError);
}

// [MQTT-2.3.1-1] (3.1.1) / [MQTT-2.2.1-3] (5.0) a non-zero packet identifier.
TEST(Unsubscribe, PacketIdZeroIsRefused_MQTT_2_3_1_1) {
    expectRefused(wire({0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, 'a'}), kV311, ReasonCode::kProtocolError);
}

// [MQTT-4.7.1-1] an invalid filter.
TEST(Unsubscribe, InvalidFilterIsRefused_MQTT_4_7_1_1) {
    expectRefused(wire({0xA2, 0x06, 0x00, 0x01, 0x00, 0x02, '#', 'a'}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0xA2, 0x07, 0x00, 0x01, 0x00, 0x00, 0x02, '#', 'a'}), kV5, ReasonCode::kTopicFilterInvalid);
    expectRefused(wire({0xA2, 0x04, 0x00, 0x01, 0x00, 0x00}), kV311, ReasonCode::kMalformedPacket);  // empty filter
}

// [MQTT-3.10.3-1] filters are UTF-8.
TEST(Unsubscribe, BadUtf8FilterIsMalformed_MQTT_3_10_3_1) {
    expectRefused(wire({0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, 0x80}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0xA2, 0x05, 0x00, 0x01, 0x00, 0x03, 'a'}), kV311, ReasonCode::kMalformedPacket);
}

}  // namespace
}  // namespace starling::protocol
