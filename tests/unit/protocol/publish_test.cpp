// PUBLISH [MQTT 3.1.1 section 3.3, MQTT 5.0 section 3.3].
#include "protocol/publish.hpp"

#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::decodedAs;
using test::encoded;
using test::expectRefused;
using test::str;
using test::wire;

constexpr auto kV311 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;

// QoS 1, topic "a/b", id 10, Payload Format 1, Message Expiry 60, one user property, payload "hi".
const Bytes kQos1V5 = wire({0x32, 0x18, 0x00, 0x03, 'a',  '/',  'b',  0x00, 0x0A, 0x0E, 0x01, 0x01, 0x02,
                            0x00, 0x00, 0x00, 0x3C, 0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v',  'h',  'i'});

TEST(Publish, Qos1WithPropertiesByteExact) {
    Publish p;
    p.qos = QoS::kAtLeastOnce;
    p.topic = "a/b";
    p.packet_id = 10;
    p.properties.payload_format_indicator = 1;
    p.properties.message_expiry_interval = 60;
    p.properties.user_properties = {{"k", "v"}};
    p.payload = "hi";
    EXPECT_EQ(test::hex(encoded(p, kV5)), test::hex(kQos1V5));

    auto d = decodedAs<Publish>(kQos1V5, kV5);
    EXPECT_FALSE(d.dup);
    EXPECT_FALSE(d.retain);
    EXPECT_EQ(d.qos, QoS::kAtLeastOnce);
    EXPECT_EQ(d.topic, "a/b");
    EXPECT_EQ(d.packet_id, 10);
    EXPECT_EQ(d.properties, p.properties);
    EXPECT_EQ(d.payload, "hi");
}

TEST(Publish, Qos0RetainedByteExact311) {
    const Bytes expected = wire({0x31, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'});
    Publish p;
    p.retain = true;
    p.topic = "a/b";
    p.payload = "hi";
    EXPECT_EQ(encoded(p, kV311), expected);
    auto d = decodedAs<Publish>(expected, kV311);
    EXPECT_TRUE(d.retain);
    EXPECT_EQ(d.packet_id, 0);
    EXPECT_EQ(d.payload, "hi");
}

TEST(Publish, Qos2DupEmptyPayloadByteExact311) {
    const Bytes expected = wire({0x3C, 0x05, 0x00, 0x01, 't', 0x12, 0x34});
    Publish p;
    p.dup = true;
    p.qos = QoS::kExactlyOnce;
    p.topic = "t";
    p.packet_id = 0x1234;
    EXPECT_EQ(encoded(p, kV311), expected);
    auto d = decodedAs<Publish>(expected, kV311);
    EXPECT_TRUE(d.dup);
    EXPECT_EQ(d.qos, QoS::kExactlyOnce);
    EXPECT_TRUE(d.payload.empty());
}

TEST(Publish, ViewsPointIntoTheInput) {
    auto r = FrameSplitter().next(test::span(kQos1V5));
    auto d = decodePublish(r.frame.flags(), r.frame.body, kV5);
    ASSERT_TRUE(d);
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(d->topic.data()), kQos1V5.data() + 4);
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(d->payload.data()), kQos1V5.data() + 24);
}

// [MQTT-3.3.1-4] QoS 3 is malformed.
TEST(Publish, Qos3IsMalformed_MQTT_3_3_1_4) {
    expectRefused(wire({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x36, 0x06, 0x00, 0x01, 't', 0x00, 0x01, 0x00}), kV5, ReasonCode::kMalformedPacket);
}

// [MQTT-3.3.1-2] DUP is 0 on QoS 0.
TEST(Publish, DupOnQos0IsMalformed_MQTT_3_3_1_2) {
    expectRefused(wire({0x38, 0x03, 0x00, 0x01, 't'}), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-2.3.1-1] (3.1.1) / [MQTT-2.2.1-3] (5.0) QoS > 0 needs a non-zero packet identifier.
TEST(Publish, PacketIdZeroIsRefused_MQTT_2_3_1_1) {
    expectRefused(wire({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), kV311, ReasonCode::kProtocolError);
    expectRefused(wire({0x34, 0x06, 0x00, 0x01, 't', 0x00, 0x00, 0x00}), kV5, ReasonCode::kProtocolError);
}

// [MQTT-3.3.2-2] [MQTT-4.7.0-1] no wildcards in a topic name.
TEST(Publish, WildcardInTopicNameIsRefused_MQTT_3_3_2_2) {
    expectRefused(wire({0x30, 0x05, 0x00, 0x03, 'a', '/', '+'}), kV311, ReasonCode::kTopicNameInvalid);
    expectRefused(wire({0x30, 0x04, 0x00, 0x01, '#', 0x00}), kV5, ReasonCode::kTopicNameInvalid);
}

// [MQTT-3.3.2-1] [MQTT-1.5.4-1] the topic is UTF-8: surrogates, U+0000, overlongs refused.
TEST(Publish, BadUtf8TopicIsMalformed_MQTT_3_3_2_1) {
    expectRefused(wire({0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x30, 0x05, 0x00, 0x03, 'a', 0x00, 'b'}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x30, 0x04, 0x00, 0x02, 0xC0, 0xAF}), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-4.7.3-1] an empty topic before v5.
TEST(Publish, EmptyTopicBeforeV5IsMalformed_MQTT_4_7_3_1) {
    expectRefused(wire({0x30, 0x02, 0x00, 0x00}), kV311, ReasonCode::kMalformedPacket);
}

// In v5 an empty topic needs a Topic Alias (section 3.3.2.1).
TEST(Publish, EmptyTopicV5NeedsTopicAlias) {
    expectRefused(wire({0x30, 0x03, 0x00, 0x00, 0x00}), kV5, ReasonCode::kProtocolError);
    auto d = decodedAs<Publish>(wire({0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x07}), kV5);
    EXPECT_EQ(d.topic, "");
    EXPECT_EQ(d.properties.topic_alias, 7);
}

TEST(Publish, TopicLengthOverTheDataIsMalformed) {
    expectRefused(wire({0x30, 0x03, 0x00, 0x0A, 'a'}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x32, 0x04, 0x00, 0x01, 't', 0x00}), kV311, ReasonCode::kMalformedPacket);  // half an id
}

TEST(Publish, PropertyNotAllowedIsProtocolError) {
    // Session Expiry Interval in PUBLISH.
    expectRefused(wire({0x30, 0x09, 0x00, 0x01, 't', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01}), kV5,
                  ReasonCode::kProtocolError);
}

TEST(Publish, DuplicatePropertyIsProtocolError) {
    expectRefused(wire({0x30, 0x08, 0x00, 0x01, 't', 0x04, 0x01, 0x00, 0x01, 0x00}), kV5, ReasonCode::kProtocolError);
}

TEST(Publish, PropertyLengthPastTheBodyIsMalformed) {
    expectRefused(wire({0x30, 0x05, 0x00, 0x01, 't', 0x09, 0x01}), kV5, ReasonCode::kMalformedPacket);
}

// [MQTT-3.3.4-4] several subscription identifiers in one PUBLISH to a client.
TEST(Publish, SeveralSubscriptionIdentifiers_MQTT_3_3_4_4) {
    Publish p;
    p.topic = "t";
    p.properties.subscription_identifiers = {1, 1000, kMaxVarint};
    auto d = decodedAs<Publish>(encoded(p, kV5), kV5);
    EXPECT_EQ(d.properties.subscription_identifiers, p.properties.subscription_identifiers);
}

// The header for zero-copy fan-out plus the shared property block and payload equals the full encoding.
TEST(Publish, HeaderPlusSharedTailEqualsFullEncoding) {
    for (auto v : test::kAllVersions) {
        Publish full;
        full.qos = QoS::kAtLeastOnce;
        full.packet_id = 99;
        full.topic = "fan/out";
        full.payload = "payload bytes";
        if (v == kV5) {
            full.properties.subscription_identifiers = {4};  // per subscriber
            full.properties.user_properties = {{"shared", "yes"}};
        }
        Bytes expected = encoded(full, v);

        Publish own = full;
        own.properties.user_properties.clear();  // shared: written by the caller
        Properties shared;
        shared.user_properties = full.properties.user_properties;
        Bytes shared_bytes;
        if (v == kV5) encodePropertyList(shared_bytes, shared);

        Bytes out = {0xAA};  // appends after what is there
        encodePublishHeader(out, own, shared_bytes.size(), full.payload.size(), v);
        out.insert(out.end(), shared_bytes.begin(), shared_bytes.end());
        out.insert(out.end(), full.payload.begin(), full.payload.end());
        EXPECT_EQ(test::hex(Bytes(out.begin() + 1, out.end())), test::hex(expected)) << protocolVersionName(v);
        EXPECT_EQ(out[0], 0xAA);
    }
}

TEST(Publish, LargePayloadUsesLongRemainingLength) {
    std::string payload(100'000, 'p');  // three-byte remaining length
    Publish p;
    p.topic = "big";
    p.payload = payload;
    Bytes b = encoded(p, kV311);
    EXPECT_EQ(b[1] & 0x80, 0x80);
    EXPECT_EQ(b[2] & 0x80, 0x80);
    EXPECT_EQ(b[3] & 0x80, 0x00);
    EXPECT_EQ(decodedAs<Publish>(b, kV311).payload.size(), payload.size());
}

}  // namespace
}  // namespace starling::protocol
