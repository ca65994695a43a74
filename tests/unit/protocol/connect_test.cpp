// CONNECT [MQTT 3.1.1 section 3.1, MQTT 5.0 section 3.1], MQTT 3.1 ("MQIsdp") included.
#include "protocol/connect.hpp"

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

constexpr auto kV31 = ProtocolVersion::kV31;
constexpr auto kV311 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;

// Clean session, keep alive 60, client id "abc": MQTT 3.1.1 section 3.1 by hand.
const Bytes kMinimal311 =
    wire({0x10, 0x0F, 0x00, 0x04}) + str("MQTT") + wire({0x04, 0x02, 0x00, 0x3C, 0x00, 0x03}) + str("abc");

// The CONNECT of kMinimal311 with its body made from `cf` (connect flags) and `tail` (the payload).
Bytes connect311(uint8_t cf, const Bytes& tail) {
    Bytes body = wire({0x00, 0x04}) + str("MQTT") + wire({0x04, cf, 0x00, 0x3C}) + tail;
    return wire({0x10, static_cast<int>(body.size())}) + body;
}

TEST(Connect, Minimal311ByteExact) {
    Connect c;
    c.client_id = "abc";
    EXPECT_EQ(test::hex(encoded(c, kV311)), test::hex(kMinimal311));
    auto d = decodedAs<Connect>(kMinimal311, kV311);
    EXPECT_EQ(d.version, kV311);
    EXPECT_TRUE(d.clean_start);
    EXPECT_EQ(d.keep_alive, 60);
    EXPECT_EQ(d.client_id, "abc");
    EXPECT_FALSE(d.will);
    EXPECT_FALSE(d.username);
    EXPECT_FALSE(d.password);
}

TEST(Connect, Mqtt31UsesMQIsdpLevel3ByteExact) {
    const Bytes expected =
        wire({0x10, 0x11, 0x00, 0x06}) + str("MQIsdp") + wire({0x03, 0x02, 0x00, 0x3C, 0x00, 0x03}) + str("abc");
    Connect c;
    c.version = kV31;
    c.client_id = "abc";
    EXPECT_EQ(test::hex(encoded(c, kV31)), test::hex(expected));
    auto d = decodedAs<Connect>(expected, kV311);  // CONNECT ignores the connection's version
    EXPECT_EQ(d.version, kV31);
    EXPECT_EQ(d.client_id, "abc");
}

TEST(Connect, Mqtt31AllowsLongClientIdentifiers) {
    Connect c;
    c.version = kV31;
    std::string id(40, 'x');  // the 23-character limit of 3.1 is broker policy, not the codec's
    c.client_id = id;
    EXPECT_EQ(decodedAs<Connect>(encoded(c, kV31), kV31).client_id, id);
}

// Session expiry, a QoS 1 retained will with a delay, user name and password, by hand from 5.0 section 3.1.
TEST(Connect, V5WithWillAndCredentialsByteExact) {
    const Bytes expected = wire({0x10, 0x28, 0x00, 0x04}) + str("MQTT") +
                           wire({0x05, 0xEE, 0x00, 0x1E,                        // level, flags, keep alive
                                 0x05, 0x11, 0x00, 0x00, 0x0E, 0x10,            // Session Expiry 3600
                                 0x00, 0x02, 'c',  '1',                         // client id
                                 0x05, 0x18, 0x00, 0x00, 0x00, 0x05,            // Will Delay 5
                                 0x00, 0x01, 'w',  0x00, 0x03, 'b',  'y', 'e',  // will topic, payload
                                 0x00, 0x01, 'u',  0x00, 0x01, 'p'});           // user name, password
    Connect c;
    c.version = kV5;
    c.keep_alive = 30;
    c.client_id = "c1";
    c.properties.session_expiry_interval = 3600;
    Will w;
    w.topic = "w";
    w.payload = "bye";
    w.qos = QoS::kAtLeastOnce;
    w.retain = true;
    w.properties.will_delay_interval = 5;
    c.will = w;
    c.username = "u";
    c.password = "p";
    EXPECT_EQ(test::hex(encoded(c, kV5)), test::hex(expected));

    auto d = decodedAs<Connect>(expected, kV5);
    EXPECT_EQ(d.version, kV5);
    EXPECT_EQ(d.keep_alive, 30);
    EXPECT_EQ(d.properties.session_expiry_interval, 3600u);
    ASSERT_TRUE(d.will);
    EXPECT_EQ(d.will->topic, "w");
    EXPECT_EQ(d.will->payload, "bye");
    EXPECT_EQ(d.will->qos, QoS::kAtLeastOnce);
    EXPECT_TRUE(d.will->retain);
    EXPECT_EQ(d.will->properties.will_delay_interval, 5u);
    EXPECT_EQ(d.username, "u");
    EXPECT_EQ(d.password, "p");
}

