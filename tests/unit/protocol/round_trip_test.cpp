// Every packet kind encoded and decoded again in every protocol version (3.1, 3.1.1, 5.0): the decoded
// packet has the fields that were encoded, and re-encoding it gives the same bytes.
#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::encoded;

class RoundTrip : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion v() const { return GetParam(); }
    bool v5() const { return GetParam() == ProtocolVersion::kV5; }

    // Encodes, decodes, checks that re-encoding is byte-identical, returns the decoded packet.
    template <class T>
    T roundTrip(const T& p) {
        bytes_ = encoded(p, v());
        T back = test::decodedAs<T>(bytes_, v());
        EXPECT_EQ(test::hex(encoded(back, v())), test::hex(bytes_));
        return back;
    }

    // What a packet's properties become in this version: dropped before v5.
    Properties expected(const Properties& p) const { return v5() ? p : Properties{}; }

    Bytes bytes_;  // keeps the views of the last decoded packet valid
};

TEST_P(RoundTrip, Connect) {
    Connect c;
    c.version = v();
    c.clean_start = false;
    c.keep_alive = 0xFFFF;
    c.client_id = "client-\xC3\xA9";
    Will w;
    w.topic = "last/will";
    w.payload = std::string_view("\x00\x01\x02", 3);
    w.qos = QoS::kExactlyOnce;
    w.retain = true;
    if (v5()) {
        w.properties.will_delay_interval = 10;
        w.properties.content_type = "application/octet-stream";
        w.properties.user_properties = {{"a", "b"}};
        c.properties.session_expiry_interval = 120;
        c.properties.receive_maximum = 20;
        c.properties.maximum_packet_size = 4096;
        c.properties.request_problem_information = 0;
        c.properties.authentication_method = "PLAIN";
    }
    c.will = w;
    c.username = "user";
    c.password = std::string_view("p\x00ss", 4);
    Connect d = roundTrip(c);
    EXPECT_EQ(d.version, v());
    EXPECT_FALSE(d.clean_start);
    EXPECT_EQ(d.keep_alive, 0xFFFF);
    EXPECT_EQ(d.client_id, c.client_id);
    ASSERT_TRUE(d.will);
    EXPECT_EQ(d.will->topic, w.topic);
    EXPECT_EQ(d.will->payload, w.payload);
    EXPECT_EQ(d.will->qos, QoS::kExactlyOnce);
    EXPECT_TRUE(d.will->retain);
    EXPECT_EQ(d.will->properties, expected(w.properties));
    EXPECT_EQ(d.username, c.username);
    EXPECT_EQ(d.password, c.password);
    EXPECT_EQ(d.properties, expected(c.properties));
}

TEST_P(RoundTrip, ConnectWithoutOptionalFields) {
    Connect c;
    c.version = v();
    c.client_id = "x";
    Connect d = roundTrip(c);
    EXPECT_TRUE(d.clean_start);
    EXPECT_FALSE(d.will);
    EXPECT_FALSE(d.username);
    EXPECT_FALSE(d.password);
}

TEST_P(RoundTrip, Connack) {
    Connack c;
    c.session_present = v() != ProtocolVersion::kV31;
    c.code =
        v5() ? static_cast<uint8_t>(ReasonCode::kNotAuthorized) : static_cast<uint8_t>(ConnackCode311::kNotAuthorized);
    c.properties.reason_string = "no";
    c.properties.server_keep_alive = 15;
    c.properties.maximum_qos = 1;
    Connack d = roundTrip(c);
    EXPECT_EQ(d.session_present, c.session_present);
    EXPECT_EQ(d.code, c.code);
    EXPECT_EQ(d.properties, expected(c.properties));
}

TEST_P(RoundTrip, PublishEveryQoS) {
    for (QoS qos : {QoS::kAtMostOnce, QoS::kAtLeastOnce, QoS::kExactlyOnce}) {
        Publish p;
        p.qos = qos;
        p.dup = qos != QoS::kAtMostOnce;
        p.retain = true;
        p.topic = "a/b/c";
        p.packet_id = qos == QoS::kAtMostOnce ? 0 : 65535;
        p.payload = std::string_view("\x00\xFF payload", 10);
        p.properties.response_topic = "reply";
        p.properties.correlation_data = "corr";
        p.properties.topic_alias = 3;
        p.properties.subscription_identifiers = {7, 8};
        Publish d = roundTrip(p);
        EXPECT_EQ(d.qos, qos);
        EXPECT_EQ(d.dup, p.dup);
        EXPECT_TRUE(d.retain);
        EXPECT_EQ(d.topic, p.topic);
        EXPECT_EQ(d.packet_id, p.packet_id);
        EXPECT_EQ(d.payload, p.payload);
        EXPECT_EQ(d.properties, expected(p.properties));
    }
}

