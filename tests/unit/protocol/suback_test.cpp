// SUBACK [MQTT 3.1.1 section 3.9, MQTT 5.0 section 3.9].
#include "protocol/suback.hpp"

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

// [MQTT-3.9.3-2] (3.1.1) return codes 0x00, 0x01, 0x02 and failure 0x80.
TEST(Suback, Version311ByteExact_MQTT_3_9_3_2) {
    Suback s;
    s.packet_id = 1;
    s.codes = {0x00, 0x80};
    EXPECT_EQ(encoded(s, kV311), wire({0x90, 0x04, 0x00, 0x01, 0x00, 0x80}));
    auto d = decodedAs<Suback>(wire({0x90, 0x04, 0x00, 0x01, 0x00, 0x80}), kV311);
    EXPECT_EQ(d.codes, (std::vector<uint8_t>{0x00, 0x80}));
    expectRefused(wire({0x90, 0x03, 0x00, 0x01, 0x03}), kV311, ReasonCode::kProtocolError);
    expectRefused(wire({0x90, 0x03, 0x00, 0x01, 0x87}), kV311, ReasonCode::kProtocolError);
}

TEST(Suback, V5ByteExact) {
    Suback s;
    s.packet_id = 1;
    s.codes = {0x01, 0x02, 0xA2};
    EXPECT_EQ(encoded(s, kV5), wire({0x90, 0x06, 0x00, 0x01, 0x00, 0x01, 0x02, 0xA2}));
    auto d = decodedAs<Suback>(wire({0x90, 0x06, 0x00, 0x01, 0x00, 0x01, 0x02, 0xA2}), kV5);
    EXPECT_EQ(d.codes, s.codes);
}

TEST(Suback, V5UndefinedCodeIsProtocolError) {
    expectRefused(wire({0x90, 0x04, 0x00, 0x01, 0x00, 0x03}), kV5, ReasonCode::kProtocolError);
    expectRefused(wire({0x90, 0x04, 0x00, 0x01, 0x00, 0x10}), kV5, ReasonCode::kProtocolError);
}

// [MQTT-3.8.4-6] one code per filter: a SUBACK without codes answers nothing.
TEST(Suback, NoCodesIsProtocolError_MQTT_3_8_4_6) {
    expectRefused(wire({0x90, 0x02, 0x00, 0x01}), kV311, ReasonCode::kProtocolError);
    expectRefused(wire({0x90, 0x03, 0x00, 0x01, 0x00}), kV5, ReasonCode::kProtocolError);
}

TEST(Suback, ReservedFlagsAndIdZeroAreRefused) {
    expectRefused(wire({0x92, 0x03, 0x00, 0x01, 0x00}), kV311, ReasonCode::kMalformedPacket);
    expectRefused(wire({0x90, 0x03, 0x00, 0x00, 0x00}), kV311, ReasonCode::kProtocolError);
}

}  // namespace
}  // namespace starling::protocol
