// The incremental frame splitter [MQTT 5.0 section 2.1]: any split point, size limit before the body.
#include "protocol/frame.hpp"

#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::span;
using test::wire;

TEST(FrameSplitter, EmptyInputNeedsMore) {
    FrameSplitter s;
    auto r = s.next(ByteSpan{});
    EXPECT_EQ(r.status, SplitStatus::kNeedMore);
    EXPECT_EQ(r.needed, 0u);
}

TEST(FrameSplitter, FindsACompleteFrame) {
    Bytes b = wire({0x32, 0x03, 0x00, 0x01, 'a', 0xC0, 0x00});
    FrameSplitter s;
    auto r = s.next(span(b));
    ASSERT_EQ(r.status, SplitStatus::kFrame);
    EXPECT_EQ(r.frame.type(), PacketType::kPublish);
    EXPECT_EQ(r.frame.flags(), 0x02);
    EXPECT_EQ(r.frame.size, 5u);
    EXPECT_EQ(r.frame.body.size(), 3u);
    EXPECT_EQ(r.frame.body.data(), b.data() + 2);  // a view into the input
}

TEST(FrameSplitter, ZeroLengthBody) {
    Bytes b = wire({0xC0, 0x00});
    auto r = FrameSplitter().next(span(b));
    ASSERT_EQ(r.status, SplitStatus::kFrame);
    EXPECT_EQ(r.frame.size, 2u);
    EXPECT_TRUE(r.frame.body.empty());
}

TEST(FrameSplitter, IncompleteHeaderNeedsMoreWithUnknownSize) {
    FrameSplitter s;
    Bytes one = wire({0x30});
    EXPECT_EQ(s.next(span(one)).status, SplitStatus::kNeedMore);
    EXPECT_EQ(s.next(span(one)).needed, 0u);
    Bytes partial = wire({0x30, 0x80});
    auto r = s.next(span(partial));
    EXPECT_EQ(r.status, SplitStatus::kNeedMore);
    EXPECT_EQ(r.needed, 0u);
}

// Remaining length larger than the bytes at hand: more needed, and how many is known.
TEST(FrameSplitter, RemainingLengthOverTheDataNeedsMore) {
    Bytes b = wire({0x30, 0x80, 0x01, 0x00});  // 128-byte body
    auto r = FrameSplitter().next(span(b));
    EXPECT_EQ(r.status, SplitStatus::kNeedMore);
    EXPECT_EQ(r.needed, 131u);
}

TEST(FrameSplitter, RemainingLengthOverFourBytesIsMalformed) {
    Bytes b = wire({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F});
    auto r = FrameSplitter().next(span(b));
    ASSERT_EQ(r.status, SplitStatus::kError);
    EXPECT_EQ(r.error.reason, ReasonCode::kMalformedPacket);
    // Known as soon as the fourth length byte carries a continuation bit.
    Bytes early = wire({0x30, 0x80, 0x80, 0x80, 0x80});
    EXPECT_EQ(FrameSplitter().next(span(early)).status, SplitStatus::kError);
}

// [MQTT-1.5.5-1] a remaining length that is not minimally encoded is malformed.
TEST(FrameSplitter, NonMinimalRemainingLengthIsMalformed_MQTT_1_5_5_1) {
    Bytes b = wire({0xC0, 0x80, 0x00});
    auto r = FrameSplitter().next(span(b));
    ASSERT_EQ(r.status, SplitStatus::kError);
    EXPECT_EQ(r.error.reason, ReasonCode::kMalformedPacket);
}

TEST(FrameSplitter, PacketTypeZeroIsMalformed) {
    Bytes b = wire({0x00, 0x00});
    auto r = FrameSplitter().next(span(b));
    ASSERT_EQ(r.status, SplitStatus::kError);
    EXPECT_EQ(r.error.reason, ReasonCode::kMalformedPacket);
}

