// Primitive data types [MQTT 5.0 section 1.5]: variable byte integers, UTF-8 strings, the bounded Reader.
#include "protocol/wire.hpp"

#include <gtest/gtest.h>

#include <string>

#include "codec_test_util.hpp"

namespace starling::protocol {
namespace {

using test::span;
using test::wire;

struct VarintVector {
    uint32_t value;
    Bytes encoding;
};

// The boundary values of the table in MQTT 5.0 section 1.5.5.
const VarintVector kVarintVectors[] = {
    {0, {0x00}},
    {127, {0x7F}},
    {128, {0x80, 0x01}},
    {16383, {0xFF, 0x7F}},
    {16384, {0x80, 0x80, 0x01}},
    {2097151, {0xFF, 0xFF, 0x7F}},
    {2097152, {0x80, 0x80, 0x80, 0x01}},
    {268435455, {0xFF, 0xFF, 0xFF, 0x7F}},
};

TEST(Varint, EncodesSpecificationBoundaryValues) {
    for (const auto& v : kVarintVectors) {
        Bytes out;
        appendVarint(out, v.value);
        EXPECT_EQ(out, v.encoding) << v.value;
        EXPECT_EQ(varintSize(v.value), v.encoding.size()) << v.value;
        uint8_t buf[4];
        EXPECT_EQ(writeVarint(buf, v.value), v.encoding.size());
        EXPECT_EQ(Bytes(buf, buf + v.encoding.size()), v.encoding);
    }
}

TEST(Varint, DecodesSpecificationBoundaryValues) {
    for (const auto& v : kVarintVectors) {
        Bytes in = v.encoding;
        in.push_back(0xAA);  // following bytes are not consumed
        auto d = decodeVarint(span(in));
        ASSERT_EQ(d.status, VarintStatus::kOk) << v.value;
        EXPECT_EQ(d.value, v.value);
        EXPECT_EQ(d.length, v.encoding.size());
    }
}

TEST(Varint, TruncatedEncodingNeedsMore) {
    EXPECT_EQ(decodeVarint(ByteSpan{}).status, VarintStatus::kNeedMore);
    EXPECT_EQ(decodeVarint(span(wire({0x80}))).status, VarintStatus::kNeedMore);
    EXPECT_EQ(decodeVarint(span(wire({0xFF, 0xFF, 0xFF}))).status, VarintStatus::kNeedMore);
}

TEST(Varint, FifthByteIsMalformed) {
    EXPECT_EQ(decodeVarint(span(wire({0xFF, 0xFF, 0xFF, 0xFF, 0x01}))).status, VarintStatus::kMalformed);
    // Known malformed after four continuation bytes, before a fifth arrives.
    EXPECT_EQ(decodeVarint(span(wire({0x80, 0x80, 0x80, 0x80}))).status, VarintStatus::kMalformed);
}

// [MQTT-1.5.5-1] the encoding must use the minimum number of bytes.
TEST(Varint, NonMinimalEncodingIsMalformed_MQTT_1_5_5_1) {
    EXPECT_EQ(decodeVarint(span(wire({0x80, 0x00}))).status, VarintStatus::kMalformed);
    EXPECT_EQ(decodeVarint(span(wire({0xFF, 0x80, 0x00}))).status, VarintStatus::kMalformed);
    EXPECT_EQ(decodeVarint(span(wire({0x80, 0x80, 0x80, 0x00}))).status, VarintStatus::kMalformed);
    EXPECT_EQ(decodeVarint(span(wire({0x81, 0x00}))).status, VarintStatus::kMalformed);
}

TEST(Utf8, AcceptsWellFormedText) {
    EXPECT_TRUE(isValidUtf8(""));
    EXPECT_TRUE(isValidUtf8("sport/tennis"));
    EXPECT_TRUE(isValidUtf8("\xC3\xA9"));          // é
    EXPECT_TRUE(isValidUtf8("\xE2\x82\xAC"));      // €
    EXPECT_TRUE(isValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
    EXPECT_TRUE(isValidUtf8("\xEE\x80\x80"));      // U+E000, just above them
    EXPECT_TRUE(isValidUtf8("\xF0\x9F\x98\x80"));  // U+1F600
    EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
    EXPECT_TRUE(isValidUtf8("\x01\x1F\x7F"));      // control characters: SHOULD NOT, not MUST NOT
    EXPECT_TRUE(isValidUtf8("\xEF\xBF\xBF"));      // non-character U+FFFF is still well-formed
}

// [MQTT-1.5.4-1] [MQTT-1.5.3-1] ill-formed UTF-8 and surrogate code points are refused.
TEST(Utf8, RefusesSurrogates_MQTT_1_5_4_1) {
    EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));  // U+D800
    EXPECT_FALSE(isValidUtf8("\xED\xBF\xBF"));  // U+DFFF
    EXPECT_FALSE(isValidUtf8("a\xED\xB0\x80z"));
}

TEST(Utf8, RefusesIllFormedSequences_MQTT_1_5_4_1) {
    EXPECT_FALSE(isValidUtf8("\x80"));              // lone continuation byte
    EXPECT_FALSE(isValidUtf8("\xC0\x80"));          // overlong U+0000
    EXPECT_FALSE(isValidUtf8("\xC1\xBF"));          // overlong
    EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // overlong '/'
    EXPECT_FALSE(isValidUtf8("\xF0\x80\x80\xAF"));  // overlong '/'
    EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(isValidUtf8("\xF5\x80\x80\x80"));
    EXPECT_FALSE(isValidUtf8("\xFF"));
    EXPECT_FALSE(isValidUtf8("\xE2\x82"));      // truncated
    EXPECT_FALSE(isValidUtf8("\xE2\x28\xA1"));  // bad continuation
    EXPECT_FALSE(isValidUtf8("\xF0\x9F\x98"));  // truncated 4-byte sequence
}

// [MQTT-1.5.4-2] [MQTT-1.5.3-2] U+0000 is refused.
TEST(Utf8, RefusesNullCharacter_MQTT_1_5_4_2) {
    EXPECT_FALSE(isValidUtf8(std::string_view("a\0b", 3)));
    EXPECT_FALSE(isValidUtf8(std::string_view("\0", 1)));
}

// The eight-bytes-at-a-time ASCII path sees a U+0000 or a bad sequence wherever it sits.
TEST(Utf8, LongAsciiRunsAreCheckedEverywhere_MQTT_1_5_4_2) {
    for (size_t at = 0; at < 24; ++at) {
        std::string s(24, 'a');
        s[at] = '\0';
        EXPECT_FALSE(isValidUtf8(s)) << at;
        s[at] = '\x80';
        EXPECT_FALSE(isValidUtf8(s)) << at;
        std::string surrogate = std::string(at, 'a') + "\xED\xA0\x80" + std::string(9, 'b');
        EXPECT_FALSE(isValidUtf8(surrogate)) << at;
        std::string euro = std::string(at, 'a') + "\xE2\x82\xAC" + std::string(9, 'b');
        EXPECT_TRUE(isValidUtf8(euro)) << at;
    }
    EXPECT_TRUE(isValidUtf8(std::string(1000, 'z')));
}

// [MQTT-1.5.4-3] [MQTT-1.5.3-3] a BOM is kept as U+FEFF, never stripped.
TEST(Utf8, ByteOrderMarkIsKept_MQTT_1_5_4_3) {
    Bytes b = wire({0x00, 0x05, 0xEF, 0xBB, 0xBF, 'a', 'b'});
    Reader r(span(b));
    auto s = r.utf8();
    ASSERT_TRUE(s);
    EXPECT_EQ(*s,
              "\xEF\xBB\xBF"
              "ab");
}

TEST(Reader, ReadsBigEndianIntegers) {
    Bytes b = wire({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07});
    Reader r(span(b));
    EXPECT_EQ(r.u8(), 0x01);
    EXPECT_EQ(r.u16(), 0x0203);
    EXPECT_EQ(r.u32(), 0x04050607u);
    EXPECT_TRUE(r.empty());
    EXPECT_FALSE(r.u8());
}

TEST(Reader, NeverReadsPastTheEnd) {
    Bytes b = wire({0x01});
    Reader r(span(b));
    EXPECT_FALSE(r.u16());
    EXPECT_FALSE(r.u32());
    EXPECT_FALSE(r.take(2));
    EXPECT_EQ(r.remaining(), 1u);
    EXPECT_EQ(r.u8(), 1);
    EXPECT_FALSE(r.u8());
}

TEST(Reader, StringLongerThanTheDataIsRefusedWithoutConsuming) {
    Bytes b = wire({0x00, 0x05, 'a', 'b'});
    Reader r(span(b));
    EXPECT_FALSE(r.binary());
    EXPECT_FALSE(r.utf8());
    EXPECT_EQ(r.position(), 0u);
}

TEST(Reader, InvalidUtf8IsRefusedButBinaryIsNot) {
    Bytes b = wire({0x00, 0x02, 0xC0, 0x80});
    Reader r(span(b));
    EXPECT_FALSE(r.utf8());
    auto bin = r.binary();
    ASSERT_TRUE(bin);
    EXPECT_EQ(bin->size(), 2u);
}

TEST(Reader, ViewsPointIntoTheInput) {
    Bytes b = wire({0x00, 0x02, 'h', 'i', 0x07});
    Reader r(span(b));
    auto s = r.utf8();
    ASSERT_TRUE(s);
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(s->data()), b.data() + 2);
    auto rest = r.rest();
    EXPECT_EQ(rest.data(), b.data() + 4);
    EXPECT_EQ(rest.size(), 1u);
    EXPECT_TRUE(r.empty());
}

TEST(Reader, VarintRefusesNonMinimalAndTruncated) {
    Bytes a = wire({0x80, 0x00});
    EXPECT_FALSE(Reader(span(a)).varint());
    Bytes b = wire({0x80});
    EXPECT_FALSE(Reader(span(b)).varint());
    Bytes c = wire({0xC1, 0x02});
    Reader rc(span(c));
    EXPECT_EQ(rc.varint(), 321u);
    EXPECT_TRUE(rc.empty());
}

}  // namespace
}  // namespace starling::protocol
