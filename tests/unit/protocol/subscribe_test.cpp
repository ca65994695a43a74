// SUBSCRIBE [MQTT 3.1.1 section 3.8, MQTT 5.0 section 3.8].
#include "protocol/subscribe.hpp"

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

constexpr auto kV311 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;

// Subscription Identifier 5; "a/+" QoS 2 + No Local + Retain As Published + Retain Handling 2;
// "$share/g/x" QoS 1.
const Bytes kV5Options = wire({0x82, 0x18, 0x00, 0x01, 0x02, 0x0B, 0x05, 0x00, 0x03, 'a', '/', '+', 0x2E, 0x00, 0x0A}) +
                         str("$share/g/x") + wire({0x01});

TEST(Subscribe, V5OptionsByteExact) {
    Subscribe s;
    s.packet_id = 1;
    s.properties.subscription_identifiers = {5};
    TopicSubscription a;
    a.filter = "a/+";
    a.options = {QoS::kExactlyOnce, true, true, 2};
    TopicSubscription b;
    b.filter = "$share/g/x";
    b.options.qos = QoS::kAtLeastOnce;
    s.topics = {a, b};
    EXPECT_EQ(test::hex(encoded(s, kV5)), test::hex(kV5Options));

    auto d = decodedAs<Subscribe>(kV5Options, kV5);
    EXPECT_EQ(d.packet_id, 1);
    EXPECT_EQ(d.properties.subscription_identifiers, std::vector<uint32_t>{5});
    ASSERT_EQ(d.topics.size(), 2u);
    EXPECT_EQ(d.topics[0].filter, "a/+");
    EXPECT_EQ(d.topics[0].options, a.options);
    EXPECT_EQ(d.topics[1].filter, "$share/g/x");
    EXPECT_EQ(d.topics[1].options, b.options);
}

TEST(Subscribe, Version311ByteExact) {
    const Bytes expected = wire({0x82, 0x0A, 0x00, 0x0A, 0x00, 0x01, '#', 0x01, 0x00, 0x01, '+', 0x02});
    Subscribe s;
    s.packet_id = 10;
    s.topics = {{"#", {QoS::kAtLeastOnce}}, {"+", {QoS::kExactlyOnce}}};
    EXPECT_EQ(encoded(s, kV311), expected);
    auto d = decodedAs<Subscribe>(expected, kV311);
    ASSERT_EQ(d.topics.size(), 2u);
    EXPECT_EQ(d.topics[1].options.qos, QoS::kExactlyOnce);
}

// [MQTT-3.8.1-1] SUBSCRIBE flags are 0010.
TEST(Subscribe, WrongFixedHeaderFlagsAreMalformed_MQTT_3_8_1_1) {
    expectRefused(wire({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x83, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-2.3.1-1] (3.1.1) / [MQTT-2.2.1-3] (5.0) a non-zero packet identifier.
TEST(Subscribe, PacketIdZeroIsRefused_MQTT_2_3_1_1) {
    expectRefused(wire({0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a', 0x00}), kV311, ReasonCode::kProtocolError);
}

// [MQTT-3.8.3-3] (3.1.1) / [MQTT-3.8.3-2] (5.0) at least one filter.
TEST(Subscribe, EmptySubscriptionListIsProtocolError_MQTT_3_8_3_3) {
    expectRefused(wire({0x82, 0x02, 0x00, 0x01}), kV311, ReasonCode::kProtocolError);
    expectRefused(wire({0x82, 0x03, 0x00, 0x01, 0x00}), kV5, ReasonCode::kProtocolError);
}

// [MQTT-3.8.3-4] (3.1.1) reserved option bits and QoS 3 are malformed.
TEST(Subscribe, ReservedOptionBits311AreMalformed_MQTT_3_8_3_4) {
    expectRefused(wire({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x04}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.8.3-5] (5.0) reserved bits 6-7 are malformed; QoS 3 too.
TEST(Subscribe, ReservedOptionBitsV5AreMalformed_MQTT_3_8_3_5) {
    expectRefused(wire({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x40}), kV5, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x03}), kV5, ReasonCode::kMalformedPacket);
}

TEST(Subscribe, RetainHandling3IsProtocolError) {
    expectRefused(wire({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x30}), kV5, ReasonCode::kProtocolError);
}

// [MQTT-3.8.3-4] (5.0) No Local on a shared subscription.
TEST(Subscribe, NoLocalOnSharedSubscriptionIsProtocolError_MQTT_3_8_3_4) {
    Bytes b = wire({0x82, 0x10, 0x00, 0x01, 0x00, 0x00, 0x0A}) + str("$share/g/x") + wire({0x04});
    expectRefused(b, kV5, ReasonCode::kProtocolError);
}

// [MQTT-4.7.1-1] '#' last and alone: v5 answers Topic Filter invalid, 3.1.1 closes (malformed).
TEST(Subscribe, HashNotLastIsRefused_MQTT_4_7_1_1) {
    Bytes v311 = wire({0x82, 0x0A, 0x00, 0x01, 0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00});
    expectRefused(v311, kV311, ReasonCode::kMalformedPacket);
    Bytes v5 = wire({0x82, 0x0B, 0x00, 0x01, 0x00, 0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00});
    expectRefused(v5, kV5, ReasonCode::kTopicFilterInvalid);
}

// [MQTT-4.7.1-2] (5.0) / [MQTT-4.7.1-3] (3.1.1) '+' alone in its level.
TEST(Subscribe, PlusNotAloneIsRefused_MQTT_4_7_1_2) {
    expectRefused(wire({0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', 'b', '+', 0x00}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, 'a', '+', 'b', 0x00}), kV5,
                  ReasonCode::kTopicFilterInvalid);
}

TEST(Subscribe, MissingOptionsByteIsMalformed) {
    expectRefused(wire({0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'}), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.8.3-1] filters are UTF-8.
TEST(Subscribe, BadUtf8FilterIsMalformed_MQTT_3_8_3_1) {
    expectRefused(wire({0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 0xED, 0xA0, 0x80, 0x00}), kV311,
                  ReasonCode::kMalformedPacket);
}

TEST(Subscribe, TwoSubscriptionIdentifiersAreProtocolError) {
    expectRefused(wire({0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, 'a', 0x00}), kV5,
                  ReasonCode::kProtocolError);
}

}  // namespace
}  // namespace starling::protocol