// The limit is checked on the length alone: the body is never waited for.
TEST(FrameSplitter, PacketTooLargeRefusedBeforeBodyArrives) {
    FrameSplitter s(100);
    Bytes header = wire({0x30, 0xE8, 0x07});  // remaining length 1000, no body yet
    auto r = s.next(span(header));
    ASSERT_EQ(r.status, SplitStatus::kError);
    EXPECT_EQ(r.error.reason, ReasonCode::kPacketTooLarge);
}

TEST(FrameSplitter, PacketTooLargeRefusedFromAPartialLength) {
    FrameSplitter s(100);
    // One length byte with the continuation bit: the body is at least 128 bytes.
    Bytes partial = wire({0x30, 0x80});
    auto r = s.next(span(partial));
    ASSERT_EQ(r.status, SplitStatus::kError);
    EXPECT_EQ(r.error.reason, ReasonCode::kPacketTooLarge);
}

TEST(FrameSplitter, LimitCountsTheWholePacket) {
    Bytes b(2 + 98, 0);
    b[0] = 0x30;
    b[1] = 98;
    FrameSplitter s(100);
    EXPECT_EQ(s.next(span(b)).status, SplitStatus::kFrame);  // exactly 100 bytes
    s.setMaxPacketSize(99);
    EXPECT_EQ(s.maxPacketSize(), 99u);
    EXPECT_EQ(s.next(span(b)).error.reason, ReasonCode::kPacketTooLarge);
}

TEST(FrameSplitter, DefaultLimitAcceptsTheLargestLength) {
    Bytes b = wire({0x30, 0xFF, 0xFF, 0xFF, 0x7F});
    auto r = FrameSplitter().next(span(b));
    EXPECT_EQ(r.status, SplitStatus::kNeedMore);
    EXPECT_EQ(r.needed, 5u + kMaxVarint);
}

// [MQTT-6.0.0-2] packets do not align with transport reads: every split point works.
TEST(FrameSplitter, StreamFedByteByByte_MQTT_6_0_0_2) {
    Bytes stream;
    Publish p;
    p.topic = "sensors/temperature";
    p.qos = QoS::kAtLeastOnce;
    p.packet_id = 77;
    std::string payload(300, 'x');  // two-byte remaining length
    p.payload = payload;
    encodePublish(stream, p, ProtocolVersion::kV5);
    encodePingreq(stream);
    PubAck ack;
    ack.packet_id = 77;
    encodePubAck(stream, ack, ProtocolVersion::kV5);

    FrameSplitter s;
    Bytes buffer;
    std::vector<PacketType> types;
    for (uint8_t byte : stream) {
        buffer.push_back(byte);
        for (;;) {
            auto r = s.next(span(buffer));
            ASSERT_NE(r.status, SplitStatus::kError);
            if (r.status == SplitStatus::kNeedMore) {
                if (r.needed) {
                    EXPECT_GT(r.needed, buffer.size());
                }
                break;
            }
            auto d = decodePacket(r.frame, ProtocolVersion::kV5);
            ASSERT_TRUE(d) << d.error().rule;
            types.push_back(r.frame.type());
            if (r.frame.type() == PacketType::kPublish) {
                EXPECT_EQ(std::get<Publish>(*d).payload, payload);
            }
            buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(r.frame.size));
        }
    }
    EXPECT_TRUE(buffer.empty());
    EXPECT_EQ(types, (std::vector<PacketType>{PacketType::kPublish, PacketType::kPingreq, PacketType::kPuback}));
}

TEST(FrameSplitter, SeveralFramesInOneBuffer) {
    Bytes b = wire({0xC0, 0x00, 0xD0, 0x00, 0xE0});
    FrameSplitter s;
    ByteSpan rest = span(b);
    auto r1 = s.next(rest);
    ASSERT_EQ(r1.status, SplitStatus::kFrame);
    rest = rest.subspan(r1.frame.size);
    auto r2 = s.next(rest);
    ASSERT_EQ(r2.status, SplitStatus::kFrame);
    EXPECT_EQ(r2.frame.type(), PacketType::kPingresp);
    rest = rest.subspan(r2.frame.size);
    EXPECT_EQ(s.next(rest).status, SplitStatus::kNeedMore);
}

}  // namespace
}  // namespace starling::protocol