TEST_P(RoundTrip, PubAckAllFourTypes) {
    for (PacketType t : {PacketType::kPuback, PacketType::kPubrec, PacketType::kPubrel, PacketType::kPubcomp}) {
        for (bool with_reason : {false, true}) {
            PubAck a;
            a.type = t;
            a.packet_id = 4242;
            if (with_reason) {
                a.reason = (t == PacketType::kPubrel || t == PacketType::kPubcomp)
                               ? ReasonCode::kPacketIdentifierNotFound
                               : ReasonCode::kNotAuthorized;
                a.properties.reason_string = "because";
                a.properties.user_properties = {{"k", "v"}};
            }
            PubAck d = roundTrip(a);
            EXPECT_EQ(d.type, t);
            EXPECT_EQ(d.packet_id, 4242);
            EXPECT_EQ(d.reason, v5() ? a.reason : ReasonCode::kSuccess);
            EXPECT_EQ(d.properties, expected(a.properties));
        }
    }
}

TEST_P(RoundTrip, Subscribe) {
    Subscribe s;
    s.packet_id = 9;
    s.properties.subscription_identifiers = {268435455};
    s.properties.user_properties = {{"u", "p"}};
    TopicSubscription a{"sport/+/score", {QoS::kAtLeastOnce}};
    TopicSubscription b{"$share/group/#", {QoS::kExactlyOnce}};
    TopicSubscription c{"x", {QoS::kAtMostOnce}};
    if (v5()) {
        a.options.no_local = true;
        a.options.retain_as_published = true;
        a.options.retain_handling = 1;
        c.options.retain_handling = 2;
    }
    s.topics = {a, b, c};
    Subscribe d = roundTrip(s);
    EXPECT_EQ(d.packet_id, 9);
    EXPECT_EQ(d.properties, expected(s.properties));
    ASSERT_EQ(d.topics.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(d.topics[i].filter, s.topics[i].filter);
        EXPECT_EQ(d.topics[i].options, s.topics[i].options);
    }
}

TEST_P(RoundTrip, Suback) {
    Suback s;
    s.packet_id = 9;
    s.codes = {0x00, 0x01, 0x02, 0x80};
    s.properties.reason_string = "partly";
    Suback d = roundTrip(s);
    EXPECT_EQ(d.packet_id, 9);
    EXPECT_EQ(d.codes, s.codes);
    EXPECT_EQ(d.properties, expected(s.properties));
}

TEST_P(RoundTrip, Unsubscribe) {
    Unsubscribe u;
    u.packet_id = 11;
    u.filters = {"a/#", "$share/g/b", "+"};
    u.properties.user_properties = {{"x", "y"}};
    Unsubscribe d = roundTrip(u);
    EXPECT_EQ(d.packet_id, 11);
    EXPECT_EQ(d.filters, u.filters);
    EXPECT_EQ(d.properties, expected(u.properties));
}

TEST_P(RoundTrip, Unsuback) {
    Unsuback u;
    u.packet_id = 11;
    u.codes = {0x00, 0x11, 0x87};
    u.properties.reason_string = "r";
    Unsuback d = roundTrip(u);
    EXPECT_EQ(d.packet_id, 11);
    EXPECT_EQ(d.codes, v5() ? u.codes : std::vector<uint8_t>{});
    EXPECT_EQ(d.properties, expected(u.properties));
}

TEST_P(RoundTrip, Pings) {
    roundTrip(Pingreq{});
    EXPECT_EQ(bytes_, test::wire({0xC0, 0x00}));
    roundTrip(Pingresp{});
    EXPECT_EQ(bytes_, test::wire({0xD0, 0x00}));
}

TEST_P(RoundTrip, Disconnect) {
    Disconnect x;
    x.reason = ReasonCode::kServerMoved;
    x.properties.server_reference = "elsewhere:1883";
    x.properties.reason_string = "moved";
    Disconnect d = roundTrip(x);
    EXPECT_EQ(d.reason, v5() ? x.reason : ReasonCode::kNormalDisconnection);
    EXPECT_EQ(d.properties, expected(x.properties));
}

TEST_P(RoundTrip, Auth) {
    Auth a;
    a.reason = ReasonCode::kContinueAuthentication;
    a.properties.authentication_method = "SCRAM-SHA-256";
    a.properties.authentication_data = std::string_view("\x00\x01", 2);
    a.properties.reason_string = "more";
    if (!v5()) {
        // AUTH is reserved packet type 15 before MQTT 5.
        test::expectRefused(encoded(a, ProtocolVersion::kV5), v(), ReasonCode::kProtocolError);
        return;
    }
    Auth d = roundTrip(a);
    EXPECT_EQ(d.reason, a.reason);
    EXPECT_EQ(d.properties, a.properties);
}

INSTANTIATE_TEST_SUITE_P(AllVersions, RoundTrip, ::testing::ValuesIn(test::kAllVersions), test::versionName);

}  // namespace
}  // namespace starling::protocol
