// MQTT 5 properties [MQTT 5.0 section 2.2.2]: table, contexts, repeat rules, value ranges, encoding.
#include "protocol/properties.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::span;
using test::str;
using test::wire;

DecodeResult<Properties> decodeBlock(const Bytes& b, PropertyContext ctx) {
    Reader r(span(b));
    auto p = decodeProperties(r, ctx);
    if (p) {
        EXPECT_TRUE(r.empty());
    }
    return p;
}

void expectRefused(const Bytes& b, PropertyContext ctx, ReasonCode reason) {
    auto p = decodeBlock(b, ctx);
    ASSERT_FALSE(p.ok()) << test::hex(b);
    EXPECT_EQ(static_cast<int>(p.error().reason), static_cast<int>(reason)) << p.error().rule;
}

TEST(PropertyTable, KnowsEveryIdentifierWithItsType) {
    const uint8_t known[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19,
                             0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};
    int count = 0;
    for (int id = 0; id < 256; ++id) {
        const PropertyInfo* info = propertyInfo(static_cast<uint8_t>(id));
        bool expected = std::find(std::begin(known), std::end(known), id) != std::end(known);
        EXPECT_EQ(info != nullptr, expected) << id;
        if (info) {
            EXPECT_EQ(static_cast<int>(info->id), id);
            EXPECT_NE(info->name, nullptr);
            ++count;
        }
    }
    EXPECT_EQ(count, 27);
    EXPECT_EQ(propertyInfo(0x26)->type, PropertyType::kUtf8Pair);
    EXPECT_EQ(propertyInfo(0x0B)->type, PropertyType::kVarint);
    EXPECT_EQ(propertyInfo(0x09)->type, PropertyType::kBinary);
    EXPECT_EQ(propertyInfo(0x13)->type, PropertyType::kTwoByteInt);
    EXPECT_EQ(propertyInfo(0x27)->type, PropertyType::kFourByteInt);
    EXPECT_STREQ(propertyInfo(0x1F)->name, "Reason String");
}

TEST(PropertyTable, ContextsFollowTheSpecification) {
    EXPECT_TRUE(propertyAllowed(PropertyId::kWillDelayInterval, PropertyContext::kWill));
    EXPECT_FALSE(propertyAllowed(PropertyId::kWillDelayInterval, PropertyContext::kConnect));
    EXPECT_TRUE(propertyAllowed(PropertyId::kSubscriptionIdentifier, PropertyContext::kSubscribe));
    EXPECT_TRUE(propertyAllowed(PropertyId::kSubscriptionIdentifier, PropertyContext::kPublish));
    EXPECT_FALSE(propertyAllowed(PropertyId::kSubscriptionIdentifier, PropertyContext::kWill));
    EXPECT_TRUE(propertyAllowed(PropertyId::kSessionExpiryInterval, PropertyContext::kDisconnect));
    EXPECT_FALSE(propertyAllowed(PropertyId::kSessionExpiryInterval, PropertyContext::kPublish));
    EXPECT_FALSE(propertyAllowed(PropertyId::kReasonString, PropertyContext::kPublish));
    EXPECT_TRUE(propertyAllowed(PropertyId::kReasonString, PropertyContext::kAuth));
    EXPECT_FALSE(propertyAllowed(PropertyId::kReasonString, PropertyContext::kSubscribe));
    EXPECT_TRUE(propertyAllowed(PropertyId::kServerReference, PropertyContext::kDisconnect));
    for (int c = 0; c <= static_cast<int>(PropertyContext::kAuth); ++c) {
        EXPECT_TRUE(propertyAllowed(PropertyId::kUserProperty, static_cast<PropertyContext>(c))) << c;
    }
}

// [MQTT-2.2.2-1] no properties: a property length of zero.
TEST(Properties, EmptyIsAZeroLength_MQTT_2_2_2_1) {
    Properties p;
    EXPECT_TRUE(p.empty());
    EXPECT_EQ(propertiesSize(p), 0u);
    Bytes out;
    encodeProperties(out, p);
    EXPECT_EQ(out, wire({0x00}));
    auto d = decodeBlock(out, PropertyContext::kPublish);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->empty());
}

TEST(Properties, EncodesInIdentifierOrderByteExact) {
    Properties p;
    p.user_properties = {{"a", "1"}};
    p.topic_alias = 5;
    p.subscription_identifiers = {200};
    p.payload_format_indicator = 1;
    p.correlation_data = std::string_view("\x00\xFF", 2);
    Bytes out;
    encodeProperties(out, p);
    // 01 01 | 09 00 02 00 FF | 0B C8 01 | 23 00 05 | 26 00 01 'a' 00 01 '1'
    Bytes expected = wire({0x14, 0x01, 0x01, 0x09, 0x00, 0x02, 0x00, 0xFF, 0x0B, 0xC8, 0x01,
                           0x23, 0x00, 0x05, 0x26, 0x00, 0x01, 'a',  0x00, 0x01, '1'});
    EXPECT_EQ(test::hex(out), test::hex(expected));
    EXPECT_EQ(propertiesSize(p), expected.size() - 1);
    Bytes list;
    encodePropertyList(list, p);
    EXPECT_EQ(list, Bytes(expected.begin() + 1, expected.end()));
    auto d = decodeBlock(out, PropertyContext::kPublish);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, p);
}