// [MQTT-2.2.2-1] [MQTT-2.1.3-1] the CONNECT fixed-header flags are 0000.
TEST(Connect, ReservedFixedHeaderFlagsAreMalformed_MQTT_2_1_3_1) {
    Bytes b = kMinimal311;
    b[0] = 0x11;
    expectRefused(b, kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.2-3] the reserved connect flag must be 0.
TEST(Connect, ReservedConnectFlagIsMalformed_MQTT_3_1_2_3) {
    expectRefused(connect311(0x03, wire({0, 3}) + str("abc")), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.2-1] a protocol name other than MQTT / MQIsdp.
TEST(Connect, UnknownProtocolNameIsProtocolError_MQTT_3_1_2_1) {
    Bytes body = wire({0x00, 0x04}) + str("MQTX") + wire({0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, 'a'});
    expectRefused(wire({0x10, static_cast<int>(body.size())}) + body, kV311, ReasonCode::kProtocolError);
}

// [MQTT-3.1.2-2] an unsupported level is refused so that the server can answer 0x01 / 0x84.
TEST(Connect, UnsupportedLevelIsReported_MQTT_3_1_2_2) {
    for (int level : {0, 2, 3, 6, 255}) {
        Bytes body = wire({0x00, 0x04}) + str("MQTT") + wire({level, 0x02, 0x00, 0x3C, 0x00, 0x01, 'a'});
        expectRefused(wire({0x10, static_cast<int>(body.size())}) + body, kV311,
                      ReasonCode::kUnsupportedProtocolVersion);
    }
    Bytes body = wire({0x00, 0x06}) + str("MQIsdp") + wire({0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, 'a'});
    expectRefused(wire({0x10, static_cast<int>(body.size())}) + body, kV311, ReasonCode::kUnsupportedProtocolVersion);
}

// [MQTT-3.1.2-13] (3.1.1) / [MQTT-3.1.2-11] (5.0): Will QoS is 0 without the Will Flag.
TEST(Connect, WillQosWithoutWillFlagIsMalformed_MQTT_3_1_2_13) {
    expectRefused(connect311(0x0A, wire({0, 3}) + str("abc")), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.2-15] (3.1.1) / [MQTT-3.1.2-13] (5.0): Will Retain is 0 without the Will Flag.
TEST(Connect, WillRetainWithoutWillFlagIsMalformed_MQTT_3_1_2_15) {
    expectRefused(connect311(0x22, wire({0, 3}) + str("abc")), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.2-14] (3.1.1) / [MQTT-3.1.2-12] (5.0): Will QoS 3 is refused.
TEST(Connect, WillQos3IsMalformed_MQTT_3_1_2_14) {
    Bytes tail = wire({0, 3}) + str("abc") + wire({0, 1, 't', 0, 1, 'x'});
    expectRefused(connect311(0x1E, tail), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.2-22] (3.1.1) a password requires a user name; 5.0 lifted that rule.
TEST(Connect, PasswordWithoutUserNameBeforeV5_MQTT_3_1_2_22) {
    expectRefused(connect311(0x42, wire({0, 3}) + str("abc") + wire({0, 1, 'p'})), kV311, ReasonCode::kMalformedPacket);
    Connect c;
    c.version = kV5;
    c.client_id = "abc";
    c.password = "secret";
    auto d = decodedAs<Connect>(encoded(c, kV5), kV5);
    EXPECT_FALSE(d.username);
    EXPECT_EQ(d.password, "secret");
}

// [MQTT-3.1.2-9] the will topic and payload are present when the Will Flag is set.
TEST(Connect, WillFlagWithoutWillFieldsIsMalformed_MQTT_3_1_2_9) {
    expectRefused(connect311(0x06, wire({0, 3}) + str("abc")), kV311, ReasonCode::kMalformedPacket);
    expectRefused(connect311(0x06, wire({0, 3}) + str("abc") + wire({0, 1, 't'})), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.2-19] [MQTT-3.1.2-17] flags promise fields that are missing.
TEST(Connect, MissingUserNameOrPasswordIsMalformed_MQTT_3_1_2_19) {
    expectRefused(connect311(0x82, wire({0, 3}) + str("abc")), kV311, ReasonCode::kMalformedPacket);
    expectRefused(connect311(0xC2, wire({0, 3}) + str("abc") + wire({0, 1, 'u'})), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.3-4] [MQTT-1.5.3-1] the client identifier is UTF-8: surrogates refused.
TEST(Connect, ClientIdWithSurrogateIsMalformed_MQTT_3_1_3_4) {
    expectRefused(connect311(0x02, wire({0, 3, 0xED, 0xB0, 0x80})), kV311, ReasonCode::kMalformedPacket);
}

// [MQTT-3.1.3-11] (3.1.1) the user name is UTF-8: U+0000 refused.
TEST(Connect, UserNameWithNullIsMalformed_MQTT_3_1_3_11) {
    expectRefused(connect311(0x82, wire({0, 1, 'a', 0, 2, 'u', 0x00})), kV311, ReasonCode::kMalformedPacket);
}

// The password is binary data: any bytes.
TEST(Connect, PasswordIsBinary) {
    auto d = decodedAs<Connect>(connect311(0xC2, wire({0, 1, 'a', 0, 1, 'u', 0, 3, 0x00, 0xFF, 0xED})), kV311);
    ASSERT_TRUE(d.password);
    EXPECT_EQ(*d.password, std::string_view("\x00\xFF\xED", 3));
}

// [MQTT-3.3.2-2] the will topic is a topic name: no wildcards.
TEST(Connect, WillTopicWithWildcardIsRefused_MQTT_3_3_2_2) {
    Bytes tail = wire({0, 1, 'a', 0, 3, 'a', '/', '#', 0, 0});
    expectRefused(connect311(0x06, tail), kV311, ReasonCode::kTopicNameInvalid);
}

// [MQTT-3.1.4-1] a malformed CONNECT: trailing bytes after the payload.
TEST(Connect, TrailingGarbageIsMalformed_MQTT_3_1_4_1) {
    expectRefused(connect311(0x02, wire({0, 3}) + str("abc") + wire({0x00})), kV311, ReasonCode::kMalformedPacket);
}

TEST(Connect, TruncatedIsMalformed) {
    for (size_t cut = 2; cut < kMinimal311.size(); ++cut) {
        Bytes body(kMinimal311.begin() + 2, kMinimal311.begin() + static_cast<long>(cut));
        expectRefused(wire({0x10, static_cast<int>(body.size())}) + body, kV311, ReasonCode::kMalformedPacket);
    }
}

TEST(Connect, V5PropertyNotAllowedIsProtocolError) {
    Connect c;
    c.version = kV5;
    c.client_id = "a";
    c.properties.topic_alias = 3;  // PUBLISH only
    expectRefused(encoded(c, kV5), kV5, ReasonCode::kProtocolError);
}

TEST(Connect, V5AuthenticationDataWithoutMethodIsProtocolError) {
    Connect c;
    c.version = kV5;
    c.client_id = "a";
    c.properties.authentication_data = "token";
    expectRefused(encoded(c, kV5), kV5, ReasonCode::kProtocolError);
    c.properties.authentication_method = "m";
    EXPECT_EQ(decodedAs<Connect>(encoded(c, kV5), kV5).properties.authentication_data, "token");
}

TEST(Connect, EmptyClientIdIsAccepted) {
    Connect c;
    c.clean_start = false;  // whether an empty id needs a clean session is the server's call [MQTT-3.1.3-8]
    auto d = decodedAs<Connect>(encoded(c, kV311), kV311);
    EXPECT_EQ(d.client_id, "");
    EXPECT_FALSE(d.clean_start);
}

}  // namespace
}  // namespace starling::protocol