TEST(Properties, EveryConnackPropertyRoundTrips) {
    Properties p;
    p.session_expiry_interval = 0xFFFFFFFF;
    p.assigned_client_identifier = "auto-1";
    p.server_keep_alive = 30;
    p.authentication_method = "SCRAM-SHA-1";
    p.authentication_data = std::string_view("\x01\x00\x02", 3);
    p.response_information = "resp/";
    p.server_reference = "other:1883";
    p.reason_string = "fine";
    p.receive_maximum = 10;
    p.topic_alias_maximum = 0;
    p.maximum_qos = 1;
    p.retain_available = 0;
    p.user_properties = {{"k", "v"}, {"k", "v2"}};
    p.maximum_packet_size = 1024;
    p.wildcard_subscription_available = 1;
    p.subscription_identifier_available = 0;
    p.shared_subscription_available = 1;
    Bytes out;
    encodeProperties(out, p);
    auto d = decodeBlock(out, PropertyContext::kConnack);
    ASSERT_TRUE(d) << d.error().rule;
    EXPECT_EQ(*d, p);
}

TEST(Properties, EveryPublishAndWillPropertyRoundTrips) {
    Properties p;
    p.payload_format_indicator = 0;
    p.message_expiry_interval = 60;
    p.content_type = "text/plain";
    p.response_topic = "reply/here";
    p.correlation_data = "id-7";
    p.user_properties = {{"x", "y"}};
    Properties w = p;
    w.will_delay_interval = 5;
    Bytes out;
    encodeProperties(out, w);
    auto d = decodeBlock(out, PropertyContext::kWill);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, w);
    // Will Delay Interval exists only among the will properties.
    expectRefused(out, PropertyContext::kPublish, ReasonCode::kProtocolError);
}

TEST(Properties, EveryConnectPropertyRoundTrips) {
    Properties p;
    p.session_expiry_interval = 10;
    p.authentication_method = "m";
    p.authentication_data = "d";
    p.request_problem_information = 0;
    p.request_response_information = 1;
    p.receive_maximum = 65535;
    p.topic_alias_maximum = 10;
    p.maximum_packet_size = 268435460;
    p.user_properties = {{"", ""}};
    Bytes out;
    encodeProperties(out, p);
    auto d = decodeBlock(out, PropertyContext::kConnect);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, p);
}

// [MQTT-3.3.2-18] user properties keep their order, and may repeat (even the same name).
TEST(Properties, UserPropertiesRepeatInOrder_MQTT_3_3_2_18) {
    Bytes b = wire({14, 0x26, 0, 1, 'b', 0, 1, '1', 0x26, 0, 1, 'a', 0, 1, '2'});
    auto d = decodeBlock(b, PropertyContext::kPublish);
    ASSERT_TRUE(d);
    ASSERT_EQ(d->user_properties.size(), 2u);
    EXPECT_EQ(d->user_properties[0], (UserProperty{"b", "1"}));
    EXPECT_EQ(d->user_properties[1], (UserProperty{"a", "2"}));
}

// [MQTT-3.3.4-4] a PUBLISH to a client may carry several Subscription Identifiers.
TEST(Properties, SubscriptionIdentifierRepeatsInPublish_MQTT_3_3_4_4) {
    Bytes b = wire({5, 0x0B, 0x01, 0x0B, 0xFF, 0x01});
    auto d = decodeBlock(b, PropertyContext::kPublish);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->subscription_identifiers, (std::vector<uint32_t>{1, 255}));
}

TEST(Properties, SubscriptionIdentifierOnceInSubscribe) {
    expectRefused(wire({4, 0x0B, 0x01, 0x0B, 0x02}), PropertyContext::kSubscribe, ReasonCode::kProtocolError);
}

TEST(Properties, DuplicateSingleUsePropertyIsProtocolError) {
    expectRefused(wire({4, 0x01, 0x00, 0x01, 0x01}), PropertyContext::kPublish, ReasonCode::kProtocolError);
    expectRefused(wire({6, 0x21, 0x00, 0x01, 0x21, 0x00, 0x02}), PropertyContext::kConnect, ReasonCode::kProtocolError);
    expectRefused(wire({8, 0x1F, 0, 1, 'a', 0x1F, 0, 1, 'b'}), PropertyContext::kDisconnect,
                  ReasonCode::kProtocolError);
}

TEST(Properties, PropertyNotAllowedInPacketIsProtocolError) {
    // Session Expiry Interval in PUBLISH.
    expectRefused(wire({5, 0x11, 0, 0, 0, 1}), PropertyContext::kPublish, ReasonCode::kProtocolError);
    // Will Delay Interval among the CONNECT (not will) properties.
    expectRefused(wire({5, 0x18, 0, 0, 0, 1}), PropertyContext::kConnect, ReasonCode::kProtocolError);
    // Reason String in SUBSCRIBE.
    expectRefused(wire({4, 0x1F, 0, 1, 'x'}), PropertyContext::kSubscribe, ReasonCode::kProtocolError);
    // Topic Alias in CONNACK.
    expectRefused(wire({3, 0x23, 0, 1}), PropertyContext::kConnack, ReasonCode::kProtocolError);
}

TEST(Properties, UnknownIdentifierIsMalformed) {
    expectRefused(wire({2, 0x00, 0x00}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    expectRefused(wire({2, 0x2B, 0x00}), PropertyContext::kConnack, ReasonCode::kMalformedPacket);
    expectRefused(wire({2, 0x04, 0x00}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    // An identifier is a variable byte integer: a non-minimal one is malformed [MQTT-1.5.5-1].
    expectRefused(wire({3, 0x81, 0x00, 0x00}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
}

TEST(Properties, LengthPastThePacketIsMalformed) {
    expectRefused(wire({5, 0x01, 0x01}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    expectRefused(wire({}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x80}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
}

// [MQTT-1.5.5-1] the property length itself must be minimally encoded.
TEST(Properties, NonMinimalLengthIsMalformed_MQTT_1_5_5_1) {
    expectRefused(wire({0x80, 0x00}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
}

TEST(Properties, ValueCutByTheLengthIsMalformed) {
    // Message Expiry Interval needs 4 bytes; the block ends after 2.
    expectRefused(wire({3, 0x02, 0x00, 0x00, 0x00, 0x00}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    // A string running past the block.
    expectRefused(wire({4, 0x03, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e'}), PropertyContext::kPublish,
                  ReasonCode::kMalformedPacket);
    // A user property with its value missing.
    expectRefused(wire({4, 0x26, 0, 1, 'k'}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
}

TEST(Properties, ValuesOutOfRangeAreRefused) {
    expectRefused(wire({2, 0x01, 0x02}), PropertyContext::kPublish, ReasonCode::kProtocolError);        // format 2
    expectRefused(wire({3, 0x21, 0, 0}), PropertyContext::kConnect, ReasonCode::kProtocolError);        // receive max 0
    expectRefused(wire({5, 0x27, 0, 0, 0, 0}), PropertyContext::kConnect, ReasonCode::kProtocolError);  // max size 0
    expectRefused(wire({2, 0x0B, 0x00}), PropertyContext::kSubscribe, ReasonCode::kProtocolError);      // sub id 0
    expectRefused(wire({2, 0x17, 0x02}), PropertyContext::kConnect, ReasonCode::kProtocolError);
    expectRefused(wire({2, 0x19, 0x02}), PropertyContext::kConnect, ReasonCode::kProtocolError);
    expectRefused(wire({2, 0x24, 0x02}), PropertyContext::kConnack, ReasonCode::kProtocolError);  // max QoS 2
    expectRefused(wire({2, 0x25, 0x02}), PropertyContext::kConnack, ReasonCode::kProtocolError);
    expectRefused(wire({2, 0x28, 0x02}), PropertyContext::kConnack, ReasonCode::kProtocolError);
    expectRefused(wire({2, 0x29, 0x02}), PropertyContext::kConnack, ReasonCode::kProtocolError);
    expectRefused(wire({2, 0x2A, 0x02}), PropertyContext::kConnack, ReasonCode::kProtocolError);
}

// [MQTT-3.3.2-8] Topic Alias 0 is never valid.
TEST(Properties, TopicAliasZeroIsInvalid_MQTT_3_3_2_8) {
    expectRefused(wire({3, 0x23, 0, 0}), PropertyContext::kPublish, ReasonCode::kTopicAliasInvalid);
}

// [MQTT-3.3.2-14] a Response Topic is a topic name: no wildcards.
TEST(Properties, ResponseTopicWithWildcardIsRefused_MQTT_3_3_2_14) {
    expectRefused(wire({6, 0x08, 0, 3, 'a', '/', '#'}), PropertyContext::kPublish, ReasonCode::kProtocolError);
}

// [MQTT-1.5.4-1] [MQTT-1.5.7-1] [MQTT-3.3.2-19] string properties and both halves of a pair are UTF-8.
TEST(Properties, BadUtf8InStringPropertyIsMalformed_MQTT_1_5_7_1) {
    expectRefused(wire({6, 0x03, 0, 3, 0xED, 0xA0, 0x80}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    expectRefused(wire({7, 0x26, 0, 1, 0x00, 0, 1, 'v'}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    expectRefused(wire({7, 0x26, 0, 1, 'k', 0, 1, 0xC0}), PropertyContext::kPublish, ReasonCode::kMalformedPacket);
    // Binary data is not UTF-8 checked.
    auto d = decodeBlock(wire({6, 0x09, 0, 3, 0xED, 0xA0, 0x00}), PropertyContext::kPublish);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->correlation_data->size(), 3u);
}

TEST(Properties, DecodedStringsPointIntoTheInput) {
    Bytes b = wire({4, 0x03, 0, 1, 'x'});
    auto d = decodeBlock(b, PropertyContext::kPublish);
    ASSERT_TRUE(d);
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(d->content_type->data()), b.data() + 4);
}

}  // namespace
}  // namespace starling::protocol
